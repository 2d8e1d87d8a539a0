// Package backoff computes how long the client waits before retrying.
package backoff

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Exponential returns the wait before retry number attempt (0 for the first
// retry): minWait doubled per attempt, capped at maxWait, with "equal jitter" (a
// random point in the upper half) so that clients failing together do not retry
// together.
func Exponential(minWait, maxWait time.Duration, attempt int) time.Duration {
	if maxWait < minWait {
		maxWait = minWait
	}
	d := minWait
	for i := 0; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	if d > maxWait || d <= 0 {
		d = maxWait
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// RetryAfter parses a Retry-After header value, either delta-seconds or an
// HTTP date, relative to now. It reports false when the value is absent or
// malformed; a date in the past gives 0.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Cap before multiplying so a hostile value cannot overflow.
		const maxSecs = int64(365 * 24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

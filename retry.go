package atlas

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/backoff"
)

// RetryPolicy says how often and how patiently a failed request is retried.
// Connection errors (an answer whose body is cut short, by a reset
// connection or the attempt timeout, is one), 429, 502, 503 and 504 are
// retried for every method, 500 only for idempotent ones (GET, PUT, DELETE,
// and POST, which always carries an Idempotency-Key). A 429 waits for Retry-After or the window's reset
// rather than for the backoff, up to MaxRateLimitWait.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 disables retrying.
	MaxRetries int
	// MinBackoff is the wait before the first retry (default 500ms); it
	// doubles with each retry, with jitter.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// MaxRateLimitWait caps every wait for the rate limit (default 2m, long
	// enough for the API's one-minute windows). A 429 whose Retry-After (or,
	// without one, whose window's reset) is further away fails the call at
	// once, with an *Error that matches ErrRateLimited and carries the
	// RetryAfter the server asked for; the pause it makes every other call
	// of the client take is cut to MaxRateLimitWait. A window that the
	// X-RateLimit-* headers say is used up holds calls back until its reset,
	// and never longer than a window or MaxRateLimitWait: then the client
	// sends again and learns the window anew, so that a reset the client
	// cannot believe (in milliseconds, say) never stalls it. Together with
	// MaxRetries this bounds every call, with or without a deadline.
	MaxRateLimitWait time.Duration
}

const (
	defaultMaxRetries       = 4
	defaultMinBackoff       = 500 * time.Millisecond
	defaultMaxBackoff       = 30 * time.Second
	defaultMaxRateLimitWait = 2 * time.Minute
)

// checkRetry is go-retryablehttp's CheckRetry: it decides whether an attempt
// is retried and chooses the wait before the next one (the backoff with its
// jitter, or the pause a 429 or a 503 asked for), which backoff hands to
// go-retryablehttp's loop to sleep. go-retryablehttp counts the retries
// (RetryMax). A retry whose wait would outlast ctx's deadline is not made,
// nor one after a 429 that asks for a pause longer than MaxRateLimitWait:
// the caller gets the last answer at once.
func (co *core) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	if st == nil || ctx.Err() != nil {
		// No retry once ctx has ended, and no error of checkRetry's own:
		// go-retryablehttp then gives the caller the attempt's own answer, a
		// transport error (which says that ctx ended) or the server's
		// response. Returning ctx.Err() would put a cancellation in place of
		// an answer the server gave, and go-retryablehttp would hand on the
		// response's body unclosed.
		return false, nil //nolint:nilerr // the answer above is the call's result, not ctx's end
	}
	var retryAfter time.Duration
	rateLimited := false
	switch {
	case err != nil:
		if !retryableError(err) {
			return false, nil
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		if st.ans.retryAfter > co.retry.MaxRateLimitWait {
			return false, nil
		}
		rateLimited = true
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		retryAfter = st.ans.retryAfter
	case resp.StatusCode == http.StatusInternalServerError && st.idempotent:
	case st.cut(resp) != nil:
		// An answer whose body was cut short is retried as a dropped
		// connection is, whatever its status said.
		if err = st.cut(resp); !retryableError(err) {
			return false, nil
		}
	default:
		return false, nil
	}

	now := time.Now()
	wait := st.ans.retryAfter
	st.waitFor, st.waitReason = waitRateLimit, WaitRetryAfter
	if !rateLimited || wait == 0 {
		// Only when a 429 said nothing of when to come back is the
		// backoff a guess. The jitter is decided here, once per attempt,
		// so that backoff sleeps the wait that was checked.
		bo, asked := backoff.Exponential(co.retry.MinBackoff, co.retry.MaxBackoff, st.retry()), min(retryAfter, co.retry.MaxBackoff)
		wait = max(bo, asked)
		st.waitFor, st.waitReason = waitBackoff, WaitBackoff
		if asked > bo {
			st.waitReason = WaitRetryAfter
		}
	}
	st.wait, st.lastErr = wait, err
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < max(wait, co.pacer.delay(now)) {
		st.wait = 0
		return false, nil
	}
	return true, nil
}

// backoff is go-retryablehttp's Backoff, a closure over the call (it gets
// no context, and no response after a connection error): it returns the
// wait that checkRetry chose for the attempt, logs the retry and the wait,
// and starts the wait's trace, which the next attempt (or send, when ctx
// ends during the wait) ends. go-retryablehttp sleeps the wait outside the
// HTTP client, whose Timeout therefore does not count it.
func (st *callState) backoff(_, _ time.Duration, i int, resp *http.Response) time.Duration {
	co := st.co
	if co.logger != nil && co.logger.Enabled(st.ctx(), slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("method", st.method), slog.String("path", st.path),
			slog.Int("retry", i+1), slog.Duration("wait", st.wait)}
		if resp != nil {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		if st.lastErr != nil {
			attrs = append(attrs, slog.String("error", unwrapURLError(st.lastErr).Error()))
		}
		co.logger.LogAttrs(st.ctx(), slog.LevelDebug, "atlas: retrying", attrs...)
		if st.wait > 0 {
			co.logger.LogAttrs(st.ctx(), slog.LevelDebug, "atlas: waiting", slog.String("for", st.waitFor),
				slog.Duration("wait", st.wait), slog.String("method", st.method), slog.String("path", st.path))
		}
	}
	st.pausing = true
	st.pauseFrom = st.waitStart()
	return st.wait
}

// paused ends the trace of the wait before an attempt, if any.
func (st *callState) paused() {
	if st.pausing {
		st.pausing = false
		st.waited(st.pauseFrom, WaitInfo{Reason: st.waitReason})
	}
}

// retry returns how many retries of go-retryablehttp's current run came
// before the attempt that just ended: the backoff's exponent.
func (st *callState) retry() int {
	return max(0, st.attempts-st.runFrom-1)
}

// What a call's own pause waits for.
const (
	waitBackoff   = "retry backoff"
	waitRateLimit = "rate limit"
)

// retryableError reports whether a transport error may be retried: a broken
// or refused connection or a timeout, but not a cancellation, the client's
// own waits and auth failures, or a certificate problem. checkRetry has made
// sure that the caller's ctx is still alive, so a deadline here is the
// attempt's own (WithAttemptTimeout, or the HTTP client's Timeout), which
// another attempt may beat.
func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var (
		we   *waitError
		rp   *redirectPolicyError
		ae   *authError
		cert *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
	)
	if errors.Is(err, ErrCrossOriginRedirect) {
		return false
	}
	if errors.As(err, &we) || errors.As(err, &rp) || errors.As(err, &ae) || errors.As(err, &cert) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	return true
}

package backoff

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExponentialStaysWithinItsBand(t *testing.T) {
	t.Parallel()
	const lo, hi = 100 * time.Millisecond, 2 * time.Second
	cases := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, time.Second, 2 * time.Second}, // 3.2s capped to 2s
		{500, time.Second, 2 * time.Second},
	}
	for _, tc := range cases {
		for range 200 {
			d := Exponential(lo, hi, tc.attempt)
			assert.GreaterOrEqual(t, d, tc.min, "attempt %d", tc.attempt)
			assert.LessOrEqual(t, d, tc.max, "attempt %d", tc.attempt)
		}
	}
}

func TestExponentialJitters(t *testing.T) {
	t.Parallel()
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Exponential(time.Second, time.Minute, 2)] = true
	}
	assert.Greater(t, len(seen), 1, "equal waits for every caller defeat the point of jitter")
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"12", 12 * time.Second, true},
		{" 0 ", 0, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"99999999999999999", 365 * 24 * time.Hour, true},
		{"Thu, 15 Jan 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Thu, 15 Jan 2026 09:00:00 GMT", 0, true},
	}
	for _, tc := range cases {
		got, ok := RetryAfter(tc.in, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

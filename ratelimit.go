package atlas

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/atlas-accounting/atlas-go/internal/backoff"
	"github.com/atlas-accounting/atlas-go/internal/clock"
)

// RateLimit is the rate-limit state the API reported in a response's
// X-RateLimit-* headers. A zero RateLimit means none was seen.
type RateLimit struct {
	// Limit is the number of requests allowed per window (minute) for the plan.
	Limit int
	// Remaining is the number of requests left in the current window.
	Remaining int
	// Reset is when the current window ends and Remaining starts again at Limit.
	Reset time.Time
}

// Tier is an Atlas plan. WithTier makes the client pace itself to the plan's
// rate and burst so that it never provokes a 429.
type Tier string

// The Atlas plans and their limits (requests per minute, burst).
const (
	TierStandard     Tier = "standard"     // 60 per minute, burst 10
	TierProfessional Tier = "professional" // 300 per minute, burst 50
	TierEnterprise   Tier = "enterprise"   // 1000 per minute, burst 100
)

// limits returns the tier's requests per minute and burst.
func (t Tier) limits() (perMinute, burst int, ok bool) {
	switch t {
	case TierStandard:
		return 60, 10, true
	case TierProfessional:
		return 300, 50, true
	case TierEnterprise:
		return 1000, 100, true
	}
	return 0, 0, false
}

// pacer is the one rate-limit budget shared by every copy of a Client. It
// learns the server's window from every response, holds requests back while
// the window is known to be exhausted or a 429 asked for a pause, and, with a
// Tier, runs a token bucket at the plan's rate.
//
// Without a Tier it learns the rest from what the server does. A 429 that
// comes while the window still has room means the server also enforces a
// burst rate, which the headers do not describe; from then on the pacer
// spaces requests evenly (see intervalLocked), at the rate the server's
// bucket refills, instead of letting them go as fast as they come. Until
// such a 429, requests go at once, however many come together.
type pacer struct {
	clock  clock.Clock
	bucket *rate.Limiter // nil without WithTier
	logger *slog.Logger  // nil: no logging

	mu        sync.Mutex
	last      RateLimit
	known     bool      // reset and remaining describe a window that the server announced
	reset     time.Time // end of the known window
	remaining int       // server's count minus requests sent since, within the known window
	blocked   time.Time // no request before this (from a 429)

	limit  int           // the server's requests per window, from X-RateLimit-Limit
	window time.Duration // window length learned from two windows' resets; 0: the contract's minute
	spaced bool          // a 429 came while the window had room: space requests evenly
	slot   time.Time     // the slot of the last spaced request
	probe  uint8         // after a burst 429: probeFree, probeSpare, or 0
	wake   chan struct{} // closed when spaced waiters should look again; nil: none
}

// The steps after a 429 that came while the window had room. The first
// request after the pause goes as soon as Retry-After allows (the server said
// one would then pass: its answer tells the window as it is now), and the
// next leaves a spare interval after it, so that the server's bucket, which
// the 429 found empty, keeps a token in hand for requests that reach it with
// uneven delays.
const (
	probeFree  = 1 + iota // the next request goes without waiting for its slot
	probeSpare            // the next request waits two intervals, not one
)

// spacedCatchUp is how many intervals behind its slots a spaced client may be
// and still catch up, sending the requests it owes back to back. It is well
// below the smallest plan's burst of 10, which must hold them.
const spacedCatchUp = 4

func newPacer(clk clock.Clock, tier Tier, logger *slog.Logger) *pacer {
	p := &pacer{clock: clk, logger: logger}
	if perMinute, burst, ok := tier.limits(); ok {
		p.limitTo(perMinute, burst, time.Minute)
	}
	return p
}

// limitTo makes the pacer run a token bucket refilled at limit per window,
// the plan's rate (WithTier, WithRateLimit). The bucket holds a tenth fewer
// tokens than the plan's burst, and at least one fewer when the burst allows:
// once the burst is spent, the client sends exactly as fast as the server's
// bucket refills, and a request that reaches the server sooner after the
// previous one than it was sent (the delays on the way vary) would otherwise
// find the server's bucket empty and get a 429. The spare tokens absorb that.
func (p *pacer) limitTo(limit, burst int, window time.Duration) {
	p.bucket = rate.NewLimiter(rate.Limit(float64(limit)/window.Seconds()), burst-burstMargin(burst))
}

// burstMargin is how many tokens of a plan's burst the client leaves unused.
func burstMargin(burst int) int {
	if burst <= 1 {
		return 0
	}
	return max(1, burst/10)
}

// snapshot returns the last rate-limit state seen.
func (p *pacer) snapshot() RateLimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// observe records a response's rate-limit headers, and for a 429 the pause it
// asks for. It returns the RateLimit the headers carried.
func (p *pacer) observe(h http.Header, status int, now time.Time) RateLimit {
	rl, okLimit, okRemaining, okReset := parseRateLimit(h)
	if !okLimit && !okRemaining && !okReset && status != http.StatusTooManyRequests {
		return RateLimit{}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if okLimit || okRemaining || okReset {
		p.last = rl
	}
	if okLimit && rl.Limit > 0 {
		p.limit = rl.Limit
	}
	if okRemaining && okReset {
		switch {
		case !p.known || rl.Reset.After(p.reset):
			if p.known {
				// Windows are fixed and follow each other: consecutive
				// resets are a window apart, and further apart only when
				// no answer came in the windows between.
				p.window = min(p.windowLocked(), rl.Reset.Sub(p.reset))
			}
			p.known, p.reset, p.remaining = true, rl.Reset, rl.Remaining
			p.wakeLocked()
		case rl.Reset.Equal(p.reset):
			// Answers to concurrent requests arrive in any order; within a
			// window the count only goes down.
			p.remaining = min(p.remaining, rl.Remaining)
		}
	}
	if status == http.StatusTooManyRequests {
		var until time.Time
		if v := h["Retry-After"]; len(v) > 0 {
			if d, ok := backoff.RetryAfter(v[0], now); ok {
				until = now.Add(d)
			}
		}
		if until.IsZero() && okReset && rl.Reset.After(now) {
			until = rl.Reset
			if until.Sub(now) > maxWindow {
				until = now.Add(maxWindow) // see delayLocked
			}
		}
		if until.After(p.blocked) {
			p.blocked = until
		}
		if okLimit && okRemaining && rl.Limit > 0 && rl.Remaining > 0 {
			// The window had room: what refused the request is a burst
			// rate on top of it.
			p.spaced, p.probe = true, probeFree
		}
	}
	return rl
}

// windowLocked is the length of the server's windows: learned, or the
// contract's minute.
func (p *pacer) windowLocked() time.Duration {
	if p.window > 0 {
		return p.window
	}
	return maxWindow
}

// intervalLocked is the spacing of requests once spaced: the window's length
// divided by its limit, the rate at which a server's bucket refills when it
// lets limit requests through per window; and, within a known window, at
// least the time left divided by the requests left, so that they last until
// the reset. A window that started late (after a pause) is therefore not
// caught up with: the bucket would not allow it.
func (p *pacer) intervalLocked(now time.Time) time.Duration {
	i := p.windowLocked() / time.Duration(max(p.limit, 1))
	if p.known && now.Before(p.reset) && p.remaining > 0 {
		i = max(i, min(p.reset.Sub(now), maxWindow)/time.Duration(p.remaining))
	}
	return i
}

// wakeLocked wakes the requests waiting for a slot, for them to look again
// with what the pacer has just learned.
func (p *pacer) wakeLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// delay returns how long a request would have to wait for the window now,
// without claiming a place in it.
func (p *pacer) delay(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delayLocked(now)
}

func (p *pacer) delayLocked(now time.Time) time.Duration {
	wait := p.blocked.Sub(now)
	if p.known && p.remaining <= 0 {
		// A window lasts a minute; a reset further away than that comes from
		// a clock that disagrees with ours, so wait a window at most and let
		// the server say more with a 429 if need be.
		wait = max(wait, min(p.reset.Sub(now), maxWindow))
	}
	return max(wait, 0)
}

// maxWindow is the length of the API's rate-limit windows.
const maxWindow = time.Minute

// admit claims a place in the current window and returns 0, or returns how
// long to wait before asking again.
func (p *pacer) admit(now time.Time) time.Duration {
	d, _ := p.admitOrWake(now)
	return d
}

// admitOrWake is admit that also returns, for a wait for a spaced slot, a
// channel closed when the slot may have moved earlier (the pacer learned a
// new window), so that the waiter looks again.
func (p *pacer) admitOrWake(now time.Time) (time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.delayLocked(now); d > 0 {
		return d, nil
	}
	if p.spaced {
		i := p.intervalLocked(now)
		slot := p.slot.Add(i)
		switch p.probe {
		case probeFree:
			slot = now
		case probeSpare:
			slot = slot.Add(i)
		}
		if d := slot.Sub(now); d > 0 {
			if p.wake == nil {
				p.wake = make(chan struct{})
			}
			return d, p.wake
		}
		// A request let go late keeps the next to its slot, so that
		// timers firing late do not slow the pace: the server's bucket
		// holds the tokens that the late requests left. One let go much
		// later (the client was idle) starts the count again.
		p.slot = slot
		if now.Sub(slot) > spacedCatchUp*i {
			p.slot = now
		}
		switch p.probe {
		case probeFree:
			p.probe = probeSpare
		case probeSpare:
			p.probe = 0
		}
	}
	if p.known && now.Before(p.reset) {
		p.remaining--
	}
	return 0, nil
}

// wait holds a request back until it may be sent: past the call's own retry
// backoff (notBefore), past the plan's token bucket, and into a window that is
// not exhausted. It returns early with an error when ctx ends, and at once
// when a wait would outlast ctx's deadline.
func (p *pacer) wait(ctx context.Context, notBefore time.Time) error {
	if !notBefore.IsZero() {
		if d := notBefore.Sub(p.clock.Now()); d > 0 {
			if err := p.sleep(ctx, d, "retry backoff", false, nil); err != nil {
				return err
			}
		}
	}
	if p.bucket != nil {
		now := p.clock.Now()
		r := p.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			if err := p.sleep(ctx, d, "rate limit (plan)", true, nil); err != nil {
				r.CancelAt(p.clock.Now())
				return err
			}
		}
	}
	for {
		d, wake := p.admitOrWake(p.clock.Now())
		if d <= 0 {
			return nil
		}
		if err := p.sleep(ctx, d, "rate limit", true, wake); err != nil {
			return err
		}
	}
}

// sleep waits d on the client's clock, or until ctx ends or wake (which may
// be nil) is closed.
func (p *pacer) sleep(ctx context.Context, d time.Duration, what string, rateLimited bool, wake <-chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return &waitError{what: what, err: err}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return &waitError{what: what, wait: d, overDeadline: true, rateLimited: rateLimited}
	}
	if p.logger != nil && p.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("for", what), slog.Duration("wait", d)}
		if st := stateOf(ctx); st != nil {
			attrs = append(attrs, slog.String("method", st.method), slog.String("path", st.path))
		}
		p.logger.LogAttrs(ctx, slog.LevelDebug, "atlas: waiting", attrs...)
	}
	t := p.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &waitError{what: what, err: ctx.Err()}
	case <-t.C():
		return nil
	case <-wake:
		return nil
	}
}

// waitError is a wait that did not finish: ctx ended, or the wait would have
// outlasted ctx's deadline. The client never retries it.
type waitError struct {
	what         string
	wait         time.Duration
	overDeadline bool
	rateLimited  bool
	err          error // ctx.Err() when ctx ended
}

func (e *waitError) Error() string {
	if e.overDeadline {
		return fmt.Sprintf("atlas: waiting %s for %s would outlast the context deadline", e.wait.Round(time.Millisecond), e.what)
	}
	return fmt.Sprintf("atlas: waiting for %s: %v", e.what, e.err)
}

// Unwrap lets errors.Is find context.Canceled or context.DeadlineExceeded
// and, for a rate-limit wait past the deadline, ErrRateLimited.
func (e *waitError) Unwrap() []error {
	switch {
	case !e.overDeadline:
		return []error{e.err}
	case e.rateLimited:
		return []error{ErrRateLimited, context.DeadlineExceeded}
	default:
		return []error{context.DeadlineExceeded}
	}
}

// parseRateLimit reads the X-RateLimit-* headers of a response: the state they
// report, and which of the three were present and valid.
func parseRateLimit(h http.Header) (rl RateLimit, okLimit, okRemaining, okReset bool) {
	var n int64
	if n, okLimit = headerInt(h, "X-Ratelimit-Limit"); okLimit {
		rl.Limit = int(n)
	}
	if n, okRemaining = headerInt(h, "X-Ratelimit-Remaining"); okRemaining {
		rl.Remaining = int(n)
	}
	if n, okReset = headerInt(h, "X-Ratelimit-Reset"); okReset {
		rl.Reset = time.Unix(n, 0)
	}
	return rl, okLimit, okRemaining, okReset
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := h[key]
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

package atlas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Limiter decides when a client may send each attempt of a call, and learns
// from every answer what the API said about its rate limit. A client's
// default Limiter is its built-in pacer, which follows the X-RateLimit-*
// headers and, with WithTier or WithRateLimit, a token bucket at the plan's
// rate; WithLimiter sets another, such as one that shares a budget among the
// processes that use one Atlas login (package atlasredis).
//
// The client calls Wait before every attempt (a retry is an attempt, and so
// is each hop of a redirect within the API's origin) and, for every Wait
// that returned nil, Observe exactly once when that attempt has ended, with
// what its answer said. A call's own pause before a retry (its backoff, or
// the pause a 429 asked for) is waited out before Wait, not by it. When the
// call's ctx ends before Wait returns, the call ends at once; a Wait that
// then returns nil is observed as an attempt that got no answer.
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Wait blocks until one more attempt may be sent. It returns an error
	// wrapping ctx's error when ctx ends first, and at once an error
	// matching ErrRateLimited and context.DeadlineExceeded when the wait
	// would outlast ctx's deadline. Any other error (the limiter's backing
	// store cannot be reached, say) makes the client pace that attempt with
	// its built-in pacer instead, and log a warning (once an outage: the
	// client logs at Info when Wait works again).
	Wait(ctx context.Context) error
	// Observe reports how an attempt that Wait let through ended. Its ctx
	// carries the call's values but is never cancelled, so that what a
	// 429 says reaches every sharer even when the call has given up.
	Observe(ctx context.Context, o RateObservation)
}

// RateObservation is what the answer to one attempt said about the rate
// limit, as the client hands it to its Limiter.
type RateObservation struct {
	// StatusCode is the answer's HTTP status code; 0 when the attempt got
	// no answer (the connection dropped, the attempt timed out).
	StatusCode int
	// RateLimit is what the answer's X-RateLimit-* headers said, with Reset
	// moved onto the client's clock (read against the answer's Date header,
	// so that a client whose clock is off still paces right; against the
	// client's own clock when Date is missing or unreadable); the zero
	// RateLimit when the answer had none. Remaining and Reset are set only
	// when the answer had both. Reset is what the server said, believable
	// or not: a Limiter should not hold attempts for longer than a window.
	RateLimit RateLimit
	// RetryAfter is the pause a 429 asked for (its Retry-After, or the time
	// left to the reset, at most a minute, when it had none), cut to the
	// client's RetryPolicy.MaxRateLimitWait; zero for any other answer.
	RetryAfter time.Duration
}

// wait holds an attempt back until the Limiter lets it go, and returns the
// Limiter that did: the client's, or the pacer standing in for it. A custom
// Limiter whose Wait fails for a reason other than ctx (or a wait that
// would outlast ctx's deadline) has the pacer stand in, with one warning for
// the whole outage.
func (co *core) wait(ctx context.Context, st *callState) (Limiter, error) {
	if !co.custom {
		return co.limiter, co.limiter.Wait(ctx)
	}
	err := co.waitCustom(ctx)
	switch {
	case err == nil:
		if co.down.Load() && co.down.CompareAndSwap(true, false) && co.logger != nil {
			co.logger.LogAttrs(ctx, slog.LevelInfo, "atlas: the limiter works again; it paces the client once more")
		}
		co.pacer.track(st, time.Now())
		return co.limiter, nil
	case ctx.Err() != nil:
		return nil, &waitError{what: "rate limit (limiter)", err: ctx.Err()}
	case errors.Is(err, ErrRateLimited) && errors.Is(err, context.DeadlineExceeded):
		return nil, &waitError{what: "rate limit (limiter)", err: err}
	}
	if co.down.CompareAndSwap(false, true) && co.logger != nil {
		co.logger.LogAttrs(ctx, slog.LevelWarn, "atlas: the limiter fails; the client paces itself until it works again",
			slog.String("error", err.Error()))
	}
	return co.pacer, co.pacer.Wait(ctx)
}

// waitCustom calls the custom Limiter's Wait, and returns when ctx ends
// even if Wait does not. A Wait that lets the attempt go after the call has
// given up is observed as an attempt that got no answer. A Wait that panics
// on the goroutine the client started for it, where the caller could not
// recover, fails instead.
func (co *core) waitCustom(ctx context.Context) error {
	if ctx.Done() == nil {
		return co.limiter.Wait(ctx)
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("atlas: the limiter's Wait panicked: %v", v)
			}
		}()
		done <- co.limiter.Wait(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		go func() {
			if err := <-done; err == nil {
				co.limiter.Observe(context.WithoutCancel(ctx), RateObservation{})
			}
		}()
		return ctx.Err()
	}
}

// observe reads what the answer to an attempt said (resp is nil when it got
// none) and tells the Limiter that let the attempt go; the pacer learns from
// every answer, whichever Limiter let it go. A custom Limiter is told even
// when the call's ctx has ended.
func (co *core) observe(ctx context.Context, st *callState, by Limiter, resp *http.Response, sent time.Time) {
	var h http.Header
	status := 0
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	now := time.Now()
	st.ans = co.pacer.read(h, status, sent, now)
	st.answered = true
	if by == Limiter(co.pacer) {
		by.Observe(ctx, st.ans.obs)
		return
	}
	by.Observe(context.WithoutCancel(ctx), st.ans.obs)
	co.pacer.learn(st, st.ans.obs, st.ans.serverReset, now)
}

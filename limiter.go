package atlas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// the pause a 429 asked for) is waited out before Wait, not by it. Wait's
// ctx ends with the call's and, at the latest, after the client's
// RetryPolicy.MaxRateLimitWait; when it ends before Wait returns, the call
// ends at once (past MaxRateLimitWait with an error matching
// ErrRateLimited), and a Wait that then returns nil is observed as an
// attempt that got no answer. A Wait or an Observe that panics is a failure
// of the Limiter's, as an error from Wait is: the call goes on, paced by the
// built-in pacer. Implementations must be safe for concurrent use.
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

// What a call waits for in the custom Limiter's Wait, for the log and the
// error.
const waitLimiter = "rate limit (limiter)"

// waitCustom calls the custom Limiter's Wait on a goroutine of its own, with
// a context that ends with ctx and after RetryPolicy.MaxRateLimitWait at the
// latest, and returns when that context ends even if Wait does not. err,
// when not nil, ends the call: ctx ended, or the Limiter would hold the call
// past ctx's deadline or past MaxRateLimitWait (both match ErrRateLimited).
// failure is any other error of the Limiter's, or its panic: the pacer
// stands in. A Wait that lets the attempt go after the call has stopped
// waiting for it is observed as an attempt that got no answer; a Wait that
// never returns is the Limiter's own goroutine, left to it.
func (co *core) waitCustom(ctx context.Context) (failure, err error) {
	bound := co.retry.MaxRateLimitWait
	var (
		lctx   context.Context
		cancel context.CancelFunc
		ours   bool // lctx ends at MaxRateLimitWait, before ctx's deadline
	)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= bound {
		lctx, cancel = context.WithCancel(ctx)
	} else {
		lctx, cancel = context.WithTimeout(ctx, bound)
		ours = true
	}
	defer cancel()
	done := make(chan error, 1)
	go co.callWait(lctx, done)
	var werr error
	select {
	case werr = <-done:
	case <-lctx.Done():
		go co.observeLate(ctx, done)
		werr = lctx.Err()
	}
	refused := errors.Is(werr, ErrRateLimited) && errors.Is(werr, context.DeadlineExceeded)
	switch {
	case werr == nil:
		return nil, nil
	case ctx.Err() != nil:
		return nil, &waitError{what: waitLimiter, err: ctx.Err()}
	case ours && (lctx.Err() != nil || refused):
		return nil, &waitError{what: waitLimiter, wait: bound, overMax: true}
	case refused:
		return nil, &waitError{what: waitLimiter, err: werr}
	}
	return werr, nil
}

// callWait runs the custom Limiter's Wait and sends its result on done; a
// Wait that panics (or calls runtime.Goexit) sends an error instead, on
// this goroutine, where the caller could not recover it. The panic's value
// is not kept: it may hold anything, a secret included.
func (co *core) callWait(ctx context.Context, done chan<- error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			done <- &limiterPanic{method: "Wait", value: v}
			return
		}
		done <- &limiterPanic{method: "Wait"}
	}()
	err := co.limiter.Wait(ctx)
	returned = true
	done <- err
}

// observeLate observes, as an attempt that got no answer, a custom Wait that
// lets an attempt go after the call has stopped waiting for it.
func (co *core) observeLate(ctx context.Context, done <-chan error) {
	if err := <-done; err == nil {
		co.observeCustom(context.WithoutCancel(ctx), RateObservation{})
	}
}

// observeCustom tells the custom Limiter what an attempt's answer said. An
// Observe that panics is a failure of the Limiter's, as a Wait that fails
// is: the client warns once for the outage, and the pacer, which learns from
// every answer anyway, stands in. An Observe that returns after a failure
// ends the outage.
func (co *core) observeCustom(ctx context.Context, o RateObservation) {
	if err := co.callObserve(ctx, o); err != nil {
		co.limiterFails(ctx, err)
		return
	}
	if co.down.Load() && co.down.CompareAndSwap(true, false) && co.logger != nil {
		co.logger.LogAttrs(ctx, slog.LevelInfo, "atlas: the limiter works again; it paces the client once more")
	}
}

// callObserve calls the custom Limiter's Observe, and turns a panic into an
// error.
func (co *core) callObserve(ctx context.Context, o RateObservation) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &limiterPanic{method: "Observe", value: v}
		}
	}()
	co.limiter.Observe(ctx, o)
	return nil
}

// limiterFails notes that the custom Limiter failed, with one warning for
// the outage.
func (co *core) limiterFails(ctx context.Context, err error) {
	if co.down.CompareAndSwap(false, true) && co.logger != nil {
		co.logger.LogAttrs(ctx, slog.LevelWarn, "atlas: the limiter fails; the client paces itself until it works again",
			slog.String("error", err.Error()))
	}
}

// limiterPanic is a custom Limiter's Wait or Observe that panicked (or
// called runtime.Goexit). It names the panic value's type, never the value.
type limiterPanic struct {
	method string
	value  any // nil for runtime.Goexit
}

func (e *limiterPanic) Error() string {
	if e.value == nil {
		return "atlas: the limiter's " + e.method + " did not return (runtime.Goexit)"
	}
	return fmt.Sprintf("atlas: the limiter's %s panicked with a %T (its value is not shown)", e.method, e.value)
}

package atlas

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// sleep is where a call waits on a clock for the Limiter's budget
// (pacer.Wait); go-retryablehttp sleeps the wait between attempts. It waits d on a timer of the time package (which tests make
// virtual with testing/synctest), or until ctx ends or wake (which may be
// nil) is closed. A wait that would outlast ctx's deadline fails at once
// (matching ErrRateLimited when rateLimited). Unless *logged, it logs the
// wait at Debug with what it waits for and sets *logged, so that a wait that
// wakes up to look again is logged once.
func sleep(ctx context.Context, logger *slog.Logger, d time.Duration, what string, rateLimited bool, wake <-chan struct{}, logged *bool) error {
	if err := ctx.Err(); err != nil {
		return &waitError{what: what, err: err}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return &waitError{what: what, wait: d, overDeadline: true, rateLimited: rateLimited}
	}
	if !*logged && logger != nil && logger.Enabled(ctx, slog.LevelDebug) {
		if st := stateOf(ctx); st != nil {
			st.log("atlas: waiting", slog.String("for", what), slog.Duration("wait", d))
		} else {
			logger.LogAttrs(ctx, slog.LevelDebug, "atlas: waiting", slog.String("for", what), slog.Duration("wait", d))
		}
	}
	*logged = true
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &waitError{what: what, err: ctx.Err()}
	case <-t.C:
		return nil
	case <-wake:
		return nil
	}
}

// waitError is a wait that did not finish: ctx ended, the wait would have
// outlasted ctx's deadline or RetryPolicy.MaxRateLimitWait, or a Limiter
// refused. The client never retries it.
type waitError struct {
	what         string
	wait         time.Duration
	overDeadline bool
	overMax      bool // past MaxRateLimitWait, which wait holds
	rateLimited  bool
	err          error // ctx.Err() when ctx ended; the Limiter's error
}

func (e *waitError) Error() string {
	if e.overMax {
		return fmt.Sprintf("atlas: waiting for %s would outlast RetryPolicy.MaxRateLimitWait (%s)", e.what, e.wait)
	}
	if e.overDeadline {
		return fmt.Sprintf("atlas: waiting %s for %s would outlast the context deadline", e.wait.Round(time.Millisecond), e.what)
	}
	return fmt.Sprintf("atlas: waiting for %s: %v", e.what, e.err)
}

// Unwrap lets errors.Is find context.Canceled or context.DeadlineExceeded
// and, for a rate-limit wait past the deadline, ErrRateLimited; a wait past
// MaxRateLimitWait matches ErrRateLimited alone, as a 429 asking for too
// long does.
func (e *waitError) Unwrap() []error {
	switch {
	case e.overMax:
		return []error{ErrRateLimited}
	case !e.overDeadline:
		return []error{e.err}
	case e.rateLimited:
		return []error{ErrRateLimited, context.DeadlineExceeded}
	default:
		return []error{context.DeadlineExceeded}
	}
}

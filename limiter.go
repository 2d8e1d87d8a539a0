package atlas

import (
	"context"
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

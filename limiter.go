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
// The client calls Wait before every attempt (a retry is an attempt) and,
// for every Wait that returned nil, Observe exactly once when that attempt
// has ended, with what its answer said. Implementations must be safe for
// concurrent use.
type Limiter interface {
	// Wait blocks until one more attempt may be sent. It returns an error
	// wrapping ctx's error when ctx ends first, and at once an error
	// matching ErrRateLimited and context.DeadlineExceeded when the wait
	// would outlast ctx's deadline. Any other error (the limiter's backing
	// store cannot be reached, say) makes the client pace that attempt with
	// its built-in pacer instead, and log a warning.
	Wait(ctx context.Context) error
	// Observe reports how an attempt that Wait let through ended.
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
	// so that a client whose clock is off still paces right); the zero
	// RateLimit when the answer had none.
	RateLimit RateLimit
	// RetryAfter is the pause a 429 asked for (its Retry-After, or the time
	// left to the reset when it had none); zero for any other answer.
	RetryAfter time.Duration
}

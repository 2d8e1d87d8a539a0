package atlas

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"
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

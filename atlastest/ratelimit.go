package atlastest

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Tier is an Atlas plan; WithPlan makes the server enforce its limits.
type Tier string

// The Atlas plans and their limits, from the guide: requests per window (a minute on the
// real API) and burst.
const (
	TierStandard     Tier = "standard"     // 60 requests per window, burst 10
	TierProfessional Tier = "professional" // 300 requests per window, burst 50
	TierEnterprise   Tier = "enterprise"   // 1000 requests per window, burst 100
)

// limits returns the tier's requests per window and burst.
func (t Tier) limits() (limit, burst int, ok bool) {
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

// rateConfig is the rate limit WithPlan or WithPlanLimits set.
type rateConfig struct {
	limit  int           // requests per window
	burst  int           // token bucket capacity; 0 for none
	window time.Duration // length of a window
}

// WithPlan makes the server enforce the tier's limits per user, with windows of the given
// length instead of a minute so that tests need not wait (a window of zero is a minute).
// See WithPlanLimits for the model and the headers. A tier that is not one of
// TierStandard, TierProfessional and TierEnterprise, and a negative window, are invalid.
//
// It is the server's side of atlas.WithTier: the client paces itself to a plan, the
// server enforces one.
func WithPlan(tier Tier, window time.Duration) Option {
	return func(cfg *config) {
		limit, burst, ok := tier.limits()
		if !ok {
			cfg.invalid("WithPlan", "unknown tier %q (standard, professional or enterprise)", string(tier))
			return
		}
		cfg.setRate("WithPlan", limit, burst, window)
	}
}

// WithPlanLimits makes the server enforce limit requests per window and a burst of
// burst, per user: a plan that is not one of the tiers, as atlas.WithRateLimit paces a
// client to one. Without it (or WithPlan) the server limits nothing but still sends the
// headers, for a limit of a million requests a minute that is never used up.
//
// The model has two rules, and a request must pass both:
//
//   - Window: time is cut into fixed windows of the given length, aligned on multiples of
//     it since the Unix epoch on the server's clock (so Advance moves into the next one),
//     and a user gets at most limit requests in each. X-RateLimit-Limit is limit,
//     X-RateLimit-Remaining what is left of the current window after this request, and
//     X-RateLimit-Reset the window's end in Unix seconds, rounded up to the next whole
//     second so that a client that waits until then is never early. X-RateLimit-Reset-After
//     (not in the contract) gives the same end relative to the answer, in seconds with
//     millisecond precision ("0.250"), for windows shorter than a second and for clients
//     whose clock is not the server's.
//   - Burst: a token bucket of burst tokens, full at first, refilled at limit per window
//     (one token every window/limit); each request takes a token. It is the bucket of
//     golang.org/x/time/rate.NewLimiter(rate.Every(window/limit), burst). A burst of zero
//     turns this rule off, leaving the window alone, which the headers describe
//     completely.
//
// A client that keeps to both never gets a 429. A refused request gets 429 with the error
// envelope, Retry-After in whole seconds (rounded up, at least 1) and Retry-After-Ms (not
// in the contract) in milliseconds (rounded up, at least 1): the exact wait until a
// request would pass both rules. A refused request does not count.
//
// Requests are counted per user of a valid bearer token; requests without one (login,
// refresh, a bad or expired token) are counted per client IP address, which on loopback
// means all of them together. Every answer counts once admitted, whatever its status,
// including injected faults and idempotent replays. A window of zero is a minute; a
// limit of zero or less, a negative burst and a negative window are invalid.
func WithPlanLimits(limit, burst int, window time.Duration) Option {
	return func(cfg *config) { cfg.setRate("WithPlanLimits", limit, burst, window) }
}

// setRate checks and sets the rate limit of WithPlan or WithPlanLimits.
func (cfg *config) setRate(option string, limit, burst int, window time.Duration) {
	switch {
	case limit <= 0:
		cfg.invalid(option, "limit %d is not positive", limit)
	case burst < 0:
		cfg.invalid(option, "burst %d is negative", burst)
	case window < 0:
		cfg.invalid(option, "window %v is negative", window)
	default:
		if window == 0 {
			window = time.Minute
		}
		cfg.rate = &rateConfig{limit: limit, burst: burst, window: window}
	}
}

// limiter keeps every user's window and bucket.
type limiter struct {
	cfg     rateConfig
	enforce bool

	mu      sync.Mutex
	callers map[string]*allowance
	added   int // callers added, to sweep idle ones now and then
}

// allowance is one caller's state: its count in the current window and its bucket.
type allowance struct {
	window int64 // index of the window count belongs to
	count  int
	// Bucket, as a debt (GCRA): how far ahead of now the caller's theoretical next
	// arrival is, in nanoseconds times limit so that one request (window/limit) is
	// exactly window. The bucket is empty when debt exceeds (burst-1)*window.
	debt    int64
	updated time.Time
}

// unlimited is the X-RateLimit-Limit (and Remaining) of a server that enforces no limit.
// It must be out of a test's reach: a client pacing itself by the headers counts its own
// requests down from it within each minute, as it must for a real limit, and would stop at
// zero until the window's end.
const unlimited = 1_000_000

// newLimiter enforces rc; without one it enforces nothing, and the headers it gives
// describe per-minute windows of a million requests, never used up.
func newLimiter(rc *rateConfig) *limiter {
	if rc == nil {
		return &limiter{cfg: rateConfig{limit: unlimited, window: time.Minute}, callers: map[string]*allowance{}}
	}
	return &limiter{cfg: *rc, enforce: true, callers: map[string]*allowance{}}
}

// verdict is the limiter's answer for one request.
type verdict struct {
	allowed   bool
	limit     int
	remaining int
	end       time.Time     // end of the current window
	wait      time.Duration // until a request would pass, when not allowed
}

// take counts a request of caller at now, if the limits allow it.
func (l *limiter) take(caller string, now time.Time) verdict {
	w := int64(l.cfg.window)
	idx := floorDiv(now.UnixNano(), w)
	v := verdict{limit: l.cfg.limit, remaining: l.cfg.limit, end: time.Unix(0, (idx+1)*w)}
	if !l.enforce {
		v.allowed = true
		return v
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.callers[caller]
	if a == nil {
		l.added++
		if l.added%1024 == 0 {
			l.sweep(idx, now)
		}
		a = &allowance{window: idx, updated: now}
		l.callers[caller] = a
	}
	if a.window != idx {
		a.window, a.count = idx, 0
	}
	a.drain(now, int64(l.cfg.limit))

	limitL := int64(l.cfg.limit)
	windowFull := a.count >= l.cfg.limit
	bucketEmpty := l.cfg.burst > 0 && a.debt > int64(l.cfg.burst-1)*w
	if !windowFull && !bucketEmpty {
		a.count++
		if l.cfg.burst > 0 {
			a.debt += w
		}
		v.allowed = true
	}
	v.remaining = l.cfg.limit - a.count
	if windowFull {
		v.wait = v.end.Sub(now)
	}
	if bucketEmpty {
		over := a.debt - int64(l.cfg.burst-1)*w
		v.wait = max(v.wait, time.Duration((over+limitL-1)/limitL))
	}
	return v
}

// drain lets the bucket refill for the time since its last update.
func (a *allowance) drain(now time.Time, limit int64) {
	elapsed := int64(now.Sub(a.updated))
	if elapsed <= 0 {
		return
	}
	a.updated = now
	if elapsed >= (a.debt+limit-1)/limit {
		a.debt = 0
		return
	}
	a.debt -= elapsed * limit
}

// sweep forgets callers whose window is over and whose bucket is full again, so a server
// that sees many users does not grow without bound. Call with mu held.
func (l *limiter) sweep(idx int64, now time.Time) {
	for k, a := range l.callers {
		a.drain(now, int64(l.cfg.limit))
		if a.window != idx && a.debt == 0 {
			delete(l.callers, k)
		}
	}
}

// floorDiv divides rounding towards minus infinity, so that windows before 1970 are
// aligned too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rateLimit is the rate-limiting middleware: it counts the request against its caller,
// sets the X-RateLimit-* headers on the answer, and refuses it with 429 when the limits
// are used up.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.clock.now()
		v := s.limits.take(s.rateCaller(r), now)
		h := w.Header()
		// The Date of the server's clock (net/http would send the wall
		// clock's): clients read X-RateLimit-Reset against it.
		h.Set("Date", now.UTC().Format(http.TimeFormat))
		h.Set("X-RateLimit-Limit", strconv.Itoa(v.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(v.remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilDiv(v.end.UnixNano(), int64(time.Second)), 10))
		h.Set("X-RateLimit-Reset-After", secondsMillis(v.end.Sub(now)))
		if !v.allowed {
			h.Set("Retry-After", strconv.FormatInt(max(ceilDiv(int64(v.wait), int64(time.Second)), 1), 10))
			h.Set("Retry-After-Ms", strconv.FormatInt(max(ceilDiv(int64(v.wait), int64(time.Millisecond)), 1), 10))
			writeErrorStatus(w, http.StatusTooManyRequests, "Rate limit exceeded; retry after the time in Retry-After.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateCaller is who a request counts against: the user of its bearer token, or else the
// client's IP address.
func (s *Server) rateCaller(r *http.Request) string {
	if u := s.bearerUser(r); u != nil {
		return "user " + u.id
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip " + host
}

// ceilDiv divides rounding towards plus infinity.
func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// secondsMillis renders d as seconds with three decimals, rounded up to the millisecond.
func secondsMillis(d time.Duration) string {
	ms := max(ceilDiv(int64(d), int64(time.Millisecond)), 0)
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

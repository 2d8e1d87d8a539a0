package atlas

import (
	"net/http"
	"sync"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/backoff"
)

// answer is what one answer said about the rate limit.
type answer struct {
	raw         RateLimit       // the X-RateLimit-* headers as the server said them (Response, Error)
	obs         RateObservation // what the Limiter is told
	serverReset time.Time       // obs.RateLimit.Reset on the server's clock; zero if none
	retryAfter  time.Duration   // the Retry-After asked for (for a 429 without one, the time to the reset), uncapped
}

// read reads an answer's headers (h is nil and status 0 for an attempt that
// got none), sent and received at the given times on the client's clock.
// A reset comes with the remaining count or not at all: alone, it says
// nothing the pacer can use.
func (p *pacer) read(h http.Header, status int, sent, received time.Time) answer {
	var a answer
	a.obs.StatusCode = status
	if h == nil {
		return a
	}
	rl, okLimit, okRemaining, okReset := parseRateLimit(h)
	if okLimit || okRemaining || okReset {
		a.raw = rl
		p.mu.Lock()
		p.last = rl
		p.mu.Unlock()
	}
	ahead := p.server.ahead(h, sent, received)
	serverNow := received.Add(ahead)
	if okLimit {
		a.obs.RateLimit.Limit = rl.Limit
	}
	if okRemaining && okReset {
		a.obs.RateLimit.Remaining = rl.Remaining
		a.serverReset = rl.Reset
		a.obs.RateLimit.Reset = rl.Reset.Add(-ahead)
	}
	asked := false
	if v := h["Retry-After"]; len(v) > 0 {
		a.retryAfter, asked = backoff.RetryAfter(v[0], serverNow)
	}
	if status == http.StatusTooManyRequests {
		if !asked && !a.serverReset.IsZero() {
			// A window lasts a minute: a reset further away than that is
			// not believed (it may be in milliseconds, or the server's
			// clock far off); the client waits a window at most and lets
			// the server say more.
			a.retryAfter = min(max(a.obs.RateLimit.Reset.Sub(received), 0), maxWindow)
		}
		a.obs.RetryAfter = min(a.retryAfter, p.maxWait)
	}
	return a
}

// serverClock tells how far the server's clock is ahead of the client's,
// from the Date header of its answers, which has whole seconds. An answer
// whose Date is d, to a request sent at s and answered at r on the client's
// clock, shows that the server's clock is ahead by at least d-r and by less
// than d+1s-s. The client keeps the tightest bounds that every answer
// agrees with; an answer that agrees with none of the earlier ones (a clock
// was set) starts the bounds anew. While the bounds hold zero, the client's
// clock may well be right, and the client reads the server's times on it;
// once they do not, it reads them with the lower bound, so that it never
// thinks a window over before the server does.
type serverClock struct {
	mu     sync.Mutex
	known  bool
	lo, hi time.Duration
	date   string    // the last Date header read,
	dateAt time.Time // and its time
}

// offsetLocked is how far ahead the client takes the server's clock to be.
func (c *serverClock) offsetLocked() time.Duration {
	if !c.known || (c.lo <= 0 && c.hi >= 0) {
		return 0
	}
	return c.lo
}

// spread is how much earlier than the client reckons a window may end on
// the server's clock: the span from the upper bound to the offset used. It
// narrows to about a round trip once answers have come at many points of
// the server's second. A client that uses up each window early, and so gets
// its answers at one point of the server's second, may keep a spread of up
// to a second: it starts each window up to that much late, which costs it
// no request of the window, and a workload that spans many windows that
// second once, since the windows follow each other on the server's clock.
func (c *serverClock) spread() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return 0
	}
	return c.hi - c.offsetLocked()
}

// ahead returns how far the server's clock is ahead of the client's, as the
// answer with headers h shows it together with those before; 0, the
// client's own clock, when its Date is missing or unreadable.
func (c *serverClock) ahead(h http.Header, sent, received time.Time) time.Duration {
	v := h["Date"]
	if len(v) == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v[0] != c.date {
		d, err := http.ParseTime(v[0])
		if err != nil {
			return 0
		}
		c.date, c.dateAt = v[0], d
	}
	lo, hi := c.dateAt.Sub(received), c.dateAt.Add(time.Second).Sub(sent)
	if !c.known || lo > c.hi || hi < c.lo {
		c.known, c.lo, c.hi = true, lo, hi
	} else {
		c.lo, c.hi = max(c.lo, lo), min(c.hi, hi)
	}
	return c.offsetLocked()
}

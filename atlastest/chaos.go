package atlastest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Chaos is random fault injection for tests of how a client copes with an unreliable API:
// each request the server takes is failed, dropped or slowed at the given rates. It is
// deterministic given Seed: the n-th request the server takes (among those Matching
// selects) meets the same fate in every run. Concurrent requests reach the server in an
// order that varies, but the sequence of fates does not.
//
// Chaos applies after rate limiting and only to requests that no FailNext, DropNext or
// DelayNext claimed; its faults are those faults (see Server.FailNext), and the request
// log lists them.
type Chaos struct {
	// Seed chooses the sequence of fates.
	Seed uint64
	// FailRate is the fraction of requests answered with an error status, one of
	// FailStatuses picked at random.
	FailRate float64
	// DropRate is the fraction of requests whose connection is closed without an answer.
	DropRate float64
	// SlowRate is the fraction of requests that wait SlowDelay (ended early by the client
	// leaving or the server closing, as for DelayNext).
	SlowRate  float64
	SlowDelay time.Duration
	// AfterHandlerRate is the fraction of the failed, dropped and slowed requests whose
	// fault comes after the handler ran (see AfterHandler): the change is made but the
	// answer is lost or late. The others meet their fault before the handler.
	AfterHandlerRate float64
	// FailStatuses are the statuses of failures; empty means 500, 502, 503 and 504.
	FailStatuses []int
	// Matching, when not empty, restricts the chaos to the requests that this pattern
	// matches (see Matching).
	Matching string
}

// chaos is an active Chaos with its random sequence.
type chaos struct {
	cfg      Chaos
	rnd      *rand.Rand
	statuses []int
	match    *faultRule // for its pattern; nil: every request
}

// WithChaos starts the server with chaos (see Chaos). Rates outside 0..1, rates that add
// up to more than 1, a fail status outside 400..599 and a Matching pattern that Matching
// refuses are invalid.
func WithChaos(c Chaos) Option {
	c.FailStatuses = append([]int(nil), c.FailStatuses...)
	return func(cfg *config) {
		if err := checkChaos(c); err != nil {
			cfg.invalid("WithChaos", "%v", err)
			return
		}
		// Each server gets its own sequence from NewServer, even when one Option starts
		// several.
		cfg.chaos = &c
	}
}

// SetChaos replaces the server's chaos from now on, with a fresh sequence from c.Seed; the
// zero Chaos turns it off, for instance to check the server's state after a chaotic run.
// It panics on a Chaos that WithChaos finds invalid ("atlastest: SetChaos: ...").
func (s *Server) SetChaos(c Chaos) {
	if err := s.setChaos(c); err != nil {
		panic("atlastest: SetChaos: " + err.Error())
	}
}

// setChaos is SetChaos with an error for a Chaos that makes no sense.
func (s *Server) setChaos(c Chaos) error {
	ch, err := newChaos(c)
	if err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.chaos = ch
	return nil
}

// checkChaos says what makes no sense in c, or returns nil.
func checkChaos(c Chaos) error {
	for _, r := range []float64{c.FailRate, c.DropRate, c.SlowRate, c.AfterHandlerRate} {
		if !(r >= 0 && r <= 1) {
			return fmt.Errorf("rate %v is not between 0 and 1", r)
		}
	}
	if sum := c.FailRate + c.DropRate + c.SlowRate; sum > 1 {
		return fmt.Errorf("the fail, drop and slow rates add up to %v, more than 1", sum)
	}
	if c.SlowDelay < 0 {
		return fmt.Errorf("slow delay %v is negative", c.SlowDelay)
	}
	for _, st := range c.FailStatuses {
		if st < 400 || st > 599 {
			return fmt.Errorf("fail status %d is not an error status", st)
		}
	}
	if c.Matching != "" {
		if _, err := compilePattern(c.Matching); err != nil {
			return err
		}
	}
	return nil
}

// newChaos checks c and sets it up; it returns nil when c injects nothing.
func newChaos(c Chaos) (*chaos, error) {
	if err := checkChaos(c); err != nil {
		return nil, err
	}
	if c.FailRate == 0 && c.DropRate == 0 && c.SlowRate == 0 {
		return nil, nil
	}
	statuses := c.FailStatuses
	if len(statuses) == 0 {
		statuses = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	ch := &chaos{
		cfg:      c,
		rnd:      rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)),
		statuses: append([]int(nil), statuses...),
	}
	if c.Matching != "" {
		mux, _ := compilePattern(c.Matching)
		ch.match = &faultRule{pattern: c.Matching, mux: mux}
	}
	return ch, nil
}

// fate draws the next request's fault, or nil. Every call draws the same number of values,
// so that one request's fate does not shift the next one's. Call with faults.mu held.
func (ch *chaos) fate(r *http.Request) *faultRule {
	if ch.match != nil && !ch.match.matches(r) {
		return nil
	}
	kind, after, pick := ch.rnd.Float64(), ch.rnd.Float64(), ch.rnd.IntN(len(ch.statuses))
	f := &faultRule{after: after < ch.cfg.AfterHandlerRate}
	switch c := ch.cfg; {
	case kind < c.FailRate:
		f.kind, f.status = FaultFail, ch.statuses[pick]
	case kind < c.FailRate+c.DropRate:
		f.kind = FaultDrop
	case kind < c.FailRate+c.DropRate+c.SlowRate:
		f.kind, f.delay = FaultDelay, c.SlowDelay
	default:
		return nil
	}
	return f
}

package atlas

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer is the one rate-limit budget shared by every copy of a Client, and
// its default Limiter. It learns the server's window from every answer,
// holds attempts back while the window is known to be used up or a 429
// asked for a pause, and, with a Tier, runs a token bucket at the plan's
// rate. With another Limiter (WithLimiter) it still learns from every
// answer and counts every attempt, and paces the attempts that the other
// Limiter cannot.
//
// Windows are read on the server's clock: each answer's reset is moved onto
// the client's clock against the answer's Date header (see serverClock), so
// that a client whose clock is off paces as well as one whose clock is
// right. Within a window it sends no more than the smallest count an answer
// left, less the attempts in flight when that answer came (they may reach
// the server after it did). When the window's reset passes it assumes the
// next window holds the learned limit, less the attempts still in flight,
// until an answer tells. No hold lasts longer than a window, nor longer than
// RetryPolicy.MaxRateLimitWait: then one attempt goes to learn the window
// anew.
//
// Without a Tier it learns the rest from what the server does. A 429 that
// comes while the window still has room means the server also enforces a
// burst rate, which the headers do not describe; from then on the pacer
// spaces requests evenly (see intervalLocked), at the rate the server's
// bucket refills, instead of letting them go as fast as they come. Until
// such a 429, requests go at once, however many come together.
type pacer struct {
	bucket  *rate.Limiter // nil without WithTier
	logger  *slog.Logger  // nil: no logging
	maxWait time.Duration // RetryPolicy.MaxRateLimitWait
	server  serverClock

	mu   sync.Mutex
	last RateLimit // what the last answer with X-RateLimit-* headers said, as it said it

	// The window: the one the server announced, or the one assumed after
	// its reset passed.
	known       bool
	serverReset time.Time // its X-RateLimit-Reset, on the server's clock: tells windows apart
	reset       time.Time // its end on the client's clock
	remaining   int       // attempts the client may still send in it
	exhausted   time.Time // when remaining ran out: the hold is capped from then
	markLeft    int       // the Remaining of the answer that set remaining,
	markGrants  uint64    // and the grants when it came: those in flight were counted off
	assumed     bool      // the announced window's reset passed (or its hold ran out): this one is assumed
	assumedAt   uint64    // grants when it was assumed: answers to later ones are news
	credit      int       // attempts in flight when it was assumed, counted against it, not answered yet
	blocked     time.Time // no attempt before this (from a 429)

	inflight int    // attempts of calls sent and not observed yet
	grants   uint64 // attempts of calls sent so far

	limit  int           // the server's requests per window, from X-RateLimit-Limit
	window time.Duration // window length learned from two windows' resets; 0: the contract's minute
	spaced bool          // a 429 came while the window had room: space requests evenly
	slot   time.Time     // the slot of the last spaced request
	probe  uint8         // after a burst 429: probeFree, probeSpare, or 0
	wake   chan struct{} // closed when waiters should look again; nil: none
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

var _ Limiter = (*pacer)(nil)

func newPacer(tier Tier, logger *slog.Logger) *pacer {
	p := &pacer{logger: logger, maxWait: defaultMaxRateLimitWait}
	if l, ok := tier.Limits(); ok {
		p.limitTo(l.PerMinute, l.Burst, time.Minute)
	}
	return p
}

// limitTo makes the pacer run a token bucket refilled at limit per window,
// the plan's rate (WithTier, WithRateLimit). The bucket holds the plan's
// burst less its margin (PlanLimits.Margin): once the burst is spent, the
// client sends exactly as fast as the server's bucket refills, and a request
// that reaches the server sooner after the previous one than it was sent
// would otherwise find the server's bucket empty and get a 429.
func (p *pacer) limitTo(limit, burst int, window time.Duration) {
	margin := PlanLimits{PerMinute: limit, Burst: burst}.Margin()
	p.bucket = rate.NewLimiter(rate.Limit(float64(limit)/window.Seconds()), burst-margin)
}

// snapshot returns the last rate-limit state seen.
func (p *pacer) snapshot() RateLimit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Observe implements Limiter: it learns from what the answer to an attempt
// said. Called with the call's context, it also ends the attempt's count in
// flight.
func (p *pacer) Observe(ctx context.Context, o RateObservation) {
	st := stateOf(ctx)
	serverReset := o.RateLimit.Reset
	if st != nil && st.answered {
		serverReset = st.ans.serverReset
	}
	p.learn(st, o, serverReset, time.Now())
}

// learn records what an answer said: the window (serverReset tells it from
// others), and for a 429 the pause it asks for. st is the call whose attempt
// it answers, or nil.
func (p *pacer) learn(st *callState, o RateObservation, serverReset, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	claimed := st != nil && st.claimed
	if claimed {
		st.claimed = false
		p.inflight--
	}
	if o.RateLimit.Limit > 0 {
		p.limit = o.RateLimit.Limit
	}
	if !o.RateLimit.Reset.IsZero() {
		p.learnWindowLocked(st, claimed, o.RateLimit, serverReset, now)
	}
	if o.StatusCode == http.StatusTooManyRequests {
		if until := now.Add(o.RetryAfter); until.After(p.blocked) {
			p.blocked = until
		}
		if o.RateLimit.Limit > 0 && o.RateLimit.Remaining > 0 {
			// The window had room: what refused the request is a burst
			// rate on top of it.
			p.spaced, p.probe = true, probeFree
		}
	}
}

// learnWindowLocked takes in what an answer said of its window. What it left
// is less the attempts still in flight, which may reach the server after it
// did.
func (p *pacer) learnWindowLocked(st *callState, claimed bool, rl RateLimit, serverReset, now time.Time) {
	left := rl.Remaining - p.inflight
	switch {
	case !p.known || serverReset.After(p.serverReset):
		if p.known {
			// Windows are fixed and follow each other: consecutive
			// resets are a window apart, and further apart only when
			// no answer came in the windows between.
			p.window = min(p.windowLocked(), serverReset.Sub(p.serverReset))
		}
		p.setWindowLocked(serverReset, rl.Reset, left, now)
	case !serverReset.Equal(p.serverReset):
		// An older window's answer, arriving late.
	case p.assumed:
		if !claimed {
			break
		}
		if st.grant > p.assumedAt {
			// Sent after the client thought the window over, and the
			// server says it is not: believe the server.
			p.setWindowLocked(serverReset, rl.Reset, left, now)
			break
		}
		if p.credit > 0 {
			// In flight at the reset and counted in the window before:
			// it does not count in this one.
			p.credit--
			if p.remaining++; p.remaining == 1 {
				p.exhausted = time.Time{}
				p.wakeLocked()
			}
		}
	default:
		// Answers to concurrent requests arrive in any order; within a
		// window the count only goes down, and the smallest wins.
		if rl.Reset.Before(p.reset) && p.remaining <= 0 {
			p.wakeLocked() // a better estimate of the server's clock: the hold is shorter
		}
		p.reset = rl.Reset
		if claimed && st.grant <= p.markGrants && rl.Remaining > p.markLeft {
			// In flight when the answer that set the count came, and so
			// counted off it; but it left more, so the server took it
			// first and that answer's count holds it already.
			if p.remaining++; p.remaining == 1 {
				p.exhausted = time.Time{}
				p.wakeLocked()
			}
		}
		if left < p.remaining {
			p.remaining, p.markLeft, p.markGrants = left, rl.Remaining, p.grants
			if left <= 0 && p.exhausted.IsZero() {
				p.exhausted = now
			}
		}
	}
}

func (p *pacer) setWindowLocked(serverReset, reset time.Time, remaining int, now time.Time) {
	p.known, p.assumed = true, false
	p.serverReset, p.reset, p.remaining = serverReset, reset, remaining
	p.markLeft, p.markGrants = remaining+p.inflight, p.grants
	p.exhausted = time.Time{}
	if remaining <= 0 {
		p.exhausted = now
	}
	p.wakeLocked()
}

// rollLocked ends the window once its reset has passed, or its hold has
// lasted as long as a hold may: the next window is assumed to hold the
// learned limit less the attempts in flight (they may reach the server in
// it); after a hold that ran out, one attempt goes to learn the window
// anew. Without a known limit the pacer forgets the window.
func (p *pacer) rollLocked(now time.Time) {
	if !p.known {
		return
	}
	if now.Before(p.reset) {
		if p.remaining > 0 || now.Before(p.exhausted.Add(p.holdCap())) {
			return
		}
		p.assumed, p.assumedAt, p.exhausted, p.credit = true, p.grants, time.Time{}, 0
		p.remaining = 1
		p.reset = now.Add(p.windowLocked())
		p.wakeLocked()
		return
	}
	if p.limit <= 0 {
		p.known = false
		return
	}
	p.assumed, p.assumedAt, p.exhausted, p.credit = true, p.grants, time.Time{}, p.inflight
	p.remaining = p.limit - p.inflight
	p.reset = p.reset.Add(p.windowLocked())
	if !now.Before(p.reset) {
		p.reset = now.Add(p.windowLocked())
	}
	if p.remaining <= 0 {
		p.exhausted = now
	}
}

// holdCap is the longest the pacer holds attempts for a window that is used
// up: a window, or MaxRateLimitWait when that is shorter.
func (p *pacer) holdCap() time.Duration { return min(maxWindow, p.maxWait) }

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
// caught up with: the bucket would not allow it. An assumed window's end is
// a guess: until an answer tells it, the rate alone sets the spacing.
func (p *pacer) intervalLocked(now time.Time) time.Duration {
	i := p.windowLocked() / time.Duration(max(p.limit, 1))
	if p.known && !p.assumed && now.Before(p.reset) && p.remaining > 0 {
		i = max(i, min(p.reset.Sub(now), maxWindow)/time.Duration(p.remaining))
	}
	return i
}

// wakeLocked wakes the requests waiting for the window or a slot, for them
// to look again with what the pacer has just learned.
func (p *pacer) wakeLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

func (p *pacer) wakeChanLocked() <-chan struct{} {
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

// delay returns how long a request would have to wait for the window now,
// without claiming a place in it.
func (p *pacer) delay(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.blocked.Sub(now), p.holdLocked(now), 0)
}

// holdLocked is how long the window holds attempts back: until its reset
// or the end of its hold, whichever comes first, once it is used up. An
// assumed window that is used up with nothing in flight, which would tell
// of the next, lets one more go.
func (p *pacer) holdLocked(now time.Time) time.Duration {
	if !p.known || p.remaining > 0 || (p.assumed && p.inflight == 0) {
		return 0
	}
	end := p.reset
	if !p.exhausted.IsZero() {
		end = minTime(end, p.exhausted.Add(p.holdCap()))
	}
	return max(end.Sub(now), 0)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// maxWindow is the length of the API's rate-limit windows.
const maxWindow = time.Minute

// admit claims a place in the current window and returns 0, or returns how
// long to wait before asking again.
func (p *pacer) admit(now time.Time) time.Duration {
	d, _ := p.admitOrWake(now, nil)
	return d
}

// admitOrWake is admit for an attempt of st (nil: none), that also returns,
// for a wait for the window or a spaced slot, a channel closed when the
// wait may have become shorter (the pacer learned a new window), so that
// the waiter looks again.
func (p *pacer) admitOrWake(now time.Time, st *callState) (time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	if d := p.blocked.Sub(now); d > 0 {
		return d, nil
	}
	if d := p.holdLocked(now); d > 0 {
		return d, p.wakeChanLocked()
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
			return d, p.wakeChanLocked()
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
	p.claimLocked(st, now)
	return 0, nil
}

// track counts an attempt that another Limiter let through, as if the
// pacer had.
func (p *pacer) track(st *callState, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rollLocked(now)
	p.claimLocked(st, now)
}

// claimLocked counts an attempt against the window, and, for a call, in
// flight until it is observed.
func (p *pacer) claimLocked(st *callState, now time.Time) {
	p.grants++
	if st != nil {
		st.claimed, st.grant = true, p.grants
		p.inflight++
	}
	if p.known && now.Before(p.reset) {
		if p.remaining--; p.remaining <= 0 && p.exhausted.IsZero() {
			p.exhausted = now
		}
	}
}

// Wait implements Limiter: it holds an attempt back until it may be sent:
// past the plan's token bucket, past a 429's pause, and into a window that is
// not used up. It returns early with an error when ctx ends, and at once
// when a wait would outlast ctx's deadline. It logs one record per wait,
// however often it wakes up to look again.
//
// The plan's token is taken before the window is asked, and given back when
// the window holds the attempt: an attempt that waited for the window must
// not go together with those whose tokens came while it waited, in a burst
// that the plan does not allow.
func (p *pacer) Wait(ctx context.Context) error {
	st := stateOf(ctx)
	logged := false
	for {
		now := time.Now()
		var r *rate.Reservation
		if p.bucket != nil {
			r = p.bucket.ReserveN(now, 1)
			if d := r.DelayFrom(now); d > 0 {
				st.pacedBy()
				if err := sleep(ctx, p.logger, d, "rate limit (plan)", true, nil, &logged); err != nil {
					r.CancelAt(time.Now())
					return err
				}
				now = time.Now()
			}
		}
		d, wake := p.admitOrWake(now, st)
		if d <= 0 {
			return nil
		}
		if r != nil {
			r.CancelAt(now)
		}
		st.pacedBy()
		if err := sleep(ctx, p.logger, d, "rate limit", true, wake, &logged); err != nil {
			return err
		}
	}
}

// Package clock lets the client's waits (backoff, rate-limit pacing, token
// expiry) run on real time in production and on a hand-driven clock in tests.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the client uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a timer backed by time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Offset is Base read By ahead (behind, for a negative By): the clock of a
// machine whose clock is off. Its timers are Base's, since a duration is
// the same on both.
type Offset struct {
	Base Clock
	By   time.Duration
}

// Now returns Base's time plus By.
func (o Offset) Now() time.Time { return o.Base.Now().Add(o.By) }

// NewTimer returns Base's timer.
func (o Offset) NewTimer(d time.Duration) Timer { return o.Base.NewTimer(d) }

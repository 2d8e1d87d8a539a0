package clock

import (
	"sync"
	"time"
)

// Fake is a clock that moves only when Advance is called. Timers fire when the
// clock reaches their deadline. It is for tests.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever the armed timers change
}

// NewFake returns a Fake clock set to now.
func NewFake(now time.Time) *Fake {
	return &Fake{now: now, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires once the clock has advanced by d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		t.fired = true
		return t
	}
	f.timers = append(f.timers, t)
	f.changedLocked()
	return t
}

// changedLocked wakes the waiters of WaitForTimers and WaitForPending.
func (f *Fake) changedLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Advance moves the clock forward by d and fires the timers that are due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.at.After(f.now) {
			t.c <- f.now
			t.fired = true
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) != len(f.timers) {
		clear(f.timers[len(kept):])
		f.timers = kept
		f.changedLocked()
	}
}

// Pending returns the durations from now until each armed timer fires.
func (f *Fake) Pending() []time.Duration {
	p, _ := f.pending()
	return p
}

// pending returns what Pending does and the channel that is closed at the
// next change of the armed timers.
func (f *Fake) pending() ([]time.Duration, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Duration, len(f.timers))
	for i, t := range f.timers {
		out[i] = t.at.Sub(f.now)
	}
	return out, f.changed
}

// WaitForTimers blocks until at least n timers are armed or done is closed,
// and reports whether n were reached.
func (f *Fake) WaitForTimers(n int, done <-chan struct{}) bool {
	return f.WaitForPending(func(p []time.Duration) bool { return len(p) >= n }, done)
}

// WaitForPending blocks until ok holds for the armed timers, as Pending
// reports them, or done is closed, and reports whether ok held. It looks
// again whenever a timer is armed, stopped or fired. A test uses it before
// Advance when code reads the clock and then arms a timer: advancing in
// between would leave the timer armed past the time the test meant.
func (f *Fake) WaitForPending(ok func(pending []time.Duration) bool, done <-chan struct{}) bool {
	for {
		pending, changed := f.pending()
		if ok(pending) {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

type fakeTimer struct {
	f     *Fake
	at    time.Time
	c     chan time.Time
	fired bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.fired {
		return false
	}
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			t.f.changedLocked()
			break
		}
	}
	t.fired = true
	return true
}

package atlastest

import (
	"sync/atomic"
	"time"
)

// Clock tells the server what time it is. Everything time-dependent in the server reads it:
// access and refresh token expiry, created_at and updated_at, sent_at and closed_at, the
// "today" that makes an unpaid invoice overdue, and rate-limit windows.
//
// The default clock is the real time. Pass a Clock to WithClock to pin the server's time
// (a Clock whose Now returns a constant makes the server's time move only by
// Server.Advance). A Clock must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// FixedClock returns a Clock that always says t, so that the server's time moves only
// when the test calls Server.Advance.
func FixedClock(t time.Time) Clock {
	return ClockFunc(func() time.Time { return t })
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// clock is the server's time: a base Clock plus everything Advance added.
type clock struct {
	base   Clock
	offset atomic.Int64 // nanoseconds
}

// now is the server's current time, in UTC, to the microsecond (the precision timestamps
// are stored and shown with, so that what a client reads sorts like what the server holds).
func (c *clock) now() time.Time {
	return c.base.Now().Add(time.Duration(c.offset.Load())).UTC().Truncate(time.Microsecond)
}

func (c *clock) advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}

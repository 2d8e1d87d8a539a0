package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFakeFiresTimersWhenDue(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	f := NewFake(start)
	early := f.NewTimer(time.Second)
	late := f.NewTimer(time.Minute)
	assert.Equal(t, []time.Duration{time.Second, time.Minute}, f.Pending())

	f.Advance(999 * time.Millisecond)
	assertNotFired(t, early)
	f.Advance(time.Millisecond)
	assert.Equal(t, start.Add(time.Second), <-early.C())
	assertNotFired(t, late)
	assert.Equal(t, []time.Duration{59 * time.Second}, f.Pending())

	assert.True(t, late.Stop())
	assert.False(t, late.Stop(), "already stopped")
	assert.False(t, early.Stop(), "already fired")
	f.Advance(time.Hour)
	assertNotFired(t, late)
	assert.Empty(t, f.Pending())
	assert.Equal(t, start.Add(time.Hour+time.Second), f.Now())
}

func TestFakeZeroTimerFiresAtOnce(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Unix(0, 0))
	tm := f.NewTimer(0)
	<-tm.C()
	assert.Empty(t, f.Pending())
}

func TestFakeWaitForTimers(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		f.NewTimer(time.Second)
		f.NewTimer(time.Second)
	}()
	require.True(t, f.WaitForTimers(2, nil))
	close(done)
	assert.False(t, f.WaitForTimers(3, done), "gives up when done is closed")
}

// WaitForPending sees a timer that is stopped and one that is armed in its
// place, as code that looks again after a wake-up does: it returns once the
// new one is armed, not while the old one still is.
func TestFakeWaitForPending(t *testing.T) {
	t.Parallel()
	f := NewFake(time.Unix(0, 0))
	old := f.NewTimer(400 * time.Millisecond)
	rearm := make(chan struct{})
	go func() {
		<-rearm
		old.Stop()
		f.NewTimer(3 * time.Millisecond)
	}()
	want := func(p []time.Duration) bool { return len(p) == 1 && p[0] == 3*time.Millisecond }
	assert.False(t, want(f.Pending()))
	close(rearm)
	require.True(t, f.WaitForPending(want, nil))
	assert.Equal(t, []time.Duration{3 * time.Millisecond}, f.Pending())

	done := make(chan struct{})
	close(done)
	assert.False(t, f.WaitForPending(func(p []time.Duration) bool { return len(p) == 2 }, done), "gives up when done is closed")
}

func TestRealClock(t *testing.T) {
	t.Parallel()
	var c Clock = Real{}
	before := time.Now()
	assert.False(t, c.Now().Before(before))
	tm := c.NewTimer(time.Hour)
	assert.True(t, tm.Stop())
	tm = c.NewTimer(0)
	<-tm.C()
}

func assertNotFired(t *testing.T, tm Timer) {
	t.Helper()
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
}

func TestOffsetReadsAheadOrBehindWithTheSameTimers(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	f := NewFake(start)
	for _, by := range []time.Duration{5 * time.Second, -5 * time.Second} {
		o := Offset{Base: f, By: by}
		assert.Equal(t, start.Add(by), o.Now())
		tm := o.NewTimer(time.Second)
		assert.Equal(t, []time.Duration{time.Second}, f.Pending())
		f.Advance(time.Second)
		assert.Equal(t, f.Now(), <-tm.C())
		assert.Equal(t, f.Now().Add(by), o.Now())
		start = f.Now()
	}
}

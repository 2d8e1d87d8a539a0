package atlas

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reset is read against the answer's Date header, the server's clock,
// so a client whose clock is off holds back exactly as long as one whose
// clock is right; without a readable Date it falls back to its own clock.
func TestResetIsReadAgainstTheServersDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		offset time.Duration // of the client's clock from the server's
		date   string        // "ok", "missing" or "unreadable"
		hold   time.Duration
	}{
		{"in sync", 0, "ok", 10 * time.Second},
		{"5s ahead", 5 * time.Second, "ok", 10 * time.Second},
		{"5s behind", -5 * time.Second, "ok", 10 * time.Second},
		{"an hour ahead", time.Hour, "ok", 10 * time.Second},
		{"a day behind", -24 * time.Hour, "ok", 10 * time.Second},
		{"5s ahead, no Date", 5 * time.Second, "missing", 5 * time.Second},
		{"5s behind, no Date", -5 * time.Second, "missing", 15 * time.Second},
		{"5s ahead, Date unreadable", 5 * time.Second, "unreadable", 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				// The client's clock is the bubble's; the server's is off
				// from it by -offset.
				serverNow := func() time.Time { return time.Now().Add(-tc.offset) }
				var n atomic.Int32
				srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					remaining := 59
					if n.Add(1) == 1 {
						remaining = 0
					}
					h := w.Header()
					for k, v := range rlHeader(60, remaining, serverNow().Add(10*time.Second)) {
						h[k] = v
					}
					switch tc.date {
					case "ok":
						dated(h, serverNow())
					case "missing":
						h["Date"] = nil // net/http leaves it out
					case "unreadable":
						h.Set("Date", "yesterday")
					}
					writeJSON(w, http.StatusOK, map[string]string{})
				}))
				c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
				_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
				require.NoError(t, err)
				start := time.Now()
				_, err = call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
				require.NoError(t, err)
				assert.Equal(t, tc.hold, time.Since(start))
				assert.EqualValues(t, 2, n.Load())
			})
		})
	}
}

// The bounds on the server's clock narrow with every answer and start anew
// when an answer agrees with none before (a clock was set).
func TestServerClockNarrowsToTheTruth(t *testing.T) {
	t.Parallel()
	truth := 5300 * time.Millisecond // the server's clock is ahead by this
	var c serverClock
	at := func(client time.Time, rtt time.Duration) time.Duration {
		server := client.Add(rtt / 2).Add(truth)
		h := http.Header{"Date": {server.UTC().Format(http.TimeFormat)}}
		return c.ahead(h, client, client.Add(rtt))
	}
	t0 := time.Unix(1768473000, 0).Add(100 * time.Millisecond)
	lo := at(t0, 2*time.Millisecond)
	assert.LessOrEqual(t, lo, truth, "never ahead of the truth")
	assert.Greater(t, lo, truth-time.Second-2*time.Millisecond)
	assert.Greater(t, c.spread(), 900*time.Millisecond, "one answer leaves a second open")
	for i := range 300 {
		lo = at(t0.Add(time.Duration(i)*1003*time.Millisecond), 2*time.Millisecond)
		assert.LessOrEqual(t, lo, truth)
	}
	assert.Greater(t, lo, truth-10*time.Millisecond, "answers at many points of the second pin it down")
	assert.Less(t, c.spread(), 10*time.Millisecond)

	spread := c.spread()
	assert.Zero(t, c.ahead(http.Header{}, t0, t0), "no Date: the client's own clock")
	assert.Zero(t, c.ahead(http.Header{"Date": {"yesterday"}}, t0, t0))
	assert.Equal(t, spread, c.spread(), "and the bounds stay")

	truth = -time.Hour // the server's clock was set back
	lo = at(t0.Add(time.Minute), 2*time.Millisecond)
	assert.LessOrEqual(t, lo, truth)
	assert.Greater(t, lo, truth-time.Second-2*time.Millisecond, "the bounds start anew")
}

// windowModel is a fixed-window rate limiter as a server runs it: windows of
// a second on the server's clock (skew ahead of the client's), limit
// requests in each, exact X-RateLimit-* headers and a Date of whole seconds,
// and a refused request (429 with Retry-After) does not count.
type windowModel struct {
	limit int
	skew  time.Duration

	window int64
	used   int
	ok     map[int64]int // answers by window
	lim    map[int64]int // 429s by window
}

func (m *windowModel) serve(client time.Time) (http.Header, int) {
	now := client.Add(m.skew)
	idx := now.Unix()
	if idx != m.window {
		m.window, m.used = idx, 0
	}
	reset := time.Unix(idx+1, 0)
	status := http.StatusOK
	var h http.Header
	if m.used >= m.limit {
		status = http.StatusTooManyRequests
		h = rlHeader(m.limit, 0, reset)
		h.Set("Retry-After", strconv.FormatInt(int64((reset.Sub(now)+time.Second-1)/time.Second), 10))
		m.lim[idx]++
	} else {
		m.used++
		h = rlHeader(m.limit, m.limit-m.used, reset)
		m.ok[idx]++
	}
	return dated(h, now), status
}

// simulatePacer runs workers that send as fast as the pacer lets them to a
// windowModel for span, on simulated time: each request reaches the server
// and its answer the client after leg and a random delay of up to 2ms more,
// and one answer in ten comes 15ms late, so that answers arrive out of
// order. It returns the model and the pacer.
func simulatePacer(limit int, skew time.Duration, workers int, leg, span time.Duration) (*windowModel, *pacer) {
	m := &windowModel{limit: limit, skew: skew, ok: map[int64]int{}, lim: map[int64]int{}}
	start := time.Unix(1768473000, 0).Add(370 * time.Millisecond)
	p := newPacer("", nil)
	rng := rand.New(rand.NewPCG(1, uint64(skew))) //nolint:gosec // G115: a seed; a negative skew wraps, which seeds as well
	delay := func() time.Duration { return leg + time.Duration(200+rng.IntN(1800))*time.Microsecond }

	type worker struct {
		st       *callState
		inflight bool
		wakeAt   time.Time
		wake     <-chan struct{}
		sent     time.Time
		h        http.Header
		status   int
	}
	type event struct {
		at      time.Time
		w       *worker
		arrives bool // else: the server takes the request
	}
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{st: &callState{}}
	}
	var events []event
	now, end := start, start.Add(span)
	for {
		for sent := true; sent; {
			sent = false
			for _, w := range ws {
				if w.inflight {
					continue
				}
				woken := false
				if w.wake != nil {
					select {
					case <-w.wake:
						woken = true
					default:
					}
				}
				if now.Before(w.wakeAt) && !woken {
					continue
				}
				d, wake := p.admitOrWake(now, w.st)
				if d > 0 {
					w.wakeAt, w.wake = now.Add(d), wake
					continue
				}
				sent = true
				w.inflight, w.sent, w.wake = true, now, nil
				events = append(events, event{at: now.Add(delay()), w: w})
			}
		}
		next := end
		for _, e := range events {
			next = minTime(next, e.at)
		}
		for _, w := range ws {
			if !w.inflight && w.wakeAt.After(now) {
				next = minTime(next, w.wakeAt)
			}
		}
		if !next.Before(end) {
			return m, p
		}
		now = next
		for {
			i := -1
			for j, e := range events {
				if !e.at.After(now) && (i < 0 || e.at.Before(events[i].at)) {
					i = j
				}
			}
			if i < 0 {
				break
			}
			e := events[i]
			events = append(events[:i], events[i+1:]...)
			if !e.arrives {
				e.w.h, e.w.status = m.serve(e.at)
				late := delay()
				if rng.IntN(10) == 0 {
					late += 15 * time.Millisecond
				}
				events = append(events, event{at: e.at.Add(late), w: e.w, arrives: true})
				continue
			}
			a := p.read(e.w.h, e.w.status, e.w.sent, e.at)
			p.learn(e.w.st, a.obs, a.serverReset, e.at)
			e.w.inflight = false
		}
	}
}

// Against a fixed-window server, with answers out of order and the client's
// clock right or seconds off, the pacer sends no request into a window that
// has none left after the first window, and uses every window to the full.
// A client that takes most of a window to use it up sends at every point of
// the server's second, and learns its clock to about a round trip; one
// fast enough to use up a window early needs no more.
func TestPacerAgainstAFixedWindowModel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		limit, workers int
		leg            time.Duration
		learns         bool
	}{
		{"fast", 20, 8, 0, false},
		{"slow", 40, 2, 20 * time.Millisecond, true},
	}
	for _, tc := range cases {
		for _, skew := range []time.Duration{0, 5 * time.Second, -5 * time.Second, 5300 * time.Millisecond, -5700 * time.Millisecond, 2*time.Hour + 123*time.Millisecond} {
			t.Run(tc.name+"/"+skew.String(), func(t *testing.T) {
				t.Parallel()
				const windows = 16
				m, p := simulatePacer(tc.limit, skew, tc.workers, tc.leg, windows*time.Second)
				var first int64 = 1 << 62
				for w := range m.ok {
					first = min(first, w)
				}
				t.Logf("ok by window %v, 429s %v, spread %s", m.ok, m.lim, p.server.spread())
				ok := 0
				for w := first + 1; w < first+windows; w++ {
					assert.Zero(t, m.lim[w], "429s in window %d", w-first)
					ok += m.ok[w]
				}
				assert.GreaterOrEqual(t, ok, (windows-1)*tc.limit*95/100)
				for w := first + 1; w < first+windows; w++ {
					assert.Equal(t, tc.limit, m.ok[w], "window %d used to the full", w-first)
				}
				if tc.learns {
					assert.Less(t, p.server.spread(), 2*(2*tc.leg+4*time.Millisecond), "the server's clock is learned")
				}
			})
		}
	}
}

// fixedWindowServer is a plain fixed-window rate limiter as many APIs run
// one: limit requests in each window of whole seconds of the wall clock,
// exact X-RateLimit-* headers, and for a request over the limit a 429 with
// Retry-After (the seconds to the reset, rounded up), which does not count.
type fixedWindowServer struct {
	*httptest.Server
	limit int

	mu      sync.Mutex
	cur     int64 // the current window: its second
	used    int
	ok, lim map[int64]int // answers by window
}

func newFixedWindowServer(t *testing.T, limit int) *fixedWindowServer {
	s := &fixedWindowServer{limit: limit, ok: map[int64]int{}, lim: map[int64]int{}}
	s.Server = newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		s.mu.Lock()
		if idx := now.Unix(); idx != s.cur {
			s.cur, s.used = idx, 0
		}
		reset := time.Unix(s.cur+1, 0)
		allowed := s.used < s.limit
		if allowed {
			s.used++
			s.ok[s.cur]++
		} else {
			s.lim[s.cur]++
		}
		for k, v := range rlHeader(s.limit, s.limit-s.used, reset) {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		if !allowed {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((reset.Sub(now)+time.Second-1)/time.Second), 10))
			writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	return s
}

// window returns the server's current window.
func (s *fixedWindowServer) window() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Against a plain fixed-window server with exact headers, 8 goroutines
// pacing on the headers alone (no WithTier) get no 429 after the first
// window, over 10 windows after it: the client sends no more than what a
// window has left less its requests in flight, and, when a window's reset
// passes, no more than the limit less its requests in flight until an
// answer tells the new window.
func TestFixedWindowServerGetsNo429AfterTheFirstWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const limit, windows, workers = 20, 10, 8
		srv := newFixedWindowServer(t, limit)
		c, _ := Setup(t, OnMem(srv.Server, ""), ClientOptions(WithTokens("tok", "")))
		first := time.Now().Unix()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for srv.window() <= first+windows {
					_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()

		srv.mu.Lock()
		defer srv.mu.Unlock()
		t.Logf("answered by window: %v; 429s: %v", srv.ok, srv.lim)
		ok := 0
		for w := first + 1; w <= first+windows; w++ {
			assert.Zero(t, srv.lim[w], "429s in window %d", w-first)
			assert.LessOrEqual(t, srv.ok[w], limit)
			ok += srv.ok[w]
		}
		assert.GreaterOrEqual(t, ok, windows*limit*9/10, "the windows are used")
	})
}

// A wait is logged once, however often it wakes up to look again: five
// calls waiting for their slots after a burst 429 wake up fifteen times
// between them, and log five records.
func TestOneDebugRecordPerWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		reset := start.Add(time.Minute)
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			i := int(n.Add(1))
			h := dated(rlHeader(60, 50-i, reset), time.Now())
			status := http.StatusOK
			if i == 1 {
				h.Set("Retry-After", "1") // a burst limit: the window has room
				status = http.StatusTooManyRequests
			}
			for k, v := range h {
				w.Header()[k] = v
			}
			writeJSON(w, status, map[string]string{})
		}))
		logs := newLevelCounter()
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithLogger(slog.New(logs))))
		results := make(chan error, 5)
		get := func() {
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			results <- err
		}

		go get()
		require.NoError(t, <-results)
		assert.Equal(t, time.Second, time.Since(start), "the 429's pause")
		require.Equal(t, 1, logs.count("DEBUG atlas: waiting"), "the 429's pause")

		for range 5 {
			go get()
		}
		synctest.Wait()
		var slots []time.Time
		for left := 5; left > 0; left-- {
			require.Len(t, results, 0, "all wait")
			require.NoError(t, <-results, "one goes in each slot")
			slots = append(slots, time.Now())
			synctest.Wait()
			require.Len(t, results, 0, "the others wake up and wait again for the next slot")
		}
		for i := 1; i < len(slots); i++ {
			assert.True(t, slots[i].After(slots[i-1]), "one at a time, in slots %v", slots)
		}
		assert.Equal(t, 6, logs.count("DEBUG atlas: waiting"), "one record per wait")
	})
}

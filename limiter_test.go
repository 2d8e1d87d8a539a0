package atlas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLimiter is a Limiter that counts the Waits it let through and the
// observations it got, fails while down is set, and blocks while hold is
// set, whatever its ctx says.
type fakeLimiter struct {
	down atomic.Bool
	hold chan struct{} // when not nil, Wait blocks until it is closed

	waiting  chan struct{} // told when Wait starts, if not nil
	observes chan struct{} // told after Observe, if not nil

	mu       sync.Mutex
	waits    int
	observed []RateObservation
	ctxErrs  int // observations whose ctx had ended
}

func (l *fakeLimiter) Wait(_ context.Context) error {
	if l.waiting != nil {
		l.waiting <- struct{}{}
	}
	if l.hold != nil {
		<-l.hold
	}
	if l.down.Load() {
		return errors.New("limiter store unreachable")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	return nil
}

func (l *fakeLimiter) Observe(ctx context.Context, o RateObservation) {
	l.mu.Lock()
	l.observed = append(l.observed, o)
	if ctx.Err() != nil {
		l.ctxErrs++
	}
	l.mu.Unlock()
	if l.observes != nil {
		l.observes <- struct{}{}
	}
}

func (l *fakeLimiter) counts() (waits, observes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits, len(l.observed)
}

// levelCounter is a slog.Handler that counts records by level and message.
type levelCounter struct {
	mu sync.Mutex
	n  map[string]int // "LEVEL msg"
}

func newLevelCounter() *levelCounter { return &levelCounter{n: map[string]int{}} }

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Level.String()+" "+r.Message]++
	h.n[r.Level.String()]++
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }

func (h *levelCounter) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[key]
}

// Every attempt goes through the Limiter: under concurrency, retries and
// dropped connections, Observe is called exactly once for every Wait that
// let an attempt go (StatusCode 0 when it got no answer), and the built-in
// pacer still learns from every answer.
func TestLimiterWaitAndObserveComeInPairs(t *testing.T) {
	t.Parallel()
	var n, dropped atomic.Int32
	var mu sync.Mutex
	attempts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		mu.Lock()
		attempts[r.URL.Path]++
		i := attempts[r.URL.Path]
		mu.Unlock()
		// Every other call gets a 503, then a dropped connection, then
		// its answer.
		if r.URL.Query().Get("faulty") == "true" {
			switch i {
			case 1:
				writeError(w, http.StatusServiceUnavailable, "try again")
				return
			case 2:
				dropped.Add(1)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
		}
		for k, v := range rlHeader(1000, 900, time.Now().Add(time.Minute)) {
			w.Header()[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	l := &fakeLimiter{}
	// No keep-alive: net/http would resend a request whose reused
	// connection dropped by itself, beneath the client.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(l), WithHTTPClient(&http.Client{Transport: tr})))
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 10 {
				req := Request{Path: fmt.Sprintf("/x/%d-%d", g, k), Query: url.Values{"faulty": {fmt.Sprint(k%2 == 0)}}}
				_, err := call[struct{}](context.Background(), c, req, requestConfig{})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	waits, observes := l.counts()
	assert.Equal(t, waits, observes, "one Observe for every Wait that let an attempt go")
	assert.EqualValues(t, n.Load(), waits, "and one Wait for every attempt the server saw")
	var noAnswer, unavailable int
	for _, o := range l.observed {
		switch o.StatusCode {
		case 0:
			noAnswer++
		case http.StatusServiceUnavailable:
			unavailable++
		}
	}
	assert.EqualValues(t, dropped.Load(), noAnswer, "a dropped connection is observed with StatusCode 0")
	assert.Equal(t, 80, unavailable)
	assert.EqualValues(t, 80, dropped.Load())
	assert.Equal(t, 1000, c.RateLimit().Limit, "the pacer learns too")
	c.core.pacer.mu.Lock()
	assert.Zero(t, c.core.pacer.inflight, "the pacer counted every attempt in and out")
	c.core.pacer.mu.Unlock()
}

// The Limiter is told what each answer said: the rate limit with the reset
// moved onto the client's clock (here 5s ahead of the server's), and the
// pause a 429 asks for, cut to MaxRateLimitWait, which the client enforces
// whatever the Limiter: the call fails at once.
func TestLimiterObservesOnTheClientsClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The client's clock is the bubble's; the server's is 5s behind it.
		serverNow := func() time.Time { return time.Now().Add(-5 * time.Second) }
		serverStart := serverNow()
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := dated(rlHeader(60, 41, serverNow().Add(20*time.Second)), serverNow())
			status := http.StatusOK
			if n.Add(1) == 2 {
				h.Set("Retry-After", "86400")
				status = http.StatusTooManyRequests
			}
			for k, v := range h {
				w.Header()[k] = v
			}
			writeJSON(w, status, map[string]string{})
		}))
		l := &fakeLimiter{}
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithLimiter(l)))
		ctx := context.Background()
		_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		_, err = call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		var apiErr *Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 24*time.Hour, apiErr.RetryAfter, "the error says what the server asked")
		assert.EqualValues(t, 2, n.Load(), "no retry: a day is past MaxRateLimitWait")

		require.Len(t, l.observed, 2)
		reset := time.Now().Add(20 * time.Second)
		assert.Equal(t, RateObservation{StatusCode: 200, RateLimit: RateLimit{Limit: 60, Remaining: 41, Reset: reset}}, l.observed[0])
		assert.Equal(t, RateObservation{StatusCode: 429, RateLimit: RateLimit{Limit: 60, Remaining: 41, Reset: reset}, RetryAfter: 2 * time.Minute}, l.observed[1])
		assert.Equal(t, serverStart.Add(20*time.Second), c.RateLimit().Reset, "Client.RateLimit says what the server said")
	})
}

// A Limiter that fails (its store is down) has the built-in pacer stand in:
// calls go on, paced by the pacer, with one warning for the whole outage
// and one Info record when the Limiter works again; then the Limiter paces
// once more, and a new outage warns once more.
func TestFailingLimiterFallsBackToThePacer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			remaining := 59
			if n.Add(1) == 1 {
				remaining = 0 // the window is used up for 10s
			}
			for k, v := range dated(rlHeader(60, remaining, time.Now().Add(10*time.Second)), time.Now()) {
				w.Header()[k] = v
			}
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		l := &fakeLimiter{}
		logs := newLevelCounter()
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithLimiter(l), WithLogger(slog.New(logs))))
		ctx := context.Background()
		get := func() error {
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			return err
		}

		l.down.Store(true)
		require.NoError(t, get())
		done := make(chan error, 1)
		go func() { done <- get() }()
		start := time.Now()
		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.EqualValues(t, 1, n.Load(), "the pacer holds the call for the used-up window")
		require.NoError(t, <-done)
		assert.Equal(t, 10*time.Second, time.Since(start), "the pacer holds the call for the used-up window")
		for range 5 {
			require.NoError(t, get())
		}
		assert.Equal(t, 1, logs.count("WARN"), "one warning for the outage")
		assert.Equal(t, 1, logs.count("WARN atlas: the limiter fails; the client paces itself until it works again"))
		waits, observes := l.counts()
		assert.Zero(t, waits)
		assert.Zero(t, observes, "nothing to observe for Waits that failed")

		l.down.Store(false)
		for range 3 {
			require.NoError(t, get())
		}
		assert.Equal(t, 1, logs.count("INFO atlas: the limiter works again; it paces the client once more"))
		waits, observes = l.counts()
		assert.Equal(t, 3, waits)
		assert.Equal(t, 3, observes)

		l.down.Store(true)
		require.NoError(t, get())
		require.NoError(t, get())
		assert.Equal(t, 2, logs.count("WARN"), "a new outage warns again, once")
	})
}

// A call ends with its ctx even when the Limiter's Wait ignores ctx; when
// that Wait lets the attempt go after all, it is observed as an attempt
// that got no answer, and nothing is sent.
func TestLimiterThatBlocksPastTheContext(t *testing.T) {
	verifyNoLeaks(t)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	l := &fakeLimiter{hold: make(chan struct{}), waiting: make(chan struct{}, 1), observes: make(chan struct{}, 1)}
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(l)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		done <- err
	}()
	recv(t, l.waiting)
	start := time.Now()
	cancel()
	err := recv(t, done)
	assert.Less(t, time.Since(start), 50*time.Millisecond)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrRateLimited)

	close(l.hold)
	recv(t, l.observes)
	waits, observes := l.counts()
	assert.Equal(t, 1, waits)
	assert.Equal(t, 1, observes, "the late Wait is observed once")
	assert.Equal(t, RateObservation{}, l.observed[0], "no answer")
	assert.Zero(t, l.ctxErrs, "Observe gets a ctx that has not ended")
	assert.Zero(t, n.Load(), "nothing was sent")
}

// A Limiter's own refusal of a wait that would outlast the deadline is the
// call's answer: no stand-in, no warning, nothing sent.
func TestLimiterWaitPastTheDeadlineIsTheAnswer(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	l := refusingLimiter{}
	logs := newLevelCounter()
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(l), WithLogger(slog.New(logs))))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "atlas: GET /x: waiting for rate limit (limiter): ")
	assert.Zero(t, logs.count("WARN"))
	assert.Zero(t, n.Load())
}

type refusingLimiter struct{}

func (refusingLimiter) Wait(context.Context) error {
	return fmt.Errorf("the shared budget is spent for 5m: %w", errors.Join(ErrRateLimited, context.DeadlineExceeded))
}
func (refusingLimiter) Observe(context.Context, RateObservation) {}

// A Limiter whose Wait panics on the goroutine the client runs it on fails
// the wait instead of the process: the pacer stands in.
func TestPanickingLimiterFallsBackToThePacer(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	logs := newLevelCounter()
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(panickingLimiter{}), WithLogger(slog.New(logs))))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, n.Load())
	assert.Equal(t, 1, logs.count("WARN"))
}

type panickingLimiter struct{}

func (panickingLimiter) Wait(context.Context) error               { panic("limiter bug") }
func (panickingLimiter) Observe(context.Context, RateObservation) {}

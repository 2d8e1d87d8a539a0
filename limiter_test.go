package atlas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

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
		done := testkit.Go(func() error { return get() })
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
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		l := &fakeLimiter{hold: make(chan struct{}), waiting: make(chan struct{}, 1), observes: make(chan struct{}, 1)}
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithLimiter(l)))
		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error {
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			return err
		})
		<-l.waiting
		start := time.Now()
		cancel()
		err := <-done
		assert.Zero(t, time.Since(start), "returns at once")
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrRateLimited)

		close(l.hold)
		<-l.observes
		waits, observes := l.counts()
		assert.Equal(t, 1, waits)
		assert.Equal(t, 1, observes, "the late Wait is observed once")
		assert.Equal(t, RateObservation{}, l.observed[0], "no answer")
		assert.Zero(t, l.ctxErrs, "Observe gets a ctx that has not ended")
		assert.Zero(t, n.Load(), "nothing was sent")
	})
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

// limiterSecret stands for a secret a Limiter's panic might carry (a Redis
// password in a connection string, say); no log line may show it.
const limiterSecret = "redis-password-s3cr3t"

// secretPanicLimiter panics in Wait, in Observe, or in both, with a value
// that holds limiterSecret.
type secretPanicLimiter struct {
	inWait, inObserve bool
	observed          atomic.Int32 // Observe calls, panicking or not
}

func (l *secretPanicLimiter) Wait(context.Context) error {
	if l.inWait {
		panic("dial redis://:" + limiterSecret + "@cache:6379: boom")
	}
	return nil
}

func (l *secretPanicLimiter) Observe(context.Context, RateObservation) {
	l.observed.Add(1)
	if l.inObserve {
		panic(errors.New("redis://:" + limiterSecret + "@cache:6379: reply missing"))
	}
}

// A custom Limiter's panic, in Wait or in Observe, never escapes a call,
// whatever its context (context.Background() included, which has no Done
// channel): the pacer stands in, the client logs one warning for the whole
// outage, without the panic's value, and keeps serving.
func TestPanickingLimiterNeverEscapesTheCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		inWait, inObserve bool
	}{
		{"Wait", true, false},
		{"Observe", false, true},
		{"both", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n.Add(1)
				writeJSON(w, http.StatusOK, map[string]string{})
			}))
			t.Cleanup(srv.Close)
			l := &secretPanicLimiter{inWait: tc.inWait, inObserve: tc.inObserve}
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(l), WithLogger(logger)))
			for _, ctx := range []context.Context{context.Background(), t.Context()} {
				for range 3 {
					_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
					require.NoError(t, err)
				}
			}
			assert.EqualValues(t, 6, n.Load(), "every call was sent")
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			assert.Equal(t, 1, strings.Count(out, "level=WARN"), "one warning for the outage:\n%s", out)
			assert.Zero(t, strings.Count(out, "level=INFO"), "the outage never ended:\n%s", out)
			assert.Contains(t, out, "panicked with a ")
			assert.NotContains(t, out, limiterSecret)
			if !tc.inWait {
				assert.EqualValues(t, 6, l.observed.Load(), "every Wait that let an attempt go is observed")
			}
		})
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// An Observe that panics once is one outage: the next attempt whose Wait
// and Observe both work ends it, with one Info record.
func TestLimiterWhoseObservePanicsOnceRecovers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	l := &secretPanicLimiter{inObserve: true}
	logs := newLevelCounter()
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithLimiter(l), WithLogger(slog.New(logs))))
	get := func() error {
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		return err
	}
	require.NoError(t, get())
	l.inObserve = false
	require.NoError(t, get())
	require.NoError(t, get())
	assert.Equal(t, 1, logs.count("WARN atlas: the limiter fails; the client paces itself until it works again"))
	assert.Equal(t, 1, logs.count("INFO atlas: the limiter works again; it paces the client once more"))
}

// blockingLimiter's Wait holds the attempt for an hour, as a pause key a
// foreign tool set in a shared store would: honouring its context when
// honour is set, ignoring it otherwise (until release is closed).
type blockingLimiter struct {
	honour   bool
	release  chan struct{}
	observed chan RateObservation
}

func (l *blockingLimiter) Wait(ctx context.Context) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	if l.honour {
		select {
		case <-ctx.Done():
			return fmt.Errorf("shared pause: %w", ctx.Err())
		case <-t.C:
			return nil
		}
	}
	<-l.release // the Limiter's own goroutine, which it leaks until then
	return nil
}

func (l *blockingLimiter) Observe(_ context.Context, o RateObservation) { l.observed <- o }

// deadlineLimiter refuses at once a wait that would outlast its context's
// deadline, as the Limiter interface asks (and atlasredis does), and
// otherwise holds the attempt for an hour.
type deadlineLimiter struct{ sawDeadline chan time.Duration }

func (l *deadlineLimiter) Wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		l.sawDeadline <- 0
	} else {
		l.sawDeadline <- time.Until(d)
	}
	if ok && time.Until(d) < time.Hour {
		return fmt.Errorf("shared pause of 1h: %w", errors.Join(ErrRateLimited, context.DeadlineExceeded))
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Hour):
		return nil
	}
}
func (l *deadlineLimiter) Observe(context.Context, RateObservation) {}

// No Limiter holds a call past RetryPolicy.MaxRateLimitWait, with
// context.Background() too: a Limiter that honours its context gets one that
// ends then, one that ignores it is no longer waited for, and one that
// refuses at once a wait past its context's deadline does so; each way the
// call fails with ErrRateLimited (not context.DeadlineExceeded: the caller
// set no deadline), as a 429 asking for too long does, without a warning and
// without sending anything.
func TestLimiterWaitNeverOutlastsMaxRateLimitWait(t *testing.T) {
	t.Parallel()
	const maxWait = 90 * time.Second
	newClient := func(t *testing.T, l Limiter, logs *levelCounter) *Client {
		// Nothing listens on port 1: the calls must end before sending.
		c, err := NewClient(WithBaseURL("http://127.0.0.1:1/api/v1"), WithTokens("tok", ""), WithLimiter(l),
			WithRetry(RetryPolicy{MaxRetries: 2, MaxRateLimitWait: maxWait}), WithLogger(slog.New(logs)))
		require.NoError(t, err)
		return c
	}
	check := func(t *testing.T, err error, logs *levelCounter) {
		t.Helper()
		require.ErrorIs(t, err, ErrRateLimited)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "atlas: GET /x: waiting for rate limit (limiter) would outlast RetryPolicy.MaxRateLimitWait (1m30s)", err.Error())
		assert.Zero(t, logs.count("WARN"), "the limiter did not fail")
	}
	t.Run("honours its context", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			logs := newLevelCounter()
			c := newClient(t, &blockingLimiter{honour: true}, logs)
			start := time.Now()
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			check(t, err, logs)
			assert.Equal(t, maxWait, time.Since(start), "virtual time: the wait ended at MaxRateLimitWait")
		})
	})
	t.Run("ignores its context", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			logs := newLevelCounter()
			l := &blockingLimiter{release: make(chan struct{}), observed: make(chan RateObservation, 1)}
			c := newClient(t, l, logs)
			start := time.Now()
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			check(t, err, logs)
			assert.Equal(t, maxWait, time.Since(start), "virtual time: the call stopped waiting at MaxRateLimitWait")
			// The Limiter's goroutine is its own; once it lets the attempt go
			// after all, that is observed as an attempt without an answer.
			close(l.release)
			assert.Equal(t, RateObservation{}, <-l.observed)
		})
	})
	t.Run("refuses past its deadline", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			logs := newLevelCounter()
			l := &deadlineLimiter{sawDeadline: make(chan time.Duration, 1)}
			c := newClient(t, l, logs)
			start := time.Now()
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			check(t, err, logs)
			assert.Equal(t, maxWait, <-l.sawDeadline, "the Limiter's context ends at MaxRateLimitWait")
			assert.Zero(t, time.Since(start), "refused at once")
		})
	})
	t.Run("the caller's earlier deadline stays the caller's", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			logs := newLevelCounter()
			l := &deadlineLimiter{sawDeadline: make(chan time.Duration, 1)}
			c := newClient(t, l, logs)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			require.ErrorIs(t, err, ErrRateLimited)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, time.Minute, <-l.sawDeadline)
			assert.Zero(t, logs.count("WARN"))
		})
	})
}

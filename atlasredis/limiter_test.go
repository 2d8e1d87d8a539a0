package atlasredis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// newTestLimiter returns a Limiter on its own client of the shared Redis,
// with a timeout long enough for a loaded machine unless opts set another.
func newTestLimiter(t testing.TB, key string, limit, burst int, window time.Duration, opts ...LimiterOption) *Limiter {
	t.Helper()
	opts = append([]LimiterOption{WithLimiterTimeout(testTimeout)}, opts...)
	l, err := NewLimiter(newTestClient(t), key, limit, burst, window, opts...)
	require.NoError(t, err)
	return l
}

// testTimeout is the Limiter timeout of tests that do not test it: Redis
// answers in far less, but tests run in parallel on a small machine.
const testTimeout = 5 * time.Second

// A minute per token: no token comes back during a test.
const (
	slowLimit  = 60
	slowWindow = time.Hour
)

func TestNewLimiterRefusesBadInput(t *testing.T) {
	t.Parallel()
	good := newTestClient(t)
	noCtxTimeout := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = noCtxTimeout.Close() })
	noCtxCluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = noCtxCluster.Close() })

	tests := []struct {
		name   string
		rdb    redis.UniversalClient
		key    string
		limit  int
		burst  int
		window time.Duration
		opts   []LimiterOption
		want   string
	}{
		{"nil client", nil, "k", 60, 10, time.Minute, nil, "nil Redis client"},
		{"no ContextTimeoutEnabled", noCtxTimeout, "k", 60, 10, time.Minute, nil, "ContextTimeoutEnabled"},
		{"cluster without ContextTimeoutEnabled", noCtxCluster, "k", 60, 10, time.Minute, nil, "ContextTimeoutEnabled"},
		{"empty key", good, "", 60, 10, time.Minute, nil, "empty"},
		{"key with a brace", good, "acme}", 60, 10, time.Minute, nil, "'{' or '}'"},
		{"zero limit", good, "k", 0, 10, time.Minute, nil, "must be positive"},
		{"negative burst", good, "k", 60, -1, time.Minute, nil, "must be positive"},
		{"zero window", good, "k", 60, 10, 0, nil, "must be positive"},
		{"zero timeout", good, "k", 60, 10, time.Minute, []LimiterOption{WithLimiterTimeout(0)}, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLimiter(tt.rdb, tt.key, tt.limit, tt.burst, tt.window, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, l)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, atlas.ErrInvalidConfig)
		})
	}
}

func TestNewLimiterSkipsNilOption(t *testing.T) {
	t.Parallel()
	l, err := NewLimiter(newTestClient(t), testKey(t), 60, 10, time.Minute, nil, WithLimiterTimeout(time.Second))
	require.NoError(t, err)
	assert.Equal(t, time.Second, l.timeout)
}

func TestNewTierLimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier         atlas.Tier
		limit, burst int // the plan's
		bucket       int // what the Limiter's bucket holds: burst less the margin
	}{
		{atlas.TierStandard, 60, 10, 9},
		{atlas.TierProfessional, 300, 50, 45},
		{atlas.TierEnterprise, 1000, 100, 90},
	}
	rdb := newTestClient(t)
	for _, tt := range tests {
		t.Run(string(tt.tier), func(t *testing.T) {
			l, err := NewTierLimiter(rdb, testKey(t), tt.tier)
			require.NoError(t, err)
			assert.Equal(t, tt.limit, l.limit.Rate)
			assert.Equal(t, tt.bucket, l.limit.Burst)
			assert.Equal(t, time.Minute, l.limit.Period)

			// The table is the core's: WithTier knows every tier listed here.
			_, err = atlas.NewClient(atlas.WithTier(tt.tier), atlas.WithTokens("x", ""))
			assert.NoError(t, err)
		})
	}
	_, err := NewTierLimiter(rdb, testKey(t), atlas.Tier("platinum"))
	assert.ErrorContains(t, err, `unknown tier "platinum"`)
	assert.ErrorIs(t, err, atlas.ErrInvalidConfig)
	_, err = atlas.NewClient(atlas.WithTier("platinum"))
	assert.Error(t, err, "the core does not know it either")
}

func TestLimiterKeepsTheClientsBurstMargin(t *testing.T) {
	t.Parallel()
	rdb := newTestClient(t)
	for burst, want := range map[int]int{1: 0, 2: 1, 10: 1, 19: 1, 20: 2, 50: 5, 100: 10} {
		l, err := NewLimiter(rdb, testKey(t), 60, burst, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, want, l.margin, "burst %d", burst)
		assert.Equal(t, burst-want, l.limit.Burst, "burst %d", burst)
	}
}

// Limiters on separate clients with one key take from one bucket: together
// they get the bucket and not a token more.
func TestLimiterSharesOneBudget(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	const burst, bucket = 20, 18
	limiters := make([]*Limiter, 4)
	for i := range limiters {
		limiters[i] = newTestLimiter(t, key, slowLimit, burst, slowWindow)
	}
	var allowed, refused atomic.Int32
	var wg sync.WaitGroup
	for _, l := range limiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := l.Wait(ctx)
				cancel()
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.Is(err, atlas.ErrRateLimited) && errors.Is(err, context.DeadlineExceeded):
					refused.Add(1)
				default:
					t.Errorf("Wait: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, bucket, allowed.Load(), "the burst less its margin, shared")
	assert.EqualValues(t, 40-bucket, refused.Load())
}

// A wait that would outlast the deadline fails at once, as the client's own
// pacer does; one that fits sleeps as long as Redis says.
func TestLimiterWaitsForTheNextToken(t *testing.T) {
	t.Parallel()
	const window = 300 * time.Millisecond
	l := newTestLimiter(t, testKey(t), 1, 1, window)
	var waits []time.Duration
	l.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		waits = append(waits, d)
		return realTimer(d)
	}
	ctx := context.Background()
	require.NoError(t, l.Wait(ctx))

	short, cancel := context.WithTimeout(ctx, window/3)
	defer cancel()
	start := time.Now()
	err := l.Wait(short)
	assert.ErrorIs(t, err, atlas.ErrRateLimited)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, short.Err(), "it did not wait for the deadline")
	assert.Empty(t, waits)

	require.NoError(t, l.Wait(ctx))
	assert.GreaterOrEqual(t, time.Since(start), window-50*time.Millisecond, "the token came a window after the first")
	require.NotEmpty(t, waits)
	// What Redis says, and a refused waiter's first yield: the emission
	// interval, here the window.
	assert.LessOrEqual(t, waits[0], window+l.yield(0))
	assert.Greater(t, waits[0], l.yield(0))
}

// A waiter refused again and again asks again sooner after each refusal,
// relative to when the budget says the next attempt may go, until after the
// eighth it asks exactly then: the waiters that have waited longest ask
// first, whichever process they are in.
func TestLimiterWaiterYieldsLessTheLongerItWaits(t *testing.T) {
	t.Parallel()
	const window = time.Hour // one token an hour: every ask below is refused
	l := newTestLimiter(t, testKey(t), 1, 1, window)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, l.Wait(ctx))

	var sleeps []time.Duration
	l.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		sleeps = append(sleeps, d)
		if len(sleeps) == yieldSteps+2 {
			cancel()
		}
		c := make(chan time.Time, 1)
		c <- time.Now() // at once: the next ask is refused again
		return c, func() bool { return false }
	}
	assert.ErrorIs(t, l.Wait(ctx), context.Canceled)
	require.Len(t, sleeps, yieldSteps+2)
	for i := 1; i < len(sleeps); i++ {
		// Redis's answer shrinks by the moments between two asks; the
		// yield by an eighth of the interval, until it is gone.
		yield := sleeps[i-1] - sleeps[i]
		if i <= yieldSteps {
			assert.InDelta(t, window/yieldSteps, yield, float64(time.Second), "ask %d", i)
		} else {
			assert.InDelta(t, 0, yield, float64(time.Second), "ask %d", i)
		}
	}
	assert.InDelta(t, window, sleeps[yieldSteps], float64(time.Second), "after the eighth refusal, exactly when the next token comes")
}

func TestLimiterWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t, testKey(t), slowLimit, 1, slowWindow)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, l.Wait(ctx))
	sleeping := make(chan struct{})
	l.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		close(sleeping)
		return realTimer(d)
	}
	done := make(chan error)
	go func() { done <- l.Wait(ctx) }()
	<-sleeping
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrUnavailable)

	assert.ErrorIs(t, l.Wait(ctx), context.Canceled, "an ended context fails before Redis is asked")
}

func TestLimiterRefusesNilContext(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t, testKey(t), 60, 10, time.Minute)
	var nilCtx context.Context // a caller passing nil: the input under test
	err := l.Wait(nilCtx)
	assert.ErrorContains(t, err, "nil context")
	assert.NotPanics(t, func() {
		l.Observe(nilCtx, atlas.RateObservation{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Second})
	})
}

// A 429 seen by one process pauses every process for its Retry-After, and
// empties the shared bucket as the API's is.
func TestLimiter429PausesEveryProcess(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	seen := newTestLimiter(t, key, slowLimit, 10, slowWindow)
	other := newTestLimiter(t, key, slowLimit, 10, slowWindow)
	ctx := context.Background()
	require.NoError(t, other.Wait(ctx))

	seen.Observe(ctx, atlas.RateObservation{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})

	rdb := newTestClient(t)
	pttl, err := rdb.PTTL(ctx, other.keys.pause).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, time.Second)
	assert.LessOrEqual(t, pttl, 2*time.Second)

	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err = other.Wait(short)
	assert.ErrorIs(t, err, atlas.ErrRateLimited, "the pause outlasts the deadline")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "would outlast")
	assert.NoError(t, short.Err(), "it failed at once")

	// Without the pause the bucket is still empty: the 429 took every token.
	require.NoError(t, rdb.Del(ctx, other.keys.pause).Err())
	err = other.Wait(short)
	assert.ErrorIs(t, err, atlas.ErrRateLimited)
}

// After the pause a waiter goes on by itself.
func TestLimiterResumesAfterThePause(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	seen := newTestLimiter(t, key, 1000, 10, time.Second)
	other := newTestLimiter(t, key, 1000, 10, time.Second)
	ctx := context.Background()
	const pause = 400 * time.Millisecond
	start := time.Now()
	seen.Observe(ctx, atlas.RateObservation{StatusCode: http.StatusTooManyRequests, RetryAfter: pause})
	require.NoError(t, other.Wait(ctx))
	assert.GreaterOrEqual(t, time.Since(start), pause-50*time.Millisecond)
}

func TestLimiterObserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		obs       func(now time.Time) atlas.RateObservation
		minPause  time.Duration // 0: no pause key
		maxPause  time.Duration
		roundTrip int64
	}{
		{"ok answer", func(now time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 200, RateLimit: atlas.RateLimit{Limit: 60, Remaining: 12, Reset: now.Add(30 * time.Second)}}
		}, 0, 0, 0},
		{"no answer", func(time.Time) atlas.RateObservation { return atlas.RateObservation{} }, 0, 0, 0},
		{"window spent", func(now time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 201, RateLimit: atlas.RateLimit{Limit: 60, Remaining: 0, Reset: now.Add(3 * time.Second)}}
		}, 2 * time.Second, 3 * time.Second, 1},
		{"window down to the margin", func(now time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 200, RateLimit: atlas.RateLimit{Limit: 60, Remaining: 1, Reset: now.Add(3 * time.Second)}}
		}, 2 * time.Second, 3 * time.Second, 1},
		{"window above the margin", func(now time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 200, RateLimit: atlas.RateLimit{Limit: 60, Remaining: 2, Reset: now.Add(3 * time.Second)}}
		}, 0, 0, 0},
		{"window spent, reset past", func(now time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 200, RateLimit: atlas.RateLimit{Limit: 60, Remaining: 0, Reset: now.Add(-time.Second)}}
		}, 0, 0, 0},
		{"429", func(time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 429, RetryAfter: 5 * time.Second}
		}, 4 * time.Second, 5 * time.Second, 1},
		{"429 without Retry-After pauses a token's time", func(time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 429}
		}, 30 * time.Second, time.Minute, 1},
		{"hostile Retry-After is capped", func(time.Time) atlas.RateObservation {
			return atlas.RateObservation{StatusCode: 429, RetryAfter: 365 * 24 * time.Hour}
		}, 50 * time.Minute, time.Hour, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb := newTestClient(t)
			var rt roundTrips
			rdb.AddHook(&rt)
			ctx := context.Background()
			// A 429 first on another key loads the scripts, so that only
			// what Observe does next is counted.
			warm, err := NewLimiter(rdb, testKey(t)+".warm", slowLimit, 10, slowWindow, WithLimiterTimeout(testTimeout))
			require.NoError(t, err)
			warm.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: time.Second})
			rt.n.Store(0)

			l, err := NewLimiter(rdb, testKey(t), slowLimit, 10, slowWindow, WithLimiterTimeout(testTimeout))
			require.NoError(t, err)
			l.Observe(ctx, tt.obs(time.Now()))
			assert.Equal(t, tt.roundTrip, rt.n.Load(), "round trips")

			pttl, err := newTestClient(t).PTTL(ctx, l.keys.pause).Result()
			require.NoError(t, err)
			if tt.minPause == 0 {
				assert.Equal(t, time.Duration(-2), pttl, "no pause key")
				return
			}
			assert.GreaterOrEqual(t, pttl, tt.minPause)
			assert.LessOrEqual(t, pttl, tt.maxPause)
		})
	}
}

func TestLimiterNeverShortensAPause(t *testing.T) {
	t.Parallel()
	l := newTestLimiter(t, testKey(t), slowLimit, 10, slowWindow)
	ctx := context.Background()
	l.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: 20 * time.Second})
	l.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: time.Second})
	pttl, err := newTestClient(t).PTTL(ctx, l.keys.pause).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, 15*time.Second)
}

// Wait costs one round trip to Redis: the pause and the token come together.
func TestLimiterWaitIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	rdb := newTestClient(t)
	var rt roundTrips
	rdb.AddHook(&rt)
	l, err := NewLimiter(rdb, testKey(t), 1_000_000, 1000, time.Minute, WithLimiterTimeout(testTimeout))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, l.Wait(ctx)) // loads the script if Redis does not have it
	before := rt.n.Load()
	for range 50 {
		require.NoError(t, l.Wait(ctx))
	}
	assert.EqualValues(t, 50, rt.n.Load()-before)
}

// The Limiter works again after Redis drops its scripts.
func TestLimiterSurvivesScriptFlush(t *testing.T) {
	if backend.kind == "url" {
		t.Skip("SCRIPT FLUSH would touch a Redis that other tests may share")
	}
	// Not parallel: the flush must not fall into the tests that count round
	// trips.
	l := newTestLimiter(t, testKey(t), 1_000_000, 1000, time.Minute)
	ctx := context.Background()
	require.NoError(t, l.Wait(ctx))
	require.NoError(t, newTestClient(t).ScriptFlush(ctx).Err())
	assert.NoError(t, l.Wait(ctx))
}

// fakeNow is a clock a test moves by hand.
type fakeNow struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeNow) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeNow) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// When Redis cannot be reached, Wait fails at once with an error that is not
// a context's (so that the client paces the attempt itself), logs once per
// outage, and leaves Redis alone for a while; when Redis is back, sharing
// resumes.
func TestLimiterFallsBackWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	p := newProxy(t)
	rdb := newClientAt(t, p.url(t))
	var rt roundTrips
	rdb.AddHook(&rt)
	var logs testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	key := testKey(t)
	l, err := NewLimiter(rdb, key, slowLimit, 4, slowWindow, WithLimiterLogger(logger), WithLimiterTimeout(testTimeout))
	require.NoError(t, err)
	clock := &fakeNow{now: time.Now()}
	l.now = clock.Now
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Wait(ctx))

	for outage := 1; outage <= 2; outage++ {
		p.set(proxyCut)
		err := l.Wait(ctx)
		require.Error(t, err)
		assert.True(t, isUnavailable(err), "not a context error: %v", err)
		asked := rt.n.Load()
		for range 5 {
			assert.True(t, isUnavailable(l.Wait(ctx)))
		}
		assert.Equal(t, asked, rt.n.Load(), "Redis is left alone until the recheck")
		assert.NoError(t, ctx.Err())

		clock.Advance(l.recheck)
		assert.True(t, isUnavailable(l.Wait(ctx)), "still down when asked again")

		p.set(proxyOpen)
		clock.Advance(l.recheck)
		require.NoError(t, l.Wait(ctx), "sharing resumes")

		assert.Equal(t, outage, bytes.Count([]byte(logs.String()), []byte("Redis does not answer")), "one warning per outage")
		assert.Equal(t, outage, bytes.Count([]byte(logs.String()), []byte("Redis answers again")))
	}
	// Of a bucket of 3, the three successful Waits took every token: the
	// state in Redis outlived the outages.
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	assert.ErrorIs(t, newTestLimiter(t, key, slowLimit, 4, slowWindow).Wait(short), atlas.ErrRateLimited)
}

// A Redis that accepts the connection and never answers costs a Wait its
// timeout, never the caller's deadline. The timeout is long enough for the
// first Wait (a dial and a script load through the proxy) on a loaded
// machine.
func TestLimiterGivesUpOnASlowRedis(t *testing.T) {
	t.Parallel()
	p := newProxy(t)
	rdb := newClientAt(t, p.url(t))
	const timeout = time.Second
	l, err := NewLimiter(rdb, testKey(t), 60, 10, time.Minute, WithLimiterTimeout(timeout))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Wait(ctx))

	p.set(proxyStall)
	start := time.Now()
	err = l.Wait(ctx)
	elapsed := time.Since(start)
	assert.True(t, isUnavailable(err), "not a context error: %v", err)
	assert.GreaterOrEqual(t, elapsed, timeout)
	assert.NoError(t, ctx.Err())

	l.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: time.Second}) // returns: Redis is known to be down
}

// With a redis-server of its own, the test stops it by its pid and starts it
// again on the same port: the Limiter falls back meanwhile and shares again
// afterwards.
func TestLimiterAcrossARedisRestart(t *testing.T) {
	if backend.kind != "redis-server" {
		t.Skipf("needs redis-server on PATH (the tests run on %s)", backend.kind)
	}
	t.Parallel()
	srv, err := startRedisServer(0)
	require.NoError(t, err)
	t.Cleanup(srv.stop)
	key := testKey(t)
	newLimiter := func() *Limiter {
		l, err := NewLimiter(newClientAt(t, srv.url()), key, slowLimit, 4, slowWindow, WithLimiterTimeout(time.Second))
		require.NoError(t, err)
		return l
	}
	a, b := newLimiter(), newLimiter()
	clock := &fakeNow{now: time.Now()}
	a.now, b.now = clock.Now, clock.Now
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, a.Wait(ctx))

	srv.kill()
	assert.True(t, isUnavailable(a.Wait(ctx)))
	assert.True(t, isUnavailable(b.Wait(ctx)))

	require.NoError(t, srv.start())
	clock.Advance(a.recheck)
	// The restarted server has no state (no persistence): a fresh bucket of
	// 3, which the two take from together.
	require.NoError(t, a.Wait(ctx))
	require.NoError(t, b.Wait(ctx))
	require.NoError(t, a.Wait(ctx))
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	assert.ErrorIs(t, b.Wait(short), atlas.ErrRateLimited, "the bucket is shared again")
}

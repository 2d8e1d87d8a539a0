package atlasredis

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// count429 counts the answers atlastest refused with 429.
func count429(srv *atlastest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// newLimitedReplica is one replica: an atlas.Client with a Limiter of its
// own, on a Redis client of its own, sharing key with the other replicas.
func newLimitedReplica(t *testing.T, srv *atlastest.Server, key string, limit, burst int, window time.Duration, opts ...atlas.Option) (*atlas.Client, *Limiter) {
	t.Helper()
	l := newTestLimiter(t, key, limit, burst, window)
	opts = append([]atlas.Option{
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithLimiter(l),
	}, opts...)
	c, err := atlas.NewClient(opts...)
	require.NoError(t, err)
	return c, l
}

// Four replicas sharing one Limiter on a server enforcing the plan get no
// 429, where each pacing itself to the whole plan would get many.
func TestReplicasShareOneRateBudget(t *testing.T) {
	t.Parallel()
	const window = time.Second
	srv := atlastest.NewServer(atlastest.WithPlan(atlastest.TierStandard, window))
	t.Cleanup(srv.Close)
	key := testKey(t)
	clients := make([]*atlas.Client, 4)
	for i := range clients {
		clients[i], _ = newLimitedReplica(t, srv, key, 60, 10, window)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range clients { // log in outside the measured part: logins count per IP
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)
	}
	srv.ResetRequests()

	const perClient = 45 // 180 calls: three windows of the plan
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perClient / 3 {
					_, err := c.Auth.Me(ctx)
					assert.NoError(t, err)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d calls in %s", 4*perClient, time.Since(start).Round(time.Millisecond))
	assert.Len(t, srv.Requests(), 4*perClient, "no retries")
	assert.Zero(t, count429(srv))
}

// A 429 that one replica gets pauses the others until its Retry-After.
func TestReplica429PausesTheOthers(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	key := testKey(t)
	hit, _ := newLimitedReplica(t, srv, key, 600, 60, time.Minute, atlas.WithRetry(atlas.RetryPolicy{MaxRetries: 0}))
	other, _ := newLimitedReplica(t, srv, key, 600, 60, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []*atlas.Client{hit, other} {
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)
	}
	srv.ResetRequests()

	srv.FailNext(1, http.StatusTooManyRequests, atlastest.RetryAfter(30*time.Second))
	_, err := hit.Auth.Me(ctx)
	require.ErrorIs(t, err, atlas.ErrRateLimited)

	short, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	_, err = other.Auth.Me(short)
	assert.ErrorIs(t, err, atlas.ErrRateLimited, "paused by the other replica's 429")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, short.Err(), "it failed at once: the pause outlasts the deadline")
	assert.Len(t, srv.Requests(), 1, "the paused replica sent nothing")
}

// With Redis down, calls go on at the client's own pace and none fails; when
// Redis is back, the replicas share the budget again.
func TestReplicasPaceLocallyWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer(atlastest.WithPlan(atlastest.TierStandard, time.Second))
	t.Cleanup(srv.Close)
	p := newProxy(t)
	var logs syncBuffer
	l, err := NewLimiter(newClientAt(t, p.url(t)), testKey(t), 60, 10, time.Second, WithLimiterTimeout(testTimeout))
	require.NoError(t, err)
	clock := &fakeNow{now: time.Now()}
	l.now = clock.Now
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithLimiter(l),
		atlas.WithRateLimit(60, 10, time.Second), // the fallback's pace
		atlas.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)

	p.set(proxyCut)
	for range 20 {
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)
	}
	assert.Zero(t, count429(srv))
	assert.Contains(t, logs.String(), "WARN", "the client says it paces by itself")

	p.set(proxyOpen)
	clock.Advance(l.recheck)
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)
	l.mu.Lock()
	down := !l.downSince.IsZero()
	l.mu.Unlock()
	assert.False(t, down, "the Limiter answers from Redis again")
	assert.False(t, errors.Is(ctx.Err(), context.DeadlineExceeded))
}

package atlasredis

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"
	"github.com/go-redis/redis_rate/v10"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// foreignValues are what another tool, another version or a hand may leave
// under a key of atlasredis: garbage, another format version, another kind
// of Redis value. None has an expiry.
var foreignValues = []struct {
	name string
	set  func(ctx context.Context, rdb *redis.Client, key string) error
}{
	{"garbage", func(ctx context.Context, rdb *redis.Client, key string) error {
		return rdb.Set(ctx, key, "\x00not json", 0).Err()
	}},
	{"another version", func(ctx context.Context, rdb *redis.Client, key string) error {
		return rdb.Set(ctx, key, `{"v":2,"tokens":{"access_token":"`+secretAccess+`"}}`, 0).Err()
	}},
	{"a hash", func(ctx context.Context, rdb *redis.Client, key string) error {
		return rdb.HSet(ctx, key, "owner", "someone").Err()
	}},
}

// A pause key that lasts an hour (set by hand, or by another tool) holds a
// Wait no longer than the Limiter's maximum: each sleep is cut to it, the key
// is cut to it in Redis, and that is logged once however often it is met.
func TestLimiterCutsAPauseLongerThanItsMaximum(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	var logs testkit.SyncBuffer
	l := newTestLimiter(t, key, 60, 10, time.Minute, WithLimiterLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.Equal(t, time.Minute, l.maxPause)
	rdb := newTestClient(t)
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, l.keys.pause, "1", time.Hour).Err())

	var mu sync.Mutex
	var slept []time.Duration
	var pttls []time.Duration
	l.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		pttl, err := rdb.PTTL(ctx, l.keys.pause).Result()
		assert.NoError(t, err)
		pttls = append(pttls, pttl)
		if len(slept) == 1 {
			// Another tool sets it again: cut again, not logged again.
			assert.NoError(t, rdb.Set(ctx, l.keys.pause, "1", time.Hour).Err())
		} else {
			assert.NoError(t, rdb.Del(ctx, l.keys.pause).Err()) // the pause has run out
		}
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c, func() bool { return false }
	}
	require.NoError(t, l.Wait(ctx))

	require.Len(t, slept, 2)
	for i, d := range slept {
		assert.LessOrEqual(t, d, l.maxPause+l.yield(0), "sleep %d", i)
		assert.Greater(t, pttls[i], time.Duration(0), "the key is there")
		assert.LessOrEqual(t, pttls[i], l.maxPause, "the key is cut in Redis too")
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "lasts longer than the Limiter's maximum"), logs.String())
}

// Unreadable tokens in Redis do not wedge a client with credentials: it logs
// in once, saves over them (sealed or not), and warns once.
func TestTokenStoreForeignValueIsReplacedByALogin(t *testing.T) {
	t.Parallel()
	for _, fv := range foreignValues {
		for _, sealed := range []bool{false, true} {
			name := fv.name
			if sealed {
				name += ", sealed store"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				srv := atlastest.NewServer()
				t.Cleanup(srv.Close)
				var opts []TokenStoreOption
				if sealed {
					opts = append(opts, WithSealKey("k1", sealKey))
				}
				store := newTestStore(t, testKey(t), opts...)
				rdb := newTestClient(t)
				require.NoError(t, fv.set(ctx, rdb, store.keys.tokens))
				var logs testkit.SyncBuffer
				c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()),
					atlas.WithTokenStore(store), atlas.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
				require.NoError(t, err)
				_, err = c.Auth.Me(ctx)
				require.NoError(t, err)

				got, err := store.Load(ctx)
				require.NoError(t, err, "the login's tokens were saved over the foreign value")
				assert.NotEmpty(t, got.AccessToken)
				assert.Equal(t, 1, countAuth(srv).logins)
				assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
				assert.Contains(t, logs.String(), store.keys.tokens, "the warning names the key")
				assert.NotContains(t, logs.String(), secretAccess)
			})
		}
	}
}

// Without credentials, unreadable tokens fail the call with an error that
// says what is wrong and under which Redis key.
func TestTokenStoreForeignValueWithoutCredentials(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"garbage":         "not tokens this version of atlasredis wrote",
		"another version": "not tokens this version of atlasredis wrote",
		"a hash":          "another kind of Redis value",
	}
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	for _, fv := range foreignValues {
		t.Run(fv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := newTestStore(t, testKey(t))
			require.NoError(t, fv.set(ctx, newTestClient(t), store.keys.tokens))
			c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithTokenStore(store))
			require.NoError(t, err)
			_, err = c.Auth.Me(ctx)
			require.Error(t, err)
			assert.ErrorIs(t, err, atlas.ErrCorruptTokens)
			assert.ErrorIs(t, err, ErrSealed)
			assert.ErrorContains(t, err, want[fv.name])
			assert.ErrorContains(t, err, `Redis key "`+store.keys.tokens+`"`)
			assertNoSecret(t, err)
		})
	}
}

// Tokens sealed under another key are not saved over: the replicas disagree
// on the key, and overwriting would make them take turns.
func TestTokenStoreSealedUnderAnotherKeyIsNotCorrupt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := testKey(t)
	require.NoError(t, newTestStore(t, key, WithSealKey("k1", sealKey)).Save(ctx, testTokens()))
	_, err := newTestStore(t, key, WithSealKey("k2", sealKey)).Load(ctx)
	assert.ErrorIs(t, err, ErrSealed)
	assert.NotErrorIs(t, err, atlas.ErrCorruptTokens)
}

// A lock key without an expiry (no TokenStore writes one) holds the
// renewals no longer than the lock's TTL: the first LockTokens that meets it
// gives it that TTL.
func TestTokenStoreLockWithoutExpiryExpires(t *testing.T) {
	t.Parallel()
	for _, fv := range []struct {
		name string
		set  func(ctx context.Context, rdb *redis.Client, key string) error
	}{
		{"a string", func(ctx context.Context, rdb *redis.Client, key string) error {
			return rdb.Set(ctx, key, "held by hand", 0).Err()
		}},
		{"a hash", func(ctx context.Context, rdb *redis.Client, key string) error {
			return rdb.HSet(ctx, key, "owner", "someone").Err()
		}},
	} {
		t.Run(fv.name, func(t *testing.T) {
			t.Parallel()
			const ttl = 200 * time.Millisecond
			store := newTestStore(t, testKey(t), WithLockTTL(ttl))
			rdb := newTestClient(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			require.NoError(t, fv.set(ctx, rdb, store.keys.lock))
			unlock, err := store.LockTokens(ctx)
			require.NoError(t, err, "the foreign lock expired after the lock's TTL")
			unlock()
			require.NoError(t, store.Save(ctx, testTokens()))
		})
	}
}

// A dedupe key holding a foreign value without an expiry makes its event
// busy for the claim's TTL, not for ever; a foreign value of another kind
// is no error either.
func TestDeduperForeignValueExpiresAfterTheClaimTTL(t *testing.T) {
	t.Parallel()
	for _, fv := range foreignValues {
		t.Run(fv.name, func(t *testing.T) {
			t.Parallel()
			const claimTTL = 200 * time.Millisecond
			ctx := context.Background()
			prefix := testKey(t) + ":"
			rdb := newTestClient(t)
			d := newTestDeduper(t, prefix, time.Hour, WithClaimTTL(claimTTL))
			require.NoError(t, fv.set(ctx, rdb, prefix+"evt_1"))

			st, err := d.Claim(ctx, "evt_1")
			require.NoError(t, err)
			assert.Equal(t, atlas.EventStateBusy, st)
			left, err := rdb.PTTL(ctx, prefix+"evt_1").Result()
			require.NoError(t, err)
			assert.Greater(t, left, time.Duration(0), "the foreign value got an expiry")
			assert.LessOrEqual(t, left, claimTTL)
			require.NoError(t, d.Finish(ctx, "evt_1", false), "a release leaves the foreign value alone")

			waitExpired(t, rdb, prefix+"evt_1")
			st, err = d.Claim(ctx, "evt_1")
			require.NoError(t, err)
			assert.Equal(t, atlas.EventStateNew, st)
		})
	}
}

// foreignBudgets are what another tool or a hand may leave under a
// Limiter's budget key, none with an expiry: the values every key may hold
// (garbage, another version's JSON, a hash), and a theoretical arrival time
// a year ahead, in the script's own epoch, that would refuse every attempt
// for a year.
func foreignBudgets() []struct {
	name string
	set  func(ctx context.Context, rdb *redis.Client, key string) error
} {
	return append(slices.Clone(foreignValues), struct {
		name string
		set  func(ctx context.Context, rdb *redis.Client, key string) error
	}{"a year ahead", func(ctx context.Context, rdb *redis.Client, key string) error {
		const scriptEpoch = 1483228800 // 2017-01-01, redis_rate's
		ahead := time.Now().Add(365*24*time.Hour).Unix() - scriptEpoch
		return rdb.Set(ctx, key, strconv.FormatInt(ahead, 10), 0).Err()
	}})
}

// newForeignBudgetLimiter returns a Limiter on key that logs to the buffer it
// returns, whose budget key set has filled with a foreign value.
func newForeignBudgetLimiter(t *testing.T, key string, set func(context.Context, *redis.Client, string) error) (*Limiter, *testkit.SyncBuffer) {
	t.Helper()
	logs := new(testkit.SyncBuffer)
	l := newTestLimiter(t, key, 60, 10, time.Minute, WithLimiterLogger(slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, set(context.Background(), newTestClient(t), budgetKey(l.keys)))
	return l, logs
}

// A budget key holding what no Limiter writes does not leave the processes
// without a shared budget (the script failing on it, which looked like
// Redis down) or refused for ever: the first Wait deletes it, logs that
// once without the value, and goes; the budget is shared again from there.
func TestLimiterForeignBudgetIsDeleted(t *testing.T) {
	t.Parallel()
	for _, fv := range foreignBudgets() {
		t.Run(fv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			key := testKey(t)
			l, logs := newForeignBudgetLimiter(t, key, fv.set)
			rdb := newTestClient(t)
			l.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
				t.Errorf("Wait sleeps %s: the budget was not healed", d)
				return nil, func() bool { return false } // until wctx ends
			}

			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			require.NoError(t, l.Wait(wctx))
			tat, err := rdb.Get(ctx, budgetKey(l.keys)).Float64()
			require.NoError(t, err, "the key holds the budget's own state again")
			assert.Positive(t, tat)
			ttl, err := rdb.PTTL(ctx, budgetKey(l.keys)).Result()
			require.NoError(t, err)
			assert.Positive(t, ttl, "with the expiry the script gives it")

			other := newTestLimiter(t, key, 60, 10, time.Minute) // another process
			for range 4 {
				require.NoError(t, l.Wait(ctx))
				require.NoError(t, other.Wait(ctx))
			}
			assert.Equal(t, 1, strings.Count(logs.String(), "deleted a rate-limit budget key"), logs.String())
			assert.Contains(t, logs.String(), "key="+key)
			assert.NotContains(t, logs.String(), "does not answer", "Redis answered all along")
			assert.NotContains(t, logs.String(), secretAccess)
		})
	}
}

// Through a client: a call on a Limiter whose budget key another tool
// broke is sent once and answered, and the client's own pacer never stood
// in (it would warn that the Limiter failed).
func TestClientCallsThroughAForeignBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	var clientLogs testkit.SyncBuffer
	key := testKey(t)
	c, l := newLimitedReplica(t, srv, key, 60, 10, time.Minute,
		atlas.WithLogger(slog.New(slog.NewTextHandler(&clientLogs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	require.NoError(t, newTestClient(t).HSet(ctx, budgetKey(l.keys), "owner", "someone").Err())

	co, err := c.Companies.Get(ctx, srv.CompanyID())
	require.NoError(t, err)
	assert.Equal(t, srv.CompanyID(), co.ID)
	assert.Empty(t, clientLogs.String(), "no Limiter failure")
	assert.Len(t, srv.Requests(), 2, "a login and the call, each once")
}

// A 429 observed on a budget key that another tool broke still pauses every
// process and empties the bucket, as it does on a budget of the Limiter's
// own: the key is deleted and the bucket drained, rather than Redis taken
// for down.
func TestLimiterObserveDeletesAForeignBudget(t *testing.T) {
	t.Parallel()
	for _, fv := range foreignBudgets() {
		t.Run(fv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, logs := newForeignBudgetLimiter(t, testKey(t), fv.set)
			rdb := newTestClient(t)

			l.Observe(ctx, atlas.RateObservation{StatusCode: http.StatusTooManyRequests, RetryAfter: 30 * time.Second})
			pause, err := rdb.PTTL(ctx, l.keys.pause).Result()
			require.NoError(t, err)
			assert.Greater(t, pause, 20*time.Second, "every process pauses")
			_, err = rdb.Get(ctx, budgetKey(l.keys)).Float64()
			require.NoError(t, err, "the key holds the budget's own state again")
			res, err := redis_rate.NewLimiter(rdb).Allow(ctx, l.keys.budget, l.limit)
			require.NoError(t, err)
			assert.Zero(t, res.Allowed, "the bucket is empty, as after any 429")
			assert.Equal(t, 1, strings.Count(logs.String(), "deleted a rate-limit budget key"), logs.String())
			assert.NotContains(t, logs.String(), "does not answer")
			require.NoError(t, l.checkDown(), "the Limiter is not taken for down")
		})
	}
}

// A handled mark written by hand without an expiry counts as handled, and
// is kept for the Deduper's ttl, not for ever.
func TestDeduperHandledMarkWithoutExpiryGetsTheTTL(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	ctx := context.Background()
	prefix := testKey(t) + ":"
	rdb := newTestClient(t)
	d := newTestDeduper(t, prefix, ttl)
	require.NoError(t, rdb.Set(ctx, prefix+"evt_1", "handled", 0).Err())

	st, err := d.Claim(ctx, "evt_1")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateDone, st)
	left, err := rdb.PTTL(ctx, prefix+"evt_1").Result()
	require.NoError(t, err)
	assert.Greater(t, left, time.Duration(0), "the mark got an expiry")
	assert.LessOrEqual(t, left, ttl)

	waitExpired(t, rdb, prefix+"evt_1")
	st, err = d.Claim(ctx, "evt_1")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateNew, st, "a delivery after the ttl is handled again, as after a mark of the Deduper's own")
}

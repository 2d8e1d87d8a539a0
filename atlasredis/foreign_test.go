package atlasredis

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pause key that lasts an hour (set by hand, or by another tool) holds a
// Wait no longer than the Limiter's maximum: each sleep is cut to it, the key
// is cut to it in Redis, and that is logged once however often it is met.
func TestLimiterCutsAPauseLongerThanItsMaximum(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	var logs syncBuffer
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

package atlasredis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// newTestCluster starts a one-node Redis Cluster that owns every slot (enough
// for Redis to refuse, with CROSSSLOT, a script or pipeline whose keys are in
// different slots), and returns a ClusterClient of it.
func newTestCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	if backend.kind != "redis-server" {
		t.Skipf("needs redis-server on PATH (the tests run on %s)", backend.kind)
	}
	srv, err := startRedisServer(0, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	require.NoError(t, err)
	t.Cleanup(srv.stop)
	node := newClientAt(t, srv.url())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err())
	// The node takes a moment to see its slots: wait for it to say so.
	for {
		info, err := node.ClusterInfo(ctx).Result()
		require.NoError(t, err)
		if strings.Contains(info, "cluster_state:ok") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the cluster never came up:\n%s", info)
		case <-time.After(20 * time.Millisecond):
		}
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{strings.TrimPrefix(srv.url(), "redis://")},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// On a Redis Cluster, the pipelines and scripts that touch several keys of
// one login work: the keys share a hash tag.
func TestOnRedisCluster(t *testing.T) {
	t.Parallel()
	rdb := newTestCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The cluster does refuse keys of different slots.
	err := rdb.Eval(ctx, "return redis.call('MGET', KEYS[1], KEYS[2])", []string{"atlas:{a}:tokens", "atlas:{b}:lock"}).Err()
	require.ErrorContains(t, err, "CROSSSLOT")

	key := testKey(t)
	l, err := NewLimiter(rdb, key, slowLimit, 3, slowWindow, WithLimiterTimeout(testTimeout))
	require.NoError(t, err)
	require.NoError(t, l.Wait(ctx))
	l.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: time.Minute})
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	assert.ErrorIs(t, l.Wait(short), atlas.ErrRateLimited, "the pause, read in the GCRA call's pipeline")

	s, err := NewTokenStore(rdb, key, WithSealKey("k1", sealKey))
	require.NoError(t, err)
	unlock, err := s.LockTokens(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, testTokens()), "the fenced save reads the lock and writes the tokens")
	unlock()
	got, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, secretAccess, got.AccessToken)

	d := newDeduperOn(t, rdb, key+":events:", time.Hour)
	st, err := d.Claim(ctx, "ev")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateNew, st)
	require.NoError(t, d.Finish(ctx, "ev", true))
	st, err = d.Claim(ctx, "ev")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateDone, st)
}

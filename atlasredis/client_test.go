package atlasredis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// authCounts counts the logins and refreshes atlastest received, and those it
// refused.
type authCounts struct {
	logins, refreshes, refused int
}

func countAuth(srv *atlastest.Server) authCounts {
	var c authCounts
	for _, r := range srv.Requests() {
		switch r.Path {
		case "/auth/login":
			c.logins++
		case "/auth/refresh":
			c.refreshes++
			if r.Status != 200 {
				c.refused++
			}
		}
	}
	return c
}

// newReplicaClient is one replica: an atlas.Client with a TokenStore of its
// own, on a Redis client of its own, sharing key with the other replicas.
func newReplicaClient(t *testing.T, srv *atlastest.Server, key string, storeOpts []TokenStoreOption, opts ...atlas.Option) *atlas.Client {
	t.Helper()
	store, err := NewTokenStore(newTestClient(t), key, storeOpts...)
	require.NoError(t, err)
	opts = append([]atlas.Option{
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithTokenStore(store),
	}, opts...)
	c, err := atlas.NewClient(opts...)
	require.NoError(t, err)
	return c
}

// Replicas sharing a TokenStore log in once in all, and refresh once per
// token lifetime, with no refresh refused and no call failed.
func TestReplicasShareOneLogin(t *testing.T) {
	t.Parallel()
	const lifetime = 10 * time.Minute
	srv := atlastest.NewServer(
		atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))),
		atlastest.WithTokenLifetime(lifetime),
	)
	t.Cleanup(srv.Close)
	key := testKey(t)
	clients := make([]*atlas.Client, 4)
	for i := range clients {
		clients[i] = newReplicaClient(t, srv, key, []TokenStoreOption{WithSealKey("k1", sealKey)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const rounds = 5
	for round := 0; round <= rounds; round++ {
		if round > 0 {
			srv.Advance(lifetime + time.Second) // every access token has expired
		}
		var wg sync.WaitGroup
		for _, c := range clients {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.Auth.Me(ctx)
					assert.NoError(t, err, "round %d", round)
				}()
			}
		}
		wg.Wait()
	}
	got := countAuth(srv)
	assert.Equal(t, authCounts{logins: 1, refreshes: rounds}, got, "one login in all, one refresh per lifetime")
}

// A replica that died holding the renewal lock delays the others by the
// lock's TTL at most: their calls go on.
func TestReplicasGoOnAfterALockHolderDies(t *testing.T) {
	t.Parallel()
	const lifetime = 10 * time.Minute
	const ttl = 500 * time.Millisecond
	srv := atlastest.NewServer(
		atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))),
		atlastest.WithTokenLifetime(lifetime),
	)
	t.Cleanup(srv.Close)
	key := testKey(t)
	clients := make([]*atlas.Client, 3)
	for i := range clients {
		clients[i] = newReplicaClient(t, srv, key, []TokenStoreOption{WithLockTTL(ttl)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range clients {
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)
	}

	// The dead replica took the lock and will never release it.
	_, err := newTestStore(t, key, WithLockTTL(ttl)).LockTokens(ctx)
	require.NoError(t, err)
	locked := time.Now()
	srv.Advance(lifetime + time.Second)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Auth.Me(ctx)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, time.Since(locked), ttl-50*time.Millisecond, "the renewal waited for the dead holder's lock")
	assert.Equal(t, authCounts{logins: 1, refreshes: 1}, countAuth(srv))
}

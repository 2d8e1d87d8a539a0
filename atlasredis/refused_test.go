package atlasredis

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
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

// refusedPassword is the password of the Redis that refusingRedis starts.
const refusedPassword = "redis-admin-password"

// refusingRedis starts a redis-server of the test's own that requires a
// password and has a user, "idle", that may log in but run no command. It
// returns the server's address and a client that logs in as the admin.
func refusingRedis(t *testing.T) (addr string, admin *redis.Client) {
	t.Helper()
	if backend.kind != "redis-server" {
		t.Skipf("needs redis-server on PATH (the tests run on %s)", backend.kind)
	}
	srv, err := startRedisServer(0, "--requirepass", refusedPassword)
	require.NoError(t, err)
	t.Cleanup(srv.stop)
	addr = "127.0.0.1:" + strconv.Itoa(srv.port)
	admin = redis.NewClient(&redis.Options{Addr: addr, Password: refusedPassword, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(context.Background(), "ACL", "SETUSER", "idle", "on", ">idle-password", "-@all", "~*").Err())
	return addr, admin
}

// refusedClients are clients that Redis refuses: at the handshake (a wrong
// password, none) or at every command (a user without rights).
func refusedClients(t *testing.T, addr string) map[string]*redis.Client {
	t.Helper()
	out := map[string]*redis.Client{}
	for name, o := range map[string]*redis.Options{
		"wrong password":      {Password: "not-the-password"},
		"no password":         {},
		"user without rights": {Username: "idle", Password: "idle-password"},
	} {
		o.Addr, o.ContextTimeoutEnabled = addr, true
		rdb := redis.NewClient(o)
		t.Cleanup(func() { _ = rdb.Close() })
		out[name] = rdb
	}
	return out
}

// A Redis that refuses the client, at the handshake or per command, gives
// every call of the Limiter, the TokenStore and the Deduper an error, never a
// panic; the Limiter's Observe, which has no error to return, logs it.
func TestEveryCallFailsWhenRedisRefusesTheClient(t *testing.T) {
	t.Parallel()
	addr, _ := refusingRedis(t)
	for name, rdb := range refusedClients(t, addr) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background() // a panic would not be stopped by a deadline either
			var logs testkit.SyncBuffer
			l, err := NewLimiter(rdb, "acme", 60, 10, time.Minute, WithLimiterLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			require.NoError(t, err)
			err = l.Wait(ctx)
			assert.True(t, isUnavailable(err), "Wait: %v", err)
			l.answered(ctx) // so that Observe asks Redis again, and logs again
			l.Observe(ctx, atlas.RateObservation{StatusCode: 429, RetryAfter: time.Second})
			l.answered(ctx)
			l.Observe(ctx, atlas.RateObservation{RateLimit: atlas.RateLimit{Limit: 60, Remaining: 0, Reset: time.Now().Add(time.Second)}})
			assert.Equal(t, 3, strings.Count(logs.String(), "Redis does not answer"), "Wait and both Observes log: %s", logs.String())

			s, err := NewTokenStore(rdb, "acme")
			require.NoError(t, err)
			tokens, err := s.Load(ctx)
			assert.Error(t, err, "Load")
			assert.Nil(t, tokens)
			unlock, err := s.LockTokens(ctx)
			assert.Error(t, err, "LockTokens")
			assert.Nil(t, unlock)
			assert.Error(t, s.Save(ctx, testTokens()), "Save")

			d := newDeduperOn(t, rdb, "acme:events:", 0)
			_, err = d.Claim(ctx, "evt_1")
			assert.Error(t, err, "Claim")
			assert.Error(t, d.Finish(ctx, "evt_1", true), "Finish")
			assert.NotContains(t, logs.String(), refusedPassword)
		})
	}
}

// A client whose Limiter's Redis refuses it keeps serving: it paces itself.
func TestClientServesWhileRedisRefusesTheLimiter(t *testing.T) {
	t.Parallel()
	addr, _ := refusingRedis(t)
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	for name, rdb := range refusedClients(t, addr) {
		t.Run(name, func(t *testing.T) {
			l, err := NewLimiter(rdb, "acme", 60, 10, time.Minute)
			require.NoError(t, err)
			c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()),
				atlas.WithLimiter(l), atlas.WithTier(atlas.TierStandard))
			require.NoError(t, err)
			_, err = c.Auth.Me(context.Background())
			require.NoError(t, err)
		})
	}
}

// A reply redis_rate does not expect is an error, not a panic.
func TestGuardedTurnsAPanicIntoAnError(t *testing.T) {
	t.Parallel()
	res, err := guarded(func() (*redis_rate.Result, error) { panic("interface conversion") })
	assert.Nil(t, res)
	assert.ErrorContains(t, err, "unexpected answer from Redis")
}

// Values not made by the constructors return errors, never panic.
func TestZeroValuesReturnErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, l := range []*Limiter{nil, new(Limiter)} {
		assert.ErrorContains(t, l.Wait(ctx), "not made by NewLimiter")
		l.Observe(ctx, atlas.RateObservation{StatusCode: 429})
	}
	for _, s := range []*TokenStore{nil, new(TokenStore)} {
		_, err := s.Load(ctx)
		assert.ErrorContains(t, err, "not made by NewTokenStore")
		assert.ErrorContains(t, s.Save(ctx, testTokens()), "not made by NewTokenStore")
		_, err = s.LockTokens(ctx)
		assert.ErrorContains(t, err, "not made by NewTokenStore")
	}
}

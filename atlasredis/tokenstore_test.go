package atlasredis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// Tokens no error or stored value may show.
const (
	secretAccess  = "access-tok-7f3a9c1e5b"
	secretRefresh = "refresh-tok-2d8e4f6a0c"
)

var sealKey = bytes.Repeat([]byte{0x42}, 32)

func testTokens() *atlas.Tokens {
	return &atlas.Tokens{AccessToken: secretAccess, RefreshToken: secretRefresh, Expiry: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}
}

func newTestStore(t testing.TB, key string, opts ...TokenStoreOption) *TokenStore {
	t.Helper()
	s, err := NewTokenStore(newTestClient(t), key, opts...)
	require.NoError(t, err)
	return s
}

// assertNoSecret checks that err says nothing of the tokens or the seal key.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range []string{secretAccess, secretRefresh, string(sealKey), "QkJCQkJC"} {
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestNewTokenStoreRefusesBadInput(t *testing.T) {
	t.Parallel()
	rdb := newTestClient(t)
	tests := []struct {
		name string
		key  string
		opts []TokenStoreOption
		want string
	}{
		{"empty key", "", nil, "empty"},
		{"key with a brace", "{acme", nil, "'{' or '}'"},
		{"zero lock TTL", "k", []TokenStoreOption{WithLockTTL(0)}, "not positive"},
		{"lock TTL under a millisecond", "k", []TokenStoreOption{WithLockTTL(time.Microsecond)}, "millisecond"},
		{"empty key id", "k", []TokenStoreOption{WithSealKey("", sealKey)}, "empty key id"},
		{"short seal key", "k", []TokenStoreOption{WithSealKey("k1", sealKey[:15])}, "15 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewTokenStore(rdb, tt.key, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, atlas.ErrInvalidConfig)
			assertNoSecret(t, err)
		})
	}
	_, err := NewTokenStore(nil, "k")
	assert.ErrorContains(t, err, "nil Redis client")
	assert.ErrorIs(t, err, atlas.ErrInvalidConfig)
	s, err := NewTokenStore(rdb, "k", nil, WithLockTTL(time.Second))
	require.NoError(t, err, "a nil option is skipped")
	assert.Equal(t, time.Second, s.ttl)
	assert.Equal(t, 15*time.Second, DefaultLockTTL)
}

func TestTokenStoreSavesAndLoads(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]TokenStoreOption{
		"plain":  nil,
		"sealed": {WithSealKey("k1", sealKey)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := testKey(t)
			s := newTestStore(t, key, opts...)
			ctx := context.Background()
			got, err := s.Load(ctx)
			require.NoError(t, err)
			assert.Nil(t, got, "nothing stored yet")

			require.NoError(t, s.Save(ctx, testTokens()))
			other := newTestStore(t, key, opts...) // another process
			got, err = other.Load(ctx)
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, secretAccess, got.AccessToken)
			assert.Equal(t, secretRefresh, got.RefreshToken)
			assert.True(t, testTokens().Expiry.Equal(got.Expiry))

			require.NoError(t, other.Save(ctx, nil))
			got, err = s.Load(ctx)
			require.NoError(t, err)
			assert.Nil(t, got, "a nil Save deletes")
		})
	}
}

// Sealed, the tokens are not readable in Redis, and each Save has its own
// nonce.
func TestTokenStoreSealsAtRest(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	s := newTestStore(t, key, WithSealKey("k1", sealKey))
	ctx := context.Background()
	rdb := newTestClient(t)

	require.NoError(t, s.Save(ctx, testTokens()))
	first, err := rdb.Get(ctx, s.keys.tokens).Bytes()
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, testTokens()))
	second, err := rdb.Get(ctx, s.keys.tokens).Bytes()
	require.NoError(t, err)

	for _, raw := range [][]byte{first, second} {
		assert.NotContains(t, string(raw), secretAccess)
		assert.NotContains(t, string(raw), secretRefresh)
		assert.NotContains(t, string(raw), "access_token")
		var rec storedTokens
		require.NoError(t, json.Unmarshal(raw, &rec))
		assert.Equal(t, "k1", rec.KeyID)
		assert.Nil(t, rec.Tokens)
	}
	assert.NotEqual(t, first, second, "a fresh nonce per Save")

	plain := newTestStore(t, testKey(t))
	require.NoError(t, plain.Save(ctx, testTokens()))
	raw, err := rdb.Get(ctx, plain.keys.tokens).Bytes()
	require.NoError(t, err)
	assert.Contains(t, string(raw), secretAccess, "without a key the tokens are JSON, as documented")
}

// Tokens that cannot be opened give ErrSealed with a reason, never the tokens.
func TestTokenStoreRefusesWhatItCannotOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := newTestClient(t)
	otherKey := bytes.Repeat([]byte{0x17}, 32)

	tests := []struct {
		name   string
		writer []TokenStoreOption
		alter  func(t *testing.T, s *TokenStore) // after the writer saved, before the reader loads
		reader []TokenStoreOption
		want   string
	}{
		{"another key under the same id", []TokenStoreOption{WithSealKey("k1", sealKey)}, nil,
			[]TokenStoreOption{WithSealKey("k1", otherKey)}, `key "k1" does not open them`},
		{"another key id", []TokenStoreOption{WithSealKey("k1", sealKey)}, nil,
			[]TokenStoreOption{WithSealKey("k2", sealKey)}, `sealed with key "k1", and this store has key "k2"`},
		{"sealed, read without a key", []TokenStoreOption{WithSealKey("k1", sealKey)}, nil,
			nil, "this store has no key"},
		{"plain, read with a key", nil, nil,
			[]TokenStoreOption{WithSealKey("k1", sealKey)}, "not sealed"},
		{"altered", []TokenStoreOption{WithSealKey("k1", sealKey)}, func(t *testing.T, s *TokenStore) {
			raw, err := rdb.Get(ctx, s.keys.tokens).Bytes()
			require.NoError(t, err)
			var rec storedTokens
			require.NoError(t, json.Unmarshal(raw, &rec))
			rec.Sealed[len(rec.Sealed)-1] ^= 1
			raw, err = json.Marshal(rec)
			require.NoError(t, err)
			require.NoError(t, rdb.Set(ctx, s.keys.tokens, raw, 0).Err())
		}, []TokenStoreOption{WithSealKey("k1", sealKey)}, "altered"},
		{"truncated", []TokenStoreOption{WithSealKey("k1", sealKey)}, func(t *testing.T, s *TokenStore) {
			require.NoError(t, rdb.Set(ctx, s.keys.tokens, `{"v":1,"kid":"k1","sealed":"AAAA"}`, 0).Err())
		}, []TokenStoreOption{WithSealKey("k1", sealKey)}, "truncated"},
		{"not JSON", nil, func(t *testing.T, s *TokenStore) {
			require.NoError(t, rdb.Set(ctx, s.keys.tokens, "x"+secretAccess, 0).Err())
		}, nil, "not tokens"},
		{"another version", nil, func(t *testing.T, s *TokenStore) {
			require.NoError(t, rdb.Set(ctx, s.keys.tokens, `{"v":2,"tokens":{"access_token":"`+secretAccess+`"}}`, 0).Err())
		}, nil, "not tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := testKey(t)
			w := newTestStore(t, key, tt.writer...)
			require.NoError(t, w.Save(ctx, testTokens()))
			if tt.alter != nil {
				tt.alter(t, w)
			}
			got, err := newTestStore(t, key, tt.reader...).Load(ctx)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, ErrSealed)
			assert.Contains(t, err.Error(), tt.want)
			assertNoSecret(t, err)
		})
	}
}

// Sealed tokens copied to another login's key do not open there: the Redis
// key is bound to them.
func TestTokenStoreSealedTokensAreBoundToTheirKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := newTestClient(t)
	a := newTestStore(t, testKey(t), WithSealKey("k1", sealKey))
	b := newTestStore(t, testKey(t)+"b", WithSealKey("k1", sealKey))
	require.NoError(t, a.Save(ctx, testTokens()))
	raw, err := rdb.Get(ctx, a.keys.tokens).Bytes()
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, b.keys.tokens, raw, 0).Err())
	_, err = b.Load(ctx)
	assert.ErrorIs(t, err, ErrSealed)
}

// One holder at a time, across processes; the next one gets the lock as soon
// as it is released.
func TestTokenStoreLockExcludes(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	a, b := newTestStore(t, key), newTestStore(t, key)
	ctx := context.Background()
	unlockA, err := a.LockTokens(ctx)
	require.NoError(t, err)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = b.LockTokens(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan error, 1)
	var unlockB func()
	go func() {
		var err error
		unlockB, err = b.LockTokens(ctx)
		got <- err
	}()
	unlockA()
	require.NoError(t, <-got)
	unlockA() // a second unlock leaves b's lock alone
	_, err = newTestStore(t, key).LockTokens(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "b still holds it")
	unlockB()
	unlock, err := newTestStore(t, key).LockTokens(ctx)
	require.NoError(t, err)
	unlock()
}

// A holder that dies (never unlocks) blocks the others only until its lock
// expires.
func TestTokenStoreLockOfADeadHolderExpires(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	const ttl = 300 * time.Millisecond
	dead := newTestStore(t, key, WithLockTTL(ttl))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := dead.LockTokens(ctx)
	require.NoError(t, err)
	locked := time.Now()

	unlock, err := newTestStore(t, key, WithLockTTL(ttl)).LockTokens(ctx)
	require.NoError(t, err)
	defer unlock()
	assert.GreaterOrEqual(t, time.Since(locked), ttl-50*time.Millisecond, "not before the dead holder's lock expired")
}

// A holder whose lock expired cannot overwrite what the next holder saved.
func TestTokenStoreFencesAHolderThatLostTheLock(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	const ttl = 200 * time.Millisecond
	slow := newTestStore(t, key, WithLockTTL(ttl))
	next := newTestStore(t, key, WithLockTTL(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	unlockSlow, err := slow.LockTokens(ctx)
	require.NoError(t, err)
	unlockNext, err := next.LockTokens(ctx) // waits for the slow holder's lock to expire
	require.NoError(t, err)
	newer := &atlas.Tokens{AccessToken: "newer", RefreshToken: "newer-refresh"}
	require.NoError(t, next.Save(ctx, newer))

	err = slow.Save(ctx, testTokens())
	assert.ErrorIs(t, err, ErrLockLost)
	assertNoSecret(t, err)
	err = slow.Save(ctx, nil)
	assert.ErrorIs(t, err, ErrLockLost, "nor delete them")
	unlockSlow()

	got, err := newTestStore(t, key).Load(ctx)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "newer", got.AccessToken)

	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	_, err = newTestStore(t, key).LockTokens(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the slow holder's unlock left the next holder's lock alone")
	unlockNext()
}

// Without the lock, Save saves when nobody holds it, and never over a
// renewal in progress.
func TestTokenStoreSaveWithoutTheLock(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	ctx := context.Background()
	s := newTestStore(t, key)
	require.NoError(t, s.Save(ctx, testTokens()), "nobody holds the lock")

	holder := newTestStore(t, key)
	unlock, err := holder.LockTokens(ctx)
	require.NoError(t, err)
	err = s.Save(ctx, &atlas.Tokens{AccessToken: "stale"})
	assert.ErrorIs(t, err, ErrLocked)
	require.NoError(t, holder.Save(ctx, &atlas.Tokens{AccessToken: "renewed"}))
	unlock()

	got, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "renewed", got.AccessToken)
}

// Callers of one store in one process hold the lock one at a time.
func TestTokenStoreLocalCallersTakeTurns(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, testKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	holding, most := 0, 0
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.LockTokens(ctx)
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			holding++
			most = max(most, holding)
			mu.Unlock()
			assert.NoError(t, s.Save(ctx, &atlas.Tokens{AccessToken: fmt.Sprintf("access-%d", i)}), "the holder's save")
			mu.Lock()
			holding--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, most)
}

func TestTokenStoreLockEndsWithItsContext(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	holder := newTestStore(t, key)
	ctx := context.Background()
	unlock, err := holder.LockTokens(ctx)
	require.NoError(t, err)
	defer unlock()

	s := newTestStore(t, key)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.LockTokens(canceled)
	assert.ErrorIs(t, err, context.Canceled)

	// Another caller of the holder's own store waits in the process, and
	// also gives up with its context.
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, err = holder.LockTokens(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestTokenStoreRefusesNilContext(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, testKey(t))
	var nilCtx context.Context // a caller passing nil: the input under test
	_, err := s.Load(nilCtx)
	assert.ErrorContains(t, err, "nil context")
	err = s.Save(nilCtx, testTokens())
	assert.ErrorContains(t, err, "nil context")
	_, err = s.LockTokens(nilCtx)
	assert.ErrorContains(t, err, "nil context")
}

// With Redis down, every method returns an error (the client keeps its
// behaviour for a store that fails), and none shows a token.
func TestTokenStoreReturnsRedisErrors(t *testing.T) {
	t.Parallel()
	p := newProxy(t)
	s, err := NewTokenStore(newClientAt(t, p.url(t)), testKey(t), WithSealKey("k1", sealKey))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Save(ctx, testTokens()))

	p.set(proxyCut)
	_, err = s.Load(ctx)
	assert.Error(t, err)
	assertNoSecret(t, err)
	err = s.Save(ctx, testTokens())
	assert.Error(t, err)
	assertNoSecret(t, err)
	_, err = s.LockTokens(ctx)
	assert.Error(t, err)
	assert.NoError(t, ctx.Err())

	p.set(proxyOpen)
	unlock, err := s.LockTokens(ctx)
	require.NoError(t, err, "a failed LockTokens left the store usable")
	unlock()
	got, err := s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, secretAccess, got.AccessToken)
}

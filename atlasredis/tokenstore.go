package atlasredis

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	atlas "github.com/atlas-accounting/atlas-go"
)

// DefaultLockTTL is how long a TokenStore's renewal lock lasts unless
// released: long enough for a refresh or a login with its retries, short
// enough that a holder that died blocks the others only briefly.
const DefaultLockTTL = 15 * time.Second

// How long LockTokens waits between two tries for a lock another holder has:
// doubling from the first to the last, and never past the lock's expiry.
const (
	lockPollFirst = 5 * time.Millisecond
	lockPollLast  = 200 * time.Millisecond
)

// TokenStore keeps the tokens of one Atlas login in Redis, for every process
// that uses that login: it is an atlas.TokenStore and an atlas.TokenLocker
// (set it with atlas.WithTokenStore), so that the processes renew the tokens
// one at a time and use the ones the last renewal saved.
//
// The renewal lock is a Redis key with a random value per holder, set only if
// absent and expiring after the lock's TTL (see WithLockTTL): a holder that
// dies blocks the others no longer than that. A lock key without an expiry,
// which no TokenStore writes, is given the lock's TTL by the first
// LockTokens that meets it. A Save made while this store
// holds the lock is fenced: a Lua script saves only when the lock is still
// this holder's, and otherwise returns ErrLockLost, so that a holder whose
// lock expired mid-renewal cannot overwrite the tokens of the holder that
// took it over. A Save made without the lock saves only when no other holder
// has it (else ErrLocked), so that it cannot overwrite the tokens a renewal
// in progress is about to save; the client never saves without the lock.
//
// Within one process, the store lets one caller hold the lock at a time, and
// a Save it makes while a caller holds the lock counts as that holder's: the
// client saves only while it holds the lock, so clients of one process may
// share a TokenStore or each have their own.
//
// WithSealKey seals the tokens at rest with AES-GCM. Errors never contain a
// token. A TokenStore is safe for concurrent use.
type TokenStore struct {
	rdb  redis.UniversalClient
	key  string
	keys accountKeys
	ttl  time.Duration

	aead  *sealer // nil: tokens are stored as JSON
	keyID string

	// local is a semaphore of one: the caller of this process that holds, or
	// is taking, the Redis lock.
	local chan struct{}

	mu     sync.Mutex
	holder string // the Redis lock's value while a caller of this store holds it
}

var (
	_ atlas.TokenStore  = (*TokenStore)(nil)
	_ atlas.TokenLocker = (*TokenStore)(nil)
)

// TokenStoreOption configures a TokenStore.
type TokenStoreOption func(*TokenStore) error

// WithLockTTL sets how long the renewal lock lasts unless released (default
// DefaultLockTTL). It must be longer than a refresh or login takes, with its
// retries: a holder slower than that loses the lock, and its tokens are not
// saved (see TokenStore). d must be positive.
func WithLockTTL(d time.Duration) TokenStoreOption {
	return func(s *TokenStore) error {
		if d <= 0 {
			return fmt.Errorf("lock TTL %s is not positive", d)
		}
		if d < time.Millisecond {
			return fmt.Errorf("lock TTL %s is shorter than a millisecond", d)
		}
		s.ttl = d
		return nil
	}
}

// WithSealKey makes the store seal the tokens with AES-GCM under key (16, 24
// or 32 bytes: AES-128, -192 or -256) before they reach Redis, with a random
// nonce per Save. keyID names the key (it is stored beside the sealed tokens,
// in the clear, and must not be empty); the Redis key and keyID are bound to
// the sealed tokens as additional data, so that sealed tokens copied to
// another key do not open. Load returns an error matching ErrSealed for
// tokens sealed under another key id or key, altered, or not sealed at all.
// The key itself never appears in an error.
func WithSealKey(keyID string, key []byte) TokenStoreOption {
	return func(s *TokenStore) error {
		if keyID == "" {
			return errors.New("WithSealKey: empty key id")
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return fmt.Errorf("WithSealKey: a key of %d bytes; AES needs 16, 24 or 32", len(key))
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("WithSealKey: %w", err)
		}
		s.aead, s.keyID = &sealer{aead}, keyID
		return nil
	}
}

// NewTokenStore returns a TokenStore for the login named key (see the package
// documentation for keys). It fails when rdb is nil, key is not valid or an
// option is, with an error matching atlas.ErrInvalidConfig; it does not
// contact Redis.
func NewTokenStore(rdb redis.UniversalClient, key string, opts ...TokenStoreOption) (*TokenStore, error) {
	if rdb == nil {
		return nil, invalidConfig("NewTokenStore: nil Redis client")
	}
	keys, err := newAccountKeys(key)
	if err != nil {
		return nil, invalidConfig("NewTokenStore: %v", err)
	}
	s := &TokenStore{rdb: rdb, key: key, keys: keys, ttl: DefaultLockTTL, local: make(chan struct{}, 1)}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(s); err != nil {
			return nil, invalidConfig("NewTokenStore: %v", err)
		}
	}
	return s, nil
}

// Load returns the stored tokens, or nil and no error when there are none.
// It fails when Redis does, and with an error matching ErrSealed when the
// stored tokens cannot be opened (see WithSealKey).
//
// A value that is not tokens any TokenStore of this version writes (garbage,
// another format version, another kind of Redis value) gives an error that
// also matches atlas.ErrCorruptTokens and names the Redis key: a client with
// credentials then logs in and saves over it. Tokens sealed under another
// key, or not sealed when the store expects them to be (or the other way
// round), are not healed that way: replicas configured differently would
// otherwise take turns logging in and overwriting each other's tokens.
func (s *TokenStore) Load(ctx context.Context) (*atlas.Tokens, error) {
	if ctx == nil {
		return nil, errors.New("atlasredis: TokenStore.Load: nil context")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	raw, err := s.rdb.Get(ctx, s.keys.tokens).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		err = &corruptError{msg: "the key holds another kind of Redis value than the string the store writes"}
	} else if err != nil {
		return nil, fmt.Errorf("atlasredis: load tokens %q: %w", s.key, err)
	} else {
		var t *atlas.Tokens
		if t, err = s.decode(raw); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("atlasredis: load tokens %q from Redis key %q: %w", s.key, s.keys.tokens, err)
}

// corruptError is a stored value that is not tokens this version writes. It
// matches ErrSealed, as it always has, and atlas.ErrCorruptTokens, so that a
// client with credentials saves over it.
type corruptError struct {
	msg string
}

func (e *corruptError) Error() string { return ErrSealed.Error() + ": " + e.msg }

// Unwrap lets errors.Is find ErrSealed and atlas.ErrCorruptTokens.
func (e *corruptError) Unwrap() []error { return []error{ErrSealed, atlas.ErrCorruptTokens} }

// Save stores t, replacing what was stored; a nil t deletes the tokens. Made
// while this store holds the renewal lock, it saves only if the lock is
// still this holder's (else ErrLockLost); made without the lock, only if no
// other holder has it (else ErrLocked). See TokenStore.
func (s *TokenStore) Save(ctx context.Context, t *atlas.Tokens) error {
	if ctx == nil {
		return errors.New("atlasredis: TokenStore.Save: nil context")
	}
	if err := s.check(); err != nil {
		return err
	}
	var value []byte
	if t != nil {
		var err error
		if value, err = s.encode(t); err != nil {
			return fmt.Errorf("atlasredis: save tokens %q: %w", s.key, err)
		}
	}
	n, err := saveScript.Run(ctx, s.rdb, []string{s.keys.tokens, s.keys.lock}, s.heldValue(), value, t != nil).Int()
	if err != nil {
		return fmt.Errorf("atlasredis: save tokens %q: %w", s.key, err)
	}
	switch n {
	case saveDone:
		return nil
	case saveLost:
		return fmt.Errorf("atlasredis: save tokens %q: %w: it expired before the save, and the tokens were not saved", s.key, ErrLockLost)
	case saveLocked:
		return fmt.Errorf("atlasredis: save tokens %q: %w: the tokens were not saved", s.key, ErrLocked)
	}
	return fmt.Errorf("atlasredis: save tokens %q: unexpected answer %d from Redis", s.key, n)
}

// The results of saveScript.
const (
	saveLost   = 0
	saveDone   = 1
	saveLocked = 2
)

// saveScript saves ARGV[2] at KEYS[1] (or deletes KEYS[1] when ARGV[3] is
// false) when the lock at KEYS[2] is ARGV[1], or, with an empty ARGV[1],
// when nobody has the lock.
var saveScript = redis.NewScript(`
local lock = redis.call('GET', KEYS[2])
if ARGV[1] ~= '' then
  if lock ~= ARGV[1] then return 0 end
elseif lock then
  return 2
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
return 1
`)

// noExpiry is what go-redis's PTTL gives for a key without an expiry.
const noExpiry = time.Duration(-1)

// expireScript gives KEYS[1] an expiry of ARGV[1] milliseconds when it has
// none.
var expireScript = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`)

// releaseScript deletes the lock at KEYS[1] if it is still ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// LockTokens blocks until the caller holds the renewal lock, or ctx ends (its
// error is then wrapped). It tries again and again, with a short backoff that
// never outlasts the lock's expiry, so a lock whose holder died is taken as
// soon as it expires. The lock expires after the lock's TTL unless unlock
// releases it first; unlock may be called more than once, and after the lock
// has expired (it then leaves the new holder's lock alone).
func (s *TokenStore) LockTokens(ctx context.Context) (unlock func(), err error) {
	if ctx == nil {
		return nil, errors.New("atlasredis: TokenStore.LockTokens: nil context")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	select {
	case s.local <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("atlasredis: lock tokens %q: %w", s.key, ctx.Err())
	}
	value, err := newHolderValue()
	if err != nil {
		<-s.local
		return nil, fmt.Errorf("atlasredis: lock tokens %q: %w", s.key, err)
	}
	wait := lockPollFirst
	for {
		var set *redis.BoolCmd
		var left *redis.DurationCmd
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			set = pipe.SetNX(ctx, s.keys.lock, value, s.ttl)
			left = pipe.PTTL(ctx, s.keys.lock)
			return nil
		})
		if err == nil && set.Val() {
			s.setHeld(value)
			return s.unlocker(value), nil
		}
		if err != nil {
			<-s.local
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
			}
			return nil, fmt.Errorf("atlasredis: lock tokens %q: %w", s.key, err)
		}
		if left.Val() == noExpiry {
			// Not a lock of any TokenStore, which always sets one with an
			// expiry: it gets the lock's TTL, so that it cannot block the
			// renewals for ever.
			if err := expireScript.Run(ctx, s.rdb, []string{s.keys.lock}, millis(s.ttl)).Err(); err != nil {
				<-s.local
				if cerr := ctx.Err(); cerr != nil {
					err = cerr
				}
				return nil, fmt.Errorf("atlasredis: lock tokens %q: %w", s.key, err)
			}
		}
		d := wait/2 + rand.N(wait/2+1) // jitter, so that waiters do not try in step
		if expiry := left.Val(); expiry > 0 && expiry < d {
			d = expiry
		}
		wait = min(wait*2, lockPollLast)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			<-s.local
			return nil, fmt.Errorf("atlasredis: lock tokens %q: %w", s.key, ctx.Err())
		case <-t.C:
		}
	}
}

// check refuses a nil TokenStore or one not made by NewTokenStore.
func (s *TokenStore) check() error {
	if s == nil || s.rdb == nil {
		return errors.New("atlasredis: a TokenStore not made by NewTokenStore")
	}
	return nil
}

// unlocker returns the unlock function of the lock held with value.
func (s *TokenStore) unlocker(value string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.setHeld("")
			// Released in Redis even if the caller's context has ended; when
			// Redis cannot be reached, the lock expires by itself.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = releaseScript.Run(ctx, s.rdb, []string{s.keys.lock}, value).Err()
			<-s.local
		})
	}
}

// heldValue and setHeld read and write the lock value this store holds.
func (s *TokenStore) heldValue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holder
}

func (s *TokenStore) setHeld(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holder = v
}

// newHolderValue returns a random lock value, unique to one holding.
func newHolderValue() (string, error) {
	var b [16]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// storedTokens is what the store writes at its tokens key: the tokens as
// JSON, or sealed.
type storedTokens struct {
	Version int           `json:"v"`
	Tokens  *atlas.Tokens `json:"tokens,omitempty"`
	KeyID   string        `json:"kid,omitempty"`
	Sealed  []byte        `json:"sealed,omitempty"` // nonce, then AES-GCM of the tokens' JSON
}

const storedVersion = 1

func (s *TokenStore) encode(t *atlas.Tokens) ([]byte, error) {
	rec := storedTokens{Version: storedVersion}
	if s.aead == nil {
		rec.Tokens = t
		return json.Marshal(rec)
	}
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, errors.New("cannot encode the tokens")
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := cryptorand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal the tokens: %w", err)
	}
	rec.KeyID = s.keyID
	rec.Sealed = s.aead.Seal(nonce, nonce, plain, s.additionalData(s.keyID))
	return json.Marshal(rec)
}

func (s *TokenStore) decode(raw []byte) (*atlas.Tokens, error) {
	var rec storedTokens
	// The JSON error is not wrapped: it may quote part of the value.
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Version != storedVersion {
		return nil, &corruptError{msg: "the stored value is not tokens this version of atlasredis wrote"}
	}
	switch {
	case s.aead == nil && rec.Sealed != nil:
		return nil, fmt.Errorf("%w: they are sealed with key %q, and this store has no key (WithSealKey)", ErrSealed, rec.KeyID)
	case s.aead != nil && rec.Sealed == nil:
		return nil, fmt.Errorf("%w: they are not sealed, and this store expects them sealed with key %q", ErrSealed, s.keyID)
	case s.aead == nil:
		if rec.Tokens == nil {
			return nil, &corruptError{msg: "the stored value holds no tokens"}
		}
		return rec.Tokens, nil
	case rec.KeyID != s.keyID:
		return nil, fmt.Errorf("%w: they are sealed with key %q, and this store has key %q", ErrSealed, rec.KeyID, s.keyID)
	}
	n := s.aead.NonceSize()
	if len(rec.Sealed) < n {
		return nil, &corruptError{msg: "the sealed tokens are truncated"}
	}
	plain, err := s.aead.Open(nil, rec.Sealed[:n], rec.Sealed[n:], s.additionalData(rec.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: key %q does not open them: another key has that id, or they were altered", ErrSealed, s.keyID)
	}
	var t atlas.Tokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, fmt.Errorf("%w: the sealed value holds no tokens", ErrSealed)
	}
	return &t, nil
}

// additionalData binds sealed tokens to the Redis key they are stored at and
// to the key id.
func (s *TokenStore) additionalData(keyID string) []byte {
	return []byte("atlasredis tokens v1\x00" + s.keys.tokens + "\x00" + keyID)
}

package atlas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Tokens is an access/refresh token pair. It prints and logs with the tokens
// hidden: its Format method hides them under every fmt verb (%v, %+v, %#v,
// %s, %q, %x, ...), for a Tokens and a *Tokens alike, and LogValue hides them
// from log/slog.
//
// Its JSON encoding carries the tokens: a TokenStore needs it to store them.
// So json.Marshal of a Tokens, or of a value holding one, shows them, and so
// does slog's JSON handler for a Tokens inside a map, slice or struct logged
// as one attribute (slog calls LogValue on an attribute's own value only, and
// encodes the rest with encoding/json). Log a Tokens as an attribute of its
// own, never inside another value.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// Expiry is when the access token expires; zero means unknown (the token
	// is used until the API refuses it).
	Expiry time.Time `json:"expiry,omitempty"`
}

// String describes the tokens without revealing them.
func (t Tokens) String() string {
	exp := "unknown"
	if !t.Expiry.IsZero() {
		exp = t.Expiry.Format(time.RFC3339)
	}
	return fmt.Sprintf("atlas.Tokens{access: %s, refresh: %s, expiry: %s}", redacted(t.AccessToken), redacted(t.RefreshToken), exp)
}

// GoString is String, so that %#v hides the tokens too.
func (t Tokens) GoString() string { return t.String() }

// Format prints String under every verb, so that no verb (%x and %d
// included) prints the tokens.
func (t Tokens) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

// LogValue hides the tokens from log/slog.
func (t Tokens) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", redacted(t.AccessToken)),
		slog.String("refresh_token", redacted(t.RefreshToken)),
		slog.Time("expiry", t.Expiry),
	)
}

func redacted(s string) string {
	if s == "" {
		return "none"
	}
	return "redacted"
}

// formatRedacted is the Format method of a value that holds a secret: it
// writes desc, a description without the secret, whatever the verb (quoted
// for %q), instead of the fields fmt would print.
func formatRedacted(f fmt.State, verb rune, desc string) {
	if verb == 'q' {
		desc = strconv.Quote(desc)
	}
	_, _ = io.WriteString(f, desc)
}

// TokenStore keeps a client's tokens, so that they survive a restart or are
// shared between clients, in one process or in many. Implementations must be
// safe for concurrent use.
//
// The client calls Load before its first request that needs a token: once,
// however many calls start at the same time (the others wait for that Load).
// When Load fails, the calls waiting for it get its error and the next call
// loads again. Stored tokens with only a refresh token are enough: the client
// refreshes with it before its first request. Load is also called when the
// API refuses the refresh token (another client may have saved newer tokens)
// and, when the store is a TokenLocker, after taking the lock for each renewal.
//
// The client calls Save after every login and refresh. Saving is best-effort:
// an error is logged at Error and the call goes on with the new tokens, which
// the client keeps in memory. Save gets a context that does not end with the
// call that made the renewal (the server has already issued the new tokens
// and spent the old refresh token, so they are worth storing), bounded to 10
// seconds.
//
// Store calls never hold a client's call past its context: the client makes
// them on a goroutine of its own and stops waiting when the call's context
// ends. A store that ignores its context therefore only delays itself; while
// such a call is still running, the client starts no second Load at start-up
// and no second renewal (calls that need one wait for it within their own
// context), so that a slow store is not called ever more often.
//
// A Load that finds something other than tokens it can read (garbage, another
// format, another kind of value) returns an error wrapping ErrCorruptTokens.
// A client with credentials then logs in and saves over it, with one warning;
// a client without returns Load's error, which should say what is wrong and
// where.
type TokenStore interface {
	// Load returns the stored tokens, or nil and no error when there are none.
	Load(ctx context.Context) (*Tokens, error)
	// Save stores t, replacing what was stored.
	Save(ctx context.Context, t *Tokens) error
}

// ErrCorruptTokens is what a TokenStore's Load wraps when the store holds
// something it cannot read as tokens, so that it is not a failure of the
// store itself: a client with credentials logs in and saves over it (see
// TokenStore).
var ErrCorruptTokens = errors.New("atlas: the stored tokens are unreadable")

// TokenLocker is implemented by a TokenStore that several clients share (in
// one process or in many), so that they renew the tokens of one login one at
// a time: the API rotates refresh tokens, and a refresh token used twice is
// refused.
//
// The client holds the lock around every renewal: its own logins and
// refreshes, Auth.Login and Auth.Refresh. Once it holds the lock (except for
// Auth.Login, which always logs in), it loads the store again; when the
// stored tokens differ both from its own and from what it last read from or
// wrote to the store, another holder has renewed them, and the client takes
// them without a request (refreshing them at once, under the same lock, only
// when they are themselves due). It releases the lock after saving the
// tokens it obtained, even when the call that started the renewal has given
// up by then, so that the next holder loads them.
//
// When LockTokens fails because the call's context ended, the call fails with
// that context's error. When it fails for any other reason (the lock service
// is down), the client renews without the lock and logs a warning: calls go
// on working, at the risk that a client sharing the store uses a refresh
// token this one spent, which that client then recovers from as it does
// without a TokenLocker (it takes newer stored tokens, or logs in again).
type TokenLocker interface {
	// LockTokens blocks until the caller holds the renewal lock, or ctx ends.
	// A lock shared between processes must expire by itself, so that a holder
	// that dies blocks the others no longer than that. unlock releases it; it
	// is safe to call after the lock has expired.
	LockTokens(ctx context.Context) (unlock func(), err error)
}

// MemoryTokenStore is a TokenStore in memory, the default, and a
// TokenLocker: clients that share one share their tokens and renew them one
// at a time. Its lock is an in-process lock that waits no longer than the
// context it is given; it does not expire, since its holders are in this
// process and the client always releases it. The zero value is ready to use.
// It prints and logs with its tokens hidden (see Tokens).
type MemoryTokenStore struct {
	// state is made on first use. It sits behind a pointer that fmt does not
	// follow, so that a MemoryTokenStore value, which has no Format method
	// (its methods take a pointer), prints no token either.
	state atomic.Pointer[memoryState]
}

type memoryState struct {
	mu     sync.Mutex
	tokens *Tokens
	lock   chan struct{} // holds a value while the lock is held
}

// st returns m's state, making it on first use.
func (m *MemoryTokenStore) st() *memoryState {
	if st := m.state.Load(); st != nil {
		return st
	}
	m.state.CompareAndSwap(nil, &memoryState{lock: make(chan struct{}, 1)})
	return m.state.Load()
}

// Load returns a copy of the stored tokens, or nil.
func (m *MemoryTokenStore) Load(context.Context) (*Tokens, error) {
	st := m.st()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tokens == nil {
		return nil, nil
	}
	t := *st.tokens
	return &t, nil
}

// Save stores a copy of t.
func (m *MemoryTokenStore) Save(_ context.Context, t *Tokens) error {
	st := m.st()
	st.mu.Lock()
	defer st.mu.Unlock()
	if t == nil {
		st.tokens = nil
		return nil
	}
	cp := *t
	st.tokens = &cp
	return nil
}

// LockTokens takes the store's renewal lock, waiting for it until ctx ends;
// then it returns ctx's error. unlock releases the lock; calling it again
// does nothing.
func (m *MemoryTokenStore) LockTokens(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := m.st().lock
	select {
	case l <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-l }) }, nil
}

// Format describes the store without its tokens, under every verb.
func (m *MemoryTokenStore) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, "atlas.MemoryTokenStore{tokens: "+m.described()+"}")
}

// LogValue describes the store to log/slog without its tokens.
func (m *MemoryTokenStore) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tokens", m.described()))
}

// described says whether m holds tokens: "redacted" or "none".
func (m *MemoryTokenStore) described() string {
	if m == nil {
		return "none"
	}
	st := m.state.Load()
	if st == nil {
		return "none"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tokens == nil {
		return "none"
	}
	return "redacted"
}

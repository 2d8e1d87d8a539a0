package atlas

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

type credentials struct {
	email, password string
}

func (c credentials) known() bool { return c.email != "" && c.password != "" }

// Wire shapes of the auth routes.
type (
	loginRequest struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	tokenResponse struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	loginResponse struct {
		Tokens tokenResponse `json:"tokens"`
		User   User          `json:"user"`
	}
	refreshRequest struct {
		RefreshToken string `json:"refresh_token"`
	}
)

// tokenManager holds the tokens that every copy of a Client shares. It loads
// the store once, logs in lazily, refreshes shortly before expiry and after a
// 401, and lets only one login or refresh run at a time: the callers that
// need a token while one runs wait for its result.
//
// The first Load and every renewal run as a flight: a goroutine of their own
// that makes the store calls and the auth request, while the callers wait
// for it or for their context, whichever ends first. A store that ignores
// ctx so holds no caller past its context; the flight stays in place until
// its store calls return, so no second one of its kind starts meanwhile.
// The caller that started a flight waits for all of it (the Save included,
// as when it ran in that caller); the others only until the new tokens are
// installed.
type tokenManager struct {
	client *Client // for the auth calls; it has no company
	store  TokenStore
	logger *slog.Logger

	mu         sync.Mutex
	loaded     bool     // the store has been read (or tokens were given)
	loading    *flight  // the first Load, while it runs
	tokens     Tokens   // current tokens
	bearer     string   // "Bearer " + tokens.AccessToken, built once per token; "" without one
	header     []string // {bearer}, the Authorization header value; never modified
	refreshAt  time.Time
	lifetime   time.Duration // of the tokens, as far as known (see setLocked)
	stale      bool          // the API refused the access token
	creds      credentials
	lastStored Tokens        // what this client last read from or wrote to the store
	flight     *flight       // the login or refresh in progress, store calls included
	corrupt    bool          // a Load found ErrCorruptTokens and it was logged; cleared by a good Load
	refusal    *loginRefusal // the API's last refusal of credentials; this process's own, never stored
}

// refusedLoginCoolDown is how long credentials the API refused (401 or 422 on
// login) are not sent again: calls fail at once with the refusal meanwhile,
// so that a burst of calls never looks like password guessing to the API.
const refusedLoginCoolDown = time.Minute

// loginRefusal is the API's refusal of the credentials whose digest is creds.
type loginRefusal struct {
	creds [sha256.Size]byte // not the credentials themselves: one copy is enough
	at    time.Time
	err   error
}

// digest identifies creds without holding them.
func (c credentials) digest() [sha256.Size]byte {
	return sha256.Sum256([]byte(c.email + "\x00" + c.password))
}

// errRenewAborted is what the callers waiting for a login or refresh get
// when it ended without a result (it panicked).
var errRenewAborted = errors.New("atlas: token renewal aborted")

// saveTimeout bounds a Save, which does not end with the call that renewed
// the tokens.
const saveTimeout = 10 * time.Second

// flight is the first Load, or one login or refresh, in progress.
type flight struct {
	settled chan struct{} // closed when err is known: new tokens are installed, or there are none
	done    chan struct{} // closed when the flight has ended, store calls included
	login   bool          // an Auth.Login: its outcome is its caller's alone
	once    sync.Once

	err      error // set before settled is closed
	panicked any   // set before done is closed

	traced context.Context // the context of its renewal's trace, for WaitInfo.Renewal; set under tokenManager.mu

	user *User     // the user an Auth.Login got; set under tokenManager.mu
	resp *Response // the answer to its last request, for the caller's WithResponse; read once done is closed
}

func newFlight(login bool) *flight {
	return &flight{settled: make(chan struct{}), done: make(chan struct{}), login: login}
}

// settle makes err the flight's outcome, the first time it is called.
func (f *flight) settle(err error) {
	f.once.Do(func() {
		f.err = err
		close(f.settled)
	})
}

// isSettled reports whether the flight's outcome is known.
func (f *flight) isSettled() bool {
	select {
	case <-f.settled:
		return true
	default:
		return false
	}
}

// launch makes f the flight in *slot and runs fn on a goroutine of its own.
// fn settles f as soon as it has installed new tokens; f is settled with
// fn's error when fn returns (or with errRenewAborted when it panics: then
// the caller that started f panics with the same value), and then *slot is
// cleared and f.done closed. The caller holds tm.mu.
func (tm *tokenManager) launch(slot **flight, f *flight, fn func() error) {
	*slot = f
	go func() {
		defer func() {
			if p := recover(); p != nil {
				f.panicked = p
				f.settle(errRenewAborted)
			}
			tm.mu.Lock()
			if *slot == f {
				*slot = nil
			}
			tm.mu.Unlock()
			close(f.done)
		}()
		f.settle(fn())
	}()
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refreshLead returns how long before expiry a token of the given lifetime is
// renewed: a tenth of its lifetime, at most a minute.
func refreshLead(lifetime time.Duration) time.Duration {
	return min(lifetime/10, time.Minute)
}

// setLocked installs new tokens of the given lifetime; zero means it is not
// known (tokens given or stored), and an estimate stands in for it. The
// caller holds tm.mu.
func (tm *tokenManager) setLocked(t Tokens, lifetime time.Duration) {
	tm.tokens = t
	tm.bearer, tm.header = "", nil
	if t.AccessToken != "" {
		tm.bearer = "Bearer " + t.AccessToken
		tm.header = []string{tm.bearer}
	}
	tm.stale = false
	tm.refreshAt = time.Time{}
	switch {
	case lifetime > 0:
		tm.lifetime = lifetime
	case !t.Expiry.IsZero():
		// No token lives shorter than the time left on it: the longest seen
		// is the best guess, so that tokens another client renewed a while
		// ago are renewed as early as the ones this client got itself.
		tm.lifetime = max(tm.lifetime, time.Until(t.Expiry))
		lifetime = tm.lifetime
	}
	if !t.Expiry.IsZero() {
		tm.refreshAt = t.Expiry.Add(-refreshLead(lifetime))
	}
}

// usableLocked reports whether the access token serves as it is: the API
// has not refused it and it is not due for renewal. The caller holds tm.mu.
func (tm *tokenManager) usableLocked(now time.Time) bool {
	return tm.tokens.AccessToken != "" && !tm.stale && (tm.refreshAt.IsZero() || now.Before(tm.refreshAt))
}

// authorization returns the Authorization header value for the next request
// (as a header value slice, which callers must not modify), logging in or
// refreshing first when needed.
func (tm *tokenManager) authorization(ctx context.Context) ([]string, error) {
	for {
		tm.mu.Lock()
		if !tm.loaded {
			tm.mu.Unlock()
			if err := tm.ensureLoaded(ctx); err != nil {
				return nil, err
			}
			continue
		}
		seen, header := tm.bearer, tm.header
		now := time.Now()
		if tm.usableLocked(now) {
			tm.mu.Unlock()
			return header, nil
		}
		// Due for renewal but not expired: if renewal fails for a reason
		// other than the API refusing it, the current token still serves.
		var fallback []string
		if tm.tokens.AccessToken != "" && !tm.stale && now.Before(tm.tokens.Expiry) {
			fallback = header
		}
		tm.mu.Unlock()
		err := tm.renew(ctx, seen, requestConfig{})
		if err == nil {
			continue
		}
		if fallback != nil && !errors.Is(err, ErrUnauthorized) && ctx.Err() == nil {
			tm.log(ctx, slog.LevelWarn, "atlas: token refresh failed; using the current token until it expires", slog.String("error", err.Error()))
			return fallback, nil
		}
		return nil, err
	}
}

// sendable reports whether bearer, handed out by authorization before a wait
// for the rate limit, may still be sent: it is still the client's token, the
// API has not refused it, and half of the renewal lead is left before it
// expires (a token due for renewal serves meanwhile, so that calls that
// waited their turn are not held back by the renewal).
func (tm *tokenManager) sendable(bearer string) bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.bearer != bearer || tm.stale {
		return false
	}
	return tm.tokens.Expiry.IsZero() || time.Now().Before(tm.tokens.Expiry.Add(-refreshLead(tm.lifetime)/2))
}

func (tm *tokenManager) hasRefreshToken() bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.tokens.RefreshToken != ""
}

func (tm *tokenManager) hasAccessToken() bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.tokens.AccessToken != ""
}

func (tm *tokenManager) bearerSnapshot() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.bearer
}

// invalidate marks bearer as refused by the API, unless the tokens have
// changed since it was handed out (another caller already renewed them).
func (tm *tokenManager) invalidate(bearer string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.bearer == bearer {
		tm.stale = true
	}
}

// ensureLoaded reads the store once, however many callers need it at the
// same time; a failed Load leaves the next caller to try again.
func (tm *tokenManager) ensureLoaded(ctx context.Context) error {
	for {
		tm.mu.Lock()
		if tm.loaded {
			tm.mu.Unlock()
			return nil
		}
		f, leader := tm.loading, false
		if f == nil {
			f, leader = newFlight(false), true
			tm.launch(&tm.loading, f, func() error { return tm.load(ctx) })
		}
		tm.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("atlas: load tokens: %w", ctx.Err())
		}
		if leader && f.panicked != nil {
			panic(f.panicked)
		}
		// A Load that failed because the context of the caller that
		// started it ended says nothing about ours: try again.
		if f.err != nil && (!isContextError(f.err) || ctx.Err() != nil) {
			return f.err
		}
	}
}

// load is the first Load's flight.
func (tm *tokenManager) load(ctx context.Context) error {
	t, err := tm.store.Load(ctx)
	if err != nil {
		tm.mu.Lock()
		heal := errors.Is(err, ErrCorruptTokens) && tm.creds.known()
		tm.mu.Unlock()
		if !heal {
			return fmt.Errorf("atlas: load tokens: %w", err)
		}
		tm.corruptStore(ctx, err)
		t = nil // the login this leads to saves over it
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if err == nil {
		tm.corrupt = false
	}
	if tm.loaded {
		return nil // tokens came from Auth.Login meanwhile
	}
	tm.loaded = true
	if hasTokens(t) {
		tm.lastStored = *t
		if !hasTokens(&tm.tokens) {
			tm.setLocked(*t, 0)
		}
	}
	return nil
}

func hasTokens(t *Tokens) bool {
	return t != nil && (t.AccessToken != "" || t.RefreshToken != "")
}

// samePair reports whether a and b hold the same tokens, whatever their
// expiry says.
func samePair(a, b Tokens) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken
}

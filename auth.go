package atlas

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// AuthService logs in, refreshes tokens and reads the current user. The client
// does all of this by itself (it logs in on first use and refreshes before the
// access token expires); call Login or Refresh only to do it at a moment of
// your choosing.
type AuthService service

// Role is a user's role in an organization or company. A viewer gets
// ErrForbidden on every write.
type Role string

// Roles.
const (
	RoleOwner      Role = "owner"
	RoleAdmin      Role = "admin"
	RoleAccountant Role = "accountant"
	RoleBookkeeper Role = "bookkeeper"
	RoleViewer     Role = "viewer"
)

// User is the user a login returns.
type User struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	FullName string `json:"full_name"`
	Role     Role   `json:"role"`
}

// Organization is the organization a user belongs to.
type Organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CompanyMembership is a company the user can access and their role in it.
type CompanyMembership struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Me is the authenticated user with their organization and companies. It
// embeds User, so me.ID, me.Email, me.FullName and me.Role read as before and
// me.User is the same User that Login returns; on the wire the user's fields
// stay at the top level of the object.
type Me struct {
	User
	Organization Organization        `json:"organization"`
	Companies    []CompanyMembership `json:"companies"`
}

// Login logs in with email and password, replaces the client's tokens (and
// those of every copy made by ForCompany), and remembers the credentials so
// that the client can log in again when its refresh token is refused. Wrong
// credentials get ErrUnauthorized; credentials the API refused less than a
// minute ago are not sent again (see WithCredentials), and get that refusal at
// once. The User is the zero User when the answer's
// user cannot be read: the login, whose tokens could, still counts. opts
// shape the login request: WithHeader is sent, WithIdempotencyKey sets its
// key, and WithResponse gets its answer once the login has ended (not when
// ctx ends first).
//
// API: POST /auth/login
func (s *AuthService) Login(ctx context.Context, email, password string, opts ...PostOption) (*User, error) {
	return s.client.core.tokens.login(ctx, credentials{email: email, password: password}, true, opts)
}

// Refresh exchanges the refresh token for a new access token now, rather than
// shortly before the access token expires. When the refresh token is refused
// and the client has credentials it logs in again; without credentials the
// error matches ErrUnauthorized. With a TokenStore that is a TokenLocker
// (MemoryTokenStore is one), when another client sharing it has renewed the
// tokens since, Refresh takes those instead of sending a request.
//
// Refresh goes through the same renewal as the client's own refreshes: one
// renewal at a time for every goroutine that needs new tokens. When Refresh
// starts it, opts shape the requests it sends: the refresh request, and the
// login that follows when the refresh token is refused (WithHeader is sent
// with both, WithIdempotencyKey sets the refresh request's key), and
// WithResponse gets the answer to the last of them once the renewal has
// ended. When Refresh sends nothing itself (a renewal another goroutine
// started was under way, or a TokenLocker's store held tokens another
// client had renewed), Refresh takes those tokens and WithResponse leaves
// its destination as it was.
//
// API: POST /auth/refresh
func (s *AuthService) Refresh(ctx context.Context, opts ...PostOption) error {
	if ctx == nil {
		return nilContext(http.MethodPost, "/auth/refresh")
	}
	cfg := configOf(opts)
	if err := cfg.check(http.MethodPost); err != nil {
		return invalidParams(http.MethodPost+" /auth/refresh", "%v", err)
	}
	tm := s.client.core.tokens
	if err := tm.ensureLoaded(ctx); err != nil {
		return err
	}
	return tm.renew(ctx, tm.bearerSnapshot(), cfg)
}

// Me returns the authenticated user, their organization and the companies
// they can access.
//
// API: GET /auth/me
func (s *AuthService) Me(ctx context.Context, opts ...RequestOption) (*Me, error) {
	return call[Me](ctx, s.client, Request{Method: http.MethodGet, Path: "/auth/me", Route: "/auth/me", op: "Auth.Me"}, configOf(opts))
}

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

// renew refreshes the tokens (or logs in when there is nothing to refresh),
// once for all concurrent callers. seen is the Authorization value the caller
// considers out of date; when the tokens have changed since, another caller
// has renewed them and there is nothing to do. cfg shapes the requests of a
// renewal this caller starts (Auth.Refresh's options); its response gets the
// answer to the last of them once the renewal has ended.
func (tm *tokenManager) renew(ctx context.Context, seen string, cfg requestConfig) error {
	for {
		tm.mu.Lock()
		if tm.bearer != seen {
			tm.mu.Unlock()
			return nil
		}
		f, leader := tm.flight, false
		if f == nil {
			f, leader = newFlight(false), true
			fcfg := cfg
			fcfg.response = &f.resp // the flight's own: it may outlive this call
			tm.launch(&tm.flight, f, func() error { return tm.renewNow(ctx, f, fcfg) })
		}
		tm.mu.Unlock()
		wait := f.settled
		if leader {
			wait = f.done
		} else if f.isSettled() {
			// Its outcome did not help us, and it is only saving: wait for
			// it to end, then look again.
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return fmt.Errorf("atlas: waiting for token refresh: %w", ctx.Err())
			}
		}
		st := stateOf(ctx)
		from := st.waitStart()
		select {
		case <-wait:
			st.waited(from, WaitInfo{Reason: WaitTokenRenewal, Renewal: tm.renewalOf(f)})
		case <-ctx.Done():
			st.waited(from, WaitInfo{Reason: WaitTokenRenewal, Renewal: tm.renewalOf(f)})
			if tm.bearerSnapshot() != seen {
				return nil // renewed; only its store calls go on
			}
			return fmt.Errorf("atlas: waiting for token refresh: %w", ctx.Err())
		}
		if leader && f.panicked != nil {
			panic(f.panicked)
		}
		if leader && f.resp != nil && cfg.response != nil {
			*cfg.response = f.resp // f is done: nothing writes f.resp any more
		}
		if f.login {
			continue // an Auth.Login, whose outcome is not ours: look again
		}
		// The leader's context may have ended while ours goes on: then try
		// again, becoming the leader if nobody else has.
		if f.err != nil && isContextError(f.err) && ctx.Err() == nil {
			continue
		}
		return f.err
	}
}

// lockStore takes the store's renewal lock when it is a TokenLocker, and
// returns the function that releases it (one that does nothing without a
// lock) and whether it holds the lock. It fails only when ctx ended; any other
// failure to take the lock is logged, and the renewal goes on without it.
func (tm *tokenManager) lockStore(ctx context.Context) (unlock func(), locked bool, err error) {
	l, ok := tm.store.(TokenLocker)
	if !ok {
		return func() {}, false, nil
	}
	unlock, err = l.LockTokens(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("atlas: waiting for the token lock: %w", ctx.Err())
		}
		tm.log(ctx, slog.LevelWarn, "atlas: taking the token lock failed; renewing without it", slog.String("error", err.Error()))
		return func() {}, false, nil
	}
	if unlock == nil {
		unlock = func() {}
	}
	return unlock, true, nil
}

// renewNow is the renewal flight f: under the store's lock, it takes the
// tokens another holder renewed, or refreshes, or logs in.
func (tm *tokenManager) renewNow(ctx context.Context, f *flight, cfg requestConfig) (err error) {
	parent, kind := ctx, TokenLogin
	if tm.hasRefreshToken() {
		kind = TokenRefresh
	}
	ctx, rn := tm.startRenewal(ctx, kind, f)
	defer func() { rn.done(err) }()
	unlock, locked, err := tm.lockStore(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if locked && tm.reload(ctx) {
		return nil
	}

	tm.mu.Lock()
	refresh, creds := tm.tokens.RefreshToken, tm.creds
	tm.mu.Unlock()

	var refused error // the refresh's refusal, when the login follows it
	if refresh != "" {
		err := tm.refresh(ctx, refresh, f, cfg)
		if err == nil {
			return nil
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode >= 500 || apiErr.StatusCode == http.StatusTooManyRequests {
			return err // not a refusal of the token: logging in would not help
		}
		if tm.adoptStored(ctx, refresh) {
			return nil
		}
		if !creds.known() {
			return fmt.Errorf("%w: the refresh token was refused and the client has no credentials to log in again: %w", ErrUnauthorized, err)
		}
		tm.log(ctx, slog.LevelDebug, "atlas: refresh token refused; logging in again", slog.Int("status", apiErr.StatusCode))
		refused = err
	}
	if !creds.known() {
		if tm.hasAccessToken() {
			return fmt.Errorf("%w: the access token was refused and the client has neither a refresh token nor credentials to renew it", ErrUnauthorized)
		}
		return fmt.Errorf("%w: no credentials or tokens: use WithCredentials, WithTokens or WithTokenStore", ErrUnauthorized)
	}
	if refused != nil && rn != nil {
		// The refresh ended refused: the login is a renewal of its own.
		rn.done(refused)
		ctx, rn = tm.startRenewal(parent, TokenLogin, f)
	}
	// The refresh request's Idempotency-Key is not the login's.
	cfg.idempotencyKey, cfg.keySet = "", false
	_, err = tm.loginNow(ctx, creds, false, cfg, f)
	return err
}

// reload loads the store again under its lock and takes the stored tokens
// when another holder has renewed them: when they differ both from the
// client's and from what it last read from or wrote to the store. It reports
// whether the tokens now serve without a request.
func (tm *tokenManager) reload(ctx context.Context) bool {
	t, err := tm.store.Load(ctx)
	if errors.Is(err, ErrCorruptTokens) {
		tm.corruptStore(ctx, err)
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			tm.log(ctx, slog.LevelWarn, "atlas: loading tokens under the lock failed; renewing the client's own", slog.String("error", err.Error()))
		}
		return false
	}
	tm.mu.Lock()
	tm.corrupt = false
	if !hasTokens(t) || samePair(*t, tm.tokens) || samePair(*t, tm.lastStored) {
		tm.mu.Unlock()
		return false
	}
	tm.lastStored = *t
	tm.setLocked(*t, 0)
	usable := tm.usableLocked(time.Now())
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: using the tokens another client renewed", slog.Bool("due", !usable))
	return usable
}

// corruptStore logs that the store holds unreadable tokens, which the
// renewal to come saves over: once until a Load reads tokens again.
func (tm *tokenManager) corruptStore(ctx context.Context, err error) {
	tm.mu.Lock()
	logged := tm.corrupt
	tm.corrupt = true
	tm.mu.Unlock()
	if !logged {
		tm.log(ctx, slog.LevelWarn, "atlas: the token store holds unreadable tokens; renewing them saves over them", slog.String("error", err.Error()))
	}
}

// adoptStored takes the store's tokens when they differ from the refused
// refresh token: another client sharing the store has renewed them.
func (tm *tokenManager) adoptStored(ctx context.Context, refused string) bool {
	t, err := tm.store.Load(ctx)
	if err != nil || t == nil || t.AccessToken == "" || t.RefreshToken == refused {
		return false
	}
	tm.mu.Lock()
	tm.lastStored = *t
	tm.setLocked(*t, 0)
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: refresh token refused; using newer tokens from the store")
	return true
}

// refresh sends the refresh request, installs the new tokens, settles f and
// saves them.
func (tm *tokenManager) refresh(ctx context.Context, refreshToken string, f *flight, cfg requestConfig) error {
	var out tokenResponse
	req := Request{Method: http.MethodPost, Path: "/auth/refresh", Route: "/auth/refresh", Body: &refreshRequest{RefreshToken: refreshToken}, noAuth: true, op: "Auth.Refresh"}
	if err := tm.client.do(ctx, req, cfg, &out); err != nil {
		return err
	}
	if out.AccessToken == "" {
		return errors.New("atlas: POST /auth/refresh: the response has no access_token")
	}
	t := Tokens{AccessToken: out.AccessToken, RefreshToken: refreshToken}
	if out.RefreshToken != "" {
		t.RefreshToken = out.RefreshToken // rotation: the old one is spent
	}
	tm.mu.Lock()
	lifetime := expiry(&t, out.ExpiresIn, time.Now())
	tm.setLocked(t, lifetime)
	tm.mu.Unlock()
	f.settle(nil)
	tm.log(ctx, slog.LevelDebug, "atlas: access token refreshed", slog.Duration("lifetime", lifetime), slog.Bool("rotated", out.RefreshToken != ""))
	tm.save(ctx, t)
	return nil
}

// login is Auth.Login: it logs in with creds, under the store's lock, once
// any renewal in progress has ended; remember makes them the ones used for
// later logins.
func (tm *tokenManager) login(ctx context.Context, creds credentials, remember bool, opts []PostOption) (*User, error) {
	if ctx == nil {
		return nil, nilContext(http.MethodPost, "/auth/login")
	}
	if !creds.known() {
		return nil, errors.New("atlas: POST /auth/login: email and password are required")
	}
	cfg := configOf(opts)
	if err := cfg.check(http.MethodPost); err != nil {
		return nil, invalidParams(http.MethodPost+" /auth/login", "%v", err)
	}
	dst := cfg.response // set from the flight's once it is done
	for {
		tm.mu.Lock()
		if busy := tm.flight; busy != nil {
			tm.mu.Unlock()
			select {
			case <-busy.done:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("atlas: POST /auth/login: waiting for a token refresh: %w", ctx.Err())
			}
		}
		f := newFlight(true)
		fcfg := cfg
		fcfg.response = &f.resp // the flight's own: it may outlive this call
		tm.launch(&tm.flight, f, func() (err error) {
			ctx, rn := tm.startRenewal(ctx, TokenLogin, f)
			defer func() { rn.done(err) }()
			unlock, _, err := tm.lockStore(ctx)
			if err != nil {
				return err
			}
			defer unlock()
			_, err = tm.loginNow(ctx, creds, remember, fcfg, f)
			return err
		})
		tm.mu.Unlock()
		select {
		case <-f.done:
			if f.panicked != nil {
				panic(f.panicked)
			}
			if f.resp != nil && dst != nil {
				*dst = f.resp
			}
			return f.user, f.err
		case <-ctx.Done():
			tm.mu.Lock()
			u := f.user
			tm.mu.Unlock()
			if u != nil {
				return u, nil // logged in; only the Save goes on
			}
			return nil, fmt.Errorf("atlas: POST /auth/login: %w", ctx.Err())
		}
	}
}

// loginNow sends the login request, installs the tokens, settles the flight
// f (which gets the user) and saves them.
func (tm *tokenManager) loginNow(ctx context.Context, creds credentials, remember bool, cfg requestConfig, f *flight) (*User, error) {
	if err := tm.refused(creds); err != nil {
		return nil, err
	}
	var out loginResponse
	req := Request{Method: http.MethodPost, Path: "/auth/login", Route: "/auth/login", Body: &loginRequest{Email: creds.email, Password: creds.password}, noAuth: true, op: "Auth.Login"}
	if err := tm.client.do(ctx, req, cfg, &out); err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusUnprocessableEntity) {
			tm.mu.Lock()
			tm.refusal = &loginRefusal{creds: creds.digest(), at: time.Now(), err: err}
			tm.mu.Unlock()
		}
		return nil, err
	}
	if out.Tokens.AccessToken == "" {
		return nil, errors.New("atlas: POST /auth/login: the response has no access_token")
	}
	t := Tokens{AccessToken: out.Tokens.AccessToken, RefreshToken: out.Tokens.RefreshToken}
	u := &out.User
	tm.mu.Lock()
	lifetime := expiry(&t, out.Tokens.ExpiresIn, time.Now())
	tm.setLocked(t, lifetime)
	tm.loaded = true
	tm.refusal = nil
	if remember {
		tm.creds = creds
	}
	f.user = u
	tm.mu.Unlock()
	f.settle(nil)
	tm.log(ctx, slog.LevelDebug, "atlas: logged in", slog.Duration("lifetime", lifetime))
	tm.save(ctx, t)
	return u, nil
}

// refused returns an error that wraps the API's refusal of creds when it
// refused them less than refusedLoginCoolDown ago, and nil otherwise.
func (tm *tokenManager) refused(creds credentials) error {
	tm.mu.Lock()
	r, now := tm.refusal, time.Now()
	tm.mu.Unlock()
	if r == nil || r.creds != creds.digest() || !now.Before(r.at.Add(refusedLoginCoolDown)) {
		return nil
	}
	return fmt.Errorf("atlas: POST /auth/login not sent: the API refused these credentials %s ago, and they are not sent again within %s of that (a client with other credentials may log in): %w",
		now.Sub(r.at).Round(time.Second), refusedLoginCoolDown, r.err)
}

// expiry sets t.Expiry from expires_in and returns the lifetime.
func expiry(t *Tokens, expiresIn int64, now time.Time) time.Duration {
	if expiresIn <= 0 {
		return 0
	}
	const maxLifetime = int64(365 * 24 * time.Hour / time.Second)
	lifetime := time.Duration(min(expiresIn, maxLifetime)) * time.Second
	t.Expiry = now.Add(lifetime)
	return lifetime
}

// save stores t, best-effort. It runs in a flight, under the store's lock
// when there is one, and on a context that does not end with the call that
// renewed the tokens: they are issued, and the refresh token they replace is
// spent.
func (tm *tokenManager) save(ctx context.Context, t Tokens) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := tm.store.Save(ctx, &t); err != nil {
		// The new tokens are in memory and the client goes on; the store will
		// get the next ones.
		tm.log(ctx, slog.LevelError, "atlas: saving tokens failed", slog.String("error", err.Error()))
		return
	}
	tm.mu.Lock()
	tm.lastStored = t
	tm.mu.Unlock()
}

func (tm *tokenManager) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if tm.logger != nil && tm.logger.Enabled(ctx, level) {
		tm.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

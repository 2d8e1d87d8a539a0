package atlas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/clock"
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
// credentials get ErrUnauthorized.
//
// API: POST /auth/login
func (s *AuthService) Login(ctx context.Context, email, password string, opts ...RequestOption) (*User, error) {
	return s.client.core.tokens.login(ctx, credentials{email: email, password: password}, true, opts)
}

// Refresh exchanges the refresh token for a new access token now, rather than
// shortly before the access token expires. When the refresh token is refused
// and the client has credentials it logs in again; without credentials the
// error matches ErrUnauthorized.
//
// Refresh takes RequestOptions as every other method does, but it goes
// through the same renewal as the client's own refreshes: one request for
// every goroutine that needs new tokens at that moment, sent as the client
// sends it. None of opts shapes that request yet; in particular WithResponse
// leaves its destination as it was.
//
// API: POST /auth/refresh
func (s *AuthService) Refresh(ctx context.Context, opts ...RequestOption) error {
	if ctx == nil {
		return nilContext(http.MethodPost, "/auth/refresh")
	}
	tm := s.client.core.tokens
	if err := tm.ensureLoaded(ctx); err != nil {
		return err
	}
	return tm.renew(ctx, tm.bearerSnapshot())
}

// Me returns the authenticated user, their organization and the companies
// they can access.
//
// API: GET /auth/me
func (s *AuthService) Me(ctx context.Context, opts ...RequestOption) (*Me, error) {
	return call[Me](ctx, s.client, request{method: http.MethodGet, path: "/auth/me"}, opts)
}

// Tokens is an access/refresh token pair. Its String, GoString and LogValue
// methods hide the tokens, so printing or logging a Tokens value does not leak
// them; its JSON encoding (for a TokenStore) carries them.
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

// TokenStore keeps a client's tokens, so that they survive a restart or are
// shared between processes. The client calls Load once, before its first
// request, and Save after every login and refresh. Implementations must be
// safe for concurrent use.
type TokenStore interface {
	// Load returns the stored tokens, or nil and no error when there are none.
	Load(ctx context.Context) (*Tokens, error)
	// Save stores t, replacing what was stored.
	Save(ctx context.Context, t *Tokens) error
}

// TokenLocker is implemented by a TokenStore that several clients share (in
// one process or in many), so that they renew the tokens of one login one at
// a time: the API rotates refresh tokens, and a refresh token used twice is
// refused. The client holds the lock around every refresh and login; once it
// has it, it loads the store again and, when another holder has renewed the
// tokens meanwhile, uses those without a request.
type TokenLocker interface {
	// LockTokens blocks until the caller holds the renewal lock, or ctx ends.
	// The lock must expire by itself, so that a holder that dies blocks the
	// others no longer than that. unlock releases it; it is safe to call
	// after the lock has expired.
	LockTokens(ctx context.Context) (unlock func(), err error)
}

// MemoryTokenStore is a TokenStore in memory, the default. Share one between
// clients to share their tokens. The zero value is ready to use.
type MemoryTokenStore struct {
	mu     sync.Mutex
	tokens *Tokens
}

// Load returns a copy of the stored tokens, or nil.
func (m *MemoryTokenStore) Load(context.Context) (*Tokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		return nil, nil
	}
	t := *m.tokens
	return &t, nil
}

// Save stores a copy of t.
func (m *MemoryTokenStore) Save(_ context.Context, t *Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t == nil {
		m.tokens = nil
		return nil
	}
	cp := *t
	m.tokens = &cp
	return nil
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

// tokenManager holds the tokens that every copy of a Client shares. It logs
// in lazily, refreshes shortly before expiry and after a 401, and lets only
// one login or refresh run at a time: the callers that need a token while one
// runs wait for its result.
type tokenManager struct {
	client *Client // for the auth calls; it has no company
	clock  clock.Clock
	store  TokenStore
	logger *slog.Logger

	mu        sync.Mutex
	loaded    bool     // the store has been read (or tokens were given)
	tokens    Tokens   // current tokens
	bearer    string   // "Bearer " + tokens.AccessToken, built once per token
	header    []string // {bearer}, the Authorization header value; never modified
	refreshAt time.Time
	stale     bool // the API refused the access token
	creds     credentials
	flight    *flight
}

// errRenewAborted is what the callers waiting for a login or refresh get
// when it ended without a result (it panicked).
var errRenewAborted = errors.New("atlas: token renewal aborted")

// flight is one login or refresh in progress.
type flight struct {
	done chan struct{}
	err  error
}

// refreshLead returns how long before expiry a token of the given lifetime is
// renewed: a tenth of its lifetime, at most a minute.
func refreshLead(lifetime time.Duration) time.Duration {
	return min(lifetime/10, time.Minute)
}

// setLocked installs new tokens. The caller holds tm.mu.
func (tm *tokenManager) setLocked(t Tokens, lifetime time.Duration) {
	tm.tokens = t
	tm.bearer = "Bearer " + t.AccessToken
	tm.header = []string{tm.bearer}
	tm.stale = false
	tm.refreshAt = time.Time{}
	if !t.Expiry.IsZero() {
		if lifetime <= 0 {
			lifetime = t.Expiry.Sub(tm.clock.Now())
		}
		tm.refreshAt = t.Expiry.Add(-refreshLead(lifetime))
	}
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
		usable := tm.tokens.AccessToken != "" && !tm.stale
		now := tm.clock.Now()
		if usable && (tm.refreshAt.IsZero() || now.Before(tm.refreshAt)) {
			tm.mu.Unlock()
			return header, nil
		}
		// Due for renewal but not expired: if renewal fails for a reason
		// other than the API refusing it, the current token still serves.
		var fallback []string
		if usable && now.Before(tm.tokens.Expiry) {
			fallback = header
		}
		tm.mu.Unlock()
		err := tm.renew(ctx, seen)
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

// ensureLoaded reads the store once.
func (tm *tokenManager) ensureLoaded(ctx context.Context) error {
	tm.mu.Lock()
	loaded := tm.loaded
	tm.mu.Unlock()
	if loaded {
		return nil
	}
	t, err := tm.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("atlas: load tokens: %w", err)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if !tm.loaded {
		tm.loaded = true
		if t != nil && t.AccessToken != "" && tm.tokens.AccessToken == "" {
			tm.setLocked(*t, 0)
		}
	}
	return nil
}

// renew refreshes the tokens (or logs in when there is nothing to refresh),
// once for all concurrent callers. seen is the Authorization value the caller
// considers out of date; when the tokens have changed since, another caller
// has renewed them and there is nothing to do.
func (tm *tokenManager) renew(ctx context.Context, seen string) error {
	for {
		tm.mu.Lock()
		if tm.bearer != seen {
			tm.mu.Unlock()
			return nil
		}
		f := tm.flight
		if f == nil {
			f = &flight{done: make(chan struct{}), err: errRenewAborted}
			tm.flight = f
			tm.mu.Unlock()
			// Deferred, so that the callers waiting for this flight are
			// released even if a TokenStore panics.
			defer func() {
				tm.mu.Lock()
				tm.flight = nil
				tm.mu.Unlock()
				close(f.done)
			}()
			f.err = tm.renewNow(ctx)
			return f.err
		}
		tm.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return fmt.Errorf("atlas: waiting for token refresh: %w", ctx.Err())
		}
		// The leader's context may have ended while ours goes on: then try
		// again, becoming the leader if nobody else has.
		if f.err != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		return f.err
	}
}

// renewNow does the actual refresh or login. Only the flight's leader calls it.
func (tm *tokenManager) renewNow(ctx context.Context) error {
	tm.mu.Lock()
	refresh, creds := tm.tokens.RefreshToken, tm.creds
	tm.mu.Unlock()

	if refresh != "" {
		err := tm.refresh(ctx, refresh)
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
	}
	if !creds.known() {
		if tm.hasAccessToken() {
			return fmt.Errorf("%w: the access token was refused and the client has neither a refresh token nor credentials to renew it", ErrUnauthorized)
		}
		return fmt.Errorf("%w: no credentials or tokens: use WithCredentials, WithTokens or WithTokenStore", ErrUnauthorized)
	}
	_, err := tm.login(ctx, creds, false, nil)
	return err
}

// adoptStored takes the store's tokens when they differ from the refused
// refresh token: another client sharing the store has renewed them.
func (tm *tokenManager) adoptStored(ctx context.Context, refused string) bool {
	t, err := tm.store.Load(ctx)
	if err != nil || t == nil || t.AccessToken == "" || t.RefreshToken == refused {
		return false
	}
	tm.mu.Lock()
	tm.setLocked(*t, 0)
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: refresh token refused; using newer tokens from the store")
	return true
}

func (tm *tokenManager) refresh(ctx context.Context, refreshToken string) error {
	var out tokenResponse
	req := request{method: http.MethodPost, path: "/auth/refresh", body: &refreshRequest{RefreshToken: refreshToken}, noAuth: true}
	if err := tm.client.do(ctx, req, requestConfig{}, &out); err != nil {
		return err
	}
	if out.AccessToken == "" {
		return errors.New("atlas: POST /auth/refresh: the response has no access_token")
	}
	tm.mu.Lock()
	t := Tokens{AccessToken: out.AccessToken, RefreshToken: tm.tokens.RefreshToken}
	if out.RefreshToken != "" {
		t.RefreshToken = out.RefreshToken // rotation: the old one is spent
	}
	lifetime := expiry(&t, out.ExpiresIn, tm.clock.Now())
	tm.setLocked(t, lifetime)
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: access token refreshed", slog.Duration("lifetime", lifetime), slog.Bool("rotated", out.RefreshToken != ""))
	tm.save(ctx, t)
	return nil
}

// login logs in with creds; remember makes them the ones used for later logins.
func (tm *tokenManager) login(ctx context.Context, creds credentials, remember bool, opts []RequestOption) (*User, error) {
	if !creds.known() {
		return nil, errors.New("atlas: POST /auth/login: email and password are required")
	}
	var out loginResponse
	req := request{method: http.MethodPost, path: "/auth/login", body: &loginRequest{Email: creds.email, Password: creds.password}, noAuth: true}
	if err := tm.client.do(ctx, req, newRequestConfig(opts), &out); err != nil {
		return nil, err
	}
	if out.Tokens.AccessToken == "" {
		return nil, errors.New("atlas: POST /auth/login: the response has no access_token")
	}
	t := Tokens{AccessToken: out.Tokens.AccessToken, RefreshToken: out.Tokens.RefreshToken}
	tm.mu.Lock()
	lifetime := expiry(&t, out.Tokens.ExpiresIn, tm.clock.Now())
	tm.setLocked(t, lifetime)
	tm.loaded = true
	if remember {
		tm.creds = creds
	}
	tm.mu.Unlock()
	tm.log(ctx, slog.LevelDebug, "atlas: logged in", slog.Duration("lifetime", lifetime))
	tm.save(ctx, t)
	return &out.User, nil
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

func (tm *tokenManager) save(ctx context.Context, t Tokens) {
	if err := tm.store.Save(ctx, &t); err != nil {
		// The new tokens are in memory and this call goes on; the store will
		// get the next ones.
		tm.log(ctx, slog.LevelError, "atlas: saving tokens failed", slog.String("error", err.Error()))
	}
}

func (tm *tokenManager) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if tm.logger != nil && tm.logger.Enabled(ctx, level) {
		tm.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

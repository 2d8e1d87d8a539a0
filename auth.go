package atlas

import (
	"context"
	"net/http"
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

package atlastest

import (
	"crypto/subtle"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// sessions holds the issued tokens. Tokens are opaque random strings; an access token is
// valid until its expiry on the server's clock, a refresh token until its expiry or its
// first use (rotation: refreshing returns a new one and the old one gets 401 from then on).
type sessions struct {
	mu      sync.Mutex
	access  map[string]grant
	refresh map[string]*refreshGrant
	issued  int // pairs issued, to sweep expired tokens now and then
}

type grant struct {
	user    *user
	expires time.Time
}

type refreshGrant struct {
	grant
	used bool
}

func newSessions() *sessions {
	return &sessions{access: map[string]grant{}, refresh: map[string]*refreshGrant{}}
}

// tokenPair is a freshly issued access and refresh token.
type tokenPair struct {
	access, refresh string
	expiresIn       int64 // seconds
}

// issue creates a token pair for u.
func (ss *sessions) issue(u *user, now time.Time, accessLife, refreshLife time.Duration) tokenPair {
	p := tokenPair{
		access:    randomToken("atk_"),
		refresh:   randomToken("rtk_"),
		expiresIn: int64(math.Ceil(accessLife.Seconds())),
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.issued++
	if ss.issued%1024 == 0 {
		ss.sweep(now)
	}
	ss.access[p.access] = grant{user: u, expires: now.Add(accessLife)}
	ss.refresh[p.refresh] = &refreshGrant{grant: grant{user: u, expires: now.Add(refreshLife)}}
	return p
}

// revokeAll forgets every token issued so far.
func (ss *sessions) revokeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	clear(ss.access)
	clear(ss.refresh)
}

// sweep forgets expired tokens so a long-running server does not grow without bound. A
// used refresh token is kept until it expires, so that reusing it stays a 401 for the
// same reason. Call with mu held.
func (ss *sessions) sweep(now time.Time) {
	for t, g := range ss.access {
		if !now.Before(g.expires) {
			delete(ss.access, t)
		}
	}
	for t, g := range ss.refresh {
		if !now.Before(g.expires) {
			delete(ss.refresh, t)
		}
	}
}

// user is the user of a valid access token, or nil.
func (ss *sessions) user(token string, now time.Time) *user {
	ss.mu.Lock()
	g, ok := ss.access[token]
	ss.mu.Unlock()
	if !ok || !now.Before(g.expires) {
		return nil
	}
	return g.user
}

// redeem uses up a refresh token and returns its user, or nil when the token is unknown,
// expired or already used.
func (ss *sessions) redeem(token string, now time.Time) *user {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	g, ok := ss.refresh[token]
	if !ok || g.used || !now.Before(g.expires) {
		return nil
	}
	g.used = true
	return g.user
}

// bearerUser is the user of the request's bearer token, or nil when the Authorization
// header is missing, malformed, or carries a token that is unknown or expired. Middlewares
// may call it (rate limits are per user); it only reads.
func (s *Server) bearerUser(r *http.Request) *user {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil
	}
	return s.auth.user(token, s.clock.now())
}

// Wire types of the auth operations.

type userJSON struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	FullName string `json:"full_name"`
	Role     string `json:"role"`
}

type tokenPairJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

type loginJSON struct {
	Tokens tokenPairJSON `json:"tokens"`
	User   userJSON      `json:"user"`
}

type refreshJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

type organizationJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type membershipJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type meJSON struct {
	userJSON
	Organization organizationJSON `json:"organization"`
	Companies    []membershipJSON `json:"companies"`
}

func renderUser(u *user) userJSON {
	return userJSON{ID: u.id, Email: u.email, FullName: u.fullName, Role: u.role}
}

// login is POST /auth/login.
func (s *Server) login(r *http.Request) (int, any, error) {
	o, err := readObject(r)
	if err != nil {
		return 0, nil, err
	}
	o.require("email", "password")
	email, _ := o.str("email", isEmail)
	password, _ := o.str("password", length(1, 0))
	if err := o.err(); err != nil {
		return 0, nil, err
	}
	u := s.userByEmail(email)
	if u == nil || subtle.ConstantTimeCompare([]byte(password), []byte(u.password)) != 1 {
		return 0, nil, errUnauthorized("Incorrect email or password.")
	}
	p := s.auth.issue(u, s.clock.now(), s.cfg.tokenLifetime, s.cfg.refreshLifetime)
	return http.StatusOK, loginJSON{
		Tokens: tokenPairJSON{AccessToken: p.access, RefreshToken: p.refresh, TokenType: "bearer", ExpiresIn: p.expiresIn},
		User:   renderUser(u),
	}, nil
}

// refresh is POST /auth/refresh: it always rotates the refresh token.
func (s *Server) refresh(r *http.Request) (int, any, error) {
	o, err := readObject(r)
	if err != nil {
		return 0, nil, err
	}
	o.require("refresh_token")
	token, _ := o.str("refresh_token", length(1, 0))
	if err := o.err(); err != nil {
		return 0, nil, err
	}
	now := s.clock.now()
	u := s.auth.redeem(token, now)
	if u == nil {
		return 0, nil, errUnauthorized("Refresh token is invalid, expired or already used.")
	}
	p := s.auth.issue(u, now, s.cfg.tokenLifetime, s.cfg.refreshLifetime)
	return http.StatusOK, refreshJSON{AccessToken: p.access, RefreshToken: p.refresh, TokenType: "bearer", ExpiresIn: p.expiresIn}, nil
}

// me is GET /auth/me.
func (s *Server) me(_ *http.Request, u *user) (int, any, error) {
	out := meJSON{
		userJSON:     renderUser(u),
		Organization: organizationJSON{ID: u.w.org.id, Name: u.w.org.name},
		Companies:    make([]membershipJSON, 0, len(u.memberships)),
	}
	for _, m := range u.memberships {
		out.Companies = append(out.Companies, membershipJSON{ID: m.companyID, Name: u.w.companyByID[m.companyID].name, Role: m.role})
	}
	return http.StatusOK, out, nil
}

// Company context.
//
// A collection route (list, create) requires company_id: companyParam reads it (422 when
// missing or malformed) and access answers 403 for a company the user cannot see. An item
// route takes an optional company_id: itemParams reads it with the path id, and findItem
// answers an item of another company as missing (404). writeAccess adds the viewer's 403.

// companyParam reads the required company_id of a collection route.
func companyParam(q *query) string {
	if q.values.Get("company_id") == "" {
		q.fail("company_id", msgRequired)
		return ""
	}
	id, _ := q.str("company_id", isUUIDStr)
	return normalizeUUID(id)
}

// access is nil when u can see the company, else 403 (an unknown company looks the same).
func (s *Server) access(u *user, companyID string) error {
	if _, ok := u.roleIn(companyID); !ok {
		return errForbidden(msgNoCompany)
	}
	return nil
}

// writeAccess is nil when u may change the company's data: 403 for a company the user
// cannot see and for a viewer.
func (s *Server) writeAccess(u *user, companyID string) error {
	if err := s.access(u, companyID); err != nil {
		return err
	}
	if !u.canWrite(companyID) {
		return errForbidden(msgViewerWrite)
	}
	return nil
}

// itemRef is the path id and optional company_id of an item route.
type itemRef struct {
	id, companyID string
}

// itemParams reads the item route's id and company_id (422 when malformed); a company_id
// the user cannot see is 403.
func (s *Server) itemParams(r *http.Request, u *user) (itemRef, error) {
	q := newQuery(r)
	var ref itemRef
	if id := r.PathValue("id"); !isUUID(id) {
		q.fail("id", "Input should be a valid UUID.")
	} else {
		ref.id = normalizeUUID(id)
	}
	if c, ok := q.str("company_id", isUUIDStr); ok {
		ref.companyID = normalizeUUID(c)
	}
	if err := q.err(); err != nil {
		return ref, err
	}
	if ref.companyID != "" {
		if err := s.access(u, ref.companyID); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// findItem looks ref up in t: ok is false when there is no such record, when it belongs to
// a company u cannot see, or to another company than ref's company_id. Call with the store
// lock held.
func findItem[T any](t *table[T], u *user, ref itemRef) (v *T, ok bool) {
	v, ok = t.get(ref.id)
	if !ok {
		return nil, false
	}
	_, owner := t.keys(v)
	if _, can := u.roleIn(owner); !can || (ref.companyID != "" && ref.companyID != owner) {
		return nil, false
	}
	return v, true
}

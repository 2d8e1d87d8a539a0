package atlas

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/atlas-accounting/atlas-go/atlastest"
	"github.com/atlas-accounting/atlas-go/internal/memnet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// verifyNoLeaks checks, after every cleanup registered later (servers,
// transports) has run, that the test left no goroutine behind. Call it first.
// Tests that use it must not be parallel.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

const (
	fakeEmail    = "jane.doe@example.com"
	fakePassword = "correct-horse-battery-staple"
)

// fakeAtlas is a small httptest Atlas for the edge cases atlastest does not
// produce: it issues and checks tokens, rotates refresh tokens, serves
// companies, and lets a test add or override routes.
type fakeAtlas struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux
	mem bool // srv is on an in-memory network (newBubbleFake)

	lifetime int // expires_in of issued tokens, seconds

	mu        sync.Mutex
	access    map[string]bool
	refresh   map[string]bool
	seq       int
	companies []Company
	seen      []seenRequest

	logins    atomic.Int32
	refreshes atomic.Int32

	interceptor func(w http.ResponseWriter, r *http.Request) bool
}

type seenRequest struct {
	Method, Path, Query string
	Header              http.Header
}

func newFakeAtlas(t *testing.T) *fakeAtlas {
	t.Helper()
	return startFakeAtlas(t, false)
}

// newBubbleFake is newFakeAtlas on an in-memory network, for a test inside a
// synctest bubble: only f.srv.Client() reaches it (onFake uses it).
func newBubbleFake(t *testing.T) *fakeAtlas {
	t.Helper()
	return startFakeAtlas(t, true)
}

func startFakeAtlas(t *testing.T, mem bool) *fakeAtlas {
	t.Helper()
	f := &fakeAtlas{
		mem:      mem,
		t:        t,
		mux:      http.NewServeMux(),
		lifetime: 3600,
		access:   map[string]bool{},
		refresh:  map[string]bool{},
	}
	for i := 1; i <= 3; i++ {
		f.companies = append(f.companies, Company{ID: fmt.Sprintf("c-%03d", i), Name: fmt.Sprintf("Company %d", i), BaseCurrency: "USD", FiscalYearStart: Date{2026, time.January, 1}})
	}
	f.mux.HandleFunc("POST /api/v1/auth/login", f.login)
	f.mux.HandleFunc("POST /api/v1/auth/refresh", f.refreshToken)
	f.handle("GET /auth/me", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Me{User: User{ID: "u-1", Email: fakeEmail, FullName: "Jane Doe", Role: RoleAdmin},
			Organization: Organization{ID: "o-1", Name: "Acme"}, Companies: []CompanyMembership{{ID: "c-001", Name: "Company 1", Role: RoleAdmin}}})
	})
	f.handle("GET /companies", f.listCompanies)
	f.handle("GET /companies/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.companies {
			if c.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, c)
				return
			}
		}
		writeError(w, http.StatusNotFound, "Company not found")
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api/v1"), Query: r.URL.RawQuery, Header: r.Header.Clone()})
		intercept := f.interceptor
		f.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		f.mux.ServeHTTP(w, r)
	})
	if mem {
		f.srv = newMemServer(t, h)
		return f
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// intercept lets fn answer any request first; it returns true when it did.
func (f *fakeAtlas) intercept(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interceptor = fn
}

// URL is the base URL of the fake API.
func (f *fakeAtlas) URL() string { return f.srv.URL + "/api/v1" }

// handle serves an authenticated route; pattern is "METHOD /path" relative to
// the base URL.
func (f *fakeAtlas) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	f.mux.HandleFunc(method+" /api/v1"+path, func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			writeError(w, http.StatusUnauthorized, "Not authenticated")
			return
		}
		h(w, r)
	})
}

func (f *fakeAtlas) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	return ok && f.access[token]
}

// issueLocked makes a new token pair.
func (f *fakeAtlas) issueLocked() tokenResponse {
	f.seq++
	t := tokenResponse{
		AccessToken:  fmt.Sprintf("access-secret-%d", f.seq),
		RefreshToken: fmt.Sprintf("refresh-secret-%d", f.seq),
		TokenType:    "bearer",
		ExpiresIn:    int64(f.lifetime),
	}
	f.access[t.AccessToken] = true
	f.refresh[t.RefreshToken] = true
	return t
}

func (f *fakeAtlas) login(w http.ResponseWriter, r *http.Request) {
	f.logins.Add(1)
	var in loginRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	if in.Email != fakeEmail || in.Password != fakePassword {
		writeError(w, http.StatusUnauthorized, "Invalid email or password")
		return
	}
	f.mu.Lock()
	t := f.issueLocked()
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, loginResponse{Tokens: t, User: User{ID: "u-1", Email: fakeEmail, FullName: "Jane Doe", Role: RoleAdmin}})
}

// refreshToken rotates: the refresh token given is spent.
func (f *fakeAtlas) refreshToken(w http.ResponseWriter, r *http.Request) {
	f.refreshes.Add(1)
	var in refreshRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.refresh[in.RefreshToken] {
		writeError(w, http.StatusUnauthorized, "Refresh token expired, revoked or reused")
		return
	}
	delete(f.refresh, in.RefreshToken)
	writeJSON(w, http.StatusOK, f.issueLocked())
}

// expireAccessTokens makes every access token issued so far invalid.
func (f *fakeAtlas) expireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

// revokeRefreshTokens makes every refresh token issued so far invalid.
func (f *fakeAtlas) revokeRefreshTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.refresh)
}

// issueTokens hands out a valid pair, as a previous session would have.
func (f *fakeAtlas) issueTokens() tokenResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issueLocked()
}

func (f *fakeAtlas) setCompanies(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.companies = f.companies[:0]
	for i := 1; i <= n; i++ {
		f.companies = append(f.companies, Company{ID: fmt.Sprintf("c-%03d", i), Name: fmt.Sprintf("Company %d", i), BaseCurrency: "USD", FiscalYearStart: Date{2026, time.January, 1}})
	}
}

func (f *fakeAtlas) listCompanies(w http.ResponseWriter, r *http.Request) {
	page, size := 1, 50
	if v := r.URL.Query().Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if v := r.URL.Query().Get("page_size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if page < 1 || size < 1 || size > 100 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": "Invalid paging", "status_code": 422,
			"errors": []FieldError{{Field: "page_size", Message: "must be 1..100"}}})
		return
	}
	f.mu.Lock()
	all := f.companies
	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	p := Page[Company]{Items: append([]Company{}, all[from:to]...), Total: len(all), Page: page, PageSize: size, HasNext: to < len(all)}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, p)
}

// requests returns the requests seen so far for method and path ("" for any).
func (f *fakeAtlas) requests(method, path string) []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seenRequest
	for _, s := range f.seen {
		if (method == "" || s.Method == method) && (path == "" || s.Path == path) {
			out = append(out, s)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail, "status_code": status})
}

// fastRetry retries quickly so that tests do not wait.
var fastRetry = RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

// Setup is where every test of this package that needs a client starts, in
// package atlas and in package atlas_test alike (it is exported for the
// latter, and compiled only into the tests). It starts an atlastest server
// and returns a client on it, logged in lazily as the server's admin, in
// its main company; the options say what differs: the server's options
// (ServerOptions), another server (OnServer, OnURL, OnMem), the client's
// options (ClientOptions, which come last and win), and, for a test inside a
// testing/synctest bubble, the in-memory network (InBubble: the server is
// atlastest.NewTestServer). The client sends through a transport of its own
// (the server's Client in a bubble) and retries fast (fastRetry). Everything
// Setup starts is closed when the test ends. The server is nil for a client
// on OnURL or OnMem.
func Setup(tb testing.TB, opts ...SetupOption) (*Client, *atlastest.Server) {
	tb.Helper()
	var cfg setupConfig
	for _, o := range opts {
		o(&cfg)
	}
	srv, baseURL, login, hc := cfg.srv, cfg.baseURL, cfg.login, cfg.hc
	if baseURL == "" {
		switch {
		case srv != nil:
		case cfg.bubble:
			srv = atlastest.NewTestServer(tb, cfg.srvOpts...)
		default:
			srv = atlastest.NewServer(cfg.srvOpts...)
			tb.Cleanup(srv.Close)
		}
		if cfg.bubble {
			hc = srv.Client()
		}
		baseURL = srv.URL
		login = []Option{WithCredentials(srv.Email(), srv.Password()), WithCompany(srv.CompanyID())}
	}
	if hc == nil {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		tb.Cleanup(tr.CloseIdleConnections)
		hc = &http.Client{Transport: tr}
	}
	all := []Option{WithBaseURL(baseURL), WithHTTPClient(hc), WithRetry(fastRetry)}
	all = append(append(all, login...), cfg.clientOpts...)
	c, err := NewClient(all...)
	require.NoError(tb, err)
	return c, srv
}

// SetupOption says what Setup starts, or how it builds the client.
type SetupOption func(*setupConfig)

type setupConfig struct {
	srvOpts    []atlastest.Option
	srv        *atlastest.Server
	bubble     bool // on the in-memory network: NewTestServer and its Client
	baseURL    string
	hc         *http.Client // with baseURL on newMemServer: its Client
	login      []Option     // with baseURL: its credentials and company, if any
	clientOpts []Option
}

// InBubble is for a test inside a testing/synctest bubble: Setup starts
// atlastest.NewTestServer, on an in-memory network on which a goroutine that
// waits is durably blocked (real sockets are not, and would stop the
// bubble's clock), and the client sends through the server's Client. With
// OnServer, the server must be a NewTestServer too.
func InBubble() SetupOption {
	return func(c *setupConfig) { c.bubble = true }
}

// ServerOptions starts Setup's atlastest server with opts.
func ServerOptions(opts ...atlastest.Option) SetupOption {
	return func(c *setupConfig) { c.srvOpts = append(c.srvOpts, opts...) }
}

// OnServer builds the client on srv, which the test started (and closes),
// instead of starting a server: another client on the same server.
func OnServer(srv *atlastest.Server) SetupOption {
	return func(c *setupConfig) { c.srv = srv }
}

// OnURL builds the client on baseURL, a server of the test's own, with
// neither credentials nor a company: ClientOptions gives them.
func OnURL(baseURL string) SetupOption {
	return func(c *setupConfig) { c.baseURL, c.login = baseURL, nil }
}

// OnMem builds the client on srv, a server of the test's own from
// newMemServer, at srv.URL+path and through srv.Client(), with neither
// credentials nor a company (ClientOptions gives them): a hand-written
// handler for a test in a synctest bubble.
func OnMem(srv *httptest.Server, path string) SetupOption {
	return func(c *setupConfig) { c.baseURL, c.hc, c.login = srv.URL+path, srv.Client(), nil }
}

// newMemServer is httptest.NewServer on an in-memory network
// (internal/memnet, the one atlastest.NewTestServer runs on): in a synctest
// bubble a goroutine that waits on its connections is durably blocked, so
// the bubble's clock moves. Only srv.Client() reaches it, whatever host a
// request names. It is closed when the test ends.
func newMemServer(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	var network memnet.Network
	l := network.Listen("127.0.0.1:0")
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}}
	srv.Start()
	srv.Client().Transport = l.Transport()
	tb.Cleanup(srv.Close)
	return srv
}

// NewMemServer is newMemServer for the tests of package atlas_test.
func NewMemServer(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	return newMemServer(tb, h)
}

// ClientOptions are given to NewClient after Setup's own, so they win.
func ClientOptions(opts ...Option) SetupOption {
	return func(c *setupConfig) { c.clientOpts = append(c.clientOpts, opts...) }
}

// onFake builds the client on f, with f's credentials and no company.
func onFake(f *fakeAtlas) SetupOption {
	return func(c *setupConfig) {
		c.baseURL, c.login = f.URL(), []Option{WithCredentials(fakeEmail, fakePassword)}
		if f.mem {
			c.hc = f.srv.Client()
		}
	}
}

// recv receives from ch, failing the test if nothing comes within a generous
// bound (a hang, not a timing measurement).
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received: the code under test is stuck")
		var zero T
		return zero
	}
}

// recorder is a transport that notes every request that reaches the wire and
// the status it got, beneath the client's own transport.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []recorded
}

type recorded struct {
	Method, Path string
	Status       int // 0 for a transport error
	Auth         bool
	RetryAfter   string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	rec := recorded{Method: req.Method, Path: req.URL.Path, Auth: req.Header.Get("Authorization") != ""}
	if err == nil {
		rec.Status = resp.StatusCode
		rec.RetryAfter = resp.Header.Get("Retry-After")
	}
	r.mu.Lock()
	r.seen = append(r.seen, rec)
	r.mu.Unlock()
	return resp, err
}

// count returns how many requests matched method and path suffix, and status
// (0 for any).
func (r *recorder) count(method, pathSuffix string, status int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		if s.Method == method && strings.HasSuffix(s.Path, pathSuffix) && (status == 0 || s.Status == status) {
			n++
		}
	}
	return n
}

// all returns what was recorded.
func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.seen...)
}

// withRecorderOn is withRecorder on srv's Client: for a NewTestServer, in
// a synctest bubble.
func withRecorderOn(srv *atlastest.Server) (Option, *recorder) {
	rec := &recorder{base: srv.Client().Transport}
	return WithHTTPClient(&http.Client{Transport: rec}), rec
}

// withRecorder makes the client send through a recorder (on its own
// transport, closed at the end of the test) and returns the option and the
// recorder.
func withRecorder(t *testing.T) (Option, *recorder) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	rec := &recorder{base: tr}
	return WithHTTPClient(&http.Client{Transport: rec}), rec
}

package atlas

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestNewClientValidatesOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    []Option
		wantErr string // "" for success
	}{
		{"defaults", nil, ""},
		{"https", []Option{WithBaseURL("https://atlas.example.com/api/v1/")}, ""},
		{"http loopback v4", []Option{WithBaseURL("http://127.0.0.1:8080/api/v1")}, ""},
		{"http loopback v6", []Option{WithBaseURL("http://[::1]:8080/api/v1")}, ""},
		{"http localhost", []Option{WithBaseURL("http://localhost:8080/api/v1")}, ""},
		{"http remote", []Option{WithBaseURL("http://atlas.example.com/api/v1")}, "not loopback"},
		{"http remote, explicitly insecure", []Option{WithBaseURL("http://atlas.example.com/api/v1"), WithInsecureHTTP()}, ""},
		{"insecure given first", []Option{WithInsecureHTTP(), WithBaseURL("http://10.0.0.8/api/v1")}, ""},
		{"relative", []Option{WithBaseURL("api/v1")}, "not absolute"},
		{"no host", []Option{WithBaseURL("https:///api/v1")}, "not absolute"},
		{"unparsable", []Option{WithBaseURL("https://exa mple.com/%zz")}, "base URL"},
		{"ftp", []Option{WithBaseURL("ftp://atlas.example.com")}, "scheme"},
		{"user info", []Option{WithBaseURL("https://me:pw@atlas.example.com")}, "user info"},
		{"query", []Option{WithBaseURL("https://atlas.example.com/api/v1?x=1")}, "query"},
		{"empty password", []Option{WithCredentials("a@example.com", "")}, "WithCredentials"},
		{"no tokens", []Option{WithTokens("", "")}, "WithTokens"},
		{"nil store", []Option{WithTokenStore(nil)}, "WithTokenStore"},
		{"empty company", []Option{WithCompany("")}, "WithCompany"},
		{"unknown tier", []Option{WithTier("gold")}, "unknown tier"},
		{"nil http client", []Option{WithHTTPClient(nil)}, "WithHTTPClient"},
		{"negative retries", []Option{WithRetry(RetryPolicy{MaxRetries: -1})}, "negative"},
		{"max below min", []Option{WithRetry(RetryPolicy{MaxRetries: 1, MinBackoff: time.Second, MaxBackoff: time.Millisecond})}, "MaxBackoff"},
		{"user agent line break", []Option{WithUserAgent("a\r\nX-Evil: 1")}, "line break"},
		{"user agent control character", []Option{WithUserAgent("a\x00b")}, "control character"},
		{"unparsable with a password", []Option{WithBaseURL("https://me:s3cret-pass@exa mple.com/")}, "base URL"},
		{"opaque with a password", []Option{WithBaseURL("me:s3cret-pass@atlas.example.com")}, "not absolute"},
		{"opaque https with a password", []Option{WithBaseURL("https:me:s3cret-pass@atlas.example.com/api/v1")}, "not absolute"},
		{"no scheme with a password", []Option{WithBaseURL("me:s3cret-pass@atlas.example.com/api/v1")}, "not absolute"},
		{"ftp with a password in the path", []Option{WithBaseURL("ftp://atlas.example.com/me:s3cret-pass@x")}, "scheme"},
		{"query with a key", []Option{WithBaseURL("https://atlas.example.com/api/v1?key=s3cret-pass")}, "query"},
		{"negative rate-limit wait", []Option{WithRetry(RetryPolicy{MaxRateLimitWait: -time.Second})}, "negative"},
		{"nil limiter", []Option{WithLimiter(nil)}, "WithLimiter"},
		{"nil option", []Option{nil}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.opts...)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, c.Invoices)
				return
			}
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "atlas: "), err.Error())
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.NotErrorIs(t, err, ErrInvalidParams)
			assert.NotContains(t, err.Error(), "s3cret-pass")
		})
	}
}

func TestWithCredentialsErrorDoesNotEchoThePassword(t *testing.T) {
	t.Parallel()
	_, err := NewClient(WithCredentials("", "s3cret-pass"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret-pass")
}

// headerServer answers every request with {} and keeps the requests' headers.
type headerServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newHeaderServer(t *testing.T, status int) *headerServer {
	hs := &headerServer{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.mu.Lock()
		hs.headers = append(hs.headers, r.Header.Clone())
		hs.mu.Unlock()
		writeJSON(w, status, map[string]any{"detail": "x", "status_code": status})
	}))
	t.Cleanup(hs.Close)
	return hs
}

func (hs *headerServer) seen() []http.Header {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return append([]http.Header(nil), hs.headers...)
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	hs := newHeaderServer(t, http.StatusOK)
	c, _ := Setup(t, OnURL(hs.URL), ClientOptions(WithTokens("tok-1", ""), WithUserAgent("my-app/1.2")))
	ctx := context.Background()

	_, err := call[struct{}](ctx, c, Request{Method: http.MethodGet, Path: "/x"}, configOf([]RequestOption{WithHeader("X-Trace", "abc")}))
	require.NoError(t, err)
	_, err = call[struct{}](ctx, c, Request{Method: http.MethodPost, Path: "/x", Body: map[string]int{"a": 1}}, requestConfig{})
	require.NoError(t, err)
	_, err = call[struct{}](ctx, c, Request{Method: http.MethodPost, Path: "/x"}, configOf([]PostOption{WithIdempotencyKey("my-key-1")}))
	require.NoError(t, err)

	h := hs.seen()
	require.Len(t, h, 3)
	wantUA := "my-app/1.2 atlas-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")
	for _, hdr := range h {
		assert.Equal(t, wantUA, hdr.Get("User-Agent"))
		assert.Equal(t, "application/json", hdr.Get("Accept"))
		assert.Equal(t, "Bearer tok-1", hdr.Get("Authorization"))
	}
	assert.Equal(t, "abc", h[0].Get("X-Trace"))
	assert.Empty(t, h[0].Get("Content-Type"), "no body, no content type")
	assert.Empty(t, h[0].Values("Idempotency-Key"), "only POSTs carry a key")
	assert.Equal(t, "application/json", h[1].Get("Content-Type"))
	_, err = uuid.Parse(h[1].Get("Idempotency-Key"))
	assert.NoError(t, err, "a random UUID")
	assert.Equal(t, "my-key-1", h[2].Get("Idempotency-Key"))
}

func TestDefaultUserAgent(t *testing.T) {
	t.Parallel()
	hs := newHeaderServer(t, http.StatusOK)
	c, _ := Setup(t, OnURL(hs.URL), ClientOptions(WithTokens("tok-1", "")))
	_, err := c.Companies.Get(context.Background(), "c")
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^atlas-go/\d+\.\d+\.\d+ go/\d+\.\d+`), hs.seen()[0].Get("User-Agent"))
}

// idempotentServer creates a "thing" per POST /things, but replays the first
// answer for a repeated Idempotency-Key, as the contract says Atlas does.
// failFirst says how the first attempt fails.
type idempotentServer struct {
	*httptest.Server
	mu       sync.Mutex
	things   int
	replies  map[string][]byte
	keys     []string
	attempts int
}

func newIdempotentServer(t *testing.T, failFirst string) *idempotentServer {
	s := &idempotentServer{replies: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		s.mu.Lock()
		s.attempts++
		attempt := s.attempts
		s.keys = append(s.keys, key)
		if attempt == 1 && failFirst == "503" {
			s.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		reply, seen := s.replies[key]
		if !seen {
			s.things++
			reply, _ = json.Marshal(map[string]any{"id": s.things})
			s.replies[key] = reply
		}
		s.mu.Unlock()
		if attempt == 1 && failFirst == "drop" {
			// Created, then the connection breaks before the answer leaves.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(reply)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestPostRetriedWithTheSameKeyMakesOneResource(t *testing.T) {
	t.Parallel()
	for _, fail := range []string{"503", "drop"} {
		t.Run(fail, func(t *testing.T) {
			t.Parallel()
			s := newIdempotentServer(t, fail)
			c, _ := Setup(t, OnURL(s.URL), ClientOptions(WithTokens("tok", "")))
			out, err := call[struct{ ID int }](context.Background(), c, Request{Method: http.MethodPost, Path: "/things", Body: map[string]string{"name": "x"}}, requestConfig{})
			require.NoError(t, err)
			assert.Equal(t, 1, out.ID)

			s.mu.Lock()
			defer s.mu.Unlock()
			assert.Equal(t, 1, s.things, "exactly one resource on the server")
			require.GreaterOrEqual(t, len(s.keys), 2, "the first attempt failed, so there was a retry")
			for _, k := range s.keys {
				assert.Equal(t, s.keys[0], k, "the key stays the same across retries")
			}
		})
	}
}

func TestCompanyScope(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /scoped", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, map[string]string{}) })
	f.handle("POST /scoped", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, map[string]string{}) })
	none, _ := Setup(t, onFake(f))
	with := none.ForCompany("co-1")
	ctx := context.Background()

	_, err := call[struct{}](ctx, none, Request{Path: "/scoped", Company: CompanyRequired}, requestConfig{})
	assert.ErrorIs(t, err, ErrNoCompany)
	assert.Equal(t, "atlas: GET /scoped: no company: use WithCompany or Client.ForCompany", err.Error())
	assert.Empty(t, f.requests("", "/scoped"), "nothing is sent without a company")

	cases := []struct {
		c     *Client
		scope CompanyScope
		query url.Values
		want  url.Values
	}{
		{with, CompanyRequired, nil, url.Values{"company_id": {"co-1"}}},
		{with, CompanyRequired, url.Values{"status": {"sent"}, "q": {"a&b"}}, url.Values{"company_id": {"co-1"}, "status": {"sent"}, "q": {"a&b"}}},
		{with, CompanyOptional, nil, url.Values{"company_id": {"co-1"}}},
		{none, CompanyOptional, nil, url.Values{}},
		{with, CompanyNone, url.Values{"page": {"2"}}, url.Values{"page": {"2"}}},
	}
	for i, tc := range cases {
		_, err := call[struct{}](ctx, tc.c, Request{Path: "/scoped", Company: tc.scope, Query: tc.query}, requestConfig{})
		require.NoError(t, err)
		seen := f.requests("", "/scoped")
		got, _ := url.ParseQuery(seen[len(seen)-1].Query)
		assert.Equal(t, tc.want, got, "case %d", i)
	}
}

func TestForCompanySharesTokensAndRateLimit(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /rl", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "300")
		w.Header().Set("X-RateLimit-Remaining", "299")
		w.Header().Set("X-RateLimit-Reset", "1768473060")
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	c, _ := Setup(t, onFake(f), ClientOptions(WithCompany("co-1")))
	other := c.ForCompany("co-2")
	assert.Equal(t, "co-1", c.Company())
	assert.Equal(t, "co-2", other.Company())
	assert.Same(t, other, other.Invoices.client, "the copy's services use the copy")

	_, err := other.Auth.Me(context.Background())
	require.NoError(t, err)
	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.logins.Load(), "one login for both")

	_, err = call[struct{}](context.Background(), other, Request{Path: "/rl"}, requestConfig{})
	require.NoError(t, err)
	assert.Equal(t, RateLimit{Limit: 300, Remaining: 299, Reset: time.Unix(1768473060, 0)}, c.RateLimit(), "one budget for both")
}

func TestWithResponseCapturesTheAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-9")
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "41")
		w.Header().Set("X-RateLimit-Reset", "1768473060")
		if r.URL.Path == "/api/v1/companies/missing" {
			writeError(w, http.StatusNotFound, "Company not found")
			return
		}
		writeJSON(w, http.StatusOK, Company{ID: "c-1", FiscalYearStart: Date{2026, 1, 1}})
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL+"/api/v1"), ClientOptions(WithTokens("tok", "")))

	for _, tc := range []struct {
		id     string
		status int
	}{{"c-1", 200}, {"missing", 404}} {
		var resp *Response
		_, _ = c.Companies.Get(context.Background(), tc.id, WithResponse(&resp))
		require.NotNil(t, resp)
		assert.Equal(t, tc.status, resp.StatusCode)
		assert.Equal(t, "req-9", resp.RequestID)
		assert.Equal(t, RateLimit{Limit: 60, Remaining: 41, Reset: time.Unix(1768473060, 0)}, resp.RateLimit)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	}
}

func TestSuccessBodiesThatDoNotDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		wantErr    string
	}{
		{"malformed", `{"id": `, "decode response"},
		{"wrong type", `{"id": 12}`, "decode response"},
		// An empty or null answer was a zero Company and no error; issue 10
		// makes it an error (TestEmptyOrNullSuccessIsAnError has the rest).
		{"empty", ``, "200 OK with an empty or null body"},
		{"null", `null`, "200 OK with an empty or null body"},
		{"an empty object is an object", `{}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
			co, err := c.Companies.Get(context.Background(), "c-1")
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, &Company{}, co)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "atlas: GET /companies/c-1: "+tc.wantErr)
		})
	}
}

func TestNilContextIsAnError(t *testing.T) {
	t.Parallel()
	c, _ := Setup(t, OnURL("http://127.0.0.1:1"), ClientOptions(WithTokens("tok", "ref"), WithCompany("c-1")))
	var nilCtx context.Context // a caller passing nil, without tripping SA1012
	cases := map[string]struct {
		call func() error
		want string
	}{
		"call": {func() error { _, err := c.Companies.Get(nilCtx, "c-1"); return err }, "atlas: GET /companies/c-1: nil context"},
		"All": {func() error {
			for _, err := range c.Invoices.All(nilCtx, nil) {
				return err
			}
			return nil
		}, "atlas: GET /invoices: nil context"},
		"Refresh": {func() error { return c.Auth.Refresh(nilCtx) }, "atlas: POST /auth/refresh: nil context"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.call()
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// captureLogs returns a Debug logger writing JSON into the returned buffer.
func captureLogs() (*slog.Logger, *testkit.SyncBuffer) {
	buf := &testkit.SyncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// Secrets appear in no log line at Debug and in no error, whatever path a
// call takes: login, refresh, 401 and replay, retries, refused credentials.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /flaky", func() http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, _ *http.Request) {
			if n.Add(1) == 1 {
				writeError(w, http.StatusServiceUnavailable, "try again")
				return
			}
			writeError(w, http.StatusUnprocessableEntity, "Validation failed")
		}
	}())
	logger, logs := captureLogs()
	c, _ := Setup(t, onFake(f), ClientOptions(WithLogger(logger)))
	ctx := context.Background()
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	_, err := c.Auth.Me(ctx)
	require.NoError(t, err)
	f.expireAccessTokens()
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)
	_, err = call[struct{}](ctx, c, Request{Path: "/flaky"}, requestConfig{})
	collect(err)
	collect(c.Auth.Refresh(ctx))
	f.expireAccessTokens()
	f.revokeRefreshTokens()
	_, err = c.Auth.Me(ctx)
	collect(err)
	_, err = c.Auth.Login(ctx, fakeEmail, "wrong-"+fakePassword)
	collect(err)
	tok := f.issueTokens()
	bare, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokens(tok.AccessToken, tok.RefreshToken), WithLogger(logger)))
	f.expireAccessTokens()
	f.revokeRefreshTokens()
	_, err = bare.Auth.Me(ctx)
	collect(err)

	require.NotEmpty(t, errs)
	out := logs.String()
	for _, want := range []string{"atlas: request", "atlas: retrying", "atlas: logged in", "atlas: access token refreshed", "atlas: access token refused"} {
		assert.Contains(t, out, want, "the Debug log covers the path")
	}
	secrets := []string{fakePassword, "access-secret", "refresh-secret", "Bearer", "Authorization"}
	for _, s := range secrets {
		assert.NotContains(t, out, s)
		for _, err := range errs {
			assert.NotContains(t, err.Error(), s)
		}
	}
}

func TestWaitsAreLogged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, _ := rateServer(t, 1, http.Header{"Retry-After": {"7"}})
		logger, logs := captureLogs()
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithLogger(logger)))
		done := testkit.Go(func() error {
			_, err := c.Companies.Get(context.Background(), "c-1")
			return err
		})
		synctest.Wait()
		assert.Contains(t, logs.String(), `"msg":"atlas: waiting","method":"GET","path":"/companies/c-1","for":"rate limit","wait":7000000000`)
		time.Sleep(7 * time.Second)
		require.NoError(t, <-done)
	})
}

func TestErrorsNameTheOperation(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	_, err := c.Companies.Get(context.Background(), "nope")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "atlas: GET /companies/nope: 404 Not Found: Company not found", err.Error())
	assert.True(t, errors.Is(err, ErrNotFound))
}

// End to end: a create whose first attempt fails is retried with the same
// Idempotency-Key and leaves exactly one customer, whether the failure came
// before the server acted (a 503, a dropped connection) or after it had
// created the customer and the answer was lost: then the server replays it.
func TestAtlastestCreateRetriedAfterAFailureMakesOneCustomer(t *testing.T) {
	t.Parallel()
	route := atlastest.Matching("POST /contacts/customers")
	cases := []struct {
		name   string
		inject func(srv *atlastest.Server)
	}{
		{"503 before acting", func(srv *atlastest.Server) { srv.FailNext(1, http.StatusServiceUnavailable, route) }},
		{"dropped before acting", func(srv *atlastest.Server) { srv.DropNext(1, route) }},
		{"503 after acting", func(srv *atlastest.Server) {
			srv.FailNext(1, http.StatusServiceUnavailable, route, atlastest.AfterHandler())
		}},
		{"answer lost after acting", func(srv *atlastest.Server) { srv.DropNext(1, route, atlastest.AfterHandler()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, srv := Setup(t)
			ctx := context.Background()
			before, err := c.Customers.List(ctx, nil)
			require.NoError(t, err)
			tc.inject(srv)
			srv.ResetRequests()
			created, err := c.Customers.Create(ctx, &CustomerCreateParams{DisplayName: "Initech"})
			require.NoError(t, err)

			var keys []string
			for _, r := range srv.Requests() {
				if r.Method == http.MethodPost && r.Path == "/contacts/customers" {
					keys = append(keys, r.IdempotencyKey)
				}
			}
			require.GreaterOrEqual(t, len(keys), 2, "the first attempt failed, so it was retried")
			for _, k := range keys {
				assert.Equal(t, keys[0], k, "one Idempotency-Key for every attempt")
			}

			after, err := c.Customers.List(ctx, nil)
			require.NoError(t, err)
			assert.Equal(t, before.Total+1, after.Total, "exactly one new customer")
			n := 0
			for _, cu := range after.Items {
				if cu.DisplayName == "Initech" {
					n++
					assert.Equal(t, created.ID, cu.ID)
				}
			}
			assert.Equal(t, 1, n)
		})
	}
}

package atlas_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// A route the SDK wraps, called through Do into the SDK's own types, gives
// what the wrapped method gives: they share one path.
func TestDoGivesWhatTheWrappedMethodGives(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()

	want, err := c.Customers.List(ctx, &atlas.CustomerListParams{
		ListOptions: atlas.ListOptions{PageSize: 2, SortOrder: atlas.SortAsc}, SortBy: atlas.CustomerSortByDisplayName})
	require.NoError(t, err)
	var got atlas.Page[atlas.Customer]
	require.NoError(t, c.Do(ctx, &atlas.Request{
		Path:    "/contacts/customers",
		Query:   url.Values{"page_size": {"2"}, "sort_order": {"asc"}, "sort_by": {"display_name"}},
		Company: atlas.CompanyRequired,
	}, &got))
	assert.Equal(t, want, &got)

	id := srv.Seed().CustomerIDs[0]
	one, err := c.Customers.Get(ctx, id)
	require.NoError(t, err)
	var same atlas.Customer
	require.NoError(t, c.Do(ctx, &atlas.Request{Path: "/contacts/customers/" + url.PathEscape(id), Company: atlas.CompanyOptional}, &same))
	assert.Equal(t, one, &same)

	// The wire saw the same requests, query and all.
	var lists, gets []atlastest.RecordedRequest
	for _, r := range srv.Requests() {
		switch r.Path {
		case "/contacts/customers":
			lists = append(lists, r)
		case "/contacts/customers/" + id:
			gets = append(gets, r)
		}
	}
	require.Len(t, lists, 2)
	require.Len(t, gets, 2)
	assert.Equal(t, lists[0].Query, lists[1].Query)
	assert.Equal(t, gets[0].Query, gets[1].Query)
	assert.Equal(t, lists[0].Header.Get("User-Agent"), lists[1].Header.Get("User-Agent"))
}

// A non-2xx answer through Do is an *Error that names the call, as from any
// method.
func TestDoAPIErrorIsError(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t)
	ctx := context.Background()

	missing := "/invoices/00000000-0000-4000-8000-000000000000"
	err := c.Do(ctx, &atlas.Request{Path: missing, Company: atlas.CompanyOptional}, &struct{}{})
	var apiErr *atlas.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.ErrorIs(t, err, atlas.ErrNotFound)
	assert.Equal(t, http.MethodGet, apiErr.Method)
	assert.Equal(t, missing, apiErr.Path)
	assert.NotEmpty(t, apiErr.RequestID)

	err = c.Do(ctx, &atlas.Request{Method: http.MethodPost, Path: "/contacts/customers",
		Body: map[string]string{"email": "no-name@example.com"}, Company: atlas.CompanyRequired}, nil)
	require.ErrorAs(t, err, &apiErr)
	assert.ErrorIs(t, err, atlas.ErrValidation)
	require.NotEmpty(t, apiErr.Errors)
	assert.Equal(t, "display_name", apiErr.Errors[0].Field)
}

// A POST through Do that is retried carries one Idempotency-Key on every
// attempt, so the server makes one customer.
func TestDoRetriedPostKeepsIdempotencyKey(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]atlas.PostOption{
		"random key": nil,
		"given key":  {atlas.WithIdempotencyKey("customer-for-order-17")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, srv := atlas.Setup(t) // fast retries: three retries 1-2 ms apart
			// The first attempt is made and its answer lost; the second is refused.
			srv.DropNext(1, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
			srv.FailNext(1, http.StatusServiceUnavailable, atlastest.Matching("POST /contacts/customers"))

			var created struct {
				ID string `json:"id"`
			}
			require.NoError(t, c.Do(context.Background(), &atlas.Request{Method: http.MethodPost, Path: "/contacts/customers",
				Body: map[string]string{"display_name": "Hooli Widgets 17"}, Company: atlas.CompanyRequired}, &created, opts...))
			require.NotEmpty(t, created.ID)

			var keys []string
			for _, r := range srv.Requests() {
				if r.Method == http.MethodPost && r.Path == "/contacts/customers" {
					keys = append(keys, r.IdempotencyKey)
				}
			}
			require.Len(t, keys, 3, "a lost answer, a 503, a success")
			assert.NotEmpty(t, keys[0])
			if len(opts) > 0 {
				assert.Equal(t, "customer-for-order-17", keys[0])
			}
			assert.Equal(t, []string{keys[0], keys[0], keys[0]}, keys)

			page, err := c.Customers.List(context.Background(), &atlas.CustomerListParams{Search: "Hooli Widgets 17"})
			require.NoError(t, err)
			assert.Equal(t, 1, page.Total, "one customer, however many attempts")
		})
	}
}

// betaAPI is an Atlas whose only route besides auth is one the SDK does not
// know: POST /beta/widgets. It refuses the first access token it issued once,
// as a server does that revoked it, and reports a rate limit.
type betaAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []*http.Request
	bodies []string
	issued atomic.Int32
}

func newBetaAPI(t *testing.T) *betaAPI {
	t.Helper()
	b := &betaAPI{}
	token := func(w http.ResponseWriter) {
		n := strconv.Itoa(int(b.issued.Add(1)))
		tokens := map[string]any{"access_token": "access-" + n, "refresh_token": "refresh-" + n, "token_type": "bearer", "expires_in": 3600}
		w.Header().Set("Content-Type", "application/json")
		// The shape of a login's answer and of a refresh's in one.
		tokens["tokens"] = maps.Clone(tokens)
		_ = json.NewEncoder(w).Encode(tokens)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", func(w http.ResponseWriter, _ *http.Request) { token(w) })
	mux.HandleFunc("POST /api/v1/auth/refresh", func(w http.ResponseWriter, _ *http.Request) { token(w) })
	mux.HandleFunc("POST /api/v1/beta/widgets", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.seen = append(b.seen, r.Clone(context.Background()))
		b.bodies = append(b.bodies, string(body))
		b.mu.Unlock()
		h := w.Header()
		h.Set("X-RateLimit-Limit", "60")
		h.Set("X-RateLimit-Remaining", "41")
		h.Set("X-RateLimit-Reset", "4102444800")
		if r.Header.Get("Authorization") == "Bearer access-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-ID", "req-beta-1")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "w-1", "name": "Gadget", "company_id": r.URL.Query().Get("company_id"), "beta_only": true})
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

// An endpoint the SDK has never heard of gets the whole pipeline through
// Do: login, the token in the header, a renewal and one replay after a 401,
// the company, the JSON body, one Idempotency-Key, the rate limit read,
// and the answer decoded into the caller's type.
func TestDoUnknownEndpoint(t *testing.T) {
	t.Parallel()
	b := newBetaAPI(t)
	c, _ := atlas.Setup(t, atlas.OnURL(b.srv.URL+"/api/v1"), atlas.ClientOptions(atlas.WithCredentials("jane@example.com", "hunter2-hunter2"),
		atlas.WithCompany("co-7"), atlas.WithUserAgent("widgets/0.1")))

	type widget struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CompanyID string `json:"company_id"`
		BetaOnly  bool   `json:"beta_only"`
	}
	var got widget
	var resp *atlas.Response
	require.NoError(t, c.Do(context.Background(), &atlas.Request{
		Method:  http.MethodPost,
		Path:    "/beta/widgets",
		Query:   url.Values{"dry_run": {"false"}},
		Body:    json.RawMessage(`{"name":"Gadget"}`),
		Company: atlas.CompanyRequired,
	}, &got, atlas.WithHeader("X-Trace", "t-9"), atlas.WithResponse(&resp)))
	assert.Equal(t, widget{ID: "w-1", Name: "Gadget", CompanyID: "co-7", BetaOnly: true}, got)

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Len(t, b.seen, 2, "refused once, replayed once with a renewed token")
	assert.Equal(t, "Bearer access-1", b.seen[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer access-2", b.seen[1].Header.Get("Authorization"))
	for i, r := range b.seen {
		assert.Equal(t, url.Values{"dry_run": {"false"}, "company_id": {"co-7"}}, r.URL.Query(), "attempt %d", i)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "t-9", r.Header.Get("X-Trace"))
		assert.True(t, strings.HasPrefix(r.Header.Get("User-Agent"), "widgets/0.1 atlas-go/"), r.Header.Get("User-Agent"))
		assert.JSONEq(t, `{"name":"Gadget"}`, b.bodies[i])
	}
	assert.NotEmpty(t, b.seen[0].Header.Get("Idempotency-Key"))
	assert.Equal(t, b.seen[0].Header.Get("Idempotency-Key"), b.seen[1].Header.Get("Idempotency-Key"))

	require.NotNil(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "req-beta-1", resp.RequestID)
	assert.Equal(t, 41, c.RateLimit().Remaining, "the pacer read the unknown route's rate limit")
}

// The company goes with a Request as its Company says, whatever the client's.
func TestDoCompanyScope(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Query())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	with, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithTokens("tok", ""), atlas.WithCompany("co-1")))
	without := with.ForCompany("")
	ctx := context.Background()

	for _, tc := range []struct {
		name  string
		c     *atlas.Client
		scope atlas.CompanyScope
		query url.Values
		want  url.Values
	}{
		{"none", with, atlas.CompanyNone, nil, url.Values{}},
		{"none keeps the caller's company_id", with, atlas.CompanyNone, url.Values{"company_id": {"co-9"}}, url.Values{"company_id": {"co-9"}}},
		{"optional with a company", with, atlas.CompanyOptional, url.Values{"a": {"1"}}, url.Values{"a": {"1"}, "company_id": {"co-1"}}},
		{"optional without one", without, atlas.CompanyOptional, nil, url.Values{}},
		{"required", with, atlas.CompanyRequired, nil, url.Values{"company_id": {"co-1"}}},
	} {
		mu.Lock()
		queries = nil
		mu.Unlock()
		require.NoError(t, tc.c.Do(ctx, &atlas.Request{Method: http.MethodDelete, Path: "/things/1", Query: tc.query, Company: tc.scope}, nil), tc.name)
		mu.Lock()
		assert.Equal(t, []url.Values{tc.want}, queries, tc.name)
		mu.Unlock()
	}

	mu.Lock()
	queries = nil
	mu.Unlock()
	err := without.Do(ctx, &atlas.Request{Path: "/things", Company: atlas.CompanyRequired}, nil)
	assert.ErrorIs(t, err, atlas.ErrNoCompany)
	mu.Lock()
	assert.Empty(t, queries, "nothing sent without the company a route requires")
	mu.Unlock()
}

// What Do cannot send as given fails with ErrInvalidParams before any
// request, the login included; so do the options every method takes that
// net/http would refuse only after the retries.
func TestDoRefusesBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithCredentials("jane@example.com", "hunter2-hunter2"),
		atlas.WithCompany("co-1")))
	ctx := context.Background()
	var out struct{}

	for name, call := range map[string]func() error{
		"nil request":             func() error { return c.Do(ctx, nil, &out) },
		"lower-case method":       func() error { return c.Do(ctx, &atlas.Request{Method: "post", Path: "/x"}, &out) },
		"unknown method":          func() error { return c.Do(ctx, &atlas.Request{Method: "CONNECT", Path: "/x"}, &out) },
		"no leading slash":        func() error { return c.Do(ctx, &atlas.Request{Path: "invoices"}, &out) },
		"empty path":              func() error { return c.Do(ctx, &atlas.Request{}, &out) },
		"another host":            func() error { return c.Do(ctx, &atlas.Request{Path: "//evil.example/x"}, &out) },
		"absolute URL":            func() error { return c.Do(ctx, &atlas.Request{Path: "https://evil.example/x"}, &out) },
		"query in the path":       func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices?status=paid"}, &out) },
		"fragment":                func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices#top"}, &out) },
		"unescaped":               func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/a b"}, &out) },
		"dot-dot":                 func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/../auth/me"}, &out) },
		"escaped dot-dot":         func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/%2e%2e/x"}, &out) },
		"dot":                     func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/./x"}, &out) },
		"dot-dot with parameters": func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/..;/auth/me"}, &out) },
		"dot-dot with a parameter": func() error {
			return c.Do(ctx, &atlas.Request{Path: "/invoices/..;jsessionid=1/auth/me"}, &out)
		},
		"escaped dot-dot-semicolon": func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/%2e%2e%3b/auth/me"}, &out) },
		"dot with parameters":       func() error { return c.Do(ctx, &atlas.Request{Path: "/invoices/.;/x"}, &out) },
		"company_id in query": func() error {
			return c.Do(ctx, &atlas.Request{Path: "/x", Query: url.Values{"company_id": {"co-2"}}, Company: atlas.CompanyOptional}, &out)
		},
		"body on a GET":     func() error { return c.Do(ctx, &atlas.Request{Path: "/x", Body: map[string]int{"a": 1}}, &out) },
		"out not a pointer": func() error { return c.Do(ctx, &atlas.Request{Path: "/x"}, out) },
		"out a nil pointer": func() error { return c.Do(ctx, &atlas.Request{Path: "/x"}, (*struct{})(nil)) },
		"key on a GET":      func() error { return c.Do(ctx, &atlas.Request{Path: "/x"}, &out, atlas.WithIdempotencyKey("k")) },
		"key on a PATCH": func() error {
			return c.Do(ctx, &atlas.Request{Method: http.MethodPatch, Path: "/x"}, &out, atlas.WithIdempotencyKey("k"))
		},
		"empty key": func() error {
			return c.Do(ctx, &atlas.Request{Method: http.MethodPost, Path: "/x"}, &out, atlas.WithIdempotencyKey(""))
		},
		"key with a line break": func() error {
			return c.Do(ctx, &atlas.Request{Method: http.MethodPost, Path: "/x"}, &out, atlas.WithIdempotencyKey("k\r\nX: y"))
		},
		"header name":  func() error { return c.Do(ctx, &atlas.Request{Path: "/x"}, &out, atlas.WithHeader("X Trace", "t")) },
		"header value": func() error { return c.Do(ctx, &atlas.Request{Path: "/x"}, &out, atlas.WithHeader("X-Trace", "t\n")) },
		"empty key on a create": func() error {
			_, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "x"}, atlas.WithIdempotencyKey(""))
			return err
		},
		"header value on a Get": func() error {
			_, err := c.Invoices.Get(ctx, "inv-1", atlas.WithHeader("X-Trace", "a\x00b"))
			return err
		},
		"header name on an All":  func() error { return firstErr(c.Invoices.All(ctx, nil, atlas.WithHeader("", "v"))) },
		"key with NUL on a Send": func() error { _, err := c.Invoices.Send(ctx, "inv-1", atlas.WithIdempotencyKey("k\x00")); return err },
	} {
		err := call()
		assert.ErrorIs(t, err, atlas.ErrInvalidParams, name)
		var apiErr *atlas.Error
		assert.False(t, errors.As(err, &apiErr), "%s: %v", name, err)
	}
	assert.Zero(t, hits.Load(), "no request reached the server")
}

// firstErr returns the first error an iteration yields.
func firstErr[T any](seq iter.Seq2[*T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

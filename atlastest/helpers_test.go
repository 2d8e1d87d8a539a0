package atlastest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newServer starts a server for the test and closes it when the test ends.
func newServer(t testing.TB, opts ...atlastest.Option) *atlastest.Server {
	t.Helper()
	srv := atlastest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// client is a plain net/http client for the fake server, as a user without the SDK would
// write one. token, when set, is sent as the bearer token.
type client struct {
	t     testing.TB
	srv   *atlastest.Server
	token string
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the contract's Error schema.
type errorBody struct {
	Detail     string `json:"detail"`
	StatusCode int    `json:"status_code"`
	Errors     []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// page is the contract's list envelope with items kept raw.
type page struct {
	Items    []map[string]any `json:"items"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
	HasNext  bool             `json:"has_next"`
}

// anon is a client without a token.
func anon(t testing.TB, srv *atlastest.Server) *client {
	return &client{t: t, srv: srv}
}

// loggedIn is a client logged in with the given credentials.
func loggedIn(t testing.TB, srv *atlastest.Server, email, password string) *client {
	t.Helper()
	c := anon(t, srv)
	resp := c.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password})
	require.Equal(t, http.StatusOK, resp.status, "login: %s", resp.body)
	var out struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	resp.decode(t, &out)
	require.NotEmpty(t, out.Tokens.AccessToken)
	c.token = out.Tokens.AccessToken
	return c
}

func admin(t testing.TB, srv *atlastest.Server) *client {
	return loggedIn(t, srv, srv.Email(), srv.Password())
}

func viewer(t testing.TB, srv *atlastest.Server) *client {
	return loggedIn(t, srv, srv.ViewerEmail(), srv.ViewerPassword())
}

// do sends a request to path (relative to srv.URL, query included). body is nil (no body),
// a string (sent as is) or anything else (sent as JSON).
func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.srv.Client().Do(req)
	require.NoError(c.t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	out := response{status: resp.StatusCode, header: resp.Header, body: raw}
	if _, bench := c.t.(*testing.B); !bench {
		checkContract(c.t, req, out)
	}
	return out
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, nil) }

// list GETs a list and requires a 200 envelope.
func (c *client) list(path string) page {
	c.t.Helper()
	resp := c.get(path)
	require.Equal(c.t, http.StatusOK, resp.status, "GET %s: %s", path, resp.body)
	var p page
	resp.decode(c.t, &p)
	return p
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// object decodes a JSON object body.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

// requireError checks that r is an error answer with the given status in the contract's
// envelope (all three keys) and returns its body.
func (r response) requireError(t testing.TB, status int) errorBody {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	m := r.object(t)
	assert.ElementsMatch(t, []string{"detail", "status_code", "errors"}, keys(m))
	var e errorBody
	r.decode(t, &e)
	assert.Equal(t, status, e.StatusCode)
	assert.NotEmpty(t, e.Detail)
	return e
}

// fields lists the field names of a 422's errors.
func (e errorBody) fields() []string {
	var out []string
	for _, f := range e.Errors {
		out = append(out, f.Field)
	}
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// withQuery adds query parameters to path.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	if strings.Contains(path, "?") {
		return path + "&" + q.Encode()
	}
	return path + "?" + q.Encode()
}

// ids lists the id of every item.
func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

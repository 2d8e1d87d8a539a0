package atlastest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// controlAs is a control client of srv whose requests prepare changes.
func controlAs(t *testing.T, srv *atlastest.Server, prepare func(*http.Request)) *controlClient {
	c := newControl(t, srv)
	c.prepare = prepare
	return c
}

// port is the port srv listens on.
func port(t *testing.T, srv *atlastest.Server) string {
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	return p
}

// A page that rebinds a name of its own to 127.0.0.1 sends its own name as Host: the
// control API does not answer it, and the seed's secrets stay in the server.
func TestControlRefusesAHostItDoesNotKnow(t *testing.T) {
	t.Parallel()
	srv, _ := controlServer(t, atlastest.WithControlHosts("atlastest", "Fake.Internal."))
	p := port(t, srv)
	for _, host := range []string{"evil.example", "evil.example:" + p, "127.0.0.1.evil.example:" + p, "localhost.evil.example", "atlastest.evil:" + p, "0.0.0.0:" + p} {
		resp := controlAs(t, srv, func(r *http.Request) { r.Host = host }).do(http.MethodGet, "/_atlastest/seed", nil)
		require.Equal(t, http.StatusForbidden, resp.status, "GET /seed with Host %s", host) // the body would be the seed
		e := resp.requireError(t, http.StatusForbidden)
		assert.Contains(t, e.Detail, "WithControlHosts", host)
		assertHidden(t, string(resp.body), srv.Password(), "the 403 to "+host)
		assertHidden(t, string(resp.body), srv.WebhookSecret(), "the 403 to "+host)
	}
	for _, host := range []string{"127.0.0.1:" + p, "localhost:" + p, "LocalHost", "localhost.", "[::1]:" + p, "127.1.2.3", "atlastest:8080", "ATLASTEST", "fake.internal"} {
		resp := controlAs(t, srv, func(r *http.Request) { r.Host = host }).do(http.MethodGet, "/_atlastest/seed", nil)
		assert.Equal(t, http.StatusOK, resp.status, "%s: %s", host, resp.body)
	}
}

// A web page can POST text/plain to any address without a preflight, and its browser
// says where it comes from: the control API refuses it, so that a page can neither move
// the clock, nor inject a fault, nor subscribe its URL to the signed webhooks.
func TestControlRefusesABrowsersCrossSiteRequest(t *testing.T) {
	t.Parallel()
	srv, _ := controlServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	own := strings.TrimSuffix(srv.URL, "/api/v1")
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"another origin", http.Header{"Origin": {"https://evil.example"}}},
		{"another port", http.Header{"Origin": {"http://127.0.0.1:1"}}},
		{"an opaque origin", http.Header{"Origin": {"null"}}},
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"own origin, but cross-site", http.Header{"Origin": {own}, "Sec-Fetch-Site": {"cross-site"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl := controlAs(t, srv, func(r *http.Request) {
				for k, v := range tc.header {
					r.Header[k] = v
				}
				r.Header.Set("Content-Type", "text/plain")
			})
			ctl.do(http.MethodPost, "/_atlastest/clock/advance", `{"duration": "24h"}`).requireError(t, http.StatusForbidden)
			ctl.do(http.MethodPost, "/_atlastest/faults", `{"kind": "fail", "status": 500}`).requireError(t, http.StatusForbidden)
			ctl.do(http.MethodPost, "/_atlastest/subscriptions", `{"url": "https://evil.example/hook"}`).requireError(t, http.StatusForbidden)
			resp := ctl.do(http.MethodGet, "/_atlastest/seed", nil)
			require.Equal(t, http.StatusForbidden, resp.status, "GET /seed") // the body would be the seed
			resp.requireError(t, http.StatusForbidden)
			assertHidden(t, string(resp.body), srv.Password(), "the 403")
		})
	}
	assert.Equal(t, tenAM, srv.Now(), "the clock did not move")
	api := admin(t, srv)
	assert.Equal(t, http.StatusOK, api.get("/companies").status, "no fault was injected")
	createInvoice(t, api, srv) // an event for any subscriber
	require.NoError(t, srv.WaitWebhooks(context.Background()))
	assert.Empty(t, srv.Deliveries(), "no URL was subscribed")

	// A page of the server's own origin, and a client that says nothing, are served.
	same := controlAs(t, srv, func(r *http.Request) {
		r.Header.Set("Origin", own)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	})
	require.Equal(t, http.StatusOK, same.do(http.MethodPost, "/_atlastest/clock/advance", `{"duration": "1h"}`).status)
	require.Equal(t, http.StatusOK, newControl(t, srv).do(http.MethodPost, "/_atlastest/clock/advance", `{"duration": "1h"}`).status)
	assert.Equal(t, tenAM.Add(2*time.Hour), srv.Now())
}

func TestControlTokenIsRequiredOnceSet(t *testing.T) {
	t.Parallel()
	const token = "ctl-7f3a9c-token"
	var logged bytes.Buffer
	var mu sync.Mutex
	srv, _ := controlServer(t, atlastest.WithControlToken(token), atlastest.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))))
	for i, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + token, "Bearer " + token + "x", token} {
		resp := controlAs(t, srv, func(r *http.Request) {
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
		}).do(http.MethodGet, "/_atlastest/seed", nil)
		require.Equal(t, http.StatusUnauthorized, resp.status, "GET /seed, case %d", i) // the body would be the seed
		e := resp.requireError(t, http.StatusUnauthorized)
		assert.Equal(t, "Bearer", resp.header.Get("WWW-Authenticate"), "case %d", i)
		assert.Contains(t, e.Detail, "WithControlToken")
		assertHidden(t, string(resp.body), token, "the 401")
		assertHidden(t, string(resp.body), srv.Password(), "the 401")
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		resp := controlAs(t, srv, func(r *http.Request) { r.Header.Set("Authorization", auth) }).do(http.MethodGet, "/_atlastest/seed", nil)
		assert.Equal(t, http.StatusOK, resp.status)
	}
	// The token does not open a door the Host or the browser rules close.
	controlAs(t, srv, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+token)
		r.Host = "evil.example"
	}).do(http.MethodGet, "/_atlastest/seed", nil).requireError(t, http.StatusForbidden)
	// The Atlas API beside it takes its own tokens, not this one.
	assert.Equal(t, http.StatusOK, admin(t, srv).get("/companies").status)
	mu.Lock()
	defer mu.Unlock()
	assertHidden(t, logged.String(), token, "the log")
}

// lockedWriter lets a test read what a logger wrote while the server may still write.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestControlOptionsRefuseValuesTheyCannotUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  atlastest.Option
		want string
	}{
		{atlastest.WithControlToken(""), "WithControlToken: the token is empty"},
		{atlastest.WithControlToken("two words"), "WithControlToken: the token has a character"},
		{atlastest.WithControlToken("tab\t"), "WithControlToken: the token has a character"},
		{atlastest.WithControlHosts(""), `WithControlHosts: "" is not a host`},
		{atlastest.WithControlHosts("http://evil.example/"), "is not a host"},
		{atlastest.WithControlHosts("atlastest:8080"), `"atlastest:8080" has a port`},
		{atlastest.WithControlBodyLimit(0), "WithControlBodyLimit: limit 0 is not positive"},
	} {
		err := atlastest.Validate(tc.opt)
		require.ErrorIs(t, err, atlastest.ErrInvalidOption, tc.want)
		assert.Contains(t, err.Error(), tc.want)
	}
	assert.NotContains(t, atlastest.Validate(atlastest.WithControlToken("two words")).Error(), "two words", "the token is not quoted")
	assert.NoError(t, atlastest.Validate(atlastest.WithControlToken("t"), atlastest.WithControlHosts("atlastest", "10.0.0.7", "::1"), atlastest.WithControlBodyLimit(1)))
}

// A body whose Content-Length is over the limit is refused before a byte of it is read:
// here the client never sends it, and the answer comes all the same.
func TestControlRefusesALargeBodyBeforeReadingIt(t *testing.T) {
	t.Parallel()
	srv, _ := controlServer(t)
	seed := srv.Seed()
	pr, pw := io.Pipe()
	defer func() { _ = pw.Close() }()
	// A server that waits for the body fails the test here, instead of holding it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(srv.URL, "/api/v1")+"/_atlastest/state", pr)
	require.NoError(t, err)
	req.ContentLength = 300 << 20
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	got := response{status: resp.StatusCode, header: resp.Header, body: raw}
	e := got.requireError(t, http.StatusRequestEntityTooLarge)
	assert.Contains(t, e.Detail, "32 MiB")
	newControl(t, srv).check(http.MethodPut, "/_atlastest/state", []byte("{}"), "", got)
	assert.Equal(t, seed, srv.Seed(), "nothing loaded")
}

// A body without a length is read up to the limit and no further, and refused whole.
func TestControlBodyLimitStopsABodyOfUnknownLength(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	src, ctl := controlServer(t)
	state := ctl.do(http.MethodGet, "/_atlastest/state", nil)
	require.Equal(t, http.StatusOK, state.status)
	require.Less(t, len(state.body), limit, "the seed's state fits under the limit")

	srv, _ := controlServer(t, atlastest.WithControlBodyLimit(limit))
	seed := srv.Seed()
	put := func(body io.Reader) response {
		req, err := http.NewRequest(http.MethodPut, strings.TrimSuffix(srv.URL, "/api/v1")+"/_atlastest/state", body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return response{status: resp.StatusCode, header: resp.Header, body: raw}
	}
	// io.MultiReader hides the length, so the body goes chunked.
	padded := io.MultiReader(bytes.NewReader(state.body), strings.NewReader(strings.Repeat(" ", limit)))
	e := put(padded).requireError(t, http.StatusRequestEntityTooLarge)
	assert.Contains(t, e.Detail, "64 KiB")
	assert.Equal(t, seed, srv.Seed(), "a state past the limit is not loaded, even when it starts well")
	huge := io.MultiReader(strings.NewReader(`{"atlastest_state": 1, "users": [`), endless{})
	put(huge).requireError(t, http.StatusRequestEntityTooLarge)

	require.Equal(t, http.StatusNoContent, put(io.MultiReader(bytes.NewReader(state.body))).status, "a state under the limit loads")
	assert.Equal(t, src.Seed(), srv.Seed())

	// The other operations take 1 MiB at most, whatever the limit.
	big := `{"duration": "1h", "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	e = ctl.do(http.MethodPost, "/_atlastest/clock/advance", big).requireError(t, http.StatusRequestEntityTooLarge)
	assert.Contains(t, e.Detail, "1 MiB")
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// A client of another language that spells a credential field in another case still
// sends the credential: the request log redacts it as it redacts "password", whatever
// the answer.
func TestRequestLogRedactsCredentialsInAnyCase(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	var mu sync.Mutex
	srv, ctl := controlServer(t, atlastest.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))))
	c := anon(t, srv)
	for _, key := range []string{"PASSWORD", "Password", "paſſword"} {
		c.do(http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), key: srv.Password()})
		rec := lastRequest(t, srv)
		assertHidden(t, string(rec.Body), srv.Password(), "the recorded body with "+key)
		assert.Contains(t, string(rec.Body), `"[REDACTED]"`, key)

		resp := c.do(http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), "password": srv.Password()})
		require.Equal(t, http.StatusOK, resp.status)
		var tokens struct {
			Tokens struct {
				RefreshToken string `json:"refresh_token"`
			} `json:"tokens"`
		}
		resp.decode(t, &tokens)
		refresh := tokens.Tokens.RefreshToken
		require.NotEmpty(t, refresh)
		c.do(http.MethodPost, "/auth/refresh", map[string]string{"Refresh_Token": refresh})
		assertHidden(t, string(lastRequest(t, srv).Body), refresh, "the recorded refresh")

		c.get("/companies?Access_Token=" + refresh + "&page=1")
		rec = lastRequest(t, srv)
		assert.Equal(t, []string{"[REDACTED]"}, rec.Query["Access_Token"])
		assert.Equal(t, []string{"1"}, rec.Query["page"])

		log := ctl.do(http.MethodGet, "/_atlastest/requests", nil)
		assertHidden(t, string(log.body), srv.Password(), "GET /_atlastest/requests")
		assertHidden(t, string(log.body), refresh, "GET /_atlastest/requests")
		mu.Lock()
		assertHidden(t, logged.String(), refresh, "the access log's query")
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logged.String(), "Access_Token=%5BREDACTED%5D", "the parameter is logged, not its value")
}

// assertHidden fails the test when text holds secret, without printing either.
func assertHidden(t *testing.T, text, secret, where string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("a secret shows in %s", where)
	}
}

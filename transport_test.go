package atlas

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A redirect within the API's origin is followed with the token, through the
// user's own redirect policy, which never sees the token; a redirect to
// another host is not followed (it was before issue 10, without the token:
// the request body and the answer still crossed over).
func TestAuthorizationNotSentAfterRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int32
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		otherHits.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(otherSrv.Close)
	var sameHostFollowUp http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/away":
			http.Redirect(w, r, otherSrv.URL+"/landing", http.StatusTemporaryRedirect)
		case "/api/v1/moved":
			http.Redirect(w, r, "/api/v1/here", http.StatusFound)
		default:
			sameHostFollowUp = r.Header.Clone()
			writeJSON(w, http.StatusOK, map[string]string{})
		}
	}))
	t.Cleanup(srv.Close)

	var redirectHook []http.Header
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		redirectHook = append(redirectHook, req.Header.Clone(), via[0].Header.Clone())
		return nil
	}}
	c, _ := Setup(t, OnURL(srv.URL+"/api/v1"), ClientOptions(WithHTTPClient(hc), WithTokens("secret-token", "")))

	_, err := call[struct{}](context.Background(), c, Request{Method: http.MethodPost, Path: "/away", Body: map[string]int{"a": 1}}, requestConfig{})
	assert.ErrorIs(t, err, ErrCrossOriginRedirect)
	assert.Zero(t, otherHits.Load(), "nothing leaves for another host")

	_, err = call[struct{}](context.Background(), c, Request{Path: "/moved"}, requestConfig{})
	require.NoError(t, err)
	assert.Equal(t, "Bearer secret-token", sameHostFollowUp.Get("Authorization"), "a redirect within the API keeps it")

	require.Len(t, redirectHook, 2, "the user's policy decides on the redirect within the API only")
	for _, h := range redirectHook {
		assert.Empty(t, h.Get("Authorization"), "the user's redirect hook never sees the token")
	}
}

// The user's redirect policy still rules redirects within the API's origin.
func TestUserRedirectPolicyIsKeptWithinTheOrigin(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/api/v1/elsewhere", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	errNoRedirects := errors.New("no redirects here")
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return errNoRedirects }}
	c, _ := Setup(t, OnURL(srv.URL+"/api/v1"), ClientOptions(WithHTTPClient(hc), WithTokens("tok", "")))
	_, err := call[struct{}](context.Background(), c, Request{Path: "/moved"}, requestConfig{})
	assert.ErrorIs(t, err, errNoRedirects)
	assert.EqualValues(t, 1, hits.Load())

	// Without a policy of its own, net/http's limit of 10 redirects holds.
	hits.Store(0)
	c, _ = Setup(t, OnURL(srv.URL+"/api/v1"), ClientOptions(WithTokens("tok", "")))
	_, err = call[struct{}](context.Background(), c, Request{Path: "/moved"}, requestConfig{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped after 10 redirects")
	assert.EqualValues(t, 10, hits.Load())
}

// sink is a server that must receive nothing: it counts what reaches it and
// answers as a hostile host would (a 401, a 429 with a day's Retry-After and
// an exhausted window, or tokens of its own).
type sink struct {
	*httptest.Server
	hits atomic.Int32
}

func newSink(t *testing.T, status int) *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		switch status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "86400")
			w.Header().Set("X-RateLimit-Limit", "60")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			writeError(w, status, "Rate limit exceeded")
		case http.StatusOK:
			writeJSON(w, status, loginResponse{Tokens: tokenResponse{AccessToken: "evil-access", RefreshToken: "evil-refresh", ExpiresIn: 3600}})
		default:
			writeError(w, status, http.StatusText(status))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// A redirect away from the API's origin is never followed, for login,
// refresh and any other call, whatever the method: the call fails at once
// (no retry) with an error naming the redirect's status and the target's
// origin, and no secret and none of the target's query; the target receives
// nothing, so nothing it would answer changes the client's tokens, pacing or
// retries.
func TestRedirectAwayFromTheOriginIsNotFollowed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		route  string // "METHOD /path" the API redirects
		status int    // of the redirect
		sink   int    // what the target would answer
	}{
		{"login 307", "POST /auth/login", http.StatusTemporaryRedirect, http.StatusOK},
		{"login 308", "POST /auth/login", http.StatusPermanentRedirect, http.StatusOK},
		{"refresh 307", "POST /auth/refresh", http.StatusTemporaryRedirect, http.StatusOK},
		{"refresh 308", "POST /auth/refresh", http.StatusPermanentRedirect, http.StatusOK},
		{"GET 302 to a 401", "GET /companies", http.StatusFound, http.StatusUnauthorized},
		{"GET 307 to a 429", "GET /companies", http.StatusTemporaryRedirect, http.StatusTooManyRequests},
		{"DELETE 308 to a 503", "DELETE /companies/c-001", http.StatusPermanentRedirect, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := newSink(t, tc.sink)
			f := newFakeAtlas(t)
			method, path, _ := strings.Cut(tc.route, " ")
			f.intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != method || r.URL.Path != "/api/v1"+path {
					return false
				}
				w.Header().Set("X-RateLimit-Limit", "60")
				w.Header().Set("X-RateLimit-Remaining", "59")
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
				http.Redirect(w, r, target.URL+"/steal?token=query-secret", tc.status)
				return true
			})
			tok := f.issueTokens()
			c, _ := Setup(t, onFake(f), ClientOptions(WithTokens(tok.AccessToken, tok.RefreshToken)))
			ctx := context.Background()
			var err error
			switch path {
			case "/auth/login":
				_, err = c.Auth.Login(ctx, fakeEmail, fakePassword)
			case "/auth/refresh":
				err = c.Auth.Refresh(ctx)
			default:
				_, err = call[struct{}](ctx, c, Request{Method: method, Path: path}, requestConfig{})
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrCrossOriginRedirect)
			msg := err.Error()
			assert.Contains(t, msg, "atlas: "+method+" "+path+": ")
			assert.Contains(t, msg, strconv.Itoa(tc.status)+" "+http.StatusText(tc.status))
			assert.Contains(t, msg, "to "+target.URL)
			for _, secret := range []string{"query-secret", "steal", fakePassword, tok.AccessToken, tok.RefreshToken} {
				assert.NotContains(t, msg, secret)
			}
			assert.Zero(t, target.hits.Load(), "the other host receives nothing")
			assert.Len(t, f.requests(method, path), 1, "no retry")

			// Nothing changed: the tokens are the same, the pacer holds
			// nothing back, and the next call goes at once with them.
			assert.Zero(t, f.logins.Load())
			assert.Zero(t, f.refreshes.Load())
			assert.Equal(t, RateLimit{Limit: 60, Remaining: 59, Reset: c.RateLimit().Reset}, c.RateLimit(), "the API's own answer, not the target's")
			_, err = c.Auth.Me(ctx)
			require.NoError(t, err)
			assert.Zero(t, c.core.pacer.delay(time.Now()), "no wait")
			me := f.requests(http.MethodGet, "/auth/me")
			require.Len(t, me, 1)
			assert.Equal(t, "Bearer "+tok.AccessToken, me[0].Header.Get("Authorization"))
		})
	}
}

// From an https base URL, a redirect to http is a downgrade the client does
// not follow, on the same host and port or another: the password never
// travels in clear.
func TestRedirectFromHTTPSToHTTPIsNotFollowed(t *testing.T) {
	t.Parallel()
	plain := newSink(t, http.StatusOK)
	for _, to := range []string{"same host and port", "another port"} {
		t.Run(to, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			var target string
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Redirect(w, r, target+"/api/v1/auth/login", http.StatusPermanentRedirect)
			}))
			t.Cleanup(srv.Close)
			target = "http://" + srv.Listener.Addr().String()
			if to == "another port" {
				target = plain.URL
			}
			tr := srv.Client().Transport.(*http.Transport)
			t.Cleanup(tr.CloseIdleConnections)
			c, _ := Setup(t, OnURL(srv.URL+"/api/v1"), ClientOptions(WithHTTPClient(&http.Client{Transport: tr})))
			_, err := c.Auth.Login(context.Background(), fakeEmail, fakePassword)
			require.ErrorIs(t, err, ErrCrossOriginRedirect)
			assert.Contains(t, err.Error(), "308 Permanent Redirect to "+target)
			assert.NotContains(t, err.Error(), fakePassword)
			assert.EqualValues(t, 1, hits.Load(), "the login went to the API's origin once, and nowhere else")
			assert.Zero(t, plain.hits.Load())
		})
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	base, err := url.Parse("https://api.example.com/api/v1")
	require.NoError(t, err)
	for raw, want := range map[string]bool{
		"https://api.example.com/api/v1/x":     true,
		"https://API.example.com/x":            true,
		"https://api.example.com:443/x":        true,
		"http://api.example.com/x":             false,
		"https://api.example.com:8443/x":       false,
		"https://api.example.com.evil.test/x":  false,
		"https://evil.test/api.example.com/x":  false,
		"https://user@api.example.com.evil/x":  false,
		"https://api.example.com@evil.test/x":  false,
		"ftp://api.example.com/x":              false,
		"https://api.example.com:0443/x":       false,
		"https://[::1]/x":                      false,
		"https://api.example.com./x":           false,
		"//api.example.com/x":                  false,
		"https://api.example.com:443/?q=1#f":   true,
		"https://api.example.com:https/x":      false,
		"https://api.example.com:/x":           true,
		"https://api%2eexample%2ecom/x":        false,
		"https://xn--pi-example-com.test/x":    false,
		"https://api.example.com:443:443/x":    false,
		"https://api.example.com%00.evil.te/x": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			continue // not a URL net/http would redirect to
		}
		assert.Equal(t, want, sameOrigin(u, base), raw)
	}
}

// The answer that go-retryablehttp's hooks see is the answer to the
// caller's request, without the Authorization header the transport added.
func TestHooksAboveTheTransportNeverSeeTheToken(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, _ := statusSequence(t, 503)
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("secret-token", "")))
		var seen []bool // whether each answer's request had the header: never the token itself
		check := c.core.http.CheckRetry
		c.core.http.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if resp != nil {
				seen = append(seen, resp.Request.Header.Get("Authorization") != "")
			}
			return check(ctx, resp, err)
		}
		_, err := c.Companies.Get(context.Background(), "c-1")
		require.NoError(t, err)
		assert.Equal(t, []bool{false, false}, seen)
	})
}

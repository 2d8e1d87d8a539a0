package atlastest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// customersPath is the main company's customer collection.
func customersPath(srv *atlastest.Server) string {
	return "/contacts/customers?company_id=" + srv.CompanyID()
}

// customerCount is how many customers the main company has.
func customerCount(c *client) int {
	c.t.Helper()
	return c.list(customersPath(c.srv) + "&page_size=1").Total
}

// createCustomer is the body of a customer create.
func createCustomer(name string) string { return `{"display_name": "` + name + `"}` }

// freshConnections is a client that opens a new connection for every request, so that
// Go's transport never retries a dropped request by itself (it does on reused ones).
func freshConnections(t testing.TB) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	srv.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		resp, err := send(t, srv, c.newRequest(http.MethodGet, "/auth/me", ""))
		require.NoError(t, err)
		resp.requireError(t, http.StatusServiceUnavailable)
		assert.NotEmpty(t, resp.header.Get("X-Request-ID"))
		rateOf(t, resp) // the rate-limit headers are there
		assert.Empty(t, resp.header.Get("Retry-After"))
	}
	assert.Equal(t, http.StatusOK, c.get("/auth/me").status)
}

func TestFailNextInTheOrderGiven(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	srv.FailNext(1, http.StatusBadGateway)
	srv.FailNext(2, http.StatusGatewayTimeout, atlastest.RetryAfter(1500*time.Millisecond))
	var got []int
	for range 4 {
		resp, err := send(t, srv, c.newRequest(http.MethodGet, "/auth/me", ""))
		require.NoError(t, err)
		got = append(got, resp.status)
		if resp.status == http.StatusGatewayTimeout {
			assert.Equal(t, "2", resp.header.Get("Retry-After"), "rounded up")
		}
	}
	assert.Equal(t, []int{502, 504, 504, 200}, got)
}

func TestFailNextMatching(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	before := customerCount(c)
	srv.FailNext(1, http.StatusInternalServerError, atlastest.Matching("POST /contacts/customers"))

	assert.Equal(t, http.StatusOK, c.get(customersPath(srv)).status, "a GET does not match")
	assert.Equal(t, http.StatusOK, c.get("/contacts/customers/"+srv.CustomerIDs()[0]).status, "another path does not match")
	c.do(http.MethodPost, customersPath(srv), createCustomer("Failed")).requireError(t, http.StatusInternalServerError)
	assert.Equal(t, before, customerCount(c), "the handler did not run")

	require.Equal(t, http.StatusCreated, c.do(http.MethodPost, customersPath(srv), createCustomer("Created")).status)
	assert.Equal(t, before+1, customerCount(c))
}

func TestMatchingPatterns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, method, path string
		match                 bool
	}{
		{"POST /contacts/customers", http.MethodPost, "/contacts/customers", true},
		{"POST /contacts/customers", http.MethodGet, "/contacts/customers", false},
		{"/contacts/customers", http.MethodGet, "/contacts/customers", true},
		{"/contacts/customers/{id}", http.MethodGet, "/contacts/customers/abc", true},
		{"/contacts/customers/{id}", http.MethodGet, "/contacts/customers", false},
		{"GET /contacts/", http.MethodGet, "/contacts/vendors/abc", true},
		{"GET /auth/me", http.MethodGet, "/auth/me", true},
	} {
		t.Run(tc.pattern+" "+tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			c := admin(t, srv)
			srv.FailNext(1, http.StatusTeapot, atlastest.Matching(tc.pattern))
			resp, err := send(t, srv, c.newRequest(tc.method, tc.path, ""))
			require.NoError(t, err)
			assert.Equal(t, tc.match, resp.status == http.StatusTeapot, "status %d", resp.status)
		})
	}
}

func TestFaultArgumentsThatMakeNoSensePanic(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	assert.Panics(t, func() { srv.FailNext(1, http.StatusOK) })
	assert.Panics(t, func() { atlastest.Matching("GET /bad/{") })
}

func TestFailAfterHandlerKeepsTheEffect(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	before := customerCount(c)
	srv.FailNext(1, http.StatusInternalServerError, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
	c.do(http.MethodPost, customersPath(srv), createCustomer("Lost answer")).requireError(t, http.StatusInternalServerError)
	assert.Equal(t, before+1, customerCount(c), "the customer exists although the answer said otherwise")
}

func TestDropNext(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	hc := freshConnections(t)
	before := customerCount(c)

	srv.DropNext(1, atlastest.Matching("POST /contacts/customers"))
	resp, err := hc.Do(c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Dropped")))
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "no answer")
	assert.Equal(t, before, customerCount(c), "dropped before the handler")

	srv.DropNext(1, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
	resp, err = hc.Do(c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Dropped after")))
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "no answer")
	assert.Equal(t, before+1, customerCount(c), "handled, then dropped")

	resp, err = hc.Do(c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Answered")))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
}

func TestDelayNextAndLatency(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	const d = 30 * time.Millisecond
	timed := func(method, path, body string) (int, time.Duration) {
		start := time.Now()
		resp, err := send(t, srv, c.newRequest(method, path, body))
		require.NoError(t, err)
		return resp.status, time.Since(start)
	}

	srv.DelayNext(1, d, atlastest.Matching("GET /auth/me"))
	status, took := timed(http.MethodGet, "/auth/me", "")
	assert.Equal(t, http.StatusOK, status)
	assert.GreaterOrEqual(t, took, d)

	srv.SetLatency(d)
	for range 2 {
		status, took = timed(http.MethodGet, "/companies", "")
		assert.Equal(t, http.StatusOK, status)
		assert.GreaterOrEqual(t, took, d)
	}
	srv.SetLatency(0)

	before := customerCount(c)
	srv.SetLatency(d, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
	status, took = timed(http.MethodPost, customersPath(srv), createCustomer("Slow"))
	assert.Equal(t, http.StatusCreated, status)
	assert.GreaterOrEqual(t, took, d)
	assert.Equal(t, before+1, customerCount(c))
	srv.ClearFaults()
}

// pausing makes srv tell, on the channel it returns, when a request starts to wait out
// injected latency: the server then holds the whole request.
func pausing(srv *atlastest.Server) <-chan struct{} {
	paused := make(chan struct{}, 1)
	atlastest.OnPause(srv, func() {
		select {
		case paused <- struct{}{}:
		default:
		}
	})
	return paused
}

// abandon sends req to srv, which must delay it, and gives up on it while the server
// holds it, by cancelling its context; it returns what the client got, then waits until
// the server noticed that the client left and let go of the request (the request log
// lists it last; the request before it must be another method or path). Close would end
// the wait too (503), so it must not come first.
//
// It waits for the server rather than for the client's httptrace WroteRequest: the
// transport reports that once the request is in its write buffer, before it flushes it to
// the connection, so a cancel right after it can close the connection before the server
// got a byte, and the server never sees the request at all.
func abandon(t *testing.T, srv *atlastest.Server, paused <-chan struct{}, req *http.Request) error {
	t.Helper()
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req.WithContext(ctx))
		if err == nil {
			_ = resp.Body.Close()
		}
		errc <- err
	}()
	<-paused
	cancel()
	err := <-errc
	require.Eventually(t, func() bool {
		recs := srv.Requests()
		if len(recs) == 0 {
			return false
		}
		last := recs[len(recs)-1]
		return last.Method == req.Method && last.Path == relativePath(srv, req.URL.Path)
	}, 10*time.Second, time.Millisecond, "the server never noticed that the client left")
	return err
}

// relativePath is an API path relative to srv's base URL, as the request log records it.
func relativePath(srv *atlastest.Server, p string) string {
	base, err := url.Parse(srv.URL)
	if err != nil {
		return p
	}
	return strings.TrimPrefix(p, base.Path)
}

func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	t.Parallel()
	// net/http ends a request's context when its client leaves only once something read
	// the body to its end; the request log reads just its first 64 KiB.
	for _, tc := range []struct{ name, body string }{
		{"small body", createCustomer("Never")},
		{"body larger than the request log keeps", `{"display_name": "Never", "notes": "` + strings.Repeat("n", 100<<10) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			paused := pausing(srv)
			c := admin(t, srv)
			before := customerCount(c)
			srv.DelayNext(1, time.Hour, atlastest.Matching("POST /contacts/customers"))

			err := abandon(t, srv, paused, c.newRequest(http.MethodPost, customersPath(srv), tc.body))
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, before, customerCount(c), "a request whose client left is not handled")
		})
	}
}

func TestCloseEndsInjectedLatency(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	defer srv.Close()
	c := admin(t, srv)
	paused := pausing(srv)
	srv.SetLatency(time.Hour)

	statusc := make(chan int, 1)
	go func() {
		resp, err := srv.Client().Do(c.newRequest(http.MethodGet, "/auth/me", ""))
		if err != nil {
			statusc <- 0
			return
		}
		_ = resp.Body.Close()
		statusc <- resp.StatusCode
	}()
	<-paused
	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), time.Minute, "Close does not wait for the latency")
	assert.Equal(t, http.StatusServiceUnavailable, <-statusc)
}

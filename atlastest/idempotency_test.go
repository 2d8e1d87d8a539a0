package atlastest_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// post sends a POST with an Idempotency-Key and checks the answer against the contract.
func (c *client) post(path, key, body string) response {
	c.t.Helper()
	req := c.newRequest(http.MethodPost, path, body)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := send(c.t, c.srv, req)
	require.NoError(c.t, err)
	checkContract(c.t, req, resp)
	return resp
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	before := customerCount(c)

	first := c.post(customersPath(srv), "key-1", createCustomer("Once"))
	require.Equal(t, http.StatusCreated, first.status)
	assert.Empty(t, first.header.Get("Idempotent-Replayed"))

	again := c.post(customersPath(srv), "key-1", createCustomer("Once"))
	require.Equal(t, http.StatusCreated, again.status)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	assert.Equal(t, string(first.body), string(again.body))
	assert.Equal(t, first.header.Get("Content-Type"), again.header.Get("Content-Type"))
	assert.NotEqual(t, first.header.Get("X-Request-ID"), again.header.Get("X-Request-ID"), "each answer has its own request id")
	rateOf(t, again)

	other := c.post(customersPath(srv), "key-2", createCustomer("Once"))
	require.Equal(t, http.StatusCreated, other.status, "another key is another request")
	assert.Equal(t, before+2, customerCount(c))
}

func TestIdempotencyKeyWithAnotherRequestIsAConflict(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	require.Equal(t, http.StatusCreated, c.post(customersPath(srv), "key", createCustomer("First")).status)
	before := customerCount(c)

	for name, tc := range map[string]struct{ path, body string }{
		"body":  {customersPath(srv), createCustomer("Second")},
		"query": {"/contacts/customers?company_id=" + srv.SecondCompanyID(), createCustomer("First")},
		"path":  {"/contacts/vendors?company_id=" + srv.CompanyID(), createCustomer("First")},
	} {
		e := c.post(tc.path, "key", tc.body).requireError(t, http.StatusConflict)
		assert.Contains(t, e.Detail, "Idempotency-Key", name)
	}
	assert.Equal(t, before, customerCount(c))
}

func TestIdempotencyKeysBelongToTheirUser(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	require.Equal(t, http.StatusCreated, c.post(customersPath(srv), "shared", createCustomer("Admin's")).status)
	anon(t, srv).post(customersPath(srv), "shared", createCustomer("Admin's")).requireError(t, http.StatusUnauthorized)
	viewer(t, srv).post(customersPath(srv), "shared", createCustomer("Admin's")).requireError(t, http.StatusForbidden)
}

func TestIdempotencyKeepsErrorsOfTheRequestButNot401(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)

	bad := c.post(customersPath(srv), "invalid", `{"display_name": 7}`)
	bad.requireError(t, http.StatusUnprocessableEntity)
	again := c.post(customersPath(srv), "invalid", `{"display_name": 7}`)
	again.requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	// A 401 is not kept: the same request runs again.
	a := anon(t, srv)
	a.post("/auth/refresh", "refresh", `{"refresh_token": "rtk_unknown"}`).requireError(t, http.StatusUnauthorized)
	resp := a.post("/auth/refresh", "refresh", `{"refresh_token": "rtk_unknown"}`)
	resp.requireError(t, http.StatusUnauthorized)
	assert.Empty(t, resp.header.Get("Idempotent-Replayed"))
}

func TestIdempotencyKeyTooLong(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	e := c.post(customersPath(srv), strings.Repeat("k", 256), createCustomer("Long key")).requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"Idempotency-Key"}, e.fields())
	require.Equal(t, http.StatusCreated, c.post(customersPath(srv), strings.Repeat("k", 255), createCustomer("Long key")).status)
}

func TestIdempotencyOnlyForPOST(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	id := srv.CustomerIDs()[0]
	for _, name := range []string{"First", "Second"} {
		req := c.newRequest(http.MethodPatch, "/contacts/customers/"+id, createCustomer(name))
		req.Header.Set("Idempotency-Key", "patch")
		resp, err := send(t, srv, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.status)
		assert.Equal(t, name, resp.object(t)["display_name"])
	}
}

func TestIdempotencyKeysExpireAfterADay(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithTokenLifetime(48*time.Hour))
	c := admin(t, srv)
	before := customerCount(c)
	require.Equal(t, http.StatusCreated, c.post(customersPath(srv), "day", createCustomer("Daily")).status)

	srv.Advance(24*time.Hour - time.Microsecond)
	assert.Equal(t, "true", c.post(customersPath(srv), "day", createCustomer("Daily")).header.Get("Idempotent-Replayed"))
	assert.Equal(t, "true", c.post(customersPath(srv), "day", createCustomer("Daily")).header.Get("Idempotent-Replayed"),
		"a replay does not extend the key")
	srv.Advance(time.Microsecond)
	resp := c.post(customersPath(srv), "day", createCustomer("Daily"))
	require.Equal(t, http.StatusCreated, resp.status)
	assert.Empty(t, resp.header.Get("Idempotent-Replayed"))
	assert.Equal(t, before+2, customerCount(c))
}

func TestIdempotencyAndInjectedFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		inject  func(srv *atlastest.Server)
		created int // customers the faulty attempt left behind
	}{
		{"failure before the handler", func(srv *atlastest.Server) {
			srv.FailNext(1, http.StatusServiceUnavailable, atlastest.Matching("POST /contacts/customers"))
		}, 0},
		{"drop before the handler", func(srv *atlastest.Server) {
			srv.DropNext(1, atlastest.Matching("POST /contacts/customers"))
		}, 0},
		{"failure after the handler", func(srv *atlastest.Server) {
			srv.FailNext(1, http.StatusInternalServerError, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
		}, 1},
		{"drop after the handler", func(srv *atlastest.Server) {
			srv.DropNext(1, atlastest.Matching("POST /contacts/customers"), atlastest.AfterHandler())
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			c := admin(t, srv)
			hc := freshConnections(t)
			before := customerCount(c)
			tc.inject(srv)

			attempt := func() (*http.Response, error) {
				req := c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Retried"))
				req.Header.Set("Idempotency-Key", "retry-me")
				return hc.Do(req)
			}
			resp, err := attempt()
			if err == nil {
				_ = resp.Body.Close()
				require.GreaterOrEqual(t, resp.StatusCode, 500)
			}
			assert.Equal(t, before+tc.created, customerCount(c))

			resp, err = attempt()
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			replayed := resp.Header.Get("Idempotent-Replayed") == "true"
			assert.Equal(t, tc.created == 1, replayed, "the retry replays what the handler did")
			assert.Equal(t, before+1, customerCount(c), "exactly one customer")
		})
	}
}

func TestConcurrentRequestsWithOneKeyRunOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	before := customerCount(c)
	const n = 16
	type result struct {
		status   int
		body     string
		replayed bool
		err      error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		req := c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Raced"))
		req.Header.Set("Idempotency-Key", "race")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := send(t, srv, req)
			results[i] = result{resp.status, string(resp.body), resp.header.Get("Idempotent-Replayed") == "true", err}
		}()
	}
	close(start)
	wg.Wait()

	ran := 0
	for _, r := range results {
		require.NoError(t, r.err)
		assert.Equal(t, http.StatusCreated, r.status)
		assert.Equal(t, results[0].body, r.body)
		if !r.replayed {
			ran++
		}
	}
	assert.Equal(t, 1, ran)
	assert.Equal(t, before+1, customerCount(c))
}

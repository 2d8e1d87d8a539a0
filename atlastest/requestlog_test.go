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

// lastRequest is the most recent record; the test requires there is one.
func lastRequest(t testing.TB, srv *atlastest.Server) atlastest.RecordedRequest {
	t.Helper()
	recs := srv.Requests()
	require.NotEmpty(t, recs)
	return recs[len(recs)-1]
}

func TestRequestLogRecordsWhatWasSent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	c := admin(t, srv)
	login := lastRequest(t, srv)
	assert.Equal(t, http.MethodPost, login.Method)
	assert.Equal(t, "/auth/login", login.Path)
	assert.JSONEq(t, `{"email": "`+srv.Email()+`", "password": "[REDACTED]"}`, string(login.Body))
	assert.Equal(t, http.StatusOK, login.Status)
	assert.Equal(t, http.StatusOK, login.HandlerStatus)

	list := c.get(customersPath(srv) + "&page_size=2&search=a")
	rec := lastRequest(t, srv)
	assert.Equal(t, atlastest.RecordedRequest{
		Time:          tenAM,
		Method:        http.MethodGet,
		Path:          "/contacts/customers",
		Query:         url.Values{"company_id": {srv.CompanyID()}, "page_size": {"2"}, "search": {"a"}},
		Header:        rec.Header,
		RequestID:     list.header.Get("X-Request-ID"),
		Status:        http.StatusOK,
		HandlerStatus: http.StatusOK,
	}, rec)
	assert.Equal(t, "Bearer [REDACTED]", rec.Header.Get("Authorization"))
	assert.NotEmpty(t, rec.Header.Get("User-Agent"), "other headers are kept")

	// A PATCH body is kept byte for byte, so a test can check which fields were sent.
	patch := `{"phone":  "555-0100"}`
	req := c.newRequest(http.MethodPatch, "/contacts/customers/"+srv.CustomerIDs()[0], patch)
	req.Header.Set("X-Custom", "kept")
	resp, err := send(t, srv, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.status)
	rec = lastRequest(t, srv)
	assert.Equal(t, patch, string(rec.Body))
	assert.Equal(t, "kept", rec.Header.Get("X-Custom"))

	created := c.post(customersPath(srv), "key-1", createCustomer("Logged"))
	rec = lastRequest(t, srv)
	assert.Equal(t, "key-1", rec.IdempotencyKey)
	assert.Equal(t, http.StatusCreated, rec.Status)
	assert.Equal(t, created.header.Get("X-Request-ID"), rec.RequestID)

	for _, r := range srv.Requests() {
		for k, vs := range r.Header {
			for _, v := range vs {
				assert.NotContains(t, v, c.token, k)
			}
		}
		assert.NotContains(t, string(r.Body), srv.Password())
	}
}

func TestRequestLogRedactsCredentials(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	a := anon(t, srv)
	for _, tc := range []struct {
		name, path, body string
		want             string // "" for no body kept
	}{
		{"login", "/auth/login", `{"email":"x@example.com","password":"hunter2"}`, `{"email":"x@example.com","password":"[REDACTED]"}`},
		{"refresh", "/auth/refresh", `{"refresh_token":"rtk_secret"}`, `{"refresh_token":"[REDACTED]"}`},
		{"broken login", "/auth/login", `{"email":"x@example.com","password":"hunter2"`, ""},
	} {
		req := a.newRequest(http.MethodPost, tc.path, tc.body)
		req.Header.Set("Authorization", "rtk_secret")
		req.Header.Set("Cookie", "session=hunter2")
		_, err := send(t, srv, req)
		require.NoError(t, err)
		rec := lastRequest(t, srv)
		if tc.want == "" {
			assert.Nil(t, rec.Body, tc.name)
		} else {
			assert.JSONEq(t, tc.want, string(rec.Body), tc.name)
		}
		assert.Equal(t, "[REDACTED]", rec.Header.Get("Authorization"), "not a known scheme: all of it")
		assert.Equal(t, "[REDACTED]", rec.Header.Get("Cookie"))
	}
}

func TestRequestLogRecordsFaultsReplaysAndLimits(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlanLimits(20, 0, time.Minute))
	c := admin(t, srv)
	hc := freshConnections(t)
	postCustomer := func(key string) {
		req := c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Faulty"))
		req.Header.Set("Idempotency-Key", key)
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
	}
	type outcome struct {
		status        int
		fault         atlastest.Fault
		after         bool
		replayed      bool
		handlerStatus int
	}
	last := func() outcome {
		r := lastRequest(t, srv)
		return outcome{r.Status, r.Fault, r.FaultAfterHandler, r.Replayed, r.HandlerStatus}
	}

	srv.FailNext(1, http.StatusServiceUnavailable)
	postCustomer("a")
	assert.Equal(t, outcome{status: 503, fault: atlastest.FaultFail}, last())

	srv.FailNext(1, http.StatusBadGateway, atlastest.AfterHandler())
	postCustomer("b")
	assert.Equal(t, outcome{status: 502, fault: atlastest.FaultFail, after: true, handlerStatus: 201}, last())

	postCustomer("b")
	assert.Equal(t, outcome{status: 201, replayed: true}, last())

	srv.DropNext(1)
	postCustomer("c")
	assert.Equal(t, outcome{fault: atlastest.FaultDrop}, last())

	srv.DropNext(1, atlastest.AfterHandler())
	postCustomer("d")
	assert.Equal(t, outcome{fault: atlastest.FaultDrop, after: true, handlerStatus: 201}, last())

	srv.DelayNext(1, time.Millisecond)
	postCustomer("e")
	assert.Equal(t, outcome{status: 201, fault: atlastest.FaultDelay, handlerStatus: 201}, last())

	for range 20 {
		c.get("/auth/me")
	}
	assert.Equal(t, outcome{status: 429}, last())

	// How often did the create of each key run?
	ran := map[string]int{}
	for _, r := range srv.Requests() {
		if r.IdempotencyKey != "" && r.HandlerStatus == http.StatusCreated {
			ran[r.IdempotencyKey]++
		}
	}
	assert.Equal(t, map[string]int{"b": 1, "d": 1, "e": 1}, ran)
}

func TestRequestLogRecordsARequestItsClientAbandoned(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	paused := pausing(srv)
	c := admin(t, srv)
	srv.DelayNext(1, time.Hour, atlastest.Matching("POST /contacts/customers"))

	err := abandon(t, srv, paused, c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Never")))
	require.ErrorIs(t, err, context.Canceled)

	rec := lastRequest(t, srv)
	assert.Equal(t, "/contacts/customers", rec.Path)
	assert.Equal(t, atlastest.FaultDelay, rec.Fault)
	assert.Zero(t, rec.Status, "no answer")
	assert.Zero(t, rec.HandlerStatus, "not handled")
}

func TestRequestLogIsBounded(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithRequestLog(3))
	c := admin(t, srv)
	for i := range 5 {
		c.get("/companies?page=" + string(rune('1'+i)))
	}
	recs := srv.Requests()
	require.Len(t, recs, 3)
	for i, r := range recs {
		assert.Equal(t, string(rune('3'+i)), r.Query.Get("page"), "the last three, oldest first")
	}

	recs[0].Query.Set("page", "changed")
	assert.Equal(t, "3", srv.Requests()[0].Query.Get("page"), "records are copies")

	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
	c.get("/companies")
	assert.Len(t, srv.Requests(), 1)

	off := newServer(t, atlastest.WithRequestLog(0))
	admin(t, off).get("/companies")
	assert.Empty(t, off.Requests())
}

func TestRequestLogKeepsTheStartOfALargeBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	body := `{"display_name": "Big", "notes": "` + strings.Repeat("n", 100<<10) + `"}`
	resp, err := send(t, srv, c.newRequest(http.MethodPost, customersPath(srv), body))
	require.NoError(t, err)
	rec := lastRequest(t, srv)
	assert.True(t, rec.BodyTruncated)
	assert.Equal(t, 64<<10, len(rec.Body))
	assert.True(t, strings.HasPrefix(body, string(rec.Body)), "the start of the body")
	assert.Equal(t, resp.status, rec.HandlerStatus)
	assert.NotEqual(t, http.StatusBadRequest, resp.status, "the handler read the whole body: %s", resp.body)
}

package atlastest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Every request a test sends through a control client, and every answer, is checked against
// api/atlastest-control.yaml, as client.do checks the Atlas API against the contract.

var (
	controlOnce   sync.Once
	controlDoc    *openapi3.T
	controlRouter routers.Router
	controlErr    error
)

// controlBase is the control document's server; requests are matched as if sent there.
const controlBase = "http://127.0.0.1:8080"

func loadControlDoc() (*openapi3.T, routers.Router, error) {
	controlOnce.Do(func() {
		controlDoc, controlErr = openapi3.NewLoader().LoadFromFile("../api/atlastest-control.yaml")
		if controlErr != nil {
			return
		}
		if controlErr = controlDoc.Validate(context.Background()); controlErr != nil {
			return
		}
		controlRouter, controlErr = legacy.NewRouter(controlDoc)
	})
	return controlDoc, controlRouter, controlErr
}

// controlClient sends control requests to a server's root URL.
type controlClient struct {
	t    testing.TB
	root string // "http://127.0.0.1:PORT"
	hc   *http.Client
	seen map[string]bool // operation ids exercised, when set

	prepare func(*http.Request) // when set, changes each request before it is sent
}

func newControl(t testing.TB, srv *atlastest.Server) *controlClient {
	return &controlClient{t: t, root: strings.TrimSuffix(srv.URL, "/api/v1"), hc: srv.Client()}
}

// do sends a control request; body is nil, a string sent as is, or a value sent as JSON.
// Both the request and the answer must keep to the control document.
func (c *controlClient) do(method, path string, body any) response {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(c.t, err)
	}
	req, err := http.NewRequest(method, c.root+path, bytes.NewReader(raw))
	require.NoError(c.t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.prepare != nil {
		c.prepare(req)
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer func() { _ = resp.Body.Close() }()
	got, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	out := response{status: resp.StatusCode, header: resp.Header, body: got}
	c.check(method, path, raw, req.Header.Get("Authorization"), out)
	return out
}

// check validates one exchange against api/atlastest-control.yaml, the request with the
// Authorization header auth ("" for none). A request the document does not have must have
// been answered 404 or 405.
func (c *controlClient) check(method, path string, body []byte, auth string, resp response) {
	c.t.Helper()
	_, router, err := loadControlDoc()
	require.NoError(c.t, err, "load api/atlastest-control.yaml")
	req, err := http.NewRequest(method, controlBase+path, bytes.NewReader(body))
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		assert.Contains(c.t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.status,
			"%s %s is not in the control document, yet answered %d: %s", method, path, resp.status, resp.body)
		resp.requireError(c.t, resp.status)
		return
	}
	if c.seen != nil {
		c.seen[route.Operation.OperationID] = true
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: controlAuth}}
	if resp.status < 400 {
		assert.NoError(c.t, openapi3filter.ValidateRequest(context.Background(), in), "%s %s: the request does not keep to the document", method, path)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	assert.NoError(c.t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.status,
		Header:                 resp.header,
		Body:                   io.NopCloser(bytes.NewReader(resp.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}), "%s %s answered %d against the control document: %s", method, path, resp.status, resp.body)
}

// controlAuth checks a request against a security scheme of the control document: the
// bearer token's, the only one, wants "Authorization: Bearer" and a token.
func controlAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("scheme %s is not the control token's", in.SecuritySchemeName)
	}
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// signedWith reports whether a delivery carries the signature of its body under secret.
func signedWith(d delivered, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(d.header.Get("X-Atlas-Signature")))
}

func controlServer(t *testing.T, opts ...atlastest.Option) (*atlastest.Server, *controlClient) {
	srv := newServer(t, append([]atlastest.Option{atlastest.WithControlAPI()}, opts...)...)
	return srv, newControl(t, srv)
}

// TestControlAPI drives every operation of the control API, and the errors it answers,
// and checks that together they cover the whole control document and nothing else.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	srv, ctl := controlServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithTokenLifetime(time.Hour),
		atlastest.WithWebhookRetry(1, 0))
	ctl.seen = map[string]bool{}
	api := admin(t, srv)

	t.Run("seed", func(t *testing.T) {
		var seed atlastest.Seed
		resp := ctl.do(http.MethodGet, "/_atlastest/seed", nil)
		require.Equal(t, http.StatusOK, resp.status)
		resp.decode(t, &seed)
		assert.Equal(t, srv.Seed(), seed)
	})

	t.Run("clock", func(t *testing.T) {
		resp := ctl.do(http.MethodGet, "/_atlastest/clock", nil)
		require.Equal(t, http.StatusOK, resp.status)
		assert.Equal(t, tenAM.Format(time.RFC3339), parseTime(t, resp.object(t)["now"]).Format(time.RFC3339))

		resp = ctl.do(http.MethodPost, "/_atlastest/clock/advance", map[string]string{"duration": "61m"})
		require.Equal(t, http.StatusOK, resp.status)
		assert.Equal(t, tenAM.Add(61*time.Minute), parseTime(t, resp.object(t)["now"]))
		assert.Equal(t, tenAM.Add(61*time.Minute), srv.Now())
		api.get("/auth/me").requireError(t, http.StatusUnauthorized)
		api = admin(t, srv)

		for _, body := range []string{`{"duration":"-1s"}`, `{"duration":"0s"}`, `{"duration":"soon"}`, `{"duration":3600}`, `{}`} {
			ctl.do(http.MethodPost, "/_atlastest/clock/advance", body).requireError(t, http.StatusUnprocessableEntity)
		}
		ctl.do(http.MethodPost, "/_atlastest/clock/advance", `{"duration":"1s","by":"me"}`).requireError(t, http.StatusBadRequest)
		ctl.do(http.MethodPost, "/_atlastest/clock/advance", `[`).requireError(t, http.StatusBadRequest)
		ctl.do(http.MethodPost, "/_atlastest/clock/advance", "").requireError(t, http.StatusUnprocessableEntity)
		assert.Equal(t, tenAM.Add(61*time.Minute), srv.Now(), "a refused advance moves nothing")
	})

	t.Run("faults", func(t *testing.T) {
		resp := ctl.do(http.MethodPost, "/_atlastest/faults", map[string]any{"kind": "fail", "status": 503, "retry_after": "2s", "matching": "GET /companies"})
		require.Equal(t, http.StatusNoContent, resp.status)
		assert.Empty(t, resp.body)
		require.Equal(t, http.StatusOK, api.get("/auth/me").status, "the fault waits for its path")
		got, err := send(t, srv, api.newRequest(http.MethodGet, "/companies", ""))
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, got.status)
		assert.Equal(t, "2", got.header.Get("Retry-After"))
		assert.Equal(t, http.StatusOK, api.get("/companies").status, "one request")

		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPost, "/_atlastest/faults", map[string]any{"kind": "drop", "count": 1}).status)
		// A POST without an Idempotency-Key, which Go's transport never sends twice by itself.
		_, err = send(t, srv, api.newRequest(http.MethodPost, "/companies", "{}"))
		assert.Error(t, err, "dropped")

		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPost, "/_atlastest/faults",
			map[string]any{"kind": "fail", "status": 500, "after_handler": true, "matching": "POST /contacts/customers"}).status)
		before := len(api.list("/contacts/customers?company_id=" + srv.CompanyID()).Items)
		got, err = send(t, srv, api.newRequest(http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), `{"display_name":"Lost Answer Ltd"}`))
		require.NoError(t, err)
		assert.Equal(t, http.StatusInternalServerError, got.status)
		assert.Len(t, api.list("/contacts/customers?company_id="+srv.CompanyID()).Items, before+1, "made, then its answer lost")

		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPost, "/_atlastest/faults", map[string]any{"kind": "delay", "delay": "1h", "count": 3}).status)
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodDelete, "/_atlastest/faults", nil).status)
		assert.Equal(t, http.StatusOK, api.get("/companies").status, "cleared: no delay of an hour")

		for _, body := range []any{
			map[string]any{"kind": "fail"},
			map[string]any{"kind": "fail", "status": 200},
			map[string]any{"kind": "explode"},
			map[string]any{"count": 1},
			map[string]any{"kind": "drop", "count": 0},
			map[string]any{"kind": "drop", "status": 500},
			map[string]any{"kind": "delay"},
			map[string]any{"kind": "fail", "status": 500, "delay": "1s"},
			map[string]any{"kind": "drop", "matching": "GET /x/{"},
			map[string]any{"kind": "drop", "count": "two"},
		} {
			ctl.do(http.MethodPost, "/_atlastest/faults", body).requireError(t, http.StatusUnprocessableEntity)
		}
	})

	t.Run("latency", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPut, "/_atlastest/latency", map[string]any{"delay": "1h", "matching": "GET /periods"}).status)
		var paused sync.WaitGroup
		paused.Add(1)
		atlastest.OnPause(srv, paused.Done)
		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error {
			req := api.newRequest(http.MethodGet, "/periods?company_id="+srv.CompanyID(), "").WithContext(ctx)
			_, err := send(t, srv, req)
			return err
		})
		paused.Wait() // the server holds the request
		cancel()
		assert.Error(t, <-done)
		atlastest.OnPause(srv, nil)
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPut, "/_atlastest/latency", map[string]any{"delay": "0s", "matching": "GET /periods"}).status)
		assert.Equal(t, http.StatusOK, api.get("/periods?company_id="+srv.CompanyID()).status, "removed")

		ctl.do(http.MethodPut, "/_atlastest/latency", map[string]any{}).requireError(t, http.StatusUnprocessableEntity)
		ctl.do(http.MethodPut, "/_atlastest/latency", map[string]any{"delay": "1s", "matching": "nope"}).requireError(t, http.StatusUnprocessableEntity)
	})

	t.Run("chaos", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPut, "/_atlastest/chaos",
			map[string]any{"seed": 7, "fail_rate": 1, "fail_statuses": []int{502}, "matching": "GET /companies"}).status)
		got, err := send(t, srv, api.newRequest(http.MethodGet, "/companies", ""))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, got.status)
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPut, "/_atlastest/chaos", nil).status, "no body: off")
		assert.Equal(t, http.StatusOK, api.get("/companies").status)

		ctl.do(http.MethodPut, "/_atlastest/chaos", map[string]any{"fail_rate": 2}).requireError(t, http.StatusUnprocessableEntity)
		ctl.do(http.MethodPut, "/_atlastest/chaos", map[string]any{"fail_rate": 0.6, "drop_rate": 0.6}).requireError(t, http.StatusUnprocessableEntity)
	})

	t.Run("requests", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodDelete, "/_atlastest/requests", nil).status)
		loggedIn(t, srv, srv.Email(), srv.Password())
		api.get("/companies")
		resp := ctl.do(http.MethodGet, "/_atlastest/requests", nil)
		require.Equal(t, http.StatusOK, resp.status)
		var out struct {
			Items []struct {
				Method string              `json:"method"`
				Path   string              `json:"path"`
				Body   *string             `json:"body"`
				Header map[string][]string `json:"header"`
				Status int                 `json:"status"`
			} `json:"items"`
		}
		resp.decode(t, &out)
		require.Len(t, out.Items, 2, "the control API's own requests are not in the log")
		assert.Equal(t, "/auth/login", out.Items[0].Path)
		require.NotNil(t, out.Items[0].Body)
		assert.Contains(t, *out.Items[0].Body, `"password":"[REDACTED]"`)
		assert.Equal(t, []string{"Bearer [REDACTED]"}, out.Items[1].Header["Authorization"])
		assert.NotContains(t, string(resp.body), srv.Password())
		assert.NotContains(t, string(resp.body), api.token)
	})

	t.Run("subscriptions and deliveries", func(t *testing.T) {
		rc := newReceiver(t)
		resp := ctl.do(http.MethodPost, "/_atlastest/subscriptions", map[string]any{"url": rc.URL, "events": []string{"invoice.created", "invoice.sent"}})
		require.Equal(t, http.StatusCreated, resp.status)
		var sub struct {
			ID     string   `json:"id"`
			Events []string `json:"events"`
		}
		resp.decode(t, &sub)
		require.NotEmpty(t, sub.ID)

		inv := createInvoice(t, api, srv)
		require.Equal(t, http.StatusOK, api.do(http.MethodPost, "/invoices/"+inv+"/send", nil).status)
		resp = ctl.do(http.MethodPost, "/_atlastest/deliveries/wait", map[string]any{"timeout": "30s"})
		require.Equal(t, http.StatusOK, resp.status)
		got := rc.received()
		require.Len(t, got, 2)
		for i, want := range []string{"invoice.created", "invoice.sent"} {
			assert.Equal(t, want, got[i].event(t).Event)
			assert.True(t, signedWith(got[i], srv.WebhookSecret()), "signed with the seed's webhook secret")
		}

		var ds struct {
			Items []struct {
				Event string `json:"event"`
				OK    bool   `json:"ok"`
				URL   string `json:"url"`
			} `json:"items"`
		}
		resp = ctl.do(http.MethodGet, "/_atlastest/deliveries", nil)
		resp.decode(t, &ds)
		require.Len(t, ds.Items, 2)
		assert.True(t, ds.Items[1].OK)
		assert.Equal(t, rc.URL, ds.Items[1].URL)

		resp = ctl.do(http.MethodPost, "/_atlastest/deliveries/wait", map[string]any{"count": 2, "timeout": "1s"})
		require.Equal(t, http.StatusOK, resp.status, "two attempts were made already")
		ctl.do(http.MethodPost, "/_atlastest/deliveries/wait", map[string]any{"count": 3, "timeout": "1ms"}).requireError(t, http.StatusRequestTimeout)
		ctl.do(http.MethodPost, "/_atlastest/deliveries/wait", map[string]any{"timeout": "11m"}).requireError(t, http.StatusUnprocessableEntity)
		ctl.do(http.MethodPost, "/_atlastest/deliveries/wait", map[string]any{"count": -1}).requireError(t, http.StatusUnprocessableEntity)

		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodDelete, "/_atlastest/subscriptions/"+sub.ID, nil).status)
		ctl.do(http.MethodDelete, "/_atlastest/subscriptions/"+sub.ID, nil).requireError(t, http.StatusNotFound)
		ctl.do(http.MethodPost, "/_atlastest/subscriptions", map[string]any{"url": "ftp://example.com/x"}).requireError(t, http.StatusUnprocessableEntity)
		ctl.do(http.MethodPost, "/_atlastest/subscriptions", map[string]any{"url": rc.URL, "events": []string{"invoice.exploded"}}).requireError(t, http.StatusUnprocessableEntity)
		ctl.do(http.MethodPost, "/_atlastest/subscriptions", map[string]any{}).requireError(t, http.StatusUnprocessableEntity)
	})

	t.Run("reset", func(t *testing.T) {
		api.do(http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), map[string]any{"display_name": "Gone After Reset"})
		require.Equal(t, http.StatusNoContent, ctl.do(http.MethodPost, "/_atlastest/reset", nil).status)
		assert.Equal(t, srv.CustomerIDs(), ids(api.list("/contacts/customers?company_id="+srv.CompanyID()+"&sort_order=asc").Items))
	})

	t.Run("state", func(t *testing.T) {
		resp := ctl.do(http.MethodGet, "/_atlastest/state", nil)
		require.Equal(t, http.StatusOK, resp.status)
		other, octl := controlServer(t)
		octl.seen = ctl.seen
		require.Equal(t, http.StatusNoContent, octl.do(http.MethodPut, "/_atlastest/state", string(resp.body)).status)
		assert.Equal(t, srv.Seed(), other.Seed())
		assert.Equal(t, api.list("/contacts/customers?company_id="+srv.CompanyID()),
			admin(t, other).list("/contacts/customers?company_id="+srv.CompanyID()))

		octl.do(http.MethodPut, "/_atlastest/state", `{"atlastest_state": 2}`).requireError(t, http.StatusUnprocessableEntity)
		octl.do(http.MethodPut, "/_atlastest/state", `[`).requireError(t, http.StatusUnprocessableEntity)
		assert.Equal(t, srv.Seed(), other.Seed(), "unchanged")
	})

	t.Run("unknown routes", func(t *testing.T) {
		ctl.do(http.MethodGet, "/_atlastest/nothing", nil).requireError(t, http.StatusNotFound)
		resp := ctl.do(http.MethodPost, "/_atlastest/seed", nil)
		resp.requireError(t, http.StatusMethodNotAllowed)
		assert.Equal(t, "GET, HEAD", resp.header.Get("Allow"))
	})

	var missing []string
	doc, _, err := loadControlDoc()
	require.NoError(t, err)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			if !ctl.seen[op.OperationID] {
				missing = append(missing, op.OperationID)
			}
		}
	}
	assert.Empty(t, missing, "operations of the control document no test sent")
	for _, p := range atlastest.ControlPatterns(srv) {
		assert.True(t, documented[p], "%s is served but not in api/atlastest-control.yaml", p)
	}
	assert.Len(t, atlastest.ControlPatterns(srv), len(documented), "every documented operation is served")
}

// createInvoice creates a draft invoice for the first seeded customer and returns its id.
func createInvoice(t *testing.T, c *client, srv *atlastest.Server) string {
	t.Helper()
	resp := c.do(http.MethodPost, "/invoices?company_id="+srv.CompanyID(), map[string]any{
		"customer_id":  srv.CustomerIDs()[0],
		"invoice_date": srv.Now().Format("2006-01-02"),
		"lines": []map[string]any{{
			"description": "Consulting", "quantity": "2", "unit_price": "150.00",
			"revenue_account_id": srv.AccountID("4000"),
		}},
	})
	require.Equal(t, http.StatusCreated, resp.status, "%s", resp.body)
	return resp.object(t)["id"].(string)
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v", v)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

func TestControlAPIStaysOffTheAPIsPaths(t *testing.T) {
	t.Parallel()
	doc, err := loadContract()
	require.NoError(t, err)
	for path := range doc.Paths.Map() {
		assert.False(t, strings.HasPrefix(path, "/_atlastest"), "the contract uses the control prefix: %s", path)
	}

	srv, ctl := controlServer(t)
	// The control handler alone answers nothing of the API.
	for _, p := range []string{"/api/v1/auth/me", "/api/v1/companies", "/", "/_atlastest"} {
		rec := httptest.NewRecorder()
		srv.ControlHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		assert.Equal(t, http.StatusNotFound, rec.Code, p)
	}
	// With the control API on, the API's answers are the API's.
	resp := anon(t, srv).get("/companies")
	resp.requireError(t, http.StatusUnauthorized)
	assert.NotEmpty(t, resp.header.Get("X-RateLimit-Limit"))

	// Control requests are not faulted, rate limited or logged.
	srv.FailNext(1, http.StatusServiceUnavailable)
	require.Equal(t, http.StatusOK, ctl.do(http.MethodGet, "/_atlastest/seed", nil).status)
	assert.Empty(t, ctl.do(http.MethodGet, "/_atlastest/seed", nil).header.Get("X-RateLimit-Limit"))
	got, err := send(t, srv, anon(t, srv).newRequest(http.MethodGet, "/companies", ""))
	require.NoError(t, err)
	got.requireError(t, http.StatusServiceUnavailable)
	for _, r := range srv.Requests() {
		assert.False(t, strings.HasPrefix(r.Path, "/_atlastest"), r.Path)
	}

	// Without it, the prefix is just a path the API does not have.
	plain := newServer(t)
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(plain.URL, "/api/v1")+"/_atlastest/seed", nil)
	require.NoError(t, err)
	resp, err = send(t, plain, req)
	require.NoError(t, err)
	resp.requireError(t, http.StatusNotFound)
	assert.NotEmpty(t, resp.header.Get("X-RateLimit-Limit"), "answered by the API")

	// ControlHandler mounts beside Handler on a mux of one's own.
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", plain.Handler())
	mux.Handle(atlastest.ControlPrefix, plain.ControlHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	mounted := &controlClient{t: t, root: hs.URL, hc: hs.Client()}
	var seed atlastest.Seed
	mounted.do(http.MethodGet, "/_atlastest/seed", nil).decode(t, &seed)
	assert.Equal(t, plain.Email(), seed.Email)
}

func TestResetPutsTheRecordsBack(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithInvoices(8))
	c := admin(t, srv)
	customers := "/contacts/customers?company_id=" + srv.CompanyID()
	before := c.list(customers + "&sort_order=asc")
	invoicesBefore := c.list("/invoices?company_id=" + srv.CompanyID() + "&page_size=100")
	pl := "/reports/profit-loss?company_id=" + srv.CompanyID() + "&period_start=" + srv.Now().Format("2006") + "-01-01&period_end=" + srv.Now().Format("2006-01-02")
	report := func() map[string]any {
		m := c.get(pl).object(t)
		delete(m, "generated_at")
		return m
	}
	plBefore := report()

	srv.Reset() // nothing changed yet: nothing to do
	assert.Equal(t, before, c.list(customers+"&sort_order=asc"))

	req := c.newRequest(http.MethodPost, customers, `{"display_name":"Northwind"}`)
	req.Header.Set("Idempotency-Key", "k-1")
	first, err := send(t, srv, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, first.status)
	assert.Equal(t, "CUST-0004", first.object(t)["customer_number"])
	inv := createInvoice(t, c, srv)
	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "/invoices/"+inv+"/send", nil).status)
	assert.NotEqual(t, plBefore, report())

	srv.Reset()
	assert.Equal(t, before, c.list(customers+"&sort_order=asc"), "the seeded customers, nothing more")
	assert.Equal(t, invoicesBefore, c.list("/invoices?company_id="+srv.CompanyID()+"&page_size=100"))
	assert.Equal(t, plBefore, report(), "the ledger too")
	c.get("/invoices/"+inv).requireError(t, http.StatusNotFound)

	req = c.newRequest(http.MethodPost, customers, `{"display_name":"Northwind"}`)
	req.Header.Set("Idempotency-Key", "k-1")
	again, err := send(t, srv, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, again.status)
	assert.Empty(t, again.header.Get("Idempotent-Replayed"), "the key was forgotten with the records")
	assert.Equal(t, "CUST-0004", again.object(t)["customer_number"], "numbering starts over")
	assert.NotEqual(t, first.object(t)["id"], again.object(t)["id"])

	assert.Equal(t, http.StatusOK, c.get("/auth/me").status, "tokens stay")
	srv.Reset()
	assert.Len(t, c.list(customers).Items, 3, "a second reset goes back to the seed again")
}

func TestControlWaitEndsWhenTheServerCloses(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer(atlastest.WithControlAPI())
	rc := newReceiver(t)
	rc.Close() // nobody answers: deliveries are retried, so never done
	srv.Subscribe(rc.URL)
	createInvoice(t, admin(t, srv), srv)

	waiting := make(chan struct{})
	atlastest.OnControlWait(srv, func() { close(waiting) })
	hc := srv.Client()
	done := make(chan int, 1)
	go func() {
		resp, err := hc.Post(strings.TrimSuffix(srv.URL, "/api/v1")+"/_atlastest/deliveries/wait", "application/json", strings.NewReader(`{"timeout":"10m"}`))
		if err != nil {
			done <- 0
			return
		}
		_ = resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-waiting
	srv.Close() // waits for the request in flight, which must end now, not in ten minutes
	assert.Equal(t, http.StatusServiceUnavailable, <-done)
}

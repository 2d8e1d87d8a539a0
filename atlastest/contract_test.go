package atlastest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/atlastest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every response a test in this package receives through client.do is checked against
// api/openapi.yaml: for an operation of the contract, its status must be documented and its
// body and headers must match the schema. So every test doubles as a contract test of the
// operations it touches.

var (
	contractOnce sync.Once
	contractDoc  *openapi3.T
	contractErr  error
)

// productionBase is the contract's server URL; requests are matched as if sent there.
const productionBase = "https://api.atlas-accounting.com"

func loadContract() (*openapi3.T, error) {
	contractOnce.Do(func() {
		contractDoc, contractErr = openapi3.NewLoader().LoadFromFile("../api/openapi.yaml")
	})
	return contractDoc, contractErr
}

// findRoute matches a request to the contract's operation. kin-openapi's routers validate
// the document first and refuse OpenAPI 3.1's `type: [string, 'null']`, which the contract
// uses (the schema validator itself handles it), so matching is done here: a path
// template's {param} segment matches any one segment.
func findRoute(doc *openapi3.T, req *http.Request) (*routers.Route, map[string]string, bool) {
	path, ok := strings.CutPrefix(req.URL.Path, "/api/v1")
	if !ok {
		return nil, nil, false
	}
	segs := strings.Split(path, "/")
	for tmpl, item := range doc.Paths.Map() {
		op := item.GetOperation(req.Method)
		tsegs := strings.Split(tmpl, "/")
		if op == nil || len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") && segs[i] != "" {
				params[ts[1:len(ts)-1]] = segs[i]
			} else if ts != segs[i] {
				match = false
				break
			}
		}
		if match {
			return &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: req.Method, Operation: op}, params, true
		}
	}
	return nil, nil, false
}

// checkContract validates one response against the contract. Requests for paths or
// methods the contract does not have (the 404 and 405 tests) are not checked.
func checkContract(t testing.TB, req *http.Request, resp response) {
	t.Helper()
	doc, err := loadContract()
	require.NoError(t, err, "load api/openapi.yaml")

	u, err := url.Parse(productionBase + req.URL.RequestURI())
	require.NoError(t, err)
	routed := req.Clone(context.Background())
	routed.URL = u
	route, params, ok := findRoute(doc, routed)
	if !ok {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route},
		Status:                 resp.status,
		Header:                 resp.header,
		Body:                   io.NopCloser(bytes.NewReader(resp.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	assert.NoError(t, openapi3filter.ValidateResponse(context.Background(), in),
		"%s %s answered %d against the contract: %s", req.Method, req.URL.Path, resp.status, resp.body)

	// The contract puts the rate-limit headers on every response and Retry-After on every
	// 429 without marking them required, so the validator above checks them only when
	// present.
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		assert.NotEmpty(t, resp.header.Get(h), "%s %s answered %d without %s", req.Method, req.URL.Path, resp.status, h)
	}
	if resp.status == http.StatusTooManyRequests {
		assert.NotEmpty(t, resp.header.Get("Retry-After"), "%s %s answered 429 without Retry-After", req.Method, req.URL.Path)
	}
}

// TestContractCheckCatchesAWrongField makes sure the check above can fail: a customer
// without customer_number, or with credit_limit as a number, is not a Customer.
func TestContractCheckCatchesAWrongField(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	resp := c.get("/contacts/customers/" + srv.CustomerIDs()[0])
	require.Equal(t, http.StatusOK, resp.status)

	doc, err := loadContract()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, productionBase+"/api/v1/contacts/customers/"+srv.CustomerIDs()[0], nil)
	require.NoError(t, err)
	route, params, ok := findRoute(doc, req)
	require.True(t, ok)
	validate := func(body string) error {
		return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 http.StatusOK,
			Header:                 resp.header,
			Body:                   io.NopCloser(bytes.NewReader([]byte(body))),
		})
	}
	require.NoError(t, validate(string(resp.body)))
	m := resp.object(t)
	delete(m, "customer_number")
	assert.Error(t, validate(mustJSON(t, m)))
	m = resp.object(t)
	m["credit_limit"] = 10000
	assert.Error(t, validate(mustJSON(t, m)))
}

// TestInjectedGatewayErrorsKeepToTheContract checks that what FailNext injects for the
// statuses a proxy or an unavailable Atlas answers (502, 503, 504, with and without
// Retry-After) is a response the contract admits, on a read, a create and the login, so
// a validating proxy between a client and the fake flags none of them.
func TestInjectedGatewayErrorsKeepToTheContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		for _, opts := range [][]atlastest.FaultOption{nil, {atlastest.RetryAfter(1500 * time.Millisecond)}} {
			srv.FailNext(3, status, opts...)
			got := []int{
				c.get("/auth/me").status,
				c.do(http.MethodPost, "/contacts/customers", map[string]any{"name": "Gateway Ltd"}).status,
				anon(t, srv).do(http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), "password": "wrong"}).status,
			}
			assert.Equal(t, []int{status, status, status}, got, "every request met the injected %d", status)
		}
	}
}

// TestEveryPathParameterHasAnExample checks what a contract tester needs to call every
// operation: each path parameter gives an example value of its own (testers read the
// parameter's example, not that of a schema it refers to).
func TestEveryPathParameterHasAnExample(t *testing.T) {
	t.Parallel()
	doc, err := loadContract()
	require.NoError(t, err)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, ref := range append(slices.Clone(item.Parameters), op.Parameters...) {
				p := ref.Value
				if p.In != openapi3.ParameterInPath {
					continue
				}
				has := p.Example != nil || len(p.Examples) > 0
				assert.True(t, has, "%s %s: path parameter %s has no example", method, path, p.Name)
			}
		}
	}
}

// TestNoSchemaIsNamedAfterAnOperationsResponse checks that code generators which name an
// operation's response wrapper <OperationId>Response (oapi-codegen does) find no schema of
// that name already, so their output compiles.
func TestNoSchemaIsNamedAfterAnOperationsResponse(t *testing.T) {
	t.Parallel()
	doc, err := loadContract()
	require.NoError(t, err)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				continue
			}
			wrapper := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:] + "Response"
			_, taken := doc.Components.Schemas[wrapper]
			assert.False(t, taken, "%s %s: schema %s is the name of operation %s's wrapper", method, path, wrapper, op.OperationID)
		}
	}
}

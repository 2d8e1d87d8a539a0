package atlastest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

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

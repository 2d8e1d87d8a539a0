package atlas

import (
	"errors"
	"net/http"
	"net/url"
)

// companyScope says whether a route takes the company_id query parameter.
type companyScope int

const (
	companyNone     companyScope = iota // auth and companies routes
	companyOptional                     // item and action routes: sent when the client has one
	companyRequired                     // collection routes and reports: an error before any request when missing
)

// request describes one API call; call sends it through the pipeline.
type request struct {
	method  string
	path    string     // relative to the base URL, already escaped, e.g. "/invoices/ID/send"
	query   url.Values // filters and paging; may be nil
	body    any        // JSON-encoded when non-nil
	company companyScope
	noAuth  bool // login and refresh: no Authorization header, no refresh on 401
}

// url builds the request URL: base + path + the query with company_id.
func (c *Client) url(req *request) (string, error) {
	var company string
	switch req.company {
	case companyRequired:
		if c.company == "" {
			return "", ErrNoCompany
		}
		company = c.company
	case companyOptional:
		company = c.company
	}
	u := c.core.baseStr + req.path
	switch {
	case company == "" && len(req.query) == 0:
		return u, nil
	case len(req.query) == 0:
		return u + "?company_id=" + url.QueryEscape(company), nil
	}
	q := req.query
	if company != "" {
		q = make(url.Values, len(req.query)+1)
		for k, v := range req.query {
			q[k] = v
		}
		q["company_id"] = []string{company}
	}
	return u + "?" + q.Encode(), nil
}

// RequestOption adjusts a single API call.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	header         http.Header
	response       **Response
	concurrency    int
}

func newRequestConfig(opts []RequestOption) requestConfig {
	if len(opts) == 0 {
		return requestConfig{} // without a heap allocation for cfg
	}
	cfg := new(requestConfig)
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	return *cfg
}

// WithIdempotencyKey sets the Idempotency-Key of a POST instead of the random
// one the client generates. The key stays the same across the call's retries;
// reuse it to repeat a create safely after the call itself has returned.
func WithIdempotencyKey(key string) RequestOption {
	return func(rc *requestConfig) { rc.idempotencyKey = key }
}

// WithHeader adds a header to a single call. The client's own headers
// (Authorization, User-Agent, Accept, Content-Type, Idempotency-Key) win.
func WithHeader(key, value string) RequestOption {
	return func(rc *requestConfig) {
		if rc.header == nil {
			rc.header = http.Header{}
		}
		rc.header.Add(key, value)
	}
}

// WithResponse stores the call's final HTTP response (status, headers,
// rate-limit state, request id) in *dst, on success and on an API error alike.
// The body is not kept.
func WithResponse(dst **Response) RequestOption {
	return func(rc *requestConfig) { rc.response = dst }
}

// WithConcurrency lets an All iterator fetch up to n pages at once once the
// server has shown that it advances (page 2 came as asked for) and the first
// page has told it how many there are, within the client's rate-limit
// budget; items still come in order. n <= 1 (the default) fetches one page
// ahead of the caller.
func WithConcurrency(n int) RequestOption {
	return func(rc *requestConfig) { rc.concurrency = n }
}

// Response is the HTTP side of a call's answer, captured with WithResponse.
type Response struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// RateLimit is the rate-limit state the response reported.
	RateLimit RateLimit
	// RequestID is the server's X-Request-ID, for support requests.
	RequestID string
}

// ErrNoCompany is returned before any request is sent when a call needs a
// company context and the client has none (see WithCompany and ForCompany).
var ErrNoCompany = errors.New("atlas: no company: use WithCompany or Client.ForCompany")

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

// RequestOption adjusts a single API call: WithHeader and WithResponse. It
// fits every method: it is a PostOption and an AllOption too.
type RequestOption interface {
	PostOption
	AllOption
}

// PostOption adjusts a call that POSTs (a create or an action, Auth.Login,
// Auth.Refresh, Client.Do): every RequestOption, and WithIdempotencyKey,
// which only a POST sends. The methods that do not POST take RequestOption,
// so that an idempotency key that would not be sent does not compile there.
type PostOption interface {
	apply(*requestConfig)
	postOption()
}

// AllOption adjusts an All iteration: every RequestOption, and
// WithConcurrency, which only an iteration over pages uses. The other
// methods take RequestOption or PostOption, so that WithConcurrency does not
// compile where it would do nothing.
type AllOption interface {
	apply(*requestConfig)
	allOption()
}

// requestOption is a RequestOption.
type requestOption func(*requestConfig)

func (o requestOption) apply(rc *requestConfig) { o(rc) }
func (requestOption) postOption()               {}
func (requestOption) allOption()                {}

type requestConfig struct {
	idempotencyKey string
	header         http.Header
	response       **Response
	concurrency    int
}

// configOf applies opts (RequestOption, PostOption or AllOption values; nil
// ones are skipped) to a new requestConfig.
func configOf[O interface{ apply(*requestConfig) }](opts []O) requestConfig {
	if len(opts) == 0 {
		return requestConfig{} // without a heap allocation for cfg
	}
	cfg := new(requestConfig)
	for _, o := range opts {
		if any(o) != nil {
			o.apply(cfg)
		}
	}
	return *cfg
}

// WithIdempotencyKey sets the Idempotency-Key of a POST instead of the random
// one the client generates. The key stays the same across the call's retries;
// reuse it to repeat a create safely after the call itself has returned.
func WithIdempotencyKey(key string) PostOption { return idempotencyKey(key) }

type idempotencyKey string

func (k idempotencyKey) apply(rc *requestConfig) { rc.idempotencyKey = string(k) }
func (idempotencyKey) postOption()               {}

// WithHeader adds a header to a single call. The client's own headers
// (Authorization, User-Agent, Accept, Content-Type, Idempotency-Key) win.
func WithHeader(key, value string) RequestOption {
	return requestOption(func(rc *requestConfig) {
		if rc.header == nil {
			rc.header = http.Header{}
		}
		rc.header.Add(key, value)
	})
}

// WithResponse stores the call's final HTTP response (status, headers,
// rate-limit state, request id) in *dst, on success and on an API error alike.
// The body is not kept.
func WithResponse(dst **Response) RequestOption {
	return requestOption(func(rc *requestConfig) { rc.response = dst })
}

// WithConcurrency lets an All iterator fetch up to n pages at once once the
// server has shown that it advances (page 2 came as asked for) and the first
// page has told it how many there are, within the client's rate-limit
// budget; items still come in order. n <= 1 (the default) fetches one page
// ahead of the caller.
func WithConcurrency(n int) AllOption { return concurrency(n) }

type concurrency int

func (n concurrency) apply(rc *requestConfig) { rc.concurrency = int(n) }
func (concurrency) allOption()                {}

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

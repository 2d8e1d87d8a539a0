package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Request is one call to the API, for Client.Do: the door through which
// every method of the services sends its own, open for a route the SDK does
// not wrap yet (a new or a beta endpoint). Do sends it through the whole
// pipeline, as it sends theirs.
type Request struct {
	// Method is the HTTP method, such as http.MethodPost; empty is GET.
	Method string
	// Path is the route below the base URL, escaped and starting with "/":
	// "/invoices/" + url.PathEscape(id) + "/remind".
	Path string
	// Query holds the query parameters, nil for none. company_id is not
	// among them: Company says whether the client adds its own.
	Query url.Values
	// Body, when not nil, is sent as JSON, encoded by encoding/json; a
	// json.RawMessage goes as it is.
	Body any
	// Company says whether the call carries the client's company (see
	// WithCompany and Client.ForCompany) as its company_id. The zero value,
	// CompanyNone, sends none.
	Company CompanyScope

	// Route is the route template of Path, for a ClientTrace (see
	// CallInfo.Route): "/invoices/{id}/remind" for the Path above, never
	// with an id, so that a tracer can name spans and metrics after it.
	// Empty, the trace gets no route. When set, it must start with "/" and
	// hold no query, fragment, space or control character.
	Route string

	noAuth bool   // login and refresh: no Authorization header, no replay after a 401
	op     string // the SDK method that sends it ("Invoices.Create"), for a trace; "" is Client.Do
	id     string // with an empty Path: the item whose id url puts in Route's "{id}"
}

// path is the request's path: Path, or Route with the item's id.
func (r *Request) path() string {
	if r.Path == "" && r.id != "" {
		return itemPath("", r.Route, r.id)
	}
	return r.Path
}

// CompanyScope says whether a Request carries the client's company as its
// company_id query parameter, in the three ways the API's routes take it.
type CompanyScope int

// Company scopes.
const (
	// CompanyNone sends no company_id, as for the auth and companies routes.
	CompanyNone CompanyScope = iota
	// CompanyOptional sends the client's company when it has one, as for
	// an item or an action route ("/invoices/{id}", "/invoices/{id}/send").
	CompanyOptional
	// CompanyRequired sends the client's company, and fails with
	// ErrNoCompany before any request when it has none, as for a collection
	// route (a list or a create) and a report.
	CompanyRequired
)

// Do sends req through the client's pipeline and decodes a 2xx answer's JSON
// body into out: a non-nil pointer to a value of the caller's own type, or
// nil to discard the body. The call is made as every method of the services
// makes its own, which are a few lines each on the same path: the client
// logs in or renews its tokens when they are due and replays the call once
// after a 401; the call waits within the client's rate-limit budget; it is
// retried as the RetryPolicy says, and a POST carries one Idempotency-Key
// across its retries (the one WithIdempotencyKey gives, or a random one); a
// non-2xx answer is an *Error; a 2xx answer with an empty or null body is an
// error when out is not nil. opts are those of a POST: any RequestOption,
// and WithIdempotencyKey.
//
// What cannot be sent as given fails before any request, with an error
// matching ErrInvalidParams: a nil req; a Method other than GET, HEAD, POST,
// PUT, PATCH, DELETE and OPTIONS; a Path that is not an escaped path
// starting with "/", or that has a query, a fragment, or a "." or ".."
// segment (also as "..;" or "..;x", which servers with path parameters read
// as ".."); a company_id in Query when Company is not CompanyNone (use
// ForCompany for another company); a Body on a GET or HEAD; an out that is
// not nil or a non-nil pointer; WithIdempotencyKey on a method other than
// POST, or with an empty key. CompanyRequired on a client without a company
// fails with ErrNoCompany.
func (c *Client) Do(ctx context.Context, req *Request, out any, opts ...PostOption) error {
	if req == nil {
		return invalidParams("Client.Do", "nil request")
	}
	r := *req
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if err := r.check(out); err != nil {
		op := "Client.Do"
		if r.Path != "" && len(r.Path) <= 200 && validPath(r.Path) == nil {
			op = r.Method + " " + r.Path
		}
		return invalidParams(op, "%v", err)
	}
	return c.do(ctx, r, configOf(opts), out)
}

// check refuses a Request given to Client.Do that could not be sent as it
// is, and an out that its answer could not be decoded into.
func (r *Request) check(out any) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		return fmt.Errorf("method %s: want GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", quoteShort(r.Method))
	}
	if err := validPath(r.Path); err != nil {
		return fmt.Errorf("path %s: %w", quoteShort(r.Path), err)
	}
	if err := validRoute(r.Route); err != nil {
		return fmt.Errorf("route %s: %w", quoteShort(r.Route), err)
	}
	if _, ok := r.Query["company_id"]; ok && r.Company != CompanyNone {
		return errors.New("the query sets company_id, which the client sets from its company: " +
			"use ForCompany for another company, or CompanyNone to send the query as it is")
	}
	if r.Body != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return fmt.Errorf("a %s sends no body: put its parameters in Query", r.Method)
	}
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() != reflect.Pointer || v.IsNil() {
			return fmt.Errorf("out is a %T, not a non-nil pointer that the answer can be decoded into", out)
		}
	}
	return nil
}

// validPath refuses a path that is not an escaped path below the base URL.
func validPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return errors.New(`want a path below the base URL, starting with "/"`)
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return errors.New("want a path alone: the query goes in Query")
	}
	if u.EscapedPath() != p {
		return errors.New("want an escaped path (url.PathEscape each segment)")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		// Servers that take path parameters (Tomcat, Spring, Jetty, and
		// proxies in front of them) read "..;x" as "..".
		if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
			return errors.New(`a "." or ".." segment (with or without ";" parameters) would name another route`)
		}
	}
	return nil
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// url builds the request URL: base + path + the query with company_id. It
// sets the Path of an item's request (Route with its id), built with the URL
// in one piece.
func (c *Client) url(req *Request) (string, error) {
	var u string
	if req.Path == "" && req.id != "" {
		u = itemPath(c.core.baseStr, req.Route, req.id)
		req.Path = u[len(c.core.baseStr):]
	} else {
		u = c.core.baseStr + req.Path
	}
	var company string
	switch req.Company {
	case CompanyRequired:
		if c.company == "" {
			return "", ErrNoCompany
		}
		company = c.company
	case CompanyOptional:
		company = c.company
	}
	switch {
	case company == "" && len(req.Query) == 0:
		return u, nil
	case len(req.Query) == 0:
		return u + "?company_id=" + url.QueryEscape(company), nil
	}
	q := req.Query
	if company != "" {
		q = make(url.Values, len(req.Query)+1)
		for k, v := range req.Query {
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
	keySet         bool // WithIdempotencyKey was given
	header         http.Header
	response       **Response
	concurrency    int
}

// check refuses options that could not be sent as given on a call with this
// method: an idempotency key on a method other than POST, or an empty one
// (it would be replaced by a random one), and a header that net/http would
// refuse to send (after the waits and retries of a transport error).
func (rc *requestConfig) check(method string) error {
	if rc.keySet {
		switch {
		case method != http.MethodPost:
			return fmt.Errorf("WithIdempotencyKey on a %s: only a POST sends one", method)
		case rc.idempotencyKey == "":
			return errors.New("WithIdempotencyKey: empty key")
		case !validHeaderValue(rc.idempotencyKey):
			return errors.New("WithIdempotencyKey: the key holds a control character")
		}
	}
	for k, vs := range rc.header {
		if !validHeaderName(k) {
			return fmt.Errorf("WithHeader: invalid header name %s", quoteShort(k))
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return fmt.Errorf("WithHeader: the value of %s holds a control character", k)
			}
		}
	}
	return nil
}

// validHeaderName reports whether k is a token (RFC 9110, 5.6.2).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := range len(k) {
		if !isTokenChar(k[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in a token (RFC 9110, 5.6.2).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validHeaderValue reports whether v holds no control character but tab.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
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

func (k idempotencyKey) apply(rc *requestConfig) { rc.idempotencyKey, rc.keySet = string(k), true }
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

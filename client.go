package atlas

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/atlas-accounting/atlas-go/internal/backoff"
	"github.com/atlas-accounting/atlas-go/internal/clock"
)

// DefaultBaseURL is the production API's base URL.
const DefaultBaseURL = "https://api.atlas-accounting.com/api/v1"

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// Client talks to the Atlas API. It is safe for concurrent use; build one with
// NewClient and share it. Copies made by ForCompany share its transport,
// tokens and rate-limit budget.
type Client struct {
	core    *core
	company string

	// Auth logs in, refreshes tokens and reads the current user.
	Auth *AuthService
	// Companies lists the companies the user can access.
	Companies *CompaniesService
	// Customers manages customers (accounts receivable contacts).
	Customers *CustomersService
	// Vendors manages vendors (accounts payable contacts).
	Vendors *VendorsService
	// Accounts reads the chart of accounts.
	Accounts *AccountsService
	// Invoices manages sales invoices.
	Invoices *InvoicesService
	// Bills manages vendor bills.
	Bills *BillsService
	// JournalEntries manages manual journal entries.
	JournalEntries *JournalEntriesService
	// Payments records customer payments and their application to invoices.
	Payments *PaymentsService
	// Periods lists and closes accounting periods.
	Periods *PeriodsService
	// Reports computes financial statements.
	Reports *ReportsService
}

// core is what every copy of a Client shares.
type core struct {
	base      *url.URL
	baseStr   string // base URL without a trailing slash, to which paths are appended
	http      *retryablehttp.Client
	tokens    *tokenManager
	pacer     *pacer
	limiter   Limiter     // the pacer, or WithLimiter's
	custom    bool        // limiter is WithLimiter's
	down      atomic.Bool // the custom limiter fails: the pacer stands in
	retry     RetryPolicy
	attempt   time.Duration // per-attempt timeout; 0 for none
	logger    *slog.Logger  // nil: no logging
	userAgent []string      // User-Agent header value; never modified
	clock     clock.Clock
}

// jsonMediaType is the Accept and Content-Type header value, shared by every
// request and never modified.
var jsonMediaType = []string{"application/json"}

// service is embedded by every resource service.
type service struct {
	client *Client
}

// RetryPolicy says how often and how patiently a failed request is retried.
// Connection errors, 429, 502, 503 and 504 are retried for every method, 500
// only for idempotent ones (GET, PUT, DELETE, and POST, which always carries
// an Idempotency-Key). A 429 waits for Retry-After or the window's reset
// rather than for the backoff, up to MaxRateLimitWait.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 disables retrying.
	MaxRetries int
	// MinBackoff is the wait before the first retry (default 500ms); it
	// doubles with each retry, with jitter.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// MaxRateLimitWait caps every wait for the rate limit (default 2m, long
	// enough for the API's one-minute windows). A 429 whose Retry-After (or,
	// without one, whose window's reset) is further away fails the call at
	// once, with an *Error that matches ErrRateLimited and carries the
	// RetryAfter the server asked for; the pause it makes every other call
	// of the client take is cut to MaxRateLimitWait. A window that the
	// X-RateLimit-* headers say is used up holds calls back until its reset,
	// and never longer than a window or MaxRateLimitWait: then the client
	// sends again and learns the window anew, so that a reset the client
	// cannot believe (in milliseconds, say) never stalls it. Together with
	// MaxRetries this bounds every call, with or without a deadline.
	MaxRateLimitWait time.Duration
}

const (
	defaultMaxRetries       = 4
	defaultMinBackoff       = 500 * time.Millisecond
	defaultMaxBackoff       = 30 * time.Second
	defaultMaxRateLimitWait = 2 * time.Minute
)

// Option configures a Client in NewClient.
type Option func(*settings) error

// settings collects the options before NewClient validates them together.
type settings struct {
	baseURL   string
	company   string
	creds     credentials
	tokens    *Tokens
	store     TokenStore
	tier      Tier
	custom    *customRate // WithRateLimit; nil for none
	limiter   Limiter     // WithLimiter; nil for the built-in pacer
	hc        *http.Client
	attempt   time.Duration // WithAttemptTimeout; 0 for none
	retry     RetryPolicy
	logger    *slog.Logger
	userAgent string
	insecure  bool
	clock     clock.Clock
}

// WithBaseURL sets the API's base URL (default DefaultBaseURL). It must be an
// absolute http or https URL; http is refused for a host that is not loopback
// unless WithInsecureHTTP is given, because tokens would travel in clear.
func WithBaseURL(u string) Option {
	return func(s *settings) error {
		s.baseURL = u
		return nil
	}
}

// WithInsecureHTTP allows an http:// base URL for a host that is not loopback.
// Tokens and passwords then cross the network unencrypted.
func WithInsecureHTTP() Option {
	return func(s *settings) error {
		s.insecure = true
		return nil
	}
}

// WithCredentials sets the email and password the client logs in with, on
// first use and whenever its refresh token is refused.
func WithCredentials(email, password string) Option {
	return func(s *settings) error {
		if email == "" || password == "" {
			return errors.New("atlas: WithCredentials: email and password must not be empty")
		}
		s.creds = credentials{email: email, password: password}
		return nil
	}
}

// WithTokens starts the client with tokens obtained earlier. Their expiry is
// unknown, so the access token is used until the API refuses it; then the
// refresh token renews it. accessToken may be empty to start with a refresh.
func WithTokens(accessToken, refreshToken string) Option {
	return func(s *settings) error {
		if accessToken == "" && refreshToken == "" {
			return errors.New("atlas: WithTokens: no token given")
		}
		s.tokens = &Tokens{AccessToken: accessToken, RefreshToken: refreshToken}
		return nil
	}
}

// WithTokenStore makes the client load its tokens from store before its first
// request and save them after every login and refresh (default: a
// MemoryTokenStore of its own).
func WithTokenStore(store TokenStore) Option {
	return func(s *settings) error {
		if store == nil {
			return errors.New("atlas: WithTokenStore: nil store")
		}
		s.store = store
		return nil
	}
}

// WithCompany sets the default company context (the company_id query parameter).
func WithCompany(companyID string) Option {
	return func(s *settings) error {
		if companyID == "" {
			return errors.New("atlas: WithCompany: empty company id")
		}
		s.company = companyID
		return nil
	}
}

// WithTier paces the client to the plan's rate and burst (see Tier), on top of
// following the X-RateLimit-* headers, which it always does. It bursts a
// tenth less than the plan allows (at least one request less), so that the
// uneven delays of requests on their way to the server never make one arrive
// too early for the plan.
func WithTier(t Tier) Option {
	return func(s *settings) error {
		if _, _, ok := t.limits(); !ok {
			return fmt.Errorf("atlas: WithTier: unknown tier %q", string(t))
		}
		s.tier, s.custom = t, nil
		return nil
	}
}

// WithRateLimit paces the client to limit requests per window with bursts of
// up to burst, for a plan whose limits are not one of the Tiers (a negotiated
// contract, or a test server with short windows); like WithTier it runs a
// token bucket on top of following the X-RateLimit-* headers. WithTier(t) is
// WithRateLimit with t's requests per minute and burst. The last of the two
// given wins. limit, burst and window must be positive.
func WithRateLimit(limit, burst int, window time.Duration) Option {
	return func(s *settings) error {
		if limit <= 0 || burst <= 0 || window <= 0 {
			return fmt.Errorf("atlas: WithRateLimit: limit %d, burst %d and window %s must be positive", limit, burst, window)
		}
		s.tier, s.custom = "", &customRate{limit: limit, burst: burst, window: window}
		return nil
	}
}

// customRate is what WithRateLimit set.
type customRate struct {
	limit, burst int
	window       time.Duration
}

// WithHTTPClient sets the HTTP client whose transport, timeout, cookie jar and
// redirect policy carry the requests (default: http.DefaultTransport). The
// client wraps the transport to add the Authorization header, so the header
// is never visible to hooks above it. hc's CheckRedirect decides on redirects
// within the API's origin only: a redirect to another origin (scheme, host or
// port) is never followed, and the call fails with ErrCrossOriginRedirect.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return errors.New("atlas: WithHTTPClient: nil client")
		}
		s.hc = hc
		return nil
	}
}

// WithAttemptTimeout bounds every attempt of a call, from sending the request
// to the end of the answer's body, to d. An attempt that runs out is retried
// like a dropped connection, within the RetryPolicy (a POST keeps its
// Idempotency-Key, so a create whose answer was merely slow is not made
// twice); when retries run out the error names the timeout and matches
// context.DeadlineExceeded. Waits for the rate limit, for a backoff and for
// a token renewal are not part of an attempt. Zero (the default) sets no
// bound beyond ctx and the HTTP client's own Timeout, which, unlike this one,
// counts those waits too.
func WithAttemptTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return errors.New("atlas: WithAttemptTimeout: negative timeout")
		}
		s.attempt = d
		return nil
	}
}

// WithRetry sets the retry policy (default: 4 retries, backoff from 500ms to
// 30s, rate-limit waits of at most 2m). Zero durations take their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(s *settings) error {
		if p.MaxRetries < 0 || p.MinBackoff < 0 || p.MaxBackoff < 0 || p.MaxRateLimitWait < 0 {
			return errors.New("atlas: WithRetry: negative value")
		}
		if p.MaxRateLimitWait == 0 {
			p.MaxRateLimitWait = defaultMaxRateLimitWait
		}
		if p.MinBackoff == 0 {
			p.MinBackoff = defaultMinBackoff
		}
		if p.MaxBackoff == 0 {
			p.MaxBackoff = max(defaultMaxBackoff, p.MinBackoff)
		}
		if p.MaxBackoff < p.MinBackoff {
			return errors.New("atlas: WithRetry: MaxBackoff is less than MinBackoff")
		}
		s.retry = p
		return nil
	}
}

// WithLimiter makes l decide when each attempt of every call may be sent,
// instead of the client's built-in pacer, and tells l what every answer said
// about the rate limit (see Limiter). Use it to share one rate budget among
// the processes that use one Atlas login. The built-in pacer (with WithTier
// or WithRateLimit, if given) still learns from every answer and stands in
// for l while l's Wait fails for a reason other than the call's context:
// the client logs one warning when that starts and one Info record when l
// works again. A 429's pause is still capped by RetryPolicy.MaxRateLimitWait,
// and a call still ends with its context when l's Wait does not.
func WithLimiter(l Limiter) Option {
	return func(s *settings) error {
		if l == nil {
			return errors.New("atlas: WithLimiter: nil limiter")
		}
		s.limiter = l
		return nil
	}
}

// WithLogger makes the client log requests, retries, waits and token renewals
// at Debug (and failures to save tokens at Error). Nothing logged contains a
// token, a password or a request body.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		s.logger = l
		return nil
	}
}

// WithUserAgent puts product (such as "my-app/1.2") before the SDK's own
// User-Agent, "atlas-go/<version> go/<go version>".
func WithUserAgent(product string) Option {
	return func(s *settings) error {
		if strings.ContainsAny(product, "\r\n") {
			return errors.New("atlas: WithUserAgent: line break in user agent")
		}
		s.userAgent = strings.TrimSpace(product)
		return nil
	}
}

// withClock replaces the wall clock; tests use it to drive waits and token
// expiry without sleeping.
func withClock(c clock.Clock) Option {
	return func(s *settings) error {
		s.clock = c
		return nil
	}
}

// NewClient returns a Client configured by opts. It sends nothing: the client
// logs in on its first request. It fails when an option refuses its value
// (an empty password, a negative timeout, an unknown Tier) or the base URL is
// not an absolute https URL (http only to loopback or with WithInsecureHTTP);
// nil options are skipped.
func NewClient(opts ...Option) (*Client, error) {
	s := settings{
		baseURL: DefaultBaseURL,
		retry: RetryPolicy{MaxRetries: defaultMaxRetries, MinBackoff: defaultMinBackoff, MaxBackoff: defaultMaxBackoff,
			MaxRateLimitWait: defaultMaxRateLimitWait},
		clock: clock.Real{},
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&s); err != nil {
			return nil, err
		}
	}
	base, err := parseBaseURL(s.baseURL, s.insecure)
	if err != nil {
		return nil, err
	}

	co := &core{
		base:    base,
		baseStr: strings.TrimRight(base.String(), "/"),
		retry:   s.retry,
		attempt: s.attempt,
		logger:  s.logger,
		clock:   s.clock,
		pacer:   newPacer(s.clock, s.tier, s.logger),
	}
	co.pacer.maxWait = s.retry.MaxRateLimitWait
	if s.custom != nil {
		co.pacer.limitTo(s.custom.limit, s.custom.burst, s.custom.window)
	}
	co.limiter = co.pacer
	if s.limiter != nil {
		co.limiter, co.custom = s.limiter, true
	}
	ua := "atlas-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")
	if s.userAgent != "" {
		ua = s.userAgent + " " + ua
	}
	co.userAgent = []string{ua}

	user := s.hc
	if user == nil {
		user = &http.Client{}
	}
	base0 := user.Transport
	if base0 == nil {
		base0 = http.DefaultTransport
	}
	co.http = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     &transport{base: base0, core: co},
			CheckRedirect: co.checkRedirect(user.CheckRedirect),
			Jar:           user.Jar,
			Timeout:       user.Timeout,
		},
		RetryMax:     s.retry.MaxRetries,
		CheckRetry:   co.checkRetry,
		Backoff:      noBackoff,
		ErrorHandler: keepLastResponse,
	}

	c := &Client{core: co, company: s.company}
	c.initServices()

	store := s.store
	if store == nil {
		store = &MemoryTokenStore{}
	}
	tm := &tokenManager{
		client: &Client{core: co},
		clock:  s.clock,
		store:  store,
		logger: s.logger,
		creds:  s.creds,
	}
	if s.tokens != nil {
		tm.loaded = true
		tm.setLocked(*s.tokens, 0)
	}
	co.tokens = tm
	return c, nil
}

func parseBaseURL(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("atlas: base URL: %w", err)
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("atlas: base URL %q is not absolute (want e.g. %s)", raw, DefaultBaseURL)
	}
	if u.User != nil {
		return nil, errors.New("atlas: base URL must not carry user info")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("atlas: base URL %q is http:// to a host that is not loopback; tokens would travel in clear (use https, or WithInsecureHTTP)", raw)
		}
	default:
		return nil, fmt.Errorf("atlas: base URL %q: scheme must be https or http", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("atlas: base URL %q must not have a query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Client) initServices() {
	s := &service{client: c}
	c.Auth = (*AuthService)(s)
	c.Companies = (*CompaniesService)(s)
	c.Customers = (*CustomersService)(s)
	c.Vendors = (*VendorsService)(s)
	c.Accounts = (*AccountsService)(s)
	c.Invoices = (*InvoicesService)(s)
	c.Bills = (*BillsService)(s)
	c.JournalEntries = (*JournalEntriesService)(s)
	c.Payments = (*PaymentsService)(s)
	c.Periods = (*PeriodsService)(s)
	c.Reports = (*ReportsService)(s)
}

// ForCompany returns a copy of c whose default company is companyID. The copy
// shares c's transport, tokens and rate-limit budget; it is cheap to make.
func (c *Client) ForCompany(companyID string) *Client {
	cp := &Client{core: c.core, company: companyID}
	cp.initServices()
	return cp
}

// Company returns the client's default company id, or "" when it has none.
func (c *Client) Company() string { return c.company }

// RateLimit returns the rate-limit state of the last response that reported
// one, from any copy of the client. It is the zero RateLimit before the first.
func (c *Client) RateLimit() RateLimit { return c.core.pacer.snapshot() }

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

// call sends req through the one request pipeline and decodes a 2xx body into
// a new T. It is the only place that talks HTTP.
func call[T any](ctx context.Context, c *Client, req request, opts []RequestOption) (*T, error) {
	out := new(T)
	if err := c.do(ctx, req, newRequestConfig(opts), out); err != nil {
		return nil, err
	}
	return out, nil
}

// callState travels with one call through go-retryablehttp to the transport,
// as its context. It embeds the caller's context, so it is the context.
type callState struct {
	context.Context
	method, path string
	auth         bool      // send the Authorization header
	idempotent   bool      // a 500 may be retried
	retries      int       // retries granted so far
	notBefore    time.Time // the next attempt waits until then (backoff, or a 429's pause)
	waitFor      string    // what notBefore waits for, for the log and the error
	bearer       string    // Authorization value of the last attempt
	attempts     int       // attempts sent

	// The pacer's record of the attempt in flight (see pacer.claimLocked),
	// and what the last answer said.
	claimed  bool
	grant    uint64
	answered bool
	ans      answer

	// Allocated with the state rather than on their own, to keep a call's
	// allocations down.
	rreq           retryablehttp.Request
	authorized     http.Request
	authorizedUsed bool
}

type callStateKey struct{}

// Value returns the callState for callStateKey and defers to the caller's
// context for every other key.
func (st *callState) Value(key any) any {
	if key == (callStateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// Success bodies above this are refused rather than read into memory.
const maxResponseBody = 64 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do runs one call: it builds the request, sends it through go-retryablehttp
// (which retries according to checkRetry) and the transport (which paces,
// authorizes and records rate limits), replays it once after a 401 with
// renewed tokens, and decodes the answer into out or into an *Error.
func (c *Client) do(ctx context.Context, req request, cfg requestConfig, out any) error {
	if req.method == "" {
		req.method = http.MethodGet
	}
	if ctx == nil {
		return nilContext(req.method, req.path)
	}
	rawURL, err := c.url(&req)
	if err != nil {
		return &opError{method: req.method, path: req.path, err: err}
	}

	var body []byte
	if req.body != nil {
		if body, err = json.Marshal(req.body); err != nil {
			return &opError{method: req.method, path: req.path, err: fmt.Errorf("encode request: %w", err)}
		}
	}

	st := &callState{
		Context:    ctx,
		method:     req.method,
		path:       req.path,
		auth:       !req.noAuth,
		idempotent: req.method != http.MethodPatch,
	}
	var rreq *retryablehttp.Request
	if body != nil {
		rreq, err = retryablehttp.NewRequestWithContext(st, req.method, rawURL, body)
	} else {
		var hreq *http.Request
		if hreq, err = http.NewRequestWithContext(st, req.method, rawURL, nil); err == nil {
			st.rreq.Request = hreq
			rreq = &st.rreq
		}
	}
	if err != nil {
		return &opError{method: req.method, path: req.path, err: err}
	}
	h := rreq.Header
	for k, v := range cfg.header {
		h[k] = v
	}
	h["Accept"] = jsonMediaType
	h["User-Agent"] = c.core.userAgent
	if body != nil {
		h["Content-Type"] = jsonMediaType
	}
	if req.method == http.MethodPost {
		key := cfg.idempotencyKey
		if key == "" {
			key = uuid.NewString()
		}
		h["Idempotency-Key"] = []string{key}
	}

	var resp *http.Response
	for replayed := false; ; replayed = true {
		resp, err = c.core.http.Do(rreq)
		if err != nil {
			return &opError{method: req.method, path: req.path, err: unwrapURLError(err), attempts: st.attempts}
		}
		if resp.StatusCode != http.StatusUnauthorized || !st.auth || st.bearer == "" || replayed {
			break
		}
		// The access token was refused (expired early, revoked): renew it,
		// once for every caller that saw it refused, and replay.
		drain(resp.Body)
		c.core.tokens.invalidate(st.bearer)
		st.retries, st.notBefore = 0, time.Time{}
		c.core.debug(st, "atlas: access token refused; renewing and replaying")
	}
	consumed := false // the body was read to its end: no need to drain it
	defer func() {
		if consumed {
			_ = resp.Body.Close()
		} else {
			drain(resp.Body)
		}
	}()

	rl := st.ans.raw
	if cfg.response != nil {
		*cfg.response = &Response{StatusCode: resp.StatusCode, Header: resp.Header, RateLimit: rl, RequestID: requestID(resp.Header)}
	}

	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		truncated, err := readCapped(buf, resp.Body, maxErrorBody)
		if err != nil && buf.Len() == 0 {
			return &opError{method: req.method, path: req.path, err: fmt.Errorf("%d %s: read error body: %w", resp.StatusCode, http.StatusText(resp.StatusCode), err)}
		}
		e := newError(resp, buf.Bytes(), truncated || err != nil, rl, st.ans.retryAfter, req.method, req.path)
		e.Attempts = st.attempts
		return e
	}
	truncated, err := readCapped(buf, resp.Body, maxResponseBody)
	consumed = err == nil && !truncated
	if err != nil {
		return &opError{method: req.method, path: req.path, err: fmt.Errorf("read response: %w", err)}
	}
	if truncated {
		return &opError{method: req.method, path: req.path, err: fmt.Errorf("response larger than %d bytes", maxResponseBody)}
	}
	if out == nil {
		return nil // a route whose answer has no body
	}
	if b := bytes.TrimSpace(buf.Bytes()); len(b) == 0 || string(b) == "null" {
		// A zero-value struct would pass for an answer; it is not one.
		return &opError{method: req.method, path: req.path, err: fmt.Errorf("%d %s with an empty or null body where the API answers an object",
			resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return &opError{method: req.method, path: req.path, err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
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

// readCapped reads r into buf up to limit bytes and reports whether more was
// left. It reads straight into buf's spare room (no intermediate reader).
func readCapped(buf *bytes.Buffer, r io.Reader, limit int64) (truncated bool, err error) {
	for {
		if int64(buf.Len()) > limit {
			buf.Truncate(int(limit))
			return true, nil
		}
		buf.Grow(4096)
		free := buf.AvailableBuffer()
		free = free[:min(int64(cap(free)), limit+1-int64(buf.Len()))]
		n, err := r.Read(free)
		buf.Write(free[:n]) // free is buf's own spare room: this only extends its length
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let a rare huge buffer go rather than keep it forever
	}
	b.Reset()
	bufPool.Put(b)
}

// drain reads a little of what is left of a body, so the connection can be
// reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// nilContext is the error for a call given a nil context, which would
// otherwise panic deep inside net/http or the context package.
func nilContext(method, path string) error {
	return &opError{method: method, path: path, err: errors.New("nil context")}
}

// opError names the operation an error happened in, and how many attempts
// it made.
type opError struct {
	method, path string
	err          error
	attempts     int
}

func (e *opError) Error() string {
	return "atlas: " + e.method + " " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "atlas: ") + afterAttempts(e.attempts)
}

// afterAttempts is what an error message says of the attempts a call made:
// nothing for one.
func afterAttempts(n int) string {
	if n <= 1 {
		return ""
	}
	return " (after " + strconv.Itoa(n) + " attempts)"
}

func (e *opError) Unwrap() error { return e.err }

// unwrapURLError drops the *url.Error that net/http wraps transport errors
// in: it repeats the full URL, and the operation is named by opError anyway.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transport sits beneath go-retryablehttp and above the user's transport. For
// every attempt it waits for the rate-limit pacer, adds the Authorization
// header (so no retry hook or log above sees it), and records the rate-limit
// headers. It sends nothing to an origin other than the API's.
type transport struct {
	base http.RoundTripper
	core *core
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	// r's context is the call's state, or one derived from it (with the
	// deadline of http.Client.Timeout, say): waits must honour that one.
	ctx := r.Context()
	st := stateOf(ctx)
	if st == nil {
		return t.base.RoundTrip(r)
	}
	co := t.core
	if !sameOrigin(r.URL, co.base) {
		// checkRedirect refuses this already; a request that gets here
		// some other way is not sent either.
		closeBody(r)
		return nil, &redirectError{to: r.URL.Scheme + "://" + r.URL.Host}
	}
	if err := co.waitNotBefore(ctx, st); err != nil {
		closeBody(r)
		return nil, err
	}
	out := r
	if st.auth {
		header, err := co.tokens.authorization(ctx)
		if err != nil {
			closeBody(r)
			return nil, &authError{err: err}
		}
		st.bearer = header[0]
		out = st.withAuthorization(r, header)
	}
	by, err := co.wait(ctx, st)
	if err != nil {
		closeBody(r)
		return nil, err
	}
	if r.Response == nil { // not a redirect's next hop
		st.attempts++
	}
	var start time.Time
	logging := co.logger != nil && co.logger.Enabled(st, slog.LevelDebug)
	if logging {
		start = time.Now()
	}
	sent := co.clock.Now()
	resp, err := t.send(st, out)
	if err != nil {
		co.observe(ctx, st, by, nil, sent)
		if logging {
			co.logger.LogAttrs(st, slog.LevelDebug, "atlas: request failed",
				slog.String("method", st.method), slog.String("path", st.path),
				slog.Int("retry", st.retries), slog.Duration("elapsed", time.Since(start)),
				slog.String("error", unwrapURLError(err).Error()))
		}
		return nil, err
	}
	co.observe(ctx, st, by, resp, sent)
	if logging {
		co.logger.LogAttrs(st, slog.LevelDebug, "atlas: request",
			slog.String("method", st.method), slog.String("path", st.path),
			slog.Int("status", resp.StatusCode), slog.Int("retry", st.retries),
			slog.Duration("elapsed", time.Since(start)), slog.String("request_id", requestID(resp.Header)))
	}
	return resp, nil
}

// waitNotBefore waits out the call's own pause before its next attempt: the
// retry backoff, or a 429's pause. It is the call's, not the Limiter's: it
// comes before the Limiter's Wait.
func (co *core) waitNotBefore(ctx context.Context, st *callState) error {
	if st.notBefore.IsZero() {
		return nil
	}
	d := st.notBefore.Sub(co.clock.Now())
	if d <= 0 {
		return nil
	}
	logged := false
	return sleep(ctx, co.clock, co.logger, d, st.waitFor, st.waitFor == waitRateLimit, nil, &logged)
}

// What a call's own pause waits for.
const (
	waitBackoff   = "retry backoff"
	waitRateLimit = "rate limit"
)

// wait holds an attempt back until the Limiter lets it go, and returns the
// Limiter that did: the client's, or the pacer standing in for it. A custom
// Limiter whose Wait fails for a reason other than ctx (or a wait that
// would outlast ctx's deadline) has the pacer stand in, with one warning for
// the whole outage.
func (co *core) wait(ctx context.Context, st *callState) (Limiter, error) {
	if !co.custom {
		return co.limiter, co.limiter.Wait(ctx)
	}
	err := co.waitCustom(ctx)
	switch {
	case err == nil:
		if co.down.Load() && co.down.CompareAndSwap(true, false) && co.logger != nil {
			co.logger.LogAttrs(ctx, slog.LevelInfo, "atlas: the limiter works again; it paces the client once more")
		}
		co.pacer.track(st, co.clock.Now())
		return co.limiter, nil
	case ctx.Err() != nil:
		return nil, &waitError{what: "rate limit (limiter)", err: ctx.Err()}
	case errors.Is(err, ErrRateLimited) && errors.Is(err, context.DeadlineExceeded):
		return nil, &waitError{what: "rate limit (limiter)", err: err}
	}
	if co.down.CompareAndSwap(false, true) && co.logger != nil {
		co.logger.LogAttrs(ctx, slog.LevelWarn, "atlas: the limiter fails; the client paces itself until it works again",
			slog.String("error", err.Error()))
	}
	return co.pacer, co.pacer.Wait(ctx)
}

// waitCustom calls the custom Limiter's Wait, and returns when ctx ends
// even if Wait does not. A Wait that lets the attempt go after the call has
// given up is observed as an attempt that got no answer. A Wait that panics
// on the goroutine the client started for it, where the caller could not
// recover, fails instead.
func (co *core) waitCustom(ctx context.Context) error {
	if ctx.Done() == nil {
		return co.limiter.Wait(ctx)
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("atlas: the limiter's Wait panicked: %v", v)
			}
		}()
		done <- co.limiter.Wait(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		go func() {
			if err := <-done; err == nil {
				co.limiter.Observe(context.WithoutCancel(ctx), RateObservation{})
			}
		}()
		return ctx.Err()
	}
}

// observe reads what the answer to an attempt said (resp is nil when it got
// none) and tells the Limiter that let the attempt go; the pacer learns from
// every answer, whichever Limiter let it go. A custom Limiter is told even
// when the call's ctx has ended.
func (co *core) observe(ctx context.Context, st *callState, by Limiter, resp *http.Response, sent time.Time) {
	var h http.Header
	status := 0
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	now := co.clock.Now()
	st.ans = co.pacer.read(h, status, sent, now)
	st.answered = true
	if by == Limiter(co.pacer) {
		by.Observe(ctx, st.ans.obs)
		return
	}
	by.Observe(context.WithoutCancel(ctx), st.ans.obs)
	co.pacer.learn(st, st.ans.obs, st.ans.serverReset, now)
}

// send hands the request to the base transport, bounded by the attempt
// timeout when there is one.
func (t *transport) send(st *callState, r *http.Request) (*http.Response, error) {
	d := t.core.attempt
	if d <= 0 {
		return t.base.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() == context.DeadlineExceeded && st.Err() == nil {
			return nil, &attemptTimeoutError{timeout: d}
		}
		return nil, err
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, ctx: ctx, caller: st, cancel: cancel, timeout: d}
	return resp, nil
}

// attemptBody ends an attempt's timeout when its body is closed, and names
// the timeout when it cuts the body short.
type attemptBody struct {
	io.ReadCloser
	ctx, caller context.Context
	cancel      context.CancelFunc
	timeout     time.Duration
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() == context.DeadlineExceeded && b.caller.Err() == nil {
		err = &attemptTimeoutError{timeout: b.timeout}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is an attempt that ran out of its WithAttemptTimeout;
// it is retried.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return "no complete answer within the attempt timeout of " + e.timeout.String()
}

// Unwrap lets errors.Is match context.DeadlineExceeded, as the HTTP client's
// own timeout does.
func (e *attemptTimeoutError) Unwrap() error { return context.DeadlineExceeded }

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// withAuthorization returns a shallow copy of r with its own header map
// holding the Authorization header; r itself, which go-retryablehttp and the
// redirect logic keep using, never carries it. The first attempt's copy lives
// in the callState; a retry gets a fresh one, because the transport may still
// be writing the previous attempt when its response has already arrived.
func (st *callState) withAuthorization(r *http.Request, authorization []string) *http.Request {
	r2 := &st.authorized
	if st.authorizedUsed {
		r2 = new(http.Request)
	}
	st.authorizedUsed = true
	*r2 = *r
	h := make(http.Header, len(r.Header)+1)
	for k, v := range r.Header {
		h[k] = v
	}
	h["Authorization"] = authorization
	r2.Header = h
	return r2
}

// sameOrigin reports whether u is on base's origin: the same scheme, host
// and port (a port left out is the scheme's default).
func sameOrigin(u, base *url.URL) bool {
	if u.Scheme != base.Scheme {
		return false
	}
	if u.Host == base.Host {
		return true
	}
	return strings.EqualFold(u.Hostname(), base.Hostname()) && originPort(u) == originPort(base)
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// checkRedirect wraps the user's redirect policy (nil: net/http's default of
// at most 10 redirects): a redirect away from the API's origin is never
// followed, whatever the method or the call, so that neither credentials,
// tokens nor request bodies reach another host, and nothing another host
// answers reaches the client's tokens, pacing or retries. Redirects within
// the origin go to the user's policy.
func (co *core) checkRedirect(user func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, co.base) {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return &redirectError{status: status, to: req.URL.Scheme + "://" + req.URL.Host}
		}
		var err error
		switch {
		case user != nil:
			err = user(req, via)
		case len(via) >= 10:
			err = errors.New("stopped after 10 redirects")
		}
		if err == nil || err == http.ErrUseLastResponse { // net/http compares it with ==
			return err
		}
		return &redirectPolicyError{err: err}
	}
}

// redirectPolicyError is a redirect within the origin that the redirect
// policy stopped; asking again would be stopped again, so it is not retried.
type redirectPolicyError struct{ err error }

func (e *redirectPolicyError) Error() string { return e.err.Error() }
func (e *redirectPolicyError) Unwrap() error { return e.err }

// redirectError is a redirect away from the API's origin, which the client
// does not follow. It names the target's origin only: its path and query may
// hold anything.
type redirectError struct {
	status int
	to     string // scheme://host[:port]
}

func (e *redirectError) Error() string {
	msg := "redirect away from the API's origin not followed: "
	if e.status != 0 {
		msg += strconv.Itoa(e.status)
		if text := http.StatusText(e.status); text != "" {
			msg += " " + text
		}
		msg += " "
	}
	return msg + "to " + e.to
}

// Unwrap lets errors.Is match ErrCrossOriginRedirect.
func (e *redirectError) Unwrap() error { return ErrCrossOriginRedirect }

// authError is a failure to obtain tokens; retrying the request cannot help
// (the login or refresh already retried).
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// checkRetry is go-retryablehttp's CheckRetry: it decides whether an attempt
// is retried and, if so, when the next one may start (which the transport
// enforces on the client's clock). A retry whose wait would outlast ctx's
// deadline is not made, nor one after a 429 that asks for a pause longer
// than MaxRateLimitWait: the caller gets the last answer at once.
func (co *core) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	if st == nil || ctx.Err() != nil {
		return false, nil
	}
	var retryAfter time.Duration
	rateLimited := false
	switch {
	case err != nil:
		if !retryableError(err) {
			return false, nil
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		if st.ans.retryAfter > co.retry.MaxRateLimitWait {
			return false, nil
		}
		rateLimited = true
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		retryAfter = st.ans.retryAfter
	case resp.StatusCode == http.StatusInternalServerError && st.idempotent:
	default:
		return false, nil
	}
	if st.retries >= co.retry.MaxRetries {
		return false, nil
	}

	now := co.clock.Now()
	wait := st.ans.retryAfter
	st.waitFor = waitRateLimit
	if !rateLimited || wait == 0 {
		// Only when a 429 said nothing of when to come back is the
		// backoff a guess.
		wait = max(backoff.Exponential(co.retry.MinBackoff, co.retry.MaxBackoff, st.retries), min(retryAfter, co.retry.MaxBackoff))
		st.waitFor = waitBackoff
	}
	st.notBefore = now.Add(wait)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < max(wait, co.pacer.delay(now)) {
		st.notBefore = time.Time{}
		return false, nil
	}
	st.retries++
	if co.logger != nil && co.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("method", st.method), slog.String("path", st.path),
			slog.Int("retry", st.retries), slog.Duration("wait", wait)}
		if err != nil {
			attrs = append(attrs, slog.String("error", unwrapURLError(err).Error()))
		} else {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		co.logger.LogAttrs(ctx, slog.LevelDebug, "atlas: retrying", attrs...)
	}
	return true, nil
}

// retryableError reports whether a transport error may be retried: a broken
// or refused connection or a timeout, but not a cancellation, the client's
// own waits and auth failures, or a certificate problem. checkRetry has made
// sure that the caller's ctx is still alive, so a deadline here is the
// attempt's own (WithAttemptTimeout, or the HTTP client's Timeout), which
// another attempt may beat.
func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var (
		we   *waitError
		rp   *redirectPolicyError
		ae   *authError
		cert *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
	)
	if errors.Is(err, ErrCrossOriginRedirect) {
		return false
	}
	if errors.As(err, &we) || errors.As(err, &rp) || errors.As(err, &ae) || errors.As(err, &cert) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	return true
}

// noBackoff is go-retryablehttp's Backoff: zero, because the wait happens in
// the transport, on the client's clock and within the shared rate-limit
// budget (see checkRetry).
func noBackoff(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }

// keepLastResponse is go-retryablehttp's ErrorHandler: when retries run out
// on an HTTP answer, hand that answer back so that it becomes an *Error with
// the server's detail; a transport error is returned as it is.
func keepLastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err == nil && resp != nil {
		return resp, nil
	}
	if resp != nil {
		drain(resp.Body)
	}
	return nil, err
}

func (co *core) debug(st *callState, msg string) {
	if co.logger != nil && co.logger.Enabled(st, slog.LevelDebug) {
		co.logger.LogAttrs(st, slog.LevelDebug, msg, slog.String("method", st.method), slog.String("path", st.path))
	}
}

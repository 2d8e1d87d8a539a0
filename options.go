package atlas

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Option configures a Client in NewClient. An option given a value it cannot
// use (an empty password, a nil store, an unknown Tier) makes NewClient fail
// with an error matching ErrInvalidConfig; none keeps a default instead.
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
	trace     *ClientTrace
}

// WithBaseURL sets the API's base URL (default DefaultBaseURL). It must be an
// absolute http or https URL without user info, query or fragment (not even
// a trailing "?" or "#"); http is refused for a host that is not loopback
// unless WithInsecureHTTP is given, because tokens would travel in clear.
// NewClient's errors about it never quote its user info, query or fragment.
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
//
// Once the API refuses them (401 or 422 on login), the client does not send
// them again for a cool-down of one minute: meanwhile every call that needs a
// login fails at once with that refusal (it matches ErrUnauthorized after a
// 401), so that a burst of calls never looks like password guessing and gets
// the account locked. A new client, with other credentials, logs in at once.
// Each process keeps its own refusal: a TokenStore shared with other
// processes does not carry it.
func WithCredentials(email, password string) Option {
	return func(s *settings) error {
		if email == "" || password == "" {
			return invalidConfig("WithCredentials: email and password must not be empty")
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
			return invalidConfig("WithTokens: no token given")
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
			return invalidConfig("WithTokenStore: nil store")
		}
		s.store = store
		return nil
	}
}

// WithCompany sets the default company context (the company_id query parameter).
func WithCompany(companyID string) Option {
	return func(s *settings) error {
		if companyID == "" {
			return invalidConfig("WithCompany: empty company id")
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
		if _, ok := t.Limits(); !ok {
			return invalidConfig("WithTier: unknown tier %q", string(t))
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
			return invalidConfig("WithRateLimit: limit %d, burst %d and window %s must be positive", limit, burst, window)
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
			return invalidConfig("WithHTTPClient: nil client")
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
// counts the waits for the rate limit and for a token renewal before each
// attempt, but not the backoff between attempts.
func WithAttemptTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return invalidConfig("WithAttemptTimeout: negative timeout")
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
			return invalidConfig("WithRetry: negative value")
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
			return invalidConfig("WithRetry: MaxBackoff is less than MinBackoff")
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
// works again; a panic in l's Wait or Observe counts as such a failure. A
// 429's pause is still capped by RetryPolicy.MaxRateLimitWait, and so is
// l's Wait: past it the call fails with an error matching ErrRateLimited,
// even when l's Wait ignores its context; a call also ends with its context
// when l's Wait does not.
func WithLimiter(l Limiter) Option {
	return func(s *settings) error {
		if l == nil {
			return invalidConfig("WithLimiter: nil limiter")
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
		if !validHeaderValue(product) {
			return invalidConfig("WithUserAgent: line break or other control character in user agent")
		}
		s.userAgent = strings.TrimSpace(product)
		return nil
	}
}

// parseBaseURL checks the base URL that NewClient was given. Its errors never
// quote the URL's user info, query or fragment, where a password or a key may
// sit: see shownBaseURL.
func parseBaseURL(raw string, insecure bool) (*url.URL, error) {
	shown := shownBaseURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, baseURLParseError(raw, shown, err)
	}
	if u.User != nil {
		return nil, invalidConfig("base URL must not carry user info")
	}
	// A trailing "?" or "#" parses to an empty query or fragment, which
	// url.URL cannot tell from none; every path would then be appended to it
	// ("/api/v1?/auth/me"). The raw string tells.
	if strings.ContainsAny(raw, "?#") {
		return nil, invalidConfig("base URL %s must not have a query or fragment (not even an empty one)", shown)
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, invalidConfig("base URL %s is not absolute (want e.g. %s)", shown, DefaultBaseURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !isLoopback(u.Hostname()) {
			return nil, invalidConfig("base URL %s is http:// to a host that is not loopback; tokens would travel in clear (use https, or WithInsecureHTTP)", shown)
		}
	default:
		return nil, invalidConfig("base URL %s: scheme must be https or http", shown)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// shownBaseURL is how an error names a base URL: quoted without its query and
// fragment, which may hold a key or a token, or not at all when it has an
// '@' anywhere, which may end user info that holds a password. The '@' rule
// covers the URLs whose user info url.Parse does not see: in me:pw@host the
// password sits in what parses as an opaque URL of the scheme "me", and in
// https://me:pw/x@host or https://me:12?@host it sits in the host and port.
func shownBaseURL(raw string) string {
	if strings.Contains(raw, "@") {
		return "(not shown: it may hold a password)"
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	return quoteShort(raw)
}

// quotedPart matches a Go-quoted string in url.Parse's error messages, which
// quote a piece of the URL (`invalid port ":pw" after host`).
var quotedPart = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// baseURLParseError says why raw did not parse. url.Parse's message quotes
// a piece of the URL, which is part of a password when the URL has user info
// that did not parse (https://me:pa/ss@host quotes ":pa"), so a URL that may
// hold one gets the message without its quoted pieces, and without the cause.
func baseURLParseError(raw, shown string, err error) error {
	err = unwrapURLError(err)
	if strings.ContainsAny(raw, "@?#") {
		return invalidConfig("base URL %s does not parse: %s", shown, quotedPart.ReplaceAllString(err.Error(), "(not shown)"))
	}
	return &configError{msg: "base URL " + shown + " does not parse: " + err.Error(), cause: err}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

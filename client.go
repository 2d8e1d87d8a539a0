package atlas

import (
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
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
	trace     *ClientTrace  // WithClientTrace's; nil for none
	host      string        // the API's host name and port, for a trace
	port      int
}

// service is embedded by every resource service.
type service struct {
	client *Client
}

// NewClient returns a Client configured by opts. It sends nothing: the client
// logs in on its first request. It fails, with an error matching
// ErrInvalidConfig, when an option refuses its value (an empty password, a
// negative timeout, an unknown Tier) or the base URL is not an absolute https
// URL (http only to loopback or with WithInsecureHTTP) without user info,
// query or fragment; nil options are skipped.
func NewClient(opts ...Option) (*Client, error) {
	s := settings{
		baseURL: DefaultBaseURL,
		retry: RetryPolicy{MaxRetries: defaultMaxRetries, MinBackoff: defaultMinBackoff, MaxBackoff: defaultMaxBackoff,
			MaxRateLimitWait: defaultMaxRateLimitWait},
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
		trace:   s.trace,
		base:    base,
		baseStr: strings.TrimRight(base.String(), "/"),
		retry:   s.retry,
		attempt: s.attempt,
		logger:  s.logger,
		pacer:   newPacer(s.tier, s.logger),
	}
	co.host, co.port = hostPort(base)
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

	// The layers beneath do, outside in: go-retryablehttp, an http.Client
	// with the user's redirect policy, jar and timeout, the transport, and
	// the user's transport (see the top of pipeline.go).
	user := s.hc
	if user == nil {
		user = &http.Client{}
	}
	base0 := user.Transport
	if base0 == nil {
		base0 = http.DefaultTransport
	}
	// The template of each call's go-retryablehttp.Client (do); a call's
	// copy binds its own Backoff on its first retry (checkRetry).
	co.http = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     &transport{base: base0, core: co},
			CheckRedirect: co.checkRedirect(user.CheckRedirect),
			Jar:           user.Jar,
			Timeout:       user.Timeout,
		},
		RetryMax:     s.retry.MaxRetries,
		CheckRetry:   co.checkRetry,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}

	c := &Client{core: co, company: s.company}
	c.initServices()

	store := s.store
	if store == nil {
		store = &MemoryTokenStore{}
	}
	tm := &tokenManager{
		client: &Client{core: co},
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

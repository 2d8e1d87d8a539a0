package atlas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultBaseURL is the production API's base URL.
const DefaultBaseURL = "https://api.atlas-accounting.com/api/v1"

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// Client talks to the Atlas API. It is safe for concurrent use; build one with
// NewClient and share it.
type Client struct {
	baseURL *url.URL
	company string
	hc      *http.Client
	creds   credentials

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

type credentials struct {
	email, password string
}

// service is embedded by every resource service.
type service struct {
	client *Client
}

// Option configures a Client in NewClient.
type Option func(*Client) error

// WithBaseURL sets the API's base URL (default DefaultBaseURL).
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		parsed, err := url.Parse(strings.TrimRight(u, "/"))
		if err != nil {
			return fmt.Errorf("atlas: base URL: %w", err)
		}
		c.baseURL = parsed
		return nil
	}
}

// WithCredentials sets the email and password the client logs in with.
func WithCredentials(email, password string) Option {
	return func(c *Client) error {
		c.creds = credentials{email: email, password: password}
		return nil
	}
}

// WithCompany sets the default company context (the company_id query parameter).
func WithCompany(companyID string) Option {
	return func(c *Client) error {
		c.company = companyID
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose transport carries the requests.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		c.hc = hc
		return nil
	}
}

// NewClient returns a Client configured by opts.
func NewClient(opts ...Option) (*Client, error) {
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{baseURL: base, hc: http.DefaultClient}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.initServices()
	return c, nil
}

func (c *Client) initServices() {
	s := service{client: c}
	c.Auth = (*AuthService)(&s)
	c.Companies = (*CompaniesService)(&s)
	c.Customers = (*CustomersService)(&s)
	c.Vendors = (*VendorsService)(&s)
	c.Accounts = (*AccountsService)(&s)
	c.Invoices = (*InvoicesService)(&s)
	c.Bills = (*BillsService)(&s)
	c.JournalEntries = (*JournalEntriesService)(&s)
	c.Payments = (*PaymentsService)(&s)
	c.Periods = (*PeriodsService)(&s)
	c.Reports = (*ReportsService)(&s)
}

// ForCompany returns a copy of c whose default company is companyID. The copy
// shares c's transport, tokens and rate-limit budget.
func (c *Client) ForCompany(companyID string) *Client {
	cp := *c
	cp.company = companyID
	cp.initServices()
	return &cp
}

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
	path    string     // relative to the base URL, e.g. "/invoices/ID/send"
	query   url.Values // filters and paging; may be nil
	body    any        // JSON-encoded when non-nil
	company companyScope
}

// RequestOption adjusts a single API call.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	header         http.Header
}

// WithIdempotencyKey sets the Idempotency-Key of a POST instead of the random
// one the client generates. The key stays the same across the call's retries.
func WithIdempotencyKey(key string) RequestOption {
	return func(rc *requestConfig) { rc.idempotencyKey = key }
}

// WithHeader adds a header to a single call.
func WithHeader(key, value string) RequestOption {
	return func(rc *requestConfig) {
		if rc.header == nil {
			rc.header = http.Header{}
		}
		rc.header.Add(key, value)
	}
}

// ErrNoCompany is returned before any request is sent when a call needs a
// company context and the client has none (see WithCompany and ForCompany).
var ErrNoCompany = errors.New("atlas: no company: use WithCompany or Client.ForCompany")

// call sends req through the one request pipeline and decodes a 2xx body into
// a new T. It is the only place that talks HTTP.
func call[T any](ctx context.Context, c *Client, req request, opts []RequestOption) (*T, error) {
	var cfg requestConfig
	for _, o := range opts {
		o(&cfg)
	}
	q := url.Values{}
	for k, v := range req.query {
		q[k] = v
	}
	switch req.company {
	case companyRequired:
		if c.company == "" {
			return nil, ErrNoCompany
		}
		q.Set("company_id", c.company)
	case companyOptional:
		if c.company != "" {
			q.Set("company_id", c.company)
		}
	}
	u := *c.baseURL
	u.Path = strings.TrimRight(u.Path, "/") + req.path
	u.RawQuery = q.Encode()

	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("atlas: encode %s %s: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("atlas: %s %s: %w", req.method, req.path, err)
	}
	for k, v := range cfg.header {
		hreq.Header[k] = v
	}
	if cfg.idempotencyKey != "" {
		hreq.Header.Set("Idempotency-Key", cfg.idempotencyKey)
	}
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("atlas: %s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("atlas: %s %s: read body: %w", req.method, req.path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("atlas: %s %s: %d", req.method, req.path, resp.StatusCode)
	}
	out := new(T)
	if len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("atlas: decode %s %s: %w", req.method, req.path, err)
		}
	}
	return out, nil
}

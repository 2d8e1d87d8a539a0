// Package atlas is the official Go client for the Atlas Accounting REST API.
//
// Build one Client with NewClient and share it: it is safe for concurrent use.
//
//	c, err := atlas.NewClient(
//		atlas.WithCredentials(email, password),
//		atlas.WithCompany(companyID),
//	)
//	if err != nil {
//		return err
//	}
//	inv, err := c.Invoices.Get(ctx, invoiceID)
//
// The Client has a service for each part of the API: Auth, Companies,
// Customers, Vendors, Accounts (the chart of accounts), Invoices, Bills,
// JournalEntries, Payments, Periods and Reports. Every method takes a
// context.Context first and may take options last, of the type that fits
// it: RequestOption (WithHeader, WithResponse) fits every method;
// WithIdempotencyKey is a PostOption, taken by the methods that POST; and
// WithConcurrency is an AllOption, taken by All. An option passed where it
// would do nothing does not compile.
//
// # Configuration
//
// One rule holds for everything that is configured, so that a mistake shows
// where the client or handler is built and not at the first call or
// delivery. A constructor that can fail returns an error: NewClient,
// NewWebhookHandler, NewMemoryDeduper. An option (or argument) given a value
// it cannot use (an empty password, a nil TokenStore, a webhook body limit of
// zero, an empty webhook secret) makes its constructor fail; no option keeps
// its default in silence, and nothing panics. These errors match
// ErrInvalidConfig, and name the option. (A zero field of RetryPolicy, a zero
// WithAttemptTimeout, a nil WithLogger or WithWebhookDeduper are not refused:
// each is documented to mean the default, or none.) Nil options are skipped.
// ErrInvalidParams, in contrast, is for the parameters of one call, found
// before that call sends anything.
//
// # Authentication
//
// With WithCredentials the client logs in on its first request, refreshes the
// access token shortly before it expires, and after a 401 refreshes once and
// replays the request; concurrent callers share one refresh. WithTokens starts
// from tokens obtained earlier and WithTokenStore keeps tokens across restarts
// (see TokenStore). Tokens and passwords never appear in errors or logs.
//
// # Company context
//
// Most operations work inside a company (the API's company_id parameter).
// WithCompany sets the client's default; Client.ForCompany returns a copy for
// another company that shares the transport, the tokens and the rate-limit
// budget. A call that needs a company on a client without one returns
// ErrNoCompany before sending anything.
//
// # Lists
//
// Every collection has List, which returns one Page with the total, and All,
// which returns an iter.Seq2 over every item of every page for a range loop:
//
//	for inv, err := range c.Invoices.All(ctx, &atlas.InvoiceListParams{Status: atlas.InvoiceStatusOverdue}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(inv.InvoiceNumber, inv.AmountDue)
//	}
//
// All reads MaxPageSize items a page unless the params set a PageSize,
// fetches the next page while the loop works on the current one (several at
// once with WithConcurrency), and stops fetching when the loop breaks or ctx
// ends, leaving no goroutine behind.
//
// # Errors
//
// A non-2xx answer is an *Error carrying the status code, the server's detail,
// field errors and request id. Test its kind with errors.Is and the sentinels
// ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict,
// ErrValidation, ErrRateLimited and ErrServer, and reach it with errors.As.
// Parameters the server would certainly refuse are caught before any request
// with an error wrapping ErrInvalidParams.
//
// # Endpoints the SDK does not wrap
//
// Client.Do sends a Request to any route through the same pipeline as the
// typed methods (which are a few lines each on the same path), and decodes
// the answer into a type of the caller's:
//
//	var out struct {
//		SentTo string `json:"sent_to"`
//	}
//	err := c.Do(ctx, &atlas.Request{
//		Method:  http.MethodPost,
//		Path:    "/invoices/" + url.PathEscape(id) + "/remind",
//		Company: atlas.CompanyOptional,
//	}, &out)
//
// # Rate limits and retries
//
// The client follows the X-RateLimit-* headers of every response with one
// budget shared by all copies of a Client, waits for Retry-After on a 429, and
// with WithTier (or WithRateLimit for a plan of its own) paces itself to the
// plan so that it provokes none. It retries
// connection errors, 429, 502, 503 and 504 (and 500 except for PATCH) with
// exponential backoff and jitter, as RetryPolicy and WithRetry configure;
// WithAttemptTimeout bounds each attempt. Every POST carries an
// Idempotency-Key that stays the same across its retries, so a retried create
// never makes a duplicate. Every wait honours ctx.
//
// # Values
//
// Money is decimal.Decimal (github.com/shopspring/decimal), exact in both
// directions; calendar dates are Date, "2006-01-02" on the wire; timestamps
// are time.Time. Fields the API may leave null are pointers; Ptr fills the
// pointer fields of update params, which send only what is set.
//
// # Testing
//
// Package atlastest is an in-process fake Atlas server on the loopback
// interface, seeded with a company, accounts, customers and vendors: point a
// Client at its URL to test code that uses this package without a network.
package atlas

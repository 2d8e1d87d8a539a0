// Package atlastest is an in-memory Atlas Accounting API for tests: a second, independent
// implementation of the contract in api/openapi.yaml that listens on the loopback
// interface, like net/http/httptest.
//
//	srv := atlastest.NewServer()
//	defer srv.Close()
//	// srv.URL is the base URL, "http://127.0.0.1:PORT/api/v1";
//	// log in with srv.Email() and srv.Password().
//
// It does not share code or types with the SDK, so a field name that is wrong on either side
// fails a test instead of agreeing with itself.
//
// # Starting, serving and configuring
//
// As with httptest, NewServer starts the server at once, while NewUnstartedServer lets a
// test change Listener or TLS first and then call Start or StartTLS (https, with a
// certificate made for the server that Client trusts and Certificate returns). Handler is
// the whole server as an http.Handler, to mount on a mux or an http.Server of your own.
// Seed returns the seeded credentials and ids in one value, and Reset puts the records
// back as they were at the start.
//
// NewTestServer(t, opts...) is the same server on an in-memory network instead of a
// socket, reachable only through its Client and closed when the test ends: built inside a
// testing/synctest bubble, it runs hours of the API's time (token expiry, rate-limit
// windows, webhook retries to a handler of SubscribeHandler) in milliseconds. Inside a
// bubble "today" is 2000-01-01, where a bubble's clock starts, unless WithStartTime says
// otherwise.
//
// The control API (WithControlAPI, or ControlHandler to mount it yourself) offers what the
// Server methods do over HTTP, under /_atlastest/, a prefix the Atlas API never uses:
// tests in other languages and other processes drive the server through it, and
// cmd/atlastest serves it. api/atlastest-control.yaml in the module describes it. It
// answers requests to a loopback address or name, and refuses a browser's cross-site
// request; WithControlHosts, WithControlToken and WithControlBodyLimit widen or narrow who
// may use it and what it reads.
//
// Options never panic themselves. An option given a value it cannot use (a negative
// count, a lifetime of zero, an unknown tier, rates outside 0..1) makes NewServer and
// NewUnstartedServer panic with a message naming it ("atlastest: WithPlan: unknown tier
// "gold" ..."), as httptest.NewServer panics when it cannot listen: a test double's
// constructor has no error to return, and a test should fail loudly where it was set up
// wrong. Validate returns the same as an error matching ErrInvalidOption, for programs
// that build options from their input, such as cmd/atlastest from its flags. Server
// methods given arguments that make no sense (FailNext with a status of 200, Matching with
// a pattern ServeMux refuses) panic as their documentation says.
//
// # Seeded data
//
// Every server starts with an organization, an admin user (Email, Password) and a viewer
// (ViewerEmail, ViewerPassword; 403 on every write), and a main company (CompanyID) with a
// chart of accounts (see AccountID), three customers and two vendors (CustomerIDs,
// VendorIDs) and twelve open monthly periods for the current year. WithSecondCompany adds
// a second company the admin can access and a third one nobody can (403); WithInvoices
// seeds invoices at scale. Passwords and the webhook secret are random for each server.
//
// # Behaviour
//
// Tokens: login returns an access token valid for one hour (WithTokenLifetime) on the
// server's clock and a refresh token; refreshing rotates the refresh token, and using a
// rotated one again gets 401. The clock is the real time plus whatever Advance added;
// WithClock replaces the real time (FixedClock pins it).
//
// Company context: collection routes require company_id (422 when missing), a company the
// user cannot access gets 403, and an item of another company gets 404.
//
// Lists: page (from 1), page_size (1 to 100, default 50; anything else gets 422), sort_by
// (the contract's values for the resource, default created_at; anything else gets 422) and
// sort_order (asc or desc, default desc), plus the contract's filters. Ties are broken by
// id, in the same direction, so paging through an unchanged list yields every item once.
//
// Errors: every 4xx and 5xx has the body {detail, status_code, errors} with errors always
// present (empty unless fields failed); a body that is not JSON gets 400, a missing or
// invalid field 422 naming it ("lines.0.quantity"), unknown routes 404, wrong methods 405.
// Unknown JSON fields are ignored, as the contract's schemas allow them. Money is a decimal
// string in both directions ("1500.00"); a JSON number where the contract wants a decimal
// string gets 422.
//
// # Accounting
//
// Invoices, bills, journal entries and payments keep to the contract's rules and post to a
// double-entry ledger that the chart of accounts' balances and both reports are computed
// from:
//   - line amount = quantity x unit_price and tax = amount x tax_rate / 100, each rounded to
//     cents half away from zero line by line; totals are sums of the rounded lines;
//   - sending an invoice posts receivables (1200) against its lines' revenue accounts and
//     sales tax payable (2200); approving a bill posts its lines (tax included) to their
//     expense accounts against accounts payable (2000); posting a journal entry posts its
//     lines; a payment posts its deposit account against receivables and moves the invoices
//     it is applied to to partial or paid; voiding reverses what was posted;
//   - every posting and reversal is dated on its document's date, and nothing may be
//     created, posted or reversed in a closed period (409); only drafts can be edited, sent,
//     approved or posted (409); journal entries must balance and payments may not apply more
//     than is due or than their amount (422);
//   - the balance sheet shows the fiscal year's net income as 3900 Current Year Earnings
//     and earlier years' in 3100 Retained Earnings, so it always balances.
//
// # Rate limits, idempotency, faults, the request log and webhooks
//
// Rate limits: every answer carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (and X-RateLimit-Reset-After, the same in seconds from now). Without
// an option nothing is limited (the headers say a million requests a minute, never used
// up); WithPlan(tier, window) enforces a tier per user with windows as short as a test
// needs, and WithPlanLimits any limit and burst. A refused request gets 429 with
// Retry-After (and Retry-After-Ms). The windows follow the server's clock, so Advance moves
// into the next one, and so does every answer's Date header, as a real server's does.
//
// Idempotency: a POST with an Idempotency-Key runs once per user and key; a repeat with the
// same request gets the stored answer (Idempotent-Replayed: true) for 24 hours of the
// server's clock, another request with the key gets 409.
//
// Faults: FailNext, DropNext, DelayNext and SetLatency inject failures, dropped connections
// and latency into the next requests (Matching narrows them down), before the handler or,
// with AfterHandler, after it: the change is made and the answer lost, which only an
// idempotent retry survives. WithChaos and SetChaos inject them at random, deterministic
// given a seed.
//
// Requests lists what the server received (headers and bodies with credentials redacted),
// what it answered, the fault it injected and whether the handler ran.
//
// Webhooks: Subscribe registers a URL; every event is POSTed to it signed with
// X-Atlas-Signature, in order, retried with backoff until acknowledged (WithWebhookRetry).
// Deliveries lists the attempts; WaitWebhooks and WaitDeliveries wait for them.
//
// # Fixtures
//
// SaveState writes the server's state as JSON: the organization, users and their
// passwords, companies, the seed's ids and every record with the ledger and the number
// sequences, each record in the API's own shape plus its company_id. WithState starts a
// server from such a file and LoadState replaces a running server's state with one, so a
// suite starts from a known set of customers and invoices and a failing run can be
// replayed from where it started (pin the clock too, with WithClock). Reset goes back to
// the state the server started from or last loaded.
//
// # Extending the server
//
// The server is built from small parts meant to be extended in their own files:
//   - the middleware chain in middleware.go (Server.handler): one list, outermost first, of
//     func(http.Handler) http.Handler methods; rate limiting, idempotency, fault injection
//     and the request log each add one line there;
//   - the route table in routes.go (Server.routes): one line per operation, handlers as
//     endpoint or userEndpoint methods returning (status, body, error);
//   - the domain store in store.go: record types, the generic table with cached sort
//     orders, the ledger (store.post) and the period check (store.closedOn), all under
//     store.mu;
//   - Server.emit in events.go, the one place events leave through (webhook delivery);
//   - Server.onClose for anything that must stop with the server;
//   - the Clock, read through Server.clock.now() for every time-dependent decision.
package atlastest

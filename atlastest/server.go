package atlastest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// basePath is where the API lives on the server; Server.URL ends with it.
const basePath = "/api/v1"

// Server is an in-memory Atlas Accounting API listening on the loopback interface. It keeps
// to the contract in api/openapi.yaml: build one with NewServer, point a client at URL, log
// in with Email and Password, and Close it when the test ends.
//
// A Server is safe for concurrent use by any number of clients.
type Server struct {
	// URL is the API's base URL, "http://127.0.0.1:PORT/api/v1", with no trailing slash.
	URL string

	cfg   config
	clock *clock

	// Fixed when the server starts, read without locking.
	org         organization
	users       []*user
	companies   []*company // in creation order
	companyByID map[string]*company
	seed        seedInfo

	st   *store    // records requests can change
	auth *sessions // access and refresh tokens

	limits *limiter     // rate limiting (ratelimit.go)
	faults faults       // fault injection (faults.go)
	idem   *idempotency // Idempotency-Key replay (idempotency.go)
	reqLog *requestLog  // the last requests (requestlog.go)
	hooks  *webhooks    // webhook subscriptions and deliveries (webhooks.go)

	// closing is closed when Close starts, before the HTTP server waits for the requests
	// in flight, so that waits inside handlers (injected latency) end at once.
	closing chan struct{}

	hs        *httptest.Server
	closeOnce sync.Once
	closers   []func()
}

// seedInfo is what the accessors report about the seeded data.
type seedInfo struct {
	admin, viewer               *user
	mainCompany, second, hidden string
	webhookSecret               string
	accounts                    map[string]string // main company's account ids by number
	customers, vendors          []string          // main company's seeded contacts
}

// NewServer starts a fake Atlas on 127.0.0.1 with the seeded data described in the package
// documentation and the options given. It panics if it cannot listen on the loopback
// interface, like httptest.NewServer.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:         cfg,
		clock:       &clock{base: cfg.clock},
		companyByID: map[string]*company{},
		st:          newStore(),
		auth:        newSessions(),
		limits:      newLimiter(cfg.rate),
		idem:        newIdempotency(),
		reqLog:      newRequestLog(cfg.requestLog),
		closing:     make(chan struct{}),
	}
	s.faults.chaos = cfg.chaos
	s.seedData()
	s.hooks = newWebhooks(cfg.webhooks, s.seed.webhookSecret, s.clock.now)

	s.hs = httptest.NewUnstartedServer(s.handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("atlastest: listen on 127.0.0.1: %v", err))
	}
	_ = s.hs.Listener.Close()
	s.hs.Listener = ln
	s.hs.Start()
	s.onClose(s.hs.Close)
	s.onClose(s.hooks.close)
	s.URL = s.hs.URL + basePath
	return s
}

// Close stops the server: it stops accepting connections, waits for the requests in
// flight to finish, and stops everything else the server started. Calling it again does
// nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		for _, f := range s.closers {
			f()
		}
	})
}

// onClose registers f to run when the server closes, in the order of registration. The
// HTTP server registers first, so what a component registers afterwards (from NewServer)
// runs once no handler runs any more: components that start goroutines, such as webhook
// delivery, stop them here.
func (s *Server) onClose(f func()) { s.closers = append(s.closers, f) }

// Client returns an HTTP client for the server. Close closes its idle connections, so a
// test that uses it leaves no connection goroutine behind.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Now is the server's current time: its clock (the real time unless WithClock is given)
// plus everything Advance added.
func (s *Server) Now() time.Time { return s.clock.now() }

// Advance moves the server's clock forward by d, so tokens can expire, invoices fall
// overdue and rate-limit windows reset without waiting. A d of zero or less does nothing.
func (s *Server) Advance(d time.Duration) { s.clock.advance(d) }

// Email is the seeded admin user's email. The admin can write to every company it can
// access: the main company and, with WithSecondCompany, the second one.
func (s *Server) Email() string { return s.seed.admin.email }

// Password is the seeded admin user's password, random for each server.
func (s *Server) Password() string { return s.seed.admin.password }

// ViewerEmail is the email of the seeded viewer, who can read the main company and gets
// 403 on every write.
func (s *Server) ViewerEmail() string { return s.seed.viewer.email }

// ViewerPassword is the seeded viewer's password, random for each server.
func (s *Server) ViewerPassword() string { return s.seed.viewer.password }

// CompanyID is the id of the main company, which both seeded users can access.
func (s *Server) CompanyID() string { return s.seed.mainCompany }

// SecondCompanyID is the id of the second company the admin can access (not the viewer),
// or "" without WithSecondCompany.
func (s *Server) SecondCompanyID() string { return s.seed.second }

// HiddenCompanyID is the id of a company of the same organization that no seeded user can
// access (403), or "" without WithSecondCompany.
func (s *Server) HiddenCompanyID() string { return s.seed.hidden }

// WebhookSecret is the secret webhook deliveries are signed with (hex HMAC-SHA256 of the
// body in X-Atlas-Signature), random for each server.
func (s *Server) WebhookSecret() string { return s.seed.webhookSecret }

// AccountID is the id of the main company's account with the given account number, or ""
// when there is none. The seeded chart of accounts:
//
//	1000 Cash - Operating Account    asset      debit
//	1200 Accounts Receivable         asset      debit
//	2000 Accounts Payable            liability  credit
//	2100 Accrued Liabilities         liability  credit
//	2200 Sales Tax Payable           liability  credit
//	3000 Owner's Equity              equity     credit
//	3100 Retained Earnings           equity     credit
//	3900 Current Year Earnings       equity     credit
//	4000 Sales Revenue               revenue    credit
//	4100 Service Revenue             revenue    credit
//	5000 Cost of Goods Sold          expense    debit
//	6000 Rent Expense                expense    debit
//	6100 Office Supplies             expense    debit
//	6200 Utilities                   expense    debit
func (s *Server) AccountID(number string) string { return s.seed.accounts[number] }

// CustomerIDs are the ids of the main company's seeded customers, oldest first.
func (s *Server) CustomerIDs() []string { return append([]string(nil), s.seed.customers...) }

// VendorIDs are the ids of the main company's seeded vendors, oldest first.
func (s *Server) VendorIDs() []string { return append([]string(nil), s.seed.vendors...) }

// userByEmail finds a seeded user, ignoring the email's case.
func (s *Server) userByEmail(email string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

// logger is where the server reports its own failures; nil when WithLogger was not given.
func (s *Server) logger() *slog.Logger { return s.cfg.logger }

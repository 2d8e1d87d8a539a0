package atlastest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/memnet"
)

// basePath is where the API lives on the server; Server.URL ends with it.
const basePath = "/api/v1"

// readHeaderTimeout bounds how long a connection may take to send a request's headers,
// so that a peer opening connections and never finishing them (slowloris) cannot hold
// them forever when the server listens on a network (cmd/atlastest -addr).
const readHeaderTimeout = time.Minute

// Server is an in-memory Atlas Accounting API. It keeps to the contract in
// api/openapi.yaml: build one with NewServer, point a client at URL, log in with Email and
// Password, and Close it when the test ends.
//
// Like httptest.Server it can also be built with NewUnstartedServer, changed, and started
// with Start or StartTLS; and its Handler mounts on any mux or http.Server.
//
// A Server is safe for concurrent use by any number of clients.
type Server struct {
	// URL is the API's base URL, "http://127.0.0.1:PORT/api/v1" (https with StartTLS),
	// with no trailing slash; "" until the server starts.
	URL string

	// Listener is where Start and StartTLS serve. NewUnstartedServer opens one on
	// 127.0.0.1 with a port of the system's choosing; replace it before Start to serve on
	// another address (the old one is yours to close).
	Listener net.Listener

	// TLS is the TLS configuration StartTLS uses, if set before it: StartTLS adds a
	// certificate when it has none (see Certificate). After StartTLS it is the
	// configuration in use.
	TLS *tls.Config

	cfg   config
	clock *clock

	w atomic.Pointer[world] // the organization, users and companies (see world)

	st   *store    // records requests can change
	auth *sessions // access and refresh tokens

	limits    *limiter       // rate limiting (ratelimit.go)
	faults    faults         // fault injection (faults.go)
	idem      *idempotency   // Idempotency-Key replay (idempotency.go)
	reqLog    *requestLog    // the last requests (requestlog.go)
	hooks     *webhooks      // webhook subscriptions and deliveries (webhooks.go)
	mem       memnet.Network // the in-memory network of NewTestServer and SubscribeHandler (testserver.go)
	receivers atomic.Int64   // SubscribeHandler's receivers, to name them

	control http.Handler // the control API (control.go)
	handler http.Handler // what Handler returns: the API, and the control API with WithControlAPI

	// onControlWait, when set (by tests, before the requests it is for), is called when a
	// control request starts to wait for webhook deliveries.
	onControlWait func()

	// closing is closed when Close starts, before the HTTP server waits for the requests
	// in flight, so that waits inside handlers (injected latency) end at once.
	closing chan struct{}

	mu          sync.Mutex // guards what follows
	hs          *httptest.Server
	certificate *x509.Certificate
	started     bool
	closed      bool
	closers     []func()
}

// world is what the records hang from and requests never change: the organization, its
// users and companies, and what the accessors report. Seeding makes one, and LoadState
// replaces it whole; it is read without locking.
type world struct {
	org         organization
	users       []*user
	companies   []*company // in creation order
	companyByID map[string]*company
	seed        seedInfo
}

// world is the server's current world.
func (s *Server) world() *world { return s.w.Load() }

// seedInfo is what the accessors report about the seeded data.
type seedInfo struct {
	admin, viewer               *user
	mainCompany, second, hidden string
	webhookSecret               string
	accounts                    map[string]string // main company's account ids by number
	customers, vendors          []string          // main company's seeded contacts
}

// NewServer starts a fake Atlas on 127.0.0.1 with the seeded data described in the package
// documentation and the options given. It panics if an option was given a value it cannot
// use (see Validate) or if it cannot listen on the loopback interface, like
// httptest.NewServer.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a server that is seeded and listening on 127.0.0.1 but not
// yet serving: change Listener or TLS, then call Start or StartTLS; or serve Handler
// yourself. Either way, call Close when done: it stops webhook deliveries too. It panics
// as NewServer does.
func NewUnstartedServer(opts ...Option) *Server {
	s, err := newServer(opts)
	if err != nil {
		panic(err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("atlastest: listen on 127.0.0.1: %v", err))
	}
	s.Listener = ln
	return s
}

// newServer builds a seeded server with no Listener, or returns why opts cannot be used.
func newServer(opts []Option) (*Server, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		clock:   &clock{base: cfg.clock},
		st:      newStore(),
		auth:    newSessions(),
		limits:  newLimiter(cfg.rate),
		idem:    newIdempotency(),
		reqLog:  newRequestLog(cfg.requestLog),
		closing: make(chan struct{}),
	}
	if cfg.chaos != nil {
		s.faults.chaos, _ = newChaos(*cfg.chaos) // checked by WithChaos
	}
	if cfg.state != nil {
		s.st = cfg.state.st
		s.w.Store(cfg.state.w)
	} else {
		s.seedData()
	}
	s.hooks = newWebhooks(cfg.webhooks, s.world().seed.webhookSecret, s.clock.now)
	s.mem.Route(s.hooks.transport)
	s.onClose(s.hooks.close)

	s.control = s.logAccess(s.controlRoutes())
	s.handler = s.logAccess(s.chain())
	if cfg.control {
		s.handler = s.withControl(s.handler)
	}
	return s, nil
}

// Start starts serving on Listener, over HTTP, and sets URL. It panics if the server was
// started or closed already.
func (s *Server) Start() { s.start(false) }

// StartTLS starts serving on Listener over TLS and sets URL to an https address. Without a
// certificate in TLS it generates one, signed by a certificate authority of its own made
// for this server (Certificate), for localhost, 127.0.0.1, ::1, the address it listens on
// and the hosts of WithTLSHosts; Client trusts it. It panics as Start does, and if it
// cannot make the certificate.
func (s *Server) StartTLS() { s.start(true) }

func (s *Server) start(useTLS bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		panic("atlastest: Server already started or closed")
	}
	s.started = true
	s.hs = &httptest.Server{Listener: s.Listener, Config: &http.Server{Handler: s.handler, ErrorLog: s.errorLog(), ReadHeaderTimeout: readHeaderTimeout}}
	if !useTLS {
		s.hs.Start()
	} else {
		cfg := &tls.Config{}
		if s.TLS != nil {
			cfg = s.TLS.Clone()
		}
		if len(cfg.Certificates) == 0 {
			cert, ca, err := newCertificate(certificateHosts(s.Listener.Addr(), s.cfg.tlsHosts))
			if err != nil {
				panic("atlastest: StartTLS: " + err.Error())
			}
			cfg.Certificates = []tls.Certificate{cert}
			s.certificate = ca
		}
		s.hs.TLS = cfg
		s.hs.StartTLS()
		s.TLS = s.hs.TLS
		if s.certificate == nil {
			s.certificate = s.hs.Certificate()
		}
	}
	s.Listener = s.hs.Listener
	s.URL = reachableURL(s.hs.URL) + basePath
	s.closers = append([]func(){s.hs.Close}, s.closers...)
}

// reachableURL turns the URL of a server listening on every interface ("http://[::]:8080")
// into one a client can dial: the loopback address.
func reachableURL(u string) string {
	scheme, hostport, _ := strings.Cut(u, "://")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return u
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return scheme + "://" + net.JoinHostPort("127.0.0.1", port)
	}
	return u
}

// Handler is the server's whole API as an http.Handler, for a mux or an http.Server of
// your own: the Atlas API under /api/v1 (so mount it at the root or at "/api/v1/", never
// behind http.StripPrefix) and, with WithControlAPI, the control API under /_atlastest/.
// It works whether or not the server was started; Close the server when done with it.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server: it stops accepting connections, waits for the requests in
// flight to finish, and stops everything else the server started. Calling it again does
// nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	closers := s.closers
	if !s.started {
		_ = s.Listener.Close()
	}
	s.mu.Unlock()
	close(s.closing)
	for _, f := range closers {
		f()
	}
}

// onClose registers f to run when the server closes, in the order of registration, after
// the HTTP server (which Start puts first) has stopped: so what a component registers runs
// once no handler runs any more. Components that start goroutines, such as webhook
// delivery, stop them here.
func (s *Server) onClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// Client returns an HTTP client for the started server, nil before Start: after StartTLS
// it trusts the server's certificate. Close closes its idle connections, so a test that
// uses it leaves no connection goroutine behind.
func (s *Server) Client() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs == nil {
		return nil
	}
	return s.hs.Client()
}

// Certificate is the certificate a client of the server started with StartTLS must trust:
// the certificate authority that signed the certificate StartTLS generated, or the first
// certificate of TLS when it had one. It is nil for a server that is not serving TLS.
// PEM-encode its Raw bytes for a client of another language (cmd/atlastest writes this
// file).
func (s *Server) Certificate() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certificate
}

// Now is the server's current time: its clock (the real time unless WithClock is given)
// plus everything Advance added.
func (s *Server) Now() time.Time { return s.clock.now() }

// Advance moves the server's clock forward by d, so tokens can expire, invoices fall
// overdue and rate-limit windows reset without waiting. A d of zero or less does nothing.
func (s *Server) Advance(d time.Duration) { s.clock.advance(d) }

// Email is the seeded admin user's email. The admin can write to every company it can
// access: the main company and, with WithSecondCompany, the second one.
func (s *Server) Email() string { return s.world().seed.admin.email }

// Password is the seeded admin user's password, random for each server.
func (s *Server) Password() string { return s.world().seed.admin.password }

// ViewerEmail is the email of the seeded viewer, who can read the main company and gets
// 403 on every write.
func (s *Server) ViewerEmail() string { return s.world().seed.viewer.email }

// ViewerPassword is the seeded viewer's password, random for each server.
func (s *Server) ViewerPassword() string { return s.world().seed.viewer.password }

// CompanyID is the id of the main company, which both seeded users can access.
func (s *Server) CompanyID() string { return s.world().seed.mainCompany }

// SecondCompanyID is the id of the second company the admin can access (not the viewer),
// or "" without WithSecondCompany.
func (s *Server) SecondCompanyID() string { return s.world().seed.second }

// HiddenCompanyID is the id of a company of the same organization that no seeded user can
// access (403), or "" without WithSecondCompany.
func (s *Server) HiddenCompanyID() string { return s.world().seed.hidden }

// WebhookSecret is the secret webhook deliveries are signed with (hex HMAC-SHA256 of the
// body in X-Atlas-Signature), random for each server.
func (s *Server) WebhookSecret() string { return s.world().seed.webhookSecret }

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
func (s *Server) AccountID(number string) string { return s.world().seed.accounts[number] }

// CustomerIDs are the ids of the main company's seeded customers, oldest first.
func (s *Server) CustomerIDs() []string { return slices.Clone(s.world().seed.customers) }

// VendorIDs are the ids of the main company's seeded vendors, oldest first.
func (s *Server) VendorIDs() []string { return slices.Clone(s.world().seed.vendors) }

// Seed is the seeded data a test refers to, in one value: what Server.Seed returns, with
// these JSON names. The control API's GET /_atlastest/seed answers it as the whole body
// ({"email": ..., "password": ...}: jq -r .email). cmd/atlastest -json prints it nested
// under "seed", beside the URLs ({"url": ..., "control_url": ..., "ca_file": ...,
// "seed": {"email": ...}, "subscriptions": [...]}: jq -r .seed.email).
type Seed struct {
	// Email and Password are the admin's (Server.Email, Server.Password).
	Email    string `json:"email"`
	Password string `json:"password"`
	// ViewerEmail and ViewerPassword are the viewer's, who gets 403 on every write.
	ViewerEmail    string `json:"viewer_email"`
	ViewerPassword string `json:"viewer_password"`
	// CompanyID is the main company's id; SecondCompanyID and HiddenCompanyID are ""
	// without WithSecondCompany (see Server.SecondCompanyID and HiddenCompanyID).
	CompanyID       string `json:"company_id"`
	SecondCompanyID string `json:"second_company_id"`
	HiddenCompanyID string `json:"hidden_company_id"`
	// WebhookSecret signs webhook deliveries.
	WebhookSecret string `json:"webhook_secret"`
	// Accounts are the main company's account ids by account number (see
	// Server.AccountID).
	Accounts map[string]string `json:"accounts"`
	// CustomerIDs and VendorIDs are the main company's seeded contacts, oldest first.
	CustomerIDs []string `json:"customer_ids"`
	VendorIDs   []string `json:"vendor_ids"`
}

// Seed returns the seeded credentials and ids in one value, the caller's to keep and
// change. The accessors (Email, CompanyID, ...) read the same data one at a time.
func (s *Server) Seed() Seed {
	sd := s.world().seed
	return Seed{
		Email:           sd.admin.email,
		Password:        sd.admin.password,
		ViewerEmail:     sd.viewer.email,
		ViewerPassword:  sd.viewer.password,
		CompanyID:       sd.mainCompany,
		SecondCompanyID: sd.second,
		HiddenCompanyID: sd.hidden,
		WebhookSecret:   sd.webhookSecret,
		Accounts:        maps.Clone(sd.accounts),
		CustomerIDs:     slices.Clone(sd.customers),
		VendorIDs:       slices.Clone(sd.vendors),
	}
}

// userByEmail finds a seeded user, ignoring the email's case.
func (s *Server) userByEmail(email string) *user {
	for _, u := range s.world().users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

// errorLog is where the HTTP server reports what it cannot hand to a handler (a TLS
// handshake a client broke off): the logger, at level Warn, or nowhere.
func (s *Server) errorLog() *log.Logger {
	if l := s.logger(); l != nil {
		return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
	}
	return log.New(io.Discard, "", 0)
}

// logger is where the server reports its own failures; nil when WithLogger was not given.
func (s *Server) logger() *slog.Logger { return s.cfg.logger }

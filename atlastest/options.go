package atlastest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Server in NewServer and NewUnstartedServer.
//
// An option never panics itself: it notes a value it cannot use, and NewServer panics
// with the note ("atlastest: WithPlan: unknown tier "gold""), as httptest.NewServer
// panics when it cannot listen. Validate returns the same notes as an error.
type Option func(*config)

// ErrInvalidOption is what the errors of Validate match with errors.Is: an option was given
// a value it cannot use.
var ErrInvalidOption = errors.New("atlastest: invalid option")

// OptionError is an option's value that cannot be used, as Validate returns it (through
// errors.As) and NewServer panics with its message: "atlastest: WithPlan: unknown tier
// ...". It matches ErrInvalidOption.
type OptionError struct {
	// Option is the option's name, such as "WithPlan".
	Option string
	// Reason says what is wrong with the value.
	Reason string
}

// Error is "atlastest: Option: Reason".
func (e *OptionError) Error() string { return "atlastest: " + e.Option + ": " + e.Reason }

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// config is what the options set. Later stages add their fields here.
type config struct {
	clock           Clock
	tokenLifetime   time.Duration
	refreshLifetime time.Duration
	secondCompany   bool
	invoices        int
	logger          *slog.Logger
	rate            *rateConfig // nil: no limit enforced
	requestLog      int         // requests kept; 0 for none
	webhooks        webhookConfig
	chaos           *Chaos // nil: none
	control         bool   // serve the control API on the server's handler
	ctl             controlConfig
	tlsHosts        []string
	state           *loadedState // WithState; nil: seed

	errs []error // the values the options could not use, in the order given
}

func defaultConfig() config {
	return config{
		clock:           realClock{},
		tokenLifetime:   time.Hour,
		refreshLifetime: 30 * 24 * time.Hour,
		requestLog:      defaultRequestLog,
		webhooks:        webhookConfig{maxAttempts: 5, baseDelay: 10 * time.Millisecond},
		ctl:             controlConfig{bodyLimit: DefaultControlBodyLimit},
	}
}

// invalid notes that option was given a value it cannot use.
func (cfg *config) invalid(option, format string, args ...any) {
	cfg.errs = append(cfg.errs, &OptionError{Option: option, Reason: fmt.Sprintf(format, args...)})
}

// newConfig applies opts to the defaults and returns every value they could not use,
// joined. A nil option is skipped.
func newConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.state != nil && (cfg.secondCompany || cfg.invoices > 0) {
		cfg.invalid("WithState", "the state replaces the seed that WithSecondCompany and WithInvoices change")
	}
	return cfg, errors.Join(cfg.errs...)
}

// Validate reports whether NewServer would accept opts: nil when it would, otherwise an
// error that matches ErrInvalidOption and names every option whose value cannot be used,
// in the words NewServer would panic with (an *OptionError each, joined). A program that builds options from its input
// (flags, a configuration file) calls it first, so that bad input is an error it can
// report instead of a panic. WithState reads its file here too.
func Validate(opts ...Option) error {
	_, err := newConfig(opts)
	return err
}

// WithClock makes the server read the time from c instead of the real clock; Advance still
// adds to what c says. Use FixedClock for a time that moves only by Advance. A nil Clock
// is invalid.
func WithClock(c Clock) Option {
	return func(cfg *config) {
		if c == nil {
			cfg.invalid("WithClock", "the Clock is nil")
			return
		}
		cfg.clock = c
	}
}

// WithTokenLifetime sets how long an access token is valid (default one hour, as Atlas).
// Login and refresh report it as expires_in, in whole seconds rounded up. A lifetime of
// zero or less is invalid.
func WithTokenLifetime(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.invalid("WithTokenLifetime", "lifetime %v is not positive", d)
			return
		}
		cfg.tokenLifetime = d
	}
}

// WithRefreshTokenLifetime sets how long a refresh token is valid (default 30 days). A
// lifetime of zero or less is invalid.
func WithRefreshTokenLifetime(d time.Duration) Option {
	return func(cfg *config) {
		if d <= 0 {
			cfg.invalid("WithRefreshTokenLifetime", "lifetime %v is not positive", d)
			return
		}
		cfg.refreshLifetime = d
	}
}

// WithSecondCompany seeds a second company that the admin user can access (see
// Server.SecondCompanyID) and a third one in the same organization that no seeded user
// can access (Server.HiddenCompanyID), each with its own chart of accounts, contacts and
// periods, for tests of company context, 403 and 404.
func WithSecondCompany() Option {
	return func(cfg *config) { cfg.secondCompany = true }
}

// WithInvoices seeds n invoices in the main company, for pagination at scale (100,000 take
// well under a second). They are spread over the current year up to today with distinct
// created_at values, one line each, a quarter of them drafts, half sent (and posted to the
// ledger, so some are overdue) and a quarter void. A negative n is invalid.
func WithInvoices(n int) Option {
	return func(cfg *config) {
		if n < 0 {
			cfg.invalid("WithInvoices", "%d invoices is negative", n)
			return
		}
		cfg.invoices = n
	}
}

// WithLogger makes the server log to l: every request it answers, at level Info (method,
// path, query, status, duration, request id and any injected fault: never a header or a
// body, so never a credential), and its own failures (a handler that panicked) at level
// Error. A nil l, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) { cfg.logger = l }
}

// WithTLSHosts adds host names and IP addresses to the certificate StartTLS generates,
// which always names localhost, 127.0.0.1, ::1 and the address the server listens on:
// for a server that clients reach by another name, such as a service name in a
// docker-compose network. An empty host is invalid.
func WithTLSHosts(hosts ...string) Option {
	return func(cfg *config) {
		for _, h := range hosts {
			if h == "" {
				cfg.invalid("WithTLSHosts", "a host is empty")
				return
			}
		}
		cfg.tlsHosts = append(cfg.tlsHosts, hosts...)
	}
}

package atlastest

import (
	"log/slog"
	"time"
)

// Option configures a Server in NewServer.
type Option func(*config)

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
	chaos           *chaos // nil: none
}

func defaultConfig() config {
	return config{
		clock:           realClock{},
		tokenLifetime:   time.Hour,
		refreshLifetime: 30 * 24 * time.Hour,
		requestLog:      defaultRequestLog,
		webhooks:        webhookConfig{maxAttempts: 5, baseDelay: 10 * time.Millisecond},
	}
}

// WithClock makes the server read the time from c instead of the real clock; Advance still
// adds to what c says. Use FixedClock for a time that moves only by Advance.
func WithClock(c Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// WithTokenLifetime sets how long an access token is valid (default one hour, as Atlas).
// Login and refresh report it as expires_in, in whole seconds rounded up. A lifetime of
// zero or less keeps the default.
func WithTokenLifetime(d time.Duration) Option {
	return func(cfg *config) {
		if d > 0 {
			cfg.tokenLifetime = d
		}
	}
}

// WithRefreshTokenLifetime sets how long a refresh token is valid (default 30 days). A
// lifetime of zero or less keeps the default.
func WithRefreshTokenLifetime(d time.Duration) Option {
	return func(cfg *config) {
		if d > 0 {
			cfg.refreshLifetime = d
		}
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
// ledger, so some are overdue) and a quarter void.
func WithInvoices(n int) Option {
	return func(cfg *config) { cfg.invoices = max(n, 0) }
}

// WithLogger makes the server log its own failures (a handler that panicked) to l. By
// default it logs nothing. Secrets are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) { cfg.logger = l }
}

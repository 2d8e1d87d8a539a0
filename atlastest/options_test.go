package atlastest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Every option follows one rule: a value it cannot use makes NewServer and
// NewUnstartedServer panic with "atlastest: WithX: ...", and Validate returns the same as an
// error matching ErrInvalidOption. The option itself never panics.
func TestInvalidOptionValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  func() atlastest.Option
		want string
	}{
		{"clock", func() atlastest.Option { return atlastest.WithClock(nil) }, "atlastest: WithClock: the Clock is nil"},
		{"token lifetime", func() atlastest.Option { return atlastest.WithTokenLifetime(0) }, "atlastest: WithTokenLifetime: lifetime 0s is not positive"},
		{"refresh lifetime", func() atlastest.Option { return atlastest.WithRefreshTokenLifetime(-time.Hour) }, "atlastest: WithRefreshTokenLifetime: lifetime -1h0m0s is not positive"},
		{"invoices", func() atlastest.Option { return atlastest.WithInvoices(-1) }, "atlastest: WithInvoices: -1 invoices is negative"},
		{"request log", func() atlastest.Option { return atlastest.WithRequestLog(-5) }, "atlastest: WithRequestLog: -5 requests is negative"},
		{"webhook attempts", func() atlastest.Option { return atlastest.WithWebhookRetry(0, time.Millisecond) }, "atlastest: WithWebhookRetry: 0 attempts; at least 1 is needed"},
		{"webhook delay", func() atlastest.Option { return atlastest.WithWebhookRetry(3, -time.Millisecond) }, "atlastest: WithWebhookRetry: base delay -1ms is negative"},
		{"plan", func() atlastest.Option { return atlastest.WithPlan("gold", time.Minute) }, `atlastest: WithPlan: unknown tier "gold" (standard, professional or enterprise)`},
		{"tls hosts", func() atlastest.Option { return atlastest.WithTLSHosts("atlas", "") }, "atlastest: WithTLSHosts: a host is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opt atlastest.Option
			require.NotPanics(t, func() { opt = tc.opt() }, "an option never panics itself")
			err := atlastest.Validate(opt)
			require.ErrorIs(t, err, atlastest.ErrInvalidOption)
			assert.EqualError(t, err, tc.want)
			assert.PanicsWithValue(t, tc.want, func() { atlastest.NewServer(opt).Close() })
			assert.PanicsWithValue(t, tc.want, func() { atlastest.NewUnstartedServer(opt).Close() })
		})
	}
}

func TestValidateNamesEveryInvalidOption(t *testing.T) {
	t.Parallel()
	err := atlastest.Validate(atlastest.WithInvoices(10), atlastest.WithTokenLifetime(-1), nil, atlastest.WithPlan("gold", 0))
	require.ErrorIs(t, err, atlastest.ErrInvalidOption)
	assert.Contains(t, err.Error(), "WithTokenLifetime")
	assert.Contains(t, err.Error(), "WithPlan")
	assert.NotContains(t, err.Error(), "WithInvoices")

	assert.NoError(t, atlastest.Validate(atlastest.WithInvoices(0), atlastest.WithPlan(atlastest.TierEnterprise, 0), atlastest.WithPlanLimits(1, 0, 0)))
	assert.False(t, errors.Is(atlastest.Validate(), atlastest.ErrInvalidOption))
}

func TestOptionErrorNamesTheOption(t *testing.T) {
	t.Parallel()
	var oe *atlastest.OptionError
	require.ErrorAs(t, atlastest.Validate(atlastest.WithInvoices(3), atlastest.WithPlanLimits(0, 0, 0)), &oe)
	assert.Equal(t, &atlastest.OptionError{Option: "WithPlanLimits", Reason: "limit 0 is not positive"}, oe)
}

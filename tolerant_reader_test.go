package atlas_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// answeringAPI returns a client on an httptest server that logs anyone in and
// answers every other request with answer.
func answeringAPI(t *testing.T, answer http.HandlerFunc) *atlas.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth/login") {
			_, _ = io.WriteString(w, `{"tokens":{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600},"user":{"id":"u","email":"e","full_name":"f","role":"admin"}}`)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL+"/api/v1"), atlas.ClientOptions(atlas.WithCredentials("e", "p"), atlas.WithCompany(stubCompany)))
	return c
}

// A report whose generated_at is in another ISO 8601 form, or in none, is
// read whole: the forms that can be read are, the others leave zero.
func TestReportGeneratedAtIsReadTolerantly(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Time
	}{
		{"RFC 3339", `"2026-02-01T08:00:00Z"`, at},
		{"no zone", `"2026-02-01T08:00:00"`, at},
		{"a space instead of T", `"2026-02-01 08:00:00"`, at},
		{"fractional seconds", `"2026-02-01T08:00:00.123456+00:00"`, at.Add(123456 * time.Microsecond)},
		{"a date only", `"2026-02-01"`, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"another zone", `"2026-02-01T09:00:00+01:00"`, at},
		{"garbage", `"yesterday afternoon"`, time.Time{}},
		{"empty", `""`, time.Time{}},
		{"null", `null`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := answeringAPI(t, func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"company_id":"c","as_of_date":"2026-01-31","currency":"USD","generated_at":`+tt.value+`,`+
					`"assets":{"name":"Assets","sections":[{"name":"Current Assets","items":[{"account_id":"a","account_number":"1000",`+
					`"account_name":"Cash","balance":"12500.00"}],"subtotal":"12500.00"}],"total":"12500.00"},`+
					`"liabilities":{"name":"Liabilities","sections":[],"total":"0"},"equity":{"name":"Equity","sections":[],"total":"12500.00"},`+
					`"total_assets":"12500.00","total_liabilities_and_equity":"12500.00","is_balanced":true}`)
			})
			bs, err := c.Reports.BalanceSheet(context.Background(), &atlas.BalanceSheetParams{AsOfDate: atlas.NewDate(2026, time.January, 31)})
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(bs.GeneratedAt), "generated_at %v, want %v", bs.GeneratedAt, tt.want)
			assert.Equal(t, atlas.NewDate(2026, time.January, 31), bs.AsOfDate)
			assert.Equal(t, "12500", bs.TotalAssets.String())
			assert.True(t, bs.IsBalanced)
		})
	}

	// The same for a profit and loss statement.
	c := answeringAPI(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"company_id":"c","period_start":"2026-01-01","period_end":"2026-01-31","currency":"USD",`+
			`"generated_at":"01.02.2026 08:00","revenue":{"name":"Revenue","sections":[],"total":"1500.00"},`+
			`"operating_expenses":{"name":"Operating Expenses","sections":[],"total":"0"},"net_income":"1500.00"}`)
	})
	pl, err := c.Reports.ProfitLoss(context.Background(), &atlas.ProfitLossParams{
		PeriodStart: atlas.NewDate(2026, time.January, 1), PeriodEnd: atlas.NewDate(2026, time.January, 31)})
	require.NoError(t, err)
	assert.True(t, pl.GeneratedAt.IsZero())
	assert.Equal(t, "1500", pl.NetIncome.String())
}

// A login answer is refused only when its tokens cannot be read: an
// expires_in written another way is read when it can be, and otherwise
// leaves the expiry unknown; an odd token_type or user does not fail it.
func TestLoginAnswerIsReadTolerantly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tokens, user string
		lifetime           time.Duration // 0: expiry unknown
		wantUser           atlas.User
	}{
		{"seconds", `"expires_in":3600`, `{"id":"u","email":"e","full_name":"f","role":"admin"}`, time.Hour,
			atlas.User{ID: "u", Email: "e", FullName: "f", Role: atlas.RoleAdmin}},
		{"a float", `"expires_in":3600.0`, `{"id":"u"}`, time.Hour, atlas.User{ID: "u"}},
		{"a fraction", `"expires_in":1799.9`, `{"id":"u"}`, 1799 * time.Second, atlas.User{ID: "u"}},
		{"a string", `"expires_in":" 900 "`, `{"id":"u"}`, 15 * time.Minute, atlas.User{ID: "u"}},
		{"an exponent", `"expires_in":3.6e3`, `{"id":"u"}`, time.Hour, atlas.User{ID: "u"}},
		{"garbage", `"expires_in":"soon"`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"negative", `"expires_in":-60`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"out of range", `"expires_in":1e400`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"an object", `"expires_in":{"s":1}`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"null, token_type a number", `"expires_in":null,"token_type":7`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"missing", `"token_type":"bearer"`, `{"id":"u"}`, 0, atlas.User{ID: "u"}},
		{"a user that is not one", `"expires_in":3600`, `"u-1"`, time.Hour, atlas.User{}},
		{"a user with a numeric role", `"expires_in":3600`, `{"id":"u","role":5}`, time.Hour, atlas.User{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"tokens":{"access_token":"acc-1","refresh_token":"ref-1",`+tt.tokens+`},"user":`+tt.user+`}`)
			}))
			t.Cleanup(srv.Close)
			store := &atlas.MemoryTokenStore{}
			c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithTokenStore(store)))
			before := time.Now()
			u, err := c.Auth.Login(context.Background(), "e", "p")
			after := time.Now()
			require.NoError(t, err)
			assert.Equal(t, tt.wantUser, *u)
			saved, err := store.Load(context.Background())
			require.NoError(t, err)
			require.NotNil(t, saved)
			assert.Equal(t, "acc-1", saved.AccessToken)
			assert.Equal(t, "ref-1", saved.RefreshToken)
			if tt.lifetime == 0 {
				assert.True(t, saved.Expiry.IsZero(), "expiry %v, want unknown", saved.Expiry)
				return
			}
			assert.False(t, saved.Expiry.Before(before.Add(tt.lifetime)), "expiry %v", saved.Expiry)
			assert.False(t, saved.Expiry.After(after.Add(tt.lifetime)), "expiry %v", saved.Expiry)
		})
	}

	// Tokens the client cannot read still fail the login.
	for _, body := range []string{`{"tokens":{"access_token":7}}`, `{"tokens":"acc"}`, `{"tokens":{"refresh_token":"r"}}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
		t.Cleanup(srv.Close)
		c, _ := atlas.Setup(t, atlas.OnURL(srv.URL))
		_, err := c.Auth.Login(context.Background(), "e", "p")
		assert.Error(t, err, body)
	}
}

package atlastest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// busyServer is a server on domainDay with a second company, seeded invoices and some of
// everything done on top: customers, invoices sent, paid and voided, a bill approved, a
// journal entry posted, a period closed.
func busyServer(t *testing.T) *atlastest.Server {
	t.Helper()
	srv := domainServer(t, atlastest.WithSecondCompany(), atlastest.WithInvoices(40))
	c := admin(t, srv)
	cust := c.create(inCompany(srv, "/contacts/customers"), map[string]any{
		"display_name": "Northwind Traders", "email": "ap@northwind.example.com", "credit_limit": "2500.125",
		"billing_address": map[string]any{"line1": "9 Harbour Rd", "city": "Seattle", "country": "US"},
	})
	c.create(inCompany(srv, "/contacts/vendors"), map[string]any{"display_name": "Paper Mill", "default_expense_account_id": srv.AccountID("6100")})
	inv := c.sentInvoice(invoiceBody(srv, "2026-03-10", line("Audit", "1.5", "1200.00", srv.AccountID("4100"), "8.25")))
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-12", "500.00", inv["id"].(string), "500.00"))
	void := c.sentInvoice(invoiceBody(srv, "2026-03-11"))
	c.action("/invoices/"+void["id"].(string)+"/void", map[string]any{"reason": "Billed twice"})
	c.create(inCompany(srv, "/invoices"), map[string]any{"customer_id": cust["id"], "invoice_date": "2026-03-14", "notes": "draft",
		"lines": []map[string]any{line("Setup", "", "99.99", srv.AccountID("4000"), "")}})
	bill := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-02"))
	c.action("/bills/"+bill["id"].(string)+"/approve", nil)
	je := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-01", "1800.00"))
	c.action("/journal-entries/"+je["id"].(string)+"/post", nil)
	closePeriod(c, 1)
	other := c.create(withQuery("/contacts/customers", "company_id", srv.SecondCompanyID()), map[string]any{"display_name": "Retail Buyer"})
	require.NotEmpty(t, other["id"])
	return srv
}

// answers is what a server answers to every read a client can make of its main and second
// companies, logged in as the seeded admin, with generated_at left out of the reports.
func answers(t *testing.T, srv *atlastest.Server) map[string]string {
	t.Helper()
	c := admin(t, srv)
	paths := []string{"/auth/me", "/companies?sort_order=asc"}
	for _, company := range []string{srv.CompanyID(), srv.SecondCompanyID()} {
		for _, list := range []string{"/contacts/customers", "/contacts/vendors", "/chart-of-accounts", "/periods", "/invoices",
			"/bills", "/journal-entries", "/payments"} {
			paths = append(paths, withQuery(list, "company_id", company, "page_size", "100", "sort_order", "asc"))
		}
		paths = append(paths,
			withQuery("/reports/profit-loss", "company_id", company, "period_start", "2026-01-01", "period_end", "2026-12-31"),
			withQuery("/reports/balance-sheet", "company_id", company, "as_of_date", "2026-03-31"))
	}
	out := map[string]string{}
	for _, p := range paths {
		resp := c.get(p)
		require.Equal(t, http.StatusOK, resp.status, "%s: %s", p, resp.body)
		m := resp.object(t)
		delete(m, "generated_at")
		out[p] = mustJSON(t, m)
	}
	return out
}

func saveState(t *testing.T, srv *atlastest.Server) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, srv.SaveState(&buf))
	return buf.Bytes()
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// withoutSavedAt drops the time of saving from a state, the one field two saves of the same
// state may differ in.
func withoutSavedAt(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	delete(m, "saved_at")
	return m
}

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	src := busyServer(t)
	want := answers(t, src)
	state := saveState(t, src)
	path := writeFile(t, state)

	t.Run("WithState", func(t *testing.T) {
		t.Parallel()
		srv := domainServer(t, atlastest.WithState(path))
		assert.Equal(t, src.Seed(), srv.Seed(), "the same credentials and ids")
		assert.Equal(t, want, answers(t, srv), "the same answers")
		assert.Equal(t, withoutSavedAt(t, state), withoutSavedAt(t, saveState(t, srv)), "saving it again gives the same state")

		// It goes on from where the state left off, as the server it came from does.
		for _, s := range []*atlastest.Server{src, srv} {
			c := admin(t, s)
			cust := c.create(inCompany(s, "/contacts/customers"), map[string]any{"display_name": "Next"})
			assert.Equal(t, "CUST-0005", cust["customer_number"])
			inv := c.create(inCompany(s, "/invoices"), invoiceBody(s, "2026-03-16"))
			assert.Equal(t, "INV-2026-0044", inv["invoice_number"])
		}
	})

	t.Run("LoadState", func(t *testing.T) {
		t.Parallel()
		srv := domainServer(t)
		before := admin(t, srv)
		require.NoError(t, srv.LoadState(bytes.NewReader(state)))
		before.get("/auth/me").requireError(t, http.StatusUnauthorized)
		assert.Equal(t, src.Seed(), srv.Seed())
		assert.Equal(t, want, answers(t, srv))

		// Reset goes back to the loaded state, not to the seed it replaced.
		c := admin(t, srv)
		c.create(inCompany(srv, "/contacts/customers"), map[string]any{"display_name": "Gone"})
		srv.Reset()
		assert.Equal(t, want, answers(t, srv))
	})
}

func TestStateSignsWebhooksWithItsSecret(t *testing.T) {
	t.Parallel()
	state := saveState(t, busyServer(t))
	srv := domainServer(t)
	rcv := newReceiver(t)
	srv.Subscribe(rcv.URL)
	require.NoError(t, srv.LoadState(bytes.NewReader(state)))
	c := admin(t, srv)
	c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-16"))
	waitWebhooks(t, srv)
	got := rcv.received()
	require.Len(t, got, 1)
	assert.True(t, signedWith(got[0], srv.WebhookSecret()))
}

func TestLoadStateRefusesWhatItCannotLoad(t *testing.T) {
	t.Parallel()
	valid := saveState(t, busyServer(t))
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(valid, &m))
		f(m)
		return []byte(mustJSON(t, m))
	}
	first := func(m map[string]any, key string) map[string]any { return m[key].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name  string
		state []byte
		want  string
	}{
		{"not JSON", []byte("{"), "not a state"},
		{"another version", edit(func(m map[string]any) { m["atlastest_state"] = 2 }), "atlastest_state is 2"},
		{"unknown field", edit(func(m map[string]any) { first(m, "invoices")["colour"] = "red" }), `unknown field "colour"`},
		{"unknown customer", edit(func(m map[string]any) {
			first(m, "invoices")["customer_id"] = "00000000-0000-4000-8000-000000000000"
		}), `invoices[0].customer_id: no customer "00000000-0000-4000-8000-000000000000"`},
		{"duplicate id", edit(func(m map[string]any) {
			first(m, "vendors")["id"] = first(m, "customers")["id"]
		}), "vendors[0].id"},
		{"bad decimal", edit(func(m map[string]any) { first(m, "payments")["amount"] = "12,50" }), `payments[0].amount: "12,50" is not a decimal string`},
		{"bad date", edit(func(m map[string]any) { first(m, "periods")["start_date"] = "2026-02-30" }), "periods[0].start_date"},
		{"bad status", edit(func(m map[string]any) { first(m, "bills")["status"] = "lost" }), "bills[0].status"},
		{"no admin", edit(func(m map[string]any) { m["seed"].(map[string]any)["admin_email"] = "nobody@example.com" }), "seed.admin_email"},
		{"unknown company", edit(func(m map[string]any) {
			first(m, "accounts")["company_id"] = "00000000-0000-4000-8000-000000000000"
		}), "accounts[0].company_id"},
		{"many problems", edit(func(m map[string]any) {
			for _, inv := range m["invoices"].([]any) {
				inv.(map[string]any)["subtotal"] = "x"
			}
		}), "and 33 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			seed := srv.Seed()
			err := srv.LoadState(bytes.NewReader(tc.state))
			require.ErrorIs(t, err, atlastest.ErrInvalidState)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "atlastest: LoadState: atlastest: invalid state: "), err.Error())
			assert.NotContains(t, err.Error(), seed.Password, "no secret in an error")
			assert.Equal(t, seed, srv.Seed(), "a state it cannot load changes nothing")
			admin(t, srv)

			opt := atlastest.WithState(writeFile(t, tc.state))
			require.ErrorIs(t, atlastest.Validate(opt), atlastest.ErrInvalidOption)
			assert.Contains(t, atlastest.Validate(opt).Error(), "atlastest: WithState: ")
			assert.Panics(t, func() { atlastest.NewServer(opt).Close() })
		})
	}
}

func TestLoadStateKeepsTheCauseOfAnUnreadableState(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		state io.Reader
		cause func(t *testing.T, err error)
	}{
		{"reader fails", iotest.ErrReader(errDisk), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, errDisk)
		}},
		{"not JSON", strings.NewReader("nonsense"), func(t *testing.T, err error) {
			var syntax *json.SyntaxError
			assert.ErrorAs(t, err, &syntax)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			seed := srv.Seed()
			err := srv.LoadState(tc.state)
			require.ErrorIs(t, err, atlastest.ErrInvalidState)
			assert.Contains(t, err.Error(), "not a state: ")
			tc.cause(t, err)
			assert.Equal(t, seed, srv.Seed(), "a state it cannot read changes nothing")
		})
	}
}

func TestWithStateRefusals(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.json")
	err := atlastest.Validate(atlastest.WithState(missing))
	require.ErrorIs(t, err, atlastest.ErrInvalidOption)
	assert.Contains(t, err.Error(), "atlastest: WithState: open "+missing)

	path := writeFile(t, saveState(t, newServer(t)))
	require.NoError(t, atlastest.Validate(atlastest.WithState(path)))
	assert.EqualError(t, atlastest.Validate(atlastest.WithState(path), atlastest.WithInvoices(10)),
		"atlastest: WithState: the state replaces the seed that WithSecondCompany and WithInvoices change")
	assert.Error(t, atlastest.Validate(atlastest.WithSecondCompany(), atlastest.WithState(path)))
}

func TestSaveStateOfAFreshServerIsSmallAndComplete(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	var st struct {
		Version   int              `json:"atlastest_state"`
		SavedAt   time.Time        `json:"saved_at"`
		Users     []map[string]any `json:"users"`
		Customers []map[string]any `json:"customers"`
		Accounts  []map[string]any `json:"accounts"`
		Invoices  []map[string]any `json:"invoices"`
		Periods   []map[string]any `json:"periods"`
	}
	require.NoError(t, json.Unmarshal(saveState(t, srv), &st))
	assert.Equal(t, 1, st.Version)
	assert.Equal(t, tenAM, st.SavedAt)
	assert.Len(t, st.Users, 2)
	assert.Len(t, st.Customers, 3)
	assert.Len(t, st.Accounts, 14)
	assert.Len(t, st.Periods, 12)
	assert.Empty(t, st.Invoices)
	assert.NotNil(t, st.Invoices, "an empty list, not null")
	assert.Equal(t, srv.CompanyID(), st.Customers[0]["company_id"])
}

// BenchmarkSaveLoadState saves the state of a server with 10,000 invoices and loads it
// into another: what a suite pays per fixture of that size.
func BenchmarkSaveLoadState(b *testing.B) {
	src := atlastest.NewServer(atlastest.WithInvoices(10_000))
	defer src.Close()
	dst := atlastest.NewServer()
	defer dst.Close()
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		if err := src.SaveState(&buf); err != nil {
			b.Fatal(err)
		}
		if err := dst.LoadState(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Cap())/1e6, "MB-cap")
}

// BenchmarkReset makes one change to a server with 10,000 invoices and resets it: the
// copy of the records Reset restores from is taken at the first change.
func BenchmarkReset(b *testing.B) {
	srv := atlastest.NewServer(atlastest.WithInvoices(10_000))
	defer srv.Close()
	c := admin(b, srv)
	path := inCompany(srv, "/contacts/customers")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if resp := c.do(http.MethodPost, path, map[string]any{"display_name": "Bench"}); resp.status != http.StatusCreated {
			b.Fatalf("status %d", resp.status)
		}
		srv.Reset()
	}
}

package atlastest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

var invoiceKeys = []string{
	"amount_due", "amount_paid", "created_at", "currency", "customer_id", "due_date", "id", "invoice_date",
	"invoice_number", "lines", "notes", "sent_at", "status", "subtotal", "tax_amount", "total_amount", "updated_at",
}

func TestSeededInvoicesKeepToTheContract(t *testing.T) {
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC))),
		atlastest.WithInvoices(64))
	c := admin(t, srv)
	p := c.list("/invoices?company_id=" + srv.CompanyID() + "&page_size=100&sort_by=invoice_number&sort_order=asc")
	require.Equal(t, 64, p.Total)
	assert.Equal(t, "INV-2026-0001", p.Items[0]["invoice_number"])
	assert.Equal(t, "INV-2026-0064", p.Items[63]["invoice_number"])

	statuses := map[string]int{}
	for _, inv := range p.Items {
		assert.Equal(t, invoiceKeys, keys(inv))
		statuses[inv["status"].(string)]++
		assert.Contains(t, srv.CustomerIDs(), inv["customer_id"])
		assert.Equal(t, "USD", inv["currency"])
		assert.Equal(t, "0.00", inv["amount_paid"])
		assert.Equal(t, inv["total_amount"], inv["amount_due"])
		invoiceDate, err := time.Parse(time.DateOnly, inv["invoice_date"].(string))
		require.NoError(t, err)
		assert.Equal(t, invoiceDate.AddDate(0, 0, 30).Format(time.DateOnly), inv["due_date"])
		assert.Equal(t, 2026, invoiceDate.Year())
		assert.False(t, invoiceDate.After(srv.Now()))
		if inv["status"] == "sent" || inv["status"] == "overdue" {
			assert.NotNil(t, inv["sent_at"])
		} else {
			assert.Nil(t, inv["sent_at"])
		}

		lines := inv["lines"].([]any)
		require.Len(t, lines, 1)
		line := lines[0].(map[string]any)
		assert.Equal(t, []string{"amount", "description", "id", "line_number", "quantity", "revenue_account_id", "tax_amount", "tax_rate", "unit_price"}, keys(line))
		assert.EqualValues(t, 1, line["line_number"])
		assert.Equal(t, srv.AccountID("4000"), line["revenue_account_id"])
		qty, price := decimal.RequireFromString(line["quantity"].(string)), decimal.RequireFromString(line["unit_price"].(string))
		amount := qty.Mul(price).Round(2)
		assert.Equal(t, amount.StringFixed(2), line["amount"])
		tax := amount.Mul(decimal.RequireFromString(line["tax_rate"].(string))).Div(decimal.NewFromInt(100)).Round(2)
		assert.Equal(t, tax.StringFixed(2), line["tax_amount"])
		assert.Equal(t, amount.StringFixed(2), inv["subtotal"])
		assert.Equal(t, tax.StringFixed(2), inv["tax_amount"])
		assert.Equal(t, amount.Add(tax).StringFixed(2), inv["total_amount"])
	}
	assert.Equal(t, 16, statuses["draft"])
	assert.Equal(t, 16, statuses["void"])
	assert.Equal(t, 32, statuses["sent"]+statuses["overdue"])
	assert.Positive(t, statuses["overdue"], "invoices due before today are overdue")

	// Sent invoices are posted: receivables equal what the customers owe.
	receivable := c.get("/chart-of-accounts/" + srv.AccountID("1200")).object(t)["current_balance"]
	owed := decimal.Zero
	for _, cust := range c.list("/contacts/customers?company_id=" + srv.CompanyID()).Items {
		owed = owed.Add(decimal.RequireFromString(cust["current_balance"].(string)))
	}
	assert.Equal(t, owed.StringFixed(2), receivable)
	assert.True(t, owed.IsPositive())
}

func TestInvoiceFilters(t *testing.T) {
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC))),
		atlastest.WithInvoices(400))
	c := admin(t, srv)
	base := "/invoices?company_id=" + srv.CompanyID()
	all := collectPages(t, c, base, 100)
	require.Len(t, all, 400)

	count := func(keep func(map[string]any) bool) int {
		n := 0
		for _, inv := range all {
			if keep(inv) {
				n++
			}
		}
		return n
	}
	customer := srv.CustomerIDs()[1]
	tests := []struct {
		name  string
		query []string
		keep  func(map[string]any) bool
	}{
		{"draft", []string{"status", "draft"}, func(m map[string]any) bool { return m["status"] == "draft" }},
		{"overdue", []string{"status", "overdue"}, func(m map[string]any) bool { return m["status"] == "overdue" }},
		{"sent", []string{"status", "sent"}, func(m map[string]any) bool { return m["status"] == "sent" }},
		{"paid", []string{"status", "paid"}, func(m map[string]any) bool { return false }},
		{"customer", []string{"customer_id", customer}, func(m map[string]any) bool { return m["customer_id"] == customer }},
		{"from", []string{"date_from", "2026-03-01"}, func(m map[string]any) bool { return m["invoice_date"].(string) >= "2026-03-01" }},
		{"to", []string{"date_to", "2026-03-01"}, func(m map[string]any) bool { return m["invoice_date"].(string) <= "2026-03-01" }},
		{"range and status", []string{"date_from", "2026-02-01", "date_to", "2026-02-28", "status", "void"}, func(m map[string]any) bool {
			d := m["invoice_date"].(string)
			return d >= "2026-02-01" && d <= "2026-02-28" && m["status"] == "void"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := count(tt.keep)
			got := collectPages(t, c, withQuery(base, tt.query...), 30)
			assert.Len(t, got, want)
			for _, inv := range got {
				assert.True(t, tt.keep(inv), "%v", inv["id"])
			}
		})
	}
}

func TestGetInvoice(t *testing.T) {
	srv := newServer(t, atlastest.WithInvoices(3), atlastest.WithSecondCompany())
	c := admin(t, srv)
	listed := c.list("/invoices?company_id=" + srv.CompanyID()).Items[0]
	got := c.get("/invoices/" + listed["id"].(string)).object(t)
	assert.Equal(t, listed, got)
	c.get("/invoices/"+listed["id"].(string)+"?company_id="+srv.SecondCompanyID()).requireError(t, http.StatusNotFound)
	c.get("/invoices/"+srv.CustomerIDs()[0]).requireError(t, http.StatusNotFound)
}

// TestHundredThousandInvoices seeds the scale the issue asks for and pages through a
// slice of it in order.
func TestHundredThousandInvoices(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 invoices")
	}
	srv := newServer(t, atlastest.WithInvoices(100_000))
	c := admin(t, srv)
	base := "/invoices?company_id=" + srv.CompanyID() + "&page_size=100"

	first := c.list(base)
	assert.Equal(t, 100_000, first.Total)
	assert.True(t, first.HasNext)
	assert.Equal(t, "INV-"+strconv.Itoa(srv.Now().Year())+"-100000", first.Items[0]["invoice_number"], "newest first")

	var prev []map[string]any
	for n := 500; n < 505; n++ {
		p := c.list(base + "&page=" + strconv.Itoa(n))
		require.Len(t, p.Items, 100)
		items := append(prev, p.Items...)
		assertSorted(t, items, sortCheck{"created_at", compareStrings}, true)
		prev = p.Items
	}
	last := c.list(base + "&page=1000")
	assert.False(t, last.HasNext)
	assert.Equal(t, "INV-"+strconv.Itoa(srv.Now().Year())+"-0001", last.Items[99]["invoice_number"], "oldest last")

	byTotal := c.list(base + "&sort_by=total_amount&sort_order=asc&page=731")
	assertSorted(t, byTotal.Items, sortCheck{"total_amount", compareDecimals}, false)
	drafts := c.list(base + "&status=draft&page=250")
	assert.Equal(t, 25_000, drafts.Total)
	assert.False(t, drafts.HasNext)
}

func BenchmarkNewServerWithInvoices(b *testing.B) {
	for range b.N {
		atlastest.NewServer(atlastest.WithInvoices(100_000)).Close()
	}
}

func BenchmarkListInvoicesPage(b *testing.B) {
	srv := newServer(b, atlastest.WithInvoices(100_000))
	c := admin(b, srv)
	path := "/invoices?company_id=" + srv.CompanyID() + "&page_size=100&page=500"
	b.ResetTimer()
	for range b.N {
		if resp := c.get(path); resp.status != http.StatusOK {
			b.Fatalf("status %d", resp.status)
		}
	}
}

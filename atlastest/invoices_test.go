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
	t.Parallel()
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
	t.Parallel()
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
		{"paid", []string{"status", "paid"}, func(map[string]any) bool { return false }},
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
	t.Parallel()
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
	t.Parallel()
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

func TestCreateInvoiceComputesLinesAndTotals(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	revenue, service := srv.AccountID("4000"), srv.AccountID("4100")
	inv := c.create(inCompany(srv, "/invoices"), map[string]any{
		"customer_id":  srv.CustomerIDs()[0],
		"invoice_date": "2026-03-10",
		"notes":        "Thank you.",
		"lines": []map[string]any{
			line("Paper clips", "3", "0.335", revenue, "8.25"),      // 1.005 -> 1.01, tax 0.083325 -> 0.08
			line("Advice", "2.5", "99.99", service, "8.25"),         // 249.975 -> 249.98, tax 20.623... -> 20.62
			line("Setup", "", "0.125", revenue, ""),                 // quantity 1, 0.125 -> 0.13, no tax
			line("Discounted hours", "0.5", "0.01", service, "100"), // 0.005 -> 0.01, tax 0.01
		},
	})
	assert.Equal(t, invoiceKeys, keys(inv))
	assert.Equal(t, "INV-2026-0001", inv["invoice_number"])
	assert.Equal(t, "draft", inv["status"])
	assert.Equal(t, srv.CustomerIDs()[0], inv["customer_id"])
	assert.Equal(t, "2026-03-10", inv["invoice_date"])
	assert.Equal(t, "2026-04-09", inv["due_date"], "the customer's net_30 terms")
	assert.Equal(t, "USD", inv["currency"], "the customer's currency")
	assert.Equal(t, "Thank you.", inv["notes"])
	assert.Nil(t, inv["sent_at"])
	assert.Equal(t, "2026-03-16T09:30:00.000000Z", inv["created_at"])
	assert.Equal(t, inv["created_at"], inv["updated_at"])

	type row struct {
		number                                 float64
		qty, price, amount, account, rate, tax string
	}
	var got []row
	for _, l := range inv["lines"].([]any) {
		m := l.(map[string]any)
		assert.NotEmpty(t, m["id"])
		got = append(got, row{m["line_number"].(float64), m["quantity"].(string), m["unit_price"].(string), m["amount"].(string),
			m["revenue_account_id"].(string), m["tax_rate"].(string), m["tax_amount"].(string)})
	}
	assert.Equal(t, []row{
		{1, "3", "0.335", "1.01", revenue, "8.25", "0.08"},
		{2, "2.5", "99.99", "249.98", service, "8.25", "20.62"},
		{3, "1", "0.125", "0.13", revenue, "0", "0.00"},
		{4, "0.5", "0.01", "0.01", service, "100", "0.01"},
	}, got)
	assert.Equal(t, "251.13", inv["subtotal"], "sum of the rounded line amounts")
	assert.Equal(t, "20.71", inv["tax_amount"], "sum of the rounded line taxes")
	assert.Equal(t, "271.84", inv["total_amount"])
	assert.Equal(t, "0.00", inv["amount_paid"])
	assert.Equal(t, "271.84", inv["amount_due"])

	assert.Equal(t, inv, c.get("/invoices/"+inv["id"].(string)).object(t))
	listed := c.list(inCompany(srv, "/invoices"))
	assert.Equal(t, 1, listed.Total)
	assert.Equal(t, "0.00", c.balance("1200"), "a draft is not posted")

	second := c.create(inCompany(srv, "/invoices"), map[string]any{
		"customer_id": srv.CustomerIDs()[1], "invoice_date": "2026-03-11", "due_date": "2026-03-11", "currency": "EUR",
		"lines": []map[string]any{line("Consulting", "1", "100", revenue, "0")},
	})
	assert.Equal(t, "INV-2026-0002", second["invoice_number"])
	assert.Equal(t, "2026-03-11", second["due_date"])
	assert.Equal(t, "EUR", second["currency"])
	assert.Nil(t, second["notes"])
	assert.Equal(t, "100.00", second["lines"].([]any)[0].(map[string]any)["unit_price"])
}

func TestCreateInvoiceValidation(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	revenue := srv.AccountID("4000")
	otherCustomer := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)
	valid := func(change func(m map[string]any)) map[string]any {
		m := invoiceBody(srv, "2026-03-10")
		change(m)
		return m
	}
	withLine := func(l map[string]any) map[string]any {
		return valid(func(m map[string]any) { m["lines"] = []map[string]any{l} })
	}
	tests := []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty object", map[string]any{}, []string{"customer_id", "invoice_date", "lines"}},
		{"no lines", valid(func(m map[string]any) { m["lines"] = []any{} }), []string{"lines"}},
		{"lines not an array", valid(func(m map[string]any) { m["lines"] = "x" }), []string{"lines"}},
		{"line not an object", valid(func(m map[string]any) { m["lines"] = []any{1} }), []string{"lines.0"}},
		{"unknown customer", valid(func(m map[string]any) { m["customer_id"] = srv.VendorIDs()[0] }), []string{"customer_id"}},
		{"other company's customer", valid(func(m map[string]any) { m["customer_id"] = otherCustomer }), []string{"customer_id"}},
		{"malformed customer", valid(func(m map[string]any) { m["customer_id"] = "globex" }), []string{"customer_id"}},
		{"bad date", valid(func(m map[string]any) { m["invoice_date"] = "2026-02-30" }), []string{"invoice_date"}},
		{"due before date", valid(func(m map[string]any) { m["due_date"] = "2026-03-09" }), []string{"due_date"}},
		{"lower-case currency", valid(func(m map[string]any) { m["currency"] = "usd" }), []string{"currency"}},
		{"notes null", valid(func(m map[string]any) { m["notes"] = nil }), []string{"notes"}},
		{"line without fields", withLine(map[string]any{}), []string{"lines.0.description", "lines.0.unit_price", "lines.0.revenue_account_id"}},
		{"empty description", withLine(line("", "1", "1.00", revenue, "")), []string{"lines.0.description"}},
		{"zero quantity", withLine(line("x", "0", "1.00", revenue, "")), []string{"lines.0.quantity"}},
		{"negative price", withLine(line("x", "1", "-1.00", revenue, "")), []string{"lines.0.unit_price"}},
		{"price as a number", withLine(map[string]any{"description": "x", "unit_price": 1.5, "revenue_account_id": revenue}), []string{"lines.0.unit_price"}},
		{"negative tax rate", withLine(line("x", "1", "1.00", revenue, "-5")), []string{"lines.0.tax_rate"}},
		{"expense account", withLine(line("x", "1", "1.00", srv.AccountID("6100"), "")), []string{"lines.0.revenue_account_id"}},
		{"unknown account", withLine(line("x", "1", "1.00", srv.CustomerIDs()[0], "")), []string{"lines.0.revenue_account_id"}},
		{"second line wrong", valid(func(m map[string]any) {
			m["lines"] = []map[string]any{line("x", "1", "1.00", revenue, ""), line("y", "1e3", "1.00", revenue, "")}
		}), []string{"lines.1.quantity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireFields(t, c.do(http.MethodPost, inCompany(srv, "/invoices"), tt.body), tt.fields...)
		})
	}
	requireFields(t, c.do(http.MethodPost, "/invoices", invoiceBody(srv, "2026-03-10")), "company_id")
	assert.Equal(t, 0, c.list(inCompany(srv, "/invoices")).Total, "nothing was created")
}

func TestInvoiceLifecycle(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	customer := srv.CustomerIDs()[0]
	inv := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-02",
		line("Consulting", "10", "150.00", srv.AccountID("4000"), "8.25"),
		line("Training", "2", "200.00", srv.AccountID("4100"), "")))
	id := inv["id"].(string)
	assert.Equal(t, "2023.75", inv["total_amount"])

	// A draft can be edited: only the fields sent change; lines replace all lines.
	srv.Advance(time.Minute)
	upd := c.do(http.MethodPatch, "/invoices/"+id, map[string]any{"notes": "Net 45 as agreed.", "due_date": "2026-04-16"})
	require.Equal(t, http.StatusOK, upd.status, "body: %s", upd.body)
	edited := upd.object(t)
	assert.Equal(t, "Net 45 as agreed.", edited["notes"])
	assert.Equal(t, "2026-04-16", edited["due_date"])
	assert.Equal(t, inv["lines"], edited["lines"])
	assert.Equal(t, "2026-03-16T09:31:00.000000Z", edited["updated_at"])
	assert.Equal(t, inv["created_at"], edited["created_at"])

	edited = c.do(http.MethodPatch, "/invoices/"+id, map[string]any{
		"lines": []map[string]any{line("Consulting", "8", "150.00", srv.AccountID("4000"), "10")},
	}).object(t)
	require.Len(t, edited["lines"], 1)
	assert.Equal(t, "1200.00", edited["subtotal"])
	assert.Equal(t, "120.00", edited["tax_amount"])
	assert.Equal(t, "1320.00", edited["total_amount"])
	assert.Equal(t, "1320.00", edited["amount_due"])
	assert.Equal(t, "Net 45 as agreed.", edited["notes"])
	requireFields(t, c.do(http.MethodPatch, "/invoices/"+id, map[string]any{"lines": []any{}}), "lines")
	requireFields(t, c.do(http.MethodPatch, "/invoices/"+id, map[string]any{"invoice_date": "2026-04-20"}), "due_date")

	// Sending posts it: receivable against revenue and sales tax.
	srv.Advance(time.Minute)
	sent := c.action("/invoices/"+id+"/send", nil)
	assert.Equal(t, "sent", sent["status"])
	assert.Equal(t, "2026-03-16T09:32:00.000000Z", sent["sent_at"])
	assert.Equal(t, sent["sent_at"], sent["updated_at"])
	assert.Equal(t, map[string]string{"1200": "1320.00", "4000": "1200.00", "2200": "120.00", "4100": "0.00"},
		c.balances("1200", "4000", "2200", "4100"))
	assert.Equal(t, "1320.00", c.customerBalance(customer))

	// Only drafts can be edited or sent.
	e := c.do(http.MethodPatch, "/invoices/"+id, map[string]any{"notes": "late"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "Only draft invoices can be updated.", e.Detail)
	c.do(http.MethodPost, "/invoices/"+id+"/send", nil).requireError(t, http.StatusConflict)

	// Voiding needs a reason and reverses the posting.
	requireFields(t, c.do(http.MethodPost, "/invoices/"+id+"/void", map[string]any{}), "reason")
	requireFields(t, c.do(http.MethodPost, "/invoices/"+id+"/void", map[string]any{"reason": ""}), "reason")
	void := c.action("/invoices/"+id+"/void", map[string]any{"reason": "Issued to the wrong customer."})
	assert.Equal(t, "void", void["status"])
	assert.Equal(t, sent["sent_at"], void["sent_at"])
	assert.Equal(t, "1320.00", void["amount_due"])
	assert.Equal(t, map[string]string{"1200": "0.00", "4000": "0.00", "2200": "0.00"}, c.balances("1200", "4000", "2200"))
	assert.Equal(t, "0.00", c.customerBalance(customer))
	e = c.do(http.MethodPost, "/invoices/"+id+"/void", map[string]any{"reason": "again"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "The invoice is already void.", e.Detail)
	c.do(http.MethodPost, "/invoices/"+id+"/send", nil).requireError(t, http.StatusConflict)

	// A draft can be voided too, and then is no longer a draft.
	draft := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-03"))
	c.action("/invoices/"+draft["id"].(string)+"/void", map[string]any{"reason": "Not needed."})
	c.do(http.MethodPatch, "/invoices/"+draft["id"].(string), map[string]any{"notes": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "0.00", c.balance("1200"))

	statuses := map[string]int{}
	for _, it := range c.list(inCompany(srv, "/invoices")).Items {
		statuses[it["status"].(string)]++
	}
	assert.Equal(t, map[string]int{"void": 2}, statuses)
}

func TestSentInvoicePastItsDueDateIsOverdue(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	body := invoiceBody(srv, "2026-01-05")
	body["due_date"] = "2026-02-04"
	inv := c.sentInvoice(body)
	assert.Equal(t, "overdue", inv["status"])
	assert.Equal(t, 1, c.list(inCompany(srv, "/invoices?status=overdue")).Total)
	assert.Equal(t, 0, c.list(inCompany(srv, "/invoices?status=sent")).Total)
	c.do(http.MethodPatch, "/invoices/"+inv["id"].(string), map[string]any{"notes": "x"}).requireError(t, http.StatusConflict)
}

func TestNothingIsDatedInAClosedPeriod(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	draft := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-02-10"))
	sent := c.sentInvoice(invoiceBody(srv, "2026-02-11"))
	march := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-01"))
	febDraft := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-02-12"))
	c.closePeriod("2026-02-01")

	e := c.do(http.MethodPost, inCompany(srv, "/invoices"), invoiceBody(srv, "2026-02-28")).requireError(t, http.StatusConflict)
	assert.Equal(t, "2026-02-28 falls in February 2026, a closed period.", e.Detail)
	c.do(http.MethodPost, "/invoices/"+draft["id"].(string)+"/send", nil).requireError(t, http.StatusConflict)
	c.do(http.MethodPost, "/invoices/"+sent["id"].(string)+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	c.do(http.MethodPatch, "/invoices/"+march["id"].(string), map[string]any{"invoice_date": "2026-02-27", "due_date": "2026-03-27"}).
		requireError(t, http.StatusConflict)
	requireFields(t, c.do(http.MethodPatch, "/invoices/"+draft["id"].(string), map[string]any{"invoice_date": "2026-03-20"}), "due_date")
	assert.Equal(t, "1500.00", c.balance("1200"), "nothing moved")

	// Moving the draft out of the closed period (with a due date to match) lets it be sent.
	moved := c.do(http.MethodPatch, "/invoices/"+draft["id"].(string), map[string]any{"invoice_date": "2026-03-20", "due_date": "2026-04-19"})
	require.Equal(t, http.StatusOK, moved.status, "body: %s", moved.body)
	c.action("/invoices/"+draft["id"].(string)+"/send", nil)
	// A draft dated in the closed period can still be voided: that posts nothing.
	c.action("/invoices/"+febDraft["id"].(string)+"/void", map[string]any{"reason": "x"})
	assert.Equal(t, "3000.00", c.balance("1200"))
}

func TestInvoiceWritesNeedAWriterOfTheCompany(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c, v := admin(t, srv), viewer(t, srv)
	mine := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-10"))["id"].(string)
	otherCustomer := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)
	theirs := c.create("/invoices?company_id="+srv.SecondCompanyID(), map[string]any{
		"customer_id": otherCustomer, "invoice_date": "2026-03-10",
		"lines": []map[string]any{line("x", "1", "1.00", accountIn(t, c, srv.SecondCompanyID(), "4000"), "")},
	})["id"].(string)
	patch := map[string]any{"notes": "x"}
	reason := map[string]any{"reason": "x"}

	for _, tt := range []struct {
		name, method, path string
		body               any
	}{
		{"create", http.MethodPost, inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-10")},
		{"update", http.MethodPatch, "/invoices/" + mine, patch},
		{"send", http.MethodPost, "/invoices/" + mine + "/send", nil},
		{"void", http.MethodPost, "/invoices/" + mine + "/void", reason},
	} {
		t.Run("viewer "+tt.name, func(t *testing.T) {
			e := v.do(tt.method, tt.path, tt.body).requireError(t, http.StatusForbidden)
			assert.Equal(t, "Your role does not allow this action.", e.Detail)
		})
	}
	for _, tt := range []struct {
		name, method, suffix string
		body                 any
	}{
		{"get", http.MethodGet, "", nil},
		{"update", http.MethodPatch, "", patch},
		{"send", http.MethodPost, "/send", nil},
		{"void", http.MethodPost, "/void", reason},
	} {
		t.Run("other company "+tt.name, func(t *testing.T) {
			c.do(tt.method, "/invoices/"+theirs+tt.suffix+"?company_id="+srv.CompanyID(), tt.body).requireError(t, http.StatusNotFound)
			v.do(tt.method, "/invoices/"+theirs+tt.suffix, tt.body).requireError(t, http.StatusNotFound)
			c.do(tt.method, "/invoices/"+mine+tt.suffix+"?company_id="+srv.HiddenCompanyID(), tt.body).requireError(t, http.StatusForbidden)
			c.do(tt.method, "/invoices/"+srv.CustomerIDs()[0]+tt.suffix, tt.body).requireError(t, http.StatusNotFound)
			anon(t, srv).do(tt.method, "/invoices/"+mine+tt.suffix, tt.body).requireError(t, http.StatusUnauthorized)
		})
	}
	c.do(http.MethodPost, "/invoices?company_id="+srv.HiddenCompanyID(), invoiceBody(srv, "2026-03-10")).requireError(t, http.StatusForbidden)
	assert.Equal(t, "draft", c.get("/invoices/" + mine).object(t)["status"], "nothing happened to it")
	assert.Equal(t, 1, c.list("/invoices?company_id="+srv.SecondCompanyID()).Total)
}

// accountIn is the id of the account with the given number in a company.
func accountIn(t *testing.T, c *client, companyID, number string) string {
	t.Helper()
	for _, a := range c.list("/chart-of-accounts?page_size=100&company_id=" + companyID).Items {
		if a["account_number"] == number {
			return a["id"].(string)
		}
	}
	t.Fatalf("no account %s", number)
	return ""
}

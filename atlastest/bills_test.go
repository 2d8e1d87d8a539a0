package atlastest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

var billKeys = []string{
	"amount_due", "amount_paid", "approved_at", "bill_date", "bill_number", "created_at", "currency", "due_date", "id",
	"lines", "notes", "status", "subtotal", "tax_amount", "total_amount", "updated_at", "vendor_bill_number", "vendor_id",
}

// billLine is a bill line for a request body.
func billLine(description, quantity, unitPrice, accountID, taxRate string) map[string]any {
	l := line(description, quantity, unitPrice, "", taxRate)
	if accountID != "" {
		l["expense_account_id"] = accountID
	}
	return l
}

// billBody is a BillCreate from the main company's first vendor (net 30), dated date, with
// lines (one office supplies line of 420.00 when none are given).
func billBody(srv *atlastest.Server, date string, lines ...map[string]any) map[string]any {
	if len(lines) == 0 {
		lines = []map[string]any{billLine("Printer paper and toner", "3", "140.00", srv.AccountID("6100"), "")}
	}
	return map[string]any{"vendor_id": srv.VendorIDs()[0], "bill_date": date, "lines": lines}
}

func (c *client) vendorBalance(id string) string {
	c.t.Helper()
	return c.get("/contacts/vendors/" + id).object(c.t)["current_balance"].(string)
}

func TestBillLifecycle(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	vendor := srv.VendorIDs()[0]
	body := billBody(srv, "2026-03-10",
		billLine("Printer paper", "3", "140.00", srv.AccountID("6100"), "8.25"), // 420.00, tax 34.65
		billLine("Power", "", "99.995", srv.AccountID("6200"), ""))              // 100.00 (99.995 rounds up)
	body["vendor_bill_number"] = "OS-44817"
	b := c.create(inCompany(srv, "/bills"), body)
	id := b["id"].(string)
	assert.Equal(t, billKeys, keys(b))
	assert.Equal(t, "BILL-2026-0001", b["bill_number"])
	assert.Equal(t, "OS-44817", b["vendor_bill_number"])
	assert.Equal(t, vendor, b["vendor_id"])
	assert.Equal(t, "2026-04-09", b["due_date"], "the vendor's net_30 terms")
	assert.Equal(t, "USD", b["currency"])
	assert.Equal(t, "draft", b["status"])
	assert.Nil(t, b["approved_at"])
	assert.Nil(t, b["notes"])
	assert.Equal(t, "520.00", b["subtotal"])
	assert.Equal(t, "34.65", b["tax_amount"])
	assert.Equal(t, "554.65", b["total_amount"])
	assert.Equal(t, "0.00", b["amount_paid"])
	assert.Equal(t, "554.65", b["amount_due"])
	lines := b["lines"].([]any)
	require.Len(t, lines, 2)
	second := lines[1].(map[string]any)
	assert.Equal(t, []string{"amount", "description", "expense_account_id", "id", "line_number", "quantity", "tax_amount", "tax_rate", "unit_price"},
		keys(second))
	assert.Equal(t, map[string]any{"amount": "100.00", "description": "Power", "expense_account_id": srv.AccountID("6200"), "id": second["id"],
		"line_number": 2.0, "quantity": "1", "tax_amount": "0.00", "tax_rate": "0", "unit_price": "99.995"}, second)
	assert.Equal(t, b, c.get("/bills/"+id).object(t))
	assert.Equal(t, "0.00", c.balance("2000"), "a draft is not posted")

	srv.Advance(time.Minute)
	approved := c.action("/bills/"+id+"/approve", nil)
	assert.Equal(t, "approved", approved["status"])
	assert.Equal(t, "2026-03-16T09:31:00.000000Z", approved["approved_at"])
	assert.Equal(t, approved["approved_at"], approved["updated_at"])
	assert.Equal(t, map[string]string{"2000": "554.65", "6100": "454.65", "6200": "100.00"}, c.balances("2000", "6100", "6200"))
	assert.Equal(t, "554.65", c.vendorBalance(vendor))
	pl := c.profitLoss("2026-03-01", "2026-03-31")
	assert.Equal(t, reportCategory{Name: "Operating Expenses", Total: "554.65", Sections: []reportSection{{
		Name: "General and Administrative", Subtotal: "554.65", Items: []reportItem{
			{AccountID: srv.AccountID("6100"), AccountNumber: "6100", AccountName: "Office Supplies", Amount: "454.65"},
			{AccountID: srv.AccountID("6200"), AccountNumber: "6200", AccountName: "Utilities", Amount: "100.00"},
		},
	}}}, pl.OperatingExpenses)
	assert.Equal(t, "-554.65", pl.NetIncome)
	bs := c.balanceSheet("2026-03-31")
	assert.Equal(t, map[string]string{"2000": "554.65"}, amounts(bs.Liabilities))
	assert.Equal(t, map[string]string{"3900": "-554.65"}, amounts(bs.Equity))
	assert.Equal(t, "0.00", bs.TotalAssets)
	e := c.do(http.MethodPost, "/bills/"+id+"/approve", nil).requireError(t, http.StatusConflict)
	assert.Equal(t, "Only draft bills can be approved.", e.Detail)

	requireFields(t, c.do(http.MethodPost, "/bills/"+id+"/void", map[string]any{"reason": strings.Repeat("x", 501)}), "reason")
	void := c.action("/bills/"+id+"/void", map[string]any{"reason": "Duplicate of BILL-2026-0003."})
	assert.Equal(t, "void", void["status"])
	assert.Equal(t, approved["approved_at"], void["approved_at"])
	assert.Equal(t, map[string]string{"2000": "0.00", "6100": "0.00", "6200": "0.00"}, c.balances("2000", "6100", "6200"))
	assert.Equal(t, "0.00", c.vendorBalance(vendor))
	assert.Equal(t, "0.00", c.profitLoss("2026-03-01", "2026-03-31").NetIncome, "the void leaves no trace")
	assert.Empty(t, c.balanceSheet("2026-03-31").Liabilities.Sections)
	e = c.do(http.MethodPost, "/bills/"+id+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "The bill is already void.", e.Detail)
	c.do(http.MethodPost, "/bills/"+id+"/approve", nil).requireError(t, http.StatusConflict)

	draft := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-11"))
	assert.Equal(t, "BILL-2026-0002", draft["bill_number"])
	assert.Equal(t, "void", c.action("/bills/"+draft["id"].(string)+"/void", map[string]any{"reason": "x"})["status"])
	assert.Equal(t, "0.00", c.balance("2000"))
}

func TestListBills(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	small := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-03", billLine("x", "1", "10.00", srv.AccountID("6100"), "")))
	srv.Advance(time.Second)
	big := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-01", billLine("x", "1", "900.00", srv.AccountID("6100"), "")))
	powerBody := billBody(srv, "2026-03-02", billLine("x", "1", "50.00", srv.AccountID("6200"), ""))
	powerBody["vendor_id"] = srv.VendorIDs()[1]
	srv.Advance(time.Second)
	power := c.create(inCompany(srv, "/bills"), powerBody)
	assert.Equal(t, "2026-03-02", power["due_date"], "due on receipt")
	c.action("/bills/"+big["id"].(string)+"/approve", nil)

	idsOf := func(query string) []string { return ids(c.list(inCompany(srv, "/bills"+query)).Items) }
	smallID, bigID, powerID := small["id"].(string), big["id"].(string), power["id"].(string)
	assert.Equal(t, []string{powerID, bigID, smallID}, idsOf(""), "newest first")
	assert.Equal(t, []string{bigID, powerID, smallID}, idsOf("?sort_by=bill_date&sort_order=asc"))
	assert.Equal(t, []string{bigID, powerID, smallID}, idsOf("?sort_by=total_amount"))
	assert.Equal(t, []string{smallID, bigID, powerID}, idsOf("?sort_by=bill_number&sort_order=asc"))
	assert.Equal(t, []string{powerID, bigID, smallID}, idsOf("?sort_by=due_date&sort_order=asc"), "due 2026-03-02, 2026-03-31, 2026-04-02")
	assert.Equal(t, []string{bigID}, idsOf("?status=approved"))
	assert.Equal(t, []string{powerID, smallID}, idsOf("?status=draft"))
	assert.Empty(t, idsOf("?status=paid"))
	assert.Equal(t, []string{powerID}, idsOf("?vendor_id="+srv.VendorIDs()[1]))
	assert.Equal(t, []string{bigID}, idsOf("?vendor_id="+srv.VendorIDs()[0]+"&status=approved"))
	requireFields(t, c.get(inCompany(srv, "/bills?status=overdue")), "status")
	requireFields(t, c.get(inCompany(srv, "/bills?vendor_id=nope&sort_by=vendor")), "vendor_id", "sort_by")
	requireFields(t, c.get("/bills"), "company_id")
}

func TestCreateBillValidation(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	valid := func(change func(m map[string]any)) map[string]any {
		m := billBody(srv, "2026-03-10")
		change(m)
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"vendor_id", "bill_date", "lines"}},
		{"customer as vendor", valid(func(m map[string]any) { m["vendor_id"] = srv.CustomerIDs()[0] }), []string{"vendor_id"}},
		{"long vendor bill number", valid(func(m map[string]any) { m["vendor_bill_number"] = strings.Repeat("9", 51) }), []string{"vendor_bill_number"}},
		{"due before date", valid(func(m map[string]any) { m["due_date"] = "2026-03-01" }), []string{"due_date"}},
		{"revenue account", valid(func(m map[string]any) {
			m["lines"] = []map[string]any{billLine("x", "1", "1.00", srv.AccountID("4000"), "")}
		}), []string{"lines.0.expense_account_id"}},
		{"revenue_account_id instead", valid(func(m map[string]any) {
			m["lines"] = []map[string]any{line("x", "1", "1.00", srv.AccountID("6100"), "")}
		}), []string{"lines.0.expense_account_id"}},
		{"no lines", valid(func(m map[string]any) { m["lines"] = []any{} }), []string{"lines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireFields(t, c.do(http.MethodPost, inCompany(srv, "/bills"), tt.body), tt.fields...)
		})
	}
	assert.Equal(t, 0, c.list(inCompany(srv, "/bills")).Total)
}

func TestBillsInClosedPeriodsAndOtherCompanies(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c, v := admin(t, srv), viewer(t, srv)
	approved := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-02-10"))["id"].(string)
	c.action("/bills/"+approved+"/approve", nil)
	draft := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-02-11"))["id"].(string)
	c.closePeriod("2026-02-01")

	c.do(http.MethodPost, inCompany(srv, "/bills"), billBody(srv, "2026-02-12")).requireError(t, http.StatusConflict)
	c.do(http.MethodPost, "/bills/"+draft+"/approve", nil).requireError(t, http.StatusConflict)
	c.do(http.MethodPost, "/bills/"+approved+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "420.00", c.balance("2000"))
	c.action("/bills/"+draft+"/void", map[string]any{"reason": "A draft posts nothing."})

	mine := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-10"))["id"].(string)
	for _, tt := range []struct {
		name, method, path string
		body               any
	}{
		{"create", http.MethodPost, inCompany(srv, "/bills"), billBody(srv, "2026-03-10")},
		{"approve", http.MethodPost, "/bills/" + mine + "/approve", nil},
		{"void", http.MethodPost, "/bills/" + mine + "/void", map[string]any{"reason": "x"}},
	} {
		v.do(tt.method, tt.path, tt.body).requireError(t, http.StatusForbidden)
	}
	assert.Equal(t, "draft", v.get("/bills/" + mine).object(t)["status"])

	otherVendor := c.list("/contacts/vendors?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)
	theirs := c.create("/bills?company_id="+srv.SecondCompanyID(), map[string]any{
		"vendor_id": otherVendor, "bill_date": "2026-03-10",
		"lines": []map[string]any{billLine("x", "1", "5.00", accountIn(t, c, srv.SecondCompanyID(), "6100"), "")},
	})["id"].(string)
	for _, suffix := range []string{"", "/approve", "/void"} {
		method, body := http.MethodPost, any(map[string]any{"reason": "x"})
		if suffix == "" {
			method, body = http.MethodGet, nil
		}
		c.do(method, "/bills/"+theirs+suffix+"?company_id="+srv.CompanyID(), body).requireError(t, http.StatusNotFound)
		v.do(method, "/bills/"+theirs+suffix, body).requireError(t, http.StatusNotFound)
		c.do(method, "/bills/"+mine+suffix+"?company_id="+srv.HiddenCompanyID(), body).requireError(t, http.StatusForbidden)
		anon(t, srv).do(method, "/bills/"+mine+suffix, body).requireError(t, http.StatusUnauthorized)
	}
	assert.Equal(t, 1, c.list("/bills?company_id="+srv.SecondCompanyID()).Total)
}

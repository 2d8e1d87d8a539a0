package atlastest_test

import (
	"net/http"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Report bodies, decoded as the contract names them.

type reportItem struct {
	AccountID     string `json:"account_id"`
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
	Amount        string `json:"amount,omitempty"`
	Balance       string `json:"balance,omitempty"`
}

type reportSection struct {
	Name     string       `json:"name"`
	Items    []reportItem `json:"items"`
	Subtotal string       `json:"subtotal"`
}

type reportCategory struct {
	Name     string          `json:"name"`
	Sections []reportSection `json:"sections"`
	Total    string          `json:"total"`
}

type profitLoss struct {
	CompanyID         string          `json:"company_id"`
	PeriodStart       string          `json:"period_start"`
	PeriodEnd         string          `json:"period_end"`
	Currency          string          `json:"currency"`
	GeneratedAt       string          `json:"generated_at"`
	Revenue           reportCategory  `json:"revenue"`
	CostOfGoodsSold   *reportCategory `json:"cost_of_goods_sold"`
	GrossProfit       *string         `json:"gross_profit"`
	OperatingExpenses reportCategory  `json:"operating_expenses"`
	NetIncome         string          `json:"net_income"`
}

type balanceSheet struct {
	CompanyID                 string         `json:"company_id"`
	AsOfDate                  string         `json:"as_of_date"`
	Currency                  string         `json:"currency"`
	GeneratedAt               string         `json:"generated_at"`
	Assets                    reportCategory `json:"assets"`
	Liabilities               reportCategory `json:"liabilities"`
	Equity                    reportCategory `json:"equity"`
	TotalAssets               string         `json:"total_assets"`
	TotalLiabilitiesAndEquity string         `json:"total_liabilities_and_equity"`
	IsBalanced                bool           `json:"is_balanced"`
}

func (c *client) profitLoss(start, end string) profitLoss {
	c.t.Helper()
	resp := c.get(inCompany(c.srv, "/reports/profit-loss?period_start="+start+"&period_end="+end))
	require.Equal(c.t, http.StatusOK, resp.status, "body: %s", resp.body)
	var pl profitLoss
	resp.decode(c.t, &pl)
	return pl
}

// balanceSheet gets the balance sheet and checks that it balances, to the cent, by its own
// numbers: every subtotal and total is the sum of what it holds.
func (c *client) balanceSheet(asOf string) balanceSheet {
	c.t.Helper()
	resp := c.get(inCompany(c.srv, "/reports/balance-sheet?as_of_date="+asOf))
	require.Equal(c.t, http.StatusOK, resp.status, "body: %s", resp.body)
	var bs balanceSheet
	resp.decode(c.t, &bs)
	assets := checkCategory(c.t, bs.Assets, func(i reportItem) string { return i.Balance })
	liabilities := checkCategory(c.t, bs.Liabilities, func(i reportItem) string { return i.Balance })
	equity := checkCategory(c.t, bs.Equity, func(i reportItem) string { return i.Balance })
	assert.Equal(c.t, assets.StringFixed(2), bs.TotalAssets)
	assert.Equal(c.t, liabilities.Add(equity).StringFixed(2), bs.TotalLiabilitiesAndEquity)
	assert.Equal(c.t, bs.TotalAssets, bs.TotalLiabilitiesAndEquity, "assets = liabilities + equity")
	assert.True(c.t, bs.IsBalanced)
	return bs
}

// checkCategory checks that a category's subtotals and total add up and returns its total.
func checkCategory(t testing.TB, cat reportCategory, value func(reportItem) string) decimal.Decimal {
	t.Helper()
	total := decimal.Zero
	for _, s := range cat.Sections {
		sub := decimal.Zero
		for _, it := range s.Items {
			sub = sub.Add(decimal.RequireFromString(value(it)))
		}
		assert.Equal(t, sub.StringFixed(2), s.Subtotal, "%s / %s", cat.Name, s.Name)
		total = total.Add(sub)
	}
	assert.Equal(t, total.StringFixed(2), cat.Total, cat.Name)
	return total
}

// amounts flattens a category to account number -> amount (or balance).
func amounts(cat reportCategory) map[string]string {
	out := map[string]string{}
	for _, s := range cat.Sections {
		for _, it := range s.Items {
			out[it.AccountNumber] = it.Amount + it.Balance
		}
	}
	return out
}

func TestReportsAfterAnInvoiceIsSentAndPaidInTwoParts(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	inv := c.sentInvoice(invoiceBody(srv, "2026-03-02",
		line("Consulting", "10", "150.00", srv.AccountID("4000"), "8.25"),
		line("Workshop", "3", "33.335", srv.AccountID("4100"), "")))
	id := inv["id"].(string)
	require.Equal(t, "1723.76", inv["total_amount"], "1500.00 + 100.01 + 123.75 tax")
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-05", "1000.00", id, "1000.00"))
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-09", "723.76", id, "723.76"))
	require.Equal(t, "paid", c.get("/invoices/" + id).object(t)["status"])

	pl := c.profitLoss("2026-03-01", "2026-03-31")
	assert.Equal(t, srv.CompanyID(), pl.CompanyID)
	assert.Equal(t, "2026-03-01", pl.PeriodStart)
	assert.Equal(t, "2026-03-31", pl.PeriodEnd)
	assert.Equal(t, "USD", pl.Currency)
	assert.Equal(t, "2026-03-16T09:30:00.000000Z", pl.GeneratedAt)
	assert.Equal(t, reportCategory{Name: "Revenue", Total: "1600.01", Sections: []reportSection{{
		Name: "Operating Revenue", Subtotal: "1600.01", Items: []reportItem{
			{AccountID: srv.AccountID("4000"), AccountNumber: "4000", AccountName: "Sales Revenue", Amount: "1500.00"},
			{AccountID: srv.AccountID("4100"), AccountNumber: "4100", AccountName: "Service Revenue", Amount: "100.01"},
		},
	}}}, pl.Revenue)
	require.NotNil(t, pl.CostOfGoodsSold)
	assert.Equal(t, reportCategory{Name: "Cost of Goods Sold", Sections: []reportSection{}, Total: "0.00"}, *pl.CostOfGoodsSold)
	require.NotNil(t, pl.GrossProfit)
	assert.Equal(t, "1600.01", *pl.GrossProfit)
	assert.Equal(t, reportCategory{Name: "Operating Expenses", Sections: []reportSection{}, Total: "0.00"}, pl.OperatingExpenses)
	assert.Equal(t, "1600.01", pl.NetIncome)

	empty := c.profitLoss("2026-02-01", "2026-02-28")
	assert.Equal(t, "0.00", empty.Revenue.Total)
	assert.Empty(t, empty.Revenue.Sections)
	assert.Equal(t, "0.00", empty.NetIncome)

	// The balance sheet on each day of the story.
	tests := []struct {
		asOf                        string
		assets, liabilities, equity map[string]string
	}{
		{"2026-03-01", map[string]string{}, map[string]string{}, map[string]string{}},
		{"2026-03-02", map[string]string{"1200": "1723.76"}, map[string]string{"2200": "123.75"}, map[string]string{"3900": "1600.01"}},
		{"2026-03-05", map[string]string{"1000": "1000.00", "1200": "723.76"}, map[string]string{"2200": "123.75"}, map[string]string{"3900": "1600.01"}},
		{"2026-03-31", map[string]string{"1000": "1723.76"}, map[string]string{"2200": "123.75"}, map[string]string{"3900": "1600.01"}},
	}
	for _, tt := range tests {
		t.Run(tt.asOf, func(t *testing.T) {
			sub := *c
			sub.t = t
			bs := sub.balanceSheet(tt.asOf)
			assert.Equal(t, tt.asOf, bs.AsOfDate)
			assert.Equal(t, tt.assets, amounts(bs.Assets))
			assert.Equal(t, tt.liabilities, amounts(bs.Liabilities))
			assert.Equal(t, tt.equity, amounts(bs.Equity))
		})
	}
	bs := c.balanceSheet("2026-03-31")
	assert.Equal(t, "1723.76", bs.TotalAssets)
	assert.Equal(t, []string{"Current Assets"}, sectionNames(bs.Assets))
	assert.Equal(t, []string{"Current Liabilities"}, sectionNames(bs.Liabilities))
	assert.Equal(t, []reportSection{{Name: "Owner's Equity", Subtotal: "1600.01", Items: []reportItem{
		{AccountID: srv.AccountID("3900"), AccountNumber: "3900", AccountName: "Current Year Earnings", Balance: "1600.01"},
	}}}, bs.Equity.Sections)
}

func sectionNames(cat reportCategory) []string {
	var out []string
	for _, s := range cat.Sections {
		out = append(out, s.Name)
	}
	return out
}

func TestEarlierYearsEarningsAreRetained(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	c.sentInvoice(invoiceBody(srv, "2025-12-15", line("Old work", "1", "700.00", srv.AccountID("4000"), "")))
	c.sentInvoice(invoiceBody(srv, "2026-01-15", line("New work", "1", "300.00", srv.AccountID("4000"), "")))

	endOf2025 := c.balanceSheet("2025-12-31")
	assert.Equal(t, map[string]string{"3900": "700.00"}, amounts(endOf2025.Equity), "2025's own earnings are that year's")
	now := c.balanceSheet("2026-03-31")
	assert.Equal(t, map[string]string{"3100": "700.00", "3900": "300.00"}, amounts(now.Equity))
	assert.Equal(t, map[string]string{"1200": "1000.00"}, amounts(now.Assets))
	assert.Equal(t, "300.00", c.profitLoss("2026-01-01", "2026-12-31").NetIncome)
	assert.Equal(t, "1000.00", c.profitLoss("2025-01-01", "2026-12-31").NetIncome)
}

func TestSeededInvoicesBalance(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithInvoices(400))
	c := admin(t, srv)
	today := srv.Now().Format("2006-01-02")
	bs := c.balanceSheet(today)
	pl := c.profitLoss(srv.Now().Format("2006")+"-01-01", today)
	assert.Equal(t, amounts(bs.Equity)["3900"], pl.NetIncome)
	assert.Equal(t, c.balance("1200"), amounts(bs.Assets)["1200"])
	assert.Equal(t, c.balance("4000"), amounts(pl.Revenue)["4000"])
}

func TestReportParameters(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	tests := []struct {
		name, path string
		fields     []string
	}{
		{"no company", "/reports/profit-loss?period_start=2026-01-01&period_end=2026-01-31", []string{"company_id"}},
		{"no dates", inCompany(srv, "/reports/profit-loss"), []string{"period_start", "period_end"}},
		{"bad start", inCompany(srv, "/reports/profit-loss?period_start=2026-1-1&period_end=2026-01-31"), []string{"period_start"}},
		{"end before start", inCompany(srv, "/reports/profit-loss?period_start=2026-02-01&period_end=2026-01-31"), []string{"period_end"}},
		{"no as_of_date", inCompany(srv, "/reports/balance-sheet"), []string{"as_of_date"}},
		{"bad as_of_date", inCompany(srv, "/reports/balance-sheet?as_of_date=yesterday"), []string{"as_of_date"}},
		{"balance sheet without company", "/reports/balance-sheet?as_of_date=2026-01-31", []string{"company_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireFields(t, c.get(tt.path), tt.fields...)
		})
	}
	c.get("/reports/profit-loss?period_start=2026-01-01&period_end=2026-01-31&company_id="+srv.HiddenCompanyID()).
		requireError(t, http.StatusForbidden)
	c.get("/reports/balance-sheet?as_of_date=2026-01-31&company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
	anon(t, srv).get(inCompany(srv, "/reports/balance-sheet?as_of_date=2026-01-31")).requireError(t, http.StatusUnauthorized)

	v := viewer(t, srv)
	assert.Equal(t, "0.00", v.profitLoss("2026-01-01", "2026-01-01").NetIncome, "one day is a period; a viewer can read reports")
	assert.Equal(t, "0.00", v.balanceSheet("2026-01-31").TotalAssets)
	second := c.get("/reports/balance-sheet?as_of_date=2026-01-31&company_id=" + srv.SecondCompanyID())
	assert.Equal(t, http.StatusOK, second.status)
}

// TestReportsAfterAQuarter runs a small quarter through every kind of document, voids
// included, and checks both statements to the cent.
func TestReportsAfterAQuarter(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	post := func(body map[string]any) string {
		id := c.create(inCompany(srv, "/journal-entries"), body)["id"].(string)
		c.action("/journal-entries/"+id+"/post", nil)
		return id
	}
	capital := rentAccrual(srv, "2026-01-02", "12500.00")
	capital["description"] = "Owner's capital"
	capital["lines"] = []map[string]any{jeLine(srv.AccountID("1000"), "debit", "12500.00"), jeLine(srv.AccountID("3000"), "credit", "12500.00")}
	post(capital)

	inv := c.sentInvoice(invoiceBody(srv, "2026-03-02",
		line("Consulting", "10", "150.00", srv.AccountID("4000"), "8.25"),
		line("Workshop", "3", "33.335", srv.AccountID("4100"), "")))["id"].(string)
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-05", "1000.00", inv, "1000.00"))
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-09", "723.76", inv, "723.76"))

	supplies := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-10",
		billLine("Paper", "3", "140.00", srv.AccountID("6100"), "8.25")))["id"].(string)
	c.action("/bills/"+supplies+"/approve", nil)
	wrongBill := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-11",
		billLine("Duplicate", "1", "999.00", srv.AccountID("6200"), "")))["id"].(string)
	c.action("/bills/"+wrongBill+"/approve", nil)
	c.action("/bills/"+wrongBill+"/void", map[string]any{"reason": "Duplicate."})

	post(rentAccrual(srv, "2026-03-31", "2500.00"))
	twice := post(rentAccrual(srv, "2026-03-31", "2500.00"))
	c.action("/journal-entries/"+twice+"/void", map[string]any{"reason": "Rent was accrued twice."})

	jan := c.profitLoss("2026-01-01", "2026-01-31")
	assert.Equal(t, "0.00", jan.NetIncome, "capital is not income")
	march := c.profitLoss("2026-03-01", "2026-03-31")
	assert.Equal(t, map[string]string{"4000": "1500.00", "4100": "100.01"}, amounts(march.Revenue))
	assert.Equal(t, map[string]string{"6000": "2500.00", "6100": "454.65"}, amounts(march.OperatingExpenses))
	assert.Equal(t, "2954.65", march.OperatingExpenses.Total)
	assert.Equal(t, "1600.01", *march.GrossProfit)
	assert.Equal(t, "-1354.64", march.NetIncome)
	assert.Equal(t, march.NetIncome, c.profitLoss("2026-01-01", "2026-03-31").NetIncome)

	bs := c.balanceSheet("2026-03-31")
	assert.Equal(t, map[string]string{"1000": "14223.76"}, amounts(bs.Assets))
	assert.Equal(t, map[string]string{"2000": "454.65", "2100": "2500.00", "2200": "123.75"}, amounts(bs.Liabilities))
	assert.Equal(t, "3078.40", bs.Liabilities.Total)
	assert.Equal(t, map[string]string{"3000": "12500.00", "3900": "-1354.64"}, amounts(bs.Equity))
	assert.Equal(t, "11145.36", bs.Equity.Total)
	assert.Equal(t, "14223.76", bs.TotalAssets)
	assert.Equal(t, "14223.76", bs.TotalLiabilitiesAndEquity)

	// The ledger's balances agree with the balance sheet.
	assert.Equal(t, map[string]string{"1000": "14223.76", "1200": "0.00", "2000": "454.65", "2100": "2500.00", "2200": "123.75", "3000": "12500.00"},
		c.balances("1000", "1200", "2000", "2100", "2200", "3000"))
	assert.Equal(t, "454.65", c.vendorBalance(srv.VendorIDs()[0]))
}

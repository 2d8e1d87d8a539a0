package atlastest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestChartOfAccounts(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	p := c.list("/chart-of-accounts?company_id=" + srv.CompanyID() + "&sort_by=account_number&sort_order=asc")
	require.Equal(t, 14, p.Total)

	type row struct{ number, name, typ, normal string }
	var got []row
	for _, a := range p.Items {
		assert.Equal(t, []string{"account_number", "account_subtype", "account_type", "created_at", "current_balance", "description",
			"id", "is_active", "name", "normal_balance", "parent_id", "updated_at"}, keys(a))
		assert.Equal(t, "0.00", a["current_balance"])
		assert.Equal(t, true, a["is_active"])
		assert.Nil(t, a["parent_id"])
		assert.Equal(t, srv.AccountID(a["account_number"].(string)), a["id"])
		got = append(got, row{a["account_number"].(string), a["name"].(string), a["account_type"].(string), a["normal_balance"].(string)})
	}
	assert.Equal(t, []row{
		{"1000", "Cash - Operating Account", "asset", "debit"},
		{"1200", "Accounts Receivable", "asset", "debit"},
		{"2000", "Accounts Payable", "liability", "credit"},
		{"2100", "Accrued Liabilities", "liability", "credit"},
		{"2200", "Sales Tax Payable", "liability", "credit"},
		{"3000", "Owner's Equity", "equity", "credit"},
		{"3100", "Retained Earnings", "equity", "credit"},
		{"3900", "Current Year Earnings", "equity", "credit"},
		{"4000", "Sales Revenue", "revenue", "credit"},
		{"4100", "Service Revenue", "revenue", "credit"},
		{"5000", "Cost of Goods Sold", "expense", "debit"},
		{"6000", "Rent Expense", "expense", "debit"},
		{"6100", "Office Supplies", "expense", "debit"},
		{"6200", "Utilities", "expense", "debit"},
	}, got)
	assert.Empty(t, srv.AccountID("9999"))
}

func TestChartOfAccountsFilterByType(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	for typ, n := range map[string]int{"asset": 2, "liability": 3, "equity": 3, "revenue": 2, "expense": 4} {
		p := c.list("/chart-of-accounts?company_id=" + srv.CompanyID() + "&account_type=" + typ)
		assert.Equal(t, n, p.Total, typ)
		for _, a := range p.Items {
			assert.Equal(t, typ, a["account_type"])
		}
	}
}

func TestGetAccount(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	a := c.get("/chart-of-accounts/" + srv.AccountID("4000")).object(t)
	assert.Equal(t, "Sales Revenue", a["name"])
	assert.Equal(t, "operating_revenue", a["account_subtype"])
	assert.Equal(t, "Revenue from services and goods sold.", a["description"])

	// The same number in the second company is another account.
	other := c.list("/chart-of-accounts?company_id=" + srv.SecondCompanyID() + "&sort_by=account_number&sort_order=asc").Items[0]
	assert.NotEqual(t, srv.AccountID("1000"), other["id"])
	c.get("/chart-of-accounts/"+other["id"].(string)+"?company_id="+srv.CompanyID()).requireError(t, http.StatusNotFound)
	viewer(t, srv).get("/chart-of-accounts/"+other["id"].(string)).requireError(t, http.StatusNotFound)
	assert.Equal(t, http.StatusOK, viewer(t, srv).get("/chart-of-accounts/"+srv.AccountID("1000")).status)
	c.get("/chart-of-accounts/"+srv.AccountID("1000")+"?company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
	e := c.get("/chart-of-accounts/"+srv.AccountID("1000")+"?company_id=x").requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"company_id"}, e.fields())
}

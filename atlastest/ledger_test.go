package atlastest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Helpers for the tests of the domain rules (invoices, bills, journal entries, payments,
// reports): a server on a pinned clock, creating documents, reading balances and closing
// periods over the API.

// domainDay is when the domain tests' server clock starts: mid-March 2026, so January
// and February can be closed while March stays open.
var domainDay = time.Date(2026, 3, 16, 9, 30, 0, 0, time.UTC)

// domainServer is a server whose clock stands at domainDay until the test advances it.
func domainServer(t *testing.T, opts ...atlastest.Option) *atlastest.Server {
	t.Helper()
	return newServer(t, append([]atlastest.Option{atlastest.WithClock(atlastest.FixedClock(domainDay))}, opts...)...)
}

// inCompany adds the main company's company_id to path.
func inCompany(srv *atlastest.Server, path string) string {
	return withQuery(path, "company_id", srv.CompanyID())
}

// create POSTs body to path and requires 201, returning the created object.
func (c *client) create(path string, body any) map[string]any {
	c.t.Helper()
	resp := c.do(http.MethodPost, path, body)
	require.Equal(c.t, http.StatusCreated, resp.status, "POST %s: %s", path, resp.body)
	return resp.object(c.t)
}

// action POSTs body (nil for none) to path and requires 200, returning the answer.
func (c *client) action(path string, body any) map[string]any {
	c.t.Helper()
	resp := c.do(http.MethodPost, path, body)
	require.Equal(c.t, http.StatusOK, resp.status, "POST %s: %s", path, resp.body)
	return resp.object(c.t)
}

// balance is the current_balance of the main company's account with the given number.
func (c *client) balance(number string) string {
	c.t.Helper()
	resp := c.get("/chart-of-accounts/" + c.srv.AccountID(number))
	require.Equal(c.t, http.StatusOK, resp.status, "body: %s", resp.body)
	return resp.object(c.t)["current_balance"].(string)
}

// balances are the current balances of the given accounts, by number.
func (c *client) balances(numbers ...string) map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, n := range numbers {
		out[n] = c.balance(n)
	}
	return out
}

// customerBalance is a customer's current_balance.
func (c *client) customerBalance(id string) string {
	c.t.Helper()
	return c.get("/contacts/customers/" + id).object(c.t)["current_balance"].(string)
}

// closePeriod closes the main company's period that starts on start (YYYY-MM-DD).
func (c *client) closePeriod(start string) {
	c.t.Helper()
	for _, p := range c.list(inCompany(c.srv, "/periods?page_size=100")).Items {
		if p["start_date"] == start {
			c.action("/periods/"+p["id"].(string)+"/close", nil)
			return
		}
	}
	c.t.Fatalf("no period starts on %s", start)
}

// line is an invoice or bill line for a request body.
func line(description, quantity, unitPrice, accountID, taxRate string) map[string]any {
	l := map[string]any{"description": description, "unit_price": unitPrice}
	if quantity != "" {
		l["quantity"] = quantity
	}
	if taxRate != "" {
		l["tax_rate"] = taxRate
	}
	if accountID != "" {
		l["revenue_account_id"] = accountID
	}
	return l
}

// invoiceBody is an InvoiceCreate for the main company's first customer, dated date, with
// lines (one consulting line when none are given).
func invoiceBody(srv *atlastest.Server, date string, lines ...map[string]any) map[string]any {
	if len(lines) == 0 {
		lines = []map[string]any{line("Consulting", "10", "150.00", srv.AccountID("4000"), "")}
	}
	return map[string]any{"customer_id": srv.CustomerIDs()[0], "invoice_date": date, "lines": lines}
}

// sentInvoice creates an invoice from body and sends it.
func (c *client) sentInvoice(body map[string]any) map[string]any {
	c.t.Helper()
	inv := c.create(inCompany(c.srv, "/invoices"), body)
	return c.action("/invoices/"+inv["id"].(string)+"/send", nil)
}

// requireFields checks that r is a 422 naming exactly the given fields.
func requireFields(t *testing.T, r response, fields ...string) {
	t.Helper()
	e := r.requireError(t, http.StatusUnprocessableEntity)
	assert.ElementsMatch(t, fields, e.fields(), "errors: %+v", e.Errors)
}

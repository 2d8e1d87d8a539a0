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

// TestDomainEvents checks that every domain event reaches a subscriber once, in the order
// things happened, with the contract's payload, and that nothing else (failed requests,
// edits, voids, journal entries) emits one.
func TestDomainEvents(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	rcv := newReceiver(t)
	srv.Subscribe(rcv.URL)
	c := admin(t, srv)
	customer := srv.CustomerIDs()[0]

	inv := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-02"))
	id := inv["id"].(string)
	c.do(http.MethodPatch, "/invoices/"+id, map[string]any{"notes": "Edited."})
	c.action("/invoices/"+id+"/send", nil)
	c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-05", "100.00", id, "2000.00")).
		requireError(t, http.StatusUnprocessableEntity)
	part := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-05", "500.00", id, "500.00"))
	rest := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-06", "1200.00", id, "1000.00"))
	credit := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-07", "50.00"))
	bill := c.create(inCompany(srv, "/bills"), billBody(srv, "2026-03-08"))
	c.action("/bills/"+bill["id"].(string)+"/approve", nil)
	c.action("/bills/"+bill["id"].(string)+"/void", map[string]any{"reason": "x"})
	je := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-31", "10.00"))
	c.action("/journal-entries/"+je["id"].(string)+"/post", nil)
	c.action("/journal-entries/"+je["id"].(string)+"/void", map[string]any{"reason": "x"})
	c.action("/invoices/"+c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-09"))["id"].(string)+"/void", map[string]any{"reason": "x"})
	waitWebhooks(t, srv)

	invoiceData := func(status string) map[string]any {
		return map[string]any{"id": id, "invoice_number": "INV-2026-0001", "amount": 1500.0, "currency": "USD", "customer_id": customer, "status": status}
	}
	paymentData := func(p map[string]any, amount float64, invoices ...any) map[string]any {
		return map[string]any{"id": p["id"], "payment_number": p["payment_number"], "amount": amount, "currency": "USD",
			"customer_id": customer, "invoice_ids": append([]any{}, invoices...)}
	}
	want := []struct {
		event, schema string
		data          map[string]any
	}{
		{"invoice.created", "InvoiceCreatedEvent", invoiceData("draft")},
		{"invoice.sent", "InvoiceSentEvent", invoiceData("sent")},
		{"payment.received", "PaymentReceivedEvent", paymentData(part, 500, id)},
		{"payment.received", "PaymentReceivedEvent", paymentData(rest, 1200, id)},
		{"invoice.paid", "InvoicePaidEvent", invoiceData("paid")},
		{"payment.received", "PaymentReceivedEvent", paymentData(credit, 50)},
		{"bill.approved", "BillApprovedEvent", map[string]any{"id": bill["id"], "bill_number": "BILL-2026-0001", "amount": 420.0,
			"currency": "USD", "vendor_id": srv.VendorIDs()[0]}},
		{"invoice.created", "InvoiceCreatedEvent", nil},
	}
	got := rcv.received()
	require.Len(t, got, len(want))
	for i, w := range want {
		ev := got[i].event(t)
		assert.Equal(t, w.event, ev.Event, "event %d", i)
		validateEvent(t, w.schema, got[i].body)
		if w.data != nil {
			assert.Equal(t, w.data, ev.Data, "event %d", i)
		}
	}
}

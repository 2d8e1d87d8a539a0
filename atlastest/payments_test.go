package atlastest_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

var paymentKeys = []string{
	"amount", "applications", "created_at", "currency", "customer_id", "deposit_account_id", "id", "payment_date",
	"payment_method", "payment_number", "reference", "updated_at",
}

// paymentBody is a PaymentCreate from the main company's first customer into cash, applied
// as the invoice/amount pairs say.
func paymentBody(srv *atlastest.Server, date, amount string, applied ...string) map[string]any {
	apps := []map[string]any{}
	for i := 0; i+1 < len(applied); i += 2 {
		apps = append(apps, map[string]any{"invoice_id": applied[i], "amount_applied": applied[i+1]})
	}
	return map[string]any{
		"customer_id": srv.CustomerIDs()[0], "payment_date": date, "amount": amount, "payment_method": "ach",
		"deposit_account_id": srv.AccountID("1000"), "applications": apps,
	}
}

func TestPaymentsMoveInvoicesToPartialAndPaid(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	customer := srv.CustomerIDs()[0]
	inv := c.sentInvoice(invoiceBody(srv, "2026-03-02",
		line("Consulting", "10", "150.00", srv.AccountID("4000"), "8.25"),
		line("Training", "1", "250.00", srv.AccountID("4100"), "")))
	id := inv["id"].(string)
	require.Equal(t, "1873.75", inv["total_amount"])

	body := paymentBody(srv, "2026-03-10", "1000.00", id, "1000.00")
	body["reference"] = "ACH 000123"
	first := c.create(inCompany(srv, "/payments"), body)
	assert.Equal(t, paymentKeys, keys(first))
	assert.Equal(t, "PMT-2026-0001", first["payment_number"])
	assert.Equal(t, customer, first["customer_id"])
	assert.Equal(t, "2026-03-10", first["payment_date"])
	assert.Equal(t, "1000.00", first["amount"])
	assert.Equal(t, "USD", first["currency"])
	assert.Equal(t, "ach", first["payment_method"])
	assert.Equal(t, srv.AccountID("1000"), first["deposit_account_id"])
	assert.Equal(t, "ACH 000123", first["reference"])
	assert.Equal(t, []any{map[string]any{"invoice_id": id, "amount_applied": "1000.00"}}, first["applications"])
	assert.Equal(t, first, c.get("/payments/"+first["id"].(string)).object(t))

	partial := c.get("/invoices/" + id).object(t)
	assert.Equal(t, "partial", partial["status"])
	assert.Equal(t, "1000.00", partial["amount_paid"])
	assert.Equal(t, "873.75", partial["amount_due"])
	assert.Equal(t, "873.75", c.customerBalance(customer))
	assert.Equal(t, map[string]string{"1000": "1000.00", "1200": "873.75"}, c.balances("1000", "1200"))
	assert.Equal(t, 1, c.list(inCompany(srv, "/invoices?status=partial")).Total)

	// More than what is due is refused, and changes nothing.
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-11", "900.00", id, "873.76")),
		"applications.0.amount_applied")
	second := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-12", "873.75", id, "873.75"))
	assert.Equal(t, "PMT-2026-0002", second["payment_number"])
	paid := c.get("/invoices/" + id).object(t)
	assert.Equal(t, "paid", paid["status"])
	assert.Equal(t, "1873.75", paid["amount_paid"])
	assert.Equal(t, "0.00", paid["amount_due"])
	assert.Equal(t, "0.00", c.customerBalance(customer))
	assert.Equal(t, map[string]string{"1000": "1873.75", "1200": "0.00"}, c.balances("1000", "1200"))

	// A paid invoice takes no more payments and cannot be voided.
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-13", "1.00", id, "0.01")),
		"applications.0.amount_applied")
	e := c.do(http.MethodPost, "/invoices/"+id+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "A paid invoice cannot be voided.", e.Detail)

	listed := c.list(inCompany(srv, "/payments?sort_by=payment_number&sort_order=asc"))
	assert.Equal(t, 2, listed.Total)
	assert.Equal(t, []string{first["id"].(string), second["id"].(string)}, ids(listed.Items))
	byAmount := c.list(inCompany(srv, "/payments?sort_by=amount&sort_order=desc"))
	assert.Equal(t, []string{first["id"].(string), second["id"].(string)}, ids(byAmount.Items))
	byDate := c.list(inCompany(srv, "/payments?sort_by=payment_date"))
	assert.Equal(t, []string{second["id"].(string), first["id"].(string)}, ids(byDate.Items))
}

func TestOneAndManyInvoicesPerPayment(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	a := c.sentInvoice(invoiceBody(srv, "2026-03-02"))["id"].(string) // 1500.00
	b := c.sentInvoice(invoiceBody(srv, "2026-03-03"))["id"].(string) // 1500.00

	// One payment pays a off and part of b, in two applications to b; 100.00 stays unapplied.
	p := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-10", "2600.00", a, "1500.00", b, "600.00", b, "400.00"))
	assert.Len(t, p["applications"], 3)
	assert.Equal(t, "paid", c.get("/invoices/" + a).object(t)["status"])
	invB := c.get("/invoices/" + b).object(t)
	assert.Equal(t, "partial", invB["status"])
	assert.Equal(t, "500.00", invB["amount_due"])
	assert.Equal(t, "400.00", c.customerBalance(srv.CustomerIDs()[0]), "3000 invoiced - 2600 paid, 100 of it a credit")
	assert.Equal(t, "400.00", c.balance("1200"))

	// Applications may not add up to more than the payment, nor take more than is due.
	e := c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-11", "100.00", b, "60.00", b, "50.00")).
		requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"applications"}, e.fields())
	assert.Contains(t, e.Errors[0].Message, "110.00")
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-11", "600.00", b, "300.00", b, "300.00")),
		"applications.1.amount_applied")

	// A payment without applications is a credit on the customer's account.
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-12", "900.00"))
	assert.Equal(t, "-500.00", c.customerBalance(srv.CustomerIDs()[0]))
	assert.Equal(t, "500.00", c.get("/invoices/" + b).object(t)["amount_due"])
}

func TestVoidingAPartlyPaidInvoiceLeavesTheCustomerACredit(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	id := c.sentInvoice(invoiceBody(srv, "2026-03-02"))["id"].(string)
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-10", "400.00", id, "400.00"))
	void := c.action("/invoices/"+id+"/void", map[string]any{"reason": "Wrong customer."})
	assert.Equal(t, "void", void["status"])
	assert.Equal(t, "400.00", void["amount_paid"])
	assert.Equal(t, "-400.00", c.customerBalance(srv.CustomerIDs()[0]))
	assert.Equal(t, map[string]string{"1000": "400.00", "1200": "-400.00", "4000": "0.00"}, c.balances("1000", "1200", "4000"))
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-11", "1.00", id, "1.00")),
		"applications.0.invoice_id")
}

func TestCreatePaymentValidation(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	sent := c.sentInvoice(invoiceBody(srv, "2026-03-02"))["id"].(string)
	draft := c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-03-02"))["id"].(string)
	otherBody := invoiceBody(srv, "2026-03-02")
	otherBody["customer_id"] = srv.CustomerIDs()[1]
	others := c.sentInvoice(otherBody)["id"].(string)
	euroBody := invoiceBody(srv, "2026-03-02")
	euroBody["currency"] = "EUR"
	euro := c.sentInvoice(euroBody)["id"].(string)
	otherCompany := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)

	valid := func(change func(m map[string]any)) map[string]any {
		m := paymentBody(srv, "2026-03-10", "100.00", sent, "100.00")
		change(m)
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"customer_id", "payment_date", "amount", "payment_method", "deposit_account_id"}},
		{"zero amount", valid(func(m map[string]any) { m["amount"] = "0.00"; m["applications"] = []any{} }), []string{"amount"}},
		{"amount as a number", valid(func(m map[string]any) { m["amount"] = 100; m["applications"] = []any{} }), []string{"amount"}},
		{"unknown method", valid(func(m map[string]any) { m["payment_method"] = "bitcoin" }), []string{"payment_method"}},
		{"deposit into revenue", valid(func(m map[string]any) { m["deposit_account_id"] = srv.AccountID("4000") }), []string{"deposit_account_id"}},
		{"other company's customer", valid(func(m map[string]any) { m["customer_id"] = otherCompany; m["applications"] = []any{} }), []string{"customer_id"}},
		{"reference too long", valid(func(m map[string]any) { m["reference"] = strings.Repeat("x", 101) }), []string{"reference"}},
		{"bad date", valid(func(m map[string]any) { m["payment_date"] = "10/03/2026" }), []string{"payment_date"}},
		{"applications not a list", valid(func(m map[string]any) { m["applications"] = map[string]any{} }), []string{"applications"}},
		{"application without fields", valid(func(m map[string]any) { m["applications"] = []any{map[string]any{}} }),
			[]string{"applications.0.invoice_id", "applications.0.amount_applied"}},
		{"zero applied", valid(func(m map[string]any) {
			m["applications"] = []any{map[string]any{"invoice_id": sent, "amount_applied": "0"}}
		}), []string{"applications.0.amount_applied"}},
		{"draft invoice", valid(func(m map[string]any) { m["applications"] = paymentBody(srv, "", "", draft, "1.00")["applications"] }),
			[]string{"applications.0.invoice_id"}},
		{"another customer's invoice", valid(func(m map[string]any) {
			m["applications"] = paymentBody(srv, "", "", others, "1.00")["applications"]
		}), []string{"applications.0.invoice_id"}},
		{"invoice in another currency", valid(func(m map[string]any) {
			m["applications"] = paymentBody(srv, "", "", euro, "1.00")["applications"]
		}), []string{"applications.0.invoice_id"}},
		{"no such invoice", valid(func(m map[string]any) {
			m["applications"] = paymentBody(srv, "", "", srv.CustomerIDs()[0], "1.00")["applications"]
		}), []string{"applications.0.invoice_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireFields(t, c.do(http.MethodPost, inCompany(srv, "/payments"), tt.body), tt.fields...)
		})
	}
	assert.Equal(t, 0, c.list(inCompany(srv, "/payments")).Total)
	assert.Equal(t, "sent", c.get("/invoices/" + sent).object(t)["status"])

	// A payment in euros can pay the euro invoice.
	euroPay := paymentBody(srv, "2026-03-10", "1500.00", euro, "1500.00")
	euroPay["currency"] = "EUR"
	assert.Equal(t, "EUR", c.create(inCompany(srv, "/payments"), euroPay)["currency"])
}

func TestPaymentsInClosedPeriodsAndOtherCompanies(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c, v := admin(t, srv), viewer(t, srv)
	id := c.sentInvoice(invoiceBody(srv, "2026-01-20"))["id"].(string)
	mine := c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-02-10", "100.00", id, "100.00"))["id"].(string)
	c.closePeriod("2026-02-01")

	e := c.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-02-27", "100.00", id, "100.00")).
		requireError(t, http.StatusConflict)
	assert.Contains(t, e.Detail, "closed period")
	assert.Equal(t, "100.00", c.get("/invoices/" + id).object(t)["amount_paid"])
	c.create(inCompany(srv, "/payments"), paymentBody(srv, "2026-03-01", "100.00", id, "100.00"))

	v.do(http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-01", "1.00")).requireError(t, http.StatusForbidden)
	assert.Equal(t, 2, v.list(inCompany(srv, "/payments")).Total, "a viewer can read")
	assert.Equal(t, http.StatusOK, v.get("/payments/"+mine).status)

	otherCustomer := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)
	theirs := c.create("/payments?company_id="+srv.SecondCompanyID(), map[string]any{
		"customer_id": otherCustomer, "payment_date": "2026-03-01", "amount": "5.00", "payment_method": "cash",
		"deposit_account_id": accountIn(t, c, srv.SecondCompanyID(), "1000"),
	})
	assert.Equal(t, "PMT-2026-0001", theirs["payment_number"], "numbers are per company")
	assert.Nil(t, theirs["reference"])
	assert.Equal(t, []any{}, theirs["applications"])
	c.get("/payments/"+theirs["id"].(string)+"?company_id="+srv.CompanyID()).requireError(t, http.StatusNotFound)
	v.get("/payments/"+theirs["id"].(string)).requireError(t, http.StatusNotFound)
	c.get("/payments/"+mine+"?company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
	c.get("/payments?company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
	requireFields(t, c.get("/payments"), "company_id")
	requireFields(t, c.get(inCompany(srv, "/payments?sort_by=reference")), "sort_by")
	anon(t, srv).get("/payments/"+mine).requireError(t, http.StatusUnauthorized)
}

// TestConcurrentPaymentsNeverOverpay applies payments to one invoice from many goroutines
// at once: exactly as many succeed as the invoice has room for, and the ledger agrees.
func TestConcurrentPaymentsNeverOverpay(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	id := c.sentInvoice(invoiceBody(srv, "2026-03-02"))["id"].(string) // 1500.00
	const workers = 20                                                 // 20 x 100.00 for 1500.00 due
	statuses := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := call(srv, c.token, http.MethodPost, inCompany(srv, "/payments"), paymentBody(srv, "2026-03-10", "100.00", id, "100.00"), http.StatusCreated, nil)
			statuses[w] = http.StatusCreated
			if err != nil {
				statuses[w] = http.StatusUnprocessableEntity
				assert.Contains(t, err.Error(), "status 422")
			}
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		}
	}
	assert.Equal(t, 15, created)
	inv := c.get("/invoices/" + id).object(t)
	assert.Equal(t, "paid", inv["status"])
	assert.Equal(t, "1500.00", inv["amount_paid"])
	assert.Equal(t, map[string]string{"1000": "1500.00", "1200": "0.00"}, c.balances("1000", "1200"))
	numbers := map[any]bool{}
	for _, p := range c.list(inCompany(srv, "/payments?page_size=100")).Items {
		numbers[p["payment_number"]] = true
	}
	assert.Len(t, numbers, 15, "every payment has its own number")
}

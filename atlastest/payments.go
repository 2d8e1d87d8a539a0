package atlastest

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Webhook events of payments.
const (
	eventPaymentReceived = "payment.received"
	eventInvoicePaid     = "invoice.paid"
)

var paymentMethods = []string{"cash", "check", "credit_card", "ach", "wire", "other"}

// payment is a payment received from a customer (contract schema Payment) and the parts of
// it applied to invoices. It is final once recorded: the contract has no way to change or
// void it.
type payment struct {
	id, companyID, number, customerID, paymentDate, currency, method, depositAccountID string
	amount                                                                             decimal.Decimal
	reference                                                                          *string
	applications                                                                       []application
	createdAt, updatedAt                                                               time.Time
}

// application is the part of a payment applied to one invoice.
type application struct {
	invoiceID string
	amount    decimal.Decimal
}

type applicationJSON struct {
	InvoiceID     string `json:"invoice_id"`
	AmountApplied string `json:"amount_applied"`
}

type paymentJSON struct {
	ID               string            `json:"id"`
	PaymentNumber    string            `json:"payment_number"`
	CustomerID       string            `json:"customer_id"`
	PaymentDate      string            `json:"payment_date"`
	Amount           string            `json:"amount"`
	Currency         string            `json:"currency"`
	PaymentMethod    string            `json:"payment_method"`
	DepositAccountID string            `json:"deposit_account_id"`
	Reference        *string           `json:"reference"`
	Applications     []applicationJSON `json:"applications"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
}

// renderPayment is the payment as a client sees it (on any day).
func renderPayment(p *payment, _ string) paymentJSON {
	out := paymentJSON{
		ID:               p.id,
		PaymentNumber:    p.number,
		CustomerID:       p.customerID,
		PaymentDate:      p.paymentDate,
		Amount:           money(p.amount),
		Currency:         p.currency,
		PaymentMethod:    p.method,
		DepositAccountID: p.depositAccountID,
		Reference:        p.reference,
		Applications:     make([]applicationJSON, len(p.applications)),
		CreatedAt:        timestamp(p.createdAt),
		UpdatedAt:        timestamp(p.updatedAt),
	}
	for i, a := range p.applications {
		out.Applications[i] = applicationJSON{InvoiceID: a.invoiceID, AmountApplied: money(a.amount)}
	}
	return out
}

var paymentSorts = []sortKey[payment]{
	byTime("created_at", func(p *payment) time.Time { return p.createdAt }),
	byString("payment_date", func(p *payment) string { return p.paymentDate }),
	byDecimal("amount", func(p *payment) decimal.Decimal { return p.amount }),
	byString("payment_number", func(p *payment) string { return p.number }),
}

var paymentKind = &kind[payment, paymentJSON]{
	name:   "Payment",
	table:  func(st *store) *table[payment] { return &st.payments },
	sorts:  paymentSorts,
	render: renderPayment,
}

// newPayment is POST /payments: it records a payment from a customer into an asset
// account and applies it to the customer's sent or partly paid invoices. Each application
// may take at most what the invoice still has due, and together they may take at most the
// payment's amount (else 422); the rest stays with the customer as a credit.
//
// The whole amount is posted on the payment date (deposit account debit, accounts
// receivable credit) and leaves the customer's balance. An invoice with nothing left due
// becomes paid, one with something left partial. Emits payment.received, then invoice.paid
// for each invoice the payment paid off.
func newPayment(st *store, o *object, companyID string, now time.Time) (*payment, []emitted, error) {
	o.require("customer_id", "payment_date", "amount", "payment_method", "deposit_account_id")
	p := &payment{id: newID(), companyID: companyID, createdAt: now, updatedAt: now}
	cust := contactOf(o, "customer_id", &st.customers, companyID, "Customer")
	p.paymentDate, _ = readDate(o, "payment_date")
	amount, hasAmount := o.amount("amount", positiveAmount)
	p.amount = amount
	currency, hasCurrency := o.str("currency", isCurrency)
	p.method, _ = o.str("payment_method", oneOf(paymentMethods...))
	p.depositAccountID, _ = st.accountOf(o, "deposit_account_id", companyID, "asset")
	if v, ok := o.str("reference", length(0, 100)); ok {
		p.reference = &v
	}
	if cust != nil {
		p.customerID, p.currency = cust.id, cust.currency
	}
	if hasCurrency {
		p.currency = currency
	}
	p.applications = st.readApplications(o, p, cust)
	if hasAmount {
		applied := decimal.Zero
		for _, a := range p.applications {
			applied = applied.Add(a.amount)
		}
		if applied.GreaterThan(amount) {
			o.fail("applications", "Applications add up to "+money(applied)+", more than the payment amount of "+money(amount)+".")
		}
	}
	if err := o.err(); err != nil {
		return nil, nil, err
	}
	if err := st.checkOpen(companyID, p.paymentDate); err != nil {
		return nil, nil, err
	}

	p.number = docNumber("PMT", now, &st.numbersOf(companyID).payment)
	var invoiceIDs []string
	var paid []emitted
	for _, a := range p.applications {
		inv, _ := st.invoices.get(a.invoiceID)
		inv.amountPaid = inv.amountPaid.Add(a.amount)
		inv.amountDue = inv.total.Sub(inv.amountPaid)
		inv.status, inv.updatedAt = "partial", now
		if !inv.amountDue.IsPositive() {
			inv.status = "paid"
			paid = append(paid, emitted{eventInvoicePaid, invoiceEvent(inv, dateOf(now))})
		}
		if !slices.Contains(invoiceIDs, inv.id) {
			invoiceIDs = append(invoiceIDs, inv.id)
		}
	}
	st.invoices.changed(companyID)
	post := newPosting(companyID, p.paymentDate, "payment", p.id)
	post.add(p.depositAccountID, true, p.amount)
	post.add(st.accountNumbered(companyID, accountReceivable), false, p.amount)
	st.post(post.e, now)
	moveBalance(&st.customers, p.customerID, p.amount.Neg(), now)

	received := emitted{eventPaymentReceived, map[string]any{
		"id":             p.id,
		"payment_number": p.number,
		"amount":         webhookAmount(p.amount),
		"currency":       p.currency,
		"customer_id":    p.customerID,
		"invoice_ids":    append([]string{}, invoiceIDs...),
	}}
	return p, append([]emitted{received}, paid...), nil
}

// readApplications reads the applications of a payment for cust (nil when customer_id
// failed): each names a sent or partly paid invoice of the customer, in the payment's
// currency, and applies at most what the invoice has due, counting earlier applications
// to the same invoice. Problems are recorded in o. Call with the store lock held.
func (st *store) readApplications(o *object, p *payment, cust *contact) []application {
	if !o.has("applications") {
		return nil
	}
	elems, _ := o.objects("applications", 0)
	var out []application
	applied := map[string]decimal.Decimal{}
	for _, e := range elems {
		e.require("invoice_id", "amount_applied")
		id, okID := e.str("invoice_id", isUUIDStr)
		amount, okAmount := e.amount("amount_applied", positiveAmount)
		if !okID {
			continue
		}
		inv, found := st.invoices.get(normalizeUUID(id))
		switch {
		case !found || inv.companyID != p.companyID:
			e.fail("invoice_id", "Invoice not found in this company.")
			continue
		case cust != nil && inv.customerID != cust.id:
			e.fail("invoice_id", "Invoice "+inv.number+" belongs to another customer.")
			continue
		case inv.status != "sent" && inv.status != "partial" && inv.status != "paid":
			e.fail("invoice_id", "Invoice "+inv.number+" is "+inv.status+"; only sent invoices take payments.")
			continue
		case p.currency != "" && inv.currency != p.currency:
			e.fail("invoice_id", "Invoice "+inv.number+" is in "+inv.currency+", the payment in "+p.currency+".")
			continue
		}
		if !okAmount {
			continue
		}
		total := applied[inv.id].Add(amount)
		if total.GreaterThan(inv.amountDue) {
			e.fail("amount_applied", "Amount applied ("+money(total)+") is more than invoice "+inv.number+" has due ("+money(inv.amountDue)+").")
			continue
		}
		applied[inv.id] = total
		out = append(out, application{invoiceID: inv.id, amount: amount})
	}
	return out
}

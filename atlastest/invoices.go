package atlastest

import (
	"time"

	"github.com/shopspring/decimal"
)

// Webhook events of invoices (invoice.paid is a payment's, in payments.go).
const (
	eventInvoiceCreated = "invoice.created"
	eventInvoiceSent    = "invoice.sent"
)

type invoiceLineJSON struct {
	ID          string `json:"id"`
	LineNumber  int    `json:"line_number"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
	AccountID   string `json:"revenue_account_id"`
	TaxRate     string `json:"tax_rate"`
	TaxAmount   string `json:"tax_amount"`
}

type invoiceJSON struct {
	ID            string            `json:"id"`
	InvoiceNumber string            `json:"invoice_number"`
	CustomerID    string            `json:"customer_id"`
	InvoiceDate   string            `json:"invoice_date"`
	DueDate       string            `json:"due_date"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"`
	Subtotal      string            `json:"subtotal"`
	TaxAmount     string            `json:"tax_amount"`
	TotalAmount   string            `json:"total_amount"`
	AmountPaid    string            `json:"amount_paid"`
	AmountDue     string            `json:"amount_due"`
	Notes         *string           `json:"notes"`
	SentAt        *string           `json:"sent_at"`
	Lines         []invoiceLineJSON `json:"lines"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

// renderInvoice is the invoice as a client sees it on today (YYYY-MM-DD), which decides
// whether an unpaid invoice shows as overdue.
func renderInvoice(inv *invoice, today string) invoiceJSON {
	out := invoiceJSON{
		ID:            inv.id,
		InvoiceNumber: inv.number,
		CustomerID:    inv.customerID,
		InvoiceDate:   inv.invoiceDate,
		DueDate:       inv.dueDate,
		Currency:      inv.currency,
		Status:        inv.statusOn(today),
		Subtotal:      money(inv.subtotal),
		TaxAmount:     money(inv.taxAmount),
		TotalAmount:   money(inv.total),
		AmountPaid:    money(inv.amountPaid),
		AmountDue:     money(inv.amountDue),
		Notes:         inv.notes,
		SentAt:        timestampOrNil(inv.sentAt),
		Lines:         make([]invoiceLineJSON, len(inv.lines)),
		CreatedAt:     timestamp(inv.createdAt),
		UpdatedAt:     timestamp(inv.updatedAt),
	}
	for i, l := range inv.lines {
		out.Lines[i] = renderItemLine(l)
	}
	return out
}

// renderItemLine is a line of an invoice or a bill as a client sees it, as an invoice
// line: a bill line converts from it.
func renderItemLine(l itemLine) invoiceLineJSON {
	return invoiceLineJSON{
		ID:          l.id,
		LineNumber:  l.lineNumber,
		Description: l.description,
		Quantity:    plain(l.quantity),
		UnitPrice:   money(l.unitPrice),
		Amount:      money(l.amount),
		AccountID:   l.accountID,
		TaxRate:     plain(l.taxRate),
		TaxAmount:   money(l.taxAmount),
	}
}

var invoiceSorts = []sortKey[invoice]{
	byTime("created_at", func(i *invoice) time.Time { return i.createdAt }),
	byString("invoice_date", func(i *invoice) string { return i.invoiceDate }),
	byString("due_date", func(i *invoice) string { return i.dueDate }),
	byDecimal("total_amount", func(i *invoice) decimal.Decimal { return i.total }),
	byString("invoice_number", func(i *invoice) string { return i.number }),
}

var invoiceKind = &kind[invoice, invoiceJSON]{
	name:   "Invoice",
	table:  func(st *store) *table[invoice] { return &st.invoices },
	sorts:  invoiceSorts,
	render: renderInvoice,
}

// invoiceFilter is the filters of GET /invoices: status (overdue included, as the
// invoice shows on today), customer_id and an invoice_date range.
func invoiceFilter(q *query, today string) func(*invoice) bool {
	status, hasStatus := q.str("status", oneOf(invoiceStatus...))
	customerID, hasCustomer := q.str("customer_id", isUUIDStr)
	from, hasFrom := q.str("date_from", isDate)
	to, hasTo := q.str("date_to", isDate)
	if !hasStatus && !hasCustomer && !hasFrom && !hasTo {
		return nil
	}
	customerID = normalizeUUID(customerID)
	return func(inv *invoice) bool {
		return (!hasStatus || inv.statusOn(today) == status) &&
			(!hasCustomer || inv.customerID == customerID) &&
			(!hasFrom || inv.invoiceDate >= from) &&
			(!hasTo || inv.invoiceDate <= to)
	}
}

// setLines gives the invoice its lines and the totals they add up to.
func (inv *invoice) setLines(lines []itemLine) {
	inv.lines = lines
	inv.subtotal, inv.taxAmount = lineTotals(lines)
	inv.total = inv.subtotal.Add(inv.taxAmount)
	inv.amountDue = inv.total.Sub(inv.amountPaid)
}

// invoiceEvent is the data of the invoice.* webhook events (InvoiceEventData), with the
// status the invoice shows on today.
func invoiceEvent(inv *invoice, today string) map[string]any {
	return map[string]any{
		"id":             inv.id,
		"invoice_number": inv.number,
		"amount":         webhookAmount(inv.total),
		"currency":       inv.currency,
		"customer_id":    inv.customerID,
		"status":         inv.statusOn(today),
	}
}

// invoicePosting is what sending the invoice posts on its date: the total to accounts
// receivable (debit), each line's amount to its revenue account and the tax to sales tax
// payable (credits).
func (st *store) invoicePosting(inv *invoice) *ledgerEntry {
	p := newPosting(inv.companyID, inv.invoiceDate, "invoice", inv.id)
	p.add(st.accountNumbered(inv.companyID, accountReceivable), true, inv.total)
	for _, l := range inv.lines {
		p.add(l.accountID, false, l.amount)
	}
	p.add(st.accountNumbered(inv.companyID, accountSalesTax), false, inv.taxAmount)
	return p.e
}

// moveBalance adds delta to a contact's open balance.
func moveBalance(t *table[contact], id string, delta decimal.Decimal, at time.Time) {
	if c, ok := t.get(id); ok {
		c.balance = c.balance.Add(delta)
		c.updatedAt = at
		t.changed(c.companyID)
	}
}

// newInvoice is POST /invoices: a draft with server-computed amounts, due by the
// customer's payment terms unless due_date is given, in the customer's currency unless
// currency is given. Emits invoice.created.
func newInvoice(st *store, o *object, companyID string, now time.Time) (*invoice, []emitted, error) {
	o.require("customer_id", "invoice_date", "lines")
	inv := &invoice{id: newID(), companyID: companyID, status: "draft", createdAt: now, updatedAt: now}
	cust := contactOf(o, "customer_id", &st.customers, companyID, "Customer")
	inv.invoiceDate, _ = readDate(o, "invoice_date")
	due, hasDue := readDate(o, "due_date")
	currency, hasCurrency := o.str("currency", isCurrency)
	if v, ok := o.str("notes"); ok {
		inv.notes = &v
	}
	lines, _ := st.readItemLines(o, companyID, "revenue_account_id", "revenue")
	if cust != nil {
		inv.customerID, inv.currency = cust.id, cust.currency
		if !hasDue && inv.invoiceDate != "" {
			due = dueFrom(inv.invoiceDate, cust.paymentTerms)
		}
	}
	if hasCurrency {
		inv.currency = currency
	}
	inv.dueDate = due
	checkDue(o, "due_date", inv.invoiceDate, due)
	if err := o.err(); err != nil {
		return nil, nil, err
	}
	if err := st.checkOpen(companyID, inv.invoiceDate); err != nil {
		return nil, nil, err
	}
	inv.setLines(lines)
	inv.number = docNumber("INV", now, &st.numbersOf(companyID).invoice)
	return inv, []emitted{{eventInvoiceCreated, invoiceEvent(inv, dateOf(now))}}, nil
}

// updateInvoice is PATCH /invoices/{id}: drafts only (409). The fields sent replace the
// stored ones; lines, when sent, replace all lines, and totals are recomputed.
func updateInvoice(st *store, inv *invoice, o *object, now time.Time) ([]emitted, error) {
	upd := *inv
	if v, ok := readDate(o, "invoice_date"); ok {
		upd.invoiceDate = v
	}
	if v, ok := readDate(o, "due_date"); ok {
		upd.dueDate = v
	}
	if v, ok := o.str("currency", isCurrency); ok {
		upd.currency = v
	}
	if v, ok := o.str("notes"); ok {
		upd.notes = &v
	}
	lines, hasLines := st.readItemLines(o, inv.companyID, "revenue_account_id", "revenue")
	if o.has("due_date") || o.has("invoice_date") {
		checkDue(o, "due_date", upd.invoiceDate, upd.dueDate)
	}
	if err := o.err(); err != nil {
		return nil, err
	}
	if inv.status != "draft" {
		return nil, errConflict("Only draft invoices can be updated.")
	}
	if err := st.checkOpen(inv.companyID, upd.invoiceDate); err != nil {
		return nil, err
	}
	if hasLines {
		upd.setLines(lines)
	}
	upd.updatedAt = now
	*inv = upd
	return nil, nil
}

// sendInvoice is POST /invoices/{id}/send: a draft becomes sent, is posted to the ledger
// on its invoice date and adds to the customer's balance. Emits invoice.sent. It takes no
// body.
func sendInvoice(st *store, inv *invoice, _ *object, now time.Time) ([]emitted, error) {
	if inv.status != "draft" {
		return nil, errConflict("Only draft invoices can be sent.")
	}
	if err := st.checkOpen(inv.companyID, inv.invoiceDate); err != nil {
		return nil, err
	}
	inv.status, inv.sentAt, inv.updatedAt = "sent", &now, now
	st.post(st.invoicePosting(inv), now)
	moveBalance(&st.customers, inv.customerID, inv.total, now)
	return []emitted{{eventInvoiceSent, invoiceEvent(inv, dateOf(now))}}, nil
}

// voidInvoice is POST /invoices/{id}/void with a VoidRequest. A paid invoice (409) and a
// void one (409) cannot be voided. A sent or partly paid invoice has its posting reversed
// on its invoice date (409 when that is in a closed period) and leaves the customer's
// balance; payments already applied stay, as a credit of the customer's.
func voidInvoice(st *store, inv *invoice, o *object, now time.Time) ([]emitted, error) {
	if err := readReason(o); err != nil {
		return nil, err
	}
	switch inv.status {
	case "void":
		return nil, errConflict("The invoice is already void.")
	case "paid":
		return nil, errConflict("A paid invoice cannot be voided.")
	case "sent", "partial":
		if err := st.checkOpen(inv.companyID, inv.invoiceDate); err != nil {
			return nil, err
		}
		st.post(reversal(st.invoicePosting(inv)), now)
		moveBalance(&st.customers, inv.customerID, inv.total.Neg(), now)
	}
	inv.status, inv.updatedAt = "void", now
	return nil, nil
}

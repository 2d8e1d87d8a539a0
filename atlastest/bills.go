package atlastest

import (
	"time"

	"github.com/shopspring/decimal"
)

const eventBillApproved = "bill.approved"

var billStatus = []string{"draft", "approved", "partial", "paid", "void"}

// accountPayable is where approved bills are owed.
const accountPayable = "2000"

// bill is a vendor bill (contract schema Bill): draft, approved, partial, paid or void.
// Totals are kept in step with lines as an invoice's are. The contract records no payments
// to vendors, so a bill never leaves approved but by void; partial and paid are there for
// the contract's sake.
type bill struct {
	id, companyID, number, vendorID, billDate, dueDate, currency, status string
	subtotal, taxAmount, total, amountPaid, amountDue                    decimal.Decimal
	vendorBillNumber, notes                                              *string
	approvedAt                                                           *time.Time
	lines                                                                []itemLine
	createdAt, updatedAt                                                 time.Time
}

// billLineJSON is invoiceLineJSON with the account named expense_account_id, and
// converts from it.
type billLineJSON struct {
	ID          string `json:"id"`
	LineNumber  int    `json:"line_number"`
	Description string `json:"description"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Amount      string `json:"amount"`
	AccountID   string `json:"expense_account_id"`
	TaxRate     string `json:"tax_rate"`
	TaxAmount   string `json:"tax_amount"`
}

type billJSON struct {
	ID               string         `json:"id"`
	BillNumber       string         `json:"bill_number"`
	VendorBillNumber *string        `json:"vendor_bill_number"`
	VendorID         string         `json:"vendor_id"`
	BillDate         string         `json:"bill_date"`
	DueDate          string         `json:"due_date"`
	Currency         string         `json:"currency"`
	Status           string         `json:"status"`
	Subtotal         string         `json:"subtotal"`
	TaxAmount        string         `json:"tax_amount"`
	TotalAmount      string         `json:"total_amount"`
	AmountPaid       string         `json:"amount_paid"`
	AmountDue        string         `json:"amount_due"`
	Notes            *string        `json:"notes"`
	ApprovedAt       *string        `json:"approved_at"`
	Lines            []billLineJSON `json:"lines"`
	CreatedAt        string         `json:"created_at"`
	UpdatedAt        string         `json:"updated_at"`
}

// renderBill is the bill as a client sees it (on any day).
func renderBill(b *bill, _ string) billJSON {
	out := billJSON{
		ID:               b.id,
		BillNumber:       b.number,
		VendorBillNumber: b.vendorBillNumber,
		VendorID:         b.vendorID,
		BillDate:         b.billDate,
		DueDate:          b.dueDate,
		Currency:         b.currency,
		Status:           b.status,
		Subtotal:         money(b.subtotal),
		TaxAmount:        money(b.taxAmount),
		TotalAmount:      money(b.total),
		AmountPaid:       money(b.amountPaid),
		AmountDue:        money(b.amountDue),
		Notes:            b.notes,
		ApprovedAt:       timestampOrNil(b.approvedAt),
		Lines:            make([]billLineJSON, len(b.lines)),
		CreatedAt:        timestamp(b.createdAt),
		UpdatedAt:        timestamp(b.updatedAt),
	}
	for i, l := range b.lines {
		out.Lines[i] = billLineJSON(renderItemLine(l))
	}
	return out
}

var billSorts = []sortKey[bill]{
	byTime("created_at", func(b *bill) time.Time { return b.createdAt }),
	byString("bill_date", func(b *bill) string { return b.billDate }),
	byString("due_date", func(b *bill) string { return b.dueDate }),
	byDecimal("total_amount", func(b *bill) decimal.Decimal { return b.total }),
	byString("bill_number", func(b *bill) string { return b.number }),
}

// billPosting is what approving the bill posts on its date: each line's amount and tax to
// its expense account (sales tax paid on a purchase is part of its cost; the chart of
// accounts has no input-tax account) and the total to accounts payable.
func (st *store) billPosting(b *bill) *ledgerEntry {
	p := newPosting(b.companyID, b.billDate, "bill", b.id)
	for _, l := range b.lines {
		p.add(l.accountID, true, l.amount.Add(l.taxAmount))
	}
	p.add(st.accountNumbered(b.companyID, accountPayable), false, b.total)
	return p.e
}

var billKind = &kind[bill, billJSON]{
	name:   "Bill",
	table:  func(st *store) *table[bill] { return &st.bills },
	sorts:  billSorts,
	render: renderBill,
}

// billFilter is the filters of GET /bills: status and vendor_id.
func billFilter(q *query, _ string) func(*bill) bool {
	status, hasStatus := q.str("status", oneOf(billStatus...))
	vendorID, hasVendor := q.str("vendor_id", isUUIDStr)
	if !hasStatus && !hasVendor {
		return nil
	}
	vendorID = normalizeUUID(vendorID)
	return func(b *bill) bool {
		return (!hasStatus || b.status == status) && (!hasVendor || b.vendorID == vendorID)
	}
}

// newBill is POST /bills: a draft with server-computed amounts, due by the vendor's
// payment terms unless due_date is given, in the vendor's currency unless currency is
// given. Lines name expense accounts.
func newBill(st *store, o *object, companyID string, now time.Time) (*bill, []emitted, error) {
	o.require("vendor_id", "bill_date", "lines")
	b := &bill{id: newID(), companyID: companyID, status: "draft", createdAt: now, updatedAt: now}
	vendor := contactOf(o, "vendor_id", &st.vendors, companyID, "Vendor")
	if v, ok := o.str("vendor_bill_number", length(0, 50)); ok {
		b.vendorBillNumber = &v
	}
	b.billDate, _ = readDate(o, "bill_date")
	due, hasDue := readDate(o, "due_date")
	currency, hasCurrency := o.str("currency", isCurrency)
	if v, ok := o.str("notes"); ok {
		b.notes = &v
	}
	lines, _ := st.readItemLines(o, companyID, "expense_account_id", "expense")
	if vendor != nil {
		b.vendorID, b.currency = vendor.id, vendor.currency
		if !hasDue && b.billDate != "" {
			due = dueFrom(b.billDate, vendor.paymentTerms)
		}
	}
	if hasCurrency {
		b.currency = currency
	}
	b.dueDate = due
	checkDue(o, "due_date", b.billDate, due)
	if err := o.err(); err != nil {
		return nil, nil, err
	}
	if err := st.checkOpen(companyID, b.billDate); err != nil {
		return nil, nil, err
	}
	b.lines = lines
	b.subtotal, b.taxAmount = lineTotals(lines)
	b.total = b.subtotal.Add(b.taxAmount)
	b.amountDue = b.total
	b.number = docNumber("BILL", now, &st.numbersOf(companyID).bill)
	return b, nil, nil
}

// approveBill is POST /bills/{id}/approve: a draft becomes approved, is posted on its bill
// date and adds to the vendor's balance. Emits bill.approved. It takes no body.
func approveBill(st *store, b *bill, _ *object, now time.Time) ([]emitted, error) {
	if b.status != "draft" {
		return nil, errConflict("Only draft bills can be approved.")
	}
	if err := st.checkOpen(b.companyID, b.billDate); err != nil {
		return nil, err
	}
	b.status, b.approvedAt, b.updatedAt = "approved", &now, now
	st.post(st.billPosting(b), now)
	moveBalance(&st.vendors, b.vendorID, b.total, now)
	return []emitted{{eventBillApproved, map[string]any{
		"id":          b.id,
		"bill_number": b.number,
		"amount":      webhookAmount(b.total),
		"currency":    b.currency,
		"vendor_id":   b.vendorID,
	}}}, nil
}

// voidBill is POST /bills/{id}/void with a VoidRequest. A paid bill (409) and a void one
// (409) cannot be voided. An approved bill has its posting reversed on its bill date (409
// when that is in a closed period) and leaves the vendor's balance.
func voidBill(st *store, b *bill, o *object, now time.Time) ([]emitted, error) {
	if err := readReason(o); err != nil {
		return nil, err
	}
	switch b.status {
	case "void":
		return nil, errConflict("The bill is already void.")
	case "paid":
		return nil, errConflict("A paid bill cannot be voided.")
	case "approved", "partial":
		if err := st.checkOpen(b.companyID, b.billDate); err != nil {
			return nil, err
		}
		st.post(reversal(st.billPosting(b)), now)
		moveBalance(&st.vendors, b.vendorID, b.total.Neg(), now)
	}
	b.status, b.updatedAt = "void", now
	return nil, nil
}

package atlas

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// InvoicesService manages sales invoices. An invoice is created as a draft,
// editable until it is sent; payments move a sent invoice to partial and paid.
type InvoicesService service

// InvoiceStatus is where an invoice is in its lifecycle: draft -> sent ->
// partial / paid, overdue when past its due date unpaid, or void.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceStatusDraft   InvoiceStatus = "draft"
	InvoiceStatusSent    InvoiceStatus = "sent"
	InvoiceStatusPartial InvoiceStatus = "partial"
	InvoiceStatusPaid    InvoiceStatus = "paid"
	InvoiceStatusOverdue InvoiceStatus = "overdue"
	InvoiceStatusVoid    InvoiceStatus = "void"
)

// Outstanding reports whether an invoice in status s is owed by its
// customer: sent, partial or overdue. A draft is not billed yet, a void
// invoice never will be and a paid one is settled; only an outstanding
// invoice's AmountDue is a receivable.
func (s InvoiceStatus) Outstanding() bool {
	switch s {
	case InvoiceStatusSent, InvoiceStatusPartial, InvoiceStatusOverdue:
		return true
	}
	return false
}

// Invoice is a sales invoice. The server computes line amounts, taxes and
// totals, rounding each line to the cent.
type Invoice struct {
	ID string `json:"id"`
	// InvoiceNumber is assigned by the server, e.g. INV-2026-0001.
	InvoiceNumber string          `json:"invoice_number"`
	CustomerID    string          `json:"customer_id"`
	InvoiceDate   Date            `json:"invoice_date"`
	DueDate       Date            `json:"due_date"`
	Currency      string          `json:"currency"`
	Status        InvoiceStatus   `json:"status"`
	Subtotal      decimal.Decimal `json:"subtotal"`
	TaxAmount     decimal.Decimal `json:"tax_amount"`
	TotalAmount   decimal.Decimal `json:"total_amount"`
	AmountPaid    decimal.Decimal `json:"amount_paid"`
	// AmountDue is TotalAmount less AmountPaid, whatever the status: a
	// draft's or a void invoice's is its full amount, though nobody owes it.
	// Summing AmountDue over Invoices.All therefore counts drafts, which are
	// not receivables yet, and voids, which never will be (a voided invoice
	// was often reissued, so its amount is counted twice). To total what
	// customers owe, add up only sent, partial and overdue invoices
	// (Status.Outstanding tells which), as the receivables aging example does.
	AmountDue decimal.Decimal `json:"amount_due"`
	Notes     *string         `json:"notes"`
	// SentAt is when the invoice was sent, nil while it is a draft.
	SentAt    *time.Time    `json:"sent_at"`
	Lines     []InvoiceLine `json:"lines"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// InvoiceLine is a line of an invoice.
type InvoiceLine struct {
	ID          string          `json:"id"`
	LineNumber  int             `json:"line_number"`
	Description string          `json:"description"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unit_price"`
	// Amount is Quantity x UnitPrice, rounded to the cent.
	Amount decimal.Decimal `json:"amount"`
	// RevenueAccountID is the revenue account the line credits.
	RevenueAccountID string `json:"revenue_account_id"`
	// TaxRate is in percent: 8.25 is 8.25 %.
	TaxRate   decimal.Decimal `json:"tax_rate"`
	TaxAmount decimal.Decimal `json:"tax_amount"`
}

// InvoiceLineParams are a line of a new or updated invoice (the contract's
// InvoiceLineCreate).
type InvoiceLineParams struct {
	Description string `json:"description"`
	// Quantity must be > 0; nil stays off the wire and means 1.
	Quantity  *decimal.Decimal `json:"quantity,omitempty"`
	UnitPrice decimal.Decimal  `json:"unit_price"`
	// RevenueAccountID is the revenue account the line credits.
	RevenueAccountID string `json:"revenue_account_id"`
	// TaxRate is in percent (8.25 is 8.25 %); nil stays off the wire and
	// means no tax.
	TaxRate *decimal.Decimal `json:"tax_rate,omitempty"`
}

// InvoiceCreateParams are the fields of a new draft invoice. CustomerID,
// InvoiceDate and at least one line are required. A nil DueDate is derived
// from the customer's payment terms; an empty Currency is the customer's.
type InvoiceCreateParams struct {
	CustomerID  string              `json:"customer_id"`
	InvoiceDate Date                `json:"invoice_date"`
	DueDate     *Date               `json:"due_date,omitempty"`
	Currency    string              `json:"currency,omitempty"`
	Notes       string              `json:"notes,omitempty"`
	Lines       []InvoiceLineParams `json:"lines"`
}

func (p *InvoiceCreateParams) check() error {
	if len(p.Lines) == 0 {
		return errors.New("lines: an invoice needs at least 1 line")
	}
	return nil
}

// InvoiceUpdateParams are the changes to a draft invoice. A nil field is left
// unchanged and stays off the wire; Lines, when set, replaces every line, so
// a non-nil empty Lines (an invoice without lines) is refused before any
// request.
type InvoiceUpdateParams struct {
	InvoiceDate *Date               `json:"invoice_date,omitempty"`
	DueDate     *Date               `json:"due_date,omitempty"`
	Currency    *string             `json:"currency,omitempty"`
	Notes       *string             `json:"notes,omitempty"`
	Lines       []InvoiceLineParams `json:"lines,omitempty"`
}

func (p *InvoiceUpdateParams) check() error {
	if p.Lines != nil && len(p.Lines) == 0 {
		return errors.New("lines: an invoice needs at least 1 line (leave Lines nil to keep the lines)")
	}
	return nil
}

// InvoiceListParams page, sort and filter Invoices.List and Invoices.All.
// Zero filters are not sent.
type InvoiceListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the InvoiceSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy     InvoiceSortBy `url:"sort_by"`
	Status     InvoiceStatus `url:"status"`
	CustomerID string        `url:"customer_id"`
	// DateFrom and DateTo bound the invoice date, both inclusive.
	DateFrom Date `url:"date_from"`
	DateTo   Date `url:"date_to"`
}

// InvoiceSortBy is a field Invoices.List and Invoices.All can sort by: the
// SortBy of InvoiceListParams; the key of another resource does not compile there.
type InvoiceSortBy string

// Fields Invoices can be sorted by.
const (
	InvoiceSortByCreatedAt     InvoiceSortBy = "created_at"
	InvoiceSortByInvoiceDate   InvoiceSortBy = "invoice_date"
	InvoiceSortByDueDate       InvoiceSortBy = "due_date"
	InvoiceSortByTotalAmount   InvoiceSortBy = "total_amount"
	InvoiceSortByInvoiceNumber InvoiceSortBy = "invoice_number"
)

// List returns one page of invoices.
//
// API: GET /invoices
func (s *InvoicesService) List(ctx context.Context, params *InvoiceListParams, opts ...RequestOption) (*Page[Invoice], error) {
	return listOf[Invoice](ctx, s.client, "Invoices.List", "/invoices", params, opts)
}

// All iterates over every invoice, fetching pages as the loop goes.
//
// API: GET /invoices
func (s *InvoicesService) All(ctx context.Context, params *InvoiceListParams, opts ...AllOption) iter.Seq2[*Invoice, error] {
	return allOf[Invoice](ctx, s.client, "Invoices.All", "/invoices", params, opts)
}

// Create creates a draft invoice; the server assigns its number and computes
// its amounts. Params without lines are refused before any request.
//
// API: POST /invoices
func (s *InvoicesService) Create(ctx context.Context, params *InvoiceCreateParams, opts ...PostOption) (*Invoice, error) {
	return create[Invoice](ctx, s.client, "Invoices.Create", "/invoices", params, opts)
}

// Get returns one invoice; an unknown id gets ErrNotFound.
//
// API: GET /invoices/{id}
func (s *InvoicesService) Get(ctx context.Context, id string, opts ...RequestOption) (*Invoice, error) {
	return getItem[Invoice](ctx, s.client, "Invoices.Get", "/invoices/{id}", id, opts)
}

// Update changes the fields of a draft invoice that params sets; the server
// recomputes the totals. An invoice that is not a draft gets ErrConflict.
//
// API: PATCH /invoices/{id}
func (s *InvoicesService) Update(ctx context.Context, id string, params *InvoiceUpdateParams, opts ...RequestOption) (*Invoice, error) {
	return update[Invoice](ctx, s.client, "Invoices.Update", "/invoices/{id}", id, params, opts)
}

// Send moves a draft invoice to sent, which posts it to the ledger and emails
// the customer. An invoice that is not a draft gets ErrConflict.
//
// API: POST /invoices/{id}/send
func (s *InvoicesService) Send(ctx context.Context, id string, opts ...PostOption) (*Invoice, error) {
	return action[Invoice](ctx, s.client, "Invoices.Send", "/invoices/{id}/send", id, opts)
}

// Void voids an invoice for the reason params gives. A paid invoice gets
// ErrConflict.
//
// API: POST /invoices/{id}/void
func (s *InvoicesService) Void(ctx context.Context, id string, params *VoidParams, opts ...PostOption) (*Invoice, error) {
	return actionWith[Invoice](ctx, s.client, "Invoices.Void", "/invoices/{id}/void", id, params, opts)
}

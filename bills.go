package atlas

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// BillsService manages vendor bills. A bill is created as a draft and
// approved before it is paid.
type BillsService service

// BillStatus is where a bill is in its lifecycle: draft -> approved ->
// partial / paid, or void.
type BillStatus string

// Bill statuses.
const (
	BillStatusDraft    BillStatus = "draft"
	BillStatusApproved BillStatus = "approved"
	BillStatusPartial  BillStatus = "partial"
	BillStatusPaid     BillStatus = "paid"
	BillStatusVoid     BillStatus = "void"
)

// Outstanding reports whether a bill in status s is owed to its vendor:
// approved or partial. A draft is not approved yet, a void bill never will
// be and a paid one is settled; only an outstanding bill's AmountDue is a
// payable.
func (s BillStatus) Outstanding() bool {
	return s == BillStatusApproved || s == BillStatusPartial
}

// Bill is a vendor bill. The server computes line amounts, taxes and totals,
// rounding each line to the cent.
type Bill struct {
	ID string `json:"id"`
	// BillNumber is assigned by the server, e.g. BILL-2026-0001.
	BillNumber string `json:"bill_number"`
	// VendorBillNumber is the vendor's own invoice number, or nil.
	VendorBillNumber *string         `json:"vendor_bill_number"`
	VendorID         string          `json:"vendor_id"`
	BillDate         Date            `json:"bill_date"`
	DueDate          Date            `json:"due_date"`
	Currency         string          `json:"currency"`
	Status           BillStatus      `json:"status"`
	Subtotal         decimal.Decimal `json:"subtotal"`
	TaxAmount        decimal.Decimal `json:"tax_amount"`
	TotalAmount      decimal.Decimal `json:"total_amount"`
	AmountPaid       decimal.Decimal `json:"amount_paid"`
	// AmountDue is TotalAmount less AmountPaid, whatever the status: a
	// draft's or a void bill's is its full amount, though nothing is owed on
	// it. Summing AmountDue over Bills.All therefore counts drafts and voids
	// too; to total what the company owes its vendors, add up only approved
	// and partial bills (Status.Outstanding tells which).
	AmountDue decimal.Decimal `json:"amount_due"`
	Notes     *string         `json:"notes"`
	// ApprovedAt is when the bill was approved, nil while it is a draft.
	ApprovedAt *time.Time `json:"approved_at"`
	Lines      []BillLine `json:"lines"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// BillLine is a line of a bill.
type BillLine struct {
	ID          string          `json:"id"`
	LineNumber  int             `json:"line_number"`
	Description string          `json:"description"`
	Quantity    decimal.Decimal `json:"quantity"`
	UnitPrice   decimal.Decimal `json:"unit_price"`
	// Amount is Quantity x UnitPrice, rounded to the cent.
	Amount decimal.Decimal `json:"amount"`
	// ExpenseAccountID is the expense account the line debits.
	ExpenseAccountID string `json:"expense_account_id"`
	// TaxRate is in percent: 8.25 is 8.25 %.
	TaxRate   decimal.Decimal `json:"tax_rate"`
	TaxAmount decimal.Decimal `json:"tax_amount"`
}

// BillLineParams are a line of a new bill (the contract's BillLineCreate).
type BillLineParams struct {
	Description string `json:"description"`
	// Quantity must be > 0; nil stays off the wire and means 1.
	Quantity  *decimal.Decimal `json:"quantity,omitempty"`
	UnitPrice decimal.Decimal  `json:"unit_price"`
	// ExpenseAccountID is the expense account the line debits.
	ExpenseAccountID string `json:"expense_account_id"`
	// TaxRate is in percent (8.25 is 8.25 %); nil stays off the wire and
	// means no tax.
	TaxRate *decimal.Decimal `json:"tax_rate,omitempty"`
}

// BillCreateParams are the fields of a new draft bill. VendorID, BillDate and
// at least one line are required. A nil DueDate is derived from the vendor's
// payment terms; an empty Currency is the vendor's.
type BillCreateParams struct {
	VendorID string `json:"vendor_id"`
	// VendorBillNumber is the vendor's own invoice number (up to 50 characters).
	VendorBillNumber string           `json:"vendor_bill_number,omitempty"`
	BillDate         Date             `json:"bill_date"`
	DueDate          *Date            `json:"due_date,omitempty"`
	Currency         string           `json:"currency,omitempty"`
	Notes            string           `json:"notes,omitempty"`
	Lines            []BillLineParams `json:"lines"`
}

func (p *BillCreateParams) check() error {
	if len(p.Lines) == 0 {
		return errors.New("lines: a bill needs at least 1 line")
	}
	return nil
}

// BillListParams page, sort and filter Bills.List and Bills.All. Zero
// filters are not sent.
type BillListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the BillSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy   BillSortBy `url:"sort_by"`
	Status   BillStatus `url:"status"`
	VendorID string     `url:"vendor_id"`
}

// BillSortBy is a field Bills.List and Bills.All can sort by: the
// SortBy of BillListParams; the key of another resource does not compile there.
type BillSortBy string

// Fields Bills can be sorted by.
const (
	BillSortByCreatedAt   BillSortBy = "created_at"
	BillSortByBillDate    BillSortBy = "bill_date"
	BillSortByDueDate     BillSortBy = "due_date"
	BillSortByTotalAmount BillSortBy = "total_amount"
	BillSortByBillNumber  BillSortBy = "bill_number"
)

// List returns one page of bills.
//
// API: GET /bills
func (s *BillsService) List(ctx context.Context, params *BillListParams, opts ...RequestOption) (*Page[Bill], error) {
	return listOf[Bill](ctx, s.client, "Bills.List", "/bills", params, opts)
}

// All iterates over every bill, fetching pages as the loop goes.
//
// API: GET /bills
func (s *BillsService) All(ctx context.Context, params *BillListParams, opts ...AllOption) iter.Seq2[*Bill, error] {
	return allOf[Bill](ctx, s.client, "Bills.All", "/bills", params, opts)
}

// Create creates a draft bill; the server assigns its number and computes its
// amounts. Params without lines are refused before any request.
//
// API: POST /bills
func (s *BillsService) Create(ctx context.Context, params *BillCreateParams, opts ...PostOption) (*Bill, error) {
	return create[Bill](ctx, s.client, "Bills.Create", "/bills", params, opts)
}

// Get returns one bill; an unknown id gets ErrNotFound.
//
// API: GET /bills/{id}
func (s *BillsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Bill, error) {
	return getItem[Bill](ctx, s.client, "Bills.Get", "/bills/{id}", id, opts)
}

// Approve moves a draft bill to approved. A bill that is not a draft gets
// ErrConflict.
//
// API: POST /bills/{id}/approve
func (s *BillsService) Approve(ctx context.Context, id string, opts ...PostOption) (*Bill, error) {
	return action[Bill](ctx, s.client, "Bills.Approve", "/bills/{id}/approve", id, opts)
}

// Void voids a bill for the reason params gives. A paid bill gets ErrConflict.
//
// API: POST /bills/{id}/void
func (s *BillsService) Void(ctx context.Context, id string, params *VoidParams, opts ...PostOption) (*Bill, error) {
	return actionWith[Bill](ctx, s.client, "Bills.Void", "/bills/{id}/void", id, params, opts)
}

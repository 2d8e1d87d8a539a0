package atlas

import (
	"context"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// PaymentsService records payments received from customers and their
// application to invoices.
type PaymentsService service

// PaymentMethod is how a payment was made.
type PaymentMethod string

// Payment methods.
const (
	PaymentMethodCash       PaymentMethod = "cash"
	PaymentMethodCheck      PaymentMethod = "check"
	PaymentMethodCreditCard PaymentMethod = "credit_card"
	PaymentMethodACH        PaymentMethod = "ach"
	PaymentMethodWire       PaymentMethod = "wire"
	PaymentMethodOther      PaymentMethod = "other"
)

// Payment is a payment received from a customer.
type Payment struct {
	ID string `json:"id"`
	// PaymentNumber is assigned by the server, e.g. PMT-2026-0001.
	PaymentNumber string          `json:"payment_number"`
	CustomerID    string          `json:"customer_id"`
	PaymentDate   Date            `json:"payment_date"`
	Amount        decimal.Decimal `json:"amount"`
	Currency      string          `json:"currency"`
	PaymentMethod PaymentMethod   `json:"payment_method"`
	// DepositAccountID is the cash or bank account the money went into.
	DepositAccountID string `json:"deposit_account_id"`
	// Reference is the payer's reference (check number, transfer id), or nil.
	Reference    *string              `json:"reference"`
	Applications []PaymentApplication `json:"applications"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

// PaymentApplication is the part of a payment applied to one invoice, both in
// a payment and in PaymentCreateParams. AmountApplied must be > 0 and at most
// the invoice's amount due.
type PaymentApplication struct {
	InvoiceID     string          `json:"invoice_id"`
	AmountApplied decimal.Decimal `json:"amount_applied"`
}

// PaymentCreateParams are the fields of a payment received. CustomerID,
// PaymentDate, Amount (> 0), PaymentMethod and DepositAccountID are required.
// Each application reduces its invoice's amount due: an invoice that reaches
// zero becomes paid, one partly paid becomes partial. Applications adding up
// to more than Amount, or more than an invoice's amount due, get
// ErrValidation. An empty Currency is the customer's.
type PaymentCreateParams struct {
	CustomerID    string          `json:"customer_id"`
	PaymentDate   Date            `json:"payment_date"`
	Amount        decimal.Decimal `json:"amount"`
	Currency      string          `json:"currency,omitempty"`
	PaymentMethod PaymentMethod   `json:"payment_method"`
	// DepositAccountID is the cash or bank account the money went into.
	DepositAccountID string               `json:"deposit_account_id"`
	Reference        string               `json:"reference,omitempty"`
	Applications     []PaymentApplication `json:"applications,omitempty"`
}

// PaymentListParams page and sort Payments.List and Payments.All.
type PaymentListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the PaymentSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy PaymentSortBy `url:"sort_by"`
}

// PaymentSortBy is a field Payments.List and Payments.All can sort by: the
// SortBy of PaymentListParams; the key of another resource does not compile there.
type PaymentSortBy string

// Fields Payments can be sorted by.
const (
	PaymentSortByCreatedAt     PaymentSortBy = "created_at"
	PaymentSortByPaymentDate   PaymentSortBy = "payment_date"
	PaymentSortByAmount        PaymentSortBy = "amount"
	PaymentSortByPaymentNumber PaymentSortBy = "payment_number"
)

// List returns one page of payments.
//
// API: GET /payments
func (s *PaymentsService) List(ctx context.Context, params *PaymentListParams, opts ...RequestOption) (*Page[Payment], error) {
	return listOf[Payment](ctx, s.client, "Payments.List", "/payments", params, opts)
}

// All iterates over every payment, fetching pages as the loop goes.
//
// API: GET /payments
func (s *PaymentsService) All(ctx context.Context, params *PaymentListParams, opts ...AllOption) iter.Seq2[*Payment, error] {
	return allOf[Payment](ctx, s.client, "Payments.All", "/payments", params, opts)
}

// Create records a payment received and applies it to the invoices its
// applications name; the server assigns its number.
//
// API: POST /payments
func (s *PaymentsService) Create(ctx context.Context, params *PaymentCreateParams, opts ...PostOption) (*Payment, error) {
	return create[Payment](ctx, s.client, "Payments.Create", "/payments", params, opts)
}

// Get returns one payment; an unknown id gets ErrNotFound.
//
// API: GET /payments/{id}
func (s *PaymentsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Payment, error) {
	return getItem[Payment](ctx, s.client, "Payments.Get", "/payments/{id}", id, opts)
}

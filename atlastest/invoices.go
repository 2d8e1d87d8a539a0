package atlastest

import (
	"net/http"
	"time"

	"github.com/shopspring/decimal"
)

type invoiceLineJSON struct {
	ID               string `json:"id"`
	LineNumber       int    `json:"line_number"`
	Description      string `json:"description"`
	Quantity         string `json:"quantity"`
	UnitPrice        string `json:"unit_price"`
	Amount           string `json:"amount"`
	RevenueAccountID string `json:"revenue_account_id"`
	TaxRate          string `json:"tax_rate"`
	TaxAmount        string `json:"tax_amount"`
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

// invoiceRenderer renders invoices as a client sees them on the day today (YYYY-MM-DD),
// which decides whether an unpaid invoice shows as overdue.
func invoiceRenderer(today string) func(*invoice) invoiceJSON {
	return func(inv *invoice) invoiceJSON {
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
			out.Lines[i] = invoiceLineJSON{
				ID:               l.id,
				LineNumber:       l.lineNumber,
				Description:      l.description,
				Quantity:         plain(l.quantity),
				UnitPrice:        money(l.unitPrice),
				Amount:           money(l.amount),
				RevenueAccountID: l.revenueAccountID,
				TaxRate:          plain(l.taxRate),
				TaxAmount:        money(l.taxAmount),
			}
		}
		return out
	}
}

var invoiceSorts = []sortKey[invoice]{
	byTime("created_at", func(i *invoice) time.Time { return i.createdAt }),
	byString("invoice_date", func(i *invoice) string { return i.invoiceDate }),
	byString("due_date", func(i *invoice) string { return i.dueDate }),
	byDecimal("total_amount", func(i *invoice) decimal.Decimal { return i.total }),
	byString("invoice_number", func(i *invoice) string { return i.number }),
}

// listInvoices is GET /invoices, filtered by status (overdue included, as derived on the
// server's today), customer_id and an invoice_date range.
func (s *Server) listInvoices(r *http.Request, u *user) (int, any, error) {
	q := newQuery(r)
	companyID := companyParam(q)
	p, key := readList(q, invoiceSorts)
	status, hasStatus := q.str("status", oneOf(invoiceStatus...))
	customerID, hasCustomer := q.str("customer_id", isUUIDStr)
	from, hasFrom := q.str("date_from", isDate)
	to, hasTo := q.str("date_to", isDate)
	if err := q.err(); err != nil {
		return 0, nil, err
	}
	if err := s.access(u, companyID); err != nil {
		return 0, nil, err
	}
	today := dateOf(s.clock.now())
	customerID = normalizeUUID(customerID)
	var match func(*invoice) bool
	if hasStatus || hasCustomer || hasFrom || hasTo {
		match = func(inv *invoice) bool {
			return (!hasStatus || inv.statusOn(today) == status) &&
				(!hasCustomer || inv.customerID == customerID) &&
				(!hasFrom || inv.invoiceDate >= from) &&
				(!hasTo || inv.invoiceDate <= to)
		}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return http.StatusOK, paginate(s.st.invoices.sortedBy(companyID, key), p, match, invoiceRenderer(today)), nil
}

// getInvoice is GET /invoices/{id}.
func (s *Server) getInvoice(r *http.Request, u *user) (int, any, error) {
	ref, err := s.itemParams(r, u)
	if err != nil {
		return 0, nil, err
	}
	today := dateOf(s.clock.now())
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	inv, ok := findItem(&s.st.invoices, u, ref)
	if !ok {
		return 0, nil, errNotFound("Invoice")
	}
	return http.StatusOK, invoiceRenderer(today)(inv), nil
}

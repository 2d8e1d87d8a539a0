package atlas_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// sentInvoice creates and sends an invoice of one untaxed line for amount.
func sentInvoice(t *testing.T, c *atlas.Client, srv *atlastest.Server, customer, amount string) *atlas.Invoice {
	t.Helper()
	ctx := context.Background()
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer,
		InvoiceDate: atlas.DateOf(srv.Now()),
		Lines:       []atlas.InvoiceLineParams{{Description: "Services", UnitPrice: money(amount), RevenueAccountID: srv.AccountID("4000")}},
	})
	require.NoError(t, err)
	inv, err = c.Invoices.Send(ctx, inv.ID)
	require.NoError(t, err)
	return inv
}

func TestPaymentsEndToEnd(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	customer := srv.CustomerIDs()[0]
	cash := srv.AccountID("1000")
	a := sentInvoice(t, c, srv, customer, "300.00")
	b := sentInvoice(t, c, srv, customer, "200.00")

	// One payment over two invoices: all of a, part of b.
	p, err := c.Payments.Create(ctx, &atlas.PaymentCreateParams{
		CustomerID:       customer,
		PaymentDate:      atlas.DateOf(srv.Now()),
		Amount:           money("350.00"),
		PaymentMethod:    atlas.PaymentMethodCheck,
		DepositAccountID: cash,
		Reference:        "Check 1042",
		Applications: []atlas.PaymentApplication{
			{InvoiceID: a.ID, AmountApplied: money("300.00")},
			{InvoiceID: b.ID, AmountApplied: money("50.00")},
		},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(p.PaymentNumber, "PMT-"), p.PaymentNumber)
	assert.True(t, p.Amount.Equal(money("350")))
	assert.Equal(t, atlas.PaymentMethodCheck, p.PaymentMethod)
	assert.Equal(t, "USD", p.Currency)
	require.NotNil(t, p.Reference)
	assert.Equal(t, "Check 1042", *p.Reference)
	require.Len(t, p.Applications, 2)

	a2, err := c.Invoices.Get(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusPaid, a2.Status)
	assert.True(t, a2.AmountDue.IsZero())
	b2, err := c.Invoices.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusPartial, b2.Status)
	assert.True(t, b2.AmountDue.Equal(money("150.00")), b2.AmountDue.String())
	assert.True(t, b2.AmountPaid.Equal(money("50.00")), b2.AmountPaid.String())

	// A paid invoice cannot be voided.
	_, err = c.Invoices.Void(ctx, a.ID, &atlas.VoidParams{Reason: "Too late."})
	assert.ErrorIs(t, err, atlas.ErrConflict)

	// More than the invoice still owes is refused, and changes nothing.
	_, err = c.Payments.Create(ctx, &atlas.PaymentCreateParams{
		CustomerID: customer, PaymentDate: atlas.DateOf(srv.Now()), Amount: money("150.01"),
		PaymentMethod: atlas.PaymentMethodCash, DepositAccountID: cash,
		Applications: []atlas.PaymentApplication{{InvoiceID: b.ID, AmountApplied: money("150.01")}},
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrValidation)
	assert.NotEmpty(t, apiError(t, err).Errors)
	b3, err := c.Invoices.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, b2, b3)

	got, err := c.Payments.Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p, got)

	page, err := c.Payments.List(ctx, &atlas.PaymentListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortDesc}, SortBy: atlas.PaymentSortByAmount})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	assert.Equal(t, p.ID, page.Items[0].ID)
	all := collect(t, c.Payments.All(ctx, nil))
	require.Len(t, all, 1)
	assert.Equal(t, *p, *all[0])
}

package atlas_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// TestInvoicesAllAtScale lists 2,500 invoices with All and checks that each
// comes exactly once and in the requested order.
func TestInvoicesAllAtScale(t *testing.T) {
	const n = 2500
	c, _ := newTestClient(t, atlastest.WithInvoices(n))
	ctx := context.Background()

	cases := []struct {
		name    string
		opts    atlas.ListOptions
		inOrder func(a, b *atlas.Invoice) bool
	}{
		{"invoice_number asc", atlas.ListOptions{SortBy: atlas.InvoiceSortByInvoiceNumber, SortOrder: atlas.SortAsc},
			func(a, b *atlas.Invoice) bool { return a.InvoiceNumber < b.InvoiceNumber }},
		{"total_amount desc", atlas.ListOptions{SortBy: atlas.InvoiceSortByTotalAmount, SortOrder: atlas.SortDesc, PageSize: 77},
			func(a, b *atlas.Invoice) bool { return a.TotalAmount.GreaterThanOrEqual(b.TotalAmount) }},
		{"invoice_date asc", atlas.ListOptions{SortBy: atlas.InvoiceSortByInvoiceDate, SortOrder: atlas.SortAsc},
			func(a, b *atlas.Invoice) bool { return !b.InvoiceDate.Before(a.InvoiceDate) }},
		{"default (created_at desc)", atlas.ListOptions{},
			func(a, b *atlas.Invoice) bool { return !a.CreatedAt.Before(b.CreatedAt) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := collect(t, c.Invoices.All(ctx, &atlas.InvoiceListParams{ListOptions: tc.opts}))
			require.Len(t, all, n)
			seen := make(map[string]bool, n)
			for i, inv := range all {
				require.False(t, seen[inv.ID], "invoice %s came twice", inv.ID)
				seen[inv.ID] = true
				if i > 0 {
					require.True(t, tc.inOrder(all[i-1], inv), "items %d and %d out of order", i-1, i)
				}
			}
		})
	}
}

func TestInvoicesListFilters(t *testing.T) {
	c, _ := newTestClient(t, atlastest.WithInvoices(300))
	ctx := context.Background()

	total := 0
	for _, status := range []atlas.InvoiceStatus{atlas.InvoiceStatusDraft, atlas.InvoiceStatusSent, atlas.InvoiceStatusPartial,
		atlas.InvoiceStatusPaid, atlas.InvoiceStatusOverdue, atlas.InvoiceStatusVoid} {
		page, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{Status: status, ListOptions: atlas.ListOptions{PageSize: 100}})
		require.NoError(t, err)
		for _, inv := range page.Items {
			assert.Equal(t, status, inv.Status)
		}
		total += page.Total
	}
	assert.Equal(t, 300, total, "every invoice has exactly one status")

	// The filters keep exactly the invoices a local filter over all of them keeps.
	everything := collect(t, c.Invoices.All(ctx, nil))
	require.Len(t, everything, 300)
	pivot := everything[len(everything)/2]
	customer, from, to := pivot.CustomerID, pivot.InvoiceDate.AddDays(-20), pivot.InvoiceDate.AddDays(20)
	want := map[string]bool{}
	for _, inv := range everything {
		if inv.CustomerID == customer && !inv.InvoiceDate.Before(from) && !inv.InvoiceDate.After(to) {
			want[inv.ID] = true
		}
	}
	filtered := collect(t, c.Invoices.All(ctx, &atlas.InvoiceListParams{CustomerID: customer, DateFrom: from, DateTo: to}))
	require.NotEmpty(t, filtered)
	kept := map[string]bool{}
	for _, inv := range filtered {
		kept[inv.ID] = true
	}
	assert.Equal(t, want, kept)

	first, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{ListOptions: atlas.ListOptions{PageSize: 1}})
	require.NoError(t, err)
	require.Len(t, first.Items, 1)
	got, err := c.Invoices.Get(ctx, first.Items[0].ID)
	require.NoError(t, err)
	assert.Equal(t, first.Items[0], *got)
	require.NotEmpty(t, got.Lines)
	sum := got.Lines[0].Amount.Add(got.Lines[0].TaxAmount)
	for _, l := range got.Lines[1:] {
		sum = sum.Add(l.Amount).Add(l.TaxAmount)
	}
	assert.True(t, sum.Equal(got.TotalAmount))
	assert.True(t, got.AmountDue.Equal(got.TotalAmount.Sub(got.AmountPaid)))
}

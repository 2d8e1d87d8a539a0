package atlas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// TestInvoicesAllAtScale lists 2,500 invoices with All and checks that each
// comes exactly once and in the requested order.
func TestInvoicesAllAtScale(t *testing.T) {
	t.Parallel()
	const n = 800
	c, _ := atlas.Setup(t, atlas.ServerOptions(atlastest.WithInvoices(n)))
	ctx := context.Background()

	cases := []struct {
		name    string
		sortBy  atlas.InvoiceSortBy
		opts    atlas.ListOptions
		inOrder func(a, b *atlas.Invoice) bool
	}{
		{"invoice_number asc", atlas.InvoiceSortByInvoiceNumber, atlas.ListOptions{SortOrder: atlas.SortAsc},
			func(a, b *atlas.Invoice) bool { return a.InvoiceNumber < b.InvoiceNumber }},
		{"total_amount desc", atlas.InvoiceSortByTotalAmount, atlas.ListOptions{SortOrder: atlas.SortDesc, PageSize: 77},
			func(a, b *atlas.Invoice) bool { return a.TotalAmount.GreaterThanOrEqual(b.TotalAmount) }},
		{"invoice_date asc", atlas.InvoiceSortByInvoiceDate, atlas.ListOptions{SortOrder: atlas.SortAsc},
			func(a, b *atlas.Invoice) bool { return !b.InvoiceDate.Before(a.InvoiceDate) }},
		{"default (created_at desc)", "", atlas.ListOptions{},
			func(a, b *atlas.Invoice) bool { return !a.CreatedAt.Before(b.CreatedAt) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			all := collect(t, c.Invoices.All(ctx, &atlas.InvoiceListParams{ListOptions: tc.opts, SortBy: tc.sortBy}))
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
	t.Parallel()
	c, _ := atlas.Setup(t, atlas.ServerOptions(atlastest.WithInvoices(300)))
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

func TestInvoiceLifecycle(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	today := atlas.DateOf(srv.Now())
	customer := srv.CustomerIDs()[0]
	sales, service := srv.AccountID("4000"), srv.AccountID("4100")

	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer,
		InvoiceDate: today,
		Notes:       "Thank you.",
		Lines: []atlas.InvoiceLineParams{
			// 3 x 33.335 = 100.005, rounded half away from zero to 100.01; 8.25 % of it is 8.250825 -> 8.25.
			{Description: "Widgets", Quantity: atlas.Ptr(money("3")), UnitPrice: money("33.335"), RevenueAccountID: sales, TaxRate: atlas.Ptr(money("8.25"))},
			// Quantity left unset: the server's default, 1.
			{Description: "Installation", UnitPrice: money("1500.00"), RevenueAccountID: service},
		},
	})
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusDraft, inv.Status)
	assert.True(t, strings.HasPrefix(inv.InvoiceNumber, "INV-"), inv.InvoiceNumber)
	assert.Equal(t, customer, inv.CustomerID)
	assert.Equal(t, today, inv.InvoiceDate)
	assert.True(t, inv.DueDate.After(today), "due date %s derived from the customer's terms", inv.DueDate)
	assert.Nil(t, inv.SentAt)
	require.Len(t, inv.Lines, 2)
	assert.Equal(t, 1, inv.Lines[0].LineNumber)
	assert.Equal(t, 2, inv.Lines[1].LineNumber)
	assert.True(t, inv.Lines[0].Amount.Equal(money("100.01")), inv.Lines[0].Amount.String())
	assert.True(t, inv.Lines[0].TaxAmount.Equal(money("8.25")), inv.Lines[0].TaxAmount.String())
	assert.True(t, inv.Lines[1].Quantity.Equal(money("1")), inv.Lines[1].Quantity.String())
	assert.True(t, inv.Lines[1].TaxRate.IsZero())
	assert.True(t, inv.Subtotal.Equal(money("1600.01")), inv.Subtotal.String())
	assert.True(t, inv.TaxAmount.Equal(money("8.25")), inv.TaxAmount.String())
	assert.True(t, inv.TotalAmount.Equal(money("1608.26")), inv.TotalAmount.String())
	assert.True(t, inv.AmountPaid.IsZero())
	assert.True(t, inv.AmountDue.Equal(inv.TotalAmount))

	due := today.AddDays(45)
	edited, err := c.Invoices.Update(ctx, inv.ID, &atlas.InvoiceUpdateParams{DueDate: &due, Notes: atlas.Ptr("")})
	require.NoError(t, err)
	patch := lastRequest(t, srv, http.MethodPatch, "/invoices/"+inv.ID)
	assert.JSONEq(t, `{"due_date":"`+due.String()+`","notes":""}`, string(patch.Body))
	assert.Equal(t, due, edited.DueDate)
	require.NotNil(t, edited.Notes)
	assert.Empty(t, *edited.Notes)
	assert.Equal(t, inv.InvoiceDate, edited.InvoiceDate)
	assert.Equal(t, inv.Lines, edited.Lines)

	edited, err = c.Invoices.Update(ctx, inv.ID, &atlas.InvoiceUpdateParams{Lines: []atlas.InvoiceLineParams{
		{Description: "Widgets", Quantity: atlas.Ptr(money("2")), UnitPrice: money("0.10"), RevenueAccountID: sales},
		{Description: "More widgets", Quantity: atlas.Ptr(money("2")), UnitPrice: money("0.20"), RevenueAccountID: sales},
	}})
	require.NoError(t, err)
	assert.True(t, edited.TotalAmount.Equal(money("0.60")), edited.TotalAmount.String())
	assert.Equal(t, due, edited.DueDate, "fields the update did not set keep their values")

	sent, err := c.Invoices.Send(ctx, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusSent, sent.Status)
	require.NotNil(t, sent.SentAt)

	_, err = c.Invoices.Update(ctx, inv.ID, &atlas.InvoiceUpdateParams{Notes: atlas.Ptr("too late")})
	assert.ErrorIs(t, err, atlas.ErrConflict)
	_, err = c.Invoices.Send(ctx, inv.ID)
	assert.ErrorIs(t, err, atlas.ErrConflict)

	voided, err := c.Invoices.Void(ctx, inv.ID, &atlas.VoidParams{Reason: "Issued to the wrong customer."})
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusVoid, voided.Status)
	_, err = c.Invoices.Void(ctx, inv.ID, &atlas.VoidParams{Reason: "Again."})
	assert.ErrorIs(t, err, atlas.ErrConflict)

	got, err := c.Invoices.Get(ctx, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, voided, got)
}

func TestInvoiceValidationErrorsNameTheField(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	_, err := c.Invoices.Create(context.Background(), &atlas.InvoiceCreateParams{
		CustomerID:  srv.CustomerIDs()[0],
		InvoiceDate: atlas.DateOf(srv.Now()),
		Lines:       []atlas.InvoiceLineParams{{Description: "Free lunch", Quantity: atlas.Ptr(money("0")), UnitPrice: money("1"), RevenueAccountID: srv.AccountID("4000")}},
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrValidation)
	e := apiError(t, err)
	require.NotEmpty(t, e.Errors)
	assert.Equal(t, "lines.0.quantity", e.Errors[0].Field)
}

// Create a draft invoice with two lines and send it. The server computes the
// amounts; money is decimal.Decimal, never a float.
func ExampleInvoicesService_Create() {
	srv := atlastest.NewServer()
	defer srv.Close()
	client, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	inv, err := client.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  srv.CustomerIDs()[0],
		InvoiceDate: atlas.DateOf(time.Now()),
		Lines: []atlas.InvoiceLineParams{
			{Description: "Consulting", Quantity: atlas.Ptr(decimal.NewFromInt(10)), UnitPrice: decimal.RequireFromString("150.00"),
				RevenueAccountID: srv.AccountID("4000"), TaxRate: atlas.Ptr(decimal.RequireFromString("8.25"))},
			{Description: "Travel", UnitPrice: decimal.RequireFromString("0.10"), RevenueAccountID: srv.AccountID("4000")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.Subtotal.StringFixed(2), inv.TaxAmount.StringFixed(2), inv.TotalAmount.StringFixed(2))

	inv, err = client.Invoices.Send(ctx, inv.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status)
	// Output:
	// draft 1500.10 123.75 1623.85
	// sent
}

// List invoices page by page with All; the loop can stop at any point.
func ExampleInvoicesService_All() {
	srv := atlastest.NewServer(atlastest.WithInvoices(250))
	defer srv.Close()
	client, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithCompany(srv.CompanyID()))
	if err != nil {
		log.Fatal(err)
	}

	n, due := 0, decimal.Zero
	params := &atlas.InvoiceListParams{Status: atlas.InvoiceStatusDraft, ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc}, SortBy: atlas.InvoiceSortByDueDate}
	for inv, err := range client.Invoices.All(context.Background(), params) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		due = due.Add(inv.AmountDue)
	}
	fmt.Println(n > 0, due.IsPositive())
	// Output: true true
}

// BenchmarkDecodeInvoicePage decodes a full page (100) of the contract's
// example invoice, the SDK's heaviest model: decimals, dates and lines.
func BenchmarkDecodeInvoicePage(b *testing.B) {
	item := `{"id":"4c5d6e7f-8091-4a2b-bc3d-4e5f60718293","invoice_number":"INV-2026-0001","customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321",
	"invoice_date":"2026-01-15","due_date":"2026-02-14","currency":"USD","status":"sent","subtotal":"1500.00","tax_amount":"123.75",
	"total_amount":"1623.75","amount_paid":"0.00","amount_due":"1623.75","notes":"Thank you.","sent_at":"2026-01-15T10:30:00Z",
	"lines":[{"id":"5d6e7f80-91a2-4b3c-8d4e-5f6071829304","line_number":1,"description":"Consulting","quantity":"10","unit_price":"150.00",
	"amount":"1500.00","revenue_account_id":"2b3c4d5e-6f70-4812-93a4-b5c6d7e8f901","tax_rate":"8.25","tax_amount":"123.75"}],
	"created_at":"2026-01-15T09:12:00Z","updated_at":"2026-01-15T10:30:00Z"}`
	page := []byte(`{"items":[` + strings.TrimSuffix(strings.Repeat(item+",", 100), ",") + `],"total":100,"page":1,"page_size":100,"has_next":false}`)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for range b.N {
		var p atlas.Page[atlas.Invoice]
		if err := json.Unmarshal(page, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInvoiceStatusOutstanding(t *testing.T) {
	t.Parallel()
	want := map[atlas.InvoiceStatus]bool{
		atlas.InvoiceStatusDraft: false, atlas.InvoiceStatusSent: true, atlas.InvoiceStatusPartial: true,
		atlas.InvoiceStatusPaid: false, atlas.InvoiceStatusOverdue: true, atlas.InvoiceStatusVoid: false,
		"": false, "archived": false,
	}
	for s, w := range want {
		assert.Equal(t, w, s.Outstanding(), "%q", s)
	}
	assert.Len(t, want, len(enums["InvoiceStatus"])+2, "every status of the contract has a case")
}

// TestReceivablesByOutstandingAndSub holds the rule that the AmountDue docs
// and the aging example teach against atlastest: the AmountDue of the
// outstanding invoices adds up to the customers' balances (while every
// invoice's adds up to more), and the invoices that Sub finds past due on the
// server's day are the ones the server lists as overdue.
func TestReceivablesByOutstandingAndSub(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, time.June, 30, 12, 0, 0, 0, time.UTC)
	c, _ := atlas.Setup(t, atlas.ServerOptions(atlastest.WithInvoices(250), atlastest.WithClock(atlastest.FixedClock(day))))
	ctx := context.Background()
	today := atlas.DateOf(day)

	var owed, pastDue, all decimal.Decimal
	for _, inv := range collect(t, c.Invoices.All(ctx, nil)) {
		all = all.Add(inv.AmountDue)
		if !inv.Status.Outstanding() {
			continue
		}
		owed = owed.Add(inv.AmountDue)
		if today.Sub(inv.DueDate) > 0 {
			pastDue = pastDue.Add(inv.AmountDue)
		}
	}
	var balances decimal.Decimal
	for _, cu := range collect(t, c.Customers.All(ctx, nil)) {
		balances = balances.Add(cu.CurrentBalance)
	}
	var overdue decimal.Decimal
	for _, inv := range collect(t, c.Invoices.All(ctx, &atlas.InvoiceListParams{Status: atlas.InvoiceStatusOverdue})) {
		overdue = overdue.Add(inv.AmountDue)
	}
	require.True(t, owed.IsPositive())
	assert.True(t, owed.Equal(balances), "outstanding AmountDue %s, customer balances %s", owed, balances)
	assert.True(t, all.GreaterThan(owed), "every invoice's AmountDue %s counts drafts and voids", all)
	assert.True(t, pastDue.IsPositive())
	assert.True(t, pastDue.Equal(overdue), "past due by Sub %s, overdue by the server %s", pastDue, overdue)
}

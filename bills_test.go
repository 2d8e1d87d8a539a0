package atlas_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// TestBillApprovedAndVoided approves a bill, which puts it in accounts
// payable, and voids it, which takes it out again.
func TestBillApprovedAndVoided(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t, atlas.ServerOptions(onStoryDay()))
	ctx := context.Background()
	vendor := srv.VendorIDs()[0]
	supplies := accountByNumber(t, c, atlas.AccountTypeExpense, "6100")

	bill, err := c.Bills.Create(ctx, &atlas.BillCreateParams{
		VendorID:         vendor,
		VendorBillNumber: "OS-44817",
		BillDate:         mar10,
		Notes:            "Quarterly restock",
		Lines: []atlas.BillLineParams{
			{Description: "Printer paper", Quantity: atlas.Ptr(money("3")), UnitPrice: money("140.00"), ExpenseAccountID: supplies.ID},
			{Description: "Toner", UnitPrice: money("89.99"), ExpenseAccountID: supplies.ID, TaxRate: atlas.Ptr(money("10"))},
		},
	})
	require.NoError(t, err)
	assert.Equal(t, atlas.BillStatusDraft, bill.Status)
	assert.True(t, strings.HasPrefix(bill.BillNumber, "BILL-"), bill.BillNumber)
	require.NotNil(t, bill.VendorBillNumber)
	assert.Equal(t, "OS-44817", *bill.VendorBillNumber)
	assert.Nil(t, bill.ApprovedAt)
	assert.True(t, bill.DueDate.After(mar10))
	require.Len(t, bill.Lines, 2)
	assertMoney(t, "420.00", bill.Lines[0].Amount)
	assertMoney(t, "1", bill.Lines[1].Quantity)
	assertMoney(t, "9.00", bill.Lines[1].TaxAmount) // 8.999 -> 9.00
	assertMoney(t, "509.99", bill.Subtotal)
	assertMoney(t, "518.99", bill.TotalAmount)
	assertMoney(t, "518.99", bill.AmountDue)

	approved, err := c.Bills.Approve(ctx, bill.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.BillStatusApproved, approved.Status)
	require.NotNil(t, approved.ApprovedAt)
	assert.Equal(t, storyDay, *approved.ApprovedAt)

	bs, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assertMoney(t, "518.99", balanceOf(bs, "2000"), "accounts payable")
	assertBalanceSheetAddsUp(t, bs)
	pl, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: mar1, PeriodEnd: mar31})
	require.NoError(t, err)
	assertMoney(t, "518.99", amountOf(pl.OperatingExpenses, "6100"), "office supplies")
	assertMoney(t, "-518.99", pl.NetIncome)

	_, err = c.Bills.Approve(ctx, bill.ID)
	assert.ErrorIs(t, err, atlas.ErrConflict)

	voided, err := c.Bills.Void(ctx, bill.ID, &atlas.VoidParams{Reason: "Duplicate of BILL-2026-0003."})
	require.NoError(t, err)
	assert.Equal(t, atlas.BillStatusVoid, voided.Status)
	_, err = c.Bills.Void(ctx, bill.ID, &atlas.VoidParams{Reason: "Again."})
	assert.ErrorIs(t, err, atlas.ErrConflict)

	bs, err = c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assertMoney(t, "0", balanceOf(bs, "2000"), "accounts payable after the void")
	assertBalanceSheetAddsUp(t, bs)

	got, err := c.Bills.Get(ctx, bill.ID)
	require.NoError(t, err)
	assert.Equal(t, voided, got)

	page, err := c.Bills.List(ctx, &atlas.BillListParams{Status: atlas.BillStatusVoid, VendorID: vendor})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	assert.Equal(t, bill.ID, page.Items[0].ID)
	none, err := c.Bills.List(ctx, &atlas.BillListParams{Status: atlas.BillStatusApproved})
	require.NoError(t, err)
	assert.Zero(t, none.Total)

	all := collect(t, c.Bills.All(ctx, &atlas.BillListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc}, SortBy: atlas.BillSortByBillNumber}))
	require.Len(t, all, 1)
	assert.Equal(t, *voided, *all[0])
}

func TestBillStatusOutstanding(t *testing.T) {
	t.Parallel()
	want := map[atlas.BillStatus]bool{
		atlas.BillStatusDraft: false, atlas.BillStatusApproved: true, atlas.BillStatusPartial: true,
		atlas.BillStatusPaid: false, atlas.BillStatusVoid: false, "": false, "overdue": false,
	}
	for s, w := range want {
		assert.Equal(t, w, s.Outstanding(), "%q", s)
	}
	assert.Len(t, want, len(enums["BillStatus"])+2, "every status of the contract has a case")
}

package atlas_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// rentAccrual is a journal entry of rent (6000) against accrued liabilities
// (2100) on date, debiting debit and crediting credit.
func rentAccrual(t *testing.T, c *atlas.Client, date atlas.Date, debit, credit string) *atlas.JournalEntryCreateParams {
	t.Helper()
	rent := accountByNumber(t, c, atlas.AccountTypeExpense, "6000")
	accrued := accountByNumber(t, c, atlas.AccountTypeLiability, "2100")
	return &atlas.JournalEntryCreateParams{
		EntryDate:   date,
		Description: "Accrue rent",
		Lines: []atlas.JournalEntryLineParams{
			{AccountID: rent.ID, EntryType: atlas.EntryTypeDebit, Amount: money(debit), Description: "Rent"},
			{AccountID: accrued.ID, EntryType: atlas.EntryTypeCredit, Amount: money(credit)},
		},
	}
}

func TestBalancedJournalEntryPostedAndVoided(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t, atlas.ServerOptions(onStoryDay()))
	ctx := context.Background()

	je, err := c.JournalEntries.Create(ctx, rentAccrual(t, c, mar10, "2500.00", "2500.00"))
	require.NoError(t, err)
	assert.Equal(t, atlas.JournalEntryStatusDraft, je.Status)
	assert.NotEmpty(t, je.EntryNumber)
	assert.Equal(t, mar10, je.EntryDate)
	assert.Nil(t, je.PostedAt)
	assertMoney(t, "2500.00", je.TotalAmount)
	require.Len(t, je.Lines, 2)
	assert.Equal(t, atlas.EntryTypeDebit, je.Lines[0].EntryType)
	require.NotNil(t, je.Lines[0].Description)
	assert.Equal(t, "Rent", *je.Lines[0].Description)
	assert.Nil(t, je.Lines[1].Description)

	// A draft does not touch the books.
	pl, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: mar1, PeriodEnd: mar31})
	require.NoError(t, err)
	assertMoney(t, "0", pl.OperatingExpenses.Total)

	posted, err := c.JournalEntries.Post(ctx, je.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.JournalEntryStatusPosted, posted.Status)
	require.NotNil(t, posted.PostedAt)
	assert.Equal(t, storyDay, *posted.PostedAt)
	_, err = c.JournalEntries.Post(ctx, je.ID)
	assert.ErrorIs(t, err, atlas.ErrConflict)

	pl, err = c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: mar1, PeriodEnd: mar31})
	require.NoError(t, err)
	assertMoney(t, "2500.00", amountOf(pl.OperatingExpenses, "6000"))
	assertMoney(t, "-2500.00", pl.NetIncome)
	bs, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assertMoney(t, "2500.00", balanceOf(bs, "2100"))
	assertMoney(t, "-2500.00", balanceOf(bs, "3900"))
	assertBalanceSheetAddsUp(t, bs)

	page, err := c.JournalEntries.List(ctx, &atlas.JournalEntryListParams{Status: atlas.JournalEntryStatusPosted, DateFrom: mar1, DateTo: mar31})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	assert.Equal(t, *posted, page.Items[0])
	empty, err := c.JournalEntries.List(ctx, &atlas.JournalEntryListParams{DateFrom: feb1, DateTo: feb28})
	require.NoError(t, err)
	assert.Zero(t, empty.Total)

	voided, err := c.JournalEntries.Void(ctx, je.ID, &atlas.VoidParams{Reason: "Rent was accrued twice."})
	require.NoError(t, err)
	assert.Equal(t, atlas.JournalEntryStatusVoid, voided.Status)
	_, err = c.JournalEntries.Void(ctx, je.ID, &atlas.VoidParams{Reason: "Again."})
	assert.ErrorIs(t, err, atlas.ErrConflict)

	bs, err = c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assertMoney(t, "0", balanceOf(bs, "2100"), "the void reverses the posting")
	assertBalanceSheetAddsUp(t, bs)

	got, err := c.JournalEntries.Get(ctx, je.ID)
	require.NoError(t, err)
	assert.Equal(t, voided, got)
	all := collect(t, c.JournalEntries.All(ctx, &atlas.JournalEntryListParams{SortBy: atlas.JournalEntrySortByEntryDate}))
	require.Len(t, all, 1)
	assert.Equal(t, *voided, *all[0])
}

// TestUnbalancedJournalEntryIsAFieldError checks that the server's 422 for an
// entry whose debits and credits differ reaches the caller as a FieldError.
func TestUnbalancedJournalEntryIsAFieldError(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t, atlas.ServerOptions(onStoryDay()))
	_, err := c.JournalEntries.Create(context.Background(), rentAccrual(t, c, mar10, "2500.00", "2400.00"))
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrValidation)
	e := apiError(t, err)
	assert.Equal(t, http.StatusUnprocessableEntity, e.StatusCode)
	require.Len(t, e.Errors, 1)
	assert.Equal(t, "lines", e.Errors[0].Field)
	assert.Contains(t, e.Errors[0].Message, "2500.00")
	assert.Contains(t, e.Errors[0].Message, "2400.00")
	assert.Contains(t, err.Error(), "lines")

	page, err := c.JournalEntries.List(context.Background(), nil)
	require.NoError(t, err)
	assert.Zero(t, page.Total, "nothing was created")
}

// TestClosedPeriodRefusesAnEntry closes March and checks that an entry dated
// in it is refused with ErrConflict, while April still takes one.
func TestClosedPeriodRefusesAnEntry(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t, atlas.ServerOptions(onStoryDay()))
	ctx := context.Background()

	// A draft made while March is open cannot be posted once it closes.
	draft, err := c.JournalEntries.Create(ctx, rentAccrual(t, c, mar10, "100.00", "100.00"))
	require.NoError(t, err)

	var march *atlas.Period
	for p, err := range c.Periods.All(ctx, nil) {
		require.NoError(t, err)
		if p.StartDate == mar1 {
			march = p
		}
	}
	require.NotNil(t, march)
	assert.Equal(t, mar31, march.EndDate)
	closed, err := c.Periods.Close(ctx, march.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.PeriodStatusClosed, closed.Status)

	_, err = c.JournalEntries.Create(ctx, rentAccrual(t, c, mar31, "2500.00", "2500.00"))
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrConflict)
	assert.Equal(t, http.StatusConflict, apiError(t, err).StatusCode)

	_, err = c.JournalEntries.Post(ctx, draft.ID)
	assert.ErrorIs(t, err, atlas.ErrConflict)

	april, err := c.JournalEntries.Create(ctx, rentAccrual(t, c, mar31.AddDays(1), "2500.00", "2500.00"))
	require.NoError(t, err)
	assert.Equal(t, atlas.JournalEntryStatusDraft, april.Status)
}

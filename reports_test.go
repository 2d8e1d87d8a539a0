package atlas_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// storyDay is the server's today in the tests that check amounts to the cent.
var storyDay = time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)

var (
	mar1  = atlas.NewDate(2026, time.March, 1)
	mar10 = atlas.NewDate(2026, time.March, 10)
	mar31 = atlas.NewDate(2026, time.March, 31)
	feb1  = atlas.NewDate(2026, time.February, 1)
	feb28 = atlas.NewDate(2026, time.February, 28)
)

// onStoryDay makes a server's clock stand still on storyDay.
func onStoryDay() atlastest.Option { return atlastest.WithClock(atlastest.FixedClock(storyDay)) }

// accountByNumber finds an account through the SDK, as a user would.
func accountByNumber(t *testing.T, c *atlas.Client, typ atlas.AccountType, number string) *atlas.Account {
	t.Helper()
	for a, err := range c.Accounts.All(context.Background(), &atlas.AccountListParams{AccountType: typ}) {
		require.NoError(t, err)
		if a.AccountNumber == number {
			return a
		}
	}
	t.Fatalf("no %s account %s", typ, number)
	return nil
}

// balanceOf returns the balance of the account numbered number on the balance
// sheet, zero when it is not listed.
func balanceOf(bs *atlas.BalanceSheetReport, number string) decimal.Decimal {
	for _, cat := range []atlas.BalanceSheetCategory{bs.Assets, bs.Liabilities, bs.Equity} {
		for _, sec := range cat.Sections {
			for _, it := range sec.Items {
				if it.AccountNumber == number {
					return it.Balance
				}
			}
		}
	}
	return decimal.Zero
}

// amountOf returns the amount of the account numbered number in a profit and
// loss category, zero when it is not listed.
func amountOf(cat atlas.ProfitLossCategory, number string) decimal.Decimal {
	for _, sec := range cat.Sections {
		for _, it := range sec.Items {
			if it.AccountNumber == number {
				return it.Amount
			}
		}
	}
	return decimal.Zero
}

// assertBalanceSheetAddsUp checks the report's arithmetic: items add up to
// subtotals, subtotals to totals, and assets to liabilities plus equity.
func assertBalanceSheetAddsUp(t *testing.T, bs *atlas.BalanceSheetReport) {
	t.Helper()
	for _, cat := range []atlas.BalanceSheetCategory{bs.Assets, bs.Liabilities, bs.Equity} {
		total := decimal.Zero
		for _, sec := range cat.Sections {
			sub := decimal.Zero
			for _, it := range sec.Items {
				sub = sub.Add(it.Balance)
			}
			assert.True(t, sub.Equal(sec.Subtotal), "%s / %s: items %s, subtotal %s", cat.Name, sec.Name, sub, sec.Subtotal)
			total = total.Add(sec.Subtotal)
		}
		assert.True(t, total.Equal(cat.Total), "%s: sections %s, total %s", cat.Name, total, cat.Total)
	}
	assert.True(t, bs.Assets.Total.Equal(bs.TotalAssets))
	assert.True(t, bs.Liabilities.Total.Add(bs.Equity.Total).Equal(bs.TotalLiabilitiesAndEquity))
	assert.True(t, bs.TotalAssets.Equal(bs.TotalLiabilitiesAndEquity), "assets %s, liabilities and equity %s", bs.TotalAssets, bs.TotalLiabilitiesAndEquity)
	assert.True(t, bs.IsBalanced)
}

func assertMoney(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, money(want).Equal(got), append([]any{"want %s, got %s", want, got}, msgAndArgs...)...)
}

// TestAccountingStory follows one sale from customer to financial statements:
// a customer, an invoice with two lines, sending it, a partial payment, the
// rest of the payment, then the profit and loss for the period and the
// balance sheet, to the cent.
func TestAccountingStory(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t, atlas.ServerOptions(onStoryDay()))
	ctx := context.Background()
	sales := accountByNumber(t, c, atlas.AccountTypeRevenue, "4000")
	cash := accountByNumber(t, c, atlas.AccountTypeAsset, "1000")

	cust, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Acme Rockets", PaymentTerms: atlas.PaymentTermsNet30})
	require.NoError(t, err)

	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  cust.ID,
		InvoiceDate: mar10,
		Lines: []atlas.InvoiceLineParams{
			{Description: "Launch consulting", Quantity: atlas.Ptr(money("10")), UnitPrice: money("150.00"), RevenueAccountID: sales.ID, TaxRate: atlas.Ptr(money("8.25"))},
			{Description: "Fuel samples", Quantity: atlas.Ptr(money("3")), UnitPrice: money("33.335"), RevenueAccountID: sales.ID},
		},
	})
	require.NoError(t, err)
	// 1500.00 + 123.75 tax; 3 x 33.335 = 100.005 -> 100.01.
	assertMoney(t, "1600.01", inv.Subtotal)
	assertMoney(t, "123.75", inv.TaxAmount)
	assertMoney(t, "1723.76", inv.TotalAmount)
	assert.Equal(t, mar10.AddDays(30), inv.DueDate, "net 30")

	inv, err = c.Invoices.Send(ctx, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusSent, inv.Status)

	bs, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assertMoney(t, "1723.76", balanceOf(bs, "1200"), "receivable once sent")
	assertBalanceSheetAddsUp(t, bs)

	pay := func(amount string) *atlas.Invoice {
		t.Helper()
		p, err := c.Payments.Create(ctx, &atlas.PaymentCreateParams{
			CustomerID: cust.ID, PaymentDate: mar10, Amount: money(amount), PaymentMethod: atlas.PaymentMethodACH,
			DepositAccountID: cash.ID, Applications: []atlas.PaymentApplication{{InvoiceID: inv.ID, AmountApplied: money(amount)}},
		})
		require.NoError(t, err)
		assertMoney(t, amount, p.Amount)
		got, err := c.Invoices.Get(ctx, inv.ID)
		require.NoError(t, err)
		return got
	}
	inv = pay("1000.00")
	assert.Equal(t, atlas.InvoiceStatusPartial, inv.Status)
	assertMoney(t, "1000.00", inv.AmountPaid)
	assertMoney(t, "723.76", inv.AmountDue)

	inv = pay("723.76")
	assert.Equal(t, atlas.InvoiceStatusPaid, inv.Status)
	assertMoney(t, "1723.76", inv.AmountPaid)
	assert.True(t, inv.AmountDue.IsZero())

	cust, err = c.Customers.Get(ctx, cust.ID)
	require.NoError(t, err)
	assert.True(t, cust.CurrentBalance.IsZero(), "nothing left to receive: %s", cust.CurrentBalance)

	pl, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: mar1, PeriodEnd: mar31})
	require.NoError(t, err)
	assert.Equal(t, mar1, pl.PeriodStart)
	assert.Equal(t, mar31, pl.PeriodEnd)
	assert.Equal(t, "USD", pl.Currency)
	assert.Equal(t, storyDay, pl.GeneratedAt)
	assertMoney(t, "1600.01", pl.Revenue.Total)
	assertMoney(t, "1600.01", amountOf(pl.Revenue, "4000"))
	assertMoney(t, "0", pl.OperatingExpenses.Total)
	if pl.CostOfGoodsSold != nil {
		assertMoney(t, "0", pl.CostOfGoodsSold.Total)
		require.NotNil(t, pl.GrossProfit)
		assertMoney(t, "1600.01", *pl.GrossProfit)
	}
	assertMoney(t, "1600.01", pl.NetIncome)

	bs, err = c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	require.NoError(t, err)
	assert.Equal(t, mar31, bs.AsOfDate)
	assertMoney(t, "1723.76", balanceOf(bs, "1000"), "cash")
	assertMoney(t, "0", balanceOf(bs, "1200"), "receivable")
	assertMoney(t, "123.75", balanceOf(bs, "2200"), "sales tax payable")
	assertMoney(t, "1600.01", balanceOf(bs, "3900"), "current year earnings")
	assertMoney(t, "1723.76", bs.TotalAssets)
	assertMoney(t, "1723.76", bs.TotalLiabilitiesAndEquity)
	assertBalanceSheetAddsUp(t, bs)

	// The month before saw none of it.
	before, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: feb1, PeriodEnd: feb28})
	require.NoError(t, err)
	assertMoney(t, "0", before.NetIncome)
	bsBefore, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: feb28})
	require.NoError(t, err)
	assertMoney(t, "0", bsBefore.TotalAssets)
	assertBalanceSheetAddsUp(t, bsBefore)
}

// Read a balance sheet and walk its categories, sections and accounts.
func ExampleReportsService_BalanceSheet() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(storyDay)))
	defer srv.Close()
	client, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithCompany(srv.CompanyID()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Put something on the books: a sent invoice of 250.00.
	inv, err := client.Invoices.Create(ctx, &atlas.InvoiceCreateParams{CustomerID: srv.CustomerIDs()[0], InvoiceDate: mar10,
		Lines: []atlas.InvoiceLineParams{{Description: "Audit", UnitPrice: decimal.RequireFromString("250.00"), RevenueAccountID: srv.AccountID("4000")}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Invoices.Send(ctx, inv.ID); err != nil {
		log.Fatal(err)
	}

	bs, err := client.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31})
	if err != nil {
		log.Fatal(err)
	}
	for _, cat := range []atlas.BalanceSheetCategory{bs.Assets, bs.Liabilities, bs.Equity} {
		for _, sec := range cat.Sections {
			for _, it := range sec.Items {
				fmt.Printf("%s %s %s\n", it.AccountNumber, it.AccountName, it.Balance.StringFixed(2))
			}
		}
	}
	fmt.Println("balanced:", bs.IsBalanced)
	// Output:
	// 1200 Accounts Receivable 250.00
	// 3900 Current Year Earnings 250.00
	// balanced: true
}

// Command quickstart walks through the Atlas API with the Go SDK: it logs in,
// looks at the user and their companies, creates a customer, invoices them,
// sends the invoice, records the payment, lists the company's invoices and
// prints a profit and loss statement and a balance sheet.
//
// With ATLAS_EMAIL and ATLAS_PASSWORD set (and ATLAS_BASE_URL for an API other
// than production, ATLAS_COMPANY_ID for a company other than the first) it
// works on that account, and writes to it: use a sandbox company. Otherwise it
// starts the SDK's in-process fake Atlas server (package atlastest), so it
// needs no account and no network:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	baseURL, email, password := os.Getenv("ATLAS_BASE_URL"), os.Getenv("ATLAS_EMAIL"), os.Getenv("ATLAS_PASSWORD")
	opts := []atlas.Option{atlas.WithUserAgent("atlas-quickstart/1.0")}
	switch {
	case email != "" && password != "":
		if baseURL == "" {
			baseURL = atlas.DefaultBaseURL
		}
		fmt.Printf("Using the Atlas API at %s as %s.\n", baseURL, email)
	case baseURL != "" || email != "" || password != "":
		return errors.New("set ATLAS_EMAIL and ATLAS_PASSWORD (and optionally ATLAS_BASE_URL), or none of them to use the embedded fake server")
	default:
		// No account: run on the fake server that SDK users test with. A dozen
		// invoices give the listing below something to show.
		srv := atlastest.NewServer(atlastest.WithInvoices(12))
		defer srv.Close()
		baseURL, email, password = srv.URL, srv.Email(), srv.Password()
		opts = append(opts, atlas.WithHTTPClient(srv.Client()))
		fmt.Printf("Using the embedded fake Atlas server (atlastest) at %s: set ATLAS_EMAIL and ATLAS_PASSWORD to use your account.\n", baseURL)
	}

	c, err := atlas.NewClient(append(opts, atlas.WithBaseURL(baseURL))...)
	if err != nil {
		return err
	}

	// Log in. Calling Login is optional: with atlas.WithCredentials the client
	// logs in on its first request, and it always refreshes its tokens by itself.
	user, err := c.Auth.Login(ctx, email, password)
	if err != nil {
		return err
	}
	me, err := c.Auth.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Println()
	row("Logged in", fmt.Sprintf("%s <%s>, %s", user.FullName, user.Email, user.Role))
	row("Organization", me.Organization.Name)

	// Companies: their ids are the company context of almost every other call.
	companies, err := c.Companies.List(ctx, nil)
	if err != nil {
		return err
	}
	if len(companies.Items) == 0 {
		return errors.New("the user has no company")
	}
	company := companies.Items[0]
	for _, co := range companies.Items {
		row("Company", fmt.Sprintf("%-28s %s  %s", co.Name, co.BaseCurrency, co.ID))
		if co.ID == os.Getenv("ATLAS_COMPANY_ID") {
			company = co
		}
	}
	// ForCompany gives a client for one company; it shares the login and the
	// rate-limit budget with c.
	books := c.ForCompany(company.ID)
	row("Working in", company.Name)
	fmt.Println()

	// Find the accounts the invoice and the payment post to.
	revenue, err := findAccount(ctx, books, atlas.AccountTypeRevenue, "4000")
	if err != nil {
		return err
	}
	cash, err := findAccount(ctx, books, atlas.AccountTypeAsset, "1000")
	if err != nil {
		return err
	}

	customer, err := books.Customers.Create(ctx, &atlas.CustomerCreateParams{
		DisplayName:  "Northwind Traders",
		Email:        "ap@northwind.example.com",
		PaymentTerms: atlas.PaymentTermsNet30,
	})
	if err != nil {
		return err
	}
	row("Customer", fmt.Sprintf("%-13s  %s", customer.CustomerNumber, customer.DisplayName))

	// Money is decimal.Decimal: exact, never float64.
	today := atlas.DateOf(time.Now())
	inv, err := books.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer.ID,
		InvoiceDate: today,
		Lines: []atlas.InvoiceLineParams{
			{Description: "Monthly bookkeeping", Quantity: atlas.Ptr(decimal.NewFromInt(12)), UnitPrice: decimal.RequireFromString("95.00"), RevenueAccountID: revenue.ID},
			{Description: "Payroll set-up", UnitPrice: decimal.RequireFromString("450.00"), RevenueAccountID: revenue.ID, TaxRate: atlas.Ptr(decimal.RequireFromString("8.25"))},
		},
	})
	if err != nil {
		return err
	}
	row("Invoice", fmt.Sprintf("%s  %-8s %16s  (tax %s)", inv.InvoiceNumber, inv.Status, money(inv.TotalAmount, inv.Currency), money(inv.TaxAmount, inv.Currency)))

	inv, err = books.Invoices.Send(ctx, inv.ID)
	if err != nil {
		return err
	}
	row("Sent", fmt.Sprintf("%s  %-8s %16s", inv.InvoiceNumber, inv.Status, "due "+inv.DueDate.String()))

	pmt, err := books.Payments.Create(ctx, &atlas.PaymentCreateParams{
		CustomerID:       customer.ID,
		PaymentDate:      today,
		Amount:           inv.AmountDue,
		PaymentMethod:    atlas.PaymentMethodACH,
		DepositAccountID: cash.ID,
		Applications:     []atlas.PaymentApplication{{InvoiceID: inv.ID, AmountApplied: inv.AmountDue}},
	})
	if err != nil {
		return err
	}
	if inv, err = books.Invoices.Get(ctx, inv.ID); err != nil {
		return err
	}
	row("Payment", fmt.Sprintf("%s  %-8s %16s  (invoice %s, %s due)", pmt.PaymentNumber, pmt.PaymentMethod, money(pmt.Amount, pmt.Currency), inv.Status, money(inv.AmountDue, inv.Currency)))
	fmt.Println()

	// All walks every page, fetching the next one while this loop works on the
	// current one.
	type tally struct {
		count int
		total decimal.Decimal
	}
	byStatus := map[atlas.InvoiceStatus]*tally{}
	var currency string
	for inv, err := range books.Invoices.All(ctx, nil) {
		if err != nil {
			return err
		}
		t := byStatus[inv.Status]
		if t == nil {
			t = &tally{}
			byStatus[inv.Status] = t
		}
		t.count++
		t.total = t.total.Add(inv.TotalAmount)
		currency = inv.Currency
	}
	fmt.Println("Invoices by status")
	for _, s := range []atlas.InvoiceStatus{atlas.InvoiceStatusDraft, atlas.InvoiceStatusSent, atlas.InvoiceStatusOverdue,
		atlas.InvoiceStatusPartial, atlas.InvoiceStatusPaid, atlas.InvoiceStatusVoid} {
		if t := byStatus[s]; t != nil {
			row("  "+string(s), fmt.Sprintf("%4d %16s", t.count, money(t.total, currency)))
		}
	}
	fmt.Println()

	yearStart := atlas.NewDate(today.Year, time.January, 1)
	pl, err := books.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: yearStart, PeriodEnd: today})
	if err != nil {
		return err
	}
	fmt.Printf("Profit and loss, %s to %s\n", pl.PeriodStart, pl.PeriodEnd)
	total("  Revenue", pl.Revenue.Total, pl.Currency)
	if pl.CostOfGoodsSold != nil {
		total("  Cost of goods sold", pl.CostOfGoodsSold.Total, pl.Currency)
	}
	total("  Operating expenses", pl.OperatingExpenses.Total, pl.Currency)
	total("  Net income", pl.NetIncome, pl.Currency)
	fmt.Println()

	bs, err := books.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: today})
	if err != nil {
		return err
	}
	fmt.Printf("Balance sheet at %s\n", bs.AsOfDate)
	total("  Assets", bs.TotalAssets, bs.Currency)
	total("  Liabilities", bs.Liabilities.Total, bs.Currency)
	total("  Equity", bs.Equity.Total, bs.Currency)
	row("  Balanced", fmt.Sprintf("%16v", bs.IsBalanced))
	return nil
}

// findAccount returns the account numbered number, or else the first active
// account of the type, so that the quickstart also works on a chart of
// accounts numbered differently.
func findAccount(ctx context.Context, c *atlas.Client, typ atlas.AccountType, number string) (*atlas.Account, error) {
	var first *atlas.Account
	for acct, err := range c.Accounts.All(ctx, &atlas.AccountListParams{AccountType: typ}) {
		if err != nil {
			return nil, err
		}
		if acct.AccountNumber == number {
			return acct, nil
		}
		if first == nil && acct.IsActive {
			first = acct
		}
	}
	if first == nil {
		return nil, fmt.Errorf("the company has no %s account", typ)
	}
	return first, nil
}

// row prints a label and a value in two aligned columns.
func row(label, value string) {
	fmt.Printf("%-20s %s\n", label, value)
}

// total prints a label and an amount, right-aligned.
func total(label string, d decimal.Decimal, currency string) {
	row(label, fmt.Sprintf("%16s", money(d, currency)))
}

// money formats an amount with thousands separators and its currency:
// "1,290.90 USD".
func money(d decimal.Decimal, currency string) string {
	s := d.Abs().StringFixed(2)
	whole, cents, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	sign := ""
	if d.IsNegative() {
		sign = "-"
	}
	return sign + b.String() + "." + cents + " " + currency
}

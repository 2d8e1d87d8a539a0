package atlas_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// One example per service, each on its own fake server.

func ExampleAuthService_Login() {
	srv := atlastest.NewServer()
	defer srv.Close()
	// Without WithCredentials the client has no way to log in by itself.
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	_, err = c.Auth.Me(ctx)
	fmt.Println(errors.Is(err, atlas.ErrUnauthorized))

	// Login remembers the credentials, to log in again if the refresh token
	// is ever refused.
	user, err := c.Auth.Login(ctx, srv.Email(), srv.Password())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.FullName, user.Role)
	// Output:
	// true
	// Alex Admin admin
}

func ExampleCompaniesService_List() {
	srv := atlastest.NewServer(atlastest.WithSecondCompany())
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}

	page, err := c.Companies.List(context.Background(), &atlas.CompanyListParams{
		ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc},
		SortBy:      atlas.CompanySortByName,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, co := range page.Items {
		fmt.Println(co.Name, co.BaseCurrency)
	}
	// Output:
	// Acme Consulting LLC USD
	// Acme Retail Inc. USD
}

func ExampleCustomersService_Create() {
	srv := atlastest.NewServer()
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	cust, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{
		DisplayName:  "Northwind Traders",
		Email:        "ap@northwind.example.com",
		PaymentTerms: atlas.PaymentTermsNet15,
		CreditLimit:  atlas.Ptr(decimal.RequireFromString("25000.00")),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cust.CustomerNumber, cust.DisplayName, cust.PaymentTerms, cust.CreditLimit.StringFixed(2), cust.Currency)

	// An update sends only the fields it sets; atlas.Ptr("") would clear the notes.
	cust, err = c.Customers.Update(ctx, cust.ID, &atlas.CustomerUpdateParams{
		PaymentTerms: atlas.Ptr(atlas.PaymentTermsNet30),
		Notes:        atlas.Ptr("Invoices to the AP mailbox only."),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cust.CustomerNumber, cust.PaymentTerms, *cust.Notes, *cust.Email)
	// Output:
	// CUST-0004 Northwind Traders net_15 25000.00 USD
	// CUST-0004 net_30 Invoices to the AP mailbox only. ap@northwind.example.com
}

func ExampleVendorsService_All() {
	srv := atlastest.NewServer()
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}

	params := &atlas.VendorListParams{
		ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc},
		SortBy:      atlas.VendorSortByDisplayName,
	}
	for v, err := range c.Vendors.All(context.Background(), params) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(v.VendorNumber, v.DisplayName, v.PaymentTerms)
	}
	// Output:
	// VEND-0002 City Power & Light due_on_receipt
	// VEND-0001 Office Supply Co. net_30
}

func ExampleAccountsService_All() {
	srv := atlastest.NewServer()
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}

	params := &atlas.AccountListParams{
		ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc},
		SortBy:      atlas.AccountSortByAccountNumber,
		AccountType: atlas.AccountTypeLiability,
	}
	for acct, err := range c.Accounts.All(context.Background(), params) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %-20s %s\n", acct.AccountNumber, acct.Name, acct.NormalBalance)
	}
	// Output:
	// 2000 Accounts Payable     credit
	// 2100 Accrued Liabilities  credit
	// 2200 Sales Tax Payable    credit
}

func ExamplePeriodsService_Close() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.February, 10, 9, 0, 0, 0, time.UTC))))
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// The first period of the year.
	page, err := c.Periods.List(ctx, &atlas.PeriodListParams{
		ListOptions: atlas.ListOptions{PageSize: 1, SortOrder: atlas.SortAsc},
		SortBy:      atlas.PeriodSortByStartDate,
	})
	if err != nil {
		log.Fatal(err)
	}
	january := page.Items[0]
	fmt.Println(january.Name, january.StartDate, january.EndDate, january.Status)

	closed, err := c.Periods.Close(ctx, january.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(closed.Status, closed.ClosedAt.Format(time.DateTime))

	// Closing it again is a conflict with its state.
	_, err = c.Periods.Close(ctx, january.ID)
	fmt.Println(errors.Is(err, atlas.ErrConflict))
	// Output:
	// January 2026 2026-01-01 2026-01-31 open
	// closed 2026-02-10 09:00:00
	// true
}

func ExamplePaymentsService_Create() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC))))
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	today := atlas.DateOf(srv.Now())
	customer := srv.CustomerIDs()[0]

	// A sent invoice of 1,200.00.
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer,
		InvoiceDate: today,
		Lines: []atlas.InvoiceLineParams{{
			Description: "Quarterly retainer", UnitPrice: decimal.RequireFromString("1200.00"), RevenueAccountID: srv.AccountID("4100"),
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if inv, err = c.Invoices.Send(ctx, inv.ID); err != nil {
		log.Fatal(err)
	}

	// Two payments: the invoice goes to partial, then to paid.
	for _, amount := range []string{"500.00", "700.00"} {
		pmt, err := c.Payments.Create(ctx, &atlas.PaymentCreateParams{
			CustomerID:       customer,
			PaymentDate:      today,
			Amount:           decimal.RequireFromString(amount),
			PaymentMethod:    atlas.PaymentMethodWire,
			DepositAccountID: srv.AccountID("1000"),
			Reference:        "Wire " + amount,
			Applications:     []atlas.PaymentApplication{{InvoiceID: inv.ID, AmountApplied: decimal.RequireFromString(amount)}},
		})
		if err != nil {
			log.Fatal(err)
		}
		if inv, err = c.Invoices.Get(ctx, inv.ID); err != nil {
			log.Fatal(err)
		}
		fmt.Println(pmt.PaymentNumber, pmt.Amount.StringFixed(2), "->", inv.InvoiceNumber, inv.Status, inv.AmountDue.StringFixed(2), "due")
	}
	// Output:
	// PMT-2026-0001 500.00 -> INV-2026-0001 partial 700.00 due
	// PMT-2026-0002 700.00 -> INV-2026-0001 paid 0.00 due
}

func ExampleReportsService_ProfitLoss() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC))))
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Sending an invoice posts it to the ledger, which the reports read.
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  srv.CustomerIDs()[1],
		InvoiceDate: atlas.NewDate(2026, time.March, 2),
		Lines: []atlas.InvoiceLineParams{
			{Description: "Implementation", Quantity: atlas.Ptr(decimal.NewFromInt(16)), UnitPrice: decimal.RequireFromString("125.00"), RevenueAccountID: srv.AccountID("4100")},
			{Description: "Licences", Quantity: atlas.Ptr(decimal.NewFromInt(3)), UnitPrice: decimal.RequireFromString("99.90"), RevenueAccountID: srv.AccountID("4000"),
				TaxRate: atlas.Ptr(decimal.RequireFromString("8.25"))},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Invoices.Send(ctx, inv.ID); err != nil {
		log.Fatal(err)
	}

	pl, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{
		PeriodStart: atlas.NewDate(2026, time.March, 1),
		PeriodEnd:   atlas.NewDate(2026, time.March, 31),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, section := range pl.Revenue.Sections {
		for _, item := range section.Items {
			fmt.Printf("%s %-16s %9s\n", item.AccountNumber, item.AccountName, item.Amount.StringFixed(2))
		}
	}
	fmt.Printf("%-21s %9s %s\n", "Net income", pl.NetIncome.StringFixed(2), pl.Currency)

	bs, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: atlas.NewDate(2026, time.March, 31)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Assets", bs.TotalAssets.StringFixed(2), "= liabilities and equity", bs.TotalLiabilitiesAndEquity.StringFixed(2), bs.IsBalanced)
	// Output:
	// 4000 Sales Revenue       299.70
	// 4100 Service Revenue    2000.00
	// Net income              2299.70 USD
	// Assets 2324.43 = liabilities and equity 2324.43 true
}

func ExampleBillsService_Approve() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.April, 7, 15, 0, 0, 0, time.UTC))))
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A draft bill from the seeded office supplier; without a due date, the
	// vendor's payment terms (net 30) set it.
	bill, err := c.Bills.Create(ctx, &atlas.BillCreateParams{
		VendorID:         srv.VendorIDs()[0],
		VendorBillNumber: "OS-88412",
		BillDate:         atlas.NewDate(2026, time.April, 7),
		Lines: []atlas.BillLineParams{{
			Description:      "Printer paper, 40 reams",
			Quantity:         atlas.Ptr(decimal.NewFromInt(40)),
			UnitPrice:        decimal.RequireFromString("6.49"),
			ExpenseAccountID: srv.AccountID("6100"),
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bill.BillNumber, bill.Status, bill.TotalAmount.StringFixed(2), "due", bill.DueDate)

	// Approving posts it to accounts payable.
	if bill, err = c.Bills.Approve(ctx, bill.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(bill.BillNumber, bill.Status, bill.AmountDue.StringFixed(2))
	// Output:
	// BILL-2026-0001 draft 259.60 due 2026-05-07
	// BILL-2026-0001 approved 259.60
}

func ExampleJournalEntriesService_Create() {
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.May, 31, 17, 0, 0, 0, time.UTC))))
	defer srv.Close()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	rent := decimal.RequireFromString("2400.00")

	// May's rent, paid from the operating account: debits equal credits.
	je, err := c.JournalEntries.Create(ctx, &atlas.JournalEntryCreateParams{
		EntryDate:   atlas.NewDate(2026, time.May, 31),
		Description: "Office rent, May",
		Lines: []atlas.JournalEntryLineParams{
			{AccountID: srv.AccountID("6000"), EntryType: atlas.EntryTypeDebit, Amount: rent},
			{AccountID: srv.AccountID("1000"), EntryType: atlas.EntryTypeCredit, Amount: rent},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// A draft changes no balance until it is posted.
	if je, err = c.JournalEntries.Post(ctx, je.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(je.EntryNumber, je.Status, je.TotalAmount.StringFixed(2))

	// An entry that does not balance is refused, naming the field.
	_, err = c.JournalEntries.Create(ctx, &atlas.JournalEntryCreateParams{
		EntryDate:   atlas.NewDate(2026, time.May, 31),
		Description: "Typo",
		Lines: []atlas.JournalEntryLineParams{
			{AccountID: srv.AccountID("6000"), EntryType: atlas.EntryTypeDebit, Amount: rent},
			{AccountID: srv.AccountID("1000"), EntryType: atlas.EntryTypeCredit, Amount: decimal.RequireFromString("240.00")},
		},
	})
	var apiErr *atlas.Error
	if errors.As(err, &apiErr) && errors.Is(err, atlas.ErrValidation) {
		fmt.Println(apiErr.StatusCode, apiErr.Errors[0].Field)
	}
	// Output:
	// JE-2026-0001 posted 2400.00
	// 422 lines
}

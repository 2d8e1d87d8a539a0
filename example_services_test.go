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
		ListOptions: atlas.ListOptions{SortBy: "name", SortOrder: atlas.SortAsc},
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
		ListOptions: atlas.ListOptions{SortBy: atlas.VendorSortByDisplayName, SortOrder: atlas.SortAsc},
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
		ListOptions: atlas.ListOptions{SortBy: atlas.AccountSortByAccountNumber, SortOrder: atlas.SortAsc},
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
		ListOptions: atlas.ListOptions{PageSize: 1, SortBy: atlas.PeriodSortByStartDate, SortOrder: atlas.SortAsc},
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

package atlas_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// The examples run on atlastest, the SDK's in-process fake Atlas server, so
// they need no account. With a real account, leave out WithBaseURL (the
// default is production) and WithHTTPClient, and pass your own credentials.

func ExampleNewClient() {
	srv := atlastest.NewServer()
	defer srv.Close()

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()), // logs in on the first request
		atlas.WithCompany(srv.CompanyID()),                 // the default company context
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithUserAgent("billing-service/2.3"),
	)
	if err != nil {
		log.Fatal(err)
	}

	me, err := c.Auth.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s) at %s\n", me.FullName, me.Role, me.Organization.Name)
	// Output: Alex Admin (admin) at Acme Holdings
}

func ExampleClient_ForCompany() {
	srv := atlastest.NewServer(atlastest.WithSecondCompany())
	defer srv.Close()
	ctx := context.Background()

	// A client without a default company.
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}

	me, err := c.Auth.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, company := range me.Companies {
		// A copy of c for one company: same login, same rate-limit budget.
		books := c.ForCompany(company.ID)
		page, err := books.Customers.List(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d customers\n", company.Name, page.Total)
	}

	// A call that needs a company fails before sending anything without one.
	_, err = c.Customers.List(ctx, nil)
	fmt.Println(errors.Is(err, atlas.ErrNoCompany))
	// Output:
	// Acme Consulting LLC: 3 customers
	// Acme Retail Inc.: 3 customers
	// true
}

func ExampleInvoicesService_All_byStatus() {
	// 250 invoices, on a server whose clock says 30 June 2026.
	srv := atlastest.NewServer(atlastest.WithInvoices(250),
		atlastest.WithClock(atlastest.FixedClock(time.Date(2026, time.June, 30, 12, 0, 0, 0, time.UTC))))
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

	// All fetches 100 invoices a page, the next page while the loop works on
	// this one, and stops fetching when the loop ends or breaks.
	params := &atlas.InvoiceListParams{
		ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc},
		SortBy:      atlas.InvoiceSortByInvoiceNumber,
	}
	counts := map[atlas.InvoiceStatus]int{}
	var first, last string
	for inv, err := range c.Invoices.All(context.Background(), params) {
		if err != nil {
			log.Fatal(err)
		}
		if first == "" {
			first = inv.InvoiceNumber
		}
		last = inv.InvoiceNumber
		counts[inv.Status]++
	}
	fmt.Printf("%s to %s\n", first, last)
	for _, s := range []atlas.InvoiceStatus{atlas.InvoiceStatusDraft, atlas.InvoiceStatusSent, atlas.InvoiceStatusOverdue, atlas.InvoiceStatusVoid} {
		fmt.Printf("%-8s %3d\n", s, counts[s])
	}
	// Output:
	// INV-2026-0001 to INV-2026-0250
	// draft     63
	// sent      15
	// overdue  110
	// void      62
}

func ExampleError() {
	srv := atlastest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}

	// errors.Is tells the kind of failure; errors.As reaches the details.
	_, err = c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Northwind", Email: "not-an-email", Currency: "usd"})
	var apiErr *atlas.Error
	if errors.Is(err, atlas.ErrValidation) && errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Detail)
		for _, fe := range apiErr.Errors {
			fmt.Printf("  %s: %s\n", fe.Field, fe.Message)
		}
	}

	_, err = c.Customers.Get(ctx, "00000000-0000-4000-8000-000000000000")
	fmt.Println(errors.Is(err, atlas.ErrNotFound))
	fmt.Println(err)
	// Output:
	// 422 Validation failed.
	//   email: Value is not a valid email address.
	//   currency: Input should be a three-letter ISO 4217 currency code.
	// true
	// atlas: GET /contacts/customers/00000000-0000-4000-8000-000000000000: 404 Not Found: Customer not found.
}

func ExampleWithIdempotencyKey() {
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

	// A job that may run twice for the same order (a retry after a crash, a
	// queue that redelivers) derives the key from the order: the second run
	// gets the customer the first one created.
	params := &atlas.CustomerCreateParams{DisplayName: "Order 4711 buyer"}
	first, err := c.Customers.Create(ctx, params, atlas.WithIdempotencyKey("customer-for-order-4711"))
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.Customers.Create(ctx, params, atlas.WithIdempotencyKey("customer-for-order-4711"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.ID == again.ID, again.CustomerNumber)

	// The same key with another body is a mistake the server refuses.
	_, err = c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Someone else"}, atlas.WithIdempotencyKey("customer-for-order-4711"))
	fmt.Println(errors.Is(err, atlas.ErrConflict))
	// Output:
	// true CUST-0004
	// true
}

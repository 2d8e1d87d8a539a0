package atlastest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// A test starts a server, points a client at it and closes it at the end
// (with t.Cleanup(srv.Close) in a test).
func ExampleNewServer() {
	srv := atlastest.NewServer()
	defer srv.Close()

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL), // http://127.0.0.1:PORT/api/v1
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()), // Close closes its idle connections too
	)
	if err != nil {
		log.Fatal(err)
	}

	// The seeded company, with customers, vendors and a chart of accounts.
	for cust, err := range c.Customers.All(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(cust.CustomerNumber, cust.DisplayName)
	}
	// Output:
	// CUST-0003 Umbrella Health
	// CUST-0002 Initech LLC
	// CUST-0001 Globex Corporation
}

// WithInvoices seeds a company with invoices at scale, for code that pages.
func ExampleWithInvoices() {
	srv := atlastest.NewServer(atlastest.WithInvoices(10_000))
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

	n := 0
	for _, err := range c.Invoices.All(context.Background(), nil, atlas.WithConcurrency(4)) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println(n, "invoices")
	// Output: 10000 invoices
}

// Advance moves the server's clock, so a test sees tokens expire without
// waiting for them to.
func ExampleServer_Advance() {
	srv := atlastest.NewServer(atlastest.WithTokenLifetime(15 * time.Minute))
	defer srv.Close()
	ctx := context.Background()

	// One client logs in and leaves its tokens in a store; a second one has
	// only those tokens, no credentials to log in again with.
	store := &atlas.MemoryTokenStore{}
	first, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithTokenStore(store))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := first.Auth.Me(ctx); err != nil {
		log.Fatal(err)
	}
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()), atlas.WithTokenStore(store))
	if err != nil {
		log.Fatal(err)
	}

	srv.Advance(16 * time.Minute) // the access token has expired
	me, err := c.Auth.Me(ctx)     // the client refreshes it and goes on
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.FullName)

	srv.Advance(31 * 24 * time.Hour) // now the refresh token has expired too
	_, err = c.Auth.Me(ctx)
	fmt.Println(errors.Is(err, atlas.ErrUnauthorized))
	// Output:
	// Alex Admin
	// true
}

// Subscribe sends the events a test's actions cause to a receiver, signed as
// Atlas signs them, so a test can check a webhook handler end to end.
func ExampleServer_Subscribe() {
	srv := atlastest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	var mu sync.Mutex
	var got []string
	handler, err := atlas.NewWebhookHandler(srv.WebhookSecret(), func(_ context.Context, ev *atlas.WebhookEvent) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(ev.Type))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	receiver := httptest.NewServer(handler)
	defer receiver.Close()
	srv.Subscribe(receiver.URL, "invoice.created", "invoice.sent")

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		log.Fatal(err)
	}
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  srv.CustomerIDs()[0],
		InvoiceDate: atlas.DateOf(srv.Now()),
		Lines:       []atlas.InvoiceLineParams{{Description: "Audit", UnitPrice: decimal.RequireFromString("900.00"), RevenueAccountID: srv.AccountID("4100")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Invoices.Send(ctx, inv.ID); err != nil {
		log.Fatal(err)
	}

	if err := srv.WaitWebhooks(ctx); err != nil { // every event delivered
		log.Fatal(err)
	}
	mu.Lock()
	fmt.Println(got)
	mu.Unlock()
	// Output: [invoice.created invoice.sent]
}

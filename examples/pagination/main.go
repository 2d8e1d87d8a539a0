// Command pagination reads thousands of invoices, first one page with List,
// then all of them with All, printing a progress line as the pages arrive.
//
// It runs on the SDK's in-process fake Atlas server (package atlastest),
// seeded with as many invoices as -invoices asks for:
//
//	go run ./examples/pagination -invoices 20000 -concurrency 4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	n := flag.Int("invoices", 5000, "number of invoices to seed the fake server with")
	concurrency := flag.Int("concurrency", 1, "pages fetched at once by All (1: one page ahead of the loop)")
	flag.Parse()
	if err := run(context.Background(), *n, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "pagination:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, concurrency int) error {
	srv := atlastest.NewServer(atlastest.WithInvoices(n))
	defer srv.Close()
	fmt.Printf("Using the embedded fake Atlas server (atlastest) with %d invoices.\n", n)

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		return err
	}

	// List returns one page: the items and how many there are in all. Use it
	// for a screen of results, or to walk pages yourself.
	page, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{
		ListOptions: atlas.ListOptions{PageSize: 10, SortOrder: atlas.SortDesc},
		SortBy:      atlas.InvoiceSortByTotalAmount,
		Status:      atlas.InvoiceStatusSent,
	})
	if err != nil {
		return err
	}
	fmt.Printf("List: %d sent invoices in all; the largest is %s for %s %s.\n",
		page.Total, page.Items[0].InvoiceNumber, page.Items[0].TotalAmount.StringFixed(2), page.Items[0].Currency)

	// All yields every invoice, page after page (100 a page unless PageSize says
	// otherwise). The next page is fetched while this loop works on the current
	// one; WithConcurrency fetches several at once, still yielding in order.
	// Breaking out of the loop stops the fetching, leaving nothing running.
	params := &atlas.InvoiceListParams{
		ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc},
		SortBy:      atlas.InvoiceSortByCreatedAt,
	}
	// The progress line is rewritten in place on a terminal; in a log it would
	// only repeat itself.
	onTerminal := isTerminal(os.Stderr)
	start := time.Now()
	var count int
	var due decimal.Decimal
	for inv, err := range c.Invoices.All(ctx, params, atlas.WithConcurrency(concurrency)) {
		if err != nil {
			return err
		}
		count++
		due = due.Add(inv.AmountDue)
		if count%atlas.MaxPageSize == 0 && onTerminal {
			fmt.Fprintf(os.Stderr, "\rAll: %6d/%d invoices, %6.0f a second", count, n, float64(count)/time.Since(start).Seconds())
		}
	}
	if onTerminal {
		fmt.Fprintln(os.Stderr)
	}
	fmt.Printf("All: %d invoices in %d pages in %s; %s due in all.\n",
		count, (count+atlas.MaxPageSize-1)/atlas.MaxPageSize, time.Since(start).Round(time.Millisecond), due.StringFixed(2))
	return nil
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

package atlas_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Receivables aging: what customers owe, by how long it is past due. Only
// outstanding invoices count: a draft's or a void invoice's AmountDue is its
// full amount, so summing AmountDue over every invoice overstates what is owed.
func ExampleInvoice_receivablesAging() {
	// 250 invoices (drafts, sent ones, voids) on a server whose clock says
	// 30 June 2026.
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
	// A program would take atlas.Today(loc), loc being the company's time zone.
	today := atlas.NewDate(2026, time.June, 30)

	buckets := []struct {
		name string
		upTo int // days past due, inclusive
	}{{"current", 0}, {"1-30", 30}, {"31-60", 60}, {"61-90", 90}, {"over 90", math.MaxInt}}
	owed := make([]decimal.Decimal, len(buckets))
	var total, naive decimal.Decimal
	for inv, err := range c.Invoices.All(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		naive = naive.Add(inv.AmountDue) // wrong: counts drafts and voids in full
		if !inv.Status.Outstanding() {
			continue // draft, void or paid
		}
		pastDue := today.Sub(inv.DueDate) // in days; 0 or less is not due yet
		i := 0
		for pastDue > buckets[i].upTo {
			i++
		}
		owed[i] = owed[i].Add(inv.AmountDue)
		total = total.Add(inv.AmountDue)
	}
	for i, b := range buckets {
		fmt.Printf("%-8s %10s\n", b.name, owed[i].StringFixed(2))
	}
	fmt.Printf("%-8s %10s\n", "owed", total.StringFixed(2))
	fmt.Printf("%-8s %10s (every invoice's AmountDue: not what is owed)\n", "naive", naive.StringFixed(2))
	// Output:
	// current    23078.21
	// 1-30       29631.34
	// 31-60      28220.09
	// 61-90      38757.65
	// over 90   104107.28
	// owed      223794.57
	// naive     433563.48 (every invoice's AmountDue: not what is owed)
}

// Monthly due dates from a start on the 31st: each lands on the month's last
// day when the month is shorter, and back on the 31st when it is not.
func ExampleDate_AddMonths() {
	start := atlas.NewDate(2024, time.January, 31)
	for n := range 4 {
		fmt.Println(start.AddMonths(n))
	}
	fmt.Println(atlas.NewDate(2024, time.February, 29).AddYears(1))
	// Output:
	// 2024-01-31
	// 2024-02-29
	// 2024-03-31
	// 2024-04-30
	// 2025-02-28
}

// Days between two dates, signed, and dates sorted with Compare.
func ExampleDate_Sub() {
	due := atlas.NewDate(2026, time.February, 15)
	fmt.Println(atlas.NewDate(2026, time.March, 10).Sub(due), "days overdue")
	fmt.Println(atlas.NewDate(2026, time.February, 1).Sub(due), "days: due in two weeks")

	dates := []atlas.Date{due, atlas.NewDate(2025, time.December, 31), due.EndOfMonth()}
	slices.SortFunc(dates, atlas.Date.Compare)
	fmt.Println(dates)
	// Output:
	// 23 days overdue
	// -14 days: due in two weeks
	// [2025-12-31 2026-02-15 2026-02-28]
}

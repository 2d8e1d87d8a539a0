// Command quickstart walks through the Atlas API with the Go SDK: it logs in,
// looks at the user and their companies, creates a customer and lists the
// company's invoices.
//
// With ATLAS_EMAIL and ATLAS_PASSWORD set (and ATLAS_BASE_URL for an API other
// than production, ATLAS_COMPANY_ID for a company other than the first) it
// works on that account, and writes to it (a customer): use a sandbox company. Otherwise it
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

	customer, err := books.Customers.Create(ctx, &atlas.CustomerCreateParams{
		DisplayName:  "Northwind Traders",
		Email:        "ap@northwind.example.com",
		PaymentTerms: atlas.PaymentTermsNet30,
	})
	if err != nil {
		return err
	}
	row("Customer", customer.CustomerNumber+"  "+customer.DisplayName)

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
			row("  "+string(s), fmt.Sprintf("%4d  %s", t.count, money(t.total, currency)))
		}
	}
	fmt.Println()

	return nil
}

// row prints a label and a value in two aligned columns.
func row(label, value string) {
	fmt.Printf("%-22s %s\n", label, value)
}

// money formats an amount with thousands separators and its currency, right
// aligned: "  1,290.90 USD".
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
	return fmt.Sprintf("%12s %s", sign+b.String()+"."+cents, currency)
}

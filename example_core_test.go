package atlas_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// WithResponse captures the HTTP side of a call: status, request id and the
// rate-limit budget left.
func ExampleWithResponse() {
	srv := atlastest.NewServer()
	defer srv.Close()
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()))
	if err != nil {
		log.Fatal(err)
	}

	var resp *atlas.Response
	if _, err := c.Companies.Get(context.Background(), srv.CompanyID(), atlas.WithResponse(&resp)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.RequestID != "", resp.RateLimit.Limit > 0)
	fmt.Println(c.RateLimit() == resp.RateLimit) // the client remembers the last one seen
	// Output:
	// 200 true true
	// true
}

// Clients sharing a TokenStore share their tokens: the second one does not
// log in. A store backed by a file or a database lets tokens survive a
// restart; Tokens encodes to JSON for that, and prints without its secrets.
func ExampleWithTokenStore() {
	srv := atlastest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	store := &atlas.MemoryTokenStore{}

	worker := func() *atlas.Client {
		c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()),
			atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithTokenStore(store))
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	if _, err := worker().Auth.Me(ctx); err != nil { // logs in and saves the tokens
		log.Fatal(err)
	}
	if _, err := worker().Auth.Me(ctx); err != nil { // loads them: no second login
		log.Fatal(err)
	}
	logins := 0
	for _, r := range srv.Requests() {
		if r.Path == "/auth/login" {
			logins++
		}
	}
	tok, _ := store.Load(ctx)
	fmt.Println("logins:", logins)
	fmt.Println(tok.AccessToken != "", strings.Contains(fmt.Sprint(tok), tok.AccessToken))
	// Output:
	// logins: 1
	// true false
}

// WithConcurrency lets All fetch several pages at once for a bulk read; the
// items still come in order, and the client's rate-limit pacing still applies.
func ExampleWithConcurrency() {
	srv := atlastest.NewServer(atlastest.WithInvoices(1000))
	defer srv.Close()
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithCompany(srv.CompanyID()))
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
	// Output: 1000 invoices
}

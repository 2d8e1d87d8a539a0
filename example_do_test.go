package atlas_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// Do reaches a route through the same pipeline as the typed methods (tokens,
// pacing, retries with one Idempotency-Key, *atlas.Error), for an endpoint the
// SDK does not wrap yet. The answer is decoded into the caller's own type,
// which names only the fields it needs.
func ExampleClient_Do() {
	srv := atlastest.NewServer()
	defer srv.Close()
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithCompany(srv.CompanyID()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A collection route: it needs the client's company (CompanyRequired).
	var customers struct {
		Items []struct {
			DisplayName string `json:"display_name"`
		} `json:"items"`
		Total int `json:"total"`
	}
	err = c.Do(ctx, &atlas.Request{
		Path:    "/contacts/customers",
		Query:   url.Values{"sort_by": {"display_name"}, "sort_order": {"asc"}, "page_size": {"2"}},
		Company: atlas.CompanyRequired,
	}, &customers)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(customers.Total, "customers, first", customers.Items[0].DisplayName)

	// A POST with a body and a key of the caller's choosing.
	var created struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	}
	err = c.Do(ctx, &atlas.Request{
		Method:  http.MethodPost,
		Path:    "/contacts/customers",
		Body:    map[string]string{"display_name": "Initech LLC", "email": "ap@initech.example"},
		Company: atlas.CompanyRequired,
	}, &created, atlas.WithIdempotencyKey("customer-initech"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", created.DisplayName)

	// An action route on an invoice that does not exist: an *atlas.Error, as
	// from any method.
	err = c.Do(ctx, &atlas.Request{
		Method:  http.MethodPost,
		Path:    "/invoices/" + url.PathEscape("00000000-0000-4000-8000-000000000000") + "/send",
		Company: atlas.CompanyOptional,
	}, nil)
	var apiErr *atlas.Error
	fmt.Println(errors.As(err, &apiErr), apiErr.StatusCode, errors.Is(err, atlas.ErrNotFound))
	// Output:
	// 3 customers, first Globex Corporation
	// created Initech LLC
	// true 404 true
}

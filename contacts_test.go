package atlas_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestCustomersEndToEnd(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t)
	ctx := context.Background()

	created, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{
		DisplayName:    "Globex Corporation",
		Email:          "ap@globex.example.com",
		PaymentTerms:   atlas.PaymentTermsNet15,
		CreditLimit:    atlas.Ptr(money("5000.00")),
		BillingAddress: &atlas.AddressParams{Line1: "100 Industrial Way", City: "Springfield", State: "IL", PostalCode: "62701"},
	})
	require.NoError(t, err)
	assert.NotEmpty(t, created.ID)
	assert.True(t, strings.HasPrefix(created.CustomerNumber, "CUST-"), created.CustomerNumber)
	assert.Equal(t, "Globex Corporation", created.DisplayName)
	require.NotNil(t, created.Email)
	assert.Equal(t, "ap@globex.example.com", *created.Email)
	assert.Nil(t, created.Phone)
	assert.Equal(t, "USD", created.Currency)
	assert.Equal(t, atlas.PaymentTermsNet15, created.PaymentTerms)
	assert.True(t, created.CreditLimit.Equal(money("5000")), created.CreditLimit.String())
	assert.True(t, created.CurrentBalance.IsZero())
	assert.True(t, created.IsActive)
	require.NotNil(t, created.BillingAddress.City)
	assert.Equal(t, "Springfield", *created.BillingAddress.City)
	assert.Nil(t, created.BillingAddress.Line2)
	assert.Equal(t, "US", created.BillingAddress.Country)
	assert.False(t, created.CreatedAt.IsZero())

	got, err := c.Customers.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, created, got)

	updated, err := c.Customers.Update(ctx, created.ID, &atlas.CustomerUpdateParams{
		Notes:       atlas.Ptr(""),
		CreditLimit: atlas.Ptr(money("0")),
		IsActive:    atlas.Ptr(false),
	})
	require.NoError(t, err)
	require.NotNil(t, updated.Notes)
	assert.Equal(t, "", *updated.Notes)
	assert.True(t, updated.CreditLimit.IsZero())
	assert.False(t, updated.IsActive)
	// What the update did not set kept its value.
	assert.Equal(t, created.DisplayName, updated.DisplayName)
	assert.Equal(t, created.Email, updated.Email)
	assert.Equal(t, created.PaymentTerms, updated.PaymentTerms)

	page, err := c.Customers.List(ctx, &atlas.CustomerListParams{Search: "globex", IsActive: atlas.Ptr(false)})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, created.ID, page.Items[0].ID)

	active, err := c.Customers.List(ctx, &atlas.CustomerListParams{IsActive: atlas.Ptr(true), ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc}, SortBy: atlas.CustomerSortByCustomerNumber})
	require.NoError(t, err)
	for _, cu := range active.Items {
		assert.True(t, cu.IsActive)
		assert.NotEqual(t, created.ID, cu.ID)
	}

	all := collect(t, c.Customers.All(ctx, &atlas.CustomerListParams{ListOptions: atlas.ListOptions{PageSize: 2}}))
	assert.Len(t, all, active.Total+1)
}

func TestVendorsEndToEnd(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	supplies := srv.AccountID("6100")

	created, err := c.Vendors.Create(ctx, &atlas.VendorCreateParams{
		DisplayName:             "Northwind Paper Mills",
		Email:                   "billing@northwind.example.com",
		PaymentTerms:            atlas.PaymentTermsNet30,
		DefaultExpenseAccountID: supplies,
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(created.VendorNumber, "VEND-"), created.VendorNumber)
	require.NotNil(t, created.DefaultExpenseAccountID)
	assert.Equal(t, supplies, *created.DefaultExpenseAccountID)
	assert.True(t, created.CurrentBalance.IsZero())

	got, err := c.Vendors.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, created, got)

	updated, err := c.Vendors.Update(ctx, created.ID, &atlas.VendorUpdateParams{Phone: atlas.Ptr("+1-555-0100"), IsActive: atlas.Ptr(false)})
	require.NoError(t, err)
	require.NotNil(t, updated.Phone)
	assert.Equal(t, "+1-555-0100", *updated.Phone)
	assert.False(t, updated.IsActive)
	assert.Equal(t, created.Email, updated.Email)
	assert.Equal(t, created.DefaultExpenseAccountID, updated.DefaultExpenseAccountID)

	page, err := c.Vendors.List(ctx, &atlas.VendorListParams{Search: "northwind"})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, created.ID, page.Items[0].ID)

	all := collect(t, c.Vendors.All(ctx, &atlas.VendorListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc}, SortBy: atlas.VendorSortByVendorNumber}))
	assert.Len(t, all, len(srv.VendorIDs())+1)
	for i := 1; i < len(all); i++ {
		assert.Less(t, all[i-1].VendorNumber, all[i].VendorNumber)
	}
}

// lastRequest returns the last request with method and path in the server's
// request log.
func lastRequest(t *testing.T, srv *atlastest.Server, method, path string) atlastest.RecordedRequest {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			return reqs[i]
		}
	}
	t.Fatalf("the server got no %s %s", method, path)
	return atlastest.RecordedRequest{}
}

// TestPatchPutsOnlyTheSetFieldsOnTheWire reads what the server received for a
// PATCH from its request log.
func TestPatchPutsOnlyTheSetFieldsOnTheWire(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	id := srv.CustomerIDs()[0]
	before, err := c.Customers.Get(ctx, id)
	require.NoError(t, err)

	after, err := c.Customers.Update(ctx, id, &atlas.CustomerUpdateParams{Notes: atlas.Ptr(""), IsActive: atlas.Ptr(false)})
	require.NoError(t, err)
	sent := lastRequest(t, srv, http.MethodPatch, "/contacts/customers/"+id)
	assert.JSONEq(t, `{"notes":"","is_active":false}`, string(sent.Body))
	assert.Equal(t, http.StatusOK, sent.Status)

	assert.False(t, after.IsActive)
	require.NotNil(t, after.Notes)
	assert.Empty(t, *after.Notes)
	assert.Equal(t, before.DisplayName, after.DisplayName)
	assert.Equal(t, before.Email, after.Email)
	assert.Equal(t, before.BillingAddress, after.BillingAddress)
	assert.True(t, before.CreditLimit.Equal(after.CreditLimit))

	_, err = c.Vendors.Update(ctx, srv.VendorIDs()[0], &atlas.VendorUpdateParams{DisplayName: atlas.Ptr("Renamed Supplies")})
	require.NoError(t, err)
	sent = lastRequest(t, srv, http.MethodPatch, "/contacts/vendors/"+srv.VendorIDs()[0])
	assert.JSONEq(t, `{"display_name":"Renamed Supplies"}`, string(sent.Body))
}

func TestContactsOfAnotherCompanyAreNotFound(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t, atlas.ServerOptions(atlastest.WithSecondCompany()))
	ctx := context.Background()
	other := c.ForCompany(srv.SecondCompanyID())

	_, err := other.Customers.Get(ctx, srv.CustomerIDs()[0])
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrNotFound)
	assert.Equal(t, http.StatusNotFound, apiError(t, err).StatusCode)

	_, err = c.ForCompany(srv.HiddenCompanyID()).Vendors.List(ctx, nil)
	assert.ErrorIs(t, err, atlas.ErrForbidden)

	theirs, err := other.Customers.List(ctx, nil)
	require.NoError(t, err)
	mine, err := c.Customers.List(ctx, nil)
	require.NoError(t, err)
	for _, x := range theirs.Items {
		for _, y := range mine.Items {
			assert.NotEqual(t, x.ID, y.ID)
		}
	}
}

func TestCustomerCreateValidationReachesTheCaller(t *testing.T) {
	t.Parallel()
	c, _ := atlas.Setup(t)
	_, err := c.Customers.Create(context.Background(), &atlas.CustomerCreateParams{DisplayName: "x", Email: "not-an-email"})
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrValidation)
	fields := apiError(t, err).Errors
	require.NotEmpty(t, fields)
	assert.Equal(t, "email", fields[0].Field)
}

// Update sends only the fields set: a nil field keeps its value, and
// atlas.Ptr sets a field, even to its zero value.
func ExampleCustomersService_Update() {
	srv := atlastest.NewServer()
	defer srv.Close()
	client, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithCompany(srv.CompanyID()))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	cust, err := client.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Initech", Notes: "Key account"})
	if err != nil {
		log.Fatal(err)
	}
	cust, err = client.Customers.Update(ctx, cust.ID, &atlas.CustomerUpdateParams{
		Notes:        atlas.Ptr(""), // cleared
		PaymentTerms: atlas.Ptr(atlas.PaymentTermsNet60),
		// DisplayName is nil: unchanged.
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %q\n", cust.DisplayName, cust.PaymentTerms, *cust.Notes)
	// Output: Initech net_60 ""
}

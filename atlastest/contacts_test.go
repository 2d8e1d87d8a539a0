package atlastest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

var customerKeys = []string{
	"billing_address", "created_at", "credit_limit", "currency", "current_balance", "customer_number",
	"display_name", "email", "id", "is_active", "notes", "payment_terms", "phone", "updated_at",
}

var vendorKeys = []string{
	"billing_address", "created_at", "currency", "current_balance", "default_expense_account_id",
	"display_name", "email", "id", "is_active", "notes", "payment_terms", "phone", "updated_at", "vendor_number",
}

func TestCreateCustomerWithEveryField(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 5, 11, 0, 0, 0, time.UTC)
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(at)))
	c := admin(t, srv)

	resp := c.do(http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), map[string]any{
		"display_name":  "Wayne Enterprises",
		"email":         "ap@wayne.example.com",
		"phone":         "+1-555-0100",
		"currency":      "EUR",
		"payment_terms": "net_15",
		"credit_limit":  "2500.5",
		"notes":         "Pays early.",
		"billing_address": map[string]any{
			"line1": "1007 Mountain Drive", "city": "Gotham", "state": "NJ", "postal_code": "07001", "country": "CA",
		},
		"unknown_field": "ignored",
	})
	require.Equal(t, http.StatusCreated, resp.status, "body: %s", resp.body)
	m := resp.object(t)
	assert.Equal(t, customerKeys, keys(m))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, m["id"])
	assert.Equal(t, "CUST-0004", m["customer_number"], "three customers are seeded")
	assert.Equal(t, "Wayne Enterprises", m["display_name"])
	assert.Equal(t, "ap@wayne.example.com", m["email"])
	assert.Equal(t, "+1-555-0100", m["phone"])
	assert.Equal(t, "EUR", m["currency"])
	assert.Equal(t, "net_15", m["payment_terms"])
	assert.Equal(t, "2500.50", m["credit_limit"])
	assert.Equal(t, "0.00", m["current_balance"])
	assert.Equal(t, true, m["is_active"])
	assert.Equal(t, "Pays early.", m["notes"])
	assert.Equal(t, map[string]any{
		"line1": "1007 Mountain Drive", "line2": nil, "city": "Gotham", "state": "NJ", "postal_code": "07001", "country": "CA",
	}, m["billing_address"])
	assert.Equal(t, "2026-01-05T11:00:00.000000Z", m["created_at"])
	assert.Equal(t, m["created_at"], m["updated_at"])

	got := c.get("/contacts/customers/" + m["id"].(string)).object(t)
	assert.Equal(t, m, got)
}

func TestCreateContactDefaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)

	cust := c.do(http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), map[string]any{"display_name": "Minimal"})
	require.Equal(t, http.StatusCreated, cust.status, "body: %s", cust.body)
	m := cust.object(t)
	assert.Nil(t, m["email"])
	assert.Nil(t, m["phone"])
	assert.Nil(t, m["notes"])
	assert.Equal(t, "USD", m["currency"])
	assert.Equal(t, "net_30", m["payment_terms"])
	assert.Equal(t, "0.00", m["credit_limit"])
	assert.Equal(t, map[string]any{"line1": nil, "line2": nil, "city": nil, "state": nil, "postal_code": nil, "country": "US"}, m["billing_address"])

	vend := c.do(http.MethodPost, "/contacts/vendors?company_id="+srv.CompanyID(), map[string]any{
		"display_name": "Paper Mill", "default_expense_account_id": srv.AccountID("6100"),
	})
	require.Equal(t, http.StatusCreated, vend.status, "body: %s", vend.body)
	v := vend.object(t)
	assert.Equal(t, vendorKeys, keys(v))
	assert.Equal(t, "VEND-0003", v["vendor_number"], "two vendors are seeded")
	assert.Equal(t, srv.AccountID("6100"), v["default_expense_account_id"])
	assert.Equal(t, "0.00", v["current_balance"])

	bare := c.do(http.MethodPost, "/contacts/vendors?company_id="+srv.CompanyID(), map[string]any{"display_name": "Bare"}).object(t)
	assert.Nil(t, bare["default_expense_account_id"])
	assert.Equal(t, "VEND-0004", bare["vendor_number"])
}

func TestCreateContactValidation(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	foreignAccount := c.list("/chart-of-accounts?company_id=" + srv.SecondCompanyID()).Items[0]["id"]
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		fields []string
	}{
		{"no display_name", "customers", map[string]any{"email": "a@b.co"}, []string{"display_name"}},
		{"empty display_name", "customers", map[string]any{"display_name": ""}, []string{"display_name"}},
		{"long display_name", "customers", map[string]any{"display_name": strings.Repeat("x", 201)}, []string{"display_name"}},
		{"display_name not a string", "customers", map[string]any{"display_name": 7}, []string{"display_name"}},
		{"display_name null", "customers", map[string]any{"display_name": nil}, []string{"display_name"}},
		{"bad email", "customers", map[string]any{"display_name": "x", "email": "nope"}, []string{"email"}},
		{"lower-case currency", "customers", map[string]any{"display_name": "x", "currency": "usd"}, []string{"currency"}},
		{"unknown terms", "customers", map[string]any{"display_name": "x", "payment_terms": "net_45"}, []string{"payment_terms"}},
		{"credit_limit as number", "customers", map[string]any{"display_name": "x", "credit_limit": 100}, []string{"credit_limit"}},
		{"negative credit_limit", "customers", map[string]any{"display_name": "x", "credit_limit": "-1.00"}, []string{"credit_limit"}},
		{"credit_limit not a number", "customers", map[string]any{"display_name": "x", "credit_limit": "1e3"}, []string{"credit_limit"}},
		{"address not an object", "customers", map[string]any{"display_name": "x", "billing_address": "Main St"}, []string{"billing_address"}},
		{"long postal code", "customers", map[string]any{"display_name": "x", "billing_address": map[string]any{"postal_code": strings.Repeat("9", 21)}}, []string{"billing_address.postal_code"}},
		{"bad country", "customers", map[string]any{"display_name": "x", "billing_address": map[string]any{"country": "USA"}}, []string{"billing_address.country"}},
		{"several at once", "customers", map[string]any{"email": 1, "phone": false}, []string{"display_name", "email", "phone"}},
		{"vendor account not a uuid", "vendors", map[string]any{"display_name": "x", "default_expense_account_id": "6100"}, []string{"default_expense_account_id"}},
		{"vendor account unknown", "vendors", map[string]any{"display_name": "x", "default_expense_account_id": "00000000-0000-4000-8000-000000000000"}, []string{"default_expense_account_id"}},
		{"vendor account of another company", "vendors", map[string]any{"display_name": "x", "default_expense_account_id": foreignAccount}, []string{"default_expense_account_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.do(http.MethodPost, "/contacts/"+tt.path+"?company_id="+srv.CompanyID(), tt.body)
			e := resp.requireError(t, http.StatusUnprocessableEntity)
			assert.Equal(t, "Validation failed.", e.Detail)
			assert.ElementsMatch(t, tt.fields, e.fields())
		})
	}
	// Nothing was created by the refused requests.
	assert.Equal(t, 3, c.list("/contacts/customers?company_id="+srv.CompanyID()).Total)
}

func TestCreateContactNeedsCompanyAndWriteAccess(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	body := map[string]any{"display_name": "x"}
	for _, kind := range []string{"customers", "vendors"} {
		t.Run(kind, func(t *testing.T) {
			path := "/contacts/" + kind
			e := admin(t, srv).do(http.MethodPost, path, body).requireError(t, http.StatusUnprocessableEntity)
			assert.Equal(t, []string{"company_id"}, e.fields())
			assert.Equal(t, "Field required.", e.Errors[0].Message)

			admin(t, srv).do(http.MethodPost, path+"?company_id="+srv.HiddenCompanyID(), body).requireError(t, http.StatusForbidden)
			viewer(t, srv).do(http.MethodPost, path+"?company_id="+srv.CompanyID(), body).requireError(t, http.StatusForbidden)
			viewer(t, srv).do(http.MethodPost, path+"?company_id="+srv.SecondCompanyID(), body).requireError(t, http.StatusForbidden)
			anon(t, srv).do(http.MethodPost, path+"?company_id="+srv.CompanyID(), body).requireError(t, http.StatusUnauthorized)
		})
	}
}

func TestUpdateCustomerChangesOnlyTheFieldsSent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 1, 5, 11, 0, 0, 0, time.UTC))))
	c := admin(t, srv)
	id := srv.CustomerIDs()[0]
	before := c.get("/contacts/customers/" + id).object(t)

	srv.Advance(30 * time.Minute)
	resp := c.do(http.MethodPatch, "/contacts/customers/"+id, map[string]any{"payment_terms": "net_15", "credit_limit": "10000"})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	after := resp.object(t)
	assert.Equal(t, "net_15", after["payment_terms"])
	assert.Equal(t, "10000.00", after["credit_limit"])
	assert.Equal(t, "2026-01-05T11:30:00.000000Z", after["updated_at"])
	for _, k := range customerKeys {
		if k != "payment_terms" && k != "credit_limit" && k != "updated_at" {
			assert.Equal(t, before[k], after[k], k)
		}
	}

	deactivated := c.do(http.MethodPatch, "/contacts/customers/"+id, map[string]any{
		"is_active": false, "billing_address": map[string]any{"city": "Shelbyville"},
	}).object(t)
	assert.Equal(t, false, deactivated["is_active"])
	assert.Equal(t, map[string]any{"line1": nil, "line2": nil, "city": "Shelbyville", "state": nil, "postal_code": nil, "country": "US"},
		deactivated["billing_address"], "a billing address sent replaces the old one")
	assert.Equal(t, after["display_name"], deactivated["display_name"])

	// An empty patch changes nothing but updated_at.
	same := c.do(http.MethodPatch, "/contacts/customers/"+id, map[string]any{}).object(t)
	assert.Equal(t, deactivated["payment_terms"], same["payment_terms"])
}

func TestUpdateVendor(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	id := srv.VendorIDs()[0]
	resp := c.do(http.MethodPatch, "/contacts/vendors/"+id, map[string]any{
		"is_active": false, "default_expense_account_id": srv.AccountID("5000"), "notes": "Switched to COGS.",
	})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	m := resp.object(t)
	assert.Equal(t, vendorKeys, keys(m))
	assert.Equal(t, false, m["is_active"])
	assert.Equal(t, srv.AccountID("5000"), m["default_expense_account_id"])
	assert.Equal(t, "Switched to COGS.", m["notes"])
	assert.Equal(t, "VEND-0001", m["vendor_number"])
}

func TestUpdateContactRefusals(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	id := srv.CustomerIDs()[0]
	foreign := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)

	tests := []struct {
		name   string
		client *client
		path   string
		body   any
		status int
		fields []string
	}{
		{"viewer", viewer(t, srv), "/contacts/customers/" + id, map[string]any{"notes": "x"}, http.StatusForbidden, nil},
		{"null is not a value", c, "/contacts/customers/" + id, map[string]any{"email": nil}, http.StatusUnprocessableEntity, []string{"email"}},
		{"is_active not a boolean", c, "/contacts/customers/" + id, map[string]any{"is_active": "no"}, http.StatusUnprocessableEntity, []string{"is_active"}},
		{"empty display_name", c, "/contacts/customers/" + id, map[string]any{"display_name": ""}, http.StatusUnprocessableEntity, []string{"display_name"}},
		{"unknown id", c, "/contacts/customers/00000000-0000-4000-8000-000000000000", map[string]any{}, http.StatusNotFound, nil},
		{"malformed id", c, "/contacts/customers/42", map[string]any{}, http.StatusUnprocessableEntity, []string{"id"}},
		{"vendor id on the customer route", c, "/contacts/customers/" + srv.VendorIDs()[0], map[string]any{}, http.StatusNotFound, nil},
		{"item of the other company named", c, "/contacts/customers/" + foreign + "?company_id=" + srv.CompanyID(), map[string]any{}, http.StatusNotFound, nil},
		{"viewer on an item it cannot see", viewer(t, srv), "/contacts/customers/" + foreign, map[string]any{}, http.StatusNotFound, nil},
		{"company the user cannot see", c, "/contacts/customers/" + id + "?company_id=" + srv.HiddenCompanyID(), map[string]any{}, http.StatusForbidden, nil},
		{"invalid JSON", c, "/contacts/customers/" + id, "{", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.client.do(http.MethodPatch, tt.path, tt.body).requireError(t, tt.status)
			assert.ElementsMatch(t, tt.fields, e.fields())
		})
	}
	// The admin reaches the other company's customer without company_id or with its own.
	assert.Equal(t, http.StatusOK, c.get("/contacts/customers/"+foreign).status)
	assert.Equal(t, http.StatusOK, c.get("/contacts/customers/"+foreign+"?company_id="+srv.SecondCompanyID()).status)
	// Nothing changed.
	assert.Nil(t, c.get("/contacts/customers/" + id).object(t)["notes"])
}

func TestGetContactAcceptsUpperCaseIDs(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	id := srv.CustomerIDs()[1]
	m := admin(t, srv).get("/contacts/customers/" + strings.ToUpper(id)).object(t)
	assert.Equal(t, id, m["id"])
}

func TestContactFilters(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	base := "/contacts/customers?company_id=" + srv.CompanyID()
	for i := range 4 {
		resp := c.do(http.MethodPost, base, map[string]any{"display_name": fmt.Sprintf("Stark Industries %d", i), "email": fmt.Sprintf("s%d@stark.example.com", i)})
		require.Equal(t, http.StatusCreated, resp.status)
	}
	c.do(http.MethodPatch, "/contacts/customers/"+srv.CustomerIDs()[0], map[string]any{"is_active": false})

	tests := []struct {
		name  string
		query []string
		total int
	}{
		{"all", nil, 7},
		{"search in name, any case", []string{"search", "STARK"}, 4},
		{"search in email", []string{"search", "s2@stark"}, 1},
		{"search by number", []string{"search", "CUST-0002"}, 1},
		{"search without a match", []string{"search", "zzz"}, 0},
		{"inactive", []string{"is_active", "false"}, 1},
		{"active", []string{"is_active", "true"}, 6},
		{"active and matching", []string{"is_active", "1", "search", "globex"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := c.list(withQuery(base, tt.query...))
			assert.Equal(t, tt.total, p.Total)
			assert.Len(t, p.Items, tt.total)
		})
	}
	e := c.get(base+"&is_active=maybe").requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"is_active"}, e.fields())

	vendors := c.list("/contacts/vendors?company_id=" + srv.CompanyID() + "&search=office")
	require.Equal(t, 1, vendors.Total)
	assert.Equal(t, "Office Supply Co.", vendors.Items[0]["display_name"])
}

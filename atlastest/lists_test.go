package atlastest_test

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// collectPages walks every page of path (which has a query) with the given page size and
// returns the items in order, checking the envelope of each page.
func collectPages(t *testing.T, c *client, path string, size int) []map[string]any {
	t.Helper()
	var all []map[string]any
	for n := 1; ; n++ {
		p := c.list(withQuery(path, "page", strconv.Itoa(n), "page_size", strconv.Itoa(size)))
		require.Equal(t, n, p.Page)
		require.Equal(t, size, p.PageSize)
		require.LessOrEqual(t, len(p.Items), size)
		all = append(all, p.Items...)
		require.Equal(t, len(all) < p.Total, p.HasNext, "page %d", n)
		if !p.HasNext {
			require.Len(t, all, p.Total)
			return all
		}
		require.Len(t, p.Items, size, "only the last page may be short")
	}
}

func TestListEnvelopeAndPaging(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	base := "/contacts/customers?company_id=" + srv.CompanyID()
	for i := range 22 {
		resp := c.do(http.MethodPost, base, map[string]any{"display_name": fmt.Sprintf("Customer %02d", i)})
		require.Equal(t, http.StatusCreated, resp.status)
	}

	resp := c.get(base)
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, []string{"has_next", "items", "page", "page_size", "total"}, keys(resp.object(t)))
	first := c.list(base)
	assert.Equal(t, 25, first.Total)
	assert.Equal(t, 1, first.Page)
	assert.Equal(t, 50, first.PageSize, "default page size")
	assert.False(t, first.HasNext)
	assert.Len(t, first.Items, 25)

	p2 := c.list(base + "&page=2&page_size=10")
	assert.Equal(t, 25, p2.Total)
	assert.True(t, p2.HasNext)
	assert.Equal(t, ids(first.Items[10:20]), ids(p2.Items))

	last := c.list(base + "&page=3&page_size=10")
	assert.False(t, last.HasNext)
	assert.Equal(t, ids(first.Items[20:]), ids(last.Items))

	beyond := c.list(base + "&page=9&page_size=10")
	assert.Equal(t, 25, beyond.Total)
	assert.Empty(t, beyond.Items)
	assert.NotNil(t, beyond.Items, "items is [] not null")
	assert.False(t, beyond.HasNext)

	huge := c.list(base + "&page=9223372036854775807&page_size=100")
	assert.Empty(t, huge.Items)

	exact := c.list(base + "&page=1&page_size=25")
	assert.False(t, exact.HasNext, "has_next is false when the page ends exactly at the last item")
	assert.Len(t, exact.Items, 25)
	assert.Equal(t, 100, c.list(base+"&page_size=100").PageSize)
}

func TestEmptyListIsAnEmptyArray(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp := admin(t, srv).get("/invoices?company_id=" + srv.CompanyID())
	require.Equal(t, http.StatusOK, resp.status)
	assert.JSONEq(t, `{"items":[],"total":0,"page":1,"page_size":50,"has_next":false}`, string(resp.body))
}

func TestListParameterErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	tests := []struct {
		name   string
		path   string
		fields []string
	}{
		{"page_size over 100", "/contacts/customers?page_size=101", []string{"page_size"}},
		{"page_size zero", "/contacts/vendors?page_size=0", []string{"page_size"}},
		{"page zero", "/chart-of-accounts?page=0", []string{"page"}},
		{"negative page", "/periods?page=-1", []string{"page"}},
		{"page not an integer", "/invoices?page=two", []string{"page"}},
		{"page_size not an integer", "/invoices?page_size=1.5", []string{"page_size"}},
		{"page overflowing", "/invoices?page=99999999999999999999", []string{"page"}},
		{"unknown sort_by", "/contacts/customers?sort_by=email", []string{"sort_by"}},
		{"sort_by of another resource", "/chart-of-accounts?sort_by=display_name", []string{"sort_by"}},
		{"bad sort_order", "/periods?sort_order=up", []string{"sort_order"}},
		{"upper-case sort_order", "/periods?sort_order=ASC", []string{"sort_order"}},
		{"unknown account_type", "/chart-of-accounts?account_type=income", []string{"account_type"}},
		{"unknown invoice status", "/invoices?status=open", []string{"status"}},
		{"customer_id not a uuid", "/invoices?customer_id=42", []string{"customer_id"}},
		{"bad date_from", "/invoices?date_from=2026-13-01", []string{"date_from"}},
		{"bad date_to", "/invoices?date_to=yesterday", []string{"date_to"}},
		{"several", "/contacts/customers?page=0&page_size=500&sort_order=sideways", []string{"page", "page_size", "sort_order"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.get(withQuery(tt.path, "company_id", srv.CompanyID())).requireError(t, http.StatusUnprocessableEntity)
			assert.ElementsMatch(t, tt.fields, e.fields())
		})
	}
}

func TestCollectionsRequireAnAccessibleCompany(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	for _, path := range []string{"/contacts/customers", "/contacts/vendors", "/chart-of-accounts", "/periods", "/invoices"} {
		t.Run(path, func(t *testing.T) {
			e := admin(t, srv).get(path).requireError(t, http.StatusUnprocessableEntity)
			assert.Equal(t, []string{"company_id"}, e.fields())

			e = admin(t, srv).get(path+"?company_id=acme").requireError(t, http.StatusUnprocessableEntity)
			assert.Equal(t, []string{"company_id"}, e.fields())

			e = admin(t, srv).get(path+"?page_size=0").requireError(t, http.StatusUnprocessableEntity)
			assert.ElementsMatch(t, []string{"company_id", "page_size"}, e.fields())

			admin(t, srv).get(path+"?company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
			admin(t, srv).get(path+"?company_id=00000000-0000-4000-8000-000000000000").requireError(t, http.StatusForbidden)
			viewer(t, srv).get(path+"?company_id="+srv.SecondCompanyID()).requireError(t, http.StatusForbidden)
			anon(t, srv).get(path+"?company_id="+srv.CompanyID()).requireError(t, http.StatusUnauthorized)

			assert.Equal(t, http.StatusOK, viewer(t, srv).get(path+"?company_id="+srv.CompanyID()).status)
			assert.Equal(t, http.StatusOK, admin(t, srv).get(path+"?company_id="+srv.SecondCompanyID()).status)
		})
	}
}

func TestListsKeepCompaniesApart(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	resp := c.do(http.MethodPost, "/contacts/customers?company_id="+srv.SecondCompanyID(), map[string]any{"display_name": "Only in second"})
	require.Equal(t, http.StatusCreated, resp.status)
	assert.Equal(t, "CUST-0004", resp.object(t)["customer_number"], "numbering is per company")

	mainList := c.list("/contacts/customers?company_id=" + srv.CompanyID())
	secondList := c.list("/contacts/customers?company_id=" + srv.SecondCompanyID())
	assert.Equal(t, 3, mainList.Total)
	assert.Equal(t, 4, secondList.Total)
	assert.Empty(t, slices.DeleteFunc(ids(mainList.Items), func(id string) bool { return !slices.Contains(ids(secondList.Items), id) }))
}

// sortCheck is how a test reads one sort field off an item.
type sortCheck struct {
	field   string
	compare func(a, b any) int
}

func compareStrings(a, b any) int { return cmp.Compare(a.(string), b.(string)) }

func compareDecimals(a, b any) int {
	return decimal.RequireFromString(a.(string)).Cmp(decimal.RequireFromString(b.(string)))
}

// assertSorted checks that items are in order of field (ties by id), descending or not.
func assertSorted(t *testing.T, items []map[string]any, sc sortCheck, desc bool) {
	t.Helper()
	for i := 1; i < len(items); i++ {
		a, b := items[i-1], items[i]
		c := sc.compare(a[sc.field], b[sc.field])
		if c == 0 {
			c = cmp.Compare(a["id"].(string), b["id"].(string))
		}
		if desc {
			c = -c
		}
		require.Negative(t, c, "%s: item %d (%v, %v) before item %d (%v, %v)", sc.field, i-1, a[sc.field], a["id"], i, b[sc.field], b["id"])
	}
}

func TestEverySortOrderPagesThroughEveryItemOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithInvoices(300))
	c := admin(t, srv)
	company := "company_id=" + srv.CompanyID()
	for i := range 9 {
		// Equal names make ties that only the id can order.
		resp := c.do(http.MethodPost, "/contacts/customers?"+company, map[string]any{"display_name": fmt.Sprintf("Twin %d", i%3)})
		require.Equal(t, http.StatusCreated, resp.status)
	}

	lists := []struct {
		path  string
		sorts []sortCheck
	}{
		{"/contacts/customers?" + company, []sortCheck{{"created_at", compareStrings}, {"display_name", compareStrings}, {"customer_number", compareStrings}}},
		{"/contacts/vendors?" + company, []sortCheck{{"created_at", compareStrings}, {"display_name", compareStrings}, {"vendor_number", compareStrings}}},
		{"/chart-of-accounts?" + company, []sortCheck{{"created_at", compareStrings}, {"account_number", compareStrings}, {"name", compareStrings}}},
		{"/periods?" + company, []sortCheck{{"created_at", compareStrings}, {"start_date", compareStrings}}},
		{"/companies?", []sortCheck{{"created_at", compareStrings}, {"name", compareStrings}}},
		{"/invoices?" + company, []sortCheck{{"created_at", compareStrings}, {"invoice_date", compareStrings}, {"due_date", compareStrings},
			{"total_amount", compareDecimals}, {"invoice_number", compareStrings}}},
	}
	for _, l := range lists {
		everything := c.list(withQuery(l.path, "page_size", "100"))
		for _, sc := range l.sorts {
			for _, order := range []string{"asc", "desc"} {
				t.Run(fmt.Sprintf("%s %s %s", l.path, sc.field, order), func(t *testing.T) {
					items := collectPages(t, c, withQuery(l.path, "sort_by", sc.field, "sort_order", order), 7)
					assertSorted(t, items, sc, order == "desc")
					if everything.Total <= 100 {
						assert.ElementsMatch(t, ids(everything.Items), ids(items))
					}
					got := ids(items)
					slices.Sort(got)
					assert.Len(t, slices.Compact(got), len(items), "no item twice")
				})
			}
		}
	}
}

func TestDefaultSortIsNewestFirst(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	resp := c.do(http.MethodPost, "/contacts/vendors?company_id="+srv.CompanyID(), map[string]any{"display_name": "Newest"})
	require.Equal(t, http.StatusCreated, resp.status)
	p := c.list("/contacts/vendors?company_id=" + srv.CompanyID())
	require.Equal(t, 3, p.Total)
	assert.Equal(t, "Newest", p.Items[0]["display_name"])
	assert.Equal(t, []string{srv.VendorIDs()[1], srv.VendorIDs()[0]}, ids(p.Items[1:]))
}

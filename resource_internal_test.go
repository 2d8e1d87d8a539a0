package atlas

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queryParamsTypes are every params type whose fields travel in the query.
var queryParamsTypes = []any{
	&CompanyListParams{}, &CustomerListParams{}, &VendorListParams{}, &AccountListParams{}, &InvoiceListParams{},
	&BillListParams{}, &JournalEntryListParams{}, &PaymentListParams{}, &PeriodListParams{},
	&ProfitLossParams{}, &BalanceSheetParams{},
}

// TestQueryOfEncodesEveryTaggedField sets every url-tagged field of every
// params type to a non-zero value and checks that it reaches the query, so a
// field of a type queryOf cannot encode fails here and not in production.
func TestQueryOfEncodesEveryTaggedField(t *testing.T) {
	t.Parallel()
	for _, p := range queryParamsTypes {
		v := reflect.ValueOf(p).Elem()
		t.Run(v.Type().Name(), func(t *testing.T) {
			t.Parallel()
			var tags []string
			for i := range v.NumField() {
				f := v.Type().Field(i)
				name := f.Tag.Get("url")
				if name == "" {
					require.True(t, f.Anonymous && f.Type == listOptionsType, "field %s has no url tag", f.Name)
					continue
				}
				tags = append(tags, name)
				fv := v.Field(i)
				if fv.Kind() == reflect.Pointer {
					fv.Set(reflect.New(fv.Type().Elem()))
					fv = fv.Elem()
				}
				switch {
				case fv.Type() == reflect.TypeFor[Date]():
					fv.Set(reflect.ValueOf(NewDate(2026, time.March, 4)))
				case fv.Kind() == reflect.String:
					fv.SetString("x")
				case fv.Kind() == reflect.Bool:
					// false is a value for a *bool: leave it.
				default:
					t.Fatalf("field %s: no test value for %s", f.Name, fv.Type())
				}
			}
			_, q, err := queryOf(p)
			require.NoError(t, err)
			for _, name := range tags {
				assert.NotEmpty(t, q.Get(name), name)
			}
			assert.Len(t, q, len(tags))
		})
	}
}

func TestQueryOfSkipsZeroFiltersAndNilParams(t *testing.T) {
	t.Parallel()
	lo, q, err := queryOf((*InvoiceListParams)(nil))
	require.NoError(t, err)
	assert.Equal(t, ListOptions{}, lo)
	assert.Empty(t, q)

	lo, q, err = queryOf(nil)
	require.NoError(t, err)
	assert.Equal(t, ListOptions{}, lo)
	assert.Empty(t, q)

	lo, q, err = queryOf(&InvoiceListParams{ListOptions: ListOptions{Page: 3}, SortBy: "due_date", Status: InvoiceStatusOverdue})
	require.NoError(t, err)
	assert.Equal(t, ListOptions{Page: 3}, lo)
	assert.Equal(t, url.Values{"sort_by": {"due_date"}, "status": {"overdue"}}, q)

	_, q, err = queryOf(&CustomerListParams{IsActive: Ptr(false)})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"is_active": {"false"}}, q)
}

package atlas

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestCompaniesOnAtlastest(t *testing.T) {
	t.Parallel()
	c, srv := Setup(t, ServerOptions(atlastest.WithSecondCompany()))
	ctx := context.Background()

	page, err := c.Companies.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total, "the main and the second company; not the hidden one")
	assert.False(t, page.HasNext)
	ids := map[string]bool{}
	for _, co := range page.Items {
		ids[co.ID] = true
		assert.NotEmpty(t, co.Name)
		assert.Len(t, co.BaseCurrency, 3)
		assert.False(t, co.FiscalYearStart.IsZero())
		assert.False(t, co.CreatedAt.IsZero())
	}
	assert.True(t, ids[srv.CompanyID()])
	assert.True(t, ids[srv.SecondCompanyID()])

	var all []string
	for co, err := range c.Companies.All(ctx, &CompanyListParams{ListOptions: ListOptions{PageSize: 1, SortOrder: SortAsc}, SortBy: CompanySortByName}) {
		require.NoError(t, err)
		all = append(all, co.Name)
	}
	require.Len(t, all, 2)
	assert.LessOrEqual(t, all[0], all[1], "sorted by name, one a page")

	co, err := c.Companies.Get(ctx, srv.SecondCompanyID())
	require.NoError(t, err)
	assert.Equal(t, srv.SecondCompanyID(), co.ID)

	_, err = c.Companies.Get(ctx, srv.HiddenCompanyID())
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = c.Companies.Get(ctx, "6c7d8e9f-0a12-4b34-a567-89abcdef0123")
	assert.ErrorIs(t, err, ErrNotFound)
}

// The companies routes take no company_id, whatever the client's company.
func TestCompaniesSendNoCompany(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f), ClientOptions(WithCompany("co-1")))
	_, err := c.Companies.List(context.Background(), nil)
	require.NoError(t, err)
	_, err = c.Companies.Get(context.Background(), "c-001")
	require.NoError(t, err)
	for _, r := range f.requests(http.MethodGet, "") {
		assert.NotContains(t, r.Query, "company_id", r.Path)
	}
}

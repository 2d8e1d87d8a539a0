package atlastest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestCompaniesListsWhatTheUserCanAccess(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())

	p := admin(t, srv).list("/companies")
	assert.Equal(t, 2, p.Total)
	assert.False(t, p.HasNext)
	// Default order is newest first: the second company was created after the main one.
	assert.Equal(t, []string{srv.SecondCompanyID(), srv.CompanyID()}, ids(p.Items))
	assert.Equal(t, []string{"base_currency", "created_at", "fiscal_year_start", "id", "name", "updated_at"}, keys(p.Items[0]))
	assert.NotContains(t, ids(p.Items), srv.HiddenCompanyID())

	byName := admin(t, srv).list("/companies?sort_by=name&sort_order=asc")
	assert.Equal(t, "Acme Consulting LLC", byName.Items[0]["name"])
	assert.Equal(t, "Acme Retail Inc.", byName.Items[1]["name"])

	v := viewer(t, srv).list("/companies")
	assert.Equal(t, []string{srv.CompanyID()}, ids(v.Items))
}

func TestCompaniesRefusesBadListParameters(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	e := admin(t, srv).get("/companies?sort_by=base_currency").requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"sort_by"}, e.fields())
}

func TestGetCompany(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)

	m := c.get("/companies/" + srv.CompanyID()).object(t)
	assert.Equal(t, srv.CompanyID(), m["id"])
	assert.Equal(t, "USD", m["base_currency"])
	assert.Regexp(t, `^\d{4}-01-01$`, m["fiscal_year_start"])

	c.get("/companies/"+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
	viewer(t, srv).get("/companies/"+srv.SecondCompanyID()).requireError(t, http.StatusForbidden)
	c.get("/companies/00000000-0000-4000-8000-000000000000").requireError(t, http.StatusNotFound)
	e := c.get("/companies/not-a-uuid").requireError(t, http.StatusUnprocessableEntity)
	assert.Equal(t, []string{"id"}, e.fields())
}

func TestSecondCompanyIsOptional(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	assert.Empty(t, srv.SecondCompanyID())
	assert.Empty(t, srv.HiddenCompanyID())
	p := admin(t, srv).list("/companies")
	require.Equal(t, 1, p.Total)
	assert.Equal(t, srv.CompanyID(), p.Items[0]["id"])
}

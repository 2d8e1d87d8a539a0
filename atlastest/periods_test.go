package atlastest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestPeriodsCoverTheYearByMonth(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 5, 20, 8, 0, 0, 0, time.UTC))))
	p := admin(t, srv).list("/periods?company_id=" + srv.CompanyID() + "&sort_by=start_date&sort_order=asc")
	require.Equal(t, 12, p.Total)
	for i, per := range p.Items {
		assert.Equal(t, []string{"closed_at", "created_at", "end_date", "id", "name", "start_date", "status", "updated_at"}, keys(per))
		assert.Equal(t, "open", per["status"])
		assert.Nil(t, per["closed_at"])
		month := time.Date(2026, time.Month(i+1), 1, 0, 0, 0, 0, time.UTC)
		assert.Equal(t, month.Format("January 2006"), per["name"])
		assert.Equal(t, month.Format(time.DateOnly), per["start_date"])
		assert.Equal(t, month.AddDate(0, 1, -1).Format(time.DateOnly), per["end_date"])
	}
	assert.Equal(t, "2026-02-28", p.Items[1]["end_date"])
}

func TestClosePeriod(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 2, 5, 9, 0, 0, 0, time.UTC))))
	c := admin(t, srv)
	january := c.list("/periods?company_id=" + srv.CompanyID() + "&sort_by=start_date&sort_order=asc&page_size=1").Items[0]
	id := january["id"].(string)

	viewer(t, srv).do(http.MethodPost, "/periods/"+id+"/close", nil).requireError(t, http.StatusForbidden)

	srv.Advance(time.Minute)
	resp := c.do(http.MethodPost, "/periods/"+id+"/close", nil)
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	closed := resp.object(t)
	assert.Equal(t, "closed", closed["status"])
	assert.Equal(t, "2026-02-05T09:01:00.000000Z", closed["closed_at"])
	assert.Equal(t, closed["closed_at"], closed["updated_at"])
	assert.Equal(t, january["created_at"], closed["created_at"])
	assert.Equal(t, "January 2026", closed["name"])

	e := c.do(http.MethodPost, "/periods/"+id+"/close", nil).requireError(t, http.StatusConflict)
	assert.Equal(t, "The period is already closed.", e.Detail)

	listed := c.list("/periods?company_id=" + srv.CompanyID() + "&sort_by=start_date&sort_order=asc&page_size=2")
	assert.Equal(t, "closed", listed.Items[0]["status"])
	assert.Equal(t, "open", listed.Items[1]["status"])
}

func TestClosePeriodRefusals(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	mine := c.list("/periods?company_id=" + srv.CompanyID()).Items[0]["id"].(string)
	theirs := c.list("/periods?company_id=" + srv.SecondCompanyID()).Items[0]["id"].(string)

	c.do(http.MethodPost, "/periods/"+theirs+"/close?company_id="+srv.CompanyID(), nil).requireError(t, http.StatusNotFound)
	viewer(t, srv).do(http.MethodPost, "/periods/"+theirs+"/close", nil).requireError(t, http.StatusNotFound)
	c.do(http.MethodPost, "/periods/"+mine+"/close?company_id="+srv.HiddenCompanyID(), nil).requireError(t, http.StatusForbidden)
	c.do(http.MethodPost, "/periods/00000000-0000-4000-8000-000000000000/close", nil).requireError(t, http.StatusNotFound)
	c.do(http.MethodPost, "/periods/january/close", nil).requireError(t, http.StatusUnprocessableEntity)
	anon(t, srv).do(http.MethodPost, "/periods/"+mine+"/close", nil).requireError(t, http.StatusUnauthorized)
	c.get("/periods/"+mine+"/close").requireError(t, http.StatusMethodNotAllowed)

	// It takes no body, and ignores one.
	resp := c.do(http.MethodPost, "/periods/"+mine+"/close", `{"ignored": true}`)
	assert.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
}

package atlas_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

func TestPeriodsEndToEnd(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()

	periods := collect(t, c.Periods.All(ctx, &atlas.PeriodListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc, PageSize: 5}, SortBy: atlas.PeriodSortByStartDate}))
	require.Len(t, periods, 12)
	year := srv.Now().Year()
	for i, p := range periods {
		assert.Equal(t, atlas.NewDate(year, time.Month(i+1), 1), p.StartDate)
		assert.Equal(t, atlas.NewDate(year, time.Month(i+2), 1).AddDays(-1), p.EndDate)
		assert.Equal(t, atlas.PeriodStatusOpen, p.Status)
		assert.Nil(t, p.ClosedAt)
	}

	page, err := c.Periods.List(ctx, &atlas.PeriodListParams{ListOptions: atlas.ListOptions{PageSize: 2}})
	require.NoError(t, err)
	assert.Equal(t, 12, page.Total)
	assert.True(t, page.HasNext)
	assert.Len(t, page.Items, 2)

	closed, err := c.Periods.Close(ctx, periods[0].ID)
	require.NoError(t, err)
	assert.Equal(t, atlas.PeriodStatusClosed, closed.Status)
	require.NotNil(t, closed.ClosedAt)
	assert.WithinDuration(t, srv.Now(), *closed.ClosedAt, time.Minute)

	_, err = c.Periods.Close(ctx, periods[0].ID)
	require.Error(t, err)
	assert.ErrorIs(t, err, atlas.ErrConflict)
}

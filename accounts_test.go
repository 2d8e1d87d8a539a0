package atlas_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

func TestAccountsEndToEnd(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()

	revenue, err := c.Accounts.List(ctx, &atlas.AccountListParams{AccountType: atlas.AccountTypeRevenue})
	require.NoError(t, err)
	require.NotEmpty(t, revenue.Items)
	for _, a := range revenue.Items {
		assert.Equal(t, atlas.AccountTypeRevenue, a.AccountType)
		assert.Equal(t, atlas.NormalBalanceCredit, a.NormalBalance)
	}

	all := collect(t, c.Accounts.All(ctx, &atlas.AccountListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortAsc, PageSize: 5}, SortBy: atlas.AccountSortByAccountNumber}))
	require.NotEmpty(t, all)
	for i := 1; i < len(all); i++ {
		assert.Less(t, all[i-1].AccountNumber, all[i].AccountNumber)
	}
	byType := map[atlas.AccountType]int{}
	for _, a := range all {
		byType[a.AccountType]++
	}
	assert.Equal(t, len(revenue.Items), byType[atlas.AccountTypeRevenue])
	for _, typ := range []atlas.AccountType{atlas.AccountTypeAsset, atlas.AccountTypeLiability, atlas.AccountTypeEquity, atlas.AccountTypeExpense} {
		assert.Positive(t, byType[typ], typ)
	}

	ar, err := c.Accounts.Get(ctx, srv.AccountID("1200"))
	require.NoError(t, err)
	assert.Equal(t, "1200", ar.AccountNumber)
	assert.Equal(t, atlas.AccountTypeAsset, ar.AccountType)
	assert.Equal(t, atlas.NormalBalanceDebit, ar.NormalBalance)
	assert.True(t, ar.IsActive)
	require.NotNil(t, ar.AccountSubtype)

	_, err = c.Accounts.Get(ctx, "00000000-0000-4000-8000-000000000000")
	assert.ErrorIs(t, err, atlas.ErrNotFound)
}

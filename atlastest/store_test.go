package atlastest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostMovesBalancesByNormalSide(t *testing.T) {
	t.Parallel()
	srv := NewServer(WithClock(FixedClock(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))))
	defer srv.Close()
	st, company := srv.st, srv.CompanyID()
	amount := decimal.RequireFromString("120.50")

	st.mu.Lock()
	st.post(&ledgerEntry{companyID: company, date: "2026-04-01", source: "test", lines: []ledgerLine{
		{accountID: srv.AccountID("1000"), debit: true, amount: amount},
		{accountID: srv.AccountID("4000"), amount: amount},
	}}, srv.Now())
	st.post(&ledgerEntry{companyID: company, date: "2026-04-02", source: "test", lines: []ledgerLine{
		{accountID: srv.AccountID("4000"), debit: true, amount: decimal.NewFromInt(20)},
		{accountID: srv.AccountID("1000"), amount: decimal.NewFromInt(20)},
	}}, srv.Now())
	cash, _ := st.accounts.get(srv.AccountID("1000"))
	revenue, _ := st.accounts.get(srv.AccountID("4000"))
	entries := len(st.ledger[company])
	st.mu.Unlock()

	assert.Equal(t, "100.50", money(cash.balance), "debit-normal: debits minus credits")
	assert.Equal(t, "100.50", money(revenue.balance), "credit-normal: credits minus debits")
	assert.Equal(t, 2, entries)
}

func TestClosedOn(t *testing.T) {
	t.Parallel()
	srv := NewServer(WithClock(FixedClock(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))))
	defer srv.Close()
	st := srv.st
	st.mu.Lock()
	defer st.mu.Unlock()
	march := st.periodOn(srv.CompanyID(), "2026-03-15")
	require.NotNil(t, march)
	assert.Equal(t, "March 2026", march.name)
	assert.Nil(t, st.periodOn(srv.CompanyID(), "2025-12-31"))

	assert.False(t, st.closedOn(srv.CompanyID(), "2026-03-31"))
	march.status = "closed"
	assert.True(t, st.closedOn(srv.CompanyID(), "2026-03-01"))
	assert.True(t, st.closedOn(srv.CompanyID(), "2026-03-31"))
	assert.False(t, st.closedOn(srv.CompanyID(), "2026-04-01"))
	assert.False(t, st.closedOn(srv.CompanyID(), "2025-03-15"), "no period, nothing closed")
}

func TestSortedViewsAreCachedUntilAChange(t *testing.T) {
	t.Parallel()
	tb := newTable(func(c *contact) (string, string) { return c.id, c.companyID })
	key := byString("display_name", func(c *contact) string { return c.displayName })
	b := &contact{id: "2", companyID: "c", displayName: "b"}
	tb.insert(&contact{id: "1", companyID: "c", displayName: "a"})
	tb.insert(b)

	first := tb.sortedBy("c", key)
	assert.Same(t, &first[0], &tb.sortedBy("c", key)[0], "cached")

	b.displayName = "0"
	tb.changed("c")
	again := tb.sortedBy("c", key)
	assert.Equal(t, "2", again[0].id)
	assert.Empty(t, tb.sortedBy("other", key))
}

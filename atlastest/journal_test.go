package atlastest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

var journalKeys = []string{"created_at", "description", "entry_date", "entry_number", "id", "lines", "posted_at", "status", "total_amount", "updated_at"}

// jeLine is a journal entry line for a request body.
func jeLine(accountID, side, amount string) map[string]any {
	return map[string]any{"account_id": accountID, "entry_type": side, "amount": amount}
}

// rentAccrual is a JournalEntryCreate dated date: rent expense against accrued liabilities.
func rentAccrual(srv *atlastest.Server, date, amount string) map[string]any {
	return map[string]any{
		"entry_date":  date,
		"description": "Accrue rent",
		"lines": []map[string]any{
			jeLine(srv.AccountID("6000"), "debit", amount),
			jeLine(srv.AccountID("2100"), "credit", amount),
		},
	}
}

func TestJournalEntryLifecycle(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	body := rentAccrual(srv, "2026-03-31", "2500.00")
	body["lines"].([]map[string]any)[0]["description"] = "March rent"
	je := c.create(inCompany(srv, "/journal-entries"), body)
	id := je["id"].(string)
	assert.Equal(t, journalKeys, keys(je))
	assert.Equal(t, "JE-2026-0001", je["entry_number"])
	assert.Equal(t, "2026-03-31", je["entry_date"])
	assert.Equal(t, "Accrue rent", je["description"])
	assert.Equal(t, "draft", je["status"])
	assert.Nil(t, je["posted_at"])
	assert.Equal(t, "2500.00", je["total_amount"])
	lines := je["lines"].([]any)
	require.Len(t, lines, 2)
	first, second := lines[0].(map[string]any), lines[1].(map[string]any)
	assert.Equal(t, []string{"account_id", "amount", "description", "entry_type", "id", "line_number"}, keys(first))
	assert.Equal(t, []any{1.0, srv.AccountID("6000"), "debit", "2500.00", "March rent"},
		[]any{first["line_number"], first["account_id"], first["entry_type"], first["amount"], first["description"]})
	assert.Equal(t, []any{2.0, srv.AccountID("2100"), "credit", "2500.00", nil},
		[]any{second["line_number"], second["account_id"], second["entry_type"], second["amount"], second["description"]})
	assert.Equal(t, je, c.get("/journal-entries/"+id).object(t))
	assert.Equal(t, "0.00", c.balance("6000"), "a draft is not posted")

	srv.Advance(time.Minute)
	posted := c.action("/journal-entries/"+id+"/post", nil)
	assert.Equal(t, "posted", posted["status"])
	assert.Equal(t, "2026-03-16T09:31:00.000000Z", posted["posted_at"])
	assert.Equal(t, posted["posted_at"], posted["updated_at"])
	assert.Equal(t, map[string]string{"6000": "2500.00", "2100": "2500.00"}, c.balances("6000", "2100"))
	e := c.do(http.MethodPost, "/journal-entries/"+id+"/post", nil).requireError(t, http.StatusConflict)
	assert.Equal(t, "Only draft journal entries can be posted.", e.Detail)

	srv.Advance(time.Minute)
	void := c.action("/journal-entries/"+id+"/void", map[string]any{"reason": "Rent was accrued twice."})
	assert.Equal(t, "void", void["status"])
	assert.Equal(t, posted["posted_at"], void["posted_at"], "posted_at stays")
	assert.Equal(t, "2026-03-16T09:32:00.000000Z", void["updated_at"])
	assert.Equal(t, map[string]string{"6000": "0.00", "2100": "0.00"}, c.balances("6000", "2100"))
	e = c.do(http.MethodPost, "/journal-entries/"+id+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "The journal entry is already void.", e.Detail)
	c.do(http.MethodPost, "/journal-entries/"+id+"/post", nil).requireError(t, http.StatusConflict)
	requireFields(t, c.do(http.MethodPost, "/journal-entries/"+id+"/void", map[string]any{"why": "x"}), "reason")

	draft := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-31", "10.00"))
	assert.Equal(t, "JE-2026-0002", draft["entry_number"])
	c.action("/journal-entries/"+draft["id"].(string)+"/void", map[string]any{"reason": "Not needed."})
	c.do(http.MethodPost, "/journal-entries/"+draft["id"].(string)+"/post", nil).requireError(t, http.StatusConflict)
	assert.Equal(t, "0.00", c.balance("6000"))
}

func TestJournalEntriesMustBalance(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	unbalanced := rentAccrual(srv, "2026-03-31", "2500.00")
	unbalanced["lines"].([]map[string]any)[1]["amount"] = "2400.00"
	e := c.do(http.MethodPost, inCompany(srv, "/journal-entries"), unbalanced).requireError(t, http.StatusUnprocessableEntity)
	require.Len(t, e.Errors, 1)
	assert.Equal(t, "lines", e.Errors[0].Field)
	assert.Equal(t, "Total debits (2500.00) must equal total credits (2400.00).", e.Errors[0].Message)

	// Three lines may balance; sides are compared to the last digit.
	split := map[string]any{"entry_date": "2026-03-31", "description": "Split", "lines": []map[string]any{
		jeLine(srv.AccountID("6000"), "debit", "100.005"),
		jeLine(srv.AccountID("6100"), "debit", "0.995"),
		jeLine(srv.AccountID("1000"), "credit", "101.00"),
	}}
	assert.Equal(t, "101.00", c.create(inCompany(srv, "/journal-entries"), split)["total_amount"])
	split["lines"].([]map[string]any)[2]["amount"] = "101.001"
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/journal-entries"), split), "lines")
}

func TestCreateJournalEntryValidation(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c := admin(t, srv)
	otherCash := accountIn(t, c, srv.SecondCompanyID(), "1000")
	valid := func(change func(m map[string]any, lines []map[string]any)) map[string]any {
		m := rentAccrual(srv, "2026-03-31", "100.00")
		change(m, m["lines"].([]map[string]any))
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"entry_date", "description", "lines"}},
		{"one line", valid(func(m map[string]any, l []map[string]any) { m["lines"] = l[:1] }), []string{"lines"}},
		{"empty description", valid(func(m map[string]any, _ []map[string]any) { m["description"] = "" }), []string{"description"}},
		{"long description", valid(func(m map[string]any, _ []map[string]any) { m["description"] = strings.Repeat("d", 501) }), []string{"description"}},
		{"bad date", valid(func(m map[string]any, _ []map[string]any) { m["entry_date"] = "2026-03-32" }), []string{"entry_date"}},
		{"line without fields", valid(func(_ map[string]any, l []map[string]any) { l[0] = map[string]any{} }),
			[]string{"lines.0.account_id", "lines.0.entry_type", "lines.0.amount"}},
		{"zero amount", valid(func(_ map[string]any, l []map[string]any) { l[1]["amount"] = "0.00" }), []string{"lines.1.amount"}},
		{"negative amount", valid(func(_ map[string]any, l []map[string]any) { l[1]["amount"] = "-100.00" }), []string{"lines.1.amount"}},
		{"amount as a number", valid(func(_ map[string]any, l []map[string]any) { l[1]["amount"] = 100 }), []string{"lines.1.amount"}},
		{"unknown side", valid(func(_ map[string]any, l []map[string]any) { l[0]["entry_type"] = "DEBIT" }), []string{"lines.0.entry_type"}},
		{"other company's account", valid(func(_ map[string]any, l []map[string]any) { l[1]["account_id"] = otherCash }), []string{"lines.1.account_id"}},
		{"long line description", valid(func(_ map[string]any, l []map[string]any) { l[1]["description"] = strings.Repeat("d", 501) }),
			[]string{"lines.1.description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireFields(t, c.do(http.MethodPost, inCompany(srv, "/journal-entries"), tt.body), tt.fields...)
		})
	}
	assert.Equal(t, 0, c.list(inCompany(srv, "/journal-entries")).Total)
}

func TestJournalEntriesAndClosedPeriods(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	posted := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-01-31", "2500.00"))["id"].(string)
	c.action("/journal-entries/"+posted+"/post", nil)
	draft := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-01-30", "100.00"))["id"].(string)
	c.closePeriod("2026-01-01")

	e := c.do(http.MethodPost, inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-01-15", "1.00")).requireError(t, http.StatusConflict)
	assert.Equal(t, "2026-01-15 falls in January 2026, a closed period.", e.Detail)
	unbalanced := rentAccrual(srv, "2026-01-15", "1.00")
	unbalanced["lines"].([]map[string]any)[1]["amount"] = "2.00"
	requireFields(t, c.do(http.MethodPost, inCompany(srv, "/journal-entries"), unbalanced), "lines")
	c.do(http.MethodPost, "/journal-entries/"+draft+"/post", nil).requireError(t, http.StatusConflict)
	c.do(http.MethodPost, "/journal-entries/"+posted+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusConflict)
	assert.Equal(t, "2500.00", c.balance("6000"))
	assert.Equal(t, "void", c.action("/journal-entries/"+draft+"/void", map[string]any{"reason": "x"})["status"])
	c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-02-01", "1.00"))
}

func TestListJournalEntries(t *testing.T) {
	t.Parallel()
	srv := domainServer(t)
	c := admin(t, srv)
	late := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-31", "1.00"))["id"].(string)
	srv.Advance(time.Second)
	early := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-02-28", "1.00"))["id"].(string)
	srv.Advance(time.Second)
	mid := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-01", "1.00"))["id"].(string)
	c.action("/journal-entries/"+mid+"/post", nil)

	idsOf := func(query string) []string { return ids(c.list(inCompany(srv, "/journal-entries"+query)).Items) }
	assert.Equal(t, []string{mid, early, late}, idsOf(""))
	assert.Equal(t, []string{early, mid, late}, idsOf("?sort_by=entry_date&sort_order=asc"))
	assert.Equal(t, []string{mid, early, late}, idsOf("?sort_by=entry_number&sort_order=desc"))
	assert.Equal(t, []string{mid}, idsOf("?status=posted"))
	assert.Equal(t, []string{early, late}, idsOf("?status=draft&sort_by=entry_date&sort_order=asc"))
	assert.Equal(t, []string{mid, late}, idsOf("?date_from=2026-03-01"))
	assert.Equal(t, []string{mid, early}, idsOf("?date_to=2026-03-01"))
	assert.Equal(t, []string{mid}, idsOf("?date_from=2026-03-01&date_to=2026-03-01"))
	requireFields(t, c.get(inCompany(srv, "/journal-entries?status=approved&date_from=march")), "status", "date_from")
	requireFields(t, c.get(inCompany(srv, "/journal-entries?sort_by=total_amount")), "sort_by")
}

func TestJournalEntryWritesNeedAWriterOfTheCompany(t *testing.T) {
	t.Parallel()
	srv := domainServer(t, atlastest.WithSecondCompany())
	c, v := admin(t, srv), viewer(t, srv)
	mine := c.create(inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-31", "5.00"))["id"].(string)
	theirs := c.create("/journal-entries?company_id="+srv.SecondCompanyID(), map[string]any{
		"entry_date": "2026-03-31", "description": "x", "lines": []map[string]any{
			jeLine(accountIn(t, c, srv.SecondCompanyID(), "6000"), "debit", "5.00"),
			jeLine(accountIn(t, c, srv.SecondCompanyID(), "1000"), "credit", "5.00"),
		},
	})["id"].(string)

	v.do(http.MethodPost, inCompany(srv, "/journal-entries"), rentAccrual(srv, "2026-03-31", "5.00")).requireError(t, http.StatusForbidden)
	v.do(http.MethodPost, "/journal-entries/"+mine+"/post", nil).requireError(t, http.StatusForbidden)
	v.do(http.MethodPost, "/journal-entries/"+mine+"/void", map[string]any{"reason": "x"}).requireError(t, http.StatusForbidden)
	assert.Equal(t, "draft", v.get("/journal-entries/" + mine).object(t)["status"])
	for _, suffix := range []string{"", "/post", "/void"} {
		method, body := http.MethodPost, any(map[string]any{"reason": "x"})
		if suffix == "" {
			method, body = http.MethodGet, nil
		}
		c.do(method, "/journal-entries/"+theirs+suffix+"?company_id="+srv.CompanyID(), body).requireError(t, http.StatusNotFound)
		v.do(method, "/journal-entries/"+theirs+suffix, body).requireError(t, http.StatusNotFound)
		c.do(method, "/journal-entries/"+mine+suffix+"?company_id="+srv.HiddenCompanyID(), body).requireError(t, http.StatusForbidden)
		anon(t, srv).do(method, "/journal-entries/"+mine+suffix, body).requireError(t, http.StatusUnauthorized)
	}
	c.get("/journal-entries?company_id="+srv.HiddenCompanyID()).requireError(t, http.StatusForbidden)
}

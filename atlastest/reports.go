package atlastest

import (
	"net/http"
	"slices"

	"github.com/shopspring/decimal"
)

// Reports are computed from the ledger each time they are asked for: every posting (sent
// invoices, approved bills, posted journal entries, payments, and the reversals of voids)
// on or before the report's end date counts, on the date it was posted.
//
// Amounts are in each account's normal-balance sign: revenue and liabilities positive when
// credited, assets and expenses positive when debited. A report lists the accounts whose
// amount is not zero, by account number, in sections by account subtype; a section or an
// item with nothing in it is left out.
//
// The balance sheet shows the net income of the fiscal year that contains as_of_date
// (revenue less expenses from the fiscal year's start) as the balance of Current Year
// Earnings (3900), and the net income of earlier years in Retained Earnings (3100), as
// if the books had been closed at each year end. So assets always equal liabilities plus
// equity.

// account subtypes the reports group by.
const (
	subtypeCOGS           = "cost_of_goods_sold"
	subtypeRetained       = "retained_earnings"
	subtypeCurrentEarning = "current_year_earnings"
)

type profitLossItemJSON struct {
	AccountID     string `json:"account_id"`
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
	Amount        string `json:"amount"`
}

type balanceSheetItemJSON struct {
	AccountID     string `json:"account_id"`
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
	Balance       string `json:"balance"`
}

// sectionJSON and categoryJSON are the contract's ProfitLossSection/Category and
// BalanceSheetSection/Category; I is the item type.
type sectionJSON[I any] struct {
	Name     string `json:"name"`
	Items    []I    `json:"items"`
	Subtotal string `json:"subtotal"`
}

type categoryJSON[I any] struct {
	Name     string           `json:"name"`
	Sections []sectionJSON[I] `json:"sections"`
	Total    string           `json:"total"`
}

type profitLossJSON struct {
	CompanyID         string                            `json:"company_id"`
	PeriodStart       string                            `json:"period_start"`
	PeriodEnd         string                            `json:"period_end"`
	Currency          string                            `json:"currency"`
	GeneratedAt       string                            `json:"generated_at"`
	Revenue           categoryJSON[profitLossItemJSON]  `json:"revenue"`
	CostOfGoodsSold   *categoryJSON[profitLossItemJSON] `json:"cost_of_goods_sold"`
	GrossProfit       *string                           `json:"gross_profit"`
	OperatingExpenses categoryJSON[profitLossItemJSON]  `json:"operating_expenses"`
	NetIncome         string                            `json:"net_income"`
}

type balanceSheetJSON struct {
	CompanyID                 string                             `json:"company_id"`
	AsOfDate                  string                             `json:"as_of_date"`
	Currency                  string                             `json:"currency"`
	GeneratedAt               string                             `json:"generated_at"`
	Assets                    categoryJSON[balanceSheetItemJSON] `json:"assets"`
	Liabilities               categoryJSON[balanceSheetItemJSON] `json:"liabilities"`
	Equity                    categoryJSON[balanceSheetItemJSON] `json:"equity"`
	TotalAssets               string                             `json:"total_assets"`
	TotalLiabilitiesAndEquity string                             `json:"total_liabilities_and_equity"`
	IsBalanced                bool                               `json:"is_balanced"`
}

// section places an account in a report: the section's name and its rank among the
// category's sections.
type section func(a *account) (rank int, name string)

// bySubtype is a section function: the subtype's section, or other for the rest.
func bySubtype(named map[string]string, order []string, other string) section {
	return func(a *account) (int, string) {
		if a.subtype != nil {
			if name, ok := named[*a.subtype]; ok {
				return slices.Index(order, *a.subtype), name
			}
		}
		return len(order), other
	}
}

var (
	revenueSections = bySubtype(map[string]string{"operating_revenue": "Operating Revenue"}, []string{"operating_revenue"}, "Other Revenue")
	cogsSections    = bySubtype(nil, nil, "Cost of Goods Sold")
	expenseSections = bySubtype(map[string]string{"operating_expense": "General and Administrative"}, []string{"operating_expense"}, "Other Expenses")
	assetSections   = bySubtype(map[string]string{"current_asset": "Current Assets", "fixed_asset": "Fixed Assets"},
		[]string{"current_asset", "fixed_asset"}, "Other Assets")
	liabilitySections = bySubtype(map[string]string{"current_liability": "Current Liabilities", "long_term_liability": "Long-term Liabilities"},
		[]string{"current_liability", "long_term_liability"}, "Other Liabilities")
	equitySections = bySubtype(nil, nil, "Owner's Equity")
)

// buildCategory groups the accounts (in account-number order) with a non-zero amount into
// sections and adds them up; item renders one account's line.
func buildCategory[I any](name string, accounts []*account, amounts map[string]decimal.Decimal, sec section,
	item func(a *account, amount string) I) (categoryJSON[I], decimal.Decimal) {
	type group struct {
		rank     int
		name     string
		items    []I
		subtotal decimal.Decimal
	}
	var groups []*group
	total := decimal.Zero
	for _, a := range accounts {
		amount := amounts[a.id]
		if amount.IsZero() {
			continue
		}
		rank, secName := sec(a)
		i := slices.IndexFunc(groups, func(g *group) bool { return g.name == secName })
		if i < 0 {
			groups = append(groups, &group{rank: rank, name: secName})
			i = len(groups) - 1
		}
		g := groups[i]
		g.items = append(g.items, item(a, money(amount)))
		g.subtotal = g.subtotal.Add(amount)
		total = total.Add(amount)
	}
	slices.SortStableFunc(groups, func(a, b *group) int { return a.rank - b.rank })
	out := categoryJSON[I]{Name: name, Sections: make([]sectionJSON[I], len(groups)), Total: money(total)}
	for i, g := range groups {
		out.Sections[i] = sectionJSON[I]{Name: g.name, Items: g.items, Subtotal: money(g.subtotal)}
	}
	return out, total
}

func profitLossItem(a *account, amount string) profitLossItemJSON {
	return profitLossItemJSON{AccountID: a.id, AccountNumber: a.number, AccountName: a.name, Amount: amount}
}

func balanceSheetItem(a *account, balance string) balanceSheetItemJSON {
	return balanceSheetItemJSON{AccountID: a.id, AccountNumber: a.number, AccountName: a.name, Balance: balance}
}

// accountsByNumber orders accounts for reports.
var accountsByNumber = byString("account_number", func(a *account) string { return a.number })

// sums adds up the company's postings dated from from (inclusive; "" for the beginning)
// up to to (inclusive), per account id, in each account's normal-balance sign. Call with
// the store lock held.
func (st *store) sums(companyID, from, to string) map[string]decimal.Decimal {
	out := map[string]decimal.Decimal{}
	for _, e := range st.ledger[companyID] {
		if e.date > to || e.date < from {
			continue
		}
		for _, l := range e.lines {
			a, ok := st.accounts.get(l.accountID)
			if !ok {
				continue
			}
			if l.debit == (a.normalBalance == "debit") {
				out[a.id] = out[a.id].Add(l.amount)
			} else {
				out[a.id] = out[a.id].Sub(l.amount)
			}
		}
	}
	return out
}

// ofType keeps the accounts of one type that keep passes (nil: all of them).
func ofType(accounts []*account, accountType string, keep func(*account) bool) []*account {
	var out []*account
	for _, a := range accounts {
		if a.accountType == accountType && (keep == nil || keep(a)) {
			out = append(out, a)
		}
	}
	return out
}

func hasSubtype(subtype string) func(*account) bool {
	return func(a *account) bool { return a.subtype != nil && *a.subtype == subtype }
}

// netIncome is revenue less expenses in sums.
func netIncome(accounts []*account, sums map[string]decimal.Decimal) decimal.Decimal {
	n := decimal.Zero
	for _, a := range accounts {
		switch a.accountType {
		case "revenue":
			n = n.Add(sums[a.id])
		case "expense":
			n = n.Sub(sums[a.id])
		}
	}
	return n
}

// profitLoss is GET /reports/profit-loss for [period_start, period_end].
func (s *Server) profitLoss(r *http.Request, u *user) (int, any, error) {
	q := newQuery(r)
	companyID := companyParam(q)
	start := requiredDate(q, "period_start")
	end := requiredDate(q, "period_end")
	if start != "" && end != "" && end < start {
		q.fail("period_end", "period_end must not be before period_start.")
	}
	if err := q.err(); err != nil {
		return 0, nil, err
	}
	if err := s.access(u, companyID); err != nil {
		return 0, nil, err
	}
	out := profitLossJSON{
		CompanyID:   companyID,
		PeriodStart: start,
		PeriodEnd:   end,
		Currency:    u.w.companyByID[companyID].baseCurrency,
		GeneratedAt: timestamp(s.clock.now()),
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	accounts := s.st.accounts.sortedBy(companyID, accountsByNumber)
	sums := s.st.sums(companyID, start, end)
	isCOGS := hasSubtype(subtypeCOGS)
	var revenue, opex decimal.Decimal
	out.Revenue, revenue = buildCategory("Revenue", ofType(accounts, "revenue", nil), sums, revenueSections, profitLossItem)
	gross := revenue
	if cogsAccounts := ofType(accounts, "expense", isCOGS); len(cogsAccounts) > 0 {
		cogs, cogsTotal := buildCategory("Cost of Goods Sold", cogsAccounts, sums, cogsSections, profitLossItem)
		gross = revenue.Sub(cogsTotal)
		out.CostOfGoodsSold, out.GrossProfit = &cogs, ptr(money(gross))
	}
	out.OperatingExpenses, opex = buildCategory("Operating Expenses",
		ofType(accounts, "expense", func(a *account) bool { return !isCOGS(a) }), sums, expenseSections, profitLossItem)
	out.NetIncome = money(gross.Sub(opex))
	return http.StatusOK, out, nil
}

// balanceSheet is GET /reports/balance-sheet at the end of as_of_date.
func (s *Server) balanceSheet(r *http.Request, u *user) (int, any, error) {
	q := newQuery(r)
	companyID := companyParam(q)
	asOf := requiredDate(q, "as_of_date")
	if err := q.err(); err != nil {
		return 0, nil, err
	}
	if err := s.access(u, companyID); err != nil {
		return 0, nil, err
	}
	co := u.w.companyByID[companyID]
	out := balanceSheetJSON{
		CompanyID:   companyID,
		AsOfDate:    asOf,
		Currency:    co.baseCurrency,
		GeneratedAt: timestamp(s.clock.now()),
	}
	yearStart := fiscalYearStart(co.fiscalYearStart, asOf)

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	accounts := s.st.accounts.sortedBy(companyID, accountsByNumber)
	balances := s.st.sums(companyID, "", asOf)
	current := netIncome(accounts, s.st.sums(companyID, yearStart, asOf))
	earlier := netIncome(accounts, balances).Sub(current)
	retained := ofType(accounts, "equity", hasSubtype(subtypeRetained))
	thisYear := ofType(accounts, "equity", hasSubtype(subtypeCurrentEarning))
	if len(thisYear) == 0 {
		thisYear = retained
	}
	if len(retained) == 0 {
		retained = thisYear
	}
	if len(retained) > 0 {
		balances[retained[0].id] = balances[retained[0].id].Add(earlier)
		balances[thisYear[0].id] = balances[thisYear[0].id].Add(current)
	}

	var assets, liabilities, equity decimal.Decimal
	out.Assets, assets = buildCategory("Assets", ofType(accounts, "asset", nil), balances, assetSections, balanceSheetItem)
	out.Liabilities, liabilities = buildCategory("Liabilities", ofType(accounts, "liability", nil), balances, liabilitySections, balanceSheetItem)
	out.Equity, equity = buildCategory("Equity", ofType(accounts, "equity", nil), balances, equitySections, balanceSheetItem)
	out.TotalAssets = money(assets)
	out.TotalLiabilitiesAndEquity = money(liabilities.Add(equity))
	out.IsBalanced = assets.Equal(liabilities.Add(equity))
	return http.StatusOK, out, nil
}

// requiredDate reads a required date parameter.
func requiredDate(q *query, name string) string {
	if q.values.Get(name) == "" {
		q.fail(name, msgRequired)
		return ""
	}
	d, _ := q.str(name, isDate)
	return d
}

// fiscalYearStart is the first day of the fiscal year that contains date, for a company
// whose fiscal year starts on the month and day of start (YYYY-MM-DD).
func fiscalYearStart(start, date string) string {
	s := date[:4] + start[4:]
	if s <= date {
		return s
	}
	t, _ := parseDate(date)
	return t.AddDate(-1, 0, 0).Format("2006") + start[4:]
}

package atlastest

import "time"

type accountJSON struct {
	ID             string  `json:"id"`
	AccountNumber  string  `json:"account_number"`
	Name           string  `json:"name"`
	AccountType    string  `json:"account_type"`
	AccountSubtype *string `json:"account_subtype"`
	NormalBalance  string  `json:"normal_balance"`
	ParentID       *string `json:"parent_id"`
	IsActive       bool    `json:"is_active"`
	CurrentBalance string  `json:"current_balance"`
	Description    *string `json:"description"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

// renderAccount is the account as a client sees it (on any day).
func renderAccount(a *account, _ string) accountJSON {
	return accountJSON{
		ID:             a.id,
		AccountNumber:  a.number,
		Name:           a.name,
		AccountType:    a.accountType,
		AccountSubtype: a.subtype,
		NormalBalance:  a.normalBalance,
		ParentID:       a.parentID,
		IsActive:       a.isActive,
		CurrentBalance: money(a.balance),
		Description:    a.description,
		CreatedAt:      timestamp(a.createdAt),
		UpdatedAt:      timestamp(a.updatedAt),
	}
}

var accountSorts = []sortKey[account]{
	byTime("created_at", func(a *account) time.Time { return a.createdAt }),
	byString("account_number", func(a *account) string { return a.number }),
	byString("name", func(a *account) string { return a.name }),
}

var accountKind = &kind[account, accountJSON]{
	name:   "Account",
	table:  func(st *store) *table[account] { return &st.accounts },
	sorts:  accountSorts,
	render: renderAccount,
}

// accountFilter is the filter of GET /chart-of-accounts: account_type.
func accountFilter(q *query, _ string) func(*account) bool {
	accountType, hasType := q.str("account_type", oneOf(accountTypes...))
	if !hasType {
		return nil
	}
	return func(a *account) bool { return a.accountType == accountType }
}

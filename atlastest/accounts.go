package atlastest

import (
	"net/http"
	"time"
)

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

func renderAccount(a *account) accountJSON {
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

// listAccounts is GET /chart-of-accounts, filtered by account_type.
func (s *Server) listAccounts(r *http.Request, u *user) (int, any, error) {
	q := newQuery(r)
	companyID := companyParam(q)
	p, key := readList(q, accountSorts)
	accountType, hasType := q.str("account_type", oneOf(accountTypes...))
	if err := q.err(); err != nil {
		return 0, nil, err
	}
	if err := s.access(u, companyID); err != nil {
		return 0, nil, err
	}
	var match func(*account) bool
	if hasType {
		match = func(a *account) bool { return a.accountType == accountType }
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return http.StatusOK, paginate(s.st.accounts.sortedBy(companyID, key), p, match, renderAccount), nil
}

// getAccount is GET /chart-of-accounts/{id}.
func (s *Server) getAccount(r *http.Request, u *user) (int, any, error) {
	ref, err := s.itemParams(r, u)
	if err != nil {
		return 0, nil, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	a, ok := findItem(&s.st.accounts, u, ref)
	if !ok {
		return 0, nil, errNotFound("Account")
	}
	return http.StatusOK, renderAccount(a), nil
}

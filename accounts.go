package atlas

import (
	"context"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// AccountsService reads the company's chart of accounts (general-ledger
// accounts). The chart is read only through the API.
type AccountsService service

// AccountType is the top-level classification of an account.
type AccountType string

// Account types of the chart of accounts.
const (
	AccountTypeAsset     AccountType = "asset"
	AccountTypeLiability AccountType = "liability"
	AccountTypeEquity    AccountType = "equity"
	AccountTypeRevenue   AccountType = "revenue"
	AccountTypeExpense   AccountType = "expense"
)

// NormalBalance is the side on which an account's balance normally sits.
type NormalBalance string

// Normal balances.
const (
	NormalBalanceDebit  NormalBalance = "debit"
	NormalBalanceCredit NormalBalance = "credit"
)

// Account is a general-ledger account.
type Account struct {
	ID string `json:"id"`
	// AccountNumber is unique within the company, e.g. "1200".
	AccountNumber string      `json:"account_number"`
	Name          string      `json:"name"`
	AccountType   AccountType `json:"account_type"`
	// AccountSubtype is a finer classification such as "current_asset", or nil.
	AccountSubtype *string       `json:"account_subtype"`
	NormalBalance  NormalBalance `json:"normal_balance"`
	// ParentID is the parent account, nil for a top-level account.
	ParentID       *string         `json:"parent_id"`
	IsActive       bool            `json:"is_active"`
	CurrentBalance decimal.Decimal `json:"current_balance"`
	Description    *string         `json:"description"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// AccountListParams page, sort and filter Accounts.List and Accounts.All.
type AccountListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the AccountSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy AccountSortBy `url:"sort_by"`
	// AccountType keeps only accounts of this type; empty keeps all.
	AccountType AccountType `url:"account_type"`
}

// AccountSortBy is a field Accounts.List and Accounts.All can sort by: the
// SortBy of AccountListParams; the key of another resource does not compile there.
type AccountSortBy string

// Fields Accounts can be sorted by.
const (
	AccountSortByCreatedAt     AccountSortBy = "created_at"
	AccountSortByAccountNumber AccountSortBy = "account_number"
	AccountSortByName          AccountSortBy = "name"
)

// List returns one page of accounts.
//
// API: GET /chart-of-accounts
func (s *AccountsService) List(ctx context.Context, params *AccountListParams, opts ...RequestOption) (*Page[Account], error) {
	return listOf[Account](ctx, s.client, "Accounts.List", "/chart-of-accounts", params, opts)
}

// All iterates over every account, fetching pages as the loop goes.
//
// API: GET /chart-of-accounts
func (s *AccountsService) All(ctx context.Context, params *AccountListParams, opts ...AllOption) iter.Seq2[*Account, error] {
	return allOf[Account](ctx, s.client, "Accounts.All", "/chart-of-accounts", params, opts)
}

// Get returns one account; an unknown id gets ErrNotFound.
//
// API: GET /chart-of-accounts/{id}
func (s *AccountsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Account, error) {
	return getItem[Account](ctx, s.client, "Accounts.Get", "/chart-of-accounts/{id}", id, opts)
}

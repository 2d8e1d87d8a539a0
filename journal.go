package atlas

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// JournalEntriesService manages manual journal entries. An entry is created
// as a draft and posted to the ledger, after which it is immutable.
type JournalEntriesService service

// JournalEntryStatus is where a journal entry is in its lifecycle:
// draft -> posted -> void.
type JournalEntryStatus string

// Journal entry statuses.
const (
	JournalEntryStatusDraft  JournalEntryStatus = "draft"
	JournalEntryStatusPosted JournalEntryStatus = "posted"
	JournalEntryStatusVoid   JournalEntryStatus = "void"
)

// EntryType is the side of a journal entry line.
type EntryType string

// Entry types.
const (
	EntryTypeDebit  EntryType = "debit"
	EntryTypeCredit EntryType = "credit"
)

// JournalEntry is a manual journal entry.
type JournalEntry struct {
	ID string `json:"id"`
	// EntryNumber is assigned by the server, e.g. JE-2026-0001.
	EntryNumber string             `json:"entry_number"`
	EntryDate   Date               `json:"entry_date"`
	Description string             `json:"description"`
	Status      JournalEntryStatus `json:"status"`
	// PostedAt is when the entry was posted, nil while it is a draft.
	PostedAt *time.Time `json:"posted_at"`
	// TotalAmount is the sum of the debit lines, which equals the sum of the
	// credit lines.
	TotalAmount decimal.Decimal    `json:"total_amount"`
	Lines       []JournalEntryLine `json:"lines"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

// JournalEntryLine is a line of a journal entry.
type JournalEntryLine struct {
	ID          string          `json:"id"`
	LineNumber  int             `json:"line_number"`
	AccountID   string          `json:"account_id"`
	EntryType   EntryType       `json:"entry_type"`
	Amount      decimal.Decimal `json:"amount"`
	Description *string         `json:"description"`
}

// JournalEntryLineParams are a line of a new journal entry (the contract's
// JournalEntryLineCreate). Amount must be > 0.
type JournalEntryLineParams struct {
	AccountID   string          `json:"account_id"`
	EntryType   EntryType       `json:"entry_type"`
	Amount      decimal.Decimal `json:"amount"`
	Description string          `json:"description,omitempty"`
}

// JournalEntryCreateParams are the fields of a new draft journal entry. It
// needs at least two lines, and its debits must equal its credits; the server
// judges the balance and answers an unbalanced entry with ErrValidation and a
// FieldError naming "lines". An EntryDate in a closed period gets ErrConflict.
type JournalEntryCreateParams struct {
	EntryDate   Date                     `json:"entry_date"`
	Description string                   `json:"description"`
	Lines       []JournalEntryLineParams `json:"lines"`
}

func (p *JournalEntryCreateParams) check() error {
	if len(p.Lines) < 2 {
		return fmt.Errorf("lines: a journal entry needs at least 2 lines, got %d", len(p.Lines))
	}
	return nil
}

// JournalEntryListParams page, sort and filter JournalEntries.List and
// JournalEntries.All. Zero filters are not sent.
type JournalEntryListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the JournalEntrySortBy constants;
	// empty is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy JournalEntrySortBy `url:"sort_by"`
	Status JournalEntryStatus `url:"status"`
	// DateFrom and DateTo bound the entry date, both inclusive.
	DateFrom Date `url:"date_from"`
	DateTo   Date `url:"date_to"`
}

// JournalEntrySortBy is a field JournalEntries.List and JournalEntries.All
// can sort by: the SortBy of JournalEntryListParams; the key of another
// resource does not compile there.
type JournalEntrySortBy string

// Fields JournalEntries can be sorted by.
const (
	JournalEntrySortByCreatedAt   JournalEntrySortBy = "created_at"
	JournalEntrySortByEntryDate   JournalEntrySortBy = "entry_date"
	JournalEntrySortByEntryNumber JournalEntrySortBy = "entry_number"
)

// List returns one page of journal entries.
//
// API: GET /journal-entries
func (s *JournalEntriesService) List(ctx context.Context, params *JournalEntryListParams, opts ...RequestOption) (*Page[JournalEntry], error) {
	return listOf[JournalEntry](ctx, s.client, "JournalEntries.List", "/journal-entries", params, opts)
}

// All iterates over every journal entry, fetching pages as the loop goes.
//
// API: GET /journal-entries
func (s *JournalEntriesService) All(ctx context.Context, params *JournalEntryListParams, opts ...AllOption) iter.Seq2[*JournalEntry, error] {
	return allOf[JournalEntry](ctx, s.client, "JournalEntries.All", "/journal-entries", params, opts)
}

// Create creates a draft journal entry. Params with fewer than two lines are
// refused before any request.
//
// API: POST /journal-entries
func (s *JournalEntriesService) Create(ctx context.Context, params *JournalEntryCreateParams, opts ...PostOption) (*JournalEntry, error) {
	return create[JournalEntry](ctx, s.client, "JournalEntries.Create", "/journal-entries", params, opts)
}

// Get returns one journal entry; an unknown id gets ErrNotFound.
//
// API: GET /journal-entries/{id}
func (s *JournalEntriesService) Get(ctx context.Context, id string, opts ...RequestOption) (*JournalEntry, error) {
	return getItem[JournalEntry](ctx, s.client, "JournalEntries.Get", "/journal-entries/{id}", id, opts)
}

// Post posts a draft journal entry to the ledger; it then affects account
// balances and can no longer change. An entry that is not a draft, or is
// dated in a closed period, gets ErrConflict.
//
// API: POST /journal-entries/{id}/post
func (s *JournalEntriesService) Post(ctx context.Context, id string, opts ...PostOption) (*JournalEntry, error) {
	return action[JournalEntry](ctx, s.client, "JournalEntries.Post", "/journal-entries/{id}/post", id, opts)
}

// Void voids a journal entry for the reason params gives. An entry that is
// already void gets ErrConflict.
//
// API: POST /journal-entries/{id}/void
func (s *JournalEntriesService) Void(ctx context.Context, id string, params *VoidParams, opts ...PostOption) (*JournalEntry, error) {
	return actionWith[JournalEntry](ctx, s.client, "JournalEntries.Void", "/journal-entries/{id}/void", id, params, opts)
}

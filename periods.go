package atlas

import (
	"context"
	"iter"
	"time"
)

// PeriodsService lists and closes accounting periods. A closed period accepts
// no new journal entries.
type PeriodsService service

// PeriodStatus says whether a period still accepts entries.
type PeriodStatus string

// Period statuses.
const (
	PeriodStatusOpen   PeriodStatus = "open"
	PeriodStatusClosed PeriodStatus = "closed"
)

// Period is an accounting period, StartDate to EndDate inclusive.
type Period struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	StartDate Date         `json:"start_date"`
	EndDate   Date         `json:"end_date"`
	Status    PeriodStatus `json:"status"`
	// ClosedAt is when the period was closed, nil while it is open.
	ClosedAt  *time.Time `json:"closed_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// PeriodListParams page and sort Periods.List and Periods.All.
type PeriodListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the PeriodSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy PeriodSortBy `url:"sort_by"`
}

// PeriodSortBy is a field Periods.List and Periods.All can sort by: the
// SortBy of PeriodListParams; the key of another resource does not compile there.
type PeriodSortBy string

// Fields Periods can be sorted by.
const (
	PeriodSortByCreatedAt PeriodSortBy = "created_at"
	PeriodSortByStartDate PeriodSortBy = "start_date"
)

// List returns one page of accounting periods.
//
// API: GET /periods
func (s *PeriodsService) List(ctx context.Context, params *PeriodListParams, opts ...RequestOption) (*Page[Period], error) {
	return listOf[Period](ctx, s.client, "Periods.List", "/periods", params, opts)
}

// All iterates over every accounting period, fetching pages as the loop goes.
//
// API: GET /periods
func (s *PeriodsService) All(ctx context.Context, params *PeriodListParams, opts ...AllOption) iter.Seq2[*Period, error] {
	return allOf[Period](ctx, s.client, "Periods.All", "/periods", params, opts)
}

// Close closes an open period; journal entries dated in it then get
// ErrConflict. A period that is already closed gets ErrConflict.
//
// API: POST /periods/{id}/close
func (s *PeriodsService) Close(ctx context.Context, id string, opts ...PostOption) (*Period, error) {
	return action[Period](ctx, s.client, "Periods.Close", "/periods/{id}/close", id, opts)
}

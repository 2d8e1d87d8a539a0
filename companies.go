package atlas

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// CompaniesService lists the companies the user can access. Their ids are the
// company context of every other service (see WithCompany and Client.ForCompany).
type CompaniesService service

// Company is a company the user can access.
type Company struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	BaseCurrency    string    `json:"base_currency"`
	FiscalYearStart Date      `json:"fiscal_year_start"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// CompanyListParams page and sort Companies.List and Companies.All.
type CompanyListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the CompanySortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy CompanySortBy `url:"sort_by"`
}

// CompanySortBy is a field Companies.List and Companies.All can sort by: the
// SortBy of CompanyListParams; the key of another resource does not compile there.
type CompanySortBy string

// Fields Companies can be sorted by.
const (
	CompanySortByCreatedAt CompanySortBy = "created_at"
	CompanySortByName      CompanySortBy = "name"
)

// List returns one page of the companies the user can access.
//
// API: GET /companies
func (s *CompaniesService) List(ctx context.Context, params *CompanyListParams, opts ...RequestOption) (*Page[Company], error) {
	return listIn[Company](ctx, s.client, Request{Path: "/companies", Route: "/companies", op: "Companies.List"}, params, opts) // no company_id
}

// All iterates over every company the user can access, page by page.
//
// API: GET /companies
func (s *CompaniesService) All(ctx context.Context, params *CompanyListParams, opts ...AllOption) iter.Seq2[*Company, error] {
	return allIn[Company](ctx, s.client, Request{Path: "/companies", Route: "/companies", op: "Companies.All"}, params, opts)
}

// Get returns one company. A company the user cannot access gets ErrForbidden;
// an empty id is refused before any request with ErrInvalidParams.
//
// API: GET /companies/{id}
func (s *CompaniesService) Get(ctx context.Context, id string, opts ...RequestOption) (*Company, error) {
	// Not getItem: company routes take no company_id.
	if err := checkID(http.MethodGet+" /companies/{id}", id); err != nil {
		return nil, err
	}
	return call[Company](ctx, s.client, Request{Method: http.MethodGet, Route: "/companies/{id}", id: id, op: "Companies.Get"}, configOf(opts))
}

package atlastest

import (
	"net/http"
	"time"
)

type companyJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	BaseCurrency    string `json:"base_currency"`
	FiscalYearStart string `json:"fiscal_year_start"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
}

func renderCompany(c *company) companyJSON {
	return companyJSON{
		ID:              c.id,
		Name:            c.name,
		BaseCurrency:    c.baseCurrency,
		FiscalYearStart: c.fiscalYearStart,
		CreatedAt:       timestamp(c.createdAt),
		UpdatedAt:       timestamp(c.updatedAt),
	}
}

var companySorts = []sortKey[company]{
	byTime("created_at", func(c *company) time.Time { return c.createdAt }),
	byString("name", func(c *company) string { return c.name }),
}

func companyKeys(c *company) (string, string) { return c.id, c.id }

// listCompanies is GET /companies: the companies the user can access. It takes no
// company_id. Companies never change, so it needs no lock.
func (s *Server) listCompanies(r *http.Request, u *user) (int, any, error) {
	q := newQuery(r)
	p, key := readList(q, companySorts)
	if err := q.err(); err != nil {
		return 0, nil, err
	}
	mine := make([]*company, 0, len(u.memberships))
	for _, m := range u.memberships {
		mine = append(mine, u.w.companyByID[m.companyID])
	}
	return http.StatusOK, paginate(sortRecords(mine, key, companyKeys), p, nil, renderCompany), nil
}

// getCompany is GET /companies/{id}: 403 for a company of the organization the user cannot
// access, 404 for an id that is no company.
func (s *Server) getCompany(r *http.Request, u *user) (int, any, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return 0, nil, errValidation(fieldError{Field: "id", Message: "Input should be a valid UUID."})
	}
	c, ok := u.w.companyByID[normalizeUUID(id)]
	if !ok {
		return 0, nil, errNotFound("Company")
	}
	if err := s.access(u, c.id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, renderCompany(c), nil
}

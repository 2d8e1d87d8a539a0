package atlastest

import (
	"net/http"
	"time"
)

type periodJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	StartDate string  `json:"start_date"`
	EndDate   string  `json:"end_date"`
	Status    string  `json:"status"`
	ClosedAt  *string `json:"closed_at"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

// renderPeriod is the period as a client sees it (on any day).
func renderPeriod(p *period, _ string) periodJSON {
	return periodJSON{
		ID:        p.id,
		Name:      p.name,
		StartDate: p.startDate,
		EndDate:   p.endDate,
		Status:    p.status,
		ClosedAt:  timestampOrNil(p.closedAt),
		CreatedAt: timestamp(p.createdAt),
		UpdatedAt: timestamp(p.updatedAt),
	}
}

var periodSorts = []sortKey[period]{
	byTime("created_at", func(p *period) time.Time { return p.createdAt }),
	byString("start_date", func(p *period) string { return p.startDate }),
}

var periodKind = &kind[period, periodJSON]{
	name:   "Period",
	table:  func(st *store) *table[period] { return &st.periods },
	sorts:  periodSorts,
	render: renderPeriod,
}

// closePeriod is POST /periods/{id}/close: an open period becomes closed (409 when it
// already is) and period.closed is emitted. It takes no body.
func (s *Server) closePeriod(r *http.Request, u *user) (int, any, error) {
	ref, err := s.itemParams(r, u)
	if err != nil {
		return 0, nil, err
	}
	s.st.mu.Lock()
	p, ok := findItem(&s.st.periods, u, ref)
	if !ok {
		s.st.mu.Unlock()
		return 0, nil, errNotFound("Period")
	}
	if err := s.writeAccess(u, p.companyID); err != nil {
		s.st.mu.Unlock()
		return 0, nil, err
	}
	if p.status == "closed" {
		s.st.mu.Unlock()
		return 0, nil, errConflict("The period is already closed.")
	}
	now := s.clock.now()
	p.status, p.closedAt, p.updatedAt = "closed", &now, now
	s.st.periods.changed(p.companyID)
	out := renderPeriod(p, "")
	s.st.mu.Unlock()

	s.emit(eventPeriodClosed, map[string]any{
		"id":         out.ID,
		"name":       out.Name,
		"start_date": out.StartDate,
		"end_date":   out.EndDate,
		"closed_at":  *out.ClosedAt,
	})
	return http.StatusOK, out, nil
}

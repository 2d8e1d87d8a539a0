package atlastest

import "time"

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
func closePeriod(_ *store, p *period, _ *object, now time.Time) ([]emitted, error) {
	if p.status == "closed" {
		return nil, errConflict("The period is already closed.")
	}
	p.status, p.closedAt, p.updatedAt = "closed", &now, now
	return []emitted{{eventPeriodClosed, map[string]any{
		"id":         p.id,
		"name":       p.name,
		"start_date": p.startDate,
		"end_date":   p.endDate,
		"closed_at":  timestamp(now),
	}}}, nil
}

package atlastest

import "net/http"

// The generic handlers below serve every table of the store: a resource file describes its
// records with a kind (where they live, how they sort, how they look on the wire) and
// keeps only what is its own, such as its list filters. routes.go wires the two together.

// kind is what the generic handlers need to know of one resource: T is its record, W its
// wire form.
type kind[T, W any] struct {
	name  string // as messages name it: "Invoice" gives "Invoice not found."
	table func(*store) *table[T]
	sorts []sortKey[T] // the sort_by values of its list, the default first
	// render is a record as a client sees it on today (YYYY-MM-DD): only an invoice looks
	// different from one day to the next (overdue).
	render func(v *T, today string) W
}

// filter reads a list's own query parameters, recording problems in q, and returns which
// records the list keeps: nil, when no filter was given, keeps them all. today
// (YYYY-MM-DD) is the server's, for filters on what a record shows on the day.
type filter[T any] func(q *query, today string) func(*T) bool

// list serves GET /{resource}: a page of the company's records, sorted and filtered as the
// query asks (filter nil: the list has no filters of its own).
func (k *kind[T, W]) list(s *Server, f filter[T]) userEndpoint {
	return func(r *http.Request, u *user) (int, any, error) {
		today := dateOf(s.clock.now())
		q := newQuery(r)
		companyID := companyParam(q)
		p, key := readList(q, k.sorts)
		var match func(*T) bool
		if f != nil {
			match = f(q, today)
		}
		if err := q.err(); err != nil {
			return 0, nil, err
		}
		if err := s.access(u, companyID); err != nil {
			return 0, nil, err
		}
		render := func(v *T) W { return k.render(v, today) }
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		return http.StatusOK, paginate(k.table(s.st).sortedBy(companyID, key), p, match, render), nil
	}
}

// get serves GET /{resource}/{id}: the record, when the user can see it (else 404).
func (k *kind[T, W]) get(s *Server) userEndpoint {
	return func(r *http.Request, u *user) (int, any, error) {
		ref, err := s.itemParams(r, u)
		if err != nil {
			return 0, nil, err
		}
		today := dateOf(s.clock.now())
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		v, ok := findItem(k.table(s.st), u, ref)
		if !ok {
			return 0, nil, errNotFound(k.name)
		}
		return http.StatusOK, k.render(v, today), nil
	}
}

package atlastest

import (
	"net/http"
	"time"
)

// The generic handlers below serve every table of the store: list, get, create and the
// actions on one record. A resource file describes its records with a kind (where they
// live, how they sort, how they look on the wire) and keeps only what is its own: its list
// filters, how a new record is read (a builder) and each action's step. routes.go wires
// the two together.

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

// action is what an action on one record does once the record is found and the user may
// change it: it checks the request body o (nil for an action that takes none) and the
// record's state, changes the record and whatever follows from it at now, and returns the
// events to emit. It runs with the store lock held; when it fails, it has changed nothing.
type action[T any] func(st *store, v *T, o *object, now time.Time) ([]emitted, error)

// Whether an action reads a JSON object from the request body.
const (
	noBody   = false
	withBody = true
)

// act serves an action on one record (PATCH /{resource}/{id}, POST /{resource}/{id}/void
// and the like): it reads the id and, when readsBody, the body; finds the record (404) and
// checks that the user may change it (403); then do does the rest. The answer is the
// record as do left it, and do's events are emitted once the store lock is released.
func (k *kind[T, W]) act(s *Server, readsBody bool, do action[T]) userEndpoint {
	return func(r *http.Request, u *user) (int, any, error) {
		ref, err := s.itemParams(r, u)
		if err != nil {
			return 0, nil, err
		}
		var o *object
		if readsBody {
			if o, err = readObject(r); err != nil {
				return 0, nil, err
			}
		}
		now := s.clock.now()
		var out W
		var events []emitted
		err = s.inStore(func(st *store) error {
			t := k.table(st)
			v, ok := findItem(t, u, ref)
			if !ok {
				return errNotFound(k.name)
			}
			_, companyID := t.keys(v)
			if err := s.writeAccess(u, companyID); err != nil {
				return err
			}
			evs, err := do(st, v, o, now)
			if err != nil {
				return err
			}
			t.changed(companyID)
			out, events = k.render(v, dateOf(now)), evs
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
		s.emitAll(events)
		return http.StatusOK, out, nil
	}
}

// builder is what a create does that differs between resources: it reads the body o into
// a new record of the company, checks it and what it refers to, numbers it and does
// whatever follows from it at now, and returns it with the events to emit. It runs with
// the store lock held; when it fails, it has changed nothing. create inserts the record.
type builder[T any] func(st *store, o *object, companyID string, now time.Time) (*T, []emitted, error)

// create serves POST /{resource}: it reads company_id (422), checks that the user may
// write to the company (403), reads the body (400, 422) and has build make the record,
// which it inserts. The answer is 201 with the new record, and build's events are emitted
// once the store lock is released.
func (k *kind[T, W]) create(s *Server, build builder[T]) userEndpoint {
	return func(r *http.Request, u *user) (int, any, error) {
		q := newQuery(r)
		companyID := companyParam(q)
		if err := q.err(); err != nil {
			return 0, nil, err
		}
		if err := s.writeAccess(u, companyID); err != nil {
			return 0, nil, err
		}
		o, err := readObject(r)
		if err != nil {
			return 0, nil, err
		}
		now := s.clock.now()
		var out W
		var events []emitted
		err = s.inStore(func(st *store) error {
			v, evs, err := build(st, o, companyID, now)
			if err != nil {
				return err
			}
			k.table(st).insert(v)
			out, events = k.render(v, dateOf(now)), evs
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
		s.emitAll(events)
		return http.StatusCreated, out, nil
	}
}

package atlastest

import (
	"net/http"
	"strings"
)

// endpoint is one operation of the contract for anyone (login, refresh): it returns the
// status and the body of a success, or an error (an *apiError becomes its status and error
// envelope, anything else a 500).
type endpoint func(r *http.Request) (status int, body any, err error)

// userEndpoint is an operation that needs a valid bearer token; u is its user.
type userEndpoint func(r *http.Request, u *user) (status int, body any, err error)

// routes is the table of the contract's operations. Patterns are Go 1.22 ServeMux patterns
// relative to basePath. A resource's list, get, create and item actions are the generic
// handlers of resource.go (kind.list, get, create, act) given what is the resource's own,
// from its file (invoices.go, bills.go, journal.go, payments.go): its filters, how a new
// record is read, each action's step. Other operations have handlers of their own.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+basePath+path, h)
	}

	handle("POST /auth/login", s.serve(s.login))
	handle("POST /auth/refresh", s.serve(s.refresh))
	handle("GET /auth/me", s.authed(s.me))

	handle("GET /companies", s.authed(s.listCompanies))
	handle("GET /companies/{id}", s.authed(s.getCompany))

	handle("GET /contacts/customers", s.authed(customerKind.list(s, contactFilter)))
	handle("POST /contacts/customers", s.authed(customerKind.create(s, newContact(customerKind))))
	handle("GET /contacts/customers/{id}", s.authed(customerKind.get(s)))
	handle("PATCH /contacts/customers/{id}", s.authed(customerKind.act(s, withBody, updateContact(customerKind))))

	handle("GET /contacts/vendors", s.authed(vendorKind.list(s, contactFilter)))
	handle("POST /contacts/vendors", s.authed(vendorKind.create(s, newContact(vendorKind))))
	handle("GET /contacts/vendors/{id}", s.authed(vendorKind.get(s)))
	handle("PATCH /contacts/vendors/{id}", s.authed(vendorKind.act(s, withBody, updateContact(vendorKind))))

	handle("GET /chart-of-accounts", s.authed(accountKind.list(s, accountFilter)))
	handle("GET /chart-of-accounts/{id}", s.authed(accountKind.get(s)))

	handle("GET /invoices", s.authed(invoiceKind.list(s, invoiceFilter)))
	handle("POST /invoices", s.authed(invoiceKind.create(s, newInvoice)))
	handle("GET /invoices/{id}", s.authed(invoiceKind.get(s)))
	handle("PATCH /invoices/{id}", s.authed(invoiceKind.act(s, withBody, updateInvoice)))
	handle("POST /invoices/{id}/send", s.authed(invoiceKind.act(s, noBody, sendInvoice)))
	handle("POST /invoices/{id}/void", s.authed(invoiceKind.act(s, withBody, voidInvoice)))

	handle("GET /bills", s.authed(billKind.list(s, billFilter)))
	handle("POST /bills", s.authed(billKind.create(s, newBill)))
	handle("GET /bills/{id}", s.authed(billKind.get(s)))
	handle("POST /bills/{id}/approve", s.authed(billKind.act(s, noBody, approveBill)))
	handle("POST /bills/{id}/void", s.authed(billKind.act(s, withBody, voidBill)))

	handle("GET /journal-entries", s.authed(journalKind.list(s, journalFilter)))
	handle("POST /journal-entries", s.authed(journalKind.create(s, newJournalEntry)))
	handle("GET /journal-entries/{id}", s.authed(journalKind.get(s)))
	handle("POST /journal-entries/{id}/post", s.authed(journalKind.act(s, noBody, postJournalEntry)))
	handle("POST /journal-entries/{id}/void", s.authed(journalKind.act(s, withBody, voidJournalEntry)))

	handle("GET /payments", s.authed(paymentKind.list(s, nil)))
	handle("POST /payments", s.authed(paymentKind.create(s, newPayment)))
	handle("GET /payments/{id}", s.authed(paymentKind.get(s)))

	handle("GET /periods", s.authed(periodKind.list(s, nil)))
	handle("POST /periods/{id}/close", s.authed(periodKind.act(s, noBody, closePeriod)))

	handle("GET /reports/profit-loss", s.authed(s.profitLoss))
	handle("GET /reports/balance-sheet", s.authed(s.balanceSheet))

	return unmatched(mux)
}

// serve adapts an endpoint to http.Handler.
func (s *Server) serve(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body, err := e(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	})
}

// authed adapts a userEndpoint: a request without a valid bearer token gets 401.
func (s *Server) authed(e userEndpoint) http.Handler {
	return s.serve(func(r *http.Request) (int, any, error) {
		u := s.bearerUser(r)
		if u == nil {
			return 0, nil, errUnauthorized(msgBadCredentials)
		}
		return e(r, u)
	})
}

// unmatched answers what mux has no route for with the error envelope: 405 (with Allow)
// when the path exists for other methods, 404 otherwise.
func unmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// Let the mux decide between 404 and 405 and keep only its status and Allow header.
		rec := newRecorder()
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeErrorStatus(w, http.StatusMethodNotAllowed, "Method not allowed.", nil)
			return
		}
		writeErrorStatus(w, http.StatusNotFound, "Not found.", nil)
	})
}

package atlastest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// middleware wraps the server's handler to act on every request, including the ones no
// route matches.
type middleware func(http.Handler) http.Handler

// chain is the Atlas API as an http.Handler: the routes wrapped in the middleware chain.
//
// The chain is listed here, outermost first, and nowhere else. A later feature adds its
// middleware in its own file (a method of Server with the middleware signature) and one
// line to this list, at its place:
//
//	requestID       X-Request-ID on every answer (the request log can record it)
//	recoverPanics   a panicking handler answers 500 with the error envelope
//	request log     records method, path, query, Idempotency-Key, redacted headers and
//	                body, and what became of the request (requestlog.go)
//	rate limiting   X-RateLimit-* headers on every answer, 429 with Retry-After; the user
//	                comes from s.bearerUser(r) (nil before login) (ratelimit.go)
//	fault injection fails, drops (panic(http.ErrAbortHandler)) or delays matching requests,
//	                before the rest of the chain or after it (faults.go)
//	idempotency     replays the stored answer of a POST with a known Idempotency-Key
//	                (idempotency.go)
//	handled         notes the status the handler produced, for the request log
//	routes          the contract's operations (routes.go)
//
// Rate limiting comes before fault injection so that an injected failure carries the
// rate-limit headers like every other answer (and counts, as on a real server).
//
// recoverPanics re-panics http.ErrAbortHandler, so a middleware may drop a connection
// without an answer that way.
func (s *Server) chain() http.Handler {
	chain := []middleware{
		s.requestID,
		s.recoverPanics,
		s.logRequests,
		s.rateLimit,
		s.injectFaults,
		s.idempotent,
		s.handled,
	}
	h := s.routes()
	for i := len(chain) - 1; i >= 0; i-- {
		h = chain[i](h)
	}
	return h
}

// requestID gives every answer an X-Request-ID, as the real API does, so that clients can
// report it.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", newID())
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic in a handler (a bug in the fake server) into a 500 with the
// error envelope, logged without request details so no secret can leak.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			if l := s.logger(); l != nil {
				l.Error("atlastest: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			}
			writeErrorStatus(w, http.StatusInternalServerError, "Internal server error.", nil)
		}()
		next.ServeHTTP(w, r)
	})
}

// logAccess logs every request h answers to the server's logger (WithLogger), once it is
// answered: method, path, query, status (0 when the connection was dropped without an
// answer), how long it took, the request id and any injected fault. Never a header or a
// body, so never a credential. Without a logger it is h itself.
func (s *Server) logAccess(h http.Handler) http.Handler {
	l := s.logger()
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, ex := withExchange(r)
		status := 0
		lw := &statusWriter{ResponseWriter: w, noted: func(st int) { status = st }}
		defer func() {
			v := recover()
			if v != nil {
				if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
					status = http.StatusInternalServerError
				}
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "duration", time.Since(start)}
			if id := w.Header().Get("X-Request-ID"); id != "" {
				attrs = append(attrs, "request_id", id)
			}
			if q := r.URL.RawQuery; q != "" {
				if redacted, changed := redactQuery(r.URL.Query()); changed {
					q = redacted.Encode()
				}
				attrs = append(attrs, "query", q)
			}
			if ex.fault != "" {
				attrs = append(attrs, "fault", string(ex.fault), "fault_after_handler", ex.faultAfter)
			}
			l.Info("atlastest: request", attrs...)
			if v != nil {
				panic(v)
			}
		}()
		h.ServeHTTP(lw, r)
	})
}

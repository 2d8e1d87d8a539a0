package atlastest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// RecordedRequest is one request the server received and what became of it, as
// Server.Requests reports it.
type RecordedRequest struct {
	// Time is when the request arrived, on the server's clock.
	Time time.Time
	// Method is the HTTP method.
	Method string
	// Path is the URL path relative to the base URL ("/invoices/…/send"), or the whole
	// path for a request outside it.
	Path string
	// Query is the parsed query string, with the values of the parameters password,
	// refresh_token and access_token, in any case, replaced by "[REDACTED]".
	Query url.Values
	// IdempotencyKey is the Idempotency-Key header, or "".
	IdempotencyKey string
	// Header holds the request headers, with the credentials redacted: Authorization keeps
	// its scheme when it is Bearer or Basic ("Bearer [REDACTED]") and is "[REDACTED]"
	// otherwise, as are Cookie and Proxy-Authorization.
	Header http.Header
	// Body is the request body as received, up to its first 64 KiB (BodyTruncated tells
	// when there was more), or nil when there was none. In a JSON object body the
	// top-level fields password, refresh_token and access_token, in any case, are replaced
	// by "[REDACTED]" (the body is then re-encoded, with its keys sorted); an auth body that
	// is not valid JSON is not kept.
	Body          []byte
	BodyTruncated bool
	// RequestID is the answer's X-Request-ID.
	RequestID string
	// Status is the status the client was sent, or 0 when it got no answer (a dropped
	// connection, or a client that left during injected latency).
	Status int
	// Fault is the fault injected into the request, or "" for none.
	Fault Fault
	// FaultAfterHandler tells that the fault came after the handler ran.
	FaultAfterHandler bool
	// Replayed tells that the answer was replayed for a known Idempotency-Key.
	Replayed bool
	// HandlerStatus is the status the operation's handler produced, which differs from
	// Status when a fault replaced the answer; 0 when the handler did not run (rate
	// limited, a fault before it, an idempotent replay). Counting the requests of an
	// Idempotency-Key with a 2xx HandlerStatus counts how often a create really ran.
	HandlerStatus int
}

// defaultRequestLog is how many requests the log keeps unless WithRequestLog says
// otherwise.
const defaultRequestLog = 10000

// maxLoggedBody is how much of a request body the log keeps.
const maxLoggedBody = 64 << 10

// WithRequestLog makes the server keep the last n requests for Server.Requests instead of
// the last 10,000, so that a long test does not grow memory without bound; n of zero
// keeps none, a negative n is invalid.
func WithRequestLog(n int) Option {
	return func(cfg *config) {
		if n < 0 {
			cfg.invalid("WithRequestLog", "%d requests is negative", n)
			return
		}
		cfg.requestLog = n
	}
}

// requestLog is a ring of the last requests.
type requestLog struct {
	mu   sync.Mutex
	ring []RecordedRequest
	next int // where the next record goes
	full bool
}

func newRequestLog(n int) *requestLog { return &requestLog{ring: make([]RecordedRequest, n)} }

func (l *requestLog) add(rec RecordedRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = rec
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
}

// Requests returns the requests the server received, oldest first: the last 10,000 (see
// WithRequestLog) since it started or since ResetRequests. A request is listed as soon as
// its answer starts, before the client can have read any of it, or when it ends without
// an answer (dropped, abandoned); the order is that of answering. The records are the
// caller's to keep and change.
func (s *Server) Requests() []RecordedRequest {
	l := s.reqLog
	l.mu.Lock()
	var recs []RecordedRequest
	if l.full {
		recs = append(recs, l.ring[l.next:]...)
	}
	recs = append(recs, l.ring[:l.next]...)
	l.mu.Unlock()
	for i := range recs {
		recs[i].Query = cloneValues(recs[i].Query)
		recs[i].Header = recs[i].Header.Clone()
		recs[i].Body = bytes.Clone(recs[i].Body)
	}
	return recs
}

// ResetRequests forgets the requests recorded so far.
func (s *Server) ResetRequests() {
	l := s.reqLog
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.ring)
	l.next, l.full = 0, false
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// exchange is what the middlewares learn about a request for its record. The access log
// or the request log puts one in the request's context (withExchange); the others fill it
// in (all on the request's goroutine). Its methods do nothing on a nil exchange, when
// there is no log.
type exchange struct {
	fault         Fault
	faultAfter    bool
	replayed      bool
	handlerStatus int
}

type exchangeKey struct{}

// exchangeOf is the request's exchange, or nil.
func exchangeOf(r *http.Request) *exchange {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return ex
}

// withExchange returns r with an exchange in its context, the one it has or a new one.
func withExchange(r *http.Request) (*http.Request, *exchange) {
	if ex := exchangeOf(r); ex != nil {
		return r, ex
	}
	ex := &exchange{}
	return r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)), ex
}

func (ex *exchange) injected(f Fault, after bool) {
	if ex != nil {
		ex.fault, ex.faultAfter = f, after
	}
}

func (ex *exchange) replay() {
	if ex != nil {
		ex.replayed = true
	}
}

// logRequests is the request-log middleware: it records every request with what became
// of it. The record is made when the answer starts, before any of it can reach the client,
// so that a test that reads Requests after its answer finds it there; a request whose
// answer never starts is recorded when it ends.
func (s *Server) logRequests(next http.Handler) http.Handler {
	if len(s.reqLog.ring) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := RecordedRequest{
			Time:           s.clock.now(),
			Method:         r.Method,
			Path:           relativePath(r.URL.Path),
			Query:          r.URL.Query(),
			IdempotencyKey: r.Header.Get("Idempotency-Key"),
			Header:         redactedHeader(r.Header),
		}
		rec.Query, _ = redactQuery(rec.Query)
		rec.Body, rec.BodyTruncated = peekBody(r)
		rec.Body = redactBody(rec.Path, rec.Body, rec.BodyTruncated)

		r, ex := withExchange(r)
		lw := &statusWriter{ResponseWriter: w, noted: func(status int) {
			rec.Status = status
			rec.RequestID = w.Header().Get("X-Request-ID")
			rec.Fault, rec.FaultAfterHandler = ex.fault, ex.faultAfter
			rec.Replayed, rec.HandlerStatus = ex.replayed, ex.handlerStatus
			s.reqLog.add(rec)
		}}
		defer func() {
			v := recover()
			status := 0
			if v != nil {
				if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
					status = http.StatusInternalServerError // what recoverPanics answers
				}
			}
			lw.note(status)
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(lw, r)
	})
}

// statusWriter tells noted the status of the answer once, as soon as it starts: before any
// of it can reach the client. The request log uses it to record the request, handled to
// note what the handler answered.
type statusWriter struct {
	http.ResponseWriter
	noted func(status int)
	done  bool
}

// note tells noted status unless it was told already.
func (sw *statusWriter) note(status int) {
	if !sw.done {
		sw.done = true
		sw.noted(status)
	}
}

func (sw *statusWriter) WriteHeader(status int) {
	sw.note(status)
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	sw.note(http.StatusOK)
	return sw.ResponseWriter.Write(b)
}

// handled is the innermost middleware: it notes the status the operation's handler
// produced, for the request log, as soon as the handler writes it.
func (s *Server) handled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := exchangeOf(r)
		if ex == nil {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&statusWriter{ResponseWriter: w, noted: func(status int) { ex.handlerStatus = status }}, r)
	})
}

// relativePath strips the base path from an API path.
func relativePath(p string) string {
	if rest, ok := strings.CutPrefix(p, basePath); ok && (rest == "" || rest[0] == '/') {
		return rest
	}
	return p
}

// peekBody reads the first maxLoggedBody bytes of r's body and puts them back in front of
// the rest, so that the handler reads the body whole.
func peekBody(r *http.Request) (body []byte, truncated bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxLoggedBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) == 0 {
		return nil, false
	}
	if len(head) > maxLoggedBody {
		return head[:maxLoggedBody], true
	}
	return head, false
}

// redactBody replaces secret fields of a JSON object body. An auth body it cannot read
// (not JSON, or truncated) is dropped whole, since it may hold a password.
func redactBody(path string, body []byte, truncated bool) []byte {
	if body == nil {
		return nil
	}
	auth := strings.HasPrefix(path, "/auth/")
	var fields map[string]json.RawMessage
	if truncated || json.Unmarshal(body, &fields) != nil || fields == nil {
		if auth {
			return nil
		}
		return body
	}
	found := false
	for k := range fields {
		if isCredential(k) {
			fields[k] = json.RawMessage(`"[REDACTED]"`)
			found = true
		}
	}
	if !found {
		return body
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil
	}
	return out
}

// credentialFields are the names of the fields that hold a credential.
var credentialFields = []string{"password", "refresh_token", "access_token"}

// isCredential reports whether a body field or query parameter holds a credential. Case
// does not count, as encoding/json, which decodes the bodies, ignores it too ("PASSWORD"
// logs in).
func isCredential(name string) bool {
	return slices.ContainsFunc(credentialFields, func(f string) bool { return strings.EqualFold(name, f) })
}

// redactQuery returns q with the values of its credential parameters replaced, and
// whether it had any; q itself is left as it is.
func redactQuery(q url.Values) (url.Values, bool) {
	out := make(url.Values, len(q))
	changed := false
	for k, vs := range q {
		if isCredential(k) {
			vs = slices.Repeat([]string{"[REDACTED]"}, len(vs))
			changed = true
		}
		out[k] = vs
	}
	return out, changed
}

// redactedHeader copies h without its credentials.
func redactedHeader(h http.Header) http.Header {
	out := h.Clone()
	if v := out.Get("Authorization"); v != "" {
		scheme, _, _ := strings.Cut(v, " ")
		if strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic") {
			out.Set("Authorization", scheme+" [REDACTED]")
		} else {
			out.Set("Authorization", "[REDACTED]")
		}
	}
	for _, k := range []string{"Cookie", "Proxy-Authorization"} {
		if out.Get(k) != "" {
			out.Set(k, "[REDACTED]")
		}
	}
	return out
}

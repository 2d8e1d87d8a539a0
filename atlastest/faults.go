package atlastest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a kind of failure the server can inject into its answers.
type Fault string

// The faults the server injects.
const (
	// FaultFail answers with an error status and the error envelope.
	FaultFail Fault = "fail"
	// FaultDrop closes the connection without an answer.
	FaultDrop Fault = "drop"
	// FaultDelay holds the answer back for a while, then answers normally.
	FaultDelay Fault = "delay"
)

// FaultOption narrows down or changes a fault given to Server.FailNext, DropNext,
// DelayNext or SetLatency.
type FaultOption func(*faultRule)

// Matching restricts a fault to the requests that pattern matches. The pattern is a
// net/http.ServeMux pattern relative to the base URL: "POST /invoices",
// "/invoices/{id}/send" (any method), "GET /contacts/" (every path below). It panics on a
// pattern that ServeMux would refuse.
func Matching(pattern string) FaultOption {
	mux, err := compilePattern(pattern)
	if err != nil {
		panic("atlastest: " + err.Error())
	}
	return func(f *faultRule) {
		f.pattern = pattern
		f.mux = mux
	}
}

// compilePattern turns a Matching pattern into a ServeMux that has a route for it, or
// says why ServeMux refuses it.
func compilePattern(pattern string) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	method, path, found := cutMethod(pattern)
	full := basePath + path
	if found {
		full = method + " " + full
	}
	defer func() {
		if v := recover(); v != nil {
			mux, err = nil, fmt.Errorf("Matching(%q): %v", pattern, v)
		}
	}()
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("Matching(%q): the path must start with /", pattern)
	}
	mux.Handle(full, http.NotFoundHandler())
	return mux, nil
}

// cutMethod splits "METHOD /path" into its method and path; a pattern without a method
// is all path.
func cutMethod(pattern string) (method, path string, found bool) {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case ' ', '\t':
			return pattern[:i], trimLeftSpace(pattern[i+1:]), true
		case '/':
			return "", pattern, false
		}
	}
	return "", pattern, false
}

func trimLeftSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// AfterHandler makes the fault happen after the request was handled: the server does
// what the request asks (a POST creates its resource, and an Idempotency-Key stores the
// answer), then fails, drops or delays the answer. This is the fault that makes a client
// believe a request failed when it succeeded, which only an idempotent retry survives.
func AfterHandler() FaultOption {
	return func(f *faultRule) { f.after = true }
}

// RetryAfter adds a Retry-After header (whole seconds, rounded up) to an injected failure,
// such as a 503 that says when to come back.
func RetryAfter(d time.Duration) FaultOption {
	return func(f *faultRule) { f.retryAfter = max(d, 0) }
}

// faultRule is one injected fault: what it does and which requests it applies to.
type faultRule struct {
	kind       Fault
	status     int           // FaultFail
	delay      time.Duration // FaultDelay
	retryAfter time.Duration
	after      bool
	pattern    string
	mux        *http.ServeMux // nil: every request
	left       int            // requests still to hit, for the Next rules
}

func (f *faultRule) matches(r *http.Request) bool {
	if f.mux == nil {
		return true
	}
	_, p := f.mux.Handler(r)
	return p != ""
}

// faults holds the faults waiting to be injected.
type faults struct {
	mu      sync.Mutex
	next    []*faultRule // FailNext, DropNext, DelayNext, in the order given
	latency []*faultRule // SetLatency, one per pattern
	chaos   *chaos       // WithChaos, SetChaos; nil: none

	// onPause, when set (by tests, before the requests it is for), is called when a
	// request starts to wait out injected latency.
	onPause func()
}

// FailNext makes the next n requests answer status (an error status, 400 to 599) with the
// error envelope instead of being handled. Options restrict it to matching requests
// (Matching), make it happen after the handler ran (AfterHandler) or add Retry-After.
//
// Injected faults are consumed in the order they were given: a request takes the first
// pending FailNext, DropNext or DelayNext that matches it, and at most one of them. They
// apply after rate limiting (a request refused with 429 consumes none) and before
// idempotency (an injected failure before the handler stores nothing, so a retry with the
// same Idempotency-Key runs the handler). FailNext panics on a status outside 400..599.
func (s *Server) FailNext(n, status int, opts ...FaultOption) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("atlastest: FailNext: status %d is not an error status", status))
	}
	s.faults.add(n, &faultRule{kind: FaultFail, status: status}, opts)
}

// DropNext makes the next n requests end with the connection closed and no answer, as
// when a server crashes or a proxy gives up. Options as for FailNext; with AfterHandler
// the request is handled first and its answer lost.
//
// Go's http.Transport retries a request once by itself when a connection it reused closes
// before any answer and the request can be replayed (GET and HEAD, or a body with GetBody
// and an Idempotency-Key header): such a request consumes two drops before the client
// sees an error, or none is seen at all. A fresh connection is not retried.
func (s *Server) DropNext(n int, opts ...FaultOption) {
	s.faults.add(n, &faultRule{kind: FaultDrop}, opts)
}

// DelayNext makes the next n requests wait d before they are handled (or, with
// AfterHandler, before their answer is sent). Options as for FailNext. The wait ends early
// when the client goes away (nothing is handled then) or the server closes (503).
func (s *Server) DelayNext(n int, d time.Duration, opts ...FaultOption) {
	s.faults.add(n, &faultRule{kind: FaultDelay, delay: d}, opts)
}

// SetLatency makes every request wait d before it is handled, from now on, in addition to
// any fault it gets; with Matching only the requests that match, and with AfterHandler the
// wait is between handling and answering. A later SetLatency with the same pattern
// replaces it, and a d of zero or less removes it; a request that several patterns match
// waits the longest of their latencies. The wait ends early when the client goes away or
// the server closes, as for DelayNext.
func (s *Server) SetLatency(d time.Duration, opts ...FaultOption) {
	rule := &faultRule{kind: FaultDelay, delay: d}
	for _, o := range opts {
		o(rule)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	kept := s.faults.latency[:0]
	for _, l := range s.faults.latency {
		if l.pattern != rule.pattern || l.after != rule.after {
			kept = append(kept, l)
		}
	}
	s.faults.latency = kept
	if d > 0 {
		s.faults.latency = append(s.faults.latency, rule)
	}
}

// ClearFaults removes every pending FailNext, DropNext and DelayNext and every latency
// SetLatency set.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.next, s.faults.latency = nil, nil
}

func (fs *faults) add(n int, rule *faultRule, opts []FaultOption) {
	if n <= 0 {
		return
	}
	for _, o := range opts {
		o(rule)
	}
	rule.left = n
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next = append(fs.next, rule)
}

// plan is what happens to one request: latency before and after the handler, and at most
// one fault.
type plan struct {
	before, after time.Duration
	fault         *faultRule // nil: none
}

// planFor picks the faults of a request, consuming a Next rule if one matches, or else
// drawing its fate from the chaos.
func (fs *faults) planFor(r *http.Request) plan {
	var p plan
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, l := range fs.latency {
		if !l.matches(r) {
			continue
		}
		if l.after {
			p.after = max(p.after, l.delay)
		} else {
			p.before = max(p.before, l.delay)
		}
	}
	for i, f := range fs.next {
		if !f.matches(r) {
			continue
		}
		f.left--
		if f.left == 0 {
			fs.next = append(fs.next[:i], fs.next[i+1:]...)
		}
		p.fault = f
		break
	}
	if p.fault == nil && fs.chaos != nil {
		p.fault = fs.chaos.fate(r)
	}
	return p
}

// injectFaults is the fault-injection middleware: it applies the request's plan around
// the rest of the chain.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.faults.planFor(r)
		f := p.fault
		before, after := p.before, p.after
		if f != nil && f.kind == FaultDelay {
			if f.after {
				after += f.delay
			} else {
				before += f.delay
			}
		}
		ex := exchangeOf(r)
		if before > 0 || after > 0 {
			ex.injected(FaultDelay, after > 0)
		}
		if f != nil && f.kind != FaultDelay {
			ex.injected(f.kind, f.after)
		}
		if before > 0 && !s.pause(w, r, before) {
			return
		}
		if f != nil && !f.after && f.kind != FaultDelay {
			s.fire(w, f)
			return
		}
		if after <= 0 && (f == nil || f.kind == FaultDelay) {
			next.ServeHTTP(w, r)
			return
		}
		rec := newRecorder()
		next.ServeHTTP(rec, r)
		if after > 0 && !s.pause(w, r, after) {
			return
		}
		if f != nil && f.kind != FaultDelay {
			s.fire(w, f)
			return
		}
		rec.sendTo(w)
	})
}

// fire injects a failure or a dropped connection.
func (s *Server) fire(w http.ResponseWriter, f *faultRule) {
	if f.kind == FaultDrop {
		// net/http closes the connection without writing anything; recoverPanics lets
		// this panic through.
		panic(http.ErrAbortHandler)
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(max(ceilDiv(int64(f.retryAfter), int64(time.Second)), 1), 10))
	}
	writeErrorStatus(w, f.status, http.StatusText(f.status)+" (injected by atlastest).", nil)
}

// pause waits d and reports whether the request goes on. It does not when the client went
// away (nothing is written: nobody would read it) or the server is closing (503).
func (s *Server) pause(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	readBodyToEnd(r)
	if s.faults.onPause != nil {
		s.faults.onPause()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		writeErrorStatus(w, http.StatusServiceUnavailable, "The server is shutting down.", nil)
		return false
	}
}

// readBodyToEnd reads r's body to its end before a pause and puts it back for the handler.
// net/http watches the connection, and ends r's context when the client goes away, only
// once the body was read to its end; the request log reads just its first 64 KiB, and
// nothing before the handler reads it when the log is off, so a client that left during
// the pause would go unnoticed. Nobody reads more than maxBodyBytes+1 bytes of a body (the
// handler refuses a larger one), so no more is read here either: only a client that sent a
// body the server refuses anyway can leave unnoticed.
func readBodyToEnd(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	head, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	// A read error is the handler's to see: the body reads it again after head.
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
}

// recorder holds an answer back: so that a fault can replace it after the handler ran,
// and so that unmatched can answer in its own words with the status the mux chose.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (rc *recorder) Header() http.Header { return rc.header }

func (rc *recorder) WriteHeader(status int) {
	if rc.status == 0 {
		rc.status = status
	}
}

func (rc *recorder) Write(b []byte) (int, error) {
	rc.WriteHeader(http.StatusOK)
	rc.body = append(rc.body, b...)
	return len(b), nil
}

// sendTo writes the held answer to w, its headers added to those w already has. A
// handler that wrote nothing sends nothing.
func (rc *recorder) sendTo(w http.ResponseWriter) {
	if rc.status == 0 {
		return
	}
	h := w.Header()
	for k, v := range rc.header {
		h[k] = v
	}
	w.WriteHeader(rc.status)
	_, _ = w.Write(rc.body)
}

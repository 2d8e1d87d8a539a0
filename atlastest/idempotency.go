package atlastest

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"sync"
	"time"
)

// idempotencyTTL is how long the server keeps the answer stored for an Idempotency-Key,
// on its clock.
const idempotencyTTL = 24 * time.Hour

// maxIdempotencyKey is the contract's longest Idempotency-Key.
const maxIdempotencyKey = 255

// idempotency keeps the answers stored for Idempotency-Keys, per user.
type idempotency struct {
	mu      sync.Mutex
	entries map[idemKey]*idemEntry
	stored  int // answers stored, to sweep expired ones now and then

	// onWait, when set (by tests, before the first request), is called when a request
	// starts to wait for the first request of its key.
	onWait func()
}

// idemKey scopes a key to the user who sent it ("" for requests without a valid token).
type idemKey struct {
	user, key string
}

// idemEntry is a key's first request: in flight until done is closed, then its stored
// answer. An entry whose request stored nothing is removed before done is closed.
type idemEntry struct {
	request [sha256.Size]byte // method, path, query and body of the first request
	done    chan struct{}
	answer  *storedAnswer // set (under mu) before done is closed, when the answer is kept
	stored  time.Time
}

// storedAnswer is an answer kept for replay.
type storedAnswer struct {
	status int
	header http.Header
	body   []byte
}

func newIdempotency() *idempotency {
	return &idempotency{entries: map[idemKey]*idemEntry{}}
}

// idempotent is the Idempotency-Key middleware. A POST with the header runs as usual the
// first time and its answer is kept for 24 hours on the server's clock, per user; a
// repeat with the same key, method, path, query and body gets that answer again, with
// Idempotent-Replayed: true, without running the handler; the same key with any other
// request gets 409. A repeat that arrives while the first is still being handled waits
// for it, then replays its answer (or, if the first kept nothing, runs itself).
//
// What is kept: every answer of the handler with a status below 500 except 401, so an
// error that is not the request's fault (a 5xx, an expired token, and anything the
// middlewares outside answered before the handler: 429, injected faults) can be retried
// with the same key and run again.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > maxIdempotencyKey {
			writeError(w, errValidation(fieldError{Field: "Idempotency-Key", Message: "Idempotency-Key must be at most 255 characters."}))
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			writeError(w, errBadRequest("Could not read the request body."))
			return
		}
		// The handler reads the body again, including what is beyond the limit, so that it
		// answers a body that is too large as it always does.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(raw), r.Body), r.Body}

		id := idemKey{key: key}
		if u := s.bearerUser(r); u != nil {
			id.user = u.id
		}
		fp := fingerprint(r, raw)
		for {
			c := s.idem.claim(id, fp, s.clock.now())
			switch {
			case c.mine:
				s.runOnce(w, r, next, id, c.entry)
				return
			case c.conflict:
				writeError(w, errConflict("Idempotency-Key was already used with a different request."))
				return
			case c.answer != nil:
				exchangeOf(r).replay()
				replay(w, c.answer)
				return
			}
			if s.idem.onWait != nil {
				s.idem.onWait()
			}
			select {
			case <-c.entry.done:
			case <-r.Context().Done():
				return
			case <-s.closing:
				writeErrorStatus(w, http.StatusServiceUnavailable, "The server is shutting down.", nil)
				return
			}
		}
	})
}

// fingerprint identifies a request: what a repeat must have in common with the first.
func fingerprint(r *http.Request, body []byte) [sha256.Size]byte {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// claimed is what a request learns about its key: that it must run (mine), that the key
// belongs to another request (conflict), the answer to replay, or else that the first
// request is still in flight (wait for entry.done).
type claimed struct {
	entry    *idemEntry
	mine     bool
	conflict bool
	answer   *storedAnswer
}

// claim looks id up, creating an entry that the caller must run when there is none or it
// expired.
func (st *idempotency) claim(id idemKey, fp [sha256.Size]byte, now time.Time) claimed {
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.entries[id]
	if e != nil && e.answer != nil && !now.Before(e.stored.Add(idempotencyTTL)) {
		delete(st.entries, id)
		e = nil
	}
	if e == nil {
		e = &idemEntry{request: fp, done: make(chan struct{})}
		st.entries[id] = e
		return claimed{entry: e, mine: true}
	}
	return claimed{entry: e, conflict: e.request != fp, answer: e.answer}
}

// runOnce runs the handler for the first request of a key and keeps its answer when it
// may be replayed. A handler that panics keeps nothing, and whoever waits runs itself.
func (s *Server) runOnce(w http.ResponseWriter, r *http.Request, next http.Handler, id idemKey, e *idemEntry) {
	rec := newRecorder()
	defer func() {
		st := s.idem
		st.mu.Lock()
		if rec.status < 500 && rec.status != 0 && rec.status != http.StatusUnauthorized {
			e.answer = &storedAnswer{status: rec.status, header: rec.header.Clone(), body: bytes.Clone(rec.body)}
			e.stored = s.clock.now()
			st.stored++
			if st.stored%256 == 0 {
				st.sweep(e.stored)
			}
		} else if st.entries[id] == e { // a Reset may have put another in its place
			delete(st.entries, id)
		}
		st.mu.Unlock()
		close(e.done)
	}()
	next.ServeHTTP(rec, r)
	rec.sendTo(w)
}

// forget drops every stored answer. A request still in flight keeps its entry to itself
// and whoever waits for it; nobody else finds it any more.
func (st *idempotency) forget() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.entries)
}

// sweep forgets expired answers. Call with mu held.
func (st *idempotency) sweep(now time.Time) {
	for id, e := range st.entries {
		if e.answer != nil && !now.Before(e.stored.Add(idempotencyTTL)) {
			delete(st.entries, id)
		}
	}
}

// replay writes a stored answer again, marked with Idempotent-Replayed: true.
func replay(w http.ResponseWriter, a *storedAnswer) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

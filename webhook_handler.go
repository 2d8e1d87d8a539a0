package atlas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// WebhookOption configures NewWebhookHandler. An option given a value it
// cannot use makes NewWebhookHandler fail with an error matching
// ErrInvalidConfig; none keeps a default instead.
type WebhookOption func(*webhookHandler) error

// WithWebhookSecrets adds secrets the handler also accepts, besides the one
// given to NewWebhookHandler. Use it while rotating: accept the old and the
// new secret until Atlas signs with the new one only. An empty secret is
// refused (the error matches ErrNoSecret too): it would never pass.
func WithWebhookSecrets(secrets ...string) WebhookOption {
	return func(h *webhookHandler) error {
		for _, s := range secrets {
			if s == "" {
				return &configError{msg: "WithWebhookSecrets: empty secret", cause: ErrNoSecret}
			}
		}
		h.secrets = append(h.secrets, secrets...)
		return nil
	}
}

// WithWebhookMaxBody sets the largest body the handler reads, in bytes
// (default DefaultWebhookMaxBody). A larger delivery gets 413 Request Entity
// Too Large. n must be positive.
func WithWebhookMaxBody(n int64) WebhookOption {
	return func(h *webhookHandler) error {
		if n <= 0 {
			return invalidConfig("WithWebhookMaxBody: %d bytes: the limit must be positive", n)
		}
		h.maxBody = n
		return nil
	}
}

// WithWebhookReadTimeout bounds the time the handler spends reading a
// delivery's body to d (default DefaultWebhookReadTimeout), counted from when
// the handler starts, and never longer than the http.Server's own
// ReadTimeout: a sender that trickles its body more slowly than that
// (a slow-loris attack) is cut off with 408 Request Timeout, the callback does
// not run, and the handler returns. The bound is a read deadline on the
// connection, set through http.ResponseController and lifted once the body is
// read, so a slow callback is not cut off; a ResponseWriter that cannot set
// one (an httptest.ResponseRecorder, a middleware's wrapper without an Unwrap
// method) reads without it. d must be positive. The http.Server the handler
// runs in should have its own timeouts too (ReadHeaderTimeout, ReadTimeout,
// WriteTimeout, IdleTimeout): they bound what happens before the handler
// starts and after it returns.
func WithWebhookReadTimeout(d time.Duration) WebhookOption {
	return func(h *webhookHandler) error {
		if d <= 0 {
			return invalidConfig("WithWebhookReadTimeout: %s: the timeout must be positive", d)
		}
		h.readTimeout = d
		return nil
	}
}

// WithWebhookDeduper sets where the handler records which events it has
// handled. The default is a MemoryDeduper of DefaultDeduperSize events, which
// is enough for one process; a service running several replicas behind one
// webhook URL should pass a deduper backed by shared storage. Passing nil
// turns de-duplication off, so every delivery reaches the callback.
func WithWebhookDeduper(d EventDeduper) WebhookOption {
	return func(h *webhookHandler) error {
		h.dedup = d
		return nil
	}
}

// WithWebhookTolerance makes the handler answer 400 to an event whose
// timestamp is more than d away from the current time, in either direction,
// or that carries no timestamp it can read. This bounds how long a captured
// delivery can be replayed. d must be positive.
//
// It is off by default, and d should be generous if used: Atlas retries a
// delivery that was not acknowledged with backoff, and a retry carries the
// event's original timestamp, so a receiver that was down for an hour gets
// legitimately old events. Clock skew between Atlas and the receiver adds to
// that. The signature already proves the body came from Atlas; the tolerance
// only limits replays by someone who captured a signed delivery.
func WithWebhookTolerance(d time.Duration) WebhookOption {
	return func(h *webhookHandler) error {
		if d <= 0 {
			return invalidConfig("WithWebhookTolerance: %s: the tolerance must be positive (leave the option out for none)", d)
		}
		h.tolerance = d
		return nil
	}
}

// WithWebhookLogger sets the logger the handler reports rejected deliveries,
// duplicates and callback errors to (default: none). Secrets and signatures
// are never logged.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *webhookHandler) error {
		h.log = l
		return nil
	}
}

type webhookHandler struct {
	secrets     []string
	fn          func(context.Context, *WebhookEvent) error
	maxBody     int64
	readTimeout time.Duration
	dedup       EventDeduper
	tolerance   time.Duration
	now         func() time.Time
	log         *slog.Logger
	trace       *WebhookTrace // nil: none
}

// Format describes the handler without its secrets, under every verb, so
// that printing the http.Handler NewWebhookHandler returned shows none.
func (h *webhookHandler) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, h.described())
}

// LogValue describes the handler to log/slog without its secrets.
func (h *webhookHandler) LogValue() slog.Value { return slog.StringValue(h.described()) }

func (h *webhookHandler) described() string {
	if h == nil {
		return "atlas webhook handler(nil)"
	}
	return fmt.Sprintf("atlas webhook handler{secrets: %d redacted, max body: %d}", len(h.secrets), h.maxBody)
}

// NewWebhookHandler returns an http.Handler that receives Atlas webhook
// deliveries and calls fn once for each event. It answers:
//
//   - 405 to any method but POST;
//   - 408 to a body that takes longer than the read timeout to arrive (see
//     WithWebhookReadTimeout);
//   - 413 to a body larger than the limit (see WithWebhookMaxBody);
//   - 401 to a missing signature or one that matches no secret;
//   - 400 to a signed body that is not a webhook event (see ParseWebhook), or
//     one outside the tolerance (see WithWebhookTolerance);
//   - 204 when fn returns nil, and 500 when it returns an error, so that Atlas
//     retries the delivery later. fn's error is logged, never sent back.
//
// By default the handler de-duplicates on the event's DedupKey, its ID or,
// for a delivery without one, the SHA-256 of its body (see
// WithWebhookDeduper): a redelivery of an event fn has handled gets 204
// without calling fn again; an event whose fn failed is not recorded, so its
// redelivery reaches fn; and a delivery that arrives while fn is still
// running for the same event gets 409 Conflict, so Atlas retries it later
// instead of both running at once. fn gets the request's context, which ends
// when Atlas hangs up. If fn panics, the event is released before the panic
// goes on.
//
// NewWebhookHandler fails, with an error matching ErrInvalidConfig, when
// secret is empty (the error matches ErrNoSecret too), fn is nil, or an
// option refuses its value; nil options are skipped.
func NewWebhookHandler(secret string, fn func(ctx context.Context, ev *WebhookEvent) error, opts ...WebhookOption) (http.Handler, error) {
	if secret == "" {
		return nil, &configError{msg: "NewWebhookHandler: empty secret", cause: ErrNoSecret}
	}
	if fn == nil {
		return nil, invalidConfig("NewWebhookHandler: nil callback")
	}
	h := &webhookHandler{
		secrets:     []string{secret},
		fn:          fn,
		maxBody:     DefaultWebhookMaxBody,
		readTimeout: DefaultWebhookReadTimeout,
		dedup:       &MemoryDeduper{},
		now:         time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(h); err != nil {
			return nil, err
		}
	}
	h.secrets = append([]string(nil), h.secrets...)
	return h, nil
}

// ServeHTTP handles one delivery.
func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.trace != nil {
		r = h.deliveryStart(r)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, r, http.StatusMethodNotAllowed, "method not allowed", nil, nil)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		var (
			tooBig  *http.MaxBytesError
			timeout interface{ Timeout() bool }
		)
		switch {
		case errors.As(err, &tooBig):
			h.answer(w, r, http.StatusRequestEntityTooLarge, "body too large", nil, nil)
		case errors.As(err, &timeout) && timeout.Timeout():
			w.Header().Set("Connection", "close")
			h.answer(w, r, http.StatusRequestTimeout, "body too slow", nil, err)
		default:
			h.answer(w, r, http.StatusBadRequest, "cannot read body", nil, err)
		}
		return
	}
	// NewWebhookHandler refused empty secrets: a failure here is the
	// delivery's.
	if err := VerifySignature(body, r.Header.Get(WebhookSignatureHeader), h.secrets...); err != nil {
		h.answer(w, r, http.StatusUnauthorized, "invalid signature", nil, err)
		return
	}
	ev, err := decodeWebhook(body)
	if err != nil {
		h.answer(w, r, http.StatusBadRequest, "malformed event", nil, err)
		return
	}
	h.eventVerified(r.Context(), ev)
	if h.tolerance > 0 {
		if age := h.now().Sub(ev.Timestamp); age > h.tolerance || age < -h.tolerance {
			h.answer(w, r, http.StatusBadRequest, "timestamp outside tolerance", ev, nil)
			return
		}
	}
	status, msg, err := h.deliver(r.Context(), ev)
	h.answer(w, r, status, msg, ev, err)
}

// readBody reads the request body, at most maxBody bytes within the read
// timeout, and lifts the read deadline afterwards: once the body is in, the
// connection's read side only tells whether the sender hung up, which must
// not end the callback's context on a timer.
func (h *webhookHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	d := h.readTimeout
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		d = min(d, srv.ReadTimeout) // the deadline replaces the server's: never extend it
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(h.now().Add(d)); err == nil {
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	} else if !errors.Is(err, http.ErrNotSupported) {
		return nil, err
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
}

// deliver runs fn for ev unless the deduper says it was handled or is being
// handled now, and records the outcome.
func (h *webhookHandler) deliver(ctx context.Context, ev *WebhookEvent) (status int, msg string, err error) {
	if h.dedup == nil {
		if err := h.fn(ctx, ev); err != nil {
			return http.StatusInternalServerError, "callback failed", err
		}
		return http.StatusNoContent, "", nil
	}
	key := ev.DedupKey()
	state, err := h.dedup.Claim(ctx, key)
	if err != nil {
		return http.StatusInternalServerError, "deduper failed", err
	}
	switch state {
	case EventStateDone:
		return http.StatusNoContent, msgDuplicate, nil
	case EventStateBusy:
		return http.StatusConflict, "event is being handled", nil
	}
	handled := false
	defer func() {
		// Recorded even when Atlas has hung up, and on a panic in fn, so the
		// claim never outlives this delivery.
		if ferr := h.dedup.Finish(context.WithoutCancel(ctx), key, handled); ferr != nil {
			h.logAttrs(ctx, slog.LevelError, "atlas: webhook deduper could not record the outcome", ev,
				slog.Bool("handled", handled), slog.Any("error", ferr))
		}
	}()
	if err := h.fn(ctx, ev); err != nil {
		return http.StatusInternalServerError, "callback failed", err
	}
	handled = true
	return http.StatusNoContent, "", nil
}

// answer writes the response and logs it. The body is a short reason, never
// an error's text: errors go to the log only.
func (h *webhookHandler) answer(w http.ResponseWriter, r *http.Request, status int, msg string, ev *WebhookEvent, err error) {
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.Int("status", status), slog.String("remote_addr", r.RemoteAddr)}
	if msg != "" {
		attrs = append(attrs, slog.String("reason", msg))
	}
	if err != nil {
		attrs = append(attrs, slog.Any("error", err))
	}
	h.logAttrs(r.Context(), level, "atlas: webhook delivery", ev, attrs...)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
	} else {
		http.Error(w, msg, status)
	}
	h.deliveryDone(r.Context(), status, msg, ev)
}

func (h *webhookHandler) logAttrs(ctx context.Context, level slog.Level, msg string, ev *WebhookEvent, attrs ...slog.Attr) {
	if h.log == nil {
		return
	}
	if ev != nil {
		attrs = append(attrs, slog.String("event_id", ev.DedupKey()), slog.String("event", string(ev.Type)))
	}
	h.log.LogAttrs(ctx, level, msg, attrs...)
}

// EventState is what an EventDeduper knows of an event id when it is claimed.
type EventState int

// States an EventDeduper's Claim reports.
const (
	// EventStateNew means the event had not been seen and is now reserved
	// for the caller, who must call Finish once it has been handled or has
	// failed.
	EventStateNew EventState = iota
	// EventStateBusy means another delivery of the same event is being
	// handled right now.
	EventStateBusy
	// EventStateDone means the event has been handled already.
	EventStateDone
)

// EventDeduper records which webhook events have been handled, so that the
// handler of NewWebhookHandler runs its callback once per event however many
// times Atlas delivers it. The id it is given is the event's DedupKey: the
// event id, or "sha256:" and the hex SHA-256 of the body for a delivery
// without one. Implementations must be safe for concurrent use; one backed by
// shared storage (a database row, a Redis key set only if absent) serves
// several replicas.
type EventDeduper interface {
	// Claim reserves the event id for the caller and returns EventStateNew,
	// or reports that it is being handled (EventStateBusy) or has been handled
	// (EventStateDone). Reserving must be atomic: of two concurrent claims of one
	// id, at most one is acquired.
	Claim(ctx context.Context, id string) (EventState, error)
	// Finish ends an acquired claim. When handled is true the id is recorded
	// as done; when false it is forgotten, so a redelivery is acquired again.
	Finish(ctx context.Context, id string, handled bool) error
}

// DefaultDeduperSize is how many handled event ids the handler's default
// MemoryDeduper remembers.
const DefaultDeduperSize = 10000

// MemoryDeduper is an in-process EventDeduper that remembers the most recent
// handled event ids up to a fixed number, forgetting the oldest first. Events
// being handled are always remembered. The zero value remembers
// DefaultDeduperSize events; NewMemoryDeduper chooses another size.
type MemoryDeduper struct {
	mu       sync.Mutex
	inFlight map[string]struct{}
	done     map[string]struct{}
	order    []string // handled ids, a ring of len size once full
	next     int      // index in order of the oldest id once full
	size     int
}

// NewMemoryDeduper returns a MemoryDeduper that remembers up to size handled
// event ids. A size that is not positive fails with an error matching
// ErrInvalidConfig; the zero MemoryDeduper remembers DefaultDeduperSize.
func NewMemoryDeduper(size int) (*MemoryDeduper, error) {
	if size <= 0 {
		return nil, invalidConfig("NewMemoryDeduper: size %d: it must be positive", size)
	}
	return &MemoryDeduper{
		inFlight: make(map[string]struct{}),
		done:     make(map[string]struct{}),
		size:     size,
	}, nil
}

// ready makes the zero value usable; d.mu is held.
func (d *MemoryDeduper) ready() {
	if d.inFlight == nil {
		d.inFlight = make(map[string]struct{})
		d.done = make(map[string]struct{})
	}
	if d.size <= 0 {
		d.size = DefaultDeduperSize
	}
}

// Claim implements EventDeduper.
func (d *MemoryDeduper) Claim(_ context.Context, id string) (EventState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ready()
	if _, ok := d.done[id]; ok {
		return EventStateDone, nil
	}
	if _, ok := d.inFlight[id]; ok {
		return EventStateBusy, nil
	}
	d.inFlight[id] = struct{}{}
	return EventStateNew, nil
}

// Finish implements EventDeduper.
func (d *MemoryDeduper) Finish(_ context.Context, id string, handled bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ready()
	delete(d.inFlight, id)
	if !handled {
		return nil
	}
	if _, ok := d.done[id]; ok {
		return nil
	}
	d.done[id] = struct{}{}
	if len(d.order) < d.size {
		d.order = append(d.order, id)
		return nil
	}
	delete(d.done, d.order[d.next])
	d.order[d.next] = id
	d.next = (d.next + 1) % d.size
	return nil
}

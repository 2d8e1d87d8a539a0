package atlas

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// WebhookSignatureHeader is the request header that carries a delivery's
// signature: the hex HMAC-SHA256 of the raw body keyed with the webhook secret.
const WebhookSignatureHeader = "X-Atlas-Signature"

// DefaultWebhookMaxBody is the largest webhook body NewWebhookHandler reads
// unless WithWebhookMaxBody says otherwise (1 MiB).
const DefaultWebhookMaxBody = 1 << 20

// DefaultWebhookReadTimeout is how long NewWebhookHandler lets a sender take
// to deliver a body unless WithWebhookReadTimeout says otherwise. Atlas sends
// a body of a few hundred bytes at once; only a stalled or hostile sender
// takes longer.
const DefaultWebhookReadTimeout = 10 * time.Second

// Errors returned by VerifySignature, ParseWebhook and the webhook handler,
// for use with errors.Is.
var (
	// ErrNoSecret means no webhook secret was given, or one of them is
	// empty. It is a configuration error: an empty secret never passes, and
	// NewWebhookHandler refuses one with an error matching ErrNoSecret and
	// ErrInvalidConfig.
	ErrNoSecret = errors.New("atlas: no webhook secret")
	// ErrNoSignature means the delivery carries no signature.
	ErrNoSignature = errors.New("atlas: webhook has no signature")
	// ErrInvalidSignature means the signature is malformed or matches none of
	// the secrets: the body was not sent by Atlas or was altered on the way.
	ErrInvalidSignature = errors.New("atlas: invalid webhook signature")
	// ErrMalformedWebhook means a correctly signed body is not a webhook event
	// of the documented shape.
	ErrMalformedWebhook = errors.New("atlas: malformed webhook")
)

const signaturePrefix = "sha256="

// SignWebhook returns the signature Atlas puts in the X-Atlas-Signature header
// of a delivery with this body: the lower-case hex HMAC-SHA256 of payload
// keyed with secret. It is meant for tests that post events to a handler.
func SignWebhook(payload []byte, secret string) string {
	return hex.EncodeToString(webhookMAC(payload, secret))
}

func webhookMAC(payload []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(payload)
	return m.Sum(nil)
}

// VerifySignature checks that signature is the HMAC-SHA256 of payload, the
// exact bytes received, under one of secrets. The signature is hex in either
// case, optionally prefixed "sha256="; it is compared in constant time.
// Passing the old and the new secret accepts deliveries signed with either
// while a secret is being rotated.
//
// The error is ErrNoSecret when secrets is empty or holds an empty string,
// ErrNoSignature when signature is empty, and ErrInvalidSignature when it is
// malformed or matches no secret.
func VerifySignature(payload []byte, signature string, secrets ...string) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		if s == "" {
			return fmt.Errorf("%w: an empty secret is never accepted", ErrNoSecret)
		}
	}
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return ErrNoSignature
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, signaturePrefix))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want 64 hex digits, optionally prefixed %q", ErrInvalidSignature, signaturePrefix)
	}
	for _, s := range secrets {
		if hmac.Equal(got, webhookMAC(payload, s)) {
			return nil
		}
	}
	return ErrInvalidSignature
}

// EventType names a webhook event, such as "invoice.paid".
type EventType string

// Event types Atlas delivers. Atlas may add others; ParseWebhook accepts them
// with a nil Data.
const (
	EventInvoiceCreated  EventType = "invoice.created"
	EventInvoiceSent     EventType = "invoice.sent"
	EventInvoicePaid     EventType = "invoice.paid"
	EventBillApproved    EventType = "bill.approved"
	EventPaymentReceived EventType = "payment.received"
	EventPeriodClosed    EventType = "period.closed"
)

// WebhookEvent is one webhook delivery, as decoded by ParseWebhook.
type WebhookEvent struct {
	// ID identifies the event: it is unique per event and stays the same
	// across redeliveries. It is empty when the delivery carries none (the
	// API guide's own example has none); DedupKey is the key to
	// de-duplicate on either way.
	ID string
	// Type is the kind of event, such as EventInvoicePaid.
	Type EventType
	// Timestamp is when the event happened, not when it was delivered:
	// a redelivery carries the original time. It is the zero time when the
	// delivery carries none, or one that is not an ISO 8601 time.
	Timestamp time.Time
	// Data is the typed payload, chosen by Type: *InvoiceCreatedData,
	// *InvoiceSentData, *InvoicePaidData, *BillApprovedData,
	// *PaymentReceivedData or *PeriodClosedData. It is nil for an event type
	// this version of the SDK does not know; RawData still holds its payload.
	// A type switch on Data reads best:
	//
	//	switch d := ev.Data.(type) {
	//	case *atlas.InvoicePaidData:
	//		// d.ID, d.Amount, ...
	//	case *atlas.PaymentReceivedData:
	//		// d.InvoiceIDs, ...
	//	}
	Data EventData
	// RawData is the event's "data" object exactly as received.
	RawData json.RawMessage

	// bodyKey is DedupKey for an event without an ID, set by ParseWebhook.
	bodyKey string
}

// DedupKey returns the key that identifies the event across redeliveries:
// its ID when it has one, and otherwise "sha256:" followed by the hex SHA-256
// of the raw body ParseWebhook read (Atlas resends the same bytes when it
// retries a delivery). NewWebhookHandler de-duplicates on it; so should a
// receiver that calls ParseWebhook itself. It is empty only for an event
// without an ID that ParseWebhook did not make.
func (ev *WebhookEvent) DedupKey() string {
	if ev.ID != "" {
		return ev.ID
	}
	return ev.bodyKey
}

// EventData is the typed payload of a WebhookEvent: ParseWebhook sets it to
// one of the *...Data types of this package, the one for the event's type.
type EventData interface {
	// EventType returns the event type the payload belongs to.
	EventType() EventType
}

// InvoiceEventData is the payload shared by the invoice.created, invoice.sent
// and invoice.paid events. Each event has its own named type with these
// fields, so that a type switch on WebhookEvent.Data tells them apart; convert
// with InvoiceEventData(*d) to handle them alike.
type InvoiceEventData struct {
	// ID is the invoice's id.
	ID string `json:"id"`
	// InvoiceNumber is the invoice's human-readable number, e.g. "INV-2026-0001".
	InvoiceNumber string `json:"invoice_number"`
	// Amount is the invoice's total_amount, decoded exactly from the JSON number.
	Amount decimal.Decimal `json:"amount"`
	// Currency is the ISO 4217 currency code.
	Currency string `json:"currency"`
	// CustomerID is the id of the invoiced customer.
	CustomerID string `json:"customer_id"`
	// Status is the invoice's status after the event; empty when the
	// delivery does not say (the API guide's example does not).
	Status InvoiceStatus `json:"status"`
}

// InvoiceCreatedData is the payload of invoice.created, sent after an invoice
// is created.
type InvoiceCreatedData InvoiceEventData

// InvoiceSentData is the payload of invoice.sent, sent after a draft invoice
// is sent.
type InvoiceSentData InvoiceEventData

// InvoicePaidData is the payload of invoice.paid, sent when payments bring an
// invoice's amount due to zero.
type InvoicePaidData InvoiceEventData

// BillApprovedData is the payload of bill.approved, sent after a draft bill
// is approved.
type BillApprovedData struct {
	// ID is the bill's id.
	ID string `json:"id"`
	// BillNumber is the bill's human-readable number, e.g. "BILL-2026-0001".
	BillNumber string `json:"bill_number"`
	// Amount is the bill's total_amount, decoded exactly from the JSON number.
	Amount decimal.Decimal `json:"amount"`
	// Currency is the ISO 4217 currency code.
	Currency string `json:"currency"`
	// VendorID is the id of the vendor who billed.
	VendorID string `json:"vendor_id"`
}

// PaymentReceivedData is the payload of payment.received, sent after a
// customer payment is recorded.
type PaymentReceivedData struct {
	// ID is the payment's id.
	ID string `json:"id"`
	// PaymentNumber is the payment's human-readable number, e.g. "PMT-2026-0001".
	PaymentNumber string `json:"payment_number"`
	// Amount is the amount received, decoded exactly from the JSON number.
	Amount decimal.Decimal `json:"amount"`
	// Currency is the ISO 4217 currency code.
	Currency string `json:"currency"`
	// CustomerID is the id of the paying customer.
	CustomerID string `json:"customer_id"`
	// InvoiceIDs are the invoices the payment was applied to.
	InvoiceIDs []string `json:"invoice_ids"`
}

// PeriodClosedData is the payload of period.closed, sent after an accounting
// period is closed.
type PeriodClosedData struct {
	// ID is the period's id.
	ID string `json:"id"`
	// Name is the period's name, e.g. "January 2026".
	Name string `json:"name"`
	// StartDate is the period's first day.
	StartDate Date `json:"start_date"`
	// EndDate is the period's last day.
	EndDate Date `json:"end_date"`
	// ClosedAt is when the period was closed.
	ClosedAt time.Time `json:"closed_at"`
}

// EventType returns EventInvoiceCreated.
func (*InvoiceCreatedData) EventType() EventType { return EventInvoiceCreated }

// EventType returns EventInvoiceSent.
func (*InvoiceSentData) EventType() EventType { return EventInvoiceSent }

// EventType returns EventInvoicePaid.
func (*InvoicePaidData) EventType() EventType { return EventInvoicePaid }

// EventType returns EventBillApproved.
func (*BillApprovedData) EventType() EventType { return EventBillApproved }

// EventType returns EventPaymentReceived.
func (*PaymentReceivedData) EventType() EventType { return EventPaymentReceived }

// EventType returns EventPeriodClosed.
func (*PeriodClosedData) EventType() EventType { return EventPeriodClosed }

// newEventData returns an empty payload for t, or nil when t is unknown.
func newEventData(t EventType) EventData {
	switch t {
	case EventInvoiceCreated:
		return new(InvoiceCreatedData)
	case EventInvoiceSent:
		return new(InvoiceSentData)
	case EventInvoicePaid:
		return new(InvoicePaidData)
	case EventBillApproved:
		return new(BillApprovedData)
	case EventPaymentReceived:
		return new(PaymentReceivedData)
	case EventPeriodClosed:
		return new(PeriodClosedData)
	}
	return nil
}

// ParseWebhook verifies a delivery's signature (see VerifySignature) and
// decodes its body: payload is the raw request body, signature the
// X-Atlas-Signature header, secrets the webhook secret or, during a rotation,
// the old and the new one. Nothing is decoded before the signature checks out.
//
// ParseWebhook is a tolerant reader. The body must be a JSON object with a
// non-empty "event" string and a "data" object; everything else may be
// missing (or null) and then decodes to its zero value: the envelope's "id"
// and "timestamp", and every field of data. Amounts are JSON numbers such as
// 1500.0, decoded exactly, never through float64 (a decimal string is
// accepted too); timestamps are read in any common ISO 8601 form, and one in
// none of them leaves the zero time. Unknown fields are ignored, and an
// unknown event type parses with a nil Data, so that events Atlas adds later
// do not fail. Only a field present with a value its type cannot hold (an id
// that is a number, an amount that is not a number, a date that is not
// YYYY-MM-DD) gets an error wrapping ErrMalformedWebhook, as does a body
// that is not such an object.
//
// ParseWebhook does not de-duplicate: Atlas retries a delivery that was not
// acknowledged, so the same event can arrive more than once. Use the event's
// DedupKey to recognise it.
func ParseWebhook(payload []byte, signature string, secrets ...string) (*WebhookEvent, error) {
	if err := VerifySignature(payload, signature, secrets...); err != nil {
		return nil, err
	}
	return decodeWebhook(payload)
}

// decodeWebhook decodes a verified body. Fields are matched by their exact
// names (encoding/json alone would also match "ID" for "id").
func decodeWebhook(payload []byte) (*WebhookEvent, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(payload, &env); err != nil || env == nil {
		return nil, malformed("body is not a JSON object", err)
	}
	ev := new(WebhookEvent)
	if err := decodeField(env, "", "id", &ev.ID); err != nil {
		return nil, err
	}
	if err := decodeField(env, "", "event", &ev.Type); err != nil {
		return nil, err
	}
	if err := decodeField(env, "", "timestamp", &ev.Timestamp); err != nil {
		return nil, err
	}
	if !present(env, "event") {
		return nil, malformed("event is missing", nil)
	}
	if ev.Type == "" {
		return nil, malformed("event is empty", nil)
	}
	if !present(env, "data") {
		return nil, malformed("data is missing", nil)
	}
	var fields map[string]json.RawMessage
	if err := decodeField(env, "", "data", &fields); err != nil {
		return nil, err
	}
	ev.RawData = env["data"]
	if data := newEventData(ev.Type); data != nil {
		if err := decodeFields(fields, data); err != nil {
			return nil, err
		}
		ev.Data = data
	}
	if ev.ID == "" {
		sum := sha256.Sum256(payload)
		ev.bodyKey = "sha256:" + hex.EncodeToString(sum[:])
	}
	return ev, nil
}

// decodeFields fills the struct dst points to from fields, by each field's
// json tag. A missing or null field keeps its zero value.
func decodeFields(fields map[string]json.RawMessage, dst EventData) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if err := decodeField(fields, "data.", name, v.Field(i).Addr().Interface()); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether obj has the member name with a value other than null.
func present(obj map[string]json.RawMessage, name string) bool {
	raw, ok := obj[name]
	return ok && string(raw) != "null"
}

// decodeField decodes the member name of obj, when it is present and not
// null, into dst; path names obj in errors. A timestamp is read tolerantly
// (see decodeTimestamp); any other value that does not fit dst is an error.
func decodeField(obj map[string]json.RawMessage, path, name string, dst any) error {
	if !present(obj, name) {
		return nil
	}
	raw := obj[name]
	var err error
	if t, ok := dst.(*time.Time); ok {
		err = decodeTimestamp(raw, t)
	} else {
		err = json.Unmarshal(raw, dst)
	}
	if err != nil {
		return malformed(path+name, err)
	}
	if d, ok := dst.(*decimal.Decimal); ok && (d.Exponent() > maxAmountExponent || d.Exponent() < -maxAmountExponent) {
		// No amount needs such an exponent, and printing 1e999999999 would
		// take a gigabyte.
		return malformed(path+name+" is out of range", nil)
	}
	return nil
}

// maxAmountExponent bounds the decimal exponent of an amount, in a webhook
// or in an API answer (see checkDecimals).
const maxAmountExponent = 1000

func malformed(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformedWebhook, what, err)
	}
	return fmt.Errorf("%w: %s", ErrMalformedWebhook, what)
}

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

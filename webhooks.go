package atlas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// Known reports whether t is an event type this version of the SDK decodes
// into a typed Data; ParseWebhook gives another one a nil Data.
func (t EventType) Known() bool { return newEventData(t) != nil }

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

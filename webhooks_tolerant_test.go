package atlas_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// guideInvoicePaid is the invoice.paid example of the API guide
// (shared/atlas-guide.txt, "Webhooks"), byte for byte: no envelope id, no
// invoice status, the amount a JSON number.
const guideInvoicePaid = `{
"event": "invoice.paid",
"timestamp": "2026-01-15T10:30:00Z",
"data": {
"id": "uuid",
"invoice_number": "INV-001",
"amount": 1500.0,
"currency": "USD",
"customer_id": "uuid"
}
}`

func bodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestParseWebhookGuideExample(t *testing.T) {
	t.Parallel()
	body := []byte(guideInvoicePaid)
	ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
	require.NoError(t, err)
	assert.Equal(t, atlas.EventInvoicePaid, ev.Type)
	assert.Empty(t, ev.ID, "the guide's example has no id, and none is made up")
	assert.Equal(t, bodyKey(body), ev.DedupKey())
	assert.True(t, time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC).Equal(ev.Timestamp), "timestamp %v", ev.Timestamp)
	d, ok := ev.Data.(*atlas.InvoicePaidData)
	require.True(t, ok, "Data is %T", ev.Data)
	assert.Equal(t, "uuid", d.ID)
	assert.Equal(t, "INV-001", d.InvoiceNumber)
	assert.Equal(t, "uuid", d.CustomerID)
	assert.Equal(t, "USD", d.Currency)
	assert.True(t, d.Amount.Equal(decimal.NewFromInt(1500)), "amount %s", d.Amount)
	assert.Equal(t, "1500", d.Amount.String(), "exactly 1500, not a float's neighbour")
	assert.Empty(t, d.Status, "no status in the guide's example")
}

// The guide's example, correctly signed, reaches the callback once however
// often it is delivered: without an id, the handler de-duplicates on the
// SHA-256 of the body.
func TestWebhookHandlerGuideExampleHandledOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	rcv := newWebhookReceiver(t, func(_ context.Context, ev *atlas.WebhookEvent) error {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, ev.DedupKey())
		return nil
	})
	body := []byte(guideInvoicePaid)
	for range 3 {
		status, resp := rcv.deliver(t, http.MethodPost, body, atlas.SignWebhook(body, webhookTestSecret))
		require.Equal(t, http.StatusNoContent, status, "body: %s", resp)
	}
	assert.Equal(t, int32(1), rcv.calls.Load(), "a redelivery of the same bytes is a duplicate")

	// Another id-less event (another invoice) is not a duplicate.
	other := bytes.Replace(body, []byte(`"INV-001"`), []byte(`"INV-002"`), 1)
	require.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, other))
	assert.Equal(t, int32(2), rcv.calls.Load())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{bodyKey(body), bodyKey(other)}, keys)
}

// A field that is missing, null or (for a timestamp) not in an ISO 8601 form
// decodes to its zero value; the event is not refused.
func TestParseWebhookTolerates(t *testing.T) {
	t.Parallel()
	const (
		env     = `"id":"evt_1","event":"payment.received","timestamp":"2026-02-10T13:25:00Z"`
		payment = `"id":"p1","payment_number":"PMT-1","currency":"USD","customer_id":"c1"`
	)
	feb10 := time.Date(2026, 2, 10, 13, 25, 0, 0, time.UTC)
	tests := []struct {
		name, body string
		check      func(t *testing.T, ev *atlas.WebhookEvent)
	}{
		{"missing id", `{"event":"invoice.paid","timestamp":"2026-02-10T13:25:00Z","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Empty(t, ev.ID)
			assert.Equal(t, &atlas.InvoicePaidData{}, ev.Data)
		}},
		{"id in another case is not the id", `{"ID":"evt_1","event":"x.y","timestamp":"2026-02-10T13:25:00Z","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Empty(t, ev.ID)
		}},
		{"empty id", `{"id":"","event":"x.y","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Empty(t, ev.ID)
		}},
		{"null id", `{"id":null,"event":"x.y","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Empty(t, ev.ID)
		}},
		{"missing timestamp", `{"id":"evt_1","event":"x.y","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.True(t, ev.Timestamp.IsZero())
			assert.Equal(t, "evt_1", ev.DedupKey())
		}},
		{"timestamp in no ISO 8601 form", `{"id":"evt_1","event":"x.y","timestamp":"10 Feb 2026","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.True(t, ev.Timestamp.IsZero())
		}},
		{"timestamp without a zone", `{"event":"x.y","timestamp":"2026-02-10T13:25:00","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.True(t, feb10.Equal(ev.Timestamp), "%v", ev.Timestamp)
		}},
		{"timestamp with a space and fractions", `{"event":"x.y","timestamp":"2026-02-10 13:25:00.250+00:00","data":{}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.True(t, feb10.Add(250*time.Millisecond).Equal(ev.Timestamp), "%v", ev.Timestamp)
		}},
		{"missing amount", `{` + env + `,"data":{` + payment + `,"invoice_ids":[]}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			d := ev.Data.(*atlas.PaymentReceivedData)
			assert.True(t, d.Amount.IsZero())
			assert.Equal(t, "PMT-1", d.PaymentNumber)
		}},
		{"null amount", `{` + env + `,"data":{` + payment + `,"amount":null,"invoice_ids":[]}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.True(t, ev.Data.(*atlas.PaymentReceivedData).Amount.IsZero())
		}},
		{"missing invoice_ids", `{` + env + `,"data":{` + payment + `,"amount":1}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			d := ev.Data.(*atlas.PaymentReceivedData)
			assert.Nil(t, d.InvoiceIDs)
			assert.Equal(t, "1", d.Amount.String())
		}},
		{"closed_at in no ISO 8601 form", `{"id":"evt_1","event":"period.closed","timestamp":"2026-02-05T09:00:00Z","data":{"id":"p1","name":"Jan",` +
			`"start_date":"2026-01-01","end_date":"2026-01-31","closed_at":"yesterday"}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			d := ev.Data.(*atlas.PeriodClosedData)
			assert.True(t, d.ClosedAt.IsZero())
			assert.Equal(t, atlas.NewDate(2026, time.January, 31), d.EndDate)
		}},
		{"missing status", `{"id":"evt_1","event":"invoice.created","timestamp":"2026-02-05T09:00:00Z","data":{"id":"i1",` +
			`"invoice_number":"INV-1","amount":1,"currency":"USD","customer_id":"c1"}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			d := ev.Data.(*atlas.InvoiceCreatedData)
			assert.Empty(t, d.Status)
			assert.Equal(t, "INV-1", d.InvoiceNumber)
		}},
		{"unknown status", `{"event":"invoice.sent","data":{"status":"disputed"}}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Equal(t, atlas.InvoiceStatus("disputed"), ev.Data.(*atlas.InvoiceSentData).Status)
		}},
		{"unknown fields everywhere", `{"event":"bill.approved","v":2,"data":{"id":"b1","extra":{"a":[1]}},"meta":null}`, func(t *testing.T, ev *atlas.WebhookEvent) {
			assert.Equal(t, "b1", ev.Data.(*atlas.BillApprovedData).ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
			require.NoError(t, err)
			require.NotEmpty(t, ev.DedupKey())
			if ev.ID == "" {
				assert.Equal(t, bodyKey(body), ev.DedupKey())
			}
			tt.check(t, ev)
		})
	}
}

// Every field of every contract example may be left out: the event still
// parses, with that field zero and the others as they were.
func TestParseWebhookEveryDataFieldIsOptional(t *testing.T) {
	t.Parallel()
	for event, example := range webhookExamples {
		full, err := atlas.ParseWebhook([]byte(example), atlas.SignWebhook([]byte(example), webhookTestSecret), webhookTestSecret)
		require.NoError(t, err)
		var env map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(example), &env))
		var data map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(env["data"], &data))
		for field := range data {
			t.Run(string(event)+"/"+field, func(t *testing.T) {
				t.Parallel()
				without := make(map[string]json.RawMessage, len(data))
				for k, v := range data {
					if k != field {
						without[k] = v
					}
				}
				env2 := map[string]any{"id": env["id"], "event": env["event"], "timestamp": env["timestamp"], "data": without}
				body, err := json.Marshal(env2)
				require.NoError(t, err)
				ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
				require.NoError(t, err)
				got, want := reflect.ValueOf(ev.Data).Elem(), reflect.ValueOf(full.Data).Elem()
				for i := range got.NumField() {
					name := got.Type().Field(i).Tag.Get("json")
					if name == field {
						assert.True(t, got.Field(i).IsZero(), "%s is %v, want zero", name, got.Field(i))
						continue
					}
					assert.Equal(t, want.Field(i).Interface(), got.Field(i).Interface(), name)
				}
			})
		}
	}
}

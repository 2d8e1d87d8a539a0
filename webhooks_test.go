package atlas_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

const webhookTestSecret = "whsec_test_9f8e7d6c5b4a"

// webhookExamples are the contract's example deliveries
// (components.examples.*Event in api/openapi.yaml), as JSON.
var webhookExamples = map[atlas.EventType]string{
	atlas.EventInvoiceCreated: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b","event":"invoice.created","timestamp":"2026-01-15T09:12:00Z",` +
		`"data":{"id":"4c5d6e7f-8091-4a2b-bc3d-4e5f60718293","invoice_number":"INV-2026-0001","amount":1500.0,"currency":"USD",` +
		`"customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321","status":"draft"}}`,
	atlas.EventInvoiceSent: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8c","event":"invoice.sent","timestamp":"2026-01-15T10:30:00Z",` +
		`"data":{"id":"4c5d6e7f-8091-4a2b-bc3d-4e5f60718293","invoice_number":"INV-2026-0001","amount":1500.0,"currency":"USD",` +
		`"customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321","status":"sent"}}`,
	atlas.EventInvoicePaid: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8d","event":"invoice.paid","timestamp":"2026-02-10T13:25:01Z",` +
		`"data":{"id":"4c5d6e7f-8091-4a2b-bc3d-4e5f60718293","invoice_number":"INV-2026-0001","amount":1500.0,"currency":"USD",` +
		`"customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321","status":"paid"}}`,
	atlas.EventBillApproved: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8e","event":"bill.approved","timestamp":"2026-01-11T14:05:00Z",` +
		`"data":{"id":"8e9f0a1b-2c3d-4e5f-a607-18293a4b5c6d","bill_number":"BILL-2026-0001","amount":420.0,"currency":"USD",` +
		`"vendor_id":"1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"}}`,
	atlas.EventPaymentReceived: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8f","event":"payment.received","timestamp":"2026-02-10T13:25:00Z",` +
		`"data":{"id":"b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e","payment_number":"PMT-2026-0001","amount":1500.0,"currency":"USD",` +
		`"customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321","invoice_ids":["4c5d6e7f-8091-4a2b-bc3d-4e5f60718293"]}}`,
	atlas.EventPeriodClosed: `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a90","event":"period.closed","timestamp":"2026-02-05T09:00:00Z",` +
		`"data":{"id":"c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f","name":"January 2026","start_date":"2026-01-01","end_date":"2026-01-31",` +
		`"closed_at":"2026-02-05T09:00:00Z"}}`,
}

func TestWebhookModelsFollowTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)

	eventTypes := doc.Components.Schemas["WebhookEventType"]
	require.NotNil(t, eventTypes)
	var enum []string
	for _, v := range eventTypes.Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	assert.ElementsMatch(t, enum, strs(atlas.EventInvoiceCreated, atlas.EventInvoiceSent, atlas.EventInvoicePaid,
		atlas.EventBillApproved, atlas.EventPaymentReceived, atlas.EventPeriodClosed))
	for _, e := range enum {
		assert.True(t, atlas.EventType(e).Known(), "the contract's %q is known", e)
	}
	for _, e := range []string{"", "invoice.deleted", "INVOICE.PAID", "invoice.paid "} {
		assert.False(t, atlas.EventType(e).Known(), "%q is not an event type of the contract", e)
	}

	models := map[string]any{
		"InvoiceEventData": atlas.InvoiceEventData{}, "BillApprovedData": atlas.BillApprovedData{},
		"PaymentReceivedData": atlas.PaymentReceivedData{}, "PeriodClosedData": atlas.PeriodClosedData{},
	}
	for name, model := range models {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "schema %s", name)
			fields := jsonFields(reflect.TypeOf(model))
			assert.Equal(t, keys(ref.Value.Properties), keys(fields), "fields of %s", name)
			// ParseWebhook requires none of these fields (a tolerant reader:
			// the guide's own example lacks status), so which ones the
			// contract requires is not checked here; see
			// TestParseWebhookEveryDataFieldIsOptional.
			for prop, ps := range ref.Value.Properties {
				f, ok := fields[prop]
				if !ok {
					continue
				}
				want := wantGoType(ps)
				if strings.HasSuffix(ps.Ref, "/WebhookAmount") {
					want = reflect.TypeFor[decimal.Decimal]()
				}
				if want != nil {
					assert.Equal(t, want, f.Type, "%s.%s", name, prop)
				}
			}
		})
	}

	// The test's copies of the example deliveries say what the contract's do.
	examples := map[atlas.EventType]string{
		atlas.EventInvoiceCreated: "InvoiceCreatedEvent", atlas.EventInvoiceSent: "InvoiceSentEvent",
		atlas.EventInvoicePaid: "InvoicePaidEvent", atlas.EventBillApproved: "BillApprovedEvent",
		atlas.EventPaymentReceived: "PaymentReceivedEvent", atlas.EventPeriodClosed: "PeriodClosedEvent",
	}
	for event, name := range examples {
		ex := doc.Components.Examples[name]
		require.NotNil(t, ex, "example %s", name)
		b, err := json.Marshal(ex.Value.Value)
		require.NoError(t, err)
		assert.JSONEq(t, string(b), webhookExamples[event], "example %s", name)
	}
}

func TestSignWebhookKnownVector(t *testing.T) {
	t.Parallel()
	// RFC 4231, test case 2.
	got := atlas.SignWebhook([]byte("what do ya want for nothing?"), "Jefe")
	assert.Equal(t, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", got)
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(webhookExamples[atlas.EventInvoicePaid])
	sig := atlas.SignWebhook(body, webhookTestSecret)
	tampered := bytes.Replace(body, []byte("1500.0"), []byte("15000.0"), 1)
	require.NotEqual(t, body, tampered)

	tests := []struct {
		name    string
		body    []byte
		sig     string
		secrets []string
		want    error
	}{
		{"lower-case hex", body, sig, []string{webhookTestSecret}, nil},
		{"upper-case hex", body, strings.ToUpper(sig), []string{webhookTestSecret}, nil},
		{"sha256= prefix", body, "sha256=" + sig, []string{webhookTestSecret}, nil},
		{"sha256= prefix, upper-case hex", body, "sha256=" + strings.ToUpper(sig), []string{webhookTestSecret}, nil},
		{"surrounding spaces", body, " " + sig + " ", []string{webhookTestSecret}, nil},
		{"rotation: new secret first", body, sig, []string{"whsec_new", webhookTestSecret}, nil},
		{"rotation: old secret first", body, sig, []string{webhookTestSecret, "whsec_new"}, nil},
		{"no secrets", body, sig, nil, atlas.ErrNoSecret},
		{"empty secret", body, atlas.SignWebhook(body, ""), []string{""}, atlas.ErrNoSecret},
		{"empty secret beside a good one", body, sig, []string{webhookTestSecret, ""}, atlas.ErrNoSecret},
		{"no signature", body, "", []string{webhookTestSecret}, atlas.ErrNoSignature},
		{"prefix only", body, "sha256=", []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"double prefix", body, "sha256=sha256=" + sig, []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"63 hex digits", body, sig[:63], []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"62 hex digits", body, sig[:62], []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"65 hex digits", body, sig + "0", []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"66 hex digits", body, sig + "00", []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"non-hex digit", body, "z" + sig[1:], []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"base64 instead of hex", body, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"tampered body", tampered, sig, []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"tampered signature", body, tamperHex(sig), []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"wrong secret", body, sig, []string{"whsec_other"}, atlas.ErrInvalidSignature},
		{"signature of another body", body, atlas.SignWebhook([]byte("{}"), webhookTestSecret), []string{webhookTestSecret}, atlas.ErrInvalidSignature},
		{"empty body, its own signature", nil, atlas.SignWebhook(nil, webhookTestSecret), []string{webhookTestSecret}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := atlas.VerifySignature(tt.body, tt.sig, tt.secrets...)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "atlas: "), err.Error())
			assert.NotContains(t, err.Error(), webhookTestSecret)
			assert.NotContains(t, err.Error(), "whsec_")
		})
	}
}

// tamperHex changes one digit of a hex signature, keeping it well-formed.
func tamperHex(sig string) string {
	b := []byte(sig)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}

func TestParseWebhookContractExamples(t *testing.T) {
	t.Parallel()
	const (
		invoiceID  = "4c5d6e7f-8091-4a2b-bc3d-4e5f60718293"
		customerID = "9a8b7c6d-5e4f-4321-8fed-cba987654321"
	)
	invoice := func(status atlas.InvoiceStatus) atlas.InvoiceEventData {
		return atlas.InvoiceEventData{ID: invoiceID, InvoiceNumber: "INV-2026-0001", Amount: decimal.RequireFromString("1500"),
			Currency: "USD", CustomerID: customerID, Status: status}
	}
	created, sent, paid := atlas.InvoiceCreatedData(invoice(atlas.InvoiceStatusDraft)),
		atlas.InvoiceSentData(invoice(atlas.InvoiceStatusSent)), atlas.InvoicePaidData(invoice(atlas.InvoiceStatusPaid))
	tests := []struct {
		event  atlas.EventType
		id     string
		at     time.Time
		want   atlas.EventData
		amount string // the amount, exactly; empty when the event has none
	}{
		{atlas.EventInvoiceCreated, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b", time.Date(2026, 1, 15, 9, 12, 0, 0, time.UTC), &created, "1500"},
		{atlas.EventInvoiceSent, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8c", time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC), &sent, "1500"},
		{atlas.EventInvoicePaid, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8d", time.Date(2026, 2, 10, 13, 25, 1, 0, time.UTC), &paid, "1500"},
		{atlas.EventBillApproved, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8e", time.Date(2026, 1, 11, 14, 5, 0, 0, time.UTC),
			&atlas.BillApprovedData{ID: "8e9f0a1b-2c3d-4e5f-a607-18293a4b5c6d", BillNumber: "BILL-2026-0001",
				Amount: decimal.RequireFromString("420"), Currency: "USD", VendorID: "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"}, "420"},
		{atlas.EventPaymentReceived, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8f", time.Date(2026, 2, 10, 13, 25, 0, 0, time.UTC),
			&atlas.PaymentReceivedData{ID: "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e", PaymentNumber: "PMT-2026-0001",
				Amount: decimal.RequireFromString("1500"), Currency: "USD", CustomerID: customerID, InvoiceIDs: []string{invoiceID}}, "1500"},
		{atlas.EventPeriodClosed, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a90", time.Date(2026, 2, 5, 9, 0, 0, 0, time.UTC),
			&atlas.PeriodClosedData{ID: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", Name: "January 2026",
				StartDate: atlas.Date{Year: 2026, Month: time.January, Day: 1}, EndDate: atlas.Date{Year: 2026, Month: time.January, Day: 31},
				ClosedAt: time.Date(2026, 2, 5, 9, 0, 0, 0, time.UTC)}, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.event), func(t *testing.T) {
			t.Parallel()
			body := []byte(webhookExamples[tt.event])
			ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
			require.NoError(t, err)
			assert.Equal(t, tt.id, ev.ID)
			assert.Equal(t, tt.event, ev.Type)
			assert.True(t, tt.at.Equal(ev.Timestamp), "timestamp %v", ev.Timestamp)
			require.NotNil(t, ev.Data)
			assert.Equal(t, tt.event, ev.Data.EventType())
			if tt.amount != "" {
				assert.Equal(t, tt.amount, webhookAmount(t, ev.Data).String())
			}
			// Decimals compare by value, not representation: 1500.0 is 15000e-1.
			assert.Equal(t, withoutAmount(t, tt.want), withoutAmount(t, ev.Data))
			assert.JSONEq(t, string(body), fmt.Sprintf(`{"id":%q,"event":%q,"timestamp":%q,"data":%s}`,
				ev.ID, ev.Type, ev.Timestamp.Format(time.RFC3339), ev.RawData))
		})
	}
}

// webhookAmount returns the Amount of an event payload that has one.
func webhookAmount(t *testing.T, d atlas.EventData) decimal.Decimal {
	t.Helper()
	switch d := d.(type) {
	case *atlas.InvoiceCreatedData:
		return d.Amount
	case *atlas.InvoiceSentData:
		return d.Amount
	case *atlas.InvoicePaidData:
		return d.Amount
	case *atlas.BillApprovedData:
		return d.Amount
	case *atlas.PaymentReceivedData:
		return d.Amount
	}
	t.Fatalf("%T has no amount", d)
	return decimal.Decimal{}
}

// withoutAmount returns a copy of d with a zero Amount, for comparing the
// other fields with assert.Equal.
func withoutAmount(t *testing.T, d atlas.EventData) atlas.EventData {
	t.Helper()
	switch d := d.(type) {
	case *atlas.InvoiceCreatedData:
		c := *d
		c.Amount = decimal.Decimal{}
		return &c
	case *atlas.InvoiceSentData:
		c := *d
		c.Amount = decimal.Decimal{}
		return &c
	case *atlas.InvoicePaidData:
		c := *d
		c.Amount = decimal.Decimal{}
		return &c
	case *atlas.BillApprovedData:
		c := *d
		c.Amount = decimal.Decimal{}
		return &c
	case *atlas.PaymentReceivedData:
		c := *d
		c.Amount = decimal.Decimal{}
		return &c
	}
	return d
}

func TestParseWebhookAmountsAreExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, amount, want string
	}{
		{"more digits than a float64 holds", `12345678901234567.89`, "12345678901234567.89"},
		{"a float64 rounding trap", `0.30000000000000004441`, "0.30000000000000004441"},
		{"cents", `19.99`, "19.99"},
		{"exponent", `1.5e3`, "1500"},
		{"negative", `-42.10`, "-42.1"},
		{"decimal string, as the REST API writes it", `"1500.00"`, "1500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(`{"id":"evt_1","event":"bill.approved","timestamp":"2026-01-11T14:05:00Z","data":{"id":"b1",` +
				`"bill_number":"BILL-1","amount":` + tt.amount + `,"currency":"USD","vendor_id":"v1"}}`)
			ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
			require.NoError(t, err)
			d, ok := ev.Data.(*atlas.BillApprovedData)
			require.True(t, ok, "Data is %T", ev.Data)
			assert.Equal(t, tt.want, d.Amount.String())
		})
	}
}

func TestParseWebhookUnknownEvent(t *testing.T) {
	t.Parallel()
	data := `{"id":"4c5d6e7f","reason":"duplicate","amount":12.5,"nested":{"a":[1,2]}}`
	body := []byte(`{"id":"evt_9","event":"invoice.voided","timestamp":"2026-03-01T08:00:00+01:00","data":` + data + `,"extra":true}`)
	ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
	require.NoError(t, err)
	assert.Equal(t, "evt_9", ev.ID)
	assert.Equal(t, atlas.EventType("invoice.voided"), ev.Type)
	assert.True(t, time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC).Equal(ev.Timestamp))
	assert.Nil(t, ev.Data)
	assert.Equal(t, data, string(ev.RawData), "raw data is kept byte for byte")
}

func TestParseWebhookIgnoresUnknownFields(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_2","event":"invoice.sent","timestamp":"2026-01-15T10:30:00Z","api_version":"2026-01",` +
		`"data":{"id":"i1","invoice_number":"INV-1","amount":10,"currency":"EUR","customer_id":"c1","status":"sent","due_date":"2026-02-14"}}`)
	ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
	require.NoError(t, err)
	d, ok := ev.Data.(*atlas.InvoiceSentData)
	require.True(t, ok, "Data is %T", ev.Data)
	assert.Equal(t, "EUR", d.Currency)
	assert.Equal(t, atlas.InvoiceStatusSent, d.Status)
}

func TestParseWebhookMalformed(t *testing.T) {
	t.Parallel()
	const (
		env     = `"id":"evt_1","event":"payment.received","timestamp":"2026-02-10T13:25:00Z"`
		payment = `"id":"p1","payment_number":"PMT-1","currency":"USD","customer_id":"c1"`
	)
	tests := []struct {
		name, body, wantInErr string
	}{
		{"empty body", ``, "not a JSON object"},
		{"not JSON", `event=invoice.paid`, "not a JSON object"},
		{"truncated", webhookExamples[atlas.EventInvoicePaid][:80], "not a JSON object"},
		{"array", `[` + webhookExamples[atlas.EventInvoicePaid] + `]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing garbage", webhookExamples[atlas.EventInvoicePaid] + `}`, "not a JSON object"},
		{"numeric id", `{"id":7,"event":"x.y","timestamp":"2026-02-10T13:25:00Z","data":{}}`, "id"},
		{"missing event", `{"id":"evt_1","timestamp":"2026-02-10T13:25:00Z","data":{}}`, "event is missing"},
		{"empty event", `{"id":"evt_1","event":"","timestamp":"2026-02-10T13:25:00Z","data":{}}`, "event is empty"},
		{"timestamp as Unix seconds", `{"id":"evt_1","event":"x.y","timestamp":1770729900,"data":{}}`, "timestamp"},
		{"null event", `{"id":"evt_1","event":null,"data":{}}`, "event is missing"},
		{"numeric event", `{"id":"evt_1","event":7,"data":{}}`, "event"},
		{"closed_at as a number", `{"id":"evt_1","event":"period.closed","data":{"closed_at":1770282000}}`, "data.closed_at"},
		{"status as a number", `{"id":"evt_1","event":"invoice.paid","data":{"status":3}}`, "data.status"},
		{"customer_id as an object", `{"event":"invoice.paid","data":{"customer_id":{"id":"c1"}}}`, "data.customer_id"},
		{"bad end_date", `{"event":"period.closed","data":{"end_date":"2026-02-30"}}`, "data.end_date"},
		{"missing data", `{` + env + `}`, "data is missing"},
		{"null data", `{` + env + `,"data":null}`, "data is missing"},
		{"data is an array", `{` + env + `,"data":[]}`, "data"},
		{"data of an unknown event is a string", `{"id":"evt_1","event":"x.y","timestamp":"2026-02-10T13:25:00Z","data":"x"}`, "data"},
		{"amount not a number", `{` + env + `,"data":{` + payment + `,"amount":"lots","invoice_ids":[]}}`, "data.amount"},
		{"amount with a huge exponent", `{` + env + `,"data":{` + payment + `,"amount":1e999999999,"invoice_ids":[]}}`, "data.amount is out of range"},
		{"amount with a tiny exponent", `{` + env + `,"data":{` + payment + `,"amount":1e-999999999,"invoice_ids":[]}}`, "data.amount is out of range"},
		{"amount is a boolean", `{` + env + `,"data":{` + payment + `,"amount":true,"invoice_ids":[]}}`, "data.amount"},
		{"invoice_ids not a list", `{` + env + `,"data":{` + payment + `,"amount":1,"invoice_ids":"i1"}}`, "data.invoice_ids"},
		{"bad start_date", `{"id":"evt_1","event":"period.closed","timestamp":"2026-02-05T09:00:00Z","data":{"id":"p1","name":"Jan",` +
			`"start_date":"01/01/2026","end_date":"2026-01-31","closed_at":"2026-02-05T09:00:00Z"}}`, "data.start_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			ev, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
			require.Error(t, err)
			assert.Nil(t, ev)
			assert.ErrorIs(t, err, atlas.ErrMalformedWebhook)
			assert.Contains(t, err.Error(), tt.wantInErr)
			assert.NotContains(t, err.Error(), webhookTestSecret)
		})
	}
}

func TestParseWebhookVerifiesBeforeDecoding(t *testing.T) {
	t.Parallel()
	body := []byte(`not json at all`)
	_, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, "whsec_other"), webhookTestSecret)
	assert.ErrorIs(t, err, atlas.ErrInvalidSignature)
	assert.NotErrorIs(t, err, atlas.ErrMalformedWebhook)

	_, err = atlas.ParseWebhook(body, "", webhookTestSecret)
	assert.ErrorIs(t, err, atlas.ErrNoSignature)

	_, err = atlas.ParseWebhook(body, atlas.SignWebhook(body, ""))
	assert.ErrorIs(t, err, atlas.ErrNoSecret)
}

func BenchmarkParseWebhook(b *testing.B) {
	body := []byte(webhookExamples[atlas.EventPaymentReceived])
	sig := atlas.SignWebhook(body, webhookTestSecret)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for range b.N {
		if _, err := atlas.ParseWebhook(body, sig, webhookTestSecret); err != nil {
			b.Fatal(err)
		}
	}
}

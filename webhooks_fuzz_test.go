package atlas_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	atlas "github.com/atlas-accounting/atlas-go"
)

// FuzzParseWebhook feeds ParseWebhook arbitrary bodies and signatures. The
// seed corpus in testdata/fuzz/FuzzParseWebhook runs with the normal suite;
// explore further with
//
//	go test -run '^$' -fuzz FuzzParseWebhook -fuzztime 1m
func FuzzParseWebhook(f *testing.F) {
	for _, body := range webhookExamples {
		f.Add([]byte(body), atlas.SignWebhook([]byte(body), webhookTestSecret))
	}
	f.Add([]byte(guideInvoicePaid), atlas.SignWebhook([]byte(guideInvoicePaid), webhookTestSecret))
	f.Fuzz(func(t *testing.T, payload []byte, signature string) {
		// As received: only the right signature passes.
		_, err := atlas.ParseWebhook(payload, signature, webhookTestSecret)
		right := atlas.SignWebhook(payload, webhookTestSecret)
		given := strings.TrimPrefix(strings.TrimSpace(signature), "sha256=")
		if !strings.EqualFold(given, right) {
			if !errors.Is(err, atlas.ErrNoSignature) && !errors.Is(err, atlas.ErrInvalidSignature) {
				t.Fatalf("a wrong signature got %v", err)
			}
		} else if err != nil && !errors.Is(err, atlas.ErrMalformedWebhook) {
			t.Fatalf("the right signature got %v", err)
		}

		// Signed, so the decoder sees the body.
		ev, err := atlas.ParseWebhook(payload, right, webhookTestSecret)
		if err != nil {
			if ev != nil || !errors.Is(err, atlas.ErrMalformedWebhook) {
				t.Fatalf("ParseWebhook = %v, %v; want nil and ErrMalformedWebhook", ev, err)
			}
			return
		}
		// The id is optional (the guide's example has none), the type is
		// not, and there is always a key to de-duplicate on.
		if ev.Type == "" || ev.DedupKey() == "" {
			t.Fatalf("parsed an event without a type or a dedup key: %+v", ev)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(ev.RawData, &obj); err != nil || obj == nil {
			t.Fatalf("RawData is not a JSON object: %q", ev.RawData)
		}
		if ev.Data != nil && ev.Data.EventType() != ev.Type {
			t.Fatalf("%s event has %T data", ev.Type, ev.Data)
		}

		// What was parsed, written back as an envelope, parses to the same event.
		again, err := json.Marshal(map[string]any{"id": ev.ID, "event": ev.Type, "timestamp": ev.Timestamp, "data": ev.RawData})
		if err != nil {
			t.Fatalf("re-encoding the event: %v", err)
		}
		ev2, err := atlas.ParseWebhook(again, atlas.SignWebhook(again, webhookTestSecret), webhookTestSecret)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", again, err)
		}
		if ev2.ID != ev.ID || ev2.Type != ev.Type || !ev2.Timestamp.Equal(ev.Timestamp) || (ev2.Data == nil) != (ev.Data == nil) {
			t.Fatalf("re-parsed %+v, want %+v", ev2, ev)
		}
	})
}

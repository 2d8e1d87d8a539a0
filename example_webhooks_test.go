package atlas_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	atlas "github.com/atlas-accounting/atlas-go"
)

// A delivery as Atlas sends it: the body, and its signature in the
// X-Atlas-Signature header.
const exampleDelivery = `{"id":"e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8d","event":"invoice.paid","timestamp":"2026-02-10T13:25:01Z",` +
	`"data":{"id":"4c5d6e7f-8091-4a2b-bc3d-4e5f60718293","invoice_number":"INV-2026-0001","amount":1500.0,` +
	`"currency":"USD","customer_id":"9a8b7c6d-5e4f-4321-8fed-cba987654321","status":"paid"}}`

func ExampleParseWebhook() {
	secret := "whsec_example" // in a service: from the environment or a secret store
	body := []byte(exampleDelivery)
	signature := atlas.SignWebhook(body, secret) // Atlas computes this; here we play Atlas

	ev, err := atlas.ParseWebhook(body, signature, secret)
	if err != nil {
		// errors.Is(err, atlas.ErrInvalidSignature) means the body was not
		// sent by Atlas; errors.Is(err, atlas.ErrMalformedWebhook) that it is
		// not a well-formed event.
		log.Fatal(err)
	}
	switch d := ev.Data.(type) {
	case *atlas.InvoicePaidData:
		fmt.Printf("%s: %s paid %s %s\n", ev.Type, d.InvoiceNumber, d.Amount.StringFixed(2), d.Currency)
	case *atlas.PaymentReceivedData:
		fmt.Printf("%s: %s applied to %d invoices\n", ev.Type, d.PaymentNumber, len(d.InvoiceIDs))
	case nil:
		fmt.Printf("%s: an event this SDK does not know; data %s\n", ev.Type, ev.RawData)
	}

	_, err = atlas.ParseWebhook([]byte(strings.Replace(exampleDelivery, "1500.0", "15.0", 1)), signature, secret)
	fmt.Println(errors.Is(err, atlas.ErrInvalidSignature))
	// Output:
	// invoice.paid: INV-2026-0001 paid 1500.00 USD
	// true
}

func ExampleNewWebhookHandler() {
	secret := "whsec_example"
	handler, err := atlas.NewWebhookHandler(secret, func(_ context.Context, ev *atlas.WebhookEvent) error {
		if d, ok := ev.Data.(*atlas.InvoicePaidData); ok {
			fmt.Println("mark paid:", d.InvoiceNumber, d.Amount.StringFixed(2))
		}
		// Returning an error answers 500 and Atlas delivers the event again later.
		return nil
	})
	if err != nil {
		log.Fatal(err) // an empty secret, say: the handler is refused, not built to fail every delivery
	}
	// In a service: http.Handle("POST /webhooks/atlas", handler).

	// Atlas delivers the event twice, say because its first attempt timed out.
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/atlas", strings.NewReader(exampleDelivery))
		req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook([]byte(exampleDelivery), secret))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println("answer:", rec.Code)
	}

	// A forged delivery never reaches the callback.
	req := httptest.NewRequest(http.MethodPost, "/webhooks/atlas", strings.NewReader(exampleDelivery))
	req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook([]byte(exampleDelivery), "guessed"))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	fmt.Printf("answer: %d %s", rec.Code, body)
	// Output:
	// mark paid: INV-2026-0001 1500.00
	// answer: 204
	// answer: 204
	// answer: 401 invalid signature
}

func ExampleVerifySignature() {
	body := []byte(exampleDelivery)
	signature := atlas.SignWebhook(body, "whsec_new")

	// During a rotation, accept the old and the new secret.
	err := atlas.VerifySignature(body, signature, "whsec_old", "whsec_new")
	fmt.Println(err)
	err = atlas.VerifySignature(body, signature, "whsec_old")
	fmt.Println(errors.Is(err, atlas.ErrInvalidSignature))
	err = atlas.VerifySignature(body, signature, "")
	fmt.Println(errors.Is(err, atlas.ErrNoSecret))
	// Output:
	// <nil>
	// true
	// true
}

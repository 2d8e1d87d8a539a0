package atlas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// The tests in this file run the whole webhook path: the SDK's services act on
// atlastest, atlastest signs and POSTs the events those actions cause, and
// NewWebhookHandler receives them in an httptest server.

// storyStart is when the story's server clock stands. It is fixed and moved
// between actions, so that every event has a timestamp of its own.
var storyStart = time.Date(2026, time.March, 16, 9, 0, 0, 0, time.UTC)

// webhookStory is what the actions of runWebhookStory left, as the REST API
// answered them: what the six events they cause must say.
type webhookStory struct {
	created *atlas.Invoice // as created, a draft
	sent    *atlas.Invoice // as sent
	paid    *atlas.Invoice // after the payment
	payment *atlas.Payment
	bill    *atlas.Bill // as approved
	period  *atlas.Period
}

// webhookServer has atlastest run on the fixed story clock and retry a
// delivery up to attempts times with 1 ms backoff.
func webhookServer(attempts int) atlas.SetupOption {
	return atlas.ServerOptions(atlastest.WithClock(atlastest.FixedClock(storyStart)), atlastest.WithWebhookRetry(attempts, time.Millisecond))
}

// runWebhookStory creates an invoice, sends it, pays it in full with one
// payment, creates and approves a bill and closes February. That makes the
// six events invoice.created, invoice.sent, payment.received, invoice.paid,
// bill.approved and period.closed, in this order.
func runWebhookStory(t *testing.T, c *atlas.Client, srv *atlastest.Server) webhookStory {
	t.Helper()
	ctx := context.Background()
	var s webhookStory
	var err error
	customer, vendor := srv.CustomerIDs()[0], srv.VendorIDs()[0]

	// 3 x 333.33 plus 8.25 % tax: 999.99 + 82.50, a total no float64 holds exactly.
	srv.Advance(time.Minute)
	s.created, err = c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer,
		InvoiceDate: atlas.DateOf(srv.Now()),
		Lines: []atlas.InvoiceLineParams{{Description: "Consulting", Quantity: atlas.Ptr(money("3")), UnitPrice: money("333.33"),
			RevenueAccountID: srv.AccountID("4100"), TaxRate: atlas.Ptr(money("8.25"))}},
	})
	require.NoError(t, err)
	require.Equal(t, "1082.49", s.created.TotalAmount.StringFixed(2))

	srv.Advance(time.Minute)
	s.sent, err = c.Invoices.Send(ctx, s.created.ID)
	require.NoError(t, err)
	require.NotNil(t, s.sent.SentAt)

	srv.Advance(time.Minute)
	s.payment, err = c.Payments.Create(ctx, &atlas.PaymentCreateParams{
		CustomerID:       customer,
		PaymentDate:      atlas.DateOf(srv.Now()),
		Amount:           s.sent.AmountDue,
		PaymentMethod:    atlas.PaymentMethodACH,
		DepositAccountID: srv.AccountID("1000"),
		Applications:     []atlas.PaymentApplication{{InvoiceID: s.sent.ID, AmountApplied: s.sent.AmountDue}},
	})
	require.NoError(t, err)
	s.paid, err = c.Invoices.Get(ctx, s.created.ID)
	require.NoError(t, err)
	require.Equal(t, atlas.InvoiceStatusPaid, s.paid.Status)

	// 388.00 plus 8.25 % tax: 388.00 + 32.01.
	srv.Advance(time.Minute)
	bill, err := c.Bills.Create(ctx, &atlas.BillCreateParams{
		VendorID: vendor,
		BillDate: atlas.DateOf(srv.Now()),
		Lines: []atlas.BillLineParams{{Description: "Paper", UnitPrice: money("388.00"),
			ExpenseAccountID: srv.AccountID("6100"), TaxRate: atlas.Ptr(money("8.25"))}},
	})
	require.NoError(t, err)
	srv.Advance(time.Minute)
	s.bill, err = c.Bills.Approve(ctx, bill.ID)
	require.NoError(t, err)
	require.Equal(t, "420.01", s.bill.TotalAmount.StringFixed(2))
	require.NotNil(t, s.bill.ApprovedAt)

	var february *atlas.Period
	for p, err := range c.Periods.All(ctx, nil) {
		require.NoError(t, err)
		if p.StartDate == atlas.NewDate(2026, time.February, 1) {
			february = p
		}
	}
	require.NotNil(t, february, "no period starts on 2026-02-01")
	srv.Advance(time.Minute)
	s.period, err = c.Periods.Close(ctx, february.ID)
	require.NoError(t, err)
	require.NotNil(t, s.period.ClosedAt)
	return s
}

// wantEvent is an event the story must cause.
type wantEvent struct {
	event atlas.EventType
	at    time.Time
	data  atlas.EventData
}

// events returns the events the story must cause, in the order they happened.
func (s webhookStory) events() []wantEvent {
	invoice := func(inv *atlas.Invoice) atlas.InvoiceEventData {
		return atlas.InvoiceEventData{ID: inv.ID, InvoiceNumber: inv.InvoiceNumber, Amount: inv.TotalAmount,
			Currency: inv.Currency, CustomerID: inv.CustomerID, Status: inv.Status}
	}
	created, sent, paid := atlas.InvoiceCreatedData(invoice(s.created)), atlas.InvoiceSentData(invoice(s.sent)),
		atlas.InvoicePaidData(invoice(s.paid))
	return []wantEvent{
		{atlas.EventInvoiceCreated, s.created.CreatedAt, &created},
		{atlas.EventInvoiceSent, *s.sent.SentAt, &sent},
		{atlas.EventPaymentReceived, s.payment.CreatedAt, &atlas.PaymentReceivedData{ID: s.payment.ID,
			PaymentNumber: s.payment.PaymentNumber, Amount: s.payment.Amount, Currency: s.payment.Currency,
			CustomerID: s.payment.CustomerID, InvoiceIDs: []string{s.created.ID}}},
		{atlas.EventInvoicePaid, s.paid.UpdatedAt, &paid},
		{atlas.EventBillApproved, *s.bill.ApprovedAt, &atlas.BillApprovedData{ID: s.bill.ID, BillNumber: s.bill.BillNumber,
			Amount: s.bill.TotalAmount, Currency: s.bill.Currency, VendorID: s.bill.VendorID}},
		{atlas.EventPeriodClosed, *s.period.ClosedAt, &atlas.PeriodClosedData{ID: s.period.ID, Name: s.period.Name,
			StartDate: s.period.StartDate, EndDate: s.period.EndDate, ClosedAt: *s.period.ClosedAt}},
	}
}

// eventSink is an httptest server that runs NewWebhookHandler and records
// every call of its callback.
type eventSink struct {
	*httptest.Server
	mu    sync.Mutex
	calls []sinkCall
}

// sinkCall is one call of the callback: the event and what it returned.
type sinkCall struct {
	ev  *atlas.WebhookEvent
	err error
}

// newEventSink starts a handler with secret whose callback records each
// event and returns fn's answer (nil when fn is nil); wrap, when not nil,
// wraps the handler.
func newEventSink(t *testing.T, secret string, fn func(*atlas.WebhookEvent) error, wrap func(http.Handler) http.Handler) *eventSink {
	t.Helper()
	sink := &eventSink{}
	h, err := atlas.NewWebhookHandler(secret, func(_ context.Context, ev *atlas.WebhookEvent) error {
		var err error
		if fn != nil {
			err = fn(ev)
		}
		sink.mu.Lock()
		sink.calls = append(sink.calls, sinkCall{ev, err})
		sink.mu.Unlock()
		return err
	})
	require.NoError(t, err)
	if wrap != nil {
		h = wrap(h)
	}
	sink.Server = httptest.NewServer(h)
	t.Cleanup(sink.Close)
	return sink
}

// String lists the calls' event types, for failure messages.
func (sink *eventSink) String() string {
	var types []string
	for _, c := range sink.received() {
		types = append(types, string(c.ev.Type))
	}
	return fmt.Sprint(types)
}

// received returns the callback's calls so far.
func (sink *eventSink) received() []sinkCall {
	sink.mu.Lock()
	defer sink.mu.Unlock()
	return append([]sinkCall(nil), sink.calls...)
}

// checkNoLeaks verifies, after the cleanups registered later have run (the
// servers), that the test left no goroutine behind. Call it first.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// waitWebhooks waits until atlastest has delivered, or given up on, every
// event so far. The bound only turns a hang into a failure.
func waitWebhooks(t *testing.T, srv *atlastest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitWebhooks(ctx))
}

// deliveriesTo returns the attempts logged for one subscription, oldest first.
func deliveriesTo(srv *atlastest.Server, sub string) []atlastest.Delivery {
	var out []atlastest.Delivery
	for _, d := range srv.Deliveries() {
		if d.SubscriptionID == sub {
			out = append(out, d)
		}
	}
	return out
}

// assertEvent checks that ev is the event want describes: type, time, and
// typed data with the amount exact.
func assertEvent(t *testing.T, want wantEvent, ev *atlas.WebhookEvent) {
	t.Helper()
	assert.Equal(t, want.event, ev.Type)
	assert.True(t, want.at.Equal(ev.Timestamp), "%s: timestamp %v, want %v", want.event, ev.Timestamp, want.at)
	require.NotNil(t, ev.Data, "%s: no typed data", want.event)
	require.IsType(t, want.data, ev.Data)
	if want.event != atlas.EventPeriodClosed {
		// The REST API's "1082.49" and the webhook's 1082.49, digit for digit.
		assert.Equal(t, webhookAmount(t, want.data).String(), webhookAmount(t, ev.Data).String(), "%s: amount", want.event)
		var raw struct{ Amount json.RawMessage }
		require.NoError(t, json.Unmarshal(ev.RawData, &raw))
		assert.Equal(t, webhookAmount(t, want.data).String(), string(raw.Amount), "%s: amount on the wire", want.event)
	}
	assert.Equal(t, withoutAmount(t, want.data), withoutAmount(t, ev.Data), "%s: data", want.event)
}

func TestWebhooksEndToEndSixEvents(t *testing.T) {
	checkNoLeaks(t)
	c, srv := atlas.Setup(t, webhookServer(5))
	sink := newEventSink(t, srv.WebhookSecret(), nil, nil)
	sub := srv.Subscribe(sink.URL)

	want := runWebhookStory(t, c, srv).events()
	waitWebhooks(t, srv)

	calls := sink.received()
	require.Len(t, calls, len(want), "one call per event; calls: %s", sink)
	ids := map[string]bool{}
	for i, w := range want {
		call := calls[i]
		assert.NoError(t, call.err)
		assertEvent(t, w, call.ev)
		assert.False(t, ids[call.ev.ID], "event id %s twice", call.ev.ID)
		ids[call.ev.ID] = true
	}

	// Each event went out once and was acknowledged the first time.
	log := deliveriesTo(srv, sub)
	require.Len(t, log, len(calls))
	for i, d := range log {
		assert.Equal(t, calls[i].ev.ID, d.EventID)
		assert.Equal(t, string(calls[i].ev.Type), d.Event)
		assert.Equal(t, 1, d.Attempt)
		assert.Equal(t, http.StatusNoContent, d.Status, "%s: %s", d.Event, d.Err)
		assert.Equal(t, sink.URL, d.URL)
	}
}

func TestWebhooksEndToEndRedeliveryAfterCallbackFailure(t *testing.T) {
	checkNoLeaks(t)
	c, srv := atlas.Setup(t, webhookServer(5))
	var once sync.Once
	errBusy := errors.New("ledger busy")
	sink := newEventSink(t, srv.WebhookSecret(), func(ev *atlas.WebhookEvent) error {
		var err error
		if ev.Type == atlas.EventPaymentReceived {
			once.Do(func() { err = errBusy })
		}
		return err
	}, nil)
	sub := srv.Subscribe(sink.URL)

	want := runWebhookStory(t, c, srv).events()
	waitWebhooks(t, srv)

	// payment.received reaches the callback twice, failing then succeeding;
	// the events after it wait for its redelivery and come once each.
	calls := sink.received()
	require.Len(t, calls, len(want)+1, "calls: %s", sink)
	failed, retried := calls[2], calls[3]
	assert.ErrorIs(t, failed.err, errBusy)
	assert.NoError(t, retried.err)
	assertEvent(t, want[2], failed.ev)
	assert.Equal(t, failed.ev, retried.ev, "a redelivery is the same event: id, timestamp and data")
	rest := append(calls[:2:2], calls[3:]...) // without the failed call
	for i, w := range want {
		if i != 2 {
			assertEvent(t, w, rest[i].ev)
		}
		assert.NoError(t, rest[i].err)
	}

	// The log: the failed attempt, the successful one, nothing after it.
	var attempts []atlastest.Delivery
	log := deliveriesTo(srv, sub)
	for _, d := range log {
		if d.EventID == failed.ev.ID {
			attempts = append(attempts, d)
			continue
		}
		assert.Equal(t, 1, d.Attempt, "%s", d.Event)
		assert.Equal(t, http.StatusNoContent, d.Status, "%s", d.Event)
	}
	require.Len(t, attempts, 2, "attempts at %s", failed.ev.Type)
	assert.Equal(t, 1, attempts[0].Attempt)
	assert.Equal(t, http.StatusInternalServerError, attempts[0].Status)
	assert.Equal(t, 2, attempts[1].Attempt)
	assert.Equal(t, http.StatusNoContent, attempts[1].Status)
	assert.Len(t, log, len(want)+1)
}

func TestWebhooksEndToEndLostAnswerIsNotHandledTwice(t *testing.T) {
	checkNoLeaks(t)
	c, srv := atlas.Setup(t, webhookServer(5))
	// A proxy in front of the handler loses the handler's first answer to
	// payment.received, after the callback has run: Atlas sees 502 and
	// delivers again, and the handler must acknowledge without calling back.
	var lose sync.Once
	sink := newEventSink(t, srv.WebhookSecret(), nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "cannot read body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			status := rec.Code
			var env struct{ Event atlas.EventType }
			if json.Unmarshal(body, &env) == nil && env.Event == atlas.EventPaymentReceived {
				lose.Do(func() { status = http.StatusBadGateway })
			}
			w.WriteHeader(status)
		})
	})
	sub := srv.Subscribe(sink.URL)

	want := runWebhookStory(t, c, srv).events()
	waitWebhooks(t, srv)

	calls := sink.received()
	require.Len(t, calls, len(want), "one call per event, however often it is delivered; calls: %s", sink)
	for i, w := range want {
		assertEvent(t, w, calls[i].ev)
		assert.NoError(t, calls[i].err)
	}

	var attempts []atlastest.Delivery
	for _, d := range deliveriesTo(srv, sub) {
		if d.EventID == calls[2].ev.ID {
			attempts = append(attempts, d)
		}
	}
	require.Len(t, attempts, 2, "attempts at %s", calls[2].ev.Type)
	assert.Equal(t, http.StatusBadGateway, attempts[0].Status)
	assert.Equal(t, 2, attempts[1].Attempt)
	assert.Equal(t, http.StatusNoContent, attempts[1].Status, "the duplicate is acknowledged")
}

func TestWebhooksEndToEndWrongSecretIsRefused(t *testing.T) {
	checkNoLeaks(t)
	const attempts = 2
	c, srv := atlas.Setup(t, webhookServer(attempts))
	good := newEventSink(t, srv.WebhookSecret(), nil, nil)
	bad := newEventSink(t, "whsec_not_the_servers_secret", nil, nil)
	goodSub, badSub := srv.Subscribe(good.URL), srv.Subscribe(bad.URL)

	want := runWebhookStory(t, c, srv).events()
	waitWebhooks(t, srv)

	assert.Empty(t, bad.received(), "the callback behind the wrong secret never runs; calls: %s", bad)
	calls := good.received()
	require.Len(t, calls, len(want), "the right secret gets every event; calls: %s", good)
	for i, w := range want {
		assertEvent(t, w, calls[i].ev)
	}

	// Every event was tried attempts times on the wrong secret, each time 401.
	tried := map[string]int{}
	for _, d := range deliveriesTo(srv, badSub) {
		assert.Equal(t, http.StatusUnauthorized, d.Status, "%s attempt %d: %s", d.Event, d.Attempt, d.Err)
		tried[d.EventID]++
	}
	goodLog := deliveriesTo(srv, goodSub)
	require.Len(t, goodLog, len(want))
	for _, d := range goodLog {
		assert.Equal(t, http.StatusNoContent, d.Status, "%s: %s", d.Event, d.Err)
		assert.Equal(t, attempts, tried[d.EventID], "%s: attempts with the wrong secret", d.Event)
		delete(tried, d.EventID)
	}
	assert.Empty(t, tried, "events that only the wrong secret got")
}

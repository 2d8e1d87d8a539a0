package atlastest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// receiver is a webhook endpoint for the tests: it answers with the statuses it is given,
// in order (200 once they are used up), and keeps what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []delivered
	arrived  chan struct{} // receives a value as each delivery arrives
	release  chan struct{} // when not nil, answers wait until it is closed
}

// delivered is one request the receiver got.
type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rcv := &receiver{statuses: statuses, arrived: make(chan struct{}, 100)}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rcv.mu.Lock()
		rcv.got = append(rcv.got, delivered{r.Header.Clone(), body})
		status := http.StatusOK
		if len(rcv.statuses) > 0 {
			status, rcv.statuses = rcv.statuses[0], rcv.statuses[1:]
		}
		release := rcv.release
		rcv.mu.Unlock()
		rcv.arrived <- struct{}{}
		if release != nil {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func (rcv *receiver) received() []delivered {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]delivered(nil), rcv.got...)
}

// event is a delivered body decoded.
type event struct {
	ID        string         `json:"id"`
	Event     string         `json:"event"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

func (d delivered) event(t *testing.T) event {
	t.Helper()
	var ev event
	require.NoError(t, json.Unmarshal(d.body, &ev), "body: %s", d.body)
	return ev
}

// waitWebhooks waits for every delivery, with a generous bound for a broken server.
func waitWebhooks(t *testing.T, srv *atlastest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, srv.WaitWebhooks(ctx))
}

// closePeriod closes the main company's period of the given month (1 to 12) and returns
// its id.
func closePeriod(c *client, month int) string {
	c.t.Helper()
	p := c.list("/periods?company_id=" + c.srv.CompanyID() + "&sort_by=start_date&sort_order=asc")
	id := p.Items[month-1]["id"].(string)
	resp := c.do(http.MethodPost, "/periods/"+id+"/close", nil)
	require.Equal(c.t, http.StatusOK, resp.status, "close: %s", resp.body)
	return id
}

// validateEvent checks a delivered body against the contract's schema for the event.
func validateEvent(t *testing.T, schema string, body []byte) {
	t.Helper()
	doc, err := loadContract()
	require.NoError(t, err)
	ref := doc.Components.Schemas[schema]
	require.NotNil(t, ref, schema)
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	assert.NoError(t, ref.Value.VisitJSON(v), "%s: %s", schema, body)
}

func TestWebhookDeliveryIsSignedAndKeepsToTheContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	rcv := newReceiver(t)
	sub := srv.Subscribe(rcv.URL)
	c := admin(t, srv)
	period := closePeriod(c, 1)
	waitWebhooks(t, srv)

	got := rcv.received()
	require.Len(t, got, 1)
	d := got[0]
	assert.Equal(t, "application/json", d.header.Get("Content-Type"))
	mac := hmac.New(sha256.New, []byte(srv.WebhookSecret()))
	mac.Write(d.body)
	assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), d.header.Get("X-Atlas-Signature"))
	assert.Regexp(t, `^[0-9a-f]{64}$`, d.header.Get("X-Atlas-Signature"))
	validateEvent(t, "PeriodClosedEvent", d.body)

	ev := d.event(t)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, ev.ID)
	assert.Equal(t, "period.closed", ev.Event)
	assert.Equal(t, "2026-01-15T10:00:00.000000Z", ev.Timestamp)
	assert.Equal(t, map[string]any{
		"id": period, "name": "January 2026", "start_date": "2026-01-01", "end_date": "2026-01-31",
		"closed_at": "2026-01-15T10:00:00.000000Z",
	}, ev.Data)

	assert.Equal(t, []atlastest.Delivery{{
		SubscriptionID: sub, URL: rcv.URL, EventID: ev.ID, Event: "period.closed", Attempt: 1, Time: tenAM, Status: http.StatusOK,
	}}, srv.Deliveries())
	assert.True(t, srv.Deliveries()[0].OK())
}

func TestWebhookAmountsAreNumbersWithADecimalPoint(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	rcv := newReceiver(t)
	srv.Subscribe(rcv.URL)
	c := admin(t, srv)
	c.sentInvoice(invoiceBody(srv, "2026-01-10")) // 10 x 150.00
	waitWebhooks(t, srv)

	got := rcv.received()
	require.Len(t, got, 2)
	for i, want := range []struct{ event, schema string }{
		{"invoice.created", "InvoiceCreatedEvent"},
		{"invoice.sent", "InvoiceSentEvent"},
	} {
		assert.Equal(t, want.event, got[i].event(t).Event, "in the order they happened")
		validateEvent(t, want.schema, got[i].body)
		assert.Contains(t, string(got[i].body), `"amount":1500.0,`)
	}
	assert.NotEqual(t, got[0].event(t).ID, got[1].event(t).ID, "every event has its own id")
}

func TestWebhookRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithWebhookRetry(4, time.Millisecond))
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	srv.Subscribe(rcv.URL)
	closePeriod(admin(t, srv), 1)
	waitWebhooks(t, srv)

	var attempts, statuses []int
	for _, d := range srv.Deliveries() {
		attempts = append(attempts, d.Attempt)
		statuses = append(statuses, d.Status)
	}
	assert.Equal(t, []int{1, 2, 3}, attempts)
	assert.Equal(t, []int{500, 503, 200}, statuses)
	got := rcv.received()
	require.Len(t, got, 3)
	for _, d := range got[1:] {
		assert.Equal(t, string(got[0].body), string(d.body), "the same event, the same id")
		assert.Equal(t, got[0].header.Get("X-Atlas-Signature"), d.header.Get("X-Atlas-Signature"))
	}
}

func TestWebhookGivesUpAndKeepsTheOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithWebhookRetry(2, time.Millisecond))
	rcv := newReceiver(t, 500, 500, 500)
	srv.Subscribe(rcv.URL)
	c := admin(t, srv)
	first, second := closePeriod(c, 1), closePeriod(c, 2)
	waitWebhooks(t, srv)

	type attempt struct {
		period string
		n      int
		status int
	}
	var got []attempt
	events := map[string]string{}
	for _, d := range rcv.received() {
		ev := d.event(t)
		events[ev.ID] = ev.Data["id"].(string)
	}
	for _, d := range srv.Deliveries() {
		got = append(got, attempt{events[d.EventID], d.Attempt, d.Status})
	}
	assert.Equal(t, []attempt{{first, 1, 500}, {first, 2, 500}, {second, 1, 500}, {second, 2, 200}}, got)
}

func TestWebhookSubscriptions(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)))
	all, invoices := newReceiver(t), newReceiver(t)
	allID := srv.Subscribe(all.URL)
	srv.Subscribe(invoices.URL, "invoice.created", "invoice.sent")
	c := admin(t, srv)

	closePeriod(c, 2)
	c.create(inCompany(srv, "/invoices"), invoiceBody(srv, "2026-01-10"))
	waitWebhooks(t, srv)
	assert.Len(t, all.received(), 2)
	require.Len(t, invoices.received(), 1)
	assert.Equal(t, "invoice.created", invoices.received()[0].event(t).Event)

	assert.True(t, srv.Unsubscribe(allID))
	assert.False(t, srv.Unsubscribe(allID))
	closePeriod(c, 3)
	waitWebhooks(t, srv)
	assert.Len(t, all.received(), 2, "no delivery after Unsubscribe")
}

func TestWebhookToAnUnreachableURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String() + "/hooks"
	require.NoError(t, ln.Close())

	srv := newServer(t, atlastest.WithWebhookRetry(2, time.Millisecond))
	srv.Subscribe(url)
	closePeriod(admin(t, srv), 1)
	waitWebhooks(t, srv)
	ds := srv.Deliveries()
	require.Len(t, ds, 2)
	for _, d := range ds {
		assert.Equal(t, url, d.URL)
		assert.Zero(t, d.Status)
		assert.NotEmpty(t, d.Err)
		assert.False(t, d.OK())
	}
}

func TestWaitDeliveries(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithWebhookRetry(3, time.Millisecond))
	rcv := newReceiver(t, 500, 500)
	srv.Subscribe(rcv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.WaitDeliveries(ctx, 1)
	assert.ErrorIs(t, err, context.Canceled, "nothing was emitted")

	closePeriod(admin(t, srv), 1)
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds, err := srv.WaitDeliveries(ctx, 2)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ds), 2)
	assert.Equal(t, []int{500, 500}, []int{ds[0].Status, ds[1].Status})
}

func TestCloseStopsWebhookDeliveries(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	defer srv.Close()
	rcv := newReceiver(t)
	rcv.release = make(chan struct{})
	defer close(rcv.release)
	srv.Subscribe(rcv.URL)
	closePeriod(admin(t, srv), 1)
	<-rcv.arrived // the delivery waits for an answer that does not come

	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), time.Minute, "Close does not wait for the receiver")
	assert.Error(t, srv.WaitWebhooks(context.Background()))
	assert.Empty(t, srv.Deliveries(), "an attempt cut short by Close is not listed")
}

// TestEventSchemaCheckCatchesAWrongAmount makes sure validateEvent can fail: an amount as
// a decimal string, as the REST API sends it, is not a webhook amount.
func TestEventSchemaCheckCatchesAWrongAmount(t *testing.T) {
	t.Parallel()
	doc, err := loadContract()
	require.NoError(t, err)
	schema := doc.Components.Schemas["InvoiceCreatedEvent"].Value
	event := func(amount any) any {
		return map[string]any{
			"id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b", "event": "invoice.created", "timestamp": "2026-01-15T10:00:00Z",
			"data": map[string]any{
				"id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b", "invoice_number": "INV-1", "amount": amount, "currency": "USD",
				"customer_id": "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b", "status": "draft",
			},
		}
	}
	require.NoError(t, schema.VisitJSON(event(1500.0)))
	assert.Error(t, schema.VisitJSON(event("1500.00")))
}

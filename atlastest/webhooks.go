package atlastest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery is one attempt to deliver a webhook event to a subscriber, as Server.Deliveries
// reports it.
type Delivery struct {
	// SubscriptionID is what Subscribe returned for the receiving URL.
	SubscriptionID string
	// URL is where the event was POSTed.
	URL string
	// EventID is the event's id, the same in every attempt and for every subscriber.
	EventID string
	// Event is the event type, such as "invoice.paid".
	Event string
	// Attempt counts the attempts to deliver this event to this subscriber, from 1.
	Attempt int
	// Time is when the attempt was made, on the server's clock.
	Time time.Time
	// Status is the receiver's answer, or 0 when there was none (see Err).
	Status int
	// Err says why there was no answer (connection refused, timeout), or is "".
	Err string
}

// OK reports whether the receiver acknowledged the delivery with a 2xx status.
func (d Delivery) OK() bool { return d.Status >= 200 && d.Status <= 299 }

// webhookConfig is how deliveries are retried.
type webhookConfig struct {
	maxAttempts int
	baseDelay   time.Duration
}

// webhookTimeout bounds one delivery attempt.
const webhookTimeout = 10 * time.Second

// WithWebhookRetry sets how a delivery that gets no 2xx answer is retried: at most
// maxAttempts attempts in all (default 5), the second baseDelay after the first (default
// 10 ms), each wait twice the one before (at most a minute). The waits are on the time
// package's clock: real time, kept short by default so that tests do not wait, or the
// clock of a synctest bubble, where a delay of an hour passes at once for a handler
// subscribed with SubscribeHandler. A test waits for deliveries with WaitWebhooks or
// WaitDeliveries. Fewer than 1 attempt and a negative delay are invalid.
func WithWebhookRetry(maxAttempts int, baseDelay time.Duration) Option {
	return func(cfg *config) {
		switch {
		case maxAttempts < 1:
			cfg.invalid("WithWebhookRetry", "%d attempts; at least 1 is needed", maxAttempts)
		case baseDelay < 0:
			cfg.invalid("WithWebhookRetry", "base delay %v is negative", baseDelay)
		default:
			cfg.webhooks = webhookConfig{maxAttempts: maxAttempts, baseDelay: baseDelay}
		}
	}
}

// webhooks delivers events to the subscribers, each from its own goroutine, in order.
type webhooks struct {
	cfg       webhookConfig
	now       func() time.Time
	transport *http.Transport
	client    *http.Client
	ctx       context.Context // cancelled by Close
	stop      context.CancelFunc
	wg        sync.WaitGroup

	mu         sync.Mutex
	secret     []byte // what deliveries are signed with; LoadState changes it
	subs       []*subscriber
	pending    int           // events queued or being delivered, over all subscribers
	deliveries []Delivery    // the last defaultRequestLog attempts, oldest first
	attempts   int           // attempts made since the server started
	changed    chan struct{} // closed and replaced whenever pending or attempts change
}

// subscriber is one Subscribe: its URL, the events it wants and its queue.
type subscriber struct {
	id, url string
	events  map[string]bool // nil: all
	queue   []*event
	wake    chan struct{} // buffered 1: the queue has grown
	ctx     context.Context
	stop    context.CancelFunc
}

// event is one emitted event, encoded once for every delivery.
type event struct {
	id, kind string
	body     []byte
}

func newWebhooks(cfg webhookConfig, secret string, now func() time.Time) *webhooks {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	ctx, stop := context.WithCancel(context.Background())
	return &webhooks{
		cfg:       cfg,
		secret:    []byte(secret),
		now:       now,
		transport: tr,
		client:    &http.Client{Transport: tr, Timeout: webhookTimeout},
		ctx:       ctx,
		stop:      stop,
		changed:   make(chan struct{}),
	}
}

// close stops every delivery, drops what is queued and waits for the goroutines.
func (h *webhooks) close() {
	h.stop()
	h.wg.Wait()
	h.transport.CloseIdleConnections()
}

// notify wakes whoever waits for a change. Call with mu held.
func (h *webhooks) notify() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Subscribe registers url to receive webhook events from now on: the events of the given
// types, or all six when none is given. Each event is POSTed as JSON in the contract's
// envelope {id, event, timestamp, data}, signed with X-Atlas-Signature (the lowercase hex
// HMAC-SHA256 of the body under WebhookSecret), to each subscriber in the order the
// events happened: an event is delivered only after the one before it was acknowledged or
// given up on. A delivery that gets no 2xx answer is retried with backoff (see
// WithWebhookRetry) and every attempt is listed by Deliveries. Amounts in the data are
// JSON numbers with a decimal point, as the API sends them (1500.0).
//
// Subscribe returns the subscription's id, for Unsubscribe. Deliveries stop when the
// server closes.
func (s *Server) Subscribe(url string, events ...string) string {
	h := s.hooks
	ctx, stop := context.WithCancel(h.ctx)
	sub := &subscriber{id: newID(), url: url, wake: make(chan struct{}, 1), ctx: ctx, stop: stop}
	if len(events) > 0 {
		sub.events = map[string]bool{}
		for _, e := range events {
			sub.events[e] = true
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		stop()
		return sub.id
	}
	h.subs = append(h.subs, sub)
	h.wg.Add(1)
	go h.run(sub)
	return sub.id
}

// Unsubscribe stops the deliveries to a subscription and drops the events still queued
// for it. It reports whether there was such a subscription.
func (s *Server) Unsubscribe(id string) bool {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, sub := range h.subs {
		if sub.id == id {
			h.subs = append(h.subs[:i], h.subs[i+1:]...)
			sub.stop()
			return true
		}
	}
	return false
}

// Deliveries returns the delivery attempts made so far, oldest first (at most the last
// 10,000).
func (s *Server) Deliveries() []Delivery {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Delivery(nil), h.deliveries...)
}

// WaitDeliveries waits until at least n delivery attempts have been made since the server
// started, whatever their outcome, and returns Deliveries. It returns ctx's error when ctx
// ends first, and an error when the server closes first.
func (s *Server) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	h := s.hooks
	err := h.wait(ctx, func() bool { return h.attempts >= n })
	return s.Deliveries(), err
}

// WaitWebhooks waits until every event emitted so far has been delivered to every
// subscriber that wants it, or given up on after the last attempt. It returns ctx's error
// when ctx ends first, and an error when the server closes first.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	h := s.hooks
	return h.wait(ctx, func() bool { return h.pending == 0 })
}

// wait blocks until done (called with mu held) is true.
func (h *webhooks) wait(ctx context.Context, done func() bool) error {
	for {
		h.mu.Lock()
		ok, ch := done(), h.changed
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-h.ctx.Done():
			return errors.New("atlastest: the server closed before the webhooks were delivered")
		}
	}
}

// publish queues an event for every subscriber that wants it; Server.emit (events.go)
// calls it. It does not block: the event gets its id and the server clock's timestamp
// here and is delivered from the subscribers' goroutines.
func (h *webhooks) publish(eventType string, data map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ev *event
	for _, sub := range h.subs {
		if sub.events != nil && !sub.events[eventType] {
			continue
		}
		if ev == nil {
			ev = newEvent(eventType, data, h.now())
		}
		sub.queue = append(sub.queue, ev)
		h.pending++
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// newEvent encodes an event in the contract's envelope.
func newEvent(kind string, data map[string]any, now time.Time) *event {
	ev := &event{id: newID(), kind: kind}
	body, err := json.Marshal(struct {
		ID        string `json:"id"`
		Event     string `json:"event"`
		Timestamp string `json:"timestamp"`
		Data      any    `json:"data"`
	}{ev.id, kind, timestamp(now), webhookValue(data)})
	if err != nil {
		// data holds only strings, numbers, booleans, slices and maps of them.
		body = []byte(`{"id":"` + ev.id + `","event":"` + kind + `","timestamp":"` + timestamp(now) + `","data":{}}`)
	}
	ev.body = body
	return ev
}

// webhookValue prepares event data for encoding: every float becomes a number written
// with a decimal point, as Python writes floats (1500.0), so that a receiver that decodes
// amounts into integers fails here as it would against the real API.
func webhookValue(v any) any {
	switch x := v.(type) {
	case float64:
		return decimalNumber(x)
	case float32:
		return decimalNumber(float64(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = webhookValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = webhookValue(e)
		}
		return out
	}
	return v
}

// decimalNumber is a float that JSON shows with a decimal point.
type decimalNumber float64

// MarshalJSON writes f as 1500.0 or 1500.25; a value that is not finite becomes null.
func (f decimalNumber) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return []byte(s), nil
}

// run delivers the events of one subscriber, in order, until it is unsubscribed or the
// server closes.
func (h *webhooks) run(sub *subscriber) {
	defer h.wg.Done()
	defer func() {
		// Unsubscribe drops the queue; Close leaves it counted, so that WaitWebhooks
		// reports that it was never delivered.
		h.mu.Lock()
		if h.ctx.Err() == nil {
			h.pending -= len(sub.queue)
			sub.queue = nil
			h.notify()
		}
		h.mu.Unlock()
	}()
	for {
		h.mu.Lock()
		for len(sub.queue) == 0 {
			h.mu.Unlock()
			select {
			case <-sub.wake:
			case <-sub.ctx.Done():
				return
			}
			h.mu.Lock()
		}
		ev := sub.queue[0]
		h.mu.Unlock()

		if !h.deliver(sub, ev) {
			return
		}
		h.mu.Lock()
		sub.queue = sub.queue[1:]
		h.pending--
		h.notify()
		h.mu.Unlock()
	}
}

// deliver sends ev to sub until it is acknowledged or the attempts are used up. It
// reports false when the subscription or the server stopped first.
func (h *webhooks) deliver(sub *subscriber, ev *event) bool {
	wait := h.cfg.baseDelay
	for attempt := 1; ; attempt++ {
		d := Delivery{SubscriptionID: sub.id, URL: sub.url, EventID: ev.id, Event: ev.kind, Attempt: attempt, Time: h.now()}
		d.Status, d.Err = h.post(sub.ctx, sub.url, ev)
		if sub.ctx.Err() != nil {
			return false
		}
		h.record(d)
		if d.OK() || attempt >= h.cfg.maxAttempts {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-sub.ctx.Done():
			t.Stop()
			return false
		}
		wait = min(2*wait, time.Minute)
	}
}

// post makes one delivery attempt and returns the receiver's status or why there was none.
func (h *webhooks) post(ctx context.Context, url string, ev *event) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.body))
	if err != nil {
		return 0, err.Error()
	}
	h.mu.Lock()
	secret := h.secret
	h.mu.Unlock()
	mac := hmac.New(sha256.New, secret)
	mac.Write(ev.body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "atlastest-webhooks")
	req.Header.Set("X-Atlas-Signature", hex.EncodeToString(mac.Sum(nil)))
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, ""
}

// setSecret makes deliveries from now on signed with secret.
func (h *webhooks) setSecret(secret string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = []byte(secret)
}

// record adds an attempt to the delivery log.
func (h *webhooks) record(d Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.deliveries) == defaultRequestLog {
		h.deliveries = append(h.deliveries[:0], h.deliveries[1:]...)
	}
	h.deliveries = append(h.deliveries, d)
	h.attempts++
	h.notify()
}

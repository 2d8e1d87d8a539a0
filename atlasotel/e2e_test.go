package atlasotel_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// These tests run an instrumented client against atlastest, inside synctest
// bubbles where the API's time passes at once, and read the spans and
// metrics the OpenTelemetry SDK recorded.

func newClient(t *testing.T, srv *atlastest.Server, opts ...atlas.Option) *atlas.Client {
	t.Helper()
	c, err := atlas.NewClient(append([]atlas.Option{
		atlas.WithBaseURL(srv.URL),
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
	}, opts...)...)
	require.NoError(t, err)
	return c
}

// traceparent is the W3C traceparent header of a sampled span.
func traceparent(s sdktrace.ReadOnlySpan) string {
	return fmt.Sprintf("00-%s-%s-01", s.SpanContext().TraceID(), s.SpanContext().SpanID())
}

// assertNoSecret fails when an attribute of a span or an event holds one of
// the secrets, a query string or url.full.
func assertNoSecret(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		kvs := s.Attributes()
		for _, e := range s.Events() {
			kvs = append(kvs, e.Attributes...)
		}
		for _, kv := range kvs {
			assert.NotEqual(t, "url.full", string(kv.Key), s.Name())
			v := kv.Value.String()
			assert.NotContains(t, v, "?", "%s: %s", s.Name(), kv.Key)
			assert.NotContains(t, v, "company_id", "%s: %s", s.Name(), kv.Key)
			for _, secret := range secrets {
				assert.NotContains(t, v, secret, "%s: %s", s.Name(), kv.Key)
			}
		}
	}
}

func TestInstrumentTracesA429OnThePlanA503RetryAndAnExpiredTokensRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		srv := atlastest.NewTestServer(t, atlastest.WithPlanLimits(5, 5, time.Minute))
		c := newClient(t, srv, atlasotel.Instrument(tel.opts...))
		_, err := c.Auth.Me(t.Context())
		require.NoError(t, err)

		// An hour on: the client's token has expired, and another client of
		// the same user uses up the plan's window behind its back.
		time.Sleep(time.Hour)
		other := newClient(t, srv)
		for {
			var resp *atlas.Response
			_, err := other.Auth.Me(t.Context(), atlas.WithResponse(&resp))
			require.NoError(t, err)
			if resp.RateLimit.Remaining == 0 {
				break
			}
		}
		srv.FailNext(1, http.StatusServiceUnavailable, atlastest.Matching("GET /invoices"))
		_, err = c.Invoices.List(t.Context(), nil)
		require.NoError(t, err)

		call := tel.one(t, "atlas Invoices.List")
		assert.Equal(t, trace.SpanKindInternal, call.SpanKind())
		assert.Equal(t, int64(3), attrs(call.Attributes())["atlas.attempts"])
		assert.Equal(t, codes.Unset, call.Status().Code)

		refresh := tel.one(t, "atlas token refresh")
		assert.Equal(t, call.SpanContext().SpanID(), refresh.Parent().SpanID(), "the refresh under the call that started it")
		refreshReq := tel.one(t, "POST /auth/refresh")
		assert.Equal(t, trace.SpanKindClient, refreshReq.SpanKind())
		assert.Equal(t, refresh.SpanContext().SpanID(), refreshReq.Parent().SpanID())
		login := tel.one(t, "atlas token login")
		assert.Equal(t, tel.one(t, "atlas Auth.Me").SpanContext().SpanID(), login.Parent().SpanID())

		attempts := tel.ended()["GET /invoices"]
		require.Len(t, attempts, 3)
		var statuses []any
		for i, a := range attempts {
			assert.Equal(t, trace.SpanKindClient, a.SpanKind())
			assert.Equal(t, call.SpanContext().SpanID(), a.Parent().SpanID())
			at := attrs(a.Attributes())
			statuses = append(statuses, at["http.response.status_code"])
			assert.Equal(t, "GET", at["http.request.method"])
			assert.Equal(t, "/invoices", at["url.template"])
			assert.NotEmpty(t, at["server.address"])
			if i > 0 {
				assert.Equal(t, int64(i), at["http.request.resend_count"])
			} else {
				assert.NotContains(t, at, "http.request.resend_count")
			}
		}
		assert.Equal(t, []any{int64(429), int64(503), int64(200)}, statuses)
		assert.Equal(t, "429", attrs(attempts[0].Attributes())["error.type"])
		assert.Equal(t, "503", attrs(attempts[1].Attributes())["error.type"])

		var reasons []string
		for _, e := range call.Events() {
			require.Equal(t, "atlas.wait", e.Name)
			reasons = append(reasons, attrs(e.Attributes)["atlas.wait.reason"].(string))
		}
		assert.Subset(t, reasons, []string{"retry_after", "backoff"})

		// atlastest saw each attempt's traceparent.
		var seen []string
		for _, r := range srv.Requests() {
			if r.Method == http.MethodGet && r.Path == "/invoices" {
				seen = append(seen, r.Header.Get("Traceparent"))
			}
		}
		assert.Equal(t, []string{traceparent(attempts[0]), traceparent(attempts[1]), traceparent(attempts[2])}, seen)
		for _, r := range srv.Requests() {
			if r.Path == "/auth/refresh" {
				assert.Equal(t, traceparent(refreshReq), r.Header.Get("Traceparent"))
			}
		}

		m := tel.metrics(t)
		assert.Equal(t, map[string]int64{"atlas.retry.reason=rate_limited": 1, "atlas.retry.reason=server_error": 1},
			sumValues(t, m["atlas.client.retries"]))
		assert.Equal(t, map[string]int64{"atlas.outcome=success,atlas.token.kind=login": 1, "atlas.outcome=success,atlas.token.kind=refresh": 1},
			sumValues(t, m["atlas.client.token.renewals"]))
		calls := histogramCounts(t, m["atlas.client.call.duration"])
		assert.Equal(t, uint64(1), calls["atlas.operation=Invoices.List"])
		assert.Equal(t, uint64(1), calls["atlas.operation=Auth.Me"])
		waits := histogramSums(t, m["atlas.client.wait.duration"])
		assert.Positive(t, waits["atlas.wait.reason=retry_after"], "the 429's wait")
		assert.Contains(t, waits, "atlas.wait.reason=backoff")
		requests := histogramCounts(t, m["http.client.request.duration"])
		var invoices uint64
		for k, n := range requests {
			if strings.Contains(k, "url.template=/invoices") {
				invoices += n
			}
		}
		assert.Equal(t, uint64(3), invoices)
		assert.Contains(t, gaugeValues(t, m["atlas.client.rate_limit.remaining"]), "")

		assertNoSecret(t, tel.spans.Ended(), srv.Email(), srv.Password(), srv.WebhookSecret())
	})
}

// countingLimiter is a Limiter that holds every attempt a second.
type countingLimiter struct{ waits atomic.Int64 }

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.waits.Add(1)
	select {
	case <-time.After(time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *countingLimiter) Observe(context.Context, atlas.RateObservation) {}

func TestInstrumentShowsALimitersWaitAndDoWithoutARoute(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		srv := atlastest.NewTestServer(t)
		lim := &countingLimiter{}
		c := newClient(t, srv, atlas.WithLimiter(lim), atlasotel.Instrument(tel.opts...))
		err := c.Do(t.Context(), &atlas.Request{Method: http.MethodGet, Path: "/auth/me"}, nil)
		require.NoError(t, err)

		call := tel.one(t, "atlas Do")
		assert.Equal(t, "Do", attrs(call.Attributes())["atlas.operation"])
		a := tel.one(t, "GET")
		assert.NotContains(t, attrs(a.Attributes()), "url.template", "no route template: no ids in a name or label")
		var limiterWait float64
		for _, e := range call.Events() {
			if at := attrs(e.Attributes); at["atlas.wait.reason"] == "limiter" {
				limiterWait += at["atlas.wait.duration"].(float64)
			}
		}
		assert.Equal(t, 1.0, limiterWait, "the limiter held the attempt a second")
		// The login's attempt waited for the limiter too.
		assert.Equal(t, float64(lim.waits.Load()), histogramSums(t, tel.metrics(t)["atlas.client.wait.duration"])["atlas.wait.reason=limiter"])
		for k := range histogramCounts(t, tel.metrics(t)["http.client.request.duration"]) {
			if strings.Contains(k, "GET") {
				assert.NotContains(t, k, "url.template")
			}
		}
	})
}

func TestInstrumentedDoWithARouteNamesItsAttemptsByIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		srv := atlastest.NewTestServer(t)
		c := newClient(t, srv, atlasotel.Instrument(tel.opts...))
		err := c.Do(t.Context(), &atlas.Request{Method: http.MethodGet, Path: "/companies/" + srv.CompanyID(), Route: "/companies/{id}"}, nil)
		require.NoError(t, err)
		a := tel.one(t, "GET /companies/{id}")
		assert.Equal(t, "/companies/{id}", attrs(a.Attributes())["url.template"])
	})
}

func TestWebhookOptionTracesADeliveryAndItsRedelivery(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		srv := atlastest.NewTestServer(t, atlastest.WithWebhookRetry(3, time.Minute))
		var calls atomic.Int64
		h, err := atlas.NewWebhookHandler(srv.WebhookSecret(), func(ctx context.Context, _ *atlas.WebhookEvent) error {
			if calls.Add(1) == 1 {
				return fmt.Errorf("the books are locked")
			}
			assert.True(t, trace.SpanContextFromContext(ctx).IsValid(), "the callback runs under the delivery's span")
			return nil
		}, atlasotel.WebhookOption(tel.opts...))
		require.NoError(t, err)
		_, err = srv.SubscribeHandler(h, string(atlas.EventInvoiceCreated))
		require.NoError(t, err)

		c := newClient(t, srv)
		customers, err := c.Customers.List(t.Context(), nil)
		require.NoError(t, err)
		require.NotEmpty(t, customers.Items)
		revenue := srv.AccountID("4000")
		_, err = c.Invoices.Create(t.Context(), &atlas.InvoiceCreateParams{
			CustomerID: customers.Items[0].ID, InvoiceDate: atlas.DateOf(time.Now()),
			Lines: []atlas.InvoiceLineParams{{Description: "Audit", UnitPrice: decimal.NewFromInt(100), RevenueAccountID: revenue}},
		})
		require.NoError(t, err)
		time.Sleep(10 * time.Minute)
		synctest.Wait()

		spans := tel.ended()["atlas webhook invoice.created"]
		require.Len(t, spans, 2)
		outcomes := []any{attrs(spans[0].Attributes())["atlas.webhook.outcome"], attrs(spans[1].Attributes())["atlas.webhook.outcome"]}
		assert.Equal(t, []any{"failed", "handled"}, outcomes)
		for _, s := range spans {
			assert.Equal(t, trace.SpanKindServer, s.SpanKind())
			assert.Equal(t, "invoice.created", attrs(s.Attributes())["atlas.webhook.event"])
		}
		assert.Equal(t, codes.Error, spans[0].Status().Code)
		assert.Equal(t, int64(500), attrs(spans[0].Attributes())["http.response.status_code"])
		assert.Equal(t, map[string]int64{
			"atlas.webhook.event=invoice.created,atlas.webhook.outcome=failed":  1,
			"atlas.webhook.event=invoice.created,atlas.webhook.outcome=handled": 1,
		}, sumValues(t, tel.metrics(t)["atlas.webhook.deliveries"]))
		assertNoSecret(t, tel.spans.Ended(), srv.WebhookSecret())
	})
}

func TestInstrumentLinksACallThatWaitedForAnotherCallsRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		srv := atlastest.NewTestServer(t)
		c := newClient(t, srv, atlasotel.Instrument(tel.opts...))
		_, err := c.Auth.Me(t.Context())
		require.NoError(t, err)
		time.Sleep(time.Hour) // the token has expired
		srv.SetLatency(time.Second, atlastest.Matching("POST /auth/refresh"))

		done := testkit.Go(func() error {
			_, err := c.Auth.Me(t.Context())
			return err
		})
		synctest.Wait() // the first call's refresh is in flight, held by the latency
		_, err = c.Companies.List(t.Context(), nil)
		require.NoError(t, err)
		require.NoError(t, <-done)

		refresh := tel.one(t, "atlas token refresh")
		starter := tel.ended()["atlas Auth.Me"][1]
		assert.Equal(t, starter.SpanContext().SpanID(), refresh.Parent().SpanID())
		assert.Empty(t, starter.Links())
		waiter := tel.one(t, "atlas Companies.List")
		require.Len(t, waiter.Links(), 1, "the call that waited links to the refresh")
		assert.Equal(t, refresh.SpanContext(), waiter.Links()[0].SpanContext)
		var waited bool
		for _, e := range waiter.Events() {
			if attrs(e.Attributes)["atlas.wait.reason"] == "token_renewal" {
				waited = attrs(e.Attributes)["atlas.wait.duration"].(float64) > 0
			}
		}
		assert.True(t, waited, "a token_renewal wait on the call that waited")
	})
}

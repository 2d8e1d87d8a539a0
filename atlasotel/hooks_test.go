package atlasotel_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
)

// These tests call the hooks of a trace as the core's pipeline does, one by
// one, so that each rule of the spans and metrics is seen on its own.

func TestHooksTraceACallItsRetriedAttemptsAndItsWaits(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	call := atlas.CallInfo{Operation: "Invoices.Create", Method: http.MethodPost, Route: "/invoices", Company: "co-1"}

	ctx := ct.CallStart(t.Context(), call)
	header := http.Header{}
	actx := ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Host: "api.example.com", Port: 443, Header: header})
	first := trace.SpanContextFromContext(actx)
	assert.Equal(t, fmt.Sprintf("00-%s-%s-01", first.TraceID(), first.SpanID()), header.Get("Traceparent"))
	ct.RateLimit(actx, atlas.RateLimit{Limit: 60, Remaining: 7})
	ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "api.example.com", Port: 443, StatusCode: 503})
	ct.Wait(ctx, atlas.WaitInfo{Reason: atlas.WaitBackoff, Duration: 1500 * time.Millisecond})

	header = http.Header{}
	actx = ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Host: "api.example.com", Port: 443, Resend: 1, Header: header})
	second := trace.SpanContextFromContext(actx)
	assert.Equal(t, fmt.Sprintf("00-%s-%s-01", second.TraceID(), second.SpanID()), header.Get("Traceparent"))
	ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "api.example.com", Port: 443, Resend: 1, StatusCode: 201})
	ct.CallDone(ctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 2, Duration: 2 * time.Second})

	callSpan := tel.one(t, "atlas Invoices.Create")
	assert.Equal(t, trace.SpanKindInternal, callSpan.SpanKind())
	assert.False(t, callSpan.Parent().IsValid(), "the call's span is a root here")
	assert.Equal(t, map[string]any{"atlas.operation": "Invoices.Create", "atlas.company_id": "co-1", "atlas.attempts": int64(2)}, attrs(callSpan.Attributes()))
	assert.Equal(t, codes.Unset, callSpan.Status().Code)
	require.Len(t, callSpan.Events(), 1)
	assert.Equal(t, "atlas.wait", callSpan.Events()[0].Name)
	assert.Equal(t, map[string]any{"atlas.wait.reason": "backoff", "atlas.wait.duration": 1.5}, attrs(callSpan.Events()[0].Attributes))

	attempts := tel.ended()["POST /invoices"]
	require.Len(t, attempts, 2)
	for i, a := range attempts {
		assert.Equal(t, trace.SpanKindClient, a.SpanKind())
		assert.Equal(t, callSpan.SpanContext().SpanID(), a.Parent().SpanID(), "attempt %d under the call", i)
	}
	assert.Equal(t, first.SpanID(), attempts[0].SpanContext().SpanID())
	assert.Equal(t, map[string]any{
		"http.request.method": "POST", "url.template": "/invoices", "server.address": "api.example.com", "server.port": int64(443),
		"http.response.status_code": int64(503), "error.type": "503",
	}, attrs(attempts[0].Attributes()))
	assert.Equal(t, codes.Error, attempts[0].Status().Code)
	assert.Equal(t, map[string]any{
		"http.request.method": "POST", "url.template": "/invoices", "server.address": "api.example.com", "server.port": int64(443),
		"http.request.resend_count": int64(1), "http.response.status_code": int64(201),
	}, attrs(attempts[1].Attributes()))
	assert.Equal(t, codes.Unset, attempts[1].Status().Code)

	m := tel.metrics(t)
	assert.Equal(t, map[string]uint64{
		"error.type=503,http.request.method=POST,http.response.status_code=503,server.address=api.example.com,server.port=443,url.template=/invoices": 1,
		"http.request.method=POST,http.response.status_code=201,server.address=api.example.com,server.port=443,url.template=/invoices":                1,
	}, histogramCounts(t, m["http.client.request.duration"]))
	assert.Equal(t, map[string]float64{"atlas.operation=Invoices.Create": 2}, histogramSums(t, m["atlas.client.call.duration"]))
	assert.Equal(t, map[string]float64{"atlas.wait.reason=backoff": 1.5}, histogramSums(t, m["atlas.client.wait.duration"]))
	assert.Equal(t, map[string]int64{"atlas.retry.reason=server_error": 1}, sumValues(t, m["atlas.client.retries"]))
	assert.Equal(t, map[string]int64{"": 7}, gaugeValues(t, m["atlas.client.rate_limit.remaining"]))
}

func TestHooksGiveAFailedCallItsErrorType(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	call := atlas.CallInfo{Operation: "Invoices.Get", Method: http.MethodGet, Route: "/invoices/{id}"}
	ctx := ct.CallStart(t.Context(), call)
	actx := ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Host: "h", Port: 80, Header: http.Header{}})
	ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "h", Port: 80, StatusCode: 404})
	ct.CallDone(ctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 1, Err: fmt.Errorf("atlas: GET /invoices/x: %w", &atlas.Error{StatusCode: 404})})

	s := tel.one(t, "atlas Invoices.Get")
	assert.Equal(t, codes.Error, s.Status().Code)
	assert.Equal(t, "not_found", attrs(s.Attributes())["error.type"])
	assert.Equal(t, "404", attrs(tel.one(t, "GET /invoices/{id}").Attributes())["error.type"])
	assert.Equal(t, map[string]uint64{"atlas.operation=Invoices.Get,error.type=not_found": 1},
		histogramCounts(t, tel.metrics(t)["atlas.client.call.duration"]))
}

func TestHooksNameADoCallWithoutARouteByItsMethodAlone(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	call := atlas.CallInfo{Operation: "Do", Method: http.MethodPost}
	ctx := ct.CallStart(t.Context(), call)
	actx := ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Host: "h", Port: 443, Header: http.Header{}})
	ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "h", Port: 443, StatusCode: 200})
	ct.CallDone(ctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 1})

	tel.one(t, "atlas Do")
	a := tel.one(t, "POST")
	assert.NotContains(t, attrs(a.Attributes()), "url.template")
	for p := range histogramCounts(t, tel.metrics(t)["http.client.request.duration"]) {
		assert.NotContains(t, p, "url.template")
	}
}

func TestHooksTraceARenewalUnderItsCallAndLinkTheCallsThatWaitedForIt(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	me := atlas.CallInfo{Operation: "Auth.Me", Method: http.MethodGet, Route: "/auth/me"}
	list := atlas.CallInfo{Operation: "Invoices.List", Method: http.MethodGet, Route: "/invoices"}

	starter := ct.CallStart(t.Context(), me)
	other := ct.CallStart(t.Context(), list)
	rctx := ct.TokenRenewalStart(starter, atlas.TokenRenewalInfo{Kind: atlas.TokenRefresh})
	// The renewal's own request goes through the pipeline as a call.
	refresh := atlas.CallInfo{Operation: "Auth.Refresh", Method: http.MethodPost, Route: "/auth/refresh"}
	cctx := ct.CallStart(rctx, refresh)
	actx := ct.AttemptStart(cctx, atlas.AttemptInfo{CallInfo: refresh, Host: "h", Port: 443, Header: http.Header{}})
	ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: refresh, Host: "h", Port: 443, StatusCode: 200})
	ct.CallDone(cctx, atlas.CallDoneInfo{CallInfo: refresh, Attempts: 1})
	ct.TokenRenewalDone(rctx, atlas.TokenRenewalDoneInfo{Kind: atlas.TokenRefresh})
	ct.Wait(starter, atlas.WaitInfo{Reason: atlas.WaitTokenRenewal, Duration: time.Second, Renewal: rctx})
	ct.Wait(other, atlas.WaitInfo{Reason: atlas.WaitTokenRenewal, Duration: time.Second, Renewal: rctx})
	ct.CallDone(starter, atlas.CallDoneInfo{CallInfo: me})
	ct.CallDone(other, atlas.CallDoneInfo{CallInfo: list})

	assert.Empty(t, tel.ended()["atlas Auth.Refresh"], "the renewal's request has no call span of its own")
	renewal := tel.one(t, "atlas token refresh")
	meSpan, listSpan := tel.one(t, "atlas Auth.Me"), tel.one(t, "atlas Invoices.List")
	assert.Equal(t, meSpan.SpanContext().SpanID(), renewal.Parent().SpanID(), "under the call that started it")
	assert.Equal(t, map[string]any{"atlas.token.kind": "refresh", "atlas.outcome": "success"}, attrs(renewal.Attributes()))
	request := tel.one(t, "POST /auth/refresh")
	assert.Equal(t, trace.SpanKindClient, request.SpanKind())
	assert.Equal(t, renewal.SpanContext().SpanID(), request.Parent().SpanID())

	assert.Empty(t, meSpan.Links(), "no link to its own child")
	require.Len(t, listSpan.Links(), 1)
	assert.Equal(t, renewal.SpanContext().SpanID(), listSpan.Links()[0].SpanContext.SpanID())
	assert.Equal(t, map[string]int64{"atlas.outcome=success,atlas.token.kind=refresh": 1},
		sumValues(t, tel.metrics(t)["atlas.client.token.renewals"]))
}

func TestHooksCountRetriesByTheReasonOfTheAttemptBefore(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	call := atlas.CallInfo{Operation: "Invoices.List", Method: http.MethodGet, Route: "/invoices"}
	ctx := ct.CallStart(t.Context(), call)
	ends := []atlas.AttemptDoneInfo{
		{StatusCode: 429},
		{Err: &url.Error{Op: "Get", URL: "https://h/x", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}},
		{Err: &url.Error{Op: "Get", URL: "https://h/x", Err: context.DeadlineExceeded}},
		{StatusCode: 401}, // a replay after a refresh is no retry
		{StatusCode: 200},
	}
	for i, end := range ends {
		actx := ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Resend: i, Header: http.Header{}})
		end.CallInfo, end.Resend = call, i
		ct.AttemptDone(actx, end)
	}
	ct.CallDone(ctx, atlas.CallDoneInfo{CallInfo: call, Attempts: len(ends)})
	assert.Equal(t, map[string]int64{
		"atlas.retry.reason=rate_limited": 1, "atlas.retry.reason=connection_error": 1, "atlas.retry.reason=timeout": 1,
	}, sumValues(t, tel.metrics(t)["atlas.client.retries"]))
	types := map[string]bool{}
	for _, s := range tel.ended()["GET /invoices"] {
		if et, ok := attrs(s.Attributes())["error.type"]; ok {
			types[et.(string)] = true
		}
	}
	assert.Equal(t, map[string]bool{"429": true, "*url.Error": true, "deadline_exceeded": true, "401": true}, types)
}

func TestHooksErrorTypeIsTheContextsThenTheClassThenTheGoType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("atlas: wait: %w", context.Canceled), "context_canceled"},
		{fmt.Errorf("atlas: %w: %w", &atlas.Error{StatusCode: 429}, context.DeadlineExceeded), "deadline_exceeded"},
		{&atlas.Error{StatusCode: 429}, "rate_limited"},
		{&atlas.Error{StatusCode: 404}, "not_found"},
		{&atlas.Error{StatusCode: 422}, "validation"},
		{&atlas.Error{StatusCode: 503}, "server_error"},
		{fmt.Errorf("atlas: GET /x: %w", &url.Error{Op: "Get", URL: "u", Err: errors.New("eof")}), "*url.Error"},
	}
	for _, c := range cases {
		tel := newTelemetry(t)
		ct := atlasotel.NewClientTrace(tel.opts...)
		call := atlas.CallInfo{Operation: "Invoices.Get", Method: http.MethodGet, Route: "/invoices/{id}"}
		ct.CallDone(ct.CallStart(t.Context(), call), atlas.CallDoneInfo{CallInfo: call, Err: c.err})
		assert.Equal(t, c.want, attrs(tel.one(t, "atlas Invoices.Get").Attributes())["error.type"], "%v", c.err)
	}
}

func TestHooksWithoutAStartDoNothing(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	ct := atlasotel.NewClientTrace(tel.opts...)
	ct.CallDone(t.Context(), atlas.CallDoneInfo{})
	ct.AttemptDone(t.Context(), atlas.AttemptDoneInfo{})
	ct.TokenRenewalDone(t.Context(), atlas.TokenRenewalDoneInfo{})
	ct.Wait(t.Context(), atlas.WaitInfo{Reason: atlas.WaitLimiter, Renewal: t.Context()})
	ct.RateLimit(t.Context(), atlas.RateLimit{})
	wt := atlasotel.NewWebhookTrace(tel.opts...)
	wt.EventVerified(t.Context(), "invoice.paid")
	wt.DeliveryDone(t.Context(), atlas.WebhookDeliveryInfo{})
	assert.Empty(t, tel.spans.Ended())
}

func TestHooksNameWebhookSpansOnlyAfterVerifiedKnownEvents(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t)
	wt := atlasotel.NewWebhookTrace(tel.opts...)
	deliver := func(event string, info atlas.WebhookDeliveryInfo) {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://app.example/hooks?token=secret", nil)
		require.NoError(t, err)
		ctx := wt.DeliveryStart(r.Context(), r)
		if event != "" {
			wt.EventVerified(ctx, event)
		}
		wt.DeliveryDone(ctx, info)
	}
	deliver("invoice.paid", atlas.WebhookDeliveryInfo{Event: "invoice.paid", Outcome: atlas.WebhookHandled, StatusCode: 200})
	deliver("invoice.paid", atlas.WebhookDeliveryInfo{Event: "invoice.paid", Outcome: atlas.WebhookDuplicate, StatusCode: 200})
	deliver("", atlas.WebhookDeliveryInfo{Outcome: atlas.WebhookRefused, StatusCode: 401})
	deliver("customer.dreamed_up", atlas.WebhookDeliveryInfo{Event: "customer.dreamed_up", Outcome: atlas.WebhookFailed, StatusCode: 500})

	byName := tel.ended()
	require.Len(t, byName["atlas webhook invoice.paid"], 2)
	require.Len(t, byName["atlas webhook"], 2, "a refused delivery and an unknown event name no event")
	for _, s := range tel.spans.Ended() {
		assert.Equal(t, trace.SpanKindServer, s.SpanKind())
		for _, kv := range s.Attributes() {
			assert.NotContains(t, kv.Value.String(), "secret")
		}
	}
	handled := byName["atlas webhook invoice.paid"][0]
	assert.Equal(t, map[string]any{"http.request.method": "POST", "atlas.webhook.event": "invoice.paid",
		"atlas.webhook.outcome": "handled", "http.response.status_code": int64(200)}, attrs(handled.Attributes()))
	assert.Equal(t, codes.Error, byName["atlas webhook"][1].Status().Code, "a failed delivery")
	assert.Equal(t, map[string]int64{
		"atlas.webhook.event=invoice.paid,atlas.webhook.outcome=handled":   1,
		"atlas.webhook.event=invoice.paid,atlas.webhook.outcome=duplicate": 1,
		"atlas.webhook.outcome=refused":                                    1,
		"atlas.webhook.event=_OTHER,atlas.webhook.outcome=failed":          1,
	}, sumValues(t, tel.metrics(t)["atlas.webhook.deliveries"]))
}

// Past the bound of the attribute sets and span starts a trace keeps
// (4096), the spans and measurements are those of any other call. (The
// SDK's own bound on a metric's attribute sets, 2000, is lifted.)
func TestHooksMeasureAsBeforePastTheCacheBound(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t, sdkmetric.WithCardinalityLimit(0))
	ct := atlasotel.NewClientTrace(tel.opts...)
	const routes = 4100
	attempt := func(route string, status int) {
		call := atlas.CallInfo{Operation: "Do", Method: http.MethodGet, Route: route}
		ctx := ct.CallStart(t.Context(), call)
		actx := ct.AttemptStart(ctx, atlas.AttemptInfo{CallInfo: call, Host: "api.example.com", Port: 443, Header: http.Header{}})
		ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "api.example.com", Port: 443, StatusCode: status})
		ct.CallDone(ctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 1})
	}
	for i := range routes {
		attempt(fmt.Sprintf("/r/%d", i), http.StatusOK)
	}
	attempt("/r/0", http.StatusOK)
	attempt(fmt.Sprintf("/r/%d", routes-1), http.StatusOK)
	attempt(fmt.Sprintf("/r/%d", routes-1), http.StatusInternalServerError)

	counts := histogramCounts(t, tel.metrics(t)["http.client.request.duration"])
	assert.Equal(t, routes+1, len(counts))
	set := func(route string, status int, errType string) string {
		s := "http.request.method=GET,http.response.status_code=" + fmt.Sprint(status) + ",server.address=api.example.com,server.port=443,url.template=" + route
		if errType != "" {
			s = "error.type=" + errType + "," + s
		}
		return s
	}
	assert.Equal(t, uint64(2), counts[set("/r/0", 200, "")])
	assert.Equal(t, uint64(1), counts[set("/r/1", 200, "")])
	assert.Equal(t, uint64(2), counts[set(fmt.Sprintf("/r/%d", routes-1), 200, "")])
	assert.Equal(t, uint64(1), counts[set(fmt.Sprintf("/r/%d", routes-1), 500, "500")])

	last := tel.ended()[fmt.Sprintf("GET /r/%d", routes-1)]
	require.Len(t, last, 3)
	assert.Equal(t, map[string]any{
		"http.request.method": "GET", "url.template": fmt.Sprintf("/r/%d", routes-1), "server.address": "api.example.com", "server.port": int64(443),
		"http.response.status_code": int64(500), "error.type": "500",
	}, attrs(last[2].Attributes()))
	assert.Equal(t, map[string]float64{"atlas.operation=Do": 0}, histogramSums(t, tel.metrics(t)["atlas.client.call.duration"]))
}

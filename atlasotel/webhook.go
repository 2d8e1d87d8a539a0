package atlasotel

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
)

const (
	keyWebhookEvent   = attribute.Key("atlas.webhook.event")
	keyWebhookOutcome = attribute.Key("atlas.webhook.outcome")
)

// otherEvent stands for a verified event the SDK does not know, so that a
// sender's new or odd event names never become span names or metric labels.
const otherEvent = "_OTHER"

type webhookTracer struct {
	tracer     trace.Tracer
	prop       propagation.TextMapPropagator
	deliveries metric.Int64Counter
}

type deliveryKey struct{}

// deliveryState is a delivery's span and its event once verified.
type deliveryState struct {
	span  trace.Span
	event string
}

// NewWebhookTrace returns an atlas.WebhookTrace that makes a SERVER span of
// each delivery to a webhook handler and counts the deliveries, for
// atlas.WithWebhookTrace (which WebhookOption is).
func NewWebhookTrace(opts ...Option) *atlas.WebhookTrace {
	cfg := newConfig(opts)
	deliveries, err := cfg.meter().Int64Counter("atlas.webhook.deliveries",
		metric.WithUnit("{delivery}"), metric.WithDescription("Webhook deliveries, by event and outcome."))
	handle(err)
	t := &webhookTracer{tracer: cfg.tracer(), prop: cfg.propagators, deliveries: deliveries}
	return &atlas.WebhookTrace{
		DeliveryStart: t.deliveryStart,
		EventVerified: t.eventVerified,
		DeliveryDone:  t.deliveryDone,
	}
}

func (t *webhookTracer) deliveryStart(ctx context.Context, r *http.Request) context.Context {
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, "atlas webhook", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method)))
	return context.WithValue(ctx, deliveryKey{}, &deliveryState{span: span})
}

func (t *webhookTracer) eventVerified(ctx context.Context, event string) {
	ds, ok := ctx.Value(deliveryKey{}).(*deliveryState)
	if !ok {
		return
	}
	if !atlas.EventType(event).Known() {
		event = otherEvent
	} else {
		ds.span.SetName("atlas webhook " + event)
	}
	ds.event = event
	ds.span.SetAttributes(keyWebhookEvent.String(event))
}

func (t *webhookTracer) deliveryDone(ctx context.Context, info atlas.WebhookDeliveryInfo) {
	ds, ok := ctx.Value(deliveryKey{}).(*deliveryState)
	if !ok {
		return
	}
	outcome := keyWebhookOutcome.String(string(info.Outcome))
	ds.span.SetAttributes(outcome, semconv.HTTPResponseStatusCode(info.StatusCode))
	if info.StatusCode >= 500 {
		ds.span.SetStatus(codes.Error, string(info.Outcome))
	}
	attrs := []attribute.KeyValue{outcome}
	if ds.event != "" {
		attrs = append(attrs, keyWebhookEvent.String(ds.event))
	}
	t.deliveries.Add(ctx, 1, metric.WithAttributes(attrs...))
	ds.span.End()
}

// Package atlasotel turns the trace hooks of the Atlas SDK (atlas.ClientTrace
// and atlas.WebhookTrace) into OpenTelemetry spans and metrics.
//
// A client built with Instrument traces each call as an INTERNAL span
// ("atlas Invoices.Create"), each attempt under it as a CLIENT span ("POST
// /invoices") with the HTTP client conventions and a W3C traceparent sent to
// Atlas, each wait as an event "atlas.wait" on the call's span, and each token
// login or refresh as a span of its own. A webhook handler built with
// WebhookOption traces each delivery as a SERVER span ("atlas webhook
// invoice.paid"). No span or metric attribute holds a token, password, email,
// webhook secret or query string, and url.full is never set.
//
//	c, err := atlas.NewClient(
//		atlas.WithCredentials(email, password),
//		atlasotel.Instrument(), // the global TracerProvider, MeterProvider and propagators
//	)
//
// Do not also wrap the client's transport with otelhttp: every attempt would
// get two CLIENT spans and Atlas a second traceparent.
package atlasotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter atlasotel
// uses: the module's import path.
const ScopeName = "github.com/atlas-accounting/atlas-go/atlasotel"

// Option configures Instrument and WebhookOption.
type Option func(*config)

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagators    propagation.TextMapPropagator
}

// WithTracerProvider sets the TracerProvider the spans are made with; nil, or
// no WithTracerProvider at all, means the global one (otel.GetTracerProvider)
// at the time Instrument or WebhookOption is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider sets the MeterProvider the metrics are recorded with;
// nil, or none, means the global one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithPropagators sets the propagators that write the trace context into
// each attempt's headers (and read it from a webhook delivery's); nil, or
// none, means the global ones (otel.GetTextMapPropagator).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagators = p }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.propagators == nil {
		c.propagators = otel.GetTextMapPropagator()
	}
	return c
}

func (c config) tracer() trace.Tracer {
	return c.tracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
}

func (c config) meter() metric.Meter {
	return c.meterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
}

// handle reports an error making an instrument to OpenTelemetry's error
// handler (which logs even a nil one).
func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

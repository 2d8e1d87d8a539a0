package atlasotel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
)

// fields is a propagator that sets headers of its own, in any case, more
// of them than the carrier keeps values for in its own array.
type fields struct{}

func (fields) Inject(_ context.Context, c propagation.TextMapCarrier) {
	c.Set("x-one", "1")
	c.Set("X-TWO", "2")
	c.Set("x-three-four", "3")
	c.Set("x-one", "one again")
}
func (fields) Extract(ctx context.Context, _ propagation.TextMapCarrier) context.Context { return ctx }
func (fields) Fields() []string                                                          { return []string{"x-one", "x-two", "x-three-four"} }

// The headers AttemptStart writes are those propagation.HeaderCarrier would
// hold for the same propagators and context: traceparent, tracestate and
// baggage, and the headers of any other propagator.
func TestAttemptHeadersAreWhatHeaderCarrierWrites(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.WithoutCancel(t.Context())) })
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, fields{})
	ct := atlasotel.NewClientTrace(atlasotel.WithTracerProvider(tp), atlasotel.WithPropagators(prop))

	ts, err := trace.ParseTraceState("vendor=value")
	require.NoError(t, err)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	defer parent.End()
	ctx = trace.ContextWithSpanContext(ctx, parent.SpanContext().WithTraceState(ts))
	member, err := baggage.NewMember("tenant", "acme")
	require.NoError(t, err)
	bag, err := baggage.New(member)
	require.NoError(t, err)
	ctx = baggage.ContextWithBaggage(ctx, bag)

	call := atlas.CallInfo{Operation: "Companies.Get", Method: http.MethodGet, Route: "/companies/{id}"}
	cctx := ct.CallStart(ctx, call)
	h := http.Header{}
	actx := ct.AttemptStart(cctx, atlas.AttemptInfo{CallInfo: call, Host: "api.example.com", Port: 443, Header: h})
	defer ct.CallDone(cctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 1})
	defer ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "api.example.com", Port: 443, StatusCode: http.StatusOK})

	want := http.Header{}
	prop.Inject(actx, propagation.HeaderCarrier(want))
	require.Equal(t, want, h)
	require.Len(t, h, 6)
	require.Equal(t, trace.SpanFromContext(actx).SpanContext().SpanID().String(), h.Get("Traceparent")[36:52])
	require.Equal(t, "vendor=value", h.Get("Tracestate"))
	require.Equal(t, "one again", h.Get("X-One"))
}

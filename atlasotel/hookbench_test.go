package atlasotel_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
)

// BenchmarkHooksOfOneCall is what atlasotel's hooks cost a call of one
// attempt, without the call: two spans, a traceparent, four measurements.
// "sdk" runs them on the OpenTelemetry SDK (every span sampled and batched
// to an exporter that drops them; a meter provider with a manual reader);
// "noop" on the API's no-op providers, which is the hooks' own work; the two
// others on the SDK for spans alone or for metrics alone, so that the four
// tell where the time goes.
func BenchmarkHooksOfOneCall(b *testing.B) {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer func() { _ = tp.Shutdown(ctx) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	for _, c := range providerCases(tp, mp) {
		b.Run(c.name, func(b *testing.B) {
			ct := atlasotel.NewClientTrace(atlasotel.WithTracerProvider(c.tp), atlasotel.WithMeterProvider(c.mp),
				atlasotel.WithPropagators(propagation.TraceContext{}))
			call := atlas.CallInfo{Operation: "Companies.Get", Method: http.MethodGet, Route: "/companies/{id}"}
			b.ReportAllocs()
			for range b.N {
				cctx := ct.CallStart(ctx, call)
				h := http.Header{}
				actx := ct.AttemptStart(cctx, atlas.AttemptInfo{CallInfo: call, Host: "127.0.0.1", Port: 8080, Header: h})
				ct.RateLimit(actx, atlas.RateLimit{Limit: 100, Remaining: 50})
				ct.AttemptDone(actx, atlas.AttemptDoneInfo{CallInfo: call, Host: "127.0.0.1", Port: 8080, StatusCode: 200})
				ct.CallDone(cctx, atlas.CallDoneInfo{CallInfo: call, Attempts: 1})
			}
		})
	}
}

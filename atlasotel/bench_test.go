package atlasotel_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkInstrumentedOverhead compares a client instrumented with
// atlasotel, on the OpenTelemetry SDK's real tracer provider (every span
// sampled, batched to an exporter that drops them) and meter provider, with a
// plain client, both getting one company from atlastest over loopback. It
// runs the two in turns, in batches, so that whatever else the machine does
// weighs on both alike, and prints the ratios (instrumented over plain) of
// time and allocations per call:
//
//	go test -run '^$' -bench InstrumentedOverhead -benchmem ./atlasotel/
func BenchmarkInstrumentedOverhead(b *testing.B) {
	srv := atlastest.NewServer(atlastest.WithPlanLimits(1_000_000_000, 1_000_000_000, time.Minute), atlastest.WithRequestLog(0))
	defer srv.Close()
	ctx := context.Background()

	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer func() { _ = tp.Shutdown(ctx) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(ctx) }()

	client := func(opts ...atlas.Option) func() (*atlas.Company, error) {
		c, err := atlas.NewClient(append([]atlas.Option{
			atlas.WithBaseURL(srv.URL),
			atlas.WithHTTPClient(srv.Client()),
			atlas.WithCredentials(srv.Email(), srv.Password()),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		id := srv.CompanyID()
		return func() (*atlas.Company, error) { return c.Companies.Get(ctx, id) }
	}
	gets := []func() (*atlas.Company, error){
		client(atlasotel.Instrument(atlasotel.WithTracerProvider(tp), atlasotel.WithMeterProvider(mp),
			atlasotel.WithPropagators(propagation.TraceContext{}))),
		client(),
	}
	for _, get := range gets { // log in and warm the connections
		if _, err := get(); err != nil {
			b.Fatal(err)
		}
	}

	var elapsed [2]time.Duration
	var allocs [2]uint64
	var ms runtime.MemStats
	const batch = 64
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		for i, get := range gets {
			runtime.ReadMemStats(&ms)
			before, start := ms.Mallocs, time.Now()
			for range batch {
				if _, err := get(); err != nil {
					b.Fatal(err)
				}
			}
			elapsed[i] += time.Since(start)
			runtime.ReadMemStats(&ms)
			allocs[i] += ms.Mallocs - before
		}
	}
	b.StopTimer()
	calls := float64(len(gets) * ((b.N + batch - 1) / batch) * batch / 2)
	b.ReportMetric(float64(elapsed[0])/float64(elapsed[1]), "time-ratio")
	b.ReportMetric(float64(allocs[0])/float64(allocs[1]), "alloc-ratio")
	b.ReportMetric(float64(elapsed[0].Nanoseconds())/calls, "ns/instrumented-call")
	b.ReportMetric(float64(elapsed[1].Nanoseconds())/calls, "ns/plain-call")
	b.ReportMetric(float64(allocs[0])/calls, "allocs/instrumented-call")
	b.ReportMetric(float64(allocs[1])/calls, "allocs/plain-call")
}

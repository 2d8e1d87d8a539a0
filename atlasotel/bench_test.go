package atlasotel_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkInstrumentedOverhead compares a client instrumented with
// atlasotel with a plain client, both getting one company from atlastest
// over loopback (the cheapest call there is, so the worst ratio), and prints
// the ratios (instrumented over plain) of time and allocations per call:
//
//	go test -run '^$' -bench InstrumentedOverhead -benchmem ./atlasotel/
//
// "sdk" is the figure the goal is about: the OpenTelemetry SDK's tracer
// provider (every span sampled, batched to an exporter that drops them) and
// its meter provider. "sdk-spans" and "sdk-metrics" keep the SDK for one
// signal and the API's no-op provider for the other, and "noop" has no-op
// providers for both (atlasotel's and the core's own work), and "nil-hooks"
// a ClientTrace whose hooks are all nil (the core's work), so that they tell
// where the time goes. "sdk-tenth-sampled" samples a tenth of the traces
// (ParentBased(TraceIDRatioBased(0.1))), and "sdk-invoice-page" gets a page of
// 25 invoices, a call with more to it than the cheapest.
//
// The two clients run in rounds of a few calls each, taking turns at going
// first, and time-ratio is the median of the rounds' ratios: a pause of the
// machine or a collection of garbage falls into one round and moves the
// median little, where it would move a ratio of totals.
func BenchmarkInstrumentedOverhead(b *testing.B) {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	defer func() { _ = tp.Shutdown(ctx) }()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	sampled := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))))
	defer func() { _ = sampled.Shutdown(ctx) }()
	for _, c := range append(providerCases(tp, mp), providers{"sdk-tenth-sampled", sampled, mp}) {
		b.Run(c.name, func(b *testing.B) {
			benchmarkOverhead(b, getCompany, atlasotel.Instrument(atlasotel.WithTracerProvider(c.tp), atlasotel.WithMeterProvider(c.mp),
				atlasotel.WithPropagators(propagation.TraceContext{})))
		})
	}
	// The core's part: a ClientTrace whose hooks are all nil.
	b.Run("nil-hooks", func(b *testing.B) { benchmarkOverhead(b, getCompany, atlas.WithClientTrace(&atlas.ClientTrace{})) })
	// A call with more to it: a page of 25 invoices, their lines and money
	// decoded, on the SDK for both signals.
	b.Run("sdk-invoice-page", func(b *testing.B) {
		benchmarkOverhead(b, listInvoices, atlasotel.Instrument(atlasotel.WithTracerProvider(tp), atlasotel.WithMeterProvider(mp),
			atlasotel.WithPropagators(propagation.TraceContext{})))
	})
}

// providers are the tracer and meter providers of a sub-benchmark.
type providers struct {
	name string
	tp   trace.TracerProvider
	mp   metric.MeterProvider
}

// providerCases are the four ways of running atlasotel that the benchmarks
// compare: on the SDK's providers tp and mp, on one of them with the API's
// no-op provider for the other signal, and on no-op providers alone.
func providerCases(tp trace.TracerProvider, mp metric.MeterProvider) []providers {
	return []providers{
		{"sdk", tp, mp},
		{"sdk-spans", tp, metricnoop.NewMeterProvider()},
		{"sdk-metrics", tracenoop.NewTracerProvider(), mp},
		{"noop", tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()},
	}
}

// A call that benchmarkOverhead makes, by a client of srv.
type benchCall func(ctx context.Context, c *atlas.Client, srv *atlastest.Server) error

func getCompany(ctx context.Context, c *atlas.Client, srv *atlastest.Server) error {
	_, err := c.Companies.Get(ctx, srv.CompanyID())
	return err
}

func listInvoices(ctx context.Context, c *atlas.Client, _ *atlastest.Server) error {
	_, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{ListOptions: atlas.ListOptions{PageSize: 25}})
	return err
}

// benchmarkOverhead runs a client with instrument and one without in turns
// making call, and reports the ratios of their time and allocations per
// call.
func benchmarkOverhead(b *testing.B, call benchCall, instrument atlas.Option) {
	srv := atlastest.NewServer(atlastest.WithPlanLimits(1_000_000_000, 1_000_000_000, time.Minute), atlastest.WithRequestLog(0),
		atlastest.WithInvoices(25))
	defer srv.Close()
	ctx := context.Background()
	client := func(opts ...atlas.Option) func() {
		c, err := atlas.NewClient(append([]atlas.Option{
			atlas.WithBaseURL(srv.URL),
			atlas.WithHTTPClient(srv.Client()),
			atlas.WithCredentials(srv.Email(), srv.Password()),
			atlas.WithCompany(srv.CompanyID()),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			if err := call(ctx, c, srv); err != nil {
				b.Fatal(err)
			}
		}
	}
	gets := [2]func(){client(instrument), client()}
	for _, get := range gets { // log in and warm the connection
		get()
	}

	// The allocations first, counted exactly (ReadMemStats stops the world,
	// which would slow the calls after it if it ran between timed rounds).
	const counted = 256
	var allocs [2]float64
	var ms runtime.MemStats
	for i, get := range gets {
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		for range counted {
			get()
		}
		runtime.ReadMemStats(&ms)
		allocs[i] = float64(ms.Mallocs-before) / counted
	}

	const round = 16 // calls of each client in a round
	var elapsed [2]time.Duration
	var ratios []float64
	b.ResetTimer()
	for r := 0; r*round < b.N; r++ {
		var took [2]time.Duration
		for k := range 2 {
			i := (r + k) % 2 // the two take turns at going first
			start := time.Now()
			for range round {
				gets[i]()
			}
			took[i] = time.Since(start)
			elapsed[i] += took[i]
		}
		ratios = append(ratios, float64(took[0])/float64(took[1]))
	}
	b.StopTimer()
	slices.Sort(ratios)
	calls := float64(len(ratios) * round)
	b.ReportMetric(ratios[len(ratios)/2], "time-ratio")
	b.ReportMetric(allocs[0]/allocs[1], "alloc-ratio")
	b.ReportMetric(float64(elapsed[0].Nanoseconds())/calls, "ns/instrumented-call")
	b.ReportMetric(float64(elapsed[1].Nanoseconds())/calls, "ns/plain-call")
	b.ReportMetric(allocs[0], "allocs/instrumented-call")
	b.ReportMetric(allocs[1], "allocs/plain-call")
}

package atlasotel_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/atlas-accounting/atlas-go/atlasotel"
)

// telemetry is an in-memory OpenTelemetry SDK: the spans it ended and the
// metrics it holds.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	opts   []atlasotel.Option
}

// newTelemetry makes a telemetry whose meter provider takes opts besides its
// reader.
func newTelemetry(t *testing.T, opts ...sdkmetric.Option) *telemetry {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(reader)}, opts...)...)
	t.Cleanup(func() {
		_ = tp.Shutdown(context.WithoutCancel(t.Context()))
		_ = mp.Shutdown(context.WithoutCancel(t.Context()))
	})
	return &telemetry{spans: spans, reader: reader, opts: []atlasotel.Option{
		atlasotel.WithTracerProvider(tp),
		atlasotel.WithMeterProvider(mp),
		atlasotel.WithPropagators(propagation.TraceContext{}),
	}}
}

// ended returns the ended spans by name; a name ended more than once keeps
// all of its spans, in the order they ended.
func (tel *telemetry) ended() map[string][]sdktrace.ReadOnlySpan {
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range tel.spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	return byName
}

// one returns the only ended span of the name, failing the test otherwise.
func (tel *telemetry) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := tel.ended()[name]
	require.Len(t, spans, 1, "spans named %q among %v", name, spanNames(tel.spans.Ended()))
	return spans[0]
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name()
	}
	return names
}

// attrs returns a span's (or an event's, or a point's) attributes as a map.
func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// metrics collects the metrics by name.
func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(t.Context(), &rm))
	byName := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			byName[m.Name] = m.Data
		}
	}
	return byName
}

// histogramCounts returns, for each attribute set (rendered by
// attribute.Set.Encoded with the default encoder), how many values a
// histogram recorded.
func histogramCounts(t *testing.T, data metricdata.Aggregation) map[string]uint64 {
	t.Helper()
	h, ok := data.(metricdata.Histogram[float64])
	require.True(t, ok, "a float64 histogram, not %T", data)
	return perSet(h.DataPoints, func(p metricdata.HistogramDataPoint[float64]) (attribute.Set, uint64) { return p.Attributes, p.Count })
}

// histogramSums is as histogramCounts, with the sums of the values.
func histogramSums(t *testing.T, data metricdata.Aggregation) map[string]float64 {
	t.Helper()
	h, ok := data.(metricdata.Histogram[float64])
	require.True(t, ok, "a float64 histogram, not %T", data)
	return perSet(h.DataPoints, func(p metricdata.HistogramDataPoint[float64]) (attribute.Set, float64) { return p.Attributes, p.Sum })
}

// sumValues returns a counter's values by attribute set.
func sumValues(t *testing.T, data metricdata.Aggregation) map[string]int64 {
	t.Helper()
	s, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "an int64 sum, not %T", data)
	return perSet(s.DataPoints, func(p metricdata.DataPoint[int64]) (attribute.Set, int64) { return p.Attributes, p.Value })
}

// gaugeValues returns a gauge's values by attribute set.
func gaugeValues(t *testing.T, data metricdata.Aggregation) map[string]int64 {
	t.Helper()
	g, ok := data.(metricdata.Gauge[int64])
	require.True(t, ok, "an int64 gauge, not %T", data)
	return perSet(g.DataPoints, func(p metricdata.DataPoint[int64]) (attribute.Set, int64) { return p.Attributes, p.Value })
}

// perSet adds up what each point says, by the point's attribute set
// (rendered by attribute.Set.Encoded with the default encoder). A gauge has
// one point per set, so its sum is its value.
func perSet[P any, V uint64 | int64 | float64](points []P, of func(P) (attribute.Set, V)) map[string]V {
	out := map[string]V{}
	for _, p := range points {
		set, v := of(p)
		out[set.Encoded(attribute.DefaultEncoder())] += v
	}
	return out
}

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

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
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
	counts := map[string]uint64{}
	for _, p := range h.DataPoints {
		counts[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Count
	}
	return counts
}

// histogramSums is as histogramCounts, with the sums of the values.
func histogramSums(t *testing.T, data metricdata.Aggregation) map[string]float64 {
	t.Helper()
	h, ok := data.(metricdata.Histogram[float64])
	require.True(t, ok, "a float64 histogram, not %T", data)
	sums := map[string]float64{}
	for _, p := range h.DataPoints {
		sums[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Sum
	}
	return sums
}

// sumValues returns a counter's values by attribute set.
func sumValues(t *testing.T, data metricdata.Aggregation) map[string]int64 {
	t.Helper()
	s, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "an int64 sum, not %T", data)
	values := map[string]int64{}
	for _, p := range s.DataPoints {
		values[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
	}
	return values
}

// gaugeValues returns a gauge's values by attribute set.
func gaugeValues(t *testing.T, data metricdata.Aggregation) map[string]int64 {
	t.Helper()
	g, ok := data.(metricdata.Gauge[int64])
	require.True(t, ok, "an int64 gauge, not %T", data)
	values := map[string]int64{}
	for _, p := range g.DataPoints {
		values[p.Attributes.Encoded(attribute.DefaultEncoder())] = p.Value
	}
	return values
}

package atlasotel

import (
	"slices"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
)

// maxSets bounds the attribute sets a trace keeps; past it, sets are made
// afresh for each measurement.
const maxSets = 4096

// setKey names the attribute set of a measurement: the fields that vary
// between the sets of one trace.
type setKey struct {
	op, company, method, route, host, errType, wait string
	port, status                                    int
}

func attemptKeyOf(info atlas.AttemptDoneInfo, errType string) setKey {
	return setKey{method: info.Method, route: info.Route, host: info.Host, port: info.Port, status: info.StatusCode, errType: errType}
}

// attributeSets keeps the measurement options of the attribute sets seen, so
// that a measurement neither sorts nor allocates its attributes again: the
// names are route templates and statuses, a small number.
type attributeSets struct {
	mu   sync.RWMutex
	opts map[setKey]metric.MeasurementOption
}

// option returns the measurement option for attrs, known by key.
func (s *attributeSets) option(key setKey, attrs []attribute.KeyValue) metric.MeasurementOption {
	s.mu.RLock()
	o, ok := s.opts[key]
	s.mu.RUnlock()
	if ok {
		return o
	}
	o = metric.WithAttributeSet(attribute.NewSet(slices.Clone(attrs)...))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts == nil {
		s.opts = make(map[setKey]metric.MeasurementOption)
	}
	if len(s.opts) < maxSets {
		s.opts[key] = o
	}
	return o
}

// spanStart is what starting a span of one kind takes: its name, its start
// options and its attributes (which no one may change).
type spanStart struct {
	name  string
	opts  []trace.SpanStartOption
	attrs []attribute.KeyValue
}

func newSpanStart(name string, kind trace.SpanKind, attrs []attribute.KeyValue) *spanStart {
	attrs = slices.Clip(attrs)
	return &spanStart{name: name, attrs: attrs, opts: []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithAttributes(attrs...)}}
}

// spanStarts keeps the spanStarts seen, by the fields that make them, so
// that a span's start builds neither its name nor its options again.
type spanStarts struct {
	mu     sync.RWMutex
	starts map[setKey]*spanStart
}

// get returns the spanStart known by key, made by build when unknown.
func (s *spanStarts) get(key setKey, build func() *spanStart) *spanStart {
	s.mu.RLock()
	ss, ok := s.starts[key]
	s.mu.RUnlock()
	if ok {
		return ss
	}
	ss = build()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.starts == nil {
		s.starts = make(map[setKey]*spanStart)
	}
	if len(s.starts) < maxSets {
		s.starts[key] = ss
	}
	return ss
}

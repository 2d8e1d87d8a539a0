package atlasotel

import (
	"slices"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// maxSets bounds the entries a cache of a trace keeps; past it, what a key
// names is made afresh for each use.
const maxSets = 4096

// cache keeps what keys of one kind name (span starts, measurement options),
// made once by a function of the key alone, so that the hooks neither build
// nor sort attributes again: the keys are operations, route templates and
// statuses, a small number.
type cache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// get returns what key names, made by build(key) when unknown.
func (c *cache[K, V]) get(key K, build func(K) V) V {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if len(c.m) < maxSets {
		c.m[key] = v
	}
	return v
}

// measure is the option of the measurements of one attribute set, as the
// slices Record and Add take, so that passing it allocates nothing.
type measure struct {
	record []metric.RecordOption
	add    []metric.AddOption
}

// newMeasure makes the measure of attrs, which it sorts and keeps.
func newMeasure(attrs ...attribute.KeyValue) *measure {
	o := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return &measure{record: []metric.RecordOption{o}, add: []metric.AddOption{o}}
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

// The keys of the caches of a client trace.
type (
	// callSpanKey names the start of a call's span.
	callSpanKey struct{ op, company string }
	// attemptSpanKey names the start of an attempt's span.
	attemptSpanKey struct {
		method, route, host string
		port                int
	}
	// callMeasureKey names the attributes of a call's duration: its
	// operation and its error.type ("" on success).
	callMeasureKey struct{ op, errType string }
	// attemptMeasureKey names the attributes of an attempt's duration: its
	// span's start attributes, less the resend count, with its status (0 for
	// none) and its error.type ("" for none).
	attemptMeasureKey struct {
		start   *spanStart
		status  int
		errType string
	}
	// pairKey names a set of one or two attributes of constant keys, such as
	// a wait's reason or a renewal's kind and outcome.
	pairKey struct{ a, b string }
)

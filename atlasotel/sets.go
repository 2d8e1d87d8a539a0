package atlasotel

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	atlas "github.com/atlas-accounting/atlas-go"
)

// maxSets bounds the attribute sets a trace keeps; past it, sets are made
// afresh for each measurement.
const maxSets = 4096

// setKey names the attribute set of a measurement: the fields that vary
// between the sets of one trace.
type setKey struct {
	op, method, route, host, errType, wait string
	port, status                           int
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

// option returns the measurement option for attrs, known by key. It may
// sort attrs.
func (s *attributeSets) option(key setKey, attrs []attribute.KeyValue) metric.MeasurementOption {
	s.mu.RLock()
	o, ok := s.opts[key]
	s.mu.RUnlock()
	if ok {
		return o
	}
	o = metric.WithAttributeSet(attribute.NewSet(attrs...))
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

package atlasotel

import (
	"net/http"

	"go.opentelemetry.io/otel/propagation"
)

// headerCarrier is the propagation.TextMapCarrier that writes the trace
// context into an attempt's headers (AttemptInfo.Header), as
// propagation.HeaderCarrier does, but without allocating for what the usual
// propagators set: the canonical names of their headers are constants, and
// the first values go into the carrier's own array. It lives in the
// attempt's state, which is allocated anyway.
type headerCarrier struct {
	h    http.Header
	vals [2]string
	n    int
}

var _ propagation.TextMapCarrier = (*headerCarrier)(nil)

// Set sets the header key to value alone, as http.Header.Set does.
func (c *headerCarrier) Set(key, value string) {
	key = canonicalKey(key)
	if c.n < len(c.vals) {
		c.vals[c.n] = value
		c.h[key] = c.vals[c.n : c.n+1 : c.n+1]
		c.n++
		return
	}
	c.h[key] = []string{value}
}

// Get returns the first value of the header key.
func (c *headerCarrier) Get(key string) string { return c.h.Get(key) }

// Keys returns the names of the headers.
func (c *headerCarrier) Keys() []string { return propagation.HeaderCarrier(c.h).Keys() }

// canonicalKey is http.CanonicalHeaderKey(key), without allocating for the
// headers of the W3C trace context and baggage.
func canonicalKey(key string) string {
	switch key {
	case "traceparent", "Traceparent":
		return "Traceparent"
	case "tracestate", "Tracestate":
		return "Tracestate"
	case "baggage", "Baggage":
		return "Baggage"
	}
	return http.CanonicalHeaderKey(key)
}

package atlasotel

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
)

// The attribute keys of our own, beside the semantic conventions'.
const (
	keyOperation   = attribute.Key("atlas.operation")
	keyAttempts    = attribute.Key("atlas.attempts")
	keyCompany     = attribute.Key("atlas.company_id")
	keyWaitReason  = attribute.Key("atlas.wait.reason")
	keyWaitSeconds = attribute.Key("atlas.wait.duration")
	keyTokenKind   = attribute.Key("atlas.token.kind")
	keyOutcome     = attribute.Key("atlas.outcome")
	keyRetryReason = attribute.Key("atlas.retry.reason")
)

// The outcomes of a token renewal, as atlas.outcome.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// The reasons of a retry, as atlas.retry.reason.
const (
	retryRateLimited     = "rate_limited"
	retryServerError     = "server_error"
	retryConnectionError = "connection_error"
	retryTimeout         = "timeout"
)

// durationBuckets are the bucket boundaries, in seconds, that the HTTP
// semantic conventions advise for http.client.request.duration; the calls'
// and the waits' histograms go further, since a wait for the rate limit may
// last a minute.
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	longBuckets     = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// instruments are the metrics of a client trace.
type instruments struct {
	requestDuration metric.Float64Histogram
	callDuration    metric.Float64Histogram
	waitDuration    metric.Float64Histogram
	remaining       metric.Int64Gauge
	renewals        metric.Int64Counter
	retries         metric.Int64Counter
}

func newInstruments(m metric.Meter) *instruments {
	var ins instruments
	var err error
	ins.requestDuration, err = m.Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of each HTTP request the Atlas client sends, its retries each on its own."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	handle(err)
	ins.callDuration, err = m.Float64Histogram("atlas.client.call.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of each Atlas SDK call, its attempts and waits included."),
		metric.WithExplicitBucketBoundaries(longBuckets...))
	handle(err)
	ins.waitDuration, err = m.Float64Histogram("atlas.client.wait.duration",
		metric.WithUnit("s"), metric.WithDescription("Time an Atlas SDK call waited, by reason."),
		metric.WithExplicitBucketBoundaries(longBuckets...))
	handle(err)
	ins.remaining, err = m.Int64Gauge("atlas.client.rate_limit.remaining",
		metric.WithUnit("{request}"), metric.WithDescription("Requests left in the rate-limit window, as the last answer's X-RateLimit-Remaining said."))
	handle(err)
	ins.renewals, err = m.Int64Counter("atlas.client.token.renewals",
		metric.WithUnit("{renewal}"), metric.WithDescription("Token logins and refreshes, by kind and outcome."))
	handle(err)
	ins.retries, err = m.Int64Counter("atlas.client.retries",
		metric.WithUnit("{retry}"), metric.WithDescription("Attempts sent again after a failed one, by reason."))
	handle(err)
	return &ins
}

// clientTracer holds what the hooks of one ClientTrace share.
type clientTracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	ins    *instruments

	callStarts      cache[callSpanKey, *spanStart]
	attemptStarts   cache[attemptSpanKey, *spanStart]
	callMeasures    cache[callMeasureKey, *measure]
	attemptMeasures cache[attemptMeasureKey, *measure]
	waitMeasures    cache[string, *measure]
	retryMeasures   cache[string, *measure]
	renewalMeasures cache[pairKey, *measure]
}

// The makers of what the caches of a clientTracer keep, each from its key.

func newCallStart(k callSpanKey) *spanStart {
	attrs := []attribute.KeyValue{keyOperation.String(k.op)}
	if k.company != "" {
		attrs = append(attrs, keyCompany.String(k.company))
	}
	return newSpanStart("atlas "+k.op, trace.SpanKindInternal, attrs)
}

func newAttemptStart(k attemptSpanKey) *spanStart {
	name := k.method
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(k.method))
	if k.route != "" {
		name += " " + k.route
		attrs = append(attrs, semconv.URLTemplate(k.route))
	}
	attrs = append(attrs, semconv.ServerAddress(k.host), semconv.ServerPort(k.port))
	return newSpanStart(name, trace.SpanKindClient, attrs)
}

func newCallMeasure(k callMeasureKey) *measure {
	if k.errType == "" {
		return newMeasure(keyOperation.String(k.op))
	}
	return newMeasure(keyOperation.String(k.op), semconv.ErrorTypeKey.String(k.errType))
}

func newAttemptMeasure(k attemptMeasureKey) *measure {
	attrs := make([]attribute.KeyValue, len(k.start.attrs), len(k.start.attrs)+2)
	copy(attrs, k.start.attrs)
	if k.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
	}
	if k.errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(k.errType))
	}
	return newMeasure(attrs...)
}

func newWaitMeasure(reason string) *measure { return newMeasure(keyWaitReason.String(reason)) }

func newRetryMeasure(reason string) *measure { return newMeasure(keyRetryReason.String(reason)) }

func newRenewalMeasure(k pairKey) *measure {
	return newMeasure(keyTokenKind.String(k.a), keyOutcome.String(k.b))
}

// NewClientTrace returns an atlas.ClientTrace that makes OpenTelemetry spans
// and metrics of a client's calls, for atlas.WithClientTrace (which
// Instrument is) or for the calls made with one context
// (atlas.ContextWithClientTrace).
func NewClientTrace(opts ...Option) *atlas.ClientTrace {
	cfg := newConfig(opts)
	t := &clientTracer{tracer: cfg.tracer(), prop: cfg.propagators, ins: newInstruments(cfg.meter())}
	return &atlas.ClientTrace{
		CallStart:         t.callStart,
		CallDone:          t.callDone,
		AttemptStart:      t.attemptStart,
		AttemptDone:       t.attemptDone,
		Wait:              t.wait,
		TokenRenewalStart: t.renewalStart,
		TokenRenewalDone:  t.renewalDone,
		RateLimit:         t.rateLimit,
	}
}

// The context keys of a call's, an attempt's and a renewal's state.
type (
	callKey    struct{}
	attemptKey struct{}
	renewalKey struct{}
)

// callState is a call's span and what its attempts learn for the next one.
type callState struct {
	span trace.Span
	// own is false for a renewal's own request, whose attempts go under the
	// renewal's span and which has no span of its own.
	own bool
	// retryReason is why the last attempt failed, for the retry that may
	// follow; "" when it did not fail in a way that is retried.
	retryReason string
	// buf holds the attributes the span gets at its end.
	buf [2]attribute.KeyValue
}

// attemptState is an attempt's span, when it began, and how its span
// started (whose attributes are the first of its metric's).
type attemptState struct {
	span  trace.Span
	began time.Time
	start *spanStart
	// carrier writes the attempt's trace context into its headers.
	carrier headerCarrier
	// buf holds the attributes the span gets at its end.
	buf [2]attribute.KeyValue
}

// renewalState is a token renewal's span.
type renewalState struct {
	span trace.Span
	kind atlas.TokenRenewalKind
	// starter is the span of the call that started the renewal, which needs
	// no link to its own child.
	starter trace.SpanID
	// request tells that the renewal's own request has begun; a call made
	// later with the renewal's context is a call of its own.
	request bool
}

func (t *clientTracer) callStart(ctx context.Context, info atlas.CallInfo) context.Context {
	if rs, ok := ctx.Value(renewalKey{}).(*renewalState); ok && !rs.request && isRenewalOperation(info.Operation) {
		rs.request = true
		return context.WithValue(ctx, callKey{}, &callState{span: rs.span})
	}
	ss := t.callStarts.get(callSpanKey{op: info.Operation, company: info.Company}, newCallStart)
	ctx, span := t.tracer.Start(ctx, ss.name, ss.opts...)
	return &stateCtx[callKey, callState]{Context: ctx, state: callState{span: span, own: true}}
}

// stateCtx is a call's or an attempt's context, which carries its state S
// (allocated with the context) under the key type K.
type stateCtx[K, S any] struct {
	context.Context
	state S
}

// Value returns the state for a key of type K, else what the context holds.
func (c *stateCtx[K, S]) Value(key any) any {
	if _, ok := key.(K); ok {
		return &c.state
	}
	return c.Context.Value(key)
}

// callOf returns the state of the call ctx belongs to, or nil.
func callOf(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

func isRenewalOperation(op string) bool { return op == "Auth.Login" || op == "Auth.Refresh" }

func (t *clientTracer) callDone(ctx context.Context, info atlas.CallDoneInfo) {
	cs := callOf(ctx)
	if cs == nil || !cs.own {
		return
	}
	attrs := append(cs.buf[:0], keyAttempts.Int(info.Attempts))
	var et string
	if info.Err != nil {
		et = errorType(info.Err)
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		cs.span.SetStatus(codes.Error, et)
	}
	cs.span.SetAttributes(attrs...)
	m := t.callMeasures.get(callMeasureKey{op: info.Operation, errType: et}, newCallMeasure)
	t.ins.callDuration.Record(ctx, info.Duration.Seconds(), m.record...)
	cs.span.End()
}

func (t *clientTracer) attemptStart(ctx context.Context, info atlas.AttemptInfo) context.Context {
	ss := t.attemptStarts.get(attemptSpanKey{method: info.Method, route: info.Route, host: info.Host, port: info.Port}, newAttemptStart)
	opts := ss.opts
	if info.Resend > 0 {
		opts = append(slices.Clip(opts), trace.WithAttributes(semconv.HTTPRequestResendCount(info.Resend)))
		if cs := callOf(ctx); cs != nil && cs.retryReason != "" {
			t.ins.retries.Add(ctx, 1, t.retryMeasures.get(cs.retryReason, newRetryMeasure).add...)
		}
	}
	ctx, span := t.tracer.Start(ctx, ss.name, opts...)
	ac := &stateCtx[attemptKey, attemptState]{Context: ctx, state: attemptState{span: span, start: ss}}
	if info.Header != nil {
		ac.state.carrier.h = info.Header
		t.prop.Inject(ctx, &ac.state.carrier)
	}
	ac.state.began = time.Now()
	return ac
}

func (t *clientTracer) attemptDone(ctx context.Context, info atlas.AttemptDoneInfo) {
	as, ok := ctx.Value(attemptKey{}).(*attemptState)
	if !ok {
		return
	}
	elapsed := time.Since(as.began)
	attrs := as.buf[:0]
	if info.StatusCode > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(info.StatusCode))
	}
	var et string
	switch {
	case info.Err != nil:
		et = errorType(info.Err)
	case info.StatusCode >= 400:
		et = strconv.Itoa(info.StatusCode)
	}
	if et != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		as.span.SetStatus(codes.Error, et)
	}
	if cs := callOf(ctx); cs != nil {
		cs.retryReason = retryReason(info.StatusCode, info.Err)
	}
	as.span.SetAttributes(attrs...)
	as.span.End()
	// The start identifies the method, route, host and port of the attempt
	// (and is the same for every attempt with them while the cache of starts
	// has room).
	m := t.attemptMeasures.get(attemptMeasureKey{start: as.start, status: info.StatusCode, errType: et}, newAttemptMeasure)
	t.ins.requestDuration.Record(ctx, elapsed.Seconds(), m.record...)
}

// retryReason says why an attempt that ended so would be retried, or "".
func retryReason(status int, err error) string {
	switch {
	case err != nil:
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return retryTimeout
		}
		if errors.Is(err, context.Canceled) {
			return ""
		}
		return retryConnectionError
	case status == http.StatusTooManyRequests:
		return retryRateLimited
	case status >= 500:
		return retryServerError
	}
	return ""
}

func (t *clientTracer) wait(ctx context.Context, info atlas.WaitInfo) {
	t.ins.waitDuration.Record(ctx, info.Duration.Seconds(), t.waitMeasures.get(string(info.Reason), newWaitMeasure).record...)
	reason := keyWaitReason.String(string(info.Reason))
	span := trace.SpanFromContext(ctx)
	if cs := callOf(ctx); cs != nil {
		span = cs.span
	}
	if !span.IsRecording() {
		return
	}
	span.AddEvent("atlas.wait", trace.WithAttributes(reason, keyWaitSeconds.Float64(info.Duration.Seconds())))
	if info.Renewal == nil {
		return
	}
	renewal := trace.SpanContextFromContext(info.Renewal)
	if rs, ok := info.Renewal.Value(renewalKey{}).(*renewalState); ok {
		renewal = rs.span.SpanContext()
		if rs.starter == span.SpanContext().SpanID() {
			return
		}
	}
	if renewal.IsValid() && renewal.SpanID() != span.SpanContext().SpanID() {
		span.AddLink(trace.Link{SpanContext: renewal, Attributes: []attribute.KeyValue{reason}})
	}
}

func (t *clientTracer) renewalStart(ctx context.Context, info atlas.TokenRenewalInfo) context.Context {
	starter := trace.SpanFromContext(ctx).SpanContext().SpanID()
	if cs := callOf(ctx); cs != nil {
		starter = cs.span.SpanContext().SpanID()
	}
	ctx, span := t.tracer.Start(ctx, "atlas token "+string(info.Kind),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(keyTokenKind.String(string(info.Kind))))
	// The renewal's own request is a call of its own in the pipeline: it must
	// not take the starting call's state for its own.
	ctx = context.WithValue(ctx, callKey{}, (*callState)(nil))
	return context.WithValue(ctx, renewalKey{}, &renewalState{span: span, kind: info.Kind, starter: starter})
}

func (t *clientTracer) renewalDone(ctx context.Context, info atlas.TokenRenewalDoneInfo) {
	rs, ok := ctx.Value(renewalKey{}).(*renewalState)
	if !ok {
		return
	}
	if info.Err != nil {
		et := errorType(info.Err)
		rs.span.SetAttributes(semconv.ErrorTypeKey.String(et), keyOutcome.String(outcomeFailure))
		rs.span.SetStatus(codes.Error, et)
		t.ins.renewals.Add(ctx, 1, t.renewalMeasures.get(pairKey{string(info.Kind), outcomeFailure}, newRenewalMeasure).add...)
	} else {
		rs.span.SetAttributes(keyOutcome.String(outcomeSuccess))
		t.ins.renewals.Add(ctx, 1, t.renewalMeasures.get(pairKey{string(info.Kind), outcomeSuccess}, newRenewalMeasure).add...)
	}
	rs.span.End()
}

func (t *clientTracer) rateLimit(ctx context.Context, info atlas.RateLimit) {
	t.ins.remaining.Record(ctx, int64(info.Remaining))
}

package atlas

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClientTrace is a set of hooks that see a client's calls from the inside:
// each call, each attempt it sends, each wait and why, each token renewal,
// and what every answer said of the rate limit. It is in the style of
// net/http/httptrace.ClientTrace, for tracing and metrics (package
// atlasotel builds OpenTelemetry spans and metrics on it) or for a log of
// one's own. Set one for every call of a client with WithClientTrace, or for
// the calls made with one context with ContextWithClientTrace; both run when
// both are set, the context's first.
//
// Every field is optional. The hooks that take a context return one: the
// context the later hooks of the same call (or attempt, or renewal) get, so
// that a hook can carry its own state, such as a span, from start to end.
// Returning the given context is always right. Hooks run on the call's
// goroutine, or on the goroutine of a token renewal that the call started,
// and must not block: the call waits for them.
//
// No hook sees a secret: no token, password, Authorization header, request
// or answer body, webhook secret, or query string.
type ClientTrace struct {
	// CallStart is called when a call begins, before anything is sent.
	CallStart func(ctx context.Context, info CallInfo) context.Context
	// CallDone is called when the call ends, with the context CallStart
	// returned.
	CallDone func(ctx context.Context, info CallDoneInfo)

	// AttemptStart is called before each attempt is sent (the first and
	// every retry or replay), with the call's context; the context it
	// returns goes to AttemptDone and is the attempt request's context.
	// info.Header may be given headers to send with the attempt (for
	// trace propagation); the client's own headers win.
	AttemptStart func(ctx context.Context, info AttemptInfo) context.Context
	// AttemptDone is called when the attempt's answer has come (or its
	// error), with the context AttemptStart returned.
	AttemptDone func(ctx context.Context, info AttemptDoneInfo)

	// Wait is called after each wait of a call, with the call's context,
	// the reason and the time actually waited, also when the wait ended
	// early (ctx ended). A wait for the built-in pacer is reported when the
	// pacer held the attempt back; every Wait of a custom Limiter is
	// reported, however short.
	Wait func(ctx context.Context, info WaitInfo)

	// TokenRenewalStart is called when a login or refresh starts, with the
	// context of the call that started it; the context it returns is the
	// renewal's own (its requests' attempts are traced under it) and goes
	// to TokenRenewalDone. A renewal may outlive the call that started it.
	TokenRenewalStart func(ctx context.Context, info TokenRenewalInfo) context.Context
	// TokenRenewalDone is called when the renewal ends.
	TokenRenewalDone func(ctx context.Context, info TokenRenewalDoneInfo)

	// RateLimit is called with what an answer's X-RateLimit-* headers
	// said, with the attempt's context.
	RateLimit func(ctx context.Context, info RateLimit)
}

// CallInfo describes a call, for ClientTrace.CallStart.
type CallInfo struct {
	// Operation names the SDK method, such as "Invoices.Create"; "Do" for
	// Client.Do, "Auth.Login" and "Auth.Refresh" for a token renewal's own
	// request.
	Operation string
	// Method is the HTTP method.
	Method string
	// Route is the route template below the base URL, such as
	// "/invoices/{id}": never an id. For Client.Do it is Request.Route, and
	// empty when the caller set none.
	Route string
	// Company is the company_id the call carries, or "".
	Company string
}

// CallDoneInfo describes a call's end, for ClientTrace.CallDone.
type CallDoneInfo struct {
	CallInfo
	// Err is the call's error, nil on success.
	Err error
	// Attempts is the number of attempts sent, replays and retries
	// included; 0 when the call failed before sending any.
	Attempts int
	// Duration is the call's whole time, its waits included.
	Duration time.Duration
}

// AttemptInfo describes an attempt, for ClientTrace.AttemptStart.
type AttemptInfo struct {
	CallInfo
	// Host and Port are the API's host name and port.
	Host string
	Port int
	// Resend counts the attempts of the call before this one: 0 for the
	// first, 1 for the first retry or replay.
	Resend int
	// Header receives headers for the attempt's request: a fresh map the
	// hook may fill (with a traceparent, say). Headers the client sets
	// itself (Authorization, Idempotency-Key, Content-Type, Accept,
	// User-Agent) are not taken from it.
	Header http.Header
}

// AttemptDoneInfo describes an attempt's end, for ClientTrace.AttemptDone.
type AttemptDoneInfo struct {
	CallInfo
	// Host and Port are the API's host name and port.
	Host string
	Port int
	// Resend is as in AttemptInfo.
	Resend int
	// StatusCode is the answer's status, 0 when none came.
	StatusCode int
	// Err is the attempt's error (a connection error, a timeout, a body
	// cut short), nil when an answer came whole, whatever its status.
	Err error
}

// WaitReason says why a call waited.
type WaitReason string

// The reasons a call waits.
const (
	// WaitBackoff is the pause between attempts after an error or a 5xx.
	WaitBackoff WaitReason = "backoff"
	// WaitRetryAfter is a pause the server asked for: a 429's or a 503's
	// Retry-After, or a window's reset.
	WaitRetryAfter WaitReason = "retry_after"
	// WaitRateLimit is the built-in pacer holding an attempt within the
	// rate-limit budget.
	WaitRateLimit WaitReason = "rate_limit"
	// WaitLimiter is a custom Limiter's Wait (see WithLimiter).
	WaitLimiter WaitReason = "limiter"
	// WaitTokenRenewal is waiting for a login or refresh in flight.
	WaitTokenRenewal WaitReason = "token_renewal"
)

// WaitInfo describes a wait, for ClientTrace.Wait.
type WaitInfo struct {
	// Reason says what the call waited for.
	Reason WaitReason
	// Duration is the time actually waited.
	Duration time.Duration
	// Renewal is, for WaitTokenRenewal, the context that
	// TokenRenewalStart returned for the renewal waited for (so that a
	// tracer can link to it), which may be one the call started itself;
	// nil otherwise, and when the renewal was not traced.
	Renewal context.Context
}

// TokenRenewalKind says which renewal a client makes.
type TokenRenewalKind string

// The kinds of token renewal.
const (
	TokenLogin   TokenRenewalKind = "login"
	TokenRefresh TokenRenewalKind = "refresh"
)

// TokenRenewalInfo describes a renewal, for ClientTrace.TokenRenewalStart.
type TokenRenewalInfo struct {
	// Kind is TokenLogin or TokenRefresh.
	Kind TokenRenewalKind
}

// TokenRenewalDoneInfo describes a renewal's end, for
// ClientTrace.TokenRenewalDone.
type TokenRenewalDoneInfo struct {
	// Kind is TokenLogin or TokenRefresh.
	Kind TokenRenewalKind
	// Err is the renewal's error, nil when new tokens came.
	Err error
}

// WebhookTrace is a set of hooks that see a webhook handler's deliveries,
// set with WithWebhookTrace. Every field is optional; the hooks run on the
// handler's goroutine and must not block. No hook sees the body, the
// signature or a secret.
type WebhookTrace struct {
	// DeliveryStart is called when a delivery comes in, with the request's
	// context and a copy of the request without its body, its signature
	// header or its query; the context it returns goes to the later hooks
	// of the delivery (and to the handler's callback).
	DeliveryStart func(ctx context.Context, r *http.Request) context.Context
	// EventVerified is called once the signature is verified and the event
	// parsed, with the event's name (such as "invoice.paid").
	EventVerified func(ctx context.Context, event string)
	// DeliveryDone is called when the handler has answered.
	DeliveryDone func(ctx context.Context, info WebhookDeliveryInfo)
}

// WebhookOutcome says how a webhook handler answered a delivery.
type WebhookOutcome string

// The outcomes of a delivery.
const (
	// WebhookHandled: the callback ran and succeeded (2xx).
	WebhookHandled WebhookOutcome = "handled"
	// WebhookDuplicate: the event was handled before; the callback did not
	// run (2xx).
	WebhookDuplicate WebhookOutcome = "duplicate"
	// WebhookInFlight: the same event is being handled now; the sender is
	// asked to come back.
	WebhookInFlight WebhookOutcome = "in_flight"
	// WebhookRefused: a bad signature, a bad body, too large, too slow.
	WebhookRefused WebhookOutcome = "refused"
	// WebhookFailed: the callback returned an error or panicked (5xx), so
	// that Atlas retries.
	WebhookFailed WebhookOutcome = "failed"
)

// WebhookDeliveryInfo describes a delivery's end, for
// WebhookTrace.DeliveryDone.
type WebhookDeliveryInfo struct {
	// Event is the event's name once verified, "" before.
	Event string
	// Outcome says how the handler answered.
	Outcome WebhookOutcome
	// StatusCode is the status the handler answered with.
	StatusCode int
}

// WithClientTrace sets hooks that see every call the client makes (and the
// copies ForCompany makes of it); nil sets none. A ClientTrace set on a
// call's context too (ContextWithClientTrace) runs first.
func WithClientTrace(t *ClientTrace) Option {
	return func(s *settings) error {
		s.trace = t
		return nil
	}
}

type clientTraceKey struct{}

// ContextWithClientTrace returns a copy of ctx that carries t: the calls
// made with it are traced by t, before the client's own ClientTrace (see
// WithClientTrace). A nil t returns ctx as it is; a nil ctx is taken for
// context.Background.
func ContextWithClientTrace(ctx context.Context, t *ClientTrace) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, clientTraceKey{}, t)
}

// WithWebhookTrace sets hooks that see the handler's deliveries; nil sets
// none.
func WithWebhookTrace(t *WebhookTrace) WebhookOption {
	return func(h *webhookHandler) error {
		h.trace = t
		return nil
	}
}

// The helpers below call the hooks, each with its nil checks, so that the
// pipeline calls one of them where a hook sees something, and an untraced
// call costs a nil check.

// tracers are the ClientTraces of one call: its context's, then its
// client's. Either may be nil.
type tracers struct{ ctx, client *ClientTrace }

// tracersFor returns the ClientTraces of a call made with ctx.
func (co *core) tracersFor(ctx context.Context) tracers {
	t, _ := ctx.Value(clientTraceKey{}).(*ClientTrace)
	if t == co.trace {
		t = nil // set both ways: it runs once
	}
	return tracers{ctx: t, client: co.trace}
}

func (t tracers) on() bool { return t.ctx != nil || t.client != nil }

func (t tracers) each(fn func(*ClientTrace)) {
	if t.ctx != nil {
		fn(t.ctx)
	}
	if t.client != nil {
		fn(t.client)
	}
}

// next is the context a hook returned: ctx when it returned none.
func next(ctx, returned context.Context) context.Context {
	if returned == nil {
		return ctx
	}
	return returned
}

func (t tracers) callStart(ctx context.Context, info CallInfo) context.Context {
	t.each(func(ct *ClientTrace) {
		if ct.CallStart != nil {
			ctx = next(ctx, ct.CallStart(ctx, info))
		}
	})
	return ctx
}

func (t tracers) attemptStart(ctx context.Context, info AttemptInfo) context.Context {
	t.each(func(ct *ClientTrace) {
		if ct.AttemptStart != nil {
			ctx = next(ctx, ct.AttemptStart(ctx, info))
		}
	})
	return ctx
}

func (t tracers) renewalStart(ctx context.Context, info TokenRenewalInfo) context.Context {
	t.each(func(ct *ClientTrace) {
		if ct.TokenRenewalStart != nil {
			ctx = next(ctx, ct.TokenRenewalStart(ctx, info))
		}
	})
	return ctx
}

func (t tracers) wait(ctx context.Context, info WaitInfo) {
	t.each(func(ct *ClientTrace) {
		if ct.Wait != nil {
			ct.Wait(ctx, info)
		}
	})
}

// traceNow is the client's clock, which times the hooks' durations.
func (co *core) traceNow() time.Time { return co.clock.Now() }

// callTrace is a traced call: its hooks, what CallStart was told, and the
// context it returned.
type callTrace struct {
	tr    tracers
	info  CallInfo
	ctx   context.Context
	host  string
	port  int
	st    *callState // set by newCall
	start time.Time
}

// traced is do for a call that has a ClientTrace: it runs the call between
// CallStart and CallDone. The call's state embeds the context CallStart
// returned, so that every later hook of the call (and a token renewal it
// starts) gets a context derived from it.
func (c *Client) traced(ctx context.Context, tr tracers, req Request, cfg requestConfig, out any) error {
	ct := &callTrace{tr: tr, info: CallInfo{Operation: req.operation(), Method: req.Method, Route: req.Route, Company: c.companyOf(&req)}}
	ct.host, ct.port = c.core.hostPort()
	ct.start = c.core.traceNow()
	ct.ctx = tr.callStart(ctx, ct.info)
	cfg.trace = ct
	err := c.run(ct.ctx, req, cfg, out)
	done := CallDoneInfo{CallInfo: ct.info, Err: err, Duration: c.core.traceNow().Sub(ct.start)}
	if ct.st != nil {
		done.Attempts = ct.st.attempts
	}
	tr.each(func(t *ClientTrace) {
		if t.CallDone != nil {
			t.CallDone(ct.ctx, done)
		}
	})
	return err
}

// operation is the name of the SDK method that sends r: "Do" for a
// Request of Client.Do's.
func (r *Request) operation() string {
	if r.op == "" {
		return "Do"
	}
	return r.op
}

// companyOf is the company_id the call carries, or "".
func (c *Client) companyOf(r *Request) string {
	if r.Company != CompanyNone {
		return c.company
	}
	return r.Query.Get("company_id")
}

// hostPort returns the API's host name and port.
func (co *core) hostPort() (string, int) {
	port, err := strconv.Atoi(originPort(co.base))
	if err != nil {
		port = 0
	}
	return co.base.Hostname(), port
}

// reservedHeaders are the headers the client sets itself, which a trace's
// AttemptStart cannot set.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Idempotency-Key": true, "Content-Type": true, "Accept": true, "User-Agent": true,
	"Host": true, "Content-Length": true, "Cookie": true,
}

// attemptStart calls AttemptStart for the attempt about to send out (r is
// the request go-retryablehttp handed the transport, out the copy that
// carries the Authorization header, or r itself), and returns the request
// to send: with the attempt's context and the headers the hooks added that
// the request does not have already. r itself is never modified: it is
// every attempt's.
func (ct *callTrace) attemptStart(ctx context.Context, r, out *http.Request, resend int) (*http.Request, context.Context) {
	h := http.Header{}
	actx := ct.tr.attemptStart(ctx, AttemptInfo{CallInfo: ct.info, Host: ct.host, Port: ct.port, Resend: resend, Header: h})
	add := false
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if _, ok := out.Header[ck]; ok || reservedHeaders[ck] || !validHeaderName(ck) || len(vs) == 0 {
			delete(h, k)
			continue
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				delete(h, k)
				break
			}
		}
		add = add || h[k] != nil
	}
	if !add && actx == ctx {
		return out, actx
	}
	if add {
		if out == r {
			cp := *r
			cp.Header = r.Header.Clone()
			out = &cp
		}
		for k, vs := range h {
			out.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if actx != ctx {
		out = out.WithContext(actx)
	}
	return out, actx
}

// attemptDone calls AttemptDone and, when the answer had X-RateLimit-*
// headers, RateLimit.
func (ct *callTrace) attemptDone(actx context.Context, st *callState, resend int, resp *http.Response, err error) {
	info := AttemptDoneInfo{CallInfo: ct.info, Host: ct.host, Port: ct.port, Resend: resend, Err: err}
	if resp != nil {
		info.StatusCode = resp.StatusCode
		if info.Err == nil {
			info.Err = st.cut(resp)
		}
	}
	rl := st.ans.raw
	ct.tr.each(func(t *ClientTrace) {
		if t.AttemptDone != nil {
			t.AttemptDone(actx, info)
		}
		if t.RateLimit != nil && resp != nil && rl != (RateLimit{}) {
			t.RateLimit(actx, rl)
		}
	})
}

// waitStart is when a wait of the call begins, for waited; zero when the
// call is not traced.
func (st *callState) waitStart(co *core) time.Time {
	if st == nil || st.trace == nil {
		return time.Time{}
	}
	return co.traceNow()
}

// waited calls Wait for a wait that began at from (waitStart), with the
// context CallStart returned; info's Duration is the time since from.
func (st *callState) waited(co *core, from time.Time, info WaitInfo) {
	if st == nil || st.trace == nil || from.IsZero() {
		return
	}
	info.Duration = co.traceNow().Sub(from)
	st.trace.tr.wait(st.trace.ctx, info)
}

// renewal is a token renewal being traced.
type renewal struct {
	tr   tracers
	ctx  context.Context
	kind TokenRenewalKind
}

// startRenewal calls TokenRenewalStart for the renewal that flight f makes,
// with the context of the call that started it, and returns the renewal's
// context, which the renewal's requests are made with; the renewal is nil
// when nothing traces it.
func (tm *tokenManager) startRenewal(ctx context.Context, kind TokenRenewalKind, f *flight) (context.Context, *renewal) {
	tr := tm.client.core.tracersFor(ctx)
	if !tr.on() {
		return ctx, nil
	}
	rctx := tr.renewalStart(ctx, TokenRenewalInfo{Kind: kind})
	tm.mu.Lock()
	f.traced = rctx
	tm.mu.Unlock()
	return rctx, &renewal{tr: tr, ctx: rctx, kind: kind}
}

// done calls TokenRenewalDone.
func (r *renewal) done(err error) {
	if r == nil {
		return
	}
	r.tr.each(func(t *ClientTrace) {
		if t.TokenRenewalDone != nil {
			t.TokenRenewalDone(r.ctx, TokenRenewalDoneInfo{Kind: r.kind, Err: err})
		}
	})
}

// renewalOf is the context of f's renewal, for WaitInfo.Renewal; nil when
// it is not traced.
func (tm *tokenManager) renewalOf(f *flight) context.Context {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return f.traced
}

// validRoute refuses a Request.Route that is not a route template: a path
// starting with "/", without a query, a fragment, spaces or control
// characters. Empty is no route.
func validRoute(route string) error {
	if route == "" {
		return nil
	}
	if !strings.HasPrefix(route, "/") {
		return errors.New(`want a route template starting with "/", such as "/invoices/{id}"`)
	}
	if len(route) > 256 {
		return errors.New("longer than 256 bytes")
	}
	for i := range len(route) {
		switch c := route[i]; {
		case c == '?' || c == '#':
			return errors.New("want a path template alone, without a query or a fragment")
		case c <= ' ' || c == 0x7f:
			return errors.New("holds a space or a control character")
		}
	}
	return nil
}

// pacedBy notes that the pacer holds the call's attempt back, so that the
// wait is traced; it does nothing for a call not traced (or nil).
func (st *callState) pacedBy() {
	if st != nil && st.trace != nil {
		st.paced = true
	}
}

// waitedForLimiter traces the wait for the Limiter that began at from: every
// Wait of a custom Limiter's (WaitLimiter), and a wait the pacer made
// (WaitRateLimit).
func (st *callState) waitedForLimiter(co *core, from time.Time) {
	if st.trace == nil {
		return
	}
	switch {
	case co.custom:
		st.waited(co, from, WaitInfo{Reason: WaitLimiter})
	case st.paced:
		st.waited(co, from, WaitInfo{Reason: WaitRateLimit})
	}
	st.paced = false
}

// deliveryStart calls DeliveryStart with a copy of r that holds neither its
// body, its signature nor its query, and returns r with the context the hook
// returned.
func (h *webhookHandler) deliveryStart(r *http.Request) *http.Request {
	if h.trace.DeliveryStart == nil {
		return r
	}
	seen := r.Clone(r.Context())
	seen.Body, seen.GetBody, seen.ContentLength = http.NoBody, nil, 0
	seen.Header.Del(WebhookSignatureHeader)
	seen.URL.RawQuery, seen.URL.ForceQuery, seen.URL.Fragment, seen.URL.RawFragment = "", false, "", ""
	seen.RequestURI, _, _ = strings.Cut(r.RequestURI, "?")
	seen.Form, seen.PostForm, seen.MultipartForm = nil, nil, nil
	seen.URL.User = nil
	ctx := next(r.Context(), h.trace.DeliveryStart(r.Context(), seen))
	if ctx == r.Context() {
		return r
	}
	return r.WithContext(ctx)
}

// eventVerified calls EventVerified once ev's signature is verified.
func (h *webhookHandler) eventVerified(ctx context.Context, ev *WebhookEvent) {
	if h.trace != nil && h.trace.EventVerified != nil {
		h.trace.EventVerified(ctx, string(ev.Type))
	}
}

// deliveryDone calls DeliveryDone with the outcome the status and msg of
// the answer say.
func (h *webhookHandler) deliveryDone(ctx context.Context, status int, msg string, ev *WebhookEvent) {
	if h.trace == nil || h.trace.DeliveryDone == nil {
		return
	}
	info := WebhookDeliveryInfo{StatusCode: status}
	if ev != nil {
		info.Event = string(ev.Type)
	}
	switch {
	case status == http.StatusNoContent && msg == msgDuplicate:
		info.Outcome = WebhookDuplicate
	case status >= 200 && status <= 299:
		info.Outcome = WebhookHandled
	case status == http.StatusConflict:
		info.Outcome = WebhookInFlight
	case status >= 500:
		info.Outcome = WebhookFailed
	default:
		info.Outcome = WebhookRefused
	}
	h.trace.DeliveryDone(ctx, info)
}

// msgDuplicate is the reason the handler gives (in its log) for a
// delivery of an event it has handled.
const msgDuplicate = "duplicate"

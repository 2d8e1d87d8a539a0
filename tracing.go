package atlas

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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

// chain calls the hook that pick returns of each ClientTrace that has one,
// each with the context the one before returned (see next), and returns the
// last of them: the start hooks of a call, an attempt and a renewal.
func chain[I any](ctx context.Context, t tracers, info I, pick func(*ClientTrace) func(context.Context, I) context.Context) context.Context {
	t.each(func(ct *ClientTrace) {
		if hook := pick(ct); hook != nil {
			ctx = next(ctx, hook(ctx, info))
		}
	})
	return ctx
}

func callStartOf(ct *ClientTrace) func(context.Context, CallInfo) context.Context {
	return ct.CallStart
}

func attemptStartOf(ct *ClientTrace) func(context.Context, AttemptInfo) context.Context {
	return ct.AttemptStart
}

func renewalStartOf(ct *ClientTrace) func(context.Context, TokenRenewalInfo) context.Context {
	return ct.TokenRenewalStart
}

// startsAttempts reports whether a hook sees an attempt's start.
func (t tracers) startsAttempts() bool {
	return t.ctx != nil && t.ctx.AttemptStart != nil || t.client != nil && t.client.AttemptStart != nil
}

func (t tracers) wait(ctx context.Context, info WaitInfo) {
	t.each(func(ct *ClientTrace) {
		if ct.Wait != nil {
			ct.Wait(ctx, info)
		}
	})
}

// callTrace is a traced call: its hooks, what CallStart was told, and the
// context it returned.
type callTrace struct {
	tr    tracers
	info  CallInfo
	ctx   context.Context
	host  string
	port  int
	start time.Time
}

// startTrace calls CallStart for the call st is about to make with req, and
// returns the context it returned: the call is made with it, so that every
// later hook of the call (and a token renewal it starts) gets a context
// derived from it. done calls CallDone.
func (st *callState) startTrace(ctx context.Context, tr tracers, c *Client, req *Request) context.Context {
	ct := &st.traced // allocated with the call's state
	*ct = callTrace{tr: tr, info: CallInfo{Operation: req.operation(), Method: req.Method, Route: req.Route, Company: c.companyOf(req)},
		host: c.core.host, port: c.core.port, start: time.Now()}
	ct.ctx = chain(ctx, tr, ct.info, callStartOf)
	st.trace = ct
	return ct.ctx
}

// done calls CallDone for the call st that ended with err.
func (ct *callTrace) done(st *callState, err error) {
	info := CallDoneInfo{CallInfo: ct.info, Err: err, Duration: time.Since(ct.start), Attempts: st.attempts}
	ct.tr.each(func(t *ClientTrace) {
		if t.CallDone != nil {
			t.CallDone(ct.ctx, info)
		}
	})
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

// hostPort returns the API's host name and port, for a trace.
func hostPort(base *url.URL) (string, int) {
	port, err := strconv.Atoi(originPort(base))
	if err != nil {
		port = 0
	}
	return base.Hostname(), port
}

// reservedHeaders are the headers the client sets itself, which a trace's
// AttemptStart cannot set.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Idempotency-Key": true, "Content-Type": true, "Accept": true, "User-Agent": true,
	"Host": true, "Content-Length": true, "Cookie": true,
}

// attemptStart calls AttemptStart for the attempt about to send r, and
// returns the context it returned and the headers the hooks added (nil for
// none): those the client does not set itself and r does not have already,
// with valid names and values, under the names the hooks gave them.
func (ct *callTrace) attemptStart(ctx context.Context, r *http.Request, resend int) (context.Context, http.Header) {
	if !ct.tr.startsAttempts() {
		return ctx, nil
	}
	h := http.Header{}
	actx := chain(ctx, ct.tr, AttemptInfo{CallInfo: ct.info, Host: ct.host, Port: ct.port, Resend: resend, Header: h}, attemptStartOf)
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if _, ok := r.Header[ck]; ok || reservedHeaders[ck] || !validHeaderName(ck) || len(vs) == 0 {
			delete(h, k)
			continue
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				delete(h, k)
				break
			}
		}
	}
	if len(h) == 0 {
		h = nil
	}
	return actx, h
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
func (st *callState) waitStart() time.Time {
	if st == nil || st.trace == nil {
		return time.Time{}
	}
	return time.Now()
}

// waited calls Wait for a wait that began at from (waitStart), with the
// context CallStart returned; info's Duration is the time since from.
func (st *callState) waited(from time.Time, info WaitInfo) {
	if st == nil || st.trace == nil || from.IsZero() {
		return
	}
	info.Duration = time.Since(from)
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
	rctx := chain(ctx, tr, TokenRenewalInfo{Kind: kind}, renewalStartOf)
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
		st.waited(from, WaitInfo{Reason: WaitLimiter})
	case st.paced:
		st.waited(from, WaitInfo{Reason: WaitRateLimit})
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

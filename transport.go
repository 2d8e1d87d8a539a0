package atlas

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// transport is the RoundTripper beneath the call's http.Client (which
// go-retryablehttp's loop drives) and above the user's. It does each
// attempt's work (each hop of a redirect is one), in order: it refuses an
// origin other than the API's, ends the trace of the wait go-retryablehttp
// slept, puts the Authorization header on a copy of the request (so that
// nothing above sees it), waits for the Limiter, sends within the attempt
// timeout, tells the Limiter what the answer said, and reads the answer's
// body (readAnswer). A request that is not a call's (it has no callState)
// goes straight to the user's transport.
//
// transport has no CloseIdleConnections on purpose: go-retryablehttp calls
// the HTTP client's when a context ends during its sleep and whenever a call
// ends without success, and the user's pooled connections (a pagination
// loop that breaks early, the next call) should outlive one call.
type transport struct {
	base http.RoundTripper
	core *core
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	// r's context is the call's state, or one derived from it (with the
	// deadline of http.Client.Timeout, say): waits must honour that one.
	ctx := r.Context()
	st := stateOf(ctx)
	if st == nil {
		return t.base.RoundTrip(r)
	}
	co := t.core
	if !sameOrigin(r.URL, co.base) {
		// checkRedirect refuses this already; a request that gets here
		// some other way is not sent either.
		closeBody(r)
		return nil, &redirectError{to: r.URL.Scheme + "://" + r.URL.Host}
	}
	st.paused()
	var authorization []string
	if st.auth {
		header, err := co.tokens.authorization(ctx)
		if err != nil {
			closeBody(r)
			return nil, &authError{err: err}
		}
		st.bearer, authorization = header[0], header
	}
	from := st.waitStart()
	by, err := co.wait(ctx, st)
	st.waitedForLimiter(co, from)
	if err != nil {
		closeBody(r)
		return nil, err
	}
	if st.auth && !co.tokens.sendable(st.bearer) {
		// The wait (the queue for a budget that many processes share can
		// be longer than the time a token has left) took the token to its
		// expiry, or another caller renewed or lost it meanwhile: send the
		// current one, renewed first if needed, rather than one the API
		// would refuse.
		header, err := co.tokens.authorization(ctx)
		if err != nil {
			co.observe(ctx, st, by, nil, time.Now())
			closeBody(r)
			return nil, &authError{err: err}
		}
		st.bearer, authorization = header[0], header
	}
	if r.Response == nil { // not a redirect's next hop
		st.attempts++
	}
	var start time.Time
	logging := st.logging()
	if logging {
		start = time.Now()
	}
	actx, resend := ctx, st.attempts-1
	var traced http.Header
	if st.trace != nil {
		actx, traced = st.trace.attemptStart(ctx, r, resend)
	}
	out := st.outgoing(actx, r, authorization, traced)
	sent := time.Now()
	resp, err := t.send(st, out)
	if err != nil {
		co.observe(ctx, st, by, nil, sent)
		if st.trace != nil {
			st.trace.attemptDone(actx, st, resend, nil, err)
		}
		if logging {
			st.log("atlas: request failed", slog.Int("retry", st.attempts-st.runFrom-1),
				slog.Duration("elapsed", time.Since(start)), slog.String("error", unwrapURLError(err).Error()))
		}
		return nil, err
	}
	co.observe(ctx, st, by, resp, sent)
	// The answer goes up as the answer to r, the request without the
	// Authorization header, so that no hook, log or trace above reads the token.
	resp.Request = r
	if !redirected(resp) {
		// The body is read here, within the attempt: one cut short fails
		// the attempt, and checkRetry retries it as a dropped connection.
		var into *answerBody
		if !st.firstBodyUsed {
			into, st.firstBodyUsed = &st.firstBody, true
		}
		body := readAnswer(resp, into)
		resp.Body = body
		st.body, st.bodyOf = body, resp
	}
	if st.trace != nil {
		st.trace.attemptDone(actx, st, resend, resp, nil)
	}
	if logging {
		attrs := []slog.Attr{slog.Int("status", resp.StatusCode), slog.Int("retry", st.attempts-st.runFrom-1),
			slog.Duration("elapsed", time.Since(start)), slog.String("request_id", requestID(resp.Header))}
		if cut := st.cut(resp); cut != nil {
			attrs = append(attrs, slog.String("error", "body cut short: "+cut.Error()))
		}
		st.log("atlas: request", attrs...)
	}
	return resp, nil
}

// wait holds an attempt back until the Limiter lets it go, and returns the
// Limiter that did: the client's, or the pacer standing in for it. A custom
// Limiter whose Wait fails for a reason other than ctx (or a wait that
// would outlast ctx's deadline), or panics, has the pacer stand in, with
// one warning for the whole outage.
func (co *core) wait(ctx context.Context, st *callState) (Limiter, error) {
	if !co.custom {
		return co.limiter, co.limiter.Wait(ctx)
	}
	failure, err := co.waitCustom(ctx)
	switch {
	case err != nil:
		return nil, err
	case failure == nil:
		co.pacer.track(st, time.Now())
		return co.limiter, nil
	}
	co.limiterFails(ctx, failure)
	return co.pacer, co.pacer.Wait(ctx)
}

// observe reads what the answer to an attempt said (resp is nil when it got
// none) and tells the Limiter that let the attempt go; the pacer learns from
// every answer, whichever Limiter let it go. A custom Limiter is told even
// when the call's ctx has ended.
func (co *core) observe(ctx context.Context, st *callState, by Limiter, resp *http.Response, sent time.Time) {
	var h http.Header
	status := 0
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	now := time.Now()
	st.ans = co.pacer.read(h, status, sent, now)
	st.answered = true
	if by == Limiter(co.pacer) {
		by.Observe(ctx, st.ans.obs)
		return
	}
	co.observeCustom(context.WithoutCancel(ctx), st.ans.obs)
	co.pacer.learn(st, st.ans.obs, st.ans.serverReset, now)
}

// redirected reports whether resp is a redirect that the HTTP client
// follows (when its redirect policy lets it), which reads its body itself;
// one it does not follow is read after the call (callState.read).
func redirected(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// cut returns why resp's body, as the transport read it, was cut short; nil
// when it was not, or was not read there.
func (st *callState) cut(resp *http.Response) error {
	if resp == nil || st.bodyOf != resp {
		return nil
	}
	return st.body.err
}

// send hands the request to the base transport, bounded by the attempt
// timeout when there is one.
func (t *transport) send(st *callState, r *http.Request) (*http.Response, error) {
	d := t.core.attempt
	if d <= 0 {
		return t.base.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() == context.DeadlineExceeded && st.ctx().Err() == nil {
			return nil, &attemptTimeoutError{timeout: d}
		}
		return nil, err
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, ctx: ctx, caller: st.ctx(), cancel: cancel, timeout: d}
	return resp, nil
}

// attemptBody ends an attempt's timeout when its body is closed, and names
// the timeout when it cuts the body short.
type attemptBody struct {
	io.ReadCloser
	ctx, caller context.Context
	cancel      context.CancelFunc
	timeout     time.Duration
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() == context.DeadlineExceeded && b.caller.Err() == nil {
		err = &attemptTimeoutError{timeout: b.timeout}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is an attempt that ran out of its WithAttemptTimeout;
// it is retried.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return "no complete answer within the attempt timeout of " + e.timeout.String()
}

// Unwrap lets errors.Is match context.DeadlineExceeded, as the HTTP client's
// own timeout does.
func (e *attemptTimeoutError) Unwrap() error { return context.DeadlineExceeded }

func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}

// outgoing returns the request an attempt sends: r itself, or when the
// attempt carries an Authorization header, headers a trace added, or a
// trace's context, a shallow copy with its own header map and that
// context. r, which go-retryablehttp and the redirect logic keep using,
// never carries them. The first attempt's copy lives in the callState; a
// retry gets a fresh one, because the transport may still be writing the
// previous attempt when its response has already arrived.
func (st *callState) outgoing(ctx context.Context, r *http.Request, authorization []string, traced http.Header) *http.Request {
	if authorization == nil && traced == nil && ctx == r.Context() {
		return r
	}
	var r2 *http.Request
	switch {
	case ctx != r.Context():
		r2 = r.WithContext(ctx)
	case !st.authorizedUsed:
		st.authorizedUsed = true
		r2 = &st.authorized
		*r2 = *r
	default:
		r2 = new(http.Request)
		*r2 = *r
	}
	if authorization == nil && traced == nil {
		return r2
	}
	h := make(http.Header, len(r.Header)+1+len(traced))
	for k, v := range r.Header {
		h[k] = v
	}
	for k, v := range traced {
		h[http.CanonicalHeaderKey(k)] = v
	}
	if authorization != nil {
		h["Authorization"] = authorization
	}
	r2.Header = h
	return r2
}

// sameOrigin reports whether u is on base's origin: the same scheme, host
// and port (a port left out is the scheme's default).
func sameOrigin(u, base *url.URL) bool {
	if u.Scheme != base.Scheme {
		return false
	}
	if u.Host == base.Host {
		return true
	}
	return strings.EqualFold(u.Hostname(), base.Hostname()) && originPort(u) == originPort(base)
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// checkRedirect wraps the user's redirect policy (nil: net/http's default of
// at most 10 redirects): a redirect away from the API's origin is never
// followed, whatever the method or the call, so that neither credentials,
// tokens nor request bodies reach another host, and nothing another host
// answers reaches the client's tokens, pacing or retries. Redirects within
// the origin go to the user's policy.
func (co *core) checkRedirect(user func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, co.base) {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return &redirectError{status: status, to: req.URL.Scheme + "://" + req.URL.Host}
		}
		var err error
		switch {
		case user != nil:
			err = user(req, via)
		case len(via) >= 10:
			err = errors.New("stopped after 10 redirects")
		}
		//nolint:errorlint // net/http compares it with ==: a wrapped ErrUseLastResponse is not one to net/http, so it is not one here
		if err == nil || err == http.ErrUseLastResponse {
			return err
		}
		return &redirectPolicyError{err: err}
	}
}

// redirectPolicyError is a redirect within the origin that the redirect
// policy stopped; asking again would be stopped again, so it is not retried.
type redirectPolicyError struct{ err error }

func (e *redirectPolicyError) Error() string { return e.err.Error() }
func (e *redirectPolicyError) Unwrap() error { return e.err }

// redirectError is a redirect away from the API's origin, which the client
// does not follow. It names the target's origin only: its path and query may
// hold anything.
type redirectError struct {
	status int
	to     string // scheme://host[:port]
}

func (e *redirectError) Error() string {
	msg := "redirect away from the API's origin not followed: "
	if e.status != 0 {
		msg += strconv.Itoa(e.status)
		if text := http.StatusText(e.status); text != "" {
			msg += " " + text
		}
		msg += " "
	}
	return msg + "to " + e.to
}

// Unwrap lets errors.Is match ErrCrossOriginRedirect.
func (e *redirectError) Unwrap() error { return ErrCrossOriginRedirect }

// authError is a failure to obtain tokens; retrying the request cannot help
// (the login or refresh already retried).
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

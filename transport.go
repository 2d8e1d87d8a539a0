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
	"sync"
	"time"
)

// transport sits beneath the http.Client and above the user's transport,
// and gates every attempt of a call (each hop of a redirect is one), in this
// order: it refuses an origin other than the API's, ends the trace of the
// wait go-retryablehttp slept (paused), adds the Authorization header to a copy of the request
// (so that nothing above sees it), waits for the Limiter, sends within the
// attempt timeout, tells the Limiter what the answer said about the rate
// limit, and reads the answer's body (readAnswer). A request that is not a call's (it has no callState) goes straight
// to the user's transport.
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
	out := r
	if st.auth {
		header, err := co.tokens.authorization(ctx)
		if err != nil {
			closeBody(r)
			return nil, &authError{err: err}
		}
		st.bearer = header[0]
		out = st.withAuthorization(r, header)
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
		st.bearer = header[0]
		out.Header["Authorization"] = header
	}
	if r.Response == nil { // not a redirect's next hop
		st.attempts++
	}
	var start time.Time
	logging := co.logger != nil && co.logger.Enabled(st.ctx(), slog.LevelDebug)
	if logging {
		start = time.Now()
	}
	actx, resend := ctx, st.attempts-1
	if st.trace != nil {
		out, actx = st.trace.attemptStart(ctx, r, out, resend)
	}
	sent := time.Now()
	resp, err := t.send(st, out)
	if err != nil {
		co.observe(ctx, st, by, nil, sent)
		if st.trace != nil {
			st.trace.attemptDone(actx, st, resend, nil, err)
		}
		if logging {
			co.logger.LogAttrs(st.ctx(), slog.LevelDebug, "atlas: request failed",
				slog.String("method", st.method), slog.String("path", st.path),
				slog.Int("retry", st.attempts-st.runFrom-1), slog.Duration("elapsed", time.Since(start)),
				slog.String("error", unwrapURLError(err).Error()))
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
		body := readAnswer(resp)
		resp.Body = body
		st.body, st.bodyOf = body, resp
	}
	if st.trace != nil {
		st.trace.attemptDone(actx, st, resend, resp, nil)
	}
	if logging {
		attrs := []slog.Attr{slog.String("method", st.method), slog.String("path", st.path),
			slog.Int("status", resp.StatusCode), slog.Int("retry", st.attempts-st.runFrom-1),
			slog.Duration("elapsed", time.Since(start)), slog.String("request_id", requestID(resp.Header))}
		if cut := st.cut(resp); cut != nil {
			attrs = append(attrs, slog.String("error", "body cut short: "+cut.Error()))
		}
		co.logger.LogAttrs(st.ctx(), slog.LevelDebug, "atlas: request", attrs...)
	}
	return resp, nil
}

// redirected reports whether resp is a redirect that the HTTP client
// follows (when its redirect policy lets it), which reads its body itself;
// one it does not follow is read after the call (Client.read).
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

// withAuthorization returns a shallow copy of r with its own header map
// holding the Authorization header; r itself, which go-retryablehttp and the
// redirect logic keep using, never carries it. The first attempt's copy lives
// in the callState; a retry gets a fresh one, because the transport may still
// be writing the previous attempt when its response has already arrived.
func (st *callState) withAuthorization(r *http.Request, authorization []string) *http.Request {
	r2 := &st.authorized
	if st.authorizedUsed {
		r2 = new(http.Request)
	}
	st.authorizedUsed = true
	*r2 = *r
	h := make(http.Header, len(r.Header)+1)
	for k, v := range r.Header {
		h[k] = v
	}
	h["Authorization"] = authorization
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

// readAnswer reads resp's body to its end, or past the cap (maxResponseBody
// for a 2xx, maxErrorBody for any other answer), and closes it. The
// transport calls it within the attempt, so that a body cut short (the
// connection reset, the attempt timeout run out) fails the attempt as a
// dropped connection does, and is retried as one (checkRetry).
func readAnswer(resp *http.Response) *answerBody {
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	limit := int64(maxErrorBody)
	if ok {
		limit = maxResponseBody
	}
	size := resp.ContentLength
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		size = 0 // the length of the body a GET would get
	}
	b := &answerBody{}
	// Of an error answer past the cap the start is kept: it says what went
	// wrong. Of a 2xx past it, nothing is: the call fails.
	b.data, b.seg, b.truncated, b.err = readBody(resp.Body, limit, size, !ok)
	if b.truncated || b.err != nil {
		drain(resp.Body)
	} else {
		_ = resp.Body.Close()
	}
	return b
}

// answerBody is an answer's body as readAnswer read it.
type answerBody struct {
	data      []byte
	off       int
	seg       *[]byte // the pooled segment data lives in, if it does
	truncated bool    // the body went on past the cap; the rest was not read
	err       error   // the body was cut short: why
}

// Read reads what was read, then reports the body's end or why it was cut.
func (b *answerBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// Close gives the pooled segment back; the body is empty from then on.
func (b *answerBody) Close() error {
	if b.seg != nil {
		segPool.Put(b.seg)
		b.seg = nil
	}
	b.data, b.off = nil, 0
	return nil
}

// Segments a body is read into: the first from a pool (most answers fit in
// it, and then reading them allocates nothing), the next ones each twice as
// large as the one before, up to maxSegment, and never beyond the cap; a
// body in more than one is copied into one slice of its size at the end.
// So a body costs about twice its size at most, and one past the cap (a
// small gzip answer that inflates without end, say) the cap and no more.
const (
	firstSegment = 128 << 10
	maxSegment   = 4 << 20
)

var segPool = sync.Pool{New: func() any { b := make([]byte, firstSegment); return &b }}

// readBody reads r to its end, or until it has read more than limit bytes
// (truncated). size is the length the answer announced, -1 for none: a body
// of a known size within the cap is read into one slice of that size, and
// one announced past it is not read at all unless keepPartial, which keeps
// the first limit bytes of a body past the cap. data lives in seg, when seg
// is not nil, until seg goes back to segPool.
func readBody(r io.Reader, limit, size int64, keepPartial bool) (data []byte, seg *[]byte, truncated bool, err error) {
	if size > limit && !keepPartial {
		return nil, nil, true, nil
	}
	var cur []byte
	switch {
	case size >= firstSegment && size <= limit:
		cur = make([]byte, size+1) // +1: to see a body that goes on past what it announced
	default:
		seg = segPool.Get().(*[]byte)
		cur = (*seg)[:min(int64(len(*seg)), limit+1)]
	}
	var (
		full  [][]byte // segments filled, before cur
		total int64    // bytes in full
		n     int      // bytes in cur
	)
	for {
		if n == len(cur) {
			if total+int64(n) > limit {
				truncated = true
				break
			}
			full = append(full, cur)
			total += int64(n)
			cur = make([]byte, min(max(2*int64(len(cur)), firstSegment), maxSegment, limit+1-total))
			n = 0
		}
		var m int
		m, err = r.Read(cur[n:])
		n += m
		if err == io.EOF {
			err = nil
			break
		}
		if err != nil {
			break
		}
	}
	length := total + int64(n)
	if truncated {
		if !keepPartial {
			if seg != nil {
				segPool.Put(seg)
			}
			return nil, nil, true, nil
		}
		length = limit
	}
	if len(full) == 0 {
		return cur[:length], seg, truncated, err
	}
	data = make([]byte, 0, length)
	for _, s := range append(full, cur[:n]) {
		data = append(data, s[:min(int64(len(s)), length-int64(len(data)))]...)
	}
	if seg != nil {
		segPool.Put(seg)
	}
	return data, nil, truncated, err
}

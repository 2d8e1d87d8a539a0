package atlas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/atlas-accounting/atlas-go/internal/backoff"
)

// One call's path: Invoices.Create (invoices.go) names its route and hands
// it to create (resource.go), which checks the params; call and do (here)
// build the request once, with one Idempotency-Key for a POST, and hand it
// to the call's go-retryablehttp.Client, whose loop runs the attempts and
// sleeps between them: checkRetry (here) decides whether to retry and the
// wait, which its Backoff returns. Each attempt passes through
// transport.RoundTrip (transport.go): origin, Authorization from the token
// manager, the Limiter's wait, the answer told to the Limiter, the body read.
// do replays the call once after a 401 with a renewed token; read (here)
// decodes the answer, or makes an *Error of it (errors.go).

// call is do for a route whose answer decodes into a new T.
func call[T any](ctx context.Context, c *Client, req Request, cfg requestConfig) (*T, error) {
	out := new(T)
	if err := c.do(ctx, req, cfg, out); err != nil {
		return nil, err
	}
	return out, nil
}

// do runs one call: it builds the request, sends it (and once more after a
// 401, with a renewed access token), and reads the answer into out (nil for
// a route whose answer has no body); any other answer than a 2xx is an
// *Error. Every error names the call.
func (c *Client) do(ctx context.Context, req Request, cfg requestConfig, out any) (err error) {
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if ctx == nil {
		return nilContext(req.Method, req.path())
	}
	co := c.core
	st := &callState{co: co, method: req.Method, path: req.Path, auth: !req.noAuth, idempotent: req.Method != http.MethodPatch}
	if tr := co.tracersFor(ctx); tr.on() {
		ctx = st.startTrace(ctx, tr, c, &req) // CallStart; CallDone when do returns
		defer func() { st.trace.done(st, err) }()
	}
	if err := cfg.check(req.Method); err != nil {
		return invalidParams(req.Method+" "+req.path(), "%v", err)
	}

	// Build what every attempt sends. The call's state rides in the
	// request's context, where the transport, checkRetry and the pacer
	// find it (stateOf).
	rawURL, err := c.url(&req)
	st.path = req.Path
	if err != nil {
		return st.fail(err)
	}
	var body any // nil: a request without a body, not an empty one
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return st.fail(fmt.Errorf("encode request: %w", err))
		}
		body = b
	}
	if st.req, err = retryablehttp.NewRequestWithContext(context.WithValue(ctx, callStateKey{}, st), req.Method, rawURL, body); err != nil {
		return st.fail(err)
	}
	co.setHeaders(st.req.Header, req.Method, body != nil, &cfg)

	// Send: go-retryablehttp runs the attempts (Backoff is set by
	// checkRetry, on the first retry).
	st.rc = retryablehttp.Client{
		HTTPClient:   co.http.HTTPClient,
		RetryMax:     co.http.RetryMax,
		CheckRetry:   co.http.CheckRetry,
		ErrorHandler: co.http.ErrorHandler,
	}
	for replayed := false; ; replayed = true {
		resp, err := st.rc.Do(st.req) //nolint:bodyclose // read closes it, or drain before the replay
		if st.pausing {
			// ctx ended while go-retryablehttp slept (it then returns
			// ctx.Err() alone): name the wait, as every wait is named.
			st.paused()
			err = &waitError{what: st.waitFor, err: err}
		}
		if err != nil {
			return &opError{method: st.method, path: st.path, err: unwrapURLError(err), attempts: st.attempts}
		}
		if resp.StatusCode != http.StatusUnauthorized || !st.auth || st.bearer == "" || replayed {
			return st.read(resp, cfg.response, out)
		}
		// The access token was refused (expired early, revoked): renew it,
		// once for every caller that saw it refused, and replay.
		drain(resp.Body)
		co.tokens.invalidate(st.bearer)
		st.runFrom, st.wait = st.attempts, 0
		st.log("atlas: access token refused; renewing and replaying")
	}
}

// setHeaders sets the headers of every attempt: the caller's (WithHeader),
// then the client's own, which win. A POST's Idempotency-Key is chosen here,
// once for the call.
func (co *core) setHeaders(h http.Header, method string, hasBody bool, cfg *requestConfig) {
	for k, v := range cfg.header {
		h[k] = v
	}
	h["Accept"] = jsonMediaType
	h["User-Agent"] = co.userAgent
	if hasBody {
		h["Content-Type"] = jsonMediaType
	}
	if method == http.MethodPost {
		key := cfg.idempotencyKey
		if key == "" {
			key = uuid.NewString()
		}
		h["Idempotency-Key"] = []string{key}
	}
}

// checkRetry is go-retryablehttp's CheckRetry: it decides whether an attempt
// is retried and chooses the wait before the next one (the backoff with its
// jitter, or the pause a 429 or a 503 asked for), which backoff returns to
// go-retryablehttp's loop to sleep. go-retryablehttp counts the retries
// (RetryMax). A retry whose wait would outlast ctx's deadline is not made,
// nor one after a 429 that asks for a pause longer than MaxRateLimitWait:
// the caller gets the last answer at once.
func (co *core) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	if st == nil || ctx.Err() != nil {
		// No retry once ctx has ended, and no error of checkRetry's own:
		// go-retryablehttp then gives the caller the attempt's own answer, a
		// transport error (which says that ctx ended) or the server's
		// response. Returning ctx.Err() would put a cancellation in place of
		// an answer the server gave, and go-retryablehttp would hand on the
		// response's body unclosed.
		return false, nil //nolint:nilerr // the answer above is the call's result, not ctx's end
	}
	var retryAfter time.Duration
	rateLimited := false
	switch {
	case err != nil:
		if !retryableError(err) {
			return false, nil
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		if st.ans.retryAfter > co.retry.MaxRateLimitWait {
			return false, nil
		}
		rateLimited = true
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		retryAfter = st.ans.retryAfter
	case resp.StatusCode == http.StatusInternalServerError && st.idempotent:
	default:
		// An answer whose body was cut short is retried as a dropped
		// connection is, whatever its status said.
		if err = st.cut(resp); err == nil || !retryableError(err) {
			return false, nil
		}
	}

	wait := st.ans.retryAfter
	st.waitFor, st.waitReason = waitRateLimit, WaitRetryAfter
	if !rateLimited || wait == 0 {
		// Only when a 429 said nothing of when to come back is the
		// backoff a guess. The jitter is decided here, once per attempt,
		// so that backoff sleeps the wait that was checked.
		bo, asked := backoff.Exponential(co.retry.MinBackoff, co.retry.MaxBackoff, st.retry()), min(retryAfter, co.retry.MaxBackoff)
		wait = max(bo, asked)
		st.waitFor, st.waitReason = waitBackoff, WaitBackoff
		if asked > bo {
			st.waitReason = WaitRetryAfter
		}
	}
	st.wait, st.lastErr = wait, err
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < max(wait, co.pacer.delay(time.Now())) {
		st.wait = 0
		return false, nil
	}
	if st.rc.Backoff == nil {
		// Bound here, on the call's first retry, so that a call that is
		// not retried allocates nothing for it.
		st.rc.Backoff = st.backoff
	}
	return true, nil
}

// backoff is go-retryablehttp's Backoff, a closure over the call (it gets
// no context, and no response after a connection error): it returns the
// wait that checkRetry chose for the attempt, logs the retry and the wait,
// and starts the wait's trace, which the next attempt (or do, when ctx ends
// during the wait) ends. go-retryablehttp sleeps the wait outside the HTTP
// client, whose Timeout therefore does not count it.
func (st *callState) backoff(_, _ time.Duration, i int, resp *http.Response) time.Duration {
	if st.logging() {
		attrs := []slog.Attr{slog.Int("retry", i+1), slog.Duration("wait", st.wait)}
		if resp != nil {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		if st.lastErr != nil {
			attrs = append(attrs, slog.String("error", unwrapURLError(st.lastErr).Error()))
		}
		st.log("atlas: retrying", attrs...)
		if st.wait > 0 {
			st.log("atlas: waiting", slog.String("for", st.waitFor), slog.Duration("wait", st.wait))
		}
	}
	st.pausing = true
	st.pauseFrom = st.waitStart()
	return st.wait
}

// paused ends the trace of the wait before an attempt, if any.
func (st *callState) paused() {
	if st.pausing {
		st.pausing = false
		st.waited(st.pauseFrom, WaitInfo{Reason: st.waitReason})
	}
}

// retry returns how many retries of go-retryablehttp's current run came
// before the attempt that just ended: the backoff's exponent.
func (st *callState) retry() int {
	return max(0, st.attempts-st.runFrom-1)
}

// read makes the call's result of its answer: a 2xx body decoded into out
// (nil for a route whose answer has no body), or an *Error; dst
// (WithResponse) gets the answer's status and headers either way. The
// transport has read the body within the attempt; a redirect it did not
// follow is read here.
func (st *callState) read(resp *http.Response, dst **Response, out any) error {
	body := st.body
	if st.bodyOf != resp {
		body = readAnswer(resp, nil)
	}
	defer func() {
		_ = resp.Body.Close()
		_ = body.Close()
	}()

	rl := st.ans.raw
	if dst != nil {
		*dst = &Response{StatusCode: resp.StatusCode, Header: resp.Header, RateLimit: rl, RequestID: requestID(resp.Header)}
	}
	status := resp.StatusCode
	if status < 200 || status > 299 {
		if body.err != nil && len(body.data) == 0 {
			return st.fail(fmt.Errorf("%d %s: read error body: %w", status, http.StatusText(status), body.err))
		}
		e := newError(resp, body.data, body.truncated || body.err != nil, rl, st.ans.retryAfter, st.method, st.path)
		e.Attempts = st.attempts
		return e
	}
	switch {
	case body.err != nil:
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("read response: %w", body.err), attempts: st.attempts}
	case body.truncated:
		return st.fail(fmt.Errorf("answer too large: more than the %d MiB a client reads", maxResponseBody>>20))
	case out == nil:
		return nil
	}
	if b := bytes.TrimSpace(body.data); len(b) == 0 || string(b) == "null" {
		// A zero-value struct would pass for an answer; it is not one.
		return st.fail(fmt.Errorf("%d %s with an empty or null body where the API answers an object", status, http.StatusText(status)))
	}
	if err := json.Unmarshal(body.data, out); err != nil {
		return st.fail(fmt.Errorf("decode response: %w", err))
	}
	if err := checkDecimals(out); err != nil {
		return st.fail(fmt.Errorf("decode response: %w", err))
	}
	return nil
}

// fail is err as the call's error, naming the call.
func (st *callState) fail(err error) error {
	return &opError{method: st.method, path: st.path, err: err}
}

// callState is one call's state. It rides in the context of the requests
// the call sends (stateOf finds it there), because a request is all that
// go-retryablehttp hands to checkRetry and to the transport, and a context
// all that the Limiter's Wait gets.
type callState struct {
	method, path string
	req          *retryablehttp.Request // what every attempt sends
	auth         bool                   // send the Authorization header
	idempotent   bool                   // a 500 may be retried
	co           *core
	rc           retryablehttp.Client // go-retryablehttp for this call: its Backoff is st.backoff
	runFrom      int                  // attempts sent before go-retryablehttp's current run
	wait         time.Duration        // the wait checkRetry chose before the next attempt
	lastErr      error                // the error of the attempt that is retried, for the log
	pausing      bool                 // go-retryablehttp is sleeping wait (or has just slept it)
	pauseFrom    time.Time            // when it began, for a trace
	waitFor      string               // what wait waits for, for the log and the error
	bearer       string               // Authorization value of the last attempt
	attempts     int                  // attempts sent
	trace        *callTrace           // nil: the call is not traced
	waitReason   WaitReason           // what wait waits for, for a trace
	paced        bool                 // the pacer held the attempt back (for a trace)
	body         *answerBody          // the body of bodyOf, read by the transport
	bodyOf       *http.Response       // the last answer whose body the transport read

	// The pacer's record of the attempt in flight (see pacer.claimLocked),
	// and what the last answer said.
	claimed  bool
	grant    uint64
	answered bool
	ans      answer

	// Allocated with the state rather than on their own, to keep a call's
	// allocations down: the first attempt's request and answer body.
	authorized     http.Request
	authorizedUsed bool
	firstBody      answerBody
	firstBodyUsed  bool
	traced         callTrace // what trace points to, when the call is traced
}

type callStateKey struct{}

// stateOf returns the call's state from the context of one of its requests,
// or nil for a context that is not a call's.
func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// jsonMediaType is the Accept and Content-Type header value, shared by every
// request and never modified.
var jsonMediaType = []string{"application/json"}

// Success bodies above this are refused rather than read into memory.
const maxResponseBody = 64 << 20

// drain reads a little of what is left of a body, so the connection can be
// reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// ctx returns the context of the call's requests: the caller's, holding st.
func (st *callState) ctx() context.Context { return st.req.Context() }

// logging reports whether the client logs the call's Debug records.
func (st *callState) logging() bool {
	return st.co.logger != nil && st.co.logger.Enabled(st.ctx(), slog.LevelDebug)
}

// log writes a Debug record of the call, naming its method and path: every
// record a call writes goes through here. Callers that build attrs check
// logging first.
func (st *callState) log(msg string, attrs ...slog.Attr) {
	if !st.logging() {
		return
	}
	all := make([]slog.Attr, 0, 2+len(attrs))
	all = append(all, slog.String("method", st.method), slog.String("path", st.path))
	st.co.logger.LogAttrs(st.ctx(), slog.LevelDebug, msg, append(all, attrs...)...)
}

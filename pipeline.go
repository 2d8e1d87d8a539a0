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
)

// The path of a call, in order. A service method (invoices.go) names its
// route and hands it to a resource helper (resource.go), which checks params
// and calls call. do and run (here) build the request once (newCall: URL,
// body, headers, one Idempotency-Key for a POST); send replays it once after
// a 401 with a renewed token, and otherwise leaves the attempts to the
// call's go-retryablehttp.Client: its CheckRetry (checkRetry, retry.go)
// decides whether to retry and the wait, its Backoff (callState.backoff)
// hands the wait to its loop, which sleeps it. Each attempt goes through
// transport.RoundTrip (transport.go): origin check, Authorization, the
// Limiter's wait (limiter.go), the answer's rate-limit headers and body.
// read and decode (here) make the result, or an *Error (errors.go).

// call is do for a route whose answer decodes into a new T.
func call[T any](ctx context.Context, c *Client, req Request, cfg requestConfig) (*T, error) {
	out := new(T)
	if err := c.do(ctx, req, cfg, out); err != nil {
		return nil, err
	}
	return out, nil
}

// do runs one call through the pipeline and decodes a 2xx answer into out
// (nil for a route whose answer has no body); any other answer becomes an
// *Error. Every error names the call.
func (c *Client) do(ctx context.Context, req Request, cfg requestConfig, out any) error {
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if ctx == nil {
		return nilContext(req.Method, req.Path)
	}
	if tr := c.core.tracersFor(ctx); tr.on() {
		return c.traced(ctx, tr, req, cfg, out)
	}
	return c.run(ctx, req, cfg, out)
}

// run is do once the call's trace, if any, has started.
func (c *Client) run(ctx context.Context, req Request, cfg requestConfig, out any) error {
	if err := cfg.check(req.Method); err != nil {
		return invalidParams(req.Method+" "+req.Path, "%v", err)
	}
	st, err := c.newCall(ctx, &req, &cfg)
	if err != nil {
		return &opError{method: req.Method, path: req.Path, err: err}
	}
	resp, err := c.send(st) //nolint:bodyclose // read closes the body on every path; the linter does not follow it there
	if err != nil {
		return &opError{method: req.Method, path: req.Path, err: unwrapURLError(err), attempts: st.attempts}
	}
	return c.read(st, resp, cfg.response, out)
}

// newCall builds the call's state and the request that every attempt sends.
func (c *Client) newCall(ctx context.Context, req *Request, cfg *requestConfig) (*callState, error) {
	rawURL, err := c.url(req)
	if err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		if body, err = json.Marshal(req.Body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	st := &callState{
		co:         c.core,
		method:     req.Method,
		path:       req.Path,
		auth:       !req.noAuth,
		idempotent: req.Method != http.MethodPatch,
		trace:      cfg.trace,
	}
	if st.trace != nil {
		st.trace.st = st
	}
	// The call's state rides in its requests' context, which is all that
	// go-retryablehttp hands to checkRetry and the transport.
	rctx := context.WithValue(ctx, callStateKey{}, st)
	var raw any // nil: a request without a body, not an empty one
	if body != nil {
		raw = body
	}
	if st.req, err = retryablehttp.NewRequestWithContext(rctx, req.Method, rawURL, raw); err != nil {
		return nil, err
	}
	c.core.setHeaders(st.req.Header, req.Method, body != nil, cfg)
	return st, nil
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

// send runs the call's attempts through go-retryablehttp, and once more
// after a 401 with a renewed access token. On an error, a response it
// returns has its body closed already and is not the call's answer.
func (c *Client) send(st *callState) (*http.Response, error) {
	co := c.core
	st.rc = retryablehttp.Client{
		HTTPClient:   co.http.HTTPClient,
		RetryMax:     co.http.RetryMax,
		CheckRetry:   co.http.CheckRetry,
		Backoff:      st.backoff,
		ErrorHandler: co.http.ErrorHandler,
	}
	for replayed := false; ; replayed = true {
		resp, err := st.rc.Do(st.req)
		if st.pausing {
			// ctx ended while go-retryablehttp slept (it then returns
			// ctx.Err() alone): name the wait, as every wait of a call is named.
			st.paused()
			err = &waitError{what: st.waitFor, err: err}
		}
		if err != nil || resp.StatusCode != http.StatusUnauthorized || !st.auth || st.bearer == "" || replayed {
			return resp, err
		}
		// The access token was refused (expired early, revoked): renew it,
		// once for every caller that saw it refused, and replay.
		drain(resp.Body)
		c.core.tokens.invalidate(st.bearer)
		st.runFrom, st.wait = st.attempts, 0
		c.core.debug(st, "atlas: access token refused; renewing and replaying")
	}
}

// read makes the call's result of its answer: a 2xx body decoded into out,
// or an *Error; dst (WithResponse) gets the answer's status and headers
// either way. The transport has read the body within the attempt
// (readAnswer); a redirect it did not follow is read here.
func (c *Client) read(st *callState, resp *http.Response, dst **Response, out any) error {
	body := st.body
	if st.bodyOf != resp {
		body = readAnswer(resp)
	}
	defer func() {
		_ = resp.Body.Close()
		_ = body.Close()
	}()

	rl := st.ans.raw
	if dst != nil {
		*dst = &Response{StatusCode: resp.StatusCode, Header: resp.Header, RateLimit: rl, RequestID: requestID(resp.Header)}
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if body.err != nil && len(body.data) == 0 {
			return &opError{method: st.method, path: st.path, err: fmt.Errorf("%d %s: read error body: %w", resp.StatusCode, http.StatusText(resp.StatusCode), body.err)}
		}
		e := newError(resp, body.data, body.truncated || body.err != nil, rl, st.ans.retryAfter, st.method, st.path)
		e.Attempts = st.attempts
		return e
	}
	if body.err != nil {
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("read response: %w", body.err), attempts: st.attempts}
	}
	if body.truncated {
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("answer too large: more than the %d MiB a client reads", maxResponseBody>>20)}
	}
	return st.decode(resp.StatusCode, body.data, out)
}

// decode decodes a 2xx body into out; nil out is a route whose answer has
// no body.
func (st *callState) decode(status int, body []byte, out any) error {
	if out == nil {
		return nil
	}
	if b := bytes.TrimSpace(body); len(b) == 0 || string(b) == "null" {
		// A zero-value struct would pass for an answer; it is not one.
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("%d %s with an empty or null body where the API answers an object",
			status, http.StatusText(status))}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("decode response: %w", err)}
	}
	if err := checkDecimals(out); err != nil {
		return &opError{method: st.method, path: st.path, err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}

// callState is one call's state. It rides in the context of the requests
// the call sends (stateOf finds it there), because a request is all that
// go-retryablehttp hands to checkRetry and to the transport.
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
	// allocations down.
	authorized     http.Request
	authorizedUsed bool
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

func (co *core) debug(st *callState, msg string) {
	if co.logger != nil && co.logger.Enabled(st.ctx(), slog.LevelDebug) {
		co.logger.LogAttrs(st.ctx(), slog.LevelDebug, msg, slog.String("method", st.method), slog.String("path", st.path))
	}
}

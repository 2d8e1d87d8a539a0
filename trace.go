package atlas

import (
	"context"
	"net/http"
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

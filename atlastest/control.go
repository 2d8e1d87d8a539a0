package atlastest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ControlPrefix is the path under which the control API answers. The Atlas API lives under
// /api/v1 and never uses it.
const ControlPrefix = "/_atlastest/"

// The control API: what a Go test does through Server methods, a test in any language (or
// another process) does through HTTP. api/atlastest-control.yaml describes it; every
// operation is one line of controlRoutes and a handler below that calls the Server method
// of the same name. Its answers are JSON; its errors have the API's error envelope
// {detail, status_code, errors}. It is never rate limited, faulted or recorded in the
// request log.

// WithControlAPI serves the control API (see ControlHandler) beside the Atlas API: on the
// started server's address and on Handler, under /_atlastest/ (ControlPrefix). Tests in
// other languages and other processes drive the server through it; cmd/atlastest turns it
// on. It answers the test that started the server, not a web page: see ControlHandler for
// who may use it, and WithControlHosts, WithControlToken and WithControlBodyLimit.
func WithControlAPI() Option {
	return func(cfg *config) { cfg.control = true }
}

// ControlHandler is the control API alone, as an http.Handler that answers the paths under
// /_atlastest/ and 404 to anything else: to mount on a mux beside Handler when the server
// was built without WithControlAPI. api/atlastest-control.yaml in the module describes its
// operations:
//
//	GET    /_atlastest/seed                 Seed
//	GET    /_atlastest/clock                Now
//	POST   /_atlastest/clock/advance        Advance             {"duration": "1h"}
//	POST   /_atlastest/faults               FailNext, DropNext, DelayNext
//	DELETE /_atlastest/faults               ClearFaults
//	PUT    /_atlastest/latency              SetLatency
//	PUT    /_atlastest/chaos                SetChaos
//	GET    /_atlastest/requests             Requests
//	DELETE /_atlastest/requests             ResetRequests
//	GET    /_atlastest/deliveries           Deliveries
//	POST   /_atlastest/deliveries/wait      WaitWebhooks, WaitDeliveries (with a timeout)
//	POST   /_atlastest/subscriptions        Subscribe
//	DELETE /_atlastest/subscriptions/{id}   Unsubscribe
//	POST   /_atlastest/reset                Reset
//	GET    /_atlastest/state                SaveState
//	PUT    /_atlastest/state                LoadState
//
// Durations are Go duration strings ("1h30m", "250ms").
//
// It hands out the seeded passwords and moves the clock, so it answers only the test that
// started the server. A request whose Host is not a loopback name or address (localhost,
// 127.0.0.1, ::1), the address the request came in on, the host of URL or one of
// WithControlHosts gets 403, so that a web page cannot reach it through a name of its own
// (DNS rebinding). So does a request a browser sends from another site: an Origin that is
// not the server's own, or Sec-Fetch-Site cross-site or same-site (curl and test clients
// send neither). With WithControlToken, a request without "Authorization: Bearer TOKEN"
// gets 401. A body larger than WithControlBodyLimit (default DefaultControlBodyLimit) gets
// 413 before it is read.
func (s *Server) ControlHandler() http.Handler { return s.control }

// withControl routes the control API's prefix to it and everything else to api.
func (s *Server) withControl(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			s.control.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// controlRoute is one operation of the control API: its pattern relative to
// /_atlastest and its handler.
type controlRoute struct {
	pattern string
	serve   endpoint
}

// controlTable is the table of the control API's operations.
func (s *Server) controlTable() []controlRoute {
	return []controlRoute{
		{"GET /seed", s.controlSeed},
		{"GET /clock", s.controlClock},
		{"POST /clock/advance", s.controlAdvance},
		{"POST /faults", s.controlAddFault},
		{"DELETE /faults", s.controlClearFaults},
		{"PUT /latency", s.controlLatency},
		{"PUT /chaos", s.controlChaos},
		{"GET /requests", s.controlRequests},
		{"DELETE /requests", s.controlResetRequests},
		{"GET /deliveries", s.controlDeliveries},
		{"POST /deliveries/wait", s.controlWait},
		{"POST /subscriptions", s.controlSubscribe},
		{"DELETE /subscriptions/{id}", s.controlUnsubscribe},
		{"POST /reset", s.controlReset},
		{"GET /state", s.controlSaveState},
		{"PUT /state", s.controlLoadState},
	}
}

// controlRoutes serves controlTable, with the error envelope for what it does not have.
func (s *Server) controlRoutes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.controlTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		mux.Handle(method+" "+strings.TrimSuffix(ControlPrefix, "/")+path, s.serve(rt.serve))
	}
	return s.guardControl(unmatched(mux))
}

// noContent is the body of a 204: serve writes none.
type noContent struct{}

// maxControlWait caps the timeout of a wait, so that a forgotten client does not hold a
// request for ever.
const maxControlWait = 10 * time.Minute

// defaultControlWait is the timeout of a wait that gives none.
const defaultControlWait = 30 * time.Second

// fieldErrors collects the problems of a control request, field by field.
type fieldErrors []fieldError

func (fe *fieldErrors) fail(field, msg string) {
	*fe = append(*fe, fieldError{Field: field, Message: msg})
}

// duration reads a Go duration string ("1h30m", "250ms"); "" is zero.
func (fe *fieldErrors) duration(field, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		fe.fail(field, `Input should be a duration such as "1h30m" or "250ms".`)
	}
	return d
}

// err is the 422 of the problems, or nil.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return errValidation(fe...)
}

// readControl decodes the body of a control request into v: at most 1 MiB (or the
// control body limit, when smaller) of one JSON object with no field v does not have. An
// empty body leaves v as it is when optional.
func (s *Server) readControl(r *http.Request, v any, optional bool) error {
	limit := min(int64(maxSmallControlBody), s.cfg.ctl.bodyLimit)
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return bodyError(err)
	}
	if int64(len(raw)) > limit {
		return errTooLarge(limit)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if optional {
			return nil
		}
		return errValidation(fieldError{Field: "body", Message: msgRequired})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return errValidation(fieldError{Field: typeErr.Field, Message: "Input should be a " + typeErr.Value + "."})
		}
		return errBadRequest("The body is not a JSON object of this operation: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("The body has more than one JSON value.")
	}
	return nil
}

func (s *Server) controlSeed(*http.Request) (int, any, error) {
	return http.StatusOK, s.Seed(), nil
}

// clockJSON is the server's time.
type clockJSON struct {
	Now string `json:"now"`
}

func (s *Server) controlClock(*http.Request) (int, any, error) {
	return http.StatusOK, clockJSON{Now: timestamp(s.Now())}, nil
}

func (s *Server) controlAdvance(r *http.Request) (int, any, error) {
	var in struct {
		Duration *string `json:"duration"`
	}
	if err := s.readControl(r, &in, false); err != nil {
		return 0, nil, err
	}
	var fe fieldErrors
	var d time.Duration
	if in.Duration == nil {
		fe.fail("duration", msgRequired)
	} else if d = fe.duration("duration", *in.Duration); len(fe) == 0 && d <= 0 {
		fe.fail("duration", "The clock only moves forward: give a positive duration.")
	}
	if err := fe.err(); err != nil {
		return 0, nil, err
	}
	s.Advance(d)
	return http.StatusOK, clockJSON{Now: timestamp(s.Now())}, nil
}

// faultJSON is a fault to inject into the next requests.
type faultJSON struct {
	Kind         Fault  `json:"kind"`
	Count        *int   `json:"count"`
	Status       int    `json:"status"`
	Delay        string `json:"delay"`
	RetryAfter   string `json:"retry_after"`
	AfterHandler bool   `json:"after_handler"`
	Matching     string `json:"matching"`
}

func (s *Server) controlAddFault(r *http.Request) (int, any, error) {
	var in faultJSON
	if err := s.readControl(r, &in, false); err != nil {
		return 0, nil, err
	}
	var fe fieldErrors
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 {
		fe.fail("count", "Input should be at least 1.")
	}
	delay, retryAfter := fe.duration("delay", in.Delay), fe.duration("retry_after", in.RetryAfter)
	rule := &faultRule{kind: in.Kind, after: in.AfterHandler}
	switch in.Kind {
	case FaultFail:
		if in.Status < 400 || in.Status > 599 {
			fe.fail("status", "Input should be an error status, 400 to 599.")
		}
		if retryAfter < 0 {
			fe.fail("retry_after", "Input should not be negative.")
		}
		rule.status, rule.retryAfter = in.Status, retryAfter
	case FaultDelay:
		if delay <= 0 {
			fe.fail("delay", "Input should be a positive duration.")
		}
		rule.delay = delay
	case FaultDrop:
	case "":
		fe.fail("kind", msgRequired)
	default:
		fe.fail("kind", "Input should be one of: fail, drop, delay.")
	}
	if in.Kind != FaultFail && (in.Status != 0 || in.RetryAfter != "") {
		fe.fail("status", "Only a fail has a status and a retry_after.")
	}
	if in.Kind != FaultDelay && in.Delay != "" {
		fe.fail("delay", "Only a delay has a delay.")
	}
	if in.Matching != "" {
		mux, err := compilePattern(in.Matching)
		if err != nil {
			fe.fail("matching", err.Error())
		}
		rule.pattern, rule.mux = in.Matching, mux
	}
	if err := fe.err(); err != nil {
		return 0, nil, err
	}
	s.faults.add(count, rule, nil)
	return http.StatusNoContent, noContent{}, nil
}

func (s *Server) controlClearFaults(*http.Request) (int, any, error) {
	s.ClearFaults()
	return http.StatusNoContent, noContent{}, nil
}

func (s *Server) controlLatency(r *http.Request) (int, any, error) {
	var in struct {
		Delay        *string `json:"delay"`
		AfterHandler bool    `json:"after_handler"`
		Matching     string  `json:"matching"`
	}
	if err := s.readControl(r, &in, false); err != nil {
		return 0, nil, err
	}
	var fe fieldErrors
	var d time.Duration
	if in.Delay == nil {
		fe.fail("delay", msgRequired)
	} else {
		d = fe.duration("delay", *in.Delay)
	}
	var opts []FaultOption
	if in.Matching != "" {
		if _, err := compilePattern(in.Matching); err != nil {
			fe.fail("matching", err.Error())
		} else {
			opts = append(opts, Matching(in.Matching))
		}
	}
	if err := fe.err(); err != nil {
		return 0, nil, err
	}
	if in.AfterHandler {
		opts = append(opts, AfterHandler())
	}
	s.SetLatency(d, opts...)
	return http.StatusNoContent, noContent{}, nil
}

func (s *Server) controlChaos(r *http.Request) (int, any, error) {
	var in struct {
		Seed             uint64  `json:"seed"`
		FailRate         float64 `json:"fail_rate"`
		DropRate         float64 `json:"drop_rate"`
		SlowRate         float64 `json:"slow_rate"`
		SlowDelay        string  `json:"slow_delay"`
		AfterHandlerRate float64 `json:"after_handler_rate"`
		FailStatuses     []int   `json:"fail_statuses"`
		Matching         string  `json:"matching"`
	}
	if err := s.readControl(r, &in, true); err != nil {
		return 0, nil, err
	}
	var fe fieldErrors
	slow := fe.duration("slow_delay", in.SlowDelay)
	if err := fe.err(); err != nil {
		return 0, nil, err
	}
	err := s.setChaos(Chaos{
		Seed: in.Seed, FailRate: in.FailRate, DropRate: in.DropRate, SlowRate: in.SlowRate,
		SlowDelay: slow, AfterHandlerRate: in.AfterHandlerRate,
		FailStatuses: in.FailStatuses, Matching: in.Matching,
	})
	if err != nil {
		return 0, nil, errValidation(fieldError{Field: "body", Message: err.Error()})
	}
	return http.StatusNoContent, noContent{}, nil
}

// requestJSON is a RecordedRequest on the wire. The body is text when it is UTF-8, and
// base64 in body_base64 otherwise.
type requestJSON struct {
	Time              string              `json:"time"`
	Method            string              `json:"method"`
	Path              string              `json:"path"`
	Query             map[string][]string `json:"query"`
	IdempotencyKey    string              `json:"idempotency_key"`
	Header            map[string][]string `json:"header"`
	Body              *string             `json:"body"`
	BodyBase64        []byte              `json:"body_base64,omitempty"`
	BodyTruncated     bool                `json:"body_truncated"`
	RequestID         string              `json:"request_id"`
	Status            int                 `json:"status"`
	Fault             Fault               `json:"fault"`
	FaultAfterHandler bool                `json:"fault_after_handler"`
	Replayed          bool                `json:"replayed"`
	HandlerStatus     int                 `json:"handler_status"`
}

type requestsJSON struct {
	Items []requestJSON `json:"items"`
}

func (s *Server) controlRequests(*http.Request) (int, any, error) {
	recs := s.Requests()
	out := requestsJSON{Items: make([]requestJSON, len(recs))}
	for i, rec := range recs {
		j := requestJSON{
			Time: timestamp(rec.Time), Method: rec.Method, Path: rec.Path,
			Query: rec.Query, IdempotencyKey: rec.IdempotencyKey, Header: rec.Header,
			BodyTruncated: rec.BodyTruncated, RequestID: rec.RequestID, Status: rec.Status,
			Fault: rec.Fault, FaultAfterHandler: rec.FaultAfterHandler, Replayed: rec.Replayed,
			HandlerStatus: rec.HandlerStatus,
		}
		if j.Query == nil {
			j.Query = map[string][]string{}
		}
		if j.Header == nil {
			j.Header = map[string][]string{}
		}
		if rec.Body != nil {
			if utf8.Valid(rec.Body) {
				b := string(rec.Body)
				j.Body = &b
			} else {
				j.BodyBase64 = rec.Body
			}
		}
		out.Items[i] = j
	}
	return http.StatusOK, out, nil
}

func (s *Server) controlResetRequests(*http.Request) (int, any, error) {
	s.ResetRequests()
	return http.StatusNoContent, noContent{}, nil
}

// deliveryJSON is a Delivery on the wire.
type deliveryJSON struct {
	SubscriptionID string `json:"subscription_id"`
	URL            string `json:"url"`
	EventID        string `json:"event_id"`
	Event          string `json:"event"`
	Attempt        int    `json:"attempt"`
	Time           string `json:"time"`
	Status         int    `json:"status"`
	Error          string `json:"error"`
	OK             bool   `json:"ok"`
}

type deliveriesJSON struct {
	Items []deliveryJSON `json:"items"`
}

func renderDeliveries(ds []Delivery) deliveriesJSON {
	out := deliveriesJSON{Items: make([]deliveryJSON, len(ds))}
	for i, d := range ds {
		out.Items[i] = deliveryJSON{
			SubscriptionID: d.SubscriptionID, URL: d.URL, EventID: d.EventID, Event: d.Event,
			Attempt: d.Attempt, Time: timestamp(d.Time), Status: d.Status, Error: d.Err, OK: d.OK(),
		}
	}
	return out
}

func (s *Server) controlDeliveries(*http.Request) (int, any, error) {
	return http.StatusOK, renderDeliveries(s.Deliveries()), nil
}

func (s *Server) controlWait(r *http.Request) (int, any, error) {
	var in struct {
		Timeout string `json:"timeout"`
		Count   *int   `json:"count"`
	}
	if err := s.readControl(r, &in, true); err != nil {
		return 0, nil, err
	}
	var fe fieldErrors
	timeout := defaultControlWait
	if in.Timeout != "" {
		timeout = fe.duration("timeout", in.Timeout)
		if len(fe) == 0 && (timeout <= 0 || timeout > maxControlWait) {
			fe.fail("timeout", "Input should be a positive duration of at most 10m.")
		}
	}
	if in.Count != nil && *in.Count < 0 {
		fe.fail("count", "Input should not be negative.")
	}
	if err := fe.err(); err != nil {
		return 0, nil, err
	}

	// The wait ends at the timeout, when the client leaves, or when the server closes
	// (Close waits for the requests in flight, this one too).
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	if s.onControlWait != nil {
		s.onControlWait()
	}
	var err error
	if in.Count != nil {
		_, err = s.WaitDeliveries(ctx, *in.Count)
	} else {
		err = s.WaitWebhooks(ctx)
	}
	select {
	case <-s.closing:
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, detail: "The server is shutting down."}
	default:
	}
	if err != nil {
		return 0, nil, &apiError{status: http.StatusRequestTimeout, detail: "The webhooks were not delivered within " + timeout.String() + "."}
	}
	return http.StatusOK, renderDeliveries(s.Deliveries()), nil
}

// eventTypes are the contract's six webhook event types.
var eventTypes = []string{eventInvoiceCreated, eventInvoiceSent, eventInvoicePaid, eventBillApproved, eventPaymentReceived, eventPeriodClosed}

// subscriptionJSON is a subscription on the wire.
type subscriptionJSON struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Server) controlSubscribe(r *http.Request) (int, any, error) {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := s.readControl(r, &in, false); err != nil {
		return 0, nil, err
	}
	var errs []fieldError
	if msg := checkWebhookURL(in.URL); msg != "" {
		errs = append(errs, fieldError{Field: "url", Message: msg})
	}
	for i, e := range in.Events {
		if !slices.Contains(eventTypes, e) {
			errs = append(errs, fieldError{Field: fmt.Sprintf("events.%d", i), Message: "Input should be one of: " + strings.Join(eventTypes, ", ") + "."})
		}
	}
	if len(errs) > 0 {
		return 0, nil, errValidation(errs...)
	}
	id := s.Subscribe(in.URL, in.Events...)
	events := in.Events
	if len(events) == 0 {
		events = eventTypes
	}
	return http.StatusCreated, subscriptionJSON{ID: id, URL: in.URL, Events: events}, nil
}

// checkWebhookURL says what is wrong with a webhook URL, or returns "".
func checkWebhookURL(raw string) string {
	if raw == "" {
		return msgRequired
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "Input should be an absolute http or https URL."
	}
	return ""
}

func (s *Server) controlUnsubscribe(r *http.Request) (int, any, error) {
	if !s.Unsubscribe(r.PathValue("id")) {
		return 0, nil, errNotFound("Subscription")
	}
	return http.StatusNoContent, noContent{}, nil
}

func (s *Server) controlReset(*http.Request) (int, any, error) {
	s.Reset()
	return http.StatusNoContent, noContent{}, nil
}

func (s *Server) controlSaveState(*http.Request) (int, any, error) {
	return http.StatusOK, s.state(), nil
}

func (s *Server) controlLoadState(r *http.Request) (int, any, error) {
	// The state is decoded as it arrives: guardControl's limit stops a body that is too
	// large, and nothing holds a copy of the raw bytes beside the decoder's.
	ld, err := readState(r.Body)
	if err == nil {
		_, err = io.Copy(io.Discard, r.Body) // a body past the limit is refused whole
	}
	if errors.As(err, new(*http.MaxBytesError)) {
		return 0, nil, bodyError(err)
	}
	if err != nil {
		return 0, nil, errValidation(fieldError{Field: "body", Message: err.Error()})
	}
	s.install(ld)
	return http.StatusNoContent, noContent{}, nil
}

// bodyError is the answer to a body that could not be read: 413 past the limit, 400
// otherwise.
func bodyError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge(tooLarge.Limit)
	}
	return errBadRequest("Could not read the request body.")
}

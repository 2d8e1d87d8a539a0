package atlas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors for errors.Is. An *Error matches the one for its status code;
// errors from the client itself (a rate-limit wait that cannot finish before the
// context's deadline, tokens that cannot be renewed) match them too.
var (
	// ErrBadRequest matches a 400: the request was malformed.
	ErrBadRequest = errors.New("atlas: bad request")
	// ErrUnauthorized matches a 401, and a client that can neither refresh its
	// tokens nor log in again.
	ErrUnauthorized = errors.New("atlas: unauthorized")
	// ErrForbidden matches a 403: the user's role or company access does not allow it.
	ErrForbidden = errors.New("atlas: forbidden")
	// ErrNotFound matches a 404.
	ErrNotFound = errors.New("atlas: not found")
	// ErrConflict matches a 409: the resource's state forbids the action, or an
	// Idempotency-Key was reused with a different body.
	ErrConflict = errors.New("atlas: conflict")
	// ErrValidation matches a 422; Error.Errors names the offending fields.
	ErrValidation = errors.New("atlas: validation failed")
	// ErrRateLimited matches a 429, and a rate-limit wait that would outlast
	// the context's deadline.
	ErrRateLimited = errors.New("atlas: rate limited")
	// ErrServer matches any 5xx.
	ErrServer = errors.New("atlas: server error")
	// ErrInvalidConfig matches the error of a constructor (NewClient,
	// NewWebhookHandler, NewMemoryDeduper) given a value it cannot use, as
	// an argument or through an option: the configuration is refused when
	// the client or handler is built, never replaced by a default in
	// silence. ErrInvalidParams is for the parameters of one call.
	ErrInvalidConfig = errors.New("atlas: invalid configuration")
	// ErrCrossOriginRedirect matches a call that the API redirected to
	// another origin (scheme, host or port), which the client never follows:
	// credentials and tokens stay with the API's origin.
	ErrCrossOriginRedirect = errors.New("atlas: redirect to another origin")
)

// Error is a non-2xx answer from the API. Use errors.As to reach it and
// errors.Is with the sentinels (ErrNotFound, ErrValidation, ...) to test its
// kind.
type Error struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Detail is the server's human-readable summary, or, for a body that is
	// not the documented shape, the best summary the client could make of it.
	Detail string
	// Errors lists field-level problems (mostly on 422).
	Errors []FieldError
	// RequestID is the server's X-Request-ID, for support requests.
	RequestID string
	// RetryAfter is the wait the server asked for (Retry-After; for a 429
	// without one, the time left to the window's reset), or 0.
	RetryAfter time.Duration
	// RateLimit is the rate-limit state the response reported.
	RateLimit RateLimit

	// Method and Path name the call that failed (path without the query).
	Method string
	Path   string
	// Attempts is how many times the call was sent (retries, and a replay
	// with a renewed token, included); 0 for an Error the client did not
	// get from the API.
	Attempts int
}

// FieldError is one field-level problem in an Error.
type FieldError struct {
	// Field is the name or dotted path of the offending field or parameter.
	Field string `json:"field"`
	// Message says what is wrong with it.
	Message string `json:"message"`
}

// Error formats the error as "atlas: POST /invoices: 422 Unprocessable Entity:
// amount: Amount must be greater than zero", followed by " (after 3
// attempts)" when the call was sent more than once.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("atlas: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	switch {
	case len(e.Errors) > 0:
		for i, fe := range e.Errors {
			if i == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString("; ")
			}
			if fe.Field != "" {
				b.WriteString(fe.Field)
				b.WriteString(": ")
			}
			b.WriteString(fe.Message)
		}
	case e.Detail != "" && e.Detail != http.StatusText(e.StatusCode):
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	b.WriteString(afterAttempts(e.Attempts))
	return b.String()
}

// Is reports whether target is the sentinel for e's status code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// maxErrorBody caps how much of an error body is read.
const maxErrorBody = 1 << 20

// maxDetail caps a Detail made from a body that is not the documented shape.
const maxDetail = 200

// wireError is the union of the documented error body and FastAPI's two
// shapes. Its parts are decoded one by one, so that one malformed part does
// not hide the others: detail is a string in two shapes and a list in the third.
type wireError struct {
	Detail json.RawMessage `json:"detail"`
	Errors json.RawMessage `json:"errors"`
}

type fastAPIError struct {
	Loc []any  `json:"loc"`
	Msg string `json:"msg"`
}

// parseErrorBody fills e.Detail and e.Errors from a (possibly truncated,
// possibly not JSON) error body. It never fails: the worst case is a Detail
// made from the status text.
func (e *Error) parseErrorBody(body []byte, truncated bool) {
	trimmed := bytes.TrimSpace(body)
	if !truncated && len(trimmed) > 0 && trimmed[0] == '{' {
		var w wireError
		if json.Unmarshal(trimmed, &w) == nil {
			e.fromWire(&w)
			if e.Detail == "" && len(e.Errors) > 0 {
				e.Detail = http.StatusText(e.StatusCode)
			}
			if e.Detail != "" {
				return
			}
		}
	}
	e.Detail = summarize(trimmed, truncated)
	if e.Detail == "" {
		e.Detail = http.StatusText(e.StatusCode)
	}
}

func (e *Error) fromWire(w *wireError) {
	var fields []FieldError
	if json.Unmarshal(w.Errors, &fields) == nil {
		for _, fe := range fields {
			if fe != (FieldError{}) {
				e.Errors = append(e.Errors, fe)
			}
		}
	}
	if len(w.Detail) == 0 || string(w.Detail) == "null" {
		return
	}
	var s string
	if json.Unmarshal(w.Detail, &s) == nil {
		e.Detail = s
		return
	}
	var list []fastAPIError
	if json.Unmarshal(w.Detail, &list) == nil {
		for _, fe := range list {
			e.Errors = append(e.Errors, FieldError{Field: fastAPIField(fe.Loc), Message: fe.Msg})
		}
		e.Detail = "Validation failed"
		return
	}
	// Some other JSON value: keep it short and printable.
	e.Detail = summarize(w.Detail, false)
}

// fastAPIField turns a FastAPI loc such as ["body", "lines", 0, "amount"] into
// "lines.0.amount", dropping the part of the request it names.
func fastAPIField(loc []any) string {
	parts := make([]string, 0, len(loc))
	for i, p := range loc {
		switch v := p.(type) {
		case string:
			if i == 0 && len(loc) > 1 {
				switch v {
				case "body", "query", "path", "header", "cookie":
					continue
				}
			}
			parts = append(parts, v)
		case float64:
			parts = append(parts, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	return strings.Join(parts, ".")
}

// summarize makes a short one-line Detail from a body that is not the
// documented shape: the <title> of an HTML page, else the text with tags and
// runs of space removed, cut to maxDetail runes.
func summarize(body []byte, truncated bool) string {
	if len(body) == 0 {
		return ""
	}
	if title := htmlTitle(body); len(title) > 0 {
		body = title
	}
	var b strings.Builder
	space, inTag, cut := false, false, false
	n := 0
	for len(body) > 0 && n < maxDetail {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		switch {
		case r == '<':
			inTag = true
			continue
		case r == '>' && inTag:
			inTag = false
			space = b.Len() > 0
			continue
		case inTag:
			continue
		case r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r):
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 == maxDetail { // no room for the space and r
				cut = true
				break
			}
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	s := b.String()
	if s != "" && (len(body) > 0 || truncated || cut) {
		s += "..."
	}
	return s
}

func htmlTitle(body []byte) []byte {
	lower := bytes.ToLower(body[:min(len(body), 4096)])
	start := bytes.Index(lower, []byte("<title>"))
	if start < 0 {
		return nil
	}
	start += len("<title>")
	end := bytes.Index(lower[start:], []byte("</title>"))
	if end < 0 {
		return nil
	}
	return bytes.TrimSpace(body[start : start+end])
}

// newError builds the *Error for a non-2xx response whose (capped) body is given;
// rl and retryAfter are what its headers said of the rate limit.
func newError(resp *http.Response, body []byte, truncated bool, rl RateLimit, retryAfter time.Duration, method, path string) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		RequestID:  requestID(resp.Header),
		RateLimit:  rl,
		RetryAfter: retryAfter,
		Method:     method,
		Path:       path,
	}
	e.parseErrorBody(body, truncated)
	return e
}

func requestID(h http.Header) string {
	if v := h["X-Request-Id"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// nilContext is the error for a call given a nil context, which would
// otherwise panic deep inside net/http or the context package.
func nilContext(method, path string) error {
	return &opError{method: method, path: path, err: errors.New("nil context")}
}

// opError names the operation an error happened in, and how many attempts
// it made.
type opError struct {
	method, path string
	err          error
	attempts     int
}

func (e *opError) Error() string {
	return "atlas: " + e.method + " " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "atlas: ") + afterAttempts(e.attempts)
}

// afterAttempts is what an error message says of the attempts a call made:
// nothing for one.
func afterAttempts(n int) string {
	if n <= 1 {
		return ""
	}
	return " (after " + strconv.Itoa(n) + " attempts)"
}

func (e *opError) Unwrap() error { return e.err }

// unwrapURLError drops the *url.Error that net/http wraps transport errors
// in: it repeats the full URL, and the operation is named by opError anyway.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// configError is a value a constructor cannot use. Its message names the
// option or argument ("atlas: WithTier: unknown tier ..."); it matches
// ErrInvalidConfig and, when there is one, its cause.
type configError struct {
	msg   string
	cause error
}

func (e *configError) Error() string { return "atlas: " + e.msg }

func (e *configError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidConfig}
	}
	return []error{ErrInvalidConfig, e.cause}
}

// invalidConfig returns a configError with the message format makes of args.
func invalidConfig(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

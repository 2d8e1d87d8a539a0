package atlas

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  *Error
		want string
	}{
		{"field errors", &Error{StatusCode: 422, Detail: "Validation failed", Errors: []FieldError{{Field: "amount", Message: "Amount must be greater than zero"}}},
			"atlas: 422 Unprocessable Entity: amount: Amount must be greater than zero"},
		{"with operation", &Error{StatusCode: 422, Method: "POST", Path: "/payments", Errors: []FieldError{{Field: "amount", Message: "Amount must be greater than zero"}, {Field: "date", Message: "required"}}},
			"atlas: POST /payments: 422 Unprocessable Entity: amount: Amount must be greater than zero; date: required"},
		{"detail", &Error{StatusCode: 409, Detail: "Invoice is not a draft"}, "atlas: 409 Conflict: Invoice is not a draft"},
		{"detail repeating the status", &Error{StatusCode: 404, Detail: "Not Found"}, "atlas: 404 Not Found"},
		{"unknown status", &Error{StatusCode: 599, Detail: "odd"}, "atlas: 599: odd"},
		{"field without name", &Error{StatusCode: 400, Errors: []FieldError{{Message: "body is not JSON"}}}, "atlas: 400 Bad Request: body is not JSON"},
		{"one attempt", &Error{StatusCode: 404, Detail: "Invoice not found", Method: "GET", Path: "/invoices/x", Attempts: 1},
			"atlas: GET /invoices/x: 404 Not Found: Invoice not found"},
		{"attempts", &Error{StatusCode: 503, Detail: "try again", Method: "GET", Path: "/invoices/x", Attempts: 5},
			"atlas: GET /invoices/x: 503 Service Unavailable: try again (after 5 attempts)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}

func TestErrorIsMatchesItsSentinelOnly(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrValidation, ErrRateLimited, ErrServer}
	cases := map[int]error{
		400: ErrBadRequest, 401: ErrUnauthorized, 403: ErrForbidden, 404: ErrNotFound, 409: ErrConflict,
		422: ErrValidation, 429: ErrRateLimited, 500: ErrServer, 502: ErrServer, 503: ErrServer, 418: nil,
	}
	for status, want := range cases {
		err := &opError{method: "GET", path: "/x", err: &Error{StatusCode: status}} // through a wrapper, as callers see it
		for _, s := range sentinels {
			//nolint:errorlint // which sentinel of the table the case names, by identity: not a match of an error
			assert.Equal(t, s == want, errors.Is(err, s), "status %d vs %v", status, s)
		}
	}
}

// oddBodies are error bodies that are not the documented shape.
var oddBodies = []struct {
	name        string
	contentType string
	body        []byte
	status      int
	detail      string // want Detail to contain this
	fields      []FieldError
}{
	{"documented", "application/json", []byte(`{"detail":"Validation failed","status_code":422,"errors":[{"field":"amount","message":"Amount must be greater than zero"}]}`), 422,
		"Validation failed", []FieldError{{"amount", "Amount must be greater than zero"}}},
	{"fastapi string", "application/json", []byte(`{"detail":"Invoice not found"}`), 404, "Invoice not found", nil},
	{"fastapi list", "application/json", []byte(`{"detail":[{"loc":["body","lines",0,"amount"],"msg":"field required","type":"value_error.missing"},{"loc":["query","company_id"],"msg":"bad uuid","type":"type_error"}]}`), 422,
		"Validation failed", []FieldError{{"lines.0.amount", "field required"}, {"company_id", "bad uuid"}}},
	{"fastapi odd loc", "application/json", []byte(`{"detail":[{"loc":[true,null,{"a":1}],"msg":"weird"},{"msg":"no loc"}]}`), 422, "Validation failed", []FieldError{{"", "weird"}, {"", "no loc"}}},
	{"detail object", "application/json", []byte(`{"detail":{"reason":"quota"}}`), 403, `{"reason":"quota"}`, nil},
	{"detail number, errors not a list", "application/json", []byte(`{"detail":12,"errors":"nope"}`), 400, "12", nil},
	{"errors without detail", "application/json", []byte(`{"errors":[{"field":"name","message":"too long"},{"bogus":1}]}`), 422, "Unprocessable Entity", []FieldError{{"name", "too long"}}},
	{"html proxy page", "text/html", []byte("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>nginx</p></body></html>"), 502, "502 Bad Gateway", nil},
	{"html without title", "text/html", []byte("<html><body><h1>Service\n\n  Unavailable</h1></body></html>"), 503, "Service Unavailable", nil},
	{"plain text", "text/plain", []byte("upstream connect error or disconnect/reset before headers"), 503, "upstream connect error", nil},
	{"empty", "", nil, 500, "Internal Server Error", nil},
	{"whitespace", "application/json", []byte(" \n\t "), 500, "Internal Server Error", nil},
	{"truncated json", "application/json", []byte(`{"detail":"Validation failed","status_code":422,"errors":[{"field":"am`), 422, `{"detail":"Validation failed"`, nil},
	{"json array", "application/json", []byte(`[1,2,3]`), 400, "[1,2,3]", nil},
	{"json null", "application/json", []byte(`null`), 400, "null", nil},
	{"binary", "application/octet-stream", []byte{0xff, 0xfe, 0x00, 0x01, 'o', 'k'}, 500, "ok", nil},
	{"ten megabytes", "application/json", append([]byte(`{"detail":"`), bytes.Repeat([]byte("x"), 10<<20)...), 500, "xxxxxxxx...", nil},
}

func TestOddErrorBodiesGiveAUsefulError(t *testing.T) {
	t.Parallel()
	for _, tc := range oddBodies {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.Header().Set("X-Request-Id", "req-123")
				w.WriteHeader(tc.status)
				_, _ = w.Write(tc.body)
			}))
			t.Cleanup(srv.Close)
			c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 0})))

			_, err := c.Companies.Get(context.Background(), "c-1")
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Contains(t, apiErr.Detail, tc.detail)
			assert.LessOrEqual(t, len(apiErr.Detail), 4*maxDetail+len("..."), "a summary, not the body")
			assert.Equal(t, tc.fields, apiErr.Errors)
			assert.Equal(t, "req-123", apiErr.RequestID)
			assert.Equal(t, "GET", apiErr.Method)
			assert.Equal(t, "/companies/c-1", apiErr.Path)
			assert.NotEmpty(t, err.Error())
		})
	}
}

// A body that fails half way still gives an *Error with what arrived.
func TestErrorBodyCutOffMidStream(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><title>Bad gateway from the proxy</title>")
		// The handler returns with 950 bytes unsent: the connection is cut.
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 0})))
	_, err := c.Companies.Get(context.Background(), "c-1")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.Contains(t, apiErr.Detail, "Bad gateway from the proxy")
}

func TestRetryAfterAndRateLimitOnError(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(30 * time.Second).Truncate(time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "12")
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 0})))
	_, err := c.Companies.Get(context.Background(), "c-1")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 12*time.Second, apiErr.RetryAfter)
	assert.Equal(t, RateLimit{Limit: 60, Remaining: 0, Reset: reset}, apiErr.RateLimit)
}

func FuzzErrorBody(f *testing.F) {
	for _, tc := range oddBodies {
		if len(tc.body) < 4096 {
			f.Add(tc.body, false)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, truncated bool) {
		e := &Error{StatusCode: 422}
		e.parseErrorBody(body, truncated)
		if e.Detail == "" && len(e.Errors) == 0 {
			t.Fatalf("no detail and no field errors for %q", body)
		}
		_ = e.Error()
	})
}

// An error says how many attempts the call made: the Attempts field, and
// "after N attempts" in its message when there was more than one, for an
// answer from the API and for a transport error alike.
func TestErrorsSayHowManyAttempts(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := []struct {
		name     string
		statuses []int
		base     string // a server that is gone, instead
		attempts int
		status   int // 0: a transport error
	}{
		{"one attempt", []int{404}, "", 1, 404},
		{"retried, then an answer that is not retried", []int{503, 502, 422}, "", 3, 422},
		{"retries run out", []int{503, 503, 503, 503, 503}, "", 4, 503},
		{"transport error, retries run out", nil, closed.URL, 4, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			on := OnURL(tc.base)
			if tc.base == "" {
				srv, _ := statusSequence(t, tc.statuses...)
				on = OnMem(srv, "")
			}
			c, _ := Setup(t, on, ClientOptions(WithTokens("tok", "")))
			_, err := c.Companies.Get(context.Background(), "c-1")
			require.Error(t, err)
			suffix := " (after " + strconv.Itoa(tc.attempts) + " attempts)"
			if tc.attempts == 1 {
				assert.NotContains(t, err.Error(), "attempts")
			} else {
				assert.True(t, strings.HasSuffix(err.Error(), suffix), err.Error())
			}
			var apiErr *Error
			if tc.status == 0 {
				assert.False(t, errors.As(err, &apiErr))
				assert.Contains(t, err.Error(), "refused")
				return
			}
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.attempts, apiErr.Attempts)
		})
	}
}

// A call replayed with a renewed token counts the replay as an attempt.
func TestAttemptsCountTheReplayAfterA401(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /missing", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not here")
	})
	c, _ := Setup(t, onFake(f))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)
	f.expireAccessTokens()
	_, err = call[struct{}](context.Background(), c, Request{Path: "/missing"}, requestConfig{})
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 2, apiErr.Attempts, "the 401 and the replay")
	assert.Equal(t, "atlas: GET /missing: 404 Not Found: Not here (after 2 attempts)", err.Error())
}

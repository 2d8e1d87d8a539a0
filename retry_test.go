package atlas

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusSequence answers with the given statuses in turn, then 200. It is
// on the in-memory network (newMemServer): reach it with OnMem.
func statusSequence(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			writeError(w, statuses[i], http.StatusText(statuses[i]))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	return srv, &n
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		method     string
		status     int
		maxRetries int
		attempts   int
		ok         bool
	}{
		{"GET 503 recovers", http.MethodGet, 503, 3, 2, true},
		{"GET 502 recovers", http.MethodGet, 502, 3, 2, true},
		{"GET 504 recovers", http.MethodGet, 504, 3, 2, true},
		{"GET 500 recovers", http.MethodGet, 500, 3, 2, true},
		{"POST 500 recovers (it has a key)", http.MethodPost, 500, 3, 2, true},
		{"PATCH 500 is not retried", http.MethodPatch, 500, 3, 1, false},
		{"PATCH 503 recovers", http.MethodPatch, 503, 3, 2, true},
		{"GET 404 is final", http.MethodGet, 404, 3, 1, false},
		{"GET 422 is final", http.MethodGet, 422, 3, 1, false},
		{"POST 409 is final", http.MethodPost, 409, 3, 1, false},
		{"MaxRetries 0 disables", http.MethodGet, 503, 0, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := statusSequence(t, tc.status)
			policy := fastRetry
			policy.MaxRetries = tc.maxRetries
			if tc.maxRetries == 0 {
				policy = RetryPolicy{}
			}
			c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(policy)))
			_, err := call[struct{}](context.Background(), c, Request{Method: tc.method, Path: "/x"}, requestConfig{})
			assert.EqualValues(t, tc.attempts, n.Load())
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
		})
	}
}

func TestRetriesRunOutWithTheLastAnswer(t *testing.T) {
	t.Parallel()
	srv, n := statusSequence(t, 503, 503, 502, 504, 503, 503)
	c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
	_, err := c.Companies.Get(context.Background(), "c-1")
	assert.EqualValues(t, 4, n.Load(), "the first attempt and 3 retries")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 504, apiErr.StatusCode)
	assert.ErrorIs(t, err, ErrServer)
}

// cancelAfterAnswer is a transport that reads an answer to its end and then
// ends the call's context, as a caller that gives up just as the answer
// arrives would.
type cancelAfterAnswer struct {
	base   http.RoundTripper
	cancel context.CancelFunc
}

func (c *cancelAfterAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.cancel()
	return resp, nil
}

// A call whose context ends once an answer that would be retried has
// arrived is not retried, and fails with that answer: the server's 503, not
// a cancellation in its place (checkRetry's nil error when ctx has ended).
func TestRetryStopsWithTheAnswerWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	srv, n := statusSequence(t, 503, 503)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithHTTPClient(&http.Client{Transport: &cancelAfterAnswer{base: srv.Client().Transport, cancel: cancel}})))
	_, err := c.Companies.Get(ctx, "c-1")
	assert.EqualValues(t, 1, n.Load(), "no retry once the context has ended")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Equal(t, 1, apiErr.Attempts)
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		}
		writeJSON(w, http.StatusOK, Company{ID: "c-1", FiscalYearStart: Date{2026, 1, 1}})
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
	co, err := c.Companies.Get(context.Background(), "c-1")
	require.NoError(t, err)
	assert.Equal(t, "c-1", co.ID)
}

func TestConnectionRefusedGivesUpWithTheCause(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, _ := Setup(t, OnURL(base), ClientOptions(WithTokens("tok", "")))
	_, err := c.Companies.Get(context.Background(), "c-1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "atlas: GET /companies/c-1: ")
	assert.Contains(t, err.Error(), "refused")
}

// Cancelling the context while the client waits out a backoff returns at
// once, wrapping context.Canceled.
func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		srv, n := statusSequence(t, 503, 503)
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 3, MinBackoff: time.Hour, MaxBackoff: time.Hour})))
		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error {
			_, err := c.Companies.Get(ctx, "c-1")
			return err
		})
		// The backoff, with jitter, is at least half of MinBackoff: the
		// retry has not gone out half an hour later.
		time.Sleep(30*time.Minute - time.Nanosecond)
		synctest.Wait()
		require.EqualValues(t, 1, n.Load(), "waiting out the backoff")
		require.Empty(t, done)

		start := time.Now()
		cancel()
		err := <-done
		assert.Zero(t, time.Since(start), "returns at once")
		assert.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "atlas: GET /companies/c-1")
		assert.EqualValues(t, 1, n.Load())
	})
}

func TestBackoffPastTheDeadlineReturnsTheAnswerAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, n := statusSequence(t, 503)
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 3, MinBackoff: time.Hour, MaxBackoff: time.Hour})))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		_, err := c.Companies.Get(ctx, "c-1")
		assert.ErrorIs(t, err, ErrServer)
		assert.EqualValues(t, 1, n.Load())
		assert.Zero(t, time.Since(start), "no wait")
	})
}

func TestServerRetryAfterOn503IsHonoured(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "3")
				writeError(w, http.StatusServiceUnavailable, "maintenance")
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 1, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Second})))
		start := time.Now()
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		assert.Equal(t, 3*time.Second, time.Since(start), "the server's Retry-After, not the 1ms backoff")
		assert.EqualValues(t, 2, n.Load())
	})
}

// go-retryablehttp sleeps the wait between attempts outside the HTTP
// client: http.Client.Timeout bounds each attempt, not the backoff.
func TestHTTPClientTimeoutDoesNotCountTheBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, n := statusSequence(t, 503)
		hc := &http.Client{Transport: srv.Client().Transport, Timeout: time.Minute}
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithHTTPClient(hc), WithTokens("tok", ""),
			WithRetry(RetryPolicy{MaxRetries: 1, MinBackoff: time.Hour, MaxBackoff: time.Hour})))
		start := time.Now()
		_, err := c.Companies.Get(context.Background(), "c-1")
		require.NoError(t, err)
		assert.EqualValues(t, 2, n.Load())
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Minute, "the backoff was slept")
	})
}

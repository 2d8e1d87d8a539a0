package atlas

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// An attempt that gets no answer within WithAttemptTimeout is retried with
// the same Idempotency-Key, whether the server had not acted yet or had
// acted and was slow to answer, and the create is made once.
func TestAttemptTimeoutRetriesASlowAnswerWithTheSameKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after bool
	}{
		{"slow before acting", false},
		{"acted, answer slow", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			srv := atlastest.NewServer()
			t.Cleanup(srv.Close)
			c := newClientOn(t, srv, WithAttemptTimeout(300*time.Millisecond))
			ctx := context.Background()
			_, err := c.Auth.Me(ctx) // log in before the fault
			require.NoError(t, err)

			opts := []atlastest.FaultOption{atlastest.Matching("POST /contacts/customers")}
			if tc.after {
				opts = append(opts, atlastest.AfterHandler())
			}
			srv.DelayNext(1, time.Minute, opts...) // ended early when the client gives up
			created, err := c.Customers.Create(ctx, &CustomerCreateParams{DisplayName: "Slowpoke Ltd"})
			require.NoError(t, err)
			srv.Close() // every handler has finished: the log is complete

			var attempts, ran int
			var keys []string
			for _, r := range srv.Requests() {
				if r.Method != http.MethodPost || r.Path != "/contacts/customers" {
					continue
				}
				attempts++
				keys = append(keys, r.IdempotencyKey)
				if r.HandlerStatus == http.StatusCreated {
					ran++
				}
			}
			assert.Equal(t, 2, attempts, "the slow attempt and its retry")
			require.Len(t, keys, 2)
			assert.NotEmpty(t, keys[0])
			assert.Equal(t, keys[0], keys[1], "one key across the retry")
			assert.Equal(t, 1, ran, "the customer was created once")
			assert.NotEmpty(t, created.ID)
		})
	}
}

// When every attempt runs out, the error names the timeout and matches
// context.DeadlineExceeded, though the caller's ctx is alive.
func TestAttemptTimeoutGivesUpWithAClearError(t *testing.T) {
	verifyNoLeaks(t)
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	c := newClientOn(t, srv, WithAttemptTimeout(100*time.Millisecond))
	ctx := context.Background()
	_, err := c.Auth.Me(ctx)
	require.NoError(t, err)

	srv.DelayNext(fastRetry.MaxRetries+1, time.Minute, atlastest.Matching("GET /auth/me"))
	_, err = c.Auth.Me(ctx)
	require.Error(t, err)
	assert.Equal(t, "atlas: GET /auth/me: no complete answer within the attempt timeout of 100ms", err.Error())
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	srv.Close()
	n := 0
	for _, r := range srv.Requests() {
		if r.Path == "/auth/me" {
			n++
		}
	}
	assert.Equal(t, 1+fastRetry.MaxRetries+1, n, "the first call and every attempt of the second")
}

// The HTTP client's own Timeout is retried too, while the caller's ctx lives.
func TestHTTPClientTimeoutIsRetried(t *testing.T) {
	verifyNoLeaks(t)
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := newClientOn(t, srv, WithHTTPClient(&http.Client{Transport: tr, Timeout: 300 * time.Millisecond}))
	ctx := context.Background()
	_, err := c.Auth.Me(ctx)
	require.NoError(t, err)

	srv.DelayNext(1, time.Minute, atlastest.Matching("GET /auth/me"))
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)
}

// A body that stalls past the attempt timeout ends the call with an error
// naming the timeout (the answer has begun, so it is not retried).
func TestAttemptTimeoutCutsAStalledBody(t *testing.T) {
	verifyNoLeaks(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := newClientFor(t, srv.URL+"/api/v1", WithTokens("tok", ""), WithAttemptTimeout(100*time.Millisecond))
	_, err := c.Companies.Get(context.Background(), "c-1")
	require.Error(t, err)
	assert.Equal(t, "atlas: GET /companies/c-1: read response: no complete answer within the attempt timeout of 100ms", err.Error())
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
}

func TestWithAttemptTimeoutRefusesANegativeTimeout(t *testing.T) {
	_, err := NewClient(WithAttemptTimeout(-time.Second))
	require.EqualError(t, err, "atlas: WithAttemptTimeout: negative timeout")
}

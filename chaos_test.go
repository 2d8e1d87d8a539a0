package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// An attempt that gets no answer within WithAttemptTimeout is retried with
// the same Idempotency-Key, whether the server had not acted yet or had
// acted and was slow to answer, and the create is made once.
//
// Not parallel: each case checks for leaked goroutines (verifyNoLeaks).
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
			synctest.Test(t, func(t *testing.T) {
				srv := atlastest.NewTestServer(t)
				c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithAttemptTimeout(300*time.Millisecond)))
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
		})
	}
}

// When every attempt runs out, the error names the timeout and matches
// context.DeadlineExceeded, though the caller's ctx is alive.
func TestAttemptTimeoutGivesUpWithAClearError(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithAttemptTimeout(100*time.Millisecond)))
		ctx := context.Background()
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)

		srv.DelayNext(fastRetry.MaxRetries+1, time.Minute, atlastest.Matching("GET /auth/me"))
		_, err = c.Auth.Me(ctx)
		require.Error(t, err)
		assert.Equal(t, "atlas: GET /auth/me: no complete answer within the attempt timeout of 100ms (after 4 attempts)", err.Error())
		assert.True(t, errors.Is(err, context.DeadlineExceeded))
		srv.Close()
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == "/auth/me" {
				n++
			}
		}
		assert.Equal(t, 1+fastRetry.MaxRetries+1, n, "the first call and every attempt of the second")
	})
}

// The HTTP client's own Timeout is retried too, while the caller's ctx lives.
func TestHTTPClientTimeoutIsRetried(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithHTTPClient(&http.Client{Transport: srv.Client().Transport, Timeout: 300 * time.Millisecond})))
		ctx := context.Background()
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)

		srv.DelayNext(1, time.Minute, atlastest.Matching("GET /auth/me"))
		_, err = c.Auth.Me(ctx)
		require.NoError(t, err)
	})
}

// A body that stalls past the attempt timeout fails the attempt, which is
// retried as a dropped connection is; when every attempt stalls, the error
// names the timeout and the attempts.
func TestAttemptTimeoutCutsAStalledBody(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"id":`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		c, _ := Setup(t, OnMem(srv, "/api/v1"), ClientOptions(WithTokens("tok", ""), WithAttemptTimeout(100*time.Millisecond)))
		_, err := c.Companies.Get(context.Background(), "c-1")
		require.Error(t, err)
		assert.Equal(t, fmt.Sprintf("atlas: GET /companies/c-1: read response: no complete answer within the attempt timeout of 100ms (after %d attempts)",
			fastRetry.MaxRetries+1), err.Error())
		assert.True(t, errors.Is(err, context.DeadlineExceeded))
		assert.EqualValues(t, fastRetry.MaxRetries+1, n.Load())
	})
}

func TestWithAttemptTimeoutRefusesANegativeTimeout(t *testing.T) {
	t.Parallel()
	_, err := NewClient(WithAttemptTimeout(-time.Second))
	require.EqualError(t, err, "atlas: WithAttemptTimeout: negative timeout")
}

// TestChaos: the server fails 20% of requests with a 5xx, drops 5% of
// connections and holds 5% of answers for longer than the client's attempt
// timeout, half of these faults coming after it acted (the create is made,
// its answer lost or late). 16 goroutines run 500 mixed operations on one
// client. Every operation ends within the retry budget, in success or in a
// clear error (the last 5xx, a dropped connection, the attempt timeout:
// never a 4xx, which would mean a retry that was not a faithful repeat), and
// the server holds exactly one resource for every create that succeeded and
// never two for any create.
func TestChaos(t *testing.T) {
	// In a bubble: a goroutine it left behind would fail it (synctest.Test
	// waits for them all), so it can run beside the other tests.
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const (
			goroutines     = 16
			ops            = 500
			attemptTimeout = 250 * time.Millisecond
		)
		srv := atlastest.NewTestServer(t, atlastest.WithRequestLog(100_000))
		retry := RetryPolicy{MaxRetries: 4, MinBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithAttemptTimeout(attemptTimeout), WithRetry(retry)))
		w := newWorkload(t, srv, c, srv.CompanyID()) // logs in before the chaos
		srv.ResetRequests()
		srv.SetChaos(atlastest.Chaos{
			Seed:             7,
			FailRate:         0.20,
			DropRate:         0.05,
			SlowRate:         0.05,
			SlowDelay:        time.Minute, // ends when the client gives up
			AfterHandlerRate: 0.5,
		})

		start := time.Now()
		errs := w.run(context.Background(), goroutines, ops, 7)
		elapsed := time.Since(start)
		srv.SetChaos(atlastest.Chaos{})

		for _, err := range errs {
			t.Log("failed within the retry budget:", err)
			var apiErr *Error
			switch {
			case errors.As(err, &apiErr):
				assert.GreaterOrEqual(t, apiErr.StatusCode, 500, "%v", err)
			case errors.Is(err, context.DeadlineExceeded):
				assert.Contains(t, err.Error(), "attempt timeout", "%v", err)
			default:
				assert.Contains(t, err.Error(), "EOF", "a dropped connection: %v", err)
			}
		}
		faults := map[string]int{}
		requests := 0
		for _, r := range srv.Requests() {
			requests++
			if r.Fault != "" {
				k := string(r.Fault)
				if r.FaultAfterHandler {
					k += " after acting"
				}
				faults[k]++
			}
		}
		succeeded, failed := w.checkExactlyOnce(t)
		t.Logf("%d operations by %d goroutines in %s of the bubble's time: %d failed; %d requests, faults %v; creates: %d succeeded, %d failed",
			ops, goroutines, elapsed.Round(time.Millisecond), len(errs), requests, faults, succeeded, failed)
		for _, kind := range []string{"fail", "drop", "delay", "fail after acting", "drop after acting", "delay after acting"} {
			assert.Positive(t, faults[kind], "the chaos injected %s", kind)
		}
		assert.Less(t, len(errs), ops/20, "the retry budget absorbs nearly every fault")
	})
}

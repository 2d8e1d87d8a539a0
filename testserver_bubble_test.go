package atlas_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// These tests run the SDK against atlastest.NewTestServer inside synctest bubbles: hours
// of the API's time pass in milliseconds, and exactly, because the bubble's clock jumps
// whenever every goroutine waits. Each logs the real time it took.

// newBubbleClient is a client of srv, built as the README shows.
func newBubbleClient(t *testing.T, srv *atlastest.Server, opts ...atlas.Option) *atlas.Client {
	t.Helper()
	c, err := atlas.NewClient(append([]atlas.Option{
		atlas.WithBaseURL(srv.URL),
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Seed().Email, srv.Seed().Password),
		atlas.WithCompany(srv.CompanyID()),
	}, opts...)...)
	require.NoError(t, err)
	return c
}

// countRequests counts the requests srv logged with the given method and path, and those
// among them that got the given status.
func countRequests(srv *atlastest.Server, method, path string, status int) (all, withStatus int) {
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			all++
			if r.Status == status {
				withStatus++
			}
		}
	}
	return all, withStatus
}

func TestBubbleClientRenewsItsTokenAcrossHoursOfTheAPIsTime(t *testing.T) {
	t.Parallel()
	began := time.Now()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t) // access tokens live an hour, as on Atlas
		c := newBubbleClient(t, srv)
		start := time.Now()
		// A call a minute for three hours: every token the client holds expires on the
		// server an hour after it was issued.
		for range 3 * 60 {
			_, err := c.Auth.Me(t.Context())
			require.NoError(t, err)
			time.Sleep(time.Minute)
		}
		assert.Equal(t, 3*time.Hour, time.Since(start), "the bubble's clock")
		assert.Equal(t, 3*time.Hour, srv.Now().Sub(start), "the server's clock is the bubble's")

		logins, _ := countRequests(srv, http.MethodPost, "/auth/login", http.StatusOK)
		refreshes, renewed := countRequests(srv, http.MethodPost, "/auth/refresh", http.StatusOK)
		mes, refused := countRequests(srv, http.MethodGet, "/auth/me", http.StatusUnauthorized)
		assert.Equal(t, 1, logins, "one login, then refreshes")
		var renewals []time.Duration
		for _, r := range srv.Requests() {
			if r.Path == "/auth/refresh" {
				renewals = append(renewals, r.Time.Sub(start))
			}
		}
		// The client renews a token a minute before it expires (a tenth of its
		// lifetime, at most a minute), so each token lives 59 minutes of calls.
		assert.Equal(t, []time.Duration{59 * time.Minute, 118 * time.Minute, 177 * time.Minute}, renewals)
		assert.Equal(t, refreshes, renewed)
		assert.Equal(t, 3*60, mes, "no call was replayed")
		assert.Zero(t, refused, "the client renewed each token before the server refused it")
	})
	t.Logf("three hours of the API's time, 180 calls: %v of real time", time.Since(began))
}

func TestBubbleBurstPastThePlansLimitWaitsForTheNextWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []atlas.Option
		// paced: the client knows the plan and never gets a 429.
		paced bool
	}{
		{name: "the limit learned from the answers"},
		{name: "WithTier", opts: []atlas.Option{atlas.WithTier(atlas.TierStandard)}, paced: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			synctest.Test(t, func(t *testing.T) {
				// The standard plan: 60 requests a minute, bursts of 10.
				srv := atlastest.NewTestServer(t, atlastest.WithPlan(atlastest.TierStandard, 0))
				c := newBubbleClient(t, srv, tc.opts...)
				_, err := c.Auth.Me(t.Context()) // log in first: login counts apart
				require.NoError(t, err)
				window := time.Now().Truncate(time.Minute)

				const workers, each = 10, 8 // 80 calls, 20 past the window's limit
				var wg sync.WaitGroup
				errs := make(chan error, workers*each)
				for range workers {
					wg.Go(func() {
						for range each {
							if _, err := c.Auth.Me(t.Context()); err != nil {
								errs <- err
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("a call failed instead of waiting: %v", err)
				}

				perWindow := map[int64]int{} // by the window's start, in Unix seconds
				limited := 0
				for _, r := range srv.Requests() {
					if r.Path != "/auth/me" {
						continue
					}
					if r.Status == http.StatusTooManyRequests {
						limited++
						continue
					}
					assert.Equal(t, http.StatusOK, r.Status)
					perWindow[r.Time.Truncate(time.Minute).Unix()]++
				}
				total := 0
				for start, n := range perWindow {
					assert.LessOrEqual(t, n, 60, "answered in the window from %v", time.Unix(start, 0).UTC())
					total += n
				}
				assert.Equal(t, 1+workers*each, total, "every call was answered once")
				assert.Positive(t, perWindow[window.Add(time.Minute).Unix()], "the calls past the limit waited for the next window")
				assert.GreaterOrEqual(t, time.Since(window), time.Minute, "the bubble's clock crossed into the next window")
				if tc.paced {
					assert.Zero(t, limited, "a client paced to the plan got a 429")
				}
				t.Logf("%d answers of 429 on the way", limited)
			})
			t.Logf("a minute's rate-limit window, 81 calls: %v of real time", time.Since(began))
		})
	}
}

func TestBubbleWebhookIsRedeliveredAfterTheRetryDelay(t *testing.T) {
	t.Parallel()
	began := time.Now()
	synctest.Test(t, func(t *testing.T) {
		const retryDelay = 30 * time.Minute
		srv := atlastest.NewTestServer(t, atlastest.WithWebhookRetry(3, retryDelay))

		var mu sync.Mutex
		var calls []time.Time
		h, err := atlas.NewWebhookHandler(srv.WebhookSecret(), func(_ context.Context, ev *atlas.WebhookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Now())
			if len(calls) == 1 {
				return errors.New("the database is down") // a 500: Atlas retries later
			}
			if ev.Type != atlas.EventPeriodClosed {
				return errors.New("unexpected event " + string(ev.Type))
			}
			return nil
		})
		require.NoError(t, err)
		_, err = srv.SubscribeHandler(h, string(atlas.EventPeriodClosed))
		require.NoError(t, err)

		c := newBubbleClient(t, srv)
		periods, err := c.Periods.List(t.Context(), nil)
		require.NoError(t, err)
		require.NotEmpty(t, periods.Items)
		_, err = c.Periods.Close(t.Context(), periods.Items[0].ID)
		require.NoError(t, err)
		closed := time.Now()

		require.NoError(t, srv.WaitWebhooks(t.Context()))
		got := srv.Deliveries()
		require.Len(t, got, 2)
		assert.Equal(t, http.StatusInternalServerError, got[0].Status)
		assert.Equal(t, http.StatusNoContent, got[1].Status)
		assert.Equal(t, retryDelay, got[1].Time.Sub(got[0].Time), "the server's retry delay")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, calls, 2)
		assert.Equal(t, closed, calls[0], "delivered at once")
		assert.Equal(t, closed.Add(retryDelay), calls[1], "redelivered after the retry delay")
	})
	t.Logf("a webhook retried after half an hour of the API's time: %v of real time", time.Since(began))
}

package atlas

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestWithRateLimitRefusesNonPositiveValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		limit, burst int
		window       time.Duration
	}{
		{"zero limit", 0, 1, time.Second},
		{"negative burst", 10, -1, time.Second},
		{"zero burst", 10, 0, time.Second},
		{"zero window", 10, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(WithRateLimit(tc.limit, tc.burst, tc.window))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "atlas: WithRateLimit:")
		})
	}
}

// WithRateLimit runs the plan's bucket at limit per window: a burst (less a
// spare token) goes at once, then one request every window/limit.
func TestWithRateLimitPacesToTheCustomPlan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRateLimit(40, 4, 2*time.Second)))
		start := time.Now()
		for range 3 {
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			require.NoError(t, err, "the burst of 4, less one spare, goes at once")
		}
		assert.Zero(t, time.Since(start), "no wait")

		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "40 per 2s: one every 50ms after the burst")
		assert.EqualValues(t, 4, n.Load())
	})
}

// The last of WithTier and WithRateLimit wins.
func TestWithRateLimitAndWithTierLastWins(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithTier(TierEnterprise), WithRateLimit(6, 2, time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, c.core.pacer.bucket.Burst(), "2 less one spare")
	assert.InDelta(t, 0.1, float64(c.core.pacer.bucket.Limit()), 1e-9)

	c, err = NewClient(WithRateLimit(6, 2, time.Minute), WithTier(TierEnterprise))
	require.NoError(t, err)
	assert.Equal(t, 90, c.core.pacer.bucket.Burst(), "100 less a tenth")
	assert.InDelta(t, 1000.0/60, float64(c.core.pacer.bucket.Limit()), 1e-9)
}

func TestBurstMargin(t *testing.T) {
	t.Parallel()
	for burst, want := range map[int]int{1: 0, 2: 1, 10: 1, 19: 1, 20: 2, 50: 5, 100: 10} {
		assert.Equal(t, want, PlanLimits{PerMinute: 60, Burst: burst}.Margin(), "burst %d", burst)
	}
}

// Iterating with All holds the current page and the prefetched next one, not
// what came before: the live heap it adds stays near two pages however far it
// goes. (BenchmarkAllMemory measures 100,000 invoices.)
//
// Not parallel: it measures the process's live heap, which another test's
// allocations would move.
func TestAllLiveHeapStaysNearTwoPages(t *testing.T) {
	verifyNoLeaks(t)
	h := measureAllHeap(t, 5_000, 4)
	page := float64(h.page)
	median, most := float64(h.settledMedian())/page, float64(h.settledMax())/page
	t.Logf("page %d B; settled live heap: median %.2f pages, max %.2f; transient max %.2f pages",
		h.page, median, most, float64(h.transient)/page)
	assert.LessOrEqual(t, median, 2.6, "the current page and the next")
	assert.LessOrEqual(t, most, 5.0, "nothing accumulates")
}

// atlastest without a rate limit never holds a client back, however many
// requests it makes in a minute: the client counts its requests down from the
// X-RateLimit-Limit the server announces, and would otherwise wait for the
// window's end (a wait past ctx's deadline fails at once).
func TestAtlastestWithoutALimitNeverHoldsTheClientBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The server's minute ends after the client's deadline, whatever the time.
		c, srv := Setup(t, InBubble(), ServerOptions(atlastest.WithClock(atlastest.FixedClock(time.Now().Add(time.Hour)))))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 300 {
					if _, err := c.Companies.Get(ctx, srv.CompanyID()); err != nil {
						t.Errorf("goroutine %d, request %d: %v", g, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, time.Since(start), "nothing held the client back")
	})
}

// WithConcurrency fetches pages in parallel within the client's rate-limit
// budget: against a server that enforces the plan, no page gets a 429, and
// the items still come in order.
func TestAllWithConcurrencyStaysWithinThePlan(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithInvoices(250), atlastest.WithPlan(atlastest.TierStandard, time.Second))
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithRateLimit(60, 10, time.Second))) // the Standard tier, its minute scaled to the server's second
		want, err := c.Invoices.List(context.Background(), &InvoiceListParams{ListOptions: ListOptions{PageSize: 10}})
		require.NoError(t, err)
		srv.ResetRequests()

		var got []string
		for inv, err := range c.Invoices.All(context.Background(), &InvoiceListParams{ListOptions: ListOptions{PageSize: 10}}, WithConcurrency(8)) {
			require.NoError(t, err)
			got = append(got, inv.ID)
		}
		require.Len(t, got, 250)
		for i, inv := range want.Items {
			assert.Equal(t, inv.ID, got[i], "the first page comes first, in order")
		}
		seen := map[string]bool{}
		for _, id := range got {
			seen[id] = true
		}
		assert.Len(t, seen, 250, "every invoice once")
		pages := 0
		for _, r := range srv.Requests() {
			assert.NotEqual(t, http.StatusTooManyRequests, r.Status, "%s %s?%s", r.Method, r.Path, r.Query.Encode())
			if r.Path == "/invoices" {
				pages++
			}
		}
		assert.Equal(t, 25, pages)
	})
}

package atlastest_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// rateLimit is what a response's rate-limit headers say.
type rateLimit struct {
	limit, remaining int
	reset            int64  // X-RateLimit-Reset, Unix seconds
	resetAfter       string // X-RateLimit-Reset-After
	retryAfter       string // Retry-After, "" when absent
	retryAfterMs     string // Retry-After-Ms, "" when absent
}

func rateOf(t testing.TB, r response) rateLimit {
	t.Helper()
	atoi := func(name string) int64 {
		v := r.header.Get(name)
		require.NotEmpty(t, v, "%s missing", name)
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "%s: %q", name, v)
		return n
	}
	return rateLimit{
		limit:        int(atoi("X-RateLimit-Limit")),
		remaining:    int(atoi("X-RateLimit-Remaining")),
		reset:        atoi("X-RateLimit-Reset"),
		resetAfter:   r.header.Get("X-RateLimit-Reset-After"),
		retryAfter:   r.header.Get("Retry-After"),
		retryAfterMs: r.header.Get("Retry-After-Ms"),
	}
}

// tenAM is a minute boundary, so that one-minute windows start there.
var tenAM = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func TestRateLimitHeadersWithoutATier(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM.Add(15*time.Second))))
	c := admin(t, srv)
	for _, resp := range []response{
		c.get("/auth/me"),
		c.get("/no/such/route"),
		anon(t, srv).get("/auth/me"),
		c.do(http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), "{not json"),
	} {
		rl := rateOf(t, resp)
		assert.Equal(t, rateLimit{limit: 1_000_000, remaining: 1_000_000, reset: tenAM.Add(time.Minute).Unix(), resetAfter: "45.000"}, rl)
	}
	for range 1001 {
		resp, err := send(t, srv, c.newRequest(http.MethodGet, "/auth/me", ""))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.status)
	}
}

func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlanLimits(3, 0, time.Minute))
	c := admin(t, srv) // login counts against the client's address, not the user

	for want := 2; want >= 0; want-- {
		resp := c.get("/auth/me")
		require.Equal(t, http.StatusOK, resp.status)
		assert.Equal(t, rateLimit{limit: 3, remaining: want, reset: tenAM.Add(time.Minute).Unix(), resetAfter: "60.000"}, rateOf(t, resp))
	}

	resp := c.get("/auth/me")
	e := resp.requireError(t, http.StatusTooManyRequests)
	assert.Contains(t, e.Detail, "Rate limit")
	assert.Equal(t, rateLimit{limit: 3, remaining: 0, reset: tenAM.Add(time.Minute).Unix(), resetAfter: "60.000",
		retryAfter: "60", retryAfterMs: "60000"}, rateOf(t, resp))

	srv.Advance(59*time.Second + 500*time.Millisecond)
	resp = c.get("/auth/me")
	resp.requireError(t, http.StatusTooManyRequests)
	rl := rateOf(t, resp)
	assert.Equal(t, "1", rl.retryAfter, "rounded up")
	assert.Equal(t, "500", rl.retryAfterMs)
	assert.Equal(t, "0.500", rl.resetAfter)

	srv.Advance(500 * time.Millisecond)
	resp = c.get("/auth/me")
	require.Equal(t, http.StatusOK, resp.status, "the next window")
	assert.Equal(t, rateLimit{limit: 3, remaining: 2, reset: tenAM.Add(2 * time.Minute).Unix(), resetAfter: "60.000"}, rateOf(t, resp))
}

func TestRateLimitBurst(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlan(atlastest.TierStandard, time.Minute))
	c := admin(t, srv)
	for range 10 {
		require.Equal(t, http.StatusOK, c.get("/auth/me").status)
	}
	resp := c.get("/auth/me")
	resp.requireError(t, http.StatusTooManyRequests)
	rl := rateOf(t, resp)
	assert.Equal(t, 50, rl.remaining, "the window is not used up, the burst is")
	assert.Equal(t, "1", rl.retryAfter, "one token a second")
	assert.Equal(t, "1000", rl.retryAfterMs)

	srv.Advance(999 * time.Millisecond)
	resp = c.get("/auth/me")
	resp.requireError(t, http.StatusTooManyRequests)
	assert.Equal(t, "1", rateOf(t, resp).retryAfterMs)

	srv.Advance(time.Millisecond)
	require.Equal(t, http.StatusOK, c.get("/auth/me").status)
	c.get("/auth/me").requireError(t, http.StatusTooManyRequests)

	srv.Advance(10 * time.Minute) // the bucket holds at most the burst
	for range 10 {
		require.Equal(t, http.StatusOK, c.get("/auth/me").status)
	}
	c.get("/auth/me").requireError(t, http.StatusTooManyRequests)
}

func TestRateLimitTiers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tier         atlastest.Tier
		limit, burst int
	}{
		{atlastest.TierStandard, 60, 10},
		{atlastest.TierProfessional, 300, 50},
		{atlastest.TierEnterprise, 1000, 100},
	} {
		t.Run(string(tc.tier), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlan(tc.tier, 0))
			c := admin(t, srv)
			admitted := 0
			for {
				resp := c.get("/auth/me")
				if resp.status == http.StatusTooManyRequests {
					break
				}
				require.Equal(t, http.StatusOK, resp.status)
				assert.Equal(t, tc.limit, rateOf(t, resp).limit)
				admitted++
				require.LessOrEqual(t, admitted, tc.limit)
			}
			assert.Equal(t, tc.burst, admitted)
		})
	}
}

// TestRateLimitFollowsTheBucketAndTheWindow paces requests at the bucket's rate: every one
// passes until the window is used up.
func TestRateLimitFollowsTheBucketAndTheWindow(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlanLimits(10, 2, 100*time.Millisecond))
	c := admin(t, srv)
	srv.Advance(time.Second) // a new window, the bucket full
	require.Equal(t, http.StatusOK, c.get("/auth/me").status)
	for i := range 9 {
		resp := c.get("/auth/me")
		require.Equal(t, http.StatusOK, resp.status, "request %d", i)
		srv.Advance(10 * time.Millisecond)
	}
	// 10 admitted, the last at 10:00:01.080; it is .090 and the window ends at .100.
	resp := c.get("/auth/me")
	resp.requireError(t, http.StatusTooManyRequests)
	rl := rateOf(t, resp)
	assert.Equal(t, 0, rl.remaining)
	assert.Equal(t, "10", rl.retryAfterMs)
	assert.Equal(t, "0.010", rl.resetAfter)
	assert.Equal(t, tenAM.Add(2*time.Second).Unix(), rl.reset, "rounded up to a whole second")
}

func TestRateLimitIsPerUser(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlanLimits(2, 0, time.Minute))
	a := admin(t, srv)
	v := viewer(t, srv)
	anon(t, srv).do(http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), "password": srv.Password()}).
		requireError(t, http.StatusTooManyRequests) // two logins used up the address's window

	for _, c := range []*client{a, v} {
		for range 2 {
			require.Equal(t, http.StatusOK, c.get("/auth/me").status)
		}
		c.get("/auth/me").requireError(t, http.StatusTooManyRequests)
	}
	// Requests without a token count against the address.
	srv.Advance(time.Minute)
	anon(t, srv).get("/auth/me").requireError(t, http.StatusUnauthorized)
	anon(t, srv).get("/auth/me").requireError(t, http.StatusUnauthorized)
	anon(t, srv).get("/auth/me").requireError(t, http.StatusTooManyRequests)
	require.Equal(t, http.StatusOK, a.get("/auth/me").status)
}

func TestRateLimitAcrossGoroutines(t *testing.T) {
	t.Parallel()
	const limit, workers, each = 50, 8, 20
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(tenAM)), atlastest.WithPlanLimits(limit, 0, time.Hour))
	c := admin(t, srv)

	var mu sync.Mutex
	statuses := map[int]int{}
	remaining := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				// Not c.get: require must not be called off the test goroutine.
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/auth/me", nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				resp, err := srv.Client().Do(req)
				if err != nil {
					mu.Lock()
					statuses[0]++
					mu.Unlock()
					continue
				}
				_ = resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusOK {
					remaining[resp.Header.Get("X-RateLimit-Remaining")]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: limit, http.StatusTooManyRequests: workers*each - limit}, statuses)
	assert.Len(t, remaining, limit, "every admitted request saw its own count")
}

func TestRateLimitOptionsRefuseNonsense(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  atlastest.Option
		want string
	}{
		{atlastest.WithPlan("platinum", time.Minute), `atlastest: WithPlan: unknown tier "platinum" (standard, professional or enterprise)`},
		{atlastest.WithPlan(atlastest.TierStandard, -time.Second), "atlastest: WithPlan: window -1s is negative"},
		{atlastest.WithPlanLimits(0, 1, time.Minute), "atlastest: WithPlanLimits: limit 0 is not positive"},
		{atlastest.WithPlanLimits(5, -1, time.Minute), "atlastest: WithPlanLimits: burst -1 is negative"},
		{atlastest.WithPlanLimits(5, 1, -time.Minute), "atlastest: WithPlanLimits: window -1m0s is negative"},
	} {
		assert.PanicsWithValue(t, tc.want, func() { atlastest.NewServer(tc.opt).Close() })
		assert.EqualError(t, atlastest.Validate(tc.opt), tc.want)
	}
}

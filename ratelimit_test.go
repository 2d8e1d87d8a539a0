package atlas

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func rlHeader(limit, remaining int, reset time.Time) http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return h
}

// dated adds to h the Date header of an answer sent at now on the server's
// clock (net/http would add the wall clock's): a test server whose clock is
// a fake one tells it, as a real server tells its own.
func dated(h http.Header, now time.Time) http.Header {
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	return h
}

// observe has p read an answer's headers as the client does, received at
// now, and learn from them for no call in particular; it returns what the
// headers said.
func observe(p *pacer, h http.Header, status int, now time.Time) RateLimit {
	a := p.read(h, status, now, now)
	p.learn(nil, a.obs, a.serverReset, now)
	return a.raw
}

func TestPacerFollowsTheWindow(t *testing.T) {
	t.Parallel()
	now := time.Unix(1768473000, 0)
	p := newPacer("", nil)
	reset := now.Add(60 * time.Second)

	assert.Zero(t, p.admit(now), "nothing known: go")
	observe(p, rlHeader(60, 2, reset), 200, now)
	assert.Equal(t, RateLimit{Limit: 60, Remaining: 2, Reset: reset}, p.snapshot())

	// Answers to earlier requests arrive late with a higher count: ignored.
	observe(p, rlHeader(60, 5, reset), 200, now)
	assert.Zero(t, p.admit(now))
	assert.Zero(t, p.admit(now))
	assert.Equal(t, 60*time.Second, p.admit(now), "the window is used up: wait for its reset")
	assert.Equal(t, 60*time.Second, p.delay(now))
	assert.Zero(t, p.admit(reset), "a new window")

	// An older window's answer after a newer one does not roll it back.
	next := reset.Add(60 * time.Second)
	observe(p, rlHeader(60, 59, next), 200, reset)
	observe(p, rlHeader(60, 0, reset), 200, reset)
	assert.Zero(t, p.admit(reset))
}

func TestPacerWaitsAtMostAWindowForAReset(t *testing.T) {
	t.Parallel()
	now := time.Unix(1768473000, 0)
	p := newPacer("", nil)
	observe(p, rlHeader(60, 0, now.Add(2*time.Hour)), 200, now) // the server's clock is hours ahead
	assert.Equal(t, time.Minute, p.delay(now))
}

func TestPacerIgnoresMissingOrBrokenHeaders(t *testing.T) {
	t.Parallel()
	now := time.Unix(1768473000, 0)
	p := newPacer("", nil)
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "-1")
	h.Set("X-RateLimit-Reset", "soon")
	assert.Equal(t, RateLimit{}, observe(p, h, 200, now))
	assert.Equal(t, RateLimit{}, observe(p, http.Header{}, 200, now))
	assert.Zero(t, p.admit(now))
}

func TestPacerBlocksAfter429(t *testing.T) {
	t.Parallel()
	now := time.Unix(1768473000, 0)
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"retry-after", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"reset only", rlHeader(60, 0, now.Add(20*time.Second)), 20 * time.Second},
		{"neither", http.Header{}, 0},
		{"reset beyond a window (skewed clock)", rlHeader(60, 0, now.Add(2*time.Hour)), time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPacer("", nil)
			observe(p, tc.h, http.StatusTooManyRequests, now)
			assert.Equal(t, tc.want, p.delay(now))
		})
	}
}

// rateServer answers 429 to the first `limited` requests with the given
// headers, then 200.
func rateServer(t *testing.T, limited int, h http.Header) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if int(n.Add(1)) <= limited {
			for k, v := range h {
				w.Header()[k] = v
			}
			writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{})
	}))
	return srv, &n
}

// A 429 with Retry-After waits that long on the client's clock and then
// succeeds; a POST too, since a 429 did nothing.
func Test429WaitsForRetryAfterThenSucceeds(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv, n := rateServer(t, 1, http.Header{"Retry-After": {"7"}})
				c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
				start := time.Now()
				done := testkit.Go(func() error {
					_, err := call[struct{}](context.Background(), c, Request{Method: method, Path: "/x"}, requestConfig{})
					return err
				})
				time.Sleep(7*time.Second - time.Nanosecond)
				synctest.Wait()
				assert.EqualValues(t, 1, n.Load(), "nothing is sent during the wait")
				require.NoError(t, <-done)
				assert.Equal(t, 7*time.Second, time.Since(start))
				assert.EqualValues(t, 2, n.Load())
			})
		})
	}
}

func Test429WithoutRetryAfterWaitsForTheReset(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv, n := rateServer(t, 1, dated(rlHeader(60, 0, start.Add(25*time.Second)), start))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		assert.Equal(t, 25*time.Second, time.Since(start), "the reset, not a guessed backoff")
		assert.EqualValues(t, 2, n.Load())
	})
}

// Once a response says the window is used up, no request goes out until it
// resets, from any goroutine or copy of the client.
func TestExhaustedWindowHoldsEveryCopy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		reset := start.Add(30 * time.Second)
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			// The first request uses up the window; the next window has room.
			h := rlHeader(60, 59, reset.Add(time.Minute))
			if n.Add(1) == 1 {
				h = rlHeader(60, 0, reset)
			}
			for k, v := range dated(h, time.Now()) {
				w.Header()[k] = v
			}
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)

		const waiters = 5
		var wg sync.WaitGroup
		for i := range waiters {
			wg.Go(func() {
				_, err := call[struct{}](context.Background(), c.ForCompany("co-"+strconv.Itoa(i)), Request{Path: "/x"}, requestConfig{})
				assert.NoError(t, err)
				assert.Equal(t, 30*time.Second, time.Since(start), "held until the reset")
			})
		}
		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.EqualValues(t, 1, n.Load())
		wg.Wait()
		assert.EqualValues(t, 1+waiters, n.Load())
	})
}

func TestTierPacesToThePlan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithTier(TierStandard)))
		start := time.Now()
		for range 9 {
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			require.NoError(t, err, "the burst of 10, less one spare, goes at once")
		}
		assert.Zero(t, time.Since(start), "no wait")

		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "60 a minute: one a second after the burst")
		assert.EqualValues(t, 10, n.Load())
	})
}

func TestTierLimits(t *testing.T) {
	t.Parallel()
	for tier, want := range map[Tier]PlanLimits{TierStandard: {60, 10}, TierProfessional: {300, 50}, TierEnterprise: {1000, 100}} {
		l, ok := tier.Limits()
		assert.True(t, ok)
		assert.Equal(t, want, l, string(tier))
	}
	_, ok := Tier("platinum").Limits()
	assert.False(t, ok)
}

// A rate-limit wait that would outlast the context's deadline returns at
// once with an error matching ErrRateLimited; nothing is sent.
func TestRateLimitWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			for k, v := range dated(rlHeader(60, 0, time.Now().Add(time.Minute)), time.Now()) {
				w.Header()[k] = v
			}
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err = call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrRateLimited)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "atlas: GET /x: waiting 1m0s for rate limit would outlast the context deadline")
		assert.EqualValues(t, 1, n.Load())
		assert.Zero(t, time.Since(start), "no wait was started")
		assert.NoError(t, ctx.Err(), "it returned well before the deadline")
	})
}

func Test429RetryPastTheDeadlineReturnsThe429(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, n := rateServer(t, 1, http.Header{"Retry-After": {"120"}})
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
		var apiErr *Error
		require.ErrorAs(t, err, &apiErr)
		assert.ErrorIs(t, err, ErrRateLimited)
		assert.Equal(t, 120*time.Second, apiErr.RetryAfter)
		assert.EqualValues(t, 1, n.Load())
		assert.Zero(t, time.Since(start), "no wait")
	})
}

// Cancelling the context during a rate-limit wait returns within 50ms,
// wrapping context.Canceled.
func TestCancelDuringRateLimitWaitReturnsPromptly(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		srv, n := rateServer(t, 1, http.Header{"Retry-After": {"100"}})
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error {
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			return err
		})
		synctest.Wait()
		require.Empty(t, done, "waiting for the rate limit")
		start := time.Now()
		cancel()
		err := <-done
		assert.Zero(t, time.Since(start), "returns at once")
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrRateLimited, "the caller cancelled; the limit did not refuse")
		assert.EqualValues(t, 1, n.Load())
	})
}

func TestMaxRetriesZeroStillRespectsA429Pause(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, n := rateServer(t, 1, http.Header{"Retry-After": {"9"}})
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(RetryPolicy{})))
		start := time.Now()
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		assert.ErrorIs(t, err, ErrRateLimited, "no retry: the 429 is the answer")
		assert.Zero(t, time.Since(start))

		done := testkit.Go(func() error {
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			return err
		})
		time.Sleep(9*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.EqualValues(t, 1, n.Load(), "the next call waits out the pause")
		require.NoError(t, <-done)
		assert.Equal(t, 9*time.Second, time.Since(start))
	})
}

// End to end: the server allows 5 requests a second; the client learns the
// window from the headers and holds its requests back instead of provoking
// 429s.
func TestAtlastestPacerStaysWithinTheWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithPlanLimits(5, 0, time.Second))
		recOpt, rec := withRecorderOn(srv)
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(recOpt))
		for range 12 {
			_, err := c.Companies.Get(context.Background(), srv.CompanyID())
			require.NoError(t, err)
		}
		assert.Zero(t, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusTooManyRequests))
		assert.Equal(t, 12, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusOK))
		rl := c.RateLimit()
		assert.Equal(t, 5, rl.Limit)
		assert.False(t, rl.Reset.IsZero())
	})
}

// Two clients of one user do not share a pacer: the second gets a 429, waits
// the Retry-After the server gave, and then succeeds. Server and clients share
// the bubble's time, which moves only when every goroutine waits.
func TestAtlastest429WaitsForRetryAfterAndSucceeds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(250 * time.Millisecond) // a quarter into a one-second window
		srv := atlastest.NewTestServer(t, atlastest.WithPlanLimits(2, 0, time.Second))
		ctx := context.Background()
		a, _ := Setup(t, OnServer(srv), InBubble())
		recOpt, rec := withRecorderOn(srv)
		b, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(recOpt))
		require.NoError(t, a.Auth.Refresh(ctx)) // both log in now; logins count apart from the user's calls
		require.NoError(t, b.Auth.Refresh(ctx))
		// The logins used up the window of the clients' address, as both pacers saw:
		// the user's calls start in the next one.
		time.Sleep(time.Second)

		// b sees one request left; a takes it.
		var rb, ra *Response
		_, err := b.Auth.Me(ctx, WithResponse(&rb))
		require.NoError(t, err)
		_, err = a.Auth.Me(ctx, WithResponse(&ra))
		require.NoError(t, err)
		require.Equal(t, 1, rb.RateLimit.Remaining)
		require.Equal(t, 0, ra.RateLimit.Remaining)

		done := testkit.Go(func() error {
			_, err := b.Companies.Get(ctx, srv.CompanyID())
			return err
		})
		synctest.Wait()
		if len(done) > 0 {
			t.Fatalf("b did not wait: %v %+v", <-done, rec.all())
		}
		waited := time.Now()
		get := "/companies/" + srv.CompanyID()
		require.Equal(t, 1, rec.count(http.MethodGet, get, http.StatusTooManyRequests))
		var limited recorded
		for _, r := range rec.all() {
			if r.Status == http.StatusTooManyRequests {
				limited = r
			}
		}
		assert.Equal(t, "1", limited.RetryAfter, "the window ends in 0.75s, in whole seconds rounded up")
		assert.Equal(t, 1, rec.count(http.MethodGet, get, 0), "the refused attempt only, so far")

		require.NoError(t, <-done)
		assert.Equal(t, time.Second, time.Since(waited), "b waits what the server asked")
		assert.Equal(t, 1, rec.count(http.MethodGet, get, http.StatusOK))
	})
}

// With the plan's tier, a burst of requests never provokes a 429 from a server
// that enforces that plan.
func TestAtlastestTierNeverProvokesA429(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithPlan(atlastest.TierStandard, time.Minute))
		recOpt, rec := withRecorderOn(srv)
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(recOpt, WithTier(TierStandard)))
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				_, err := c.Companies.Get(context.Background(), srv.CompanyID())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		for _, r := range rec.all() {
			assert.NotEqual(t, http.StatusTooManyRequests, r.Status, "%s %s", r.Method, r.Path)
		}
		assert.Equal(t, 12, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusOK))
	})
}

// http.Client.Timeout bounds each attempt, waits included: a rate-limit wait
// longer than it fails at once rather than sending a request that has
// already timed out.
func TestHTTPClientTimeoutBoundsTheWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			for k, v := range dated(rlHeader(60, 0, time.Now().Add(30*time.Second)), time.Now()) {
				w.Header()[k] = v
			}
			writeJSON(w, http.StatusOK, map[string]string{})
		}))
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithHTTPClient(&http.Client{Transport: srv.Client().Transport, Timeout: 5 * time.Second})))
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		start := time.Now()
		_, err = call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		assert.ErrorIs(t, err, ErrRateLimited)
		assert.EqualValues(t, 1, n.Load())
		assert.Zero(t, time.Since(start), "no wait")
	})
}

// A 429 that comes while the window has room is a burst limit the headers do
// not describe: from then on the pacer spaces requests evenly, at the
// window's rate or slower, so that they last until the reset.
func TestPacerSpacesRequestsAfterABurst429(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1768473000, 0) // the start of a minute
	reset := t0.Add(time.Minute)
	p := newPacer("", nil)
	observe(p, rlHeader(120, 119, reset), http.StatusOK, t0)
	for range 2 {
		assert.Zero(t, p.admit(t0), "before any burst 429, requests go at once")
	}
	h := rlHeader(120, 117, reset)
	h.Set("Retry-After", "2")
	observe(p, h, http.StatusTooManyRequests, t0)
	assert.Equal(t, 2*time.Second, p.delay(t0), "Retry-After is honoured")

	t1 := t0.Add(2 * time.Second)
	assert.Zero(t, p.admit(t1), "the first request after the pause goes when Retry-After allows")
	// 116 left for 58s is one every 500ms, 120 a minute's rate; the request
	// after the first leaves a spare interval.
	assert.Equal(t, time.Second, p.admit(t1))
	t2 := t1.Add(time.Second)
	assert.Zero(t, p.admit(t2))
	assert.Equal(t, 500*time.Millisecond, p.admit(t2), "no faster than 120 a minute, though 115 left for 57s would allow it")

	late := t2.Add(800 * time.Millisecond) // 300ms after its slot
	assert.Zero(t, p.admit(late))
	assert.Equal(t, 200*time.Millisecond, p.admit(late), "a late request keeps the next to its slot")

	idle := t2.Add(10 * time.Second)
	assert.Zero(t, p.admit(idle))
	assert.Equal(t, 500*time.Millisecond, p.admit(idle), "after idling, the count starts again")

	observe(p, rlHeader(120, 47, reset), http.StatusOK, idle)
	assert.Equal(t, time.Second, p.admit(idle), "47 left for 47s: one a second")
}

// A 429 for a window that is used up is no burst limit: once a new window
// starts, requests go at once again.
func TestPacerDoesNotSpaceAfterAWindowFull429(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1768473000, 0)
	reset := t0.Add(time.Minute)
	p := newPacer("", nil)
	h := rlHeader(60, 0, reset)
	h.Set("Retry-After", "60")
	observe(p, h, http.StatusTooManyRequests, t0)
	assert.Equal(t, time.Minute, p.delay(t0))
	observe(p, rlHeader(60, 59, reset.Add(time.Minute)), http.StatusOK, reset)
	for range 5 {
		assert.Zero(t, p.admit(reset))
	}
}

// burstServer answers the requests of a client that hits a burst limit in
// one-second windows of 300: the first three pass, the fourth is refused with
// room left in the window, and from the fifth on the next window has begun.
// It holds the fifth answer until release is closed, and tells on arrived the
// server's time at which each request from the fifth on arrived.
func burstServer(t *testing.T, reset time.Time, release <-chan struct{}) (*httptest.Server, <-chan time.Time) {
	arrived := make(chan time.Time, 8)
	var n atomic.Int32
	srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1))
		var h http.Header
		status := http.StatusOK
		switch {
		case i <= 3:
			h = rlHeader(300, 300-i, reset)
		case i == 4:
			h = rlHeader(300, 297, reset)
			h.Set("Retry-After", "1")
			status = http.StatusTooManyRequests
		default:
			arrived <- time.Now()
			if i == 5 {
				<-release
			}
			h = rlHeader(300, 304-i, reset.Add(time.Second))
		}
		for k, v := range dated(h, time.Now()) {
			w.Header()[k] = v
		}
		if status != http.StatusOK {
			writeError(w, status, "Rate limit exceeded")
			return
		}
		writeJSON(w, status, map[string]string{})
	}))
	return srv, arrived
}

// End to end in a synctest bubble: requests go at once until a burst 429; after
// its Retry-After one request goes, and a request from another copy of the
// client that waits for its slot meanwhile looks again when that request's
// answer tells the new window, from which the pacer learns that windows last
// a second.
func TestBurst429SpacesRequestsAtTheLearnedRate(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		reset := start.Add(time.Second)
		release := make(chan struct{})
		srv, arrived := burstServer(t, reset, release)
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		ctx := context.Background()
		for range 3 {
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			require.NoError(t, err)
		}
		assert.Zero(t, time.Since(start), "no request waited")

		done := make(chan error, 2)
		for _, cl := range []*Client{c, c.ForCompany("co-2")} {
			go func() {
				_, err := call[struct{}](ctx, cl, Request{Path: "/x"}, requestConfig{})
				done <- err
			}()
			synctest.Wait() // the first gets the 429 before the second starts
		}
		require.Empty(t, done, "both wait for Retry-After")
		assert.Empty(t, arrived)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, reset, <-arrived, "one request goes when Retry-After allows")
		assert.Empty(t, arrived, "the other waits for its slot")

		time.Sleep(4 * time.Millisecond)
		synctest.Wait()
		assert.Empty(t, arrived, "the other waits for its slot")
		close(release)
		require.NoError(t, <-done)
		// The answer shows the next window: windows last a second, so the
		// slot is two intervals of a 300th of a second after the first
		// request. The waiting request looks again and goes then, not after
		// the interval it knew before (the contract's minute, 300 a minute,
		// one every 200ms, and a spare interval after the first request:
		// 400ms).
		slot := reset.Add(2 * (time.Second / 300))
		assert.Equal(t, slot, <-arrived)
		require.NoError(t, <-done)
		assert.Equal(t, slot, time.Now())
	})
}

// A wait for a spaced slot ends when ctx does, and nothing is sent.
func TestCancelDuringASpacedWaitReturnsPromptly(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(time.Second)
		release := make(chan struct{})
		close(release)
		srv, arrived := burstServer(t, reset, release)
		c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", "")))
		for range 3 {
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			require.NoError(t, err)
		}
		_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
		require.NoError(t, err)
		assert.Equal(t, reset, time.Now(), "after the 429's second")
		<-arrived

		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error {
			_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
			return err
		})
		synctest.Wait()
		require.Empty(t, done, "waiting for its slot")
		start := time.Now()
		cancel()
		err = <-done
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, time.Since(start))
		assert.Empty(t, arrived, "nothing was sent")
	})
}

func TestMaxRateLimitWaitDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithTokens("tok", ""))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, c.core.retry.MaxRateLimitWait, "long enough for a one-minute window")
	assert.Equal(t, 2*time.Minute, c.core.pacer.maxWait)
	c, err = NewClient(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRetries: 2}))
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, c.core.retry.MaxRateLimitWait, "zero takes the default")
	c, err = NewClient(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRateLimitWait: 10 * time.Second}))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, c.core.pacer.maxWait)
	_, err = NewClient(WithTokens("tok", ""), WithRetry(RetryPolicy{MaxRateLimitWait: -time.Second}))
	assert.ErrorContains(t, err, "negative")
}

// A 429 that asks for a longer pause than MaxRateLimitWait fails the call at
// once, though it has no deadline, with an *Error matching ErrRateLimited
// that carries the pause the server asked for. Every other call of the
// client holds back for MaxRateLimitWait at most, and then sends again.
func Test429PastMaxRateLimitWaitFailsAtOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy RetryPolicy
		header func(now time.Time) http.Header
		asked  time.Duration // the Error's RetryAfter
		hold   time.Duration // what the next call waits
	}{
		{"Retry-After of a day", fastRetry, func(time.Time) http.Header {
			return http.Header{"Retry-After": {"86400"}}
		}, 24 * time.Hour, 2 * time.Minute},
		{"Retry-After as a date an hour ahead of the server's clock", fastRetry, func(now time.Time) http.Header {
			return http.Header{"Retry-After": {now.Add(time.Hour).UTC().Format(http.TimeFormat)}}
		}, time.Hour, 2 * time.Minute},
		{"a reset past a lowered cap", RetryPolicy{MaxRetries: 3, MaxRateLimitWait: 10 * time.Second}, func(now time.Time) http.Header {
			return rlHeader(60, 0, now.Add(30*time.Second))
		}, 30 * time.Second, 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if n.Add(1) == 1 {
						for k, v := range dated(tc.header(time.Now()), time.Now()) {
							w.Header()[k] = v
						}
						writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
						return
					}
					for k, v := range dated(rlHeader(60, 59, time.Now().Add(time.Minute)), time.Now()) {
						w.Header()[k] = v
					}
					writeJSON(w, http.StatusOK, map[string]string{})
				}))
				c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(tc.policy)))

				start := time.Now()
				_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
				var apiErr *Error
				require.ErrorAs(t, err, &apiErr)
				assert.ErrorIs(t, err, ErrRateLimited)
				assert.Equal(t, tc.asked, apiErr.RetryAfter)
				assert.Equal(t, 1, apiErr.Attempts)
				assert.EqualValues(t, 1, n.Load(), "no retry")
				assert.Zero(t, time.Since(start), "no wait")

				_, err = call[struct{}](context.Background(), c.ForCompany("co-2"), Request{Path: "/x"}, requestConfig{})
				require.NoError(t, err)
				assert.Equal(t, tc.hold, time.Since(start), "held back for the cap, not for what the server asked")
				assert.EqualValues(t, 2, n.Load())
			})
		})
	}
}

// An X-RateLimit-Reset in milliseconds (a window that would end in the year
// 58,000) with Remaining 0 never stalls the client: a call without a deadline
// waits a window at most (MaxRateLimitWait when that is shorter), then sends
// and learns the window anew; a 429 with such a reset is retried after a
// window. When the server comes to its senses, calls go at once again.
func TestImplausibleResetNeverStallsTheClient(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		policy RetryPolicy
		hold   time.Duration
	}{
		{"200", http.StatusOK, fastRetry, time.Minute},
		{"200, MaxRateLimitWait below a window", http.StatusOK, RetryPolicy{MaxRetries: 3, MaxRateLimitWait: 10 * time.Second}, 10 * time.Second},
		{"429", http.StatusTooManyRequests, fastRetry, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var n, sane atomic.Int32
				sane.Store(1 << 20)
				srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					i := n.Add(1)
					h := rlHeader(60, 0, time.Now())
					h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
					status := http.StatusOK
					switch {
					case i >= sane.Load():
						h = rlHeader(60, 59, time.Now().Add(30*time.Second))
					case tc.status == http.StatusTooManyRequests && i%2 == 1:
						status = http.StatusTooManyRequests
					}
					for k, v := range dated(h, time.Now()) {
						w.Header()[k] = v
					}
					writeJSON(w, status, map[string]string{})
				}))
				c, _ := Setup(t, OnMem(srv, ""), ClientOptions(WithTokens("tok", ""), WithRetry(tc.policy)))
				ctx := context.Background()
				get := func() <-chan error {
					done := testkit.Go(func() error {
						_, err := call[struct{}](ctx, c, Request{Path: "/x"}, requestConfig{})
						return err
					})
					return done
				}
				// hold waits out tc.hold, checking that nothing is sent
				// before it ends and that want requests were sent by then.
				hold := func(want int32, msg string) {
					t.Helper()
					time.Sleep(tc.hold - time.Nanosecond)
					synctest.Wait()
					assert.EqualValues(t, want, n.Load(), msg)
					time.Sleep(time.Nanosecond)
				}

				want := int32(1)
				if tc.status == http.StatusTooManyRequests {
					start := time.Now()
					done := get()
					hold(1, "the 429 waits a window, not the reset")
					require.NoError(t, <-done)
					assert.Equal(t, tc.hold, time.Since(start), "the 429 waits a window, not the reset")
					want = 2
				} else {
					require.NoError(t, <-get())
				}
				assert.EqualValues(t, want, n.Load())
				for range 3 {
					done := get()
					hold(want, "nothing is sent during the hold")
					want++
					if tc.status == http.StatusTooManyRequests {
						// The 429 that answers the probe is retried after a
						// window.
						hold(want, "the probe's 429 waits a window")
						want++
					}
					require.NoError(t, <-done, "the call ends")
					assert.EqualValues(t, want, n.Load(), "it sent again")
				}
				sane.Store(want + 1)
				done := get()
				hold(want, "one more hold")
				require.NoError(t, <-done)
				start := time.Now()
				for range 5 {
					require.NoError(t, <-get())
				}
				assert.Zero(t, time.Since(start), "the window learned anew has room: no wait")
			})
		})
	}
}

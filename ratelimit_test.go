package atlas

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
	"github.com/atlas-accounting/atlas-go/internal/clock"
)

func rlHeader(limit, remaining int, reset time.Time) http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return h
}

func TestPacerFollowsTheWindow(t *testing.T) {
	now := time.Unix(1768473000, 0)
	p := newPacer(clock.NewFake(now), "", nil)
	reset := now.Add(60 * time.Second)

	assert.Zero(t, p.admit(now), "nothing known: go")
	p.observe(rlHeader(60, 2, reset), 200, now)
	assert.Equal(t, RateLimit{Limit: 60, Remaining: 2, Reset: reset}, p.snapshot())

	// Answers to earlier requests arrive late with a higher count: ignored.
	p.observe(rlHeader(60, 5, reset), 200, now)
	assert.Zero(t, p.admit(now))
	assert.Zero(t, p.admit(now))
	assert.Equal(t, 60*time.Second, p.admit(now), "the window is used up: wait for its reset")
	assert.Equal(t, 60*time.Second, p.delay(now))
	assert.Zero(t, p.admit(reset), "a new window")

	// An older window's answer after a newer one does not roll it back.
	next := reset.Add(60 * time.Second)
	p.observe(rlHeader(60, 59, next), 200, reset)
	p.observe(rlHeader(60, 0, reset), 200, reset)
	assert.Zero(t, p.admit(reset))
}

func TestPacerWaitsAtMostAWindowForAReset(t *testing.T) {
	now := time.Unix(1768473000, 0)
	p := newPacer(clock.NewFake(now), "", nil)
	p.observe(rlHeader(60, 0, now.Add(2*time.Hour)), 200, now) // the server's clock is hours ahead
	assert.Equal(t, time.Minute, p.delay(now))
}

func TestPacerIgnoresMissingOrBrokenHeaders(t *testing.T) {
	now := time.Unix(1768473000, 0)
	p := newPacer(clock.NewFake(now), "", nil)
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "-1")
	h.Set("X-RateLimit-Reset", "soon")
	assert.Equal(t, RateLimit{}, p.observe(h, 200, now))
	assert.Equal(t, RateLimit{}, p.observe(http.Header{}, 200, now))
	assert.Zero(t, p.admit(now))
}

func TestPacerBlocksAfter429(t *testing.T) {
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
			p := newPacer(clock.NewFake(now), "", nil)
			p.observe(tc.h, http.StatusTooManyRequests, now)
			assert.Equal(t, tc.want, p.delay(now))
		})
	}
}

// rateServer answers 429 to the first `limited` requests with the given
// headers, then 200.
func rateServer(t *testing.T, limited int, h http.Header) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= limited {
			for k, v := range h {
				w.Header()[k] = v
			}
			writeError(w, http.StatusTooManyRequests, "Rate limit exceeded")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A 429 with Retry-After waits that long on the client's clock and then
// succeeds; a POST too, since a 429 did nothing.
func Test429WaitsForRetryAfterThenSucceeds(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			srv, n := rateServer(t, 1, http.Header{"Retry-After": {"7"}})
			fc := clock.NewFake(time.Now())
			c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
			done := make(chan error, 1)
			go func() {
				_, err := call[struct{}](context.Background(), c, request{method: method, path: "/x"}, nil)
				done <- err
			}()
			require.True(t, fc.WaitForTimers(1, nil))
			assert.Equal(t, []time.Duration{7 * time.Second}, fc.Pending())
			assert.EqualValues(t, 1, n.Load(), "nothing is sent during the wait")
			fc.Advance(7 * time.Second)
			require.NoError(t, recv(t, done))
			assert.EqualValues(t, 2, n.Load())
		})
	}
}

func Test429WithoutRetryAfterWaitsForTheReset(t *testing.T) {
	fc := clock.NewFake(time.Unix(1768473000, 0))
	srv, n := rateServer(t, 1, rlHeader(60, 0, fc.Now().Add(25*time.Second)))
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	assert.Equal(t, []time.Duration{25 * time.Second}, fc.Pending(), "the reset, not a guessed backoff")
	fc.Advance(25 * time.Second)
	require.NoError(t, recv(t, done))
	assert.EqualValues(t, 2, n.Load())
}

// Once a response says the window is used up, no request goes out until it
// resets, from any goroutine or copy of the client.
func TestExhaustedWindowHoldsEveryCopy(t *testing.T) {
	fc := clock.NewFake(time.Unix(1768473000, 0))
	reset := fc.Now().Add(30 * time.Second)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first request uses up the window; the next window has room.
		h := rlHeader(60, 59, reset.Add(time.Minute))
		if n.Add(1) == 1 {
			h = rlHeader(60, 0, reset)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
	require.NoError(t, err)

	const waiters = 5
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := call[struct{}](context.Background(), c.ForCompany("co-"+strconv.Itoa(i)), request{path: "/x"}, nil)
			assert.NoError(t, err)
		}()
	}
	require.True(t, fc.WaitForTimers(waiters, nil))
	assert.EqualValues(t, 1, n.Load())
	for _, d := range fc.Pending() {
		assert.Equal(t, 30*time.Second, d)
	}
	fc.Advance(30 * time.Second)
	wg.Wait()
	assert.EqualValues(t, 1+waiters, n.Load())
}

func TestTierPacesToThePlan(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	fc := clock.NewFake(time.Unix(1768473000, 0))
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc), WithTier(TierStandard))
	for range 9 {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		require.NoError(t, err, "the burst of 10, less one spare, goes at once")
	}
	assert.Empty(t, fc.Pending())

	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	assert.Equal(t, []time.Duration{time.Second}, fc.Pending(), "60 a minute: one a second after the burst")
	fc.Advance(time.Second)
	require.NoError(t, recv(t, done))
	assert.EqualValues(t, 10, n.Load())
}

func TestTierLimits(t *testing.T) {
	for tier, want := range map[Tier][2]int{TierStandard: {60, 10}, TierProfessional: {300, 50}, TierEnterprise: {1000, 100}} {
		perMinute, burst, ok := tier.limits()
		assert.True(t, ok)
		assert.Equal(t, want, [2]int{perMinute, burst}, string(tier))
	}
}

// A rate-limit wait that would outlast the context's deadline returns at
// once with an error matching ErrRateLimited; nothing is sent.
func TestRateLimitWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	fc := clock.NewFake(time.Unix(1768473000, 0))
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range rlHeader(60, 0, fc.Now().Add(time.Minute)) {
			w.Header()[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = call[struct{}](ctx, c, request{path: "/x"}, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "atlas: GET /x: waiting 1m0s for rate limit would outlast the context deadline")
	assert.EqualValues(t, 1, n.Load())
	assert.Empty(t, fc.Pending(), "no wait was started")
	assert.NoError(t, ctx.Err(), "it returned well before the deadline")
}

func Test429RetryPastTheDeadlineReturnsThe429(t *testing.T) {
	srv, n := rateServer(t, 1, http.Header{"Retry-After": {"120"}})
	fc := clock.NewFake(time.Now())
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := call[struct{}](ctx, c, request{path: "/x"}, nil)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 120*time.Second, apiErr.RetryAfter)
	assert.EqualValues(t, 1, n.Load())
}

// Cancelling the context during a rate-limit wait returns within 50ms,
// wrapping context.Canceled.
func TestCancelDuringRateLimitWaitReturnsPromptly(t *testing.T) {
	verifyNoLeaks(t)
	srv, _ := rateServer(t, 1, http.Header{"Retry-After": {"3600"}})
	fc := clock.NewFake(time.Now())
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](ctx, c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	start := time.Now()
	cancel()
	err := recv(t, done)
	assert.Less(t, time.Since(start), 50*time.Millisecond)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrRateLimited, "the caller cancelled; the limit did not refuse")
}

func TestMaxRetriesZeroStillRespectsA429Pause(t *testing.T) {
	srv, n := rateServer(t, 1, http.Header{"Retry-After": {"9"}})
	fc := clock.NewFake(time.Now())
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc), WithRetry(RetryPolicy{}))
	_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
	assert.ErrorIs(t, err, ErrRateLimited, "no retry: the 429 is the answer")

	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	assert.Equal(t, []time.Duration{9 * time.Second}, fc.Pending(), "the next call waits out the pause")
	assert.EqualValues(t, 1, n.Load())
	fc.Advance(9 * time.Second)
	require.NoError(t, recv(t, done))
}

// End to end: the server allows 5 requests a second; the client learns the
// window from the headers and holds its requests back instead of provoking
// 429s.
func TestAtlastestPacerStaysWithinTheWindow(t *testing.T) {
	t.Parallel() // real one-second windows: let them overlap
	srv := atlastest.NewServer(atlastest.WithPlanLimits(5, 0, time.Second))
	t.Cleanup(srv.Close)
	recOpt, rec := withRecorder(t)
	c := newClientOn(t, srv, recOpt)
	for range 12 {
		_, err := c.Companies.Get(context.Background(), srv.CompanyID())
		require.NoError(t, err)
	}
	assert.Zero(t, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusTooManyRequests))
	assert.Equal(t, 12, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusOK))
	rl := c.RateLimit()
	assert.Equal(t, 5, rl.Limit)
	assert.False(t, rl.Reset.IsZero())
}

// Two clients of one user do not share a pacer: the second gets a 429, waits
// the Retry-After the server gave, and then succeeds. Server and clients share
// one time that only the test moves, so no window can end in between.
func TestAtlastest429WaitsForRetryAfterAndSucceeds(t *testing.T) {
	start := time.Unix(1768473000, 0).Add(250 * time.Millisecond) // a quarter into a one-second window
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(start)), atlastest.WithPlanLimits(2, 0, time.Second))
	t.Cleanup(srv.Close)
	fc := clock.NewFake(start)
	ctx := context.Background()
	a := newClientOn(t, srv, withClock(fc))
	recOpt, rec := withRecorder(t)
	b := newClientOn(t, srv, recOpt, withClock(fc))
	require.NoError(t, a.Auth.Refresh(ctx)) // both log in now; logins count apart from the user's calls
	require.NoError(t, b.Auth.Refresh(ctx))
	// The logins used up the window of the clients' address, as both pacers saw:
	// the user's calls start in the next one.
	srv.Advance(time.Second)
	fc.Advance(time.Second)

	// b sees one request left; a takes it.
	var rb, ra *Response
	_, err := b.Auth.Me(ctx, WithResponse(&rb))
	require.NoError(t, err)
	_, err = a.Auth.Me(ctx, WithResponse(&ra))
	require.NoError(t, err)
	require.Equal(t, 1, rb.RateLimit.Remaining)
	require.Equal(t, 0, ra.RateLimit.Remaining)

	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_, err := b.Companies.Get(ctx, srv.CompanyID())
		done <- err
	}()
	if !fc.WaitForTimers(1, finished) {
		t.Fatalf("b did not wait: %v %+v", <-done, rec.all())
	}
	get := "/companies/" + srv.CompanyID()
	require.Equal(t, 1, rec.count(http.MethodGet, get, http.StatusTooManyRequests))
	var limited recorded
	for _, r := range rec.all() {
		if r.Status == http.StatusTooManyRequests {
			limited = r
		}
	}
	assert.Equal(t, "1", limited.RetryAfter, "the window ends in 0.75s, in whole seconds rounded up")
	assert.Equal(t, []time.Duration{time.Second}, fc.Pending(), "b waits what the server asked")
	assert.Equal(t, 1, rec.count(http.MethodGet, get, 0), "the refused attempt only, so far")

	srv.Advance(time.Second)
	fc.Advance(time.Second)
	require.NoError(t, recv(t, done))
	assert.Equal(t, 1, rec.count(http.MethodGet, get, http.StatusOK))
}

// With the plan's tier, a burst of requests never provokes a 429 from a server
// that enforces that plan.
func TestAtlastestTierNeverProvokesA429(t *testing.T) {
	t.Parallel() // paces at one request a second: let it overlap
	srv := atlastest.NewServer(atlastest.WithPlan(atlastest.TierStandard, time.Minute))
	t.Cleanup(srv.Close)
	recOpt, rec := withRecorder(t)
	c := newClientOn(t, srv, recOpt, WithTier(TierStandard))
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Companies.Get(context.Background(), srv.CompanyID())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	for _, r := range rec.all() {
		assert.NotEqual(t, http.StatusTooManyRequests, r.Status, "%s %s", r.Method, r.Path)
	}
	assert.Equal(t, 12, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), http.StatusOK))
}

// http.Client.Timeout bounds each attempt, waits included: a rate-limit wait
// longer than it fails at once rather than sending a request that has
// already timed out.
func TestHTTPClientTimeoutBoundsTheWait(t *testing.T) {
	fc := clock.NewFake(time.Unix(1768473000, 0))
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range rlHeader(60, 0, fc.Now().Add(30*time.Second)) {
			w.Header()[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc),
		WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}))
	_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
	require.NoError(t, err)
	_, err = call[struct{}](context.Background(), c, request{path: "/x"}, nil)
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.EqualValues(t, 1, n.Load())
	assert.Empty(t, fc.Pending())
}

// A 429 that comes while the window has room is a burst limit the headers do
// not describe: from then on the pacer spaces requests evenly, at the
// window's rate or slower, so that they last until the reset.
func TestPacerSpacesRequestsAfterABurst429(t *testing.T) {
	t0 := time.Unix(1768473000, 0) // the start of a minute
	reset := t0.Add(time.Minute)
	p := newPacer(clock.NewFake(t0), "", nil)
	p.observe(rlHeader(120, 119, reset), http.StatusOK, t0)
	for range 2 {
		assert.Zero(t, p.admit(t0), "before any burst 429, requests go at once")
	}
	h := rlHeader(120, 117, reset)
	h.Set("Retry-After", "2")
	p.observe(h, http.StatusTooManyRequests, t0)
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

	p.observe(rlHeader(120, 47, reset), http.StatusOK, idle)
	assert.Equal(t, time.Second, p.admit(idle), "47 left for 47s: one a second")
}

// A 429 for a window that is used up is no burst limit: once a new window
// starts, requests go at once again.
func TestPacerDoesNotSpaceAfterAWindowFull429(t *testing.T) {
	t0 := time.Unix(1768473000, 0)
	reset := t0.Add(time.Minute)
	p := newPacer(clock.NewFake(t0), "", nil)
	h := rlHeader(60, 0, reset)
	h.Set("Retry-After", "60")
	p.observe(h, http.StatusTooManyRequests, t0)
	assert.Equal(t, time.Minute, p.delay(t0))
	p.observe(rlHeader(60, 59, reset.Add(time.Minute)), http.StatusOK, reset)
	for range 5 {
		assert.Zero(t, p.admit(reset))
	}
}

// burstServer answers the requests of a client that hits a burst limit in
// one-second windows of 300: the first three pass, the fourth is refused with
// room left in the window, and from the fifth on the next window has begun.
// It holds the fifth answer until release is closed, and tells on arrived the
// server's time at which each request from the fifth on arrived.
func burstServer(t *testing.T, fc *clock.Fake, reset time.Time, release <-chan struct{}) (*httptest.Server, <-chan time.Time) {
	arrived := make(chan time.Time, 8)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			arrived <- fc.Now()
			if i == 5 {
				<-release
			}
			h = rlHeader(300, 304-i, reset.Add(time.Second))
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		if status != http.StatusOK {
			writeError(w, status, "Rate limit exceeded")
			return
		}
		writeJSON(w, status, map[string]string{})
	}))
	t.Cleanup(srv.Close)
	return srv, arrived
}

// End to end on the fake clock: requests go at once until a burst 429; after
// its Retry-After one request goes, and a request from another copy of the
// client that waits for its slot meanwhile looks again when that request's
// answer tells the new window, from which the pacer learns that windows last
// a second.
func TestBurst429SpacesRequestsAtTheLearnedRate(t *testing.T) {
	verifyNoLeaks(t)
	reset := time.Unix(1768473001, 0)
	fc := clock.NewFake(reset.Add(-time.Second))
	release := make(chan struct{})
	srv, arrived := burstServer(t, fc, reset, release)
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	ctx := context.Background()
	for range 3 {
		_, err := call[struct{}](ctx, c, request{path: "/x"}, nil)
		require.NoError(t, err)
	}
	assert.Empty(t, fc.Pending(), "no request waited")

	done := make(chan error, 2)
	for i, cl := range []*Client{c, c.ForCompany("co-2")} {
		go func() {
			_, err := call[struct{}](ctx, cl, request{path: "/x"}, nil)
			done <- err
		}()
		require.True(t, fc.WaitForTimers(i+1, nil)) // the first gets the 429 before the second starts
	}
	assert.Equal(t, []time.Duration{time.Second, time.Second}, fc.Pending(), "both wait for Retry-After")
	fc.Advance(time.Second)
	assert.Equal(t, reset, recv(t, arrived), "one request goes when Retry-After allows")
	require.True(t, fc.WaitForTimers(1, nil))
	// The window is not known yet: the contract's minute, 300 a minute, one
	// every 200ms, and a spare interval after the first request.
	assert.Equal(t, []time.Duration{400 * time.Millisecond}, fc.Pending())

	fc.Advance(4 * time.Millisecond)
	close(release)
	require.NoError(t, recv(t, done))
	// The answer shows the next window: windows last a second, so the slot
	// is two intervals of a 300th of a second after the first request.
	slot := reset.Add(2 * (time.Second / 300))
	fc.Advance(slot.Sub(fc.Now()))
	assert.Equal(t, slot, recv(t, arrived))
	require.NoError(t, recv(t, done))
}

// A wait for a spaced slot ends when ctx does, and nothing is sent.
func TestCancelDuringASpacedWaitReturnsPromptly(t *testing.T) {
	verifyNoLeaks(t)
	reset := time.Unix(1768473001, 0)
	fc := clock.NewFake(reset.Add(-time.Second))
	release := make(chan struct{})
	close(release)
	srv, arrived := burstServer(t, fc, reset, release)
	c := newClientFor(t, srv.URL, WithTokens("tok", ""), withClock(fc))
	for range 3 {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := call[struct{}](context.Background(), c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	fc.Advance(time.Second)
	require.NoError(t, recv(t, done))
	<-arrived

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := call[struct{}](ctx, c, request{path: "/x"}, nil)
		done <- err
	}()
	require.True(t, fc.WaitForTimers(1, nil))
	cancel()
	err := recv(t, done)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, arrived, "nothing was sent")
}

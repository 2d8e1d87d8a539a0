package atlastest_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestNewTestServerIsReachableOnlyThroughItsClient(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewTestServer(t)
	assert.Equal(t, "http://127.0.0.1:0/api/v1", srv.URL)

	me := admin(t, srv).get("/auth/me")
	assert.Equal(t, http.StatusOK, me.status, "%s", me.body)

	// Whatever host a request names, the client reaches the server.
	resp, err := srv.Client().Get("http://api.example.invalid/api/v1/auth/me")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Another client finds nothing there.
	other := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(other.CloseIdleConnections)
	resp, err = other.Get(srv.URL + "/auth/me")
	if err == nil {
		_ = resp.Body.Close()
	}
	assert.Error(t, err, "a client other than srv.Client() reached the server")
}

func TestNewTestServerClosesWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	var srv *atlastest.Server
	t.Run("test", func(t *testing.T) {
		srv = atlastest.NewTestServer(t)
		_ = admin(t, srv)
	})
	resp, err := srv.Client().Get(srv.URL + "/auth/me")
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "the server still answers after its test ended")
	assert.Contains(t, err.Error(), "connection refused")
}

func TestNewTestServerRunsAnHourOfTokenLifetimeAtOnceInABubble(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithTokenLifetime(time.Hour))
		start := srv.Now()
		c := admin(t, srv)

		time.Sleep(59 * time.Minute)
		me := c.get("/auth/me")
		assert.Equal(t, http.StatusOK, me.status, "the token is valid for an hour: %s", me.body)

		time.Sleep(2 * time.Minute)
		me = c.get("/auth/me")
		assert.Equal(t, http.StatusUnauthorized, me.status, "the token expired an hour after login: %s", me.body)
		assert.Equal(t, 61*time.Minute, srv.Now().Sub(start), "the server's clock is the bubble's")
	})
}

func TestNewTestServerTodayInABubbleIsTheFirstOf2000(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		assert.Equal(t, time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC), srv.Now())
		periods := admin(t, srv).list("/periods?company_id=" + srv.CompanyID() + "&sort_by=start_date&sort_order=asc")
		require.NotEmpty(t, periods.Items)
		assert.Equal(t, "2000-01-01", periods.Items[0]["start_date"])
	})
}

func TestWithStartTimeStartsTheClockThereAndTimeMovesItOn(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, time.January, 15, 9, 0, 0, 0, time.UTC)
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithStartTime(start))
		assert.Equal(t, start, srv.Now())
		time.Sleep(90 * time.Minute)
		srv.Advance(time.Minute)
		assert.Equal(t, start.Add(91*time.Minute), srv.Now())
		periods := admin(t, srv).list("/periods?company_id=" + srv.CompanyID() + "&sort_by=start_date&sort_order=asc")
		require.NotEmpty(t, periods.Items)
		assert.Equal(t, "2026-01-01", periods.Items[0]["start_date"])
	})
}

func TestWithStartTimeRefusesAZeroTime(t *testing.T) {
	t.Parallel()
	err := atlastest.Validate(atlastest.WithStartTime(time.Time{}))
	require.ErrorIs(t, err, atlastest.ErrInvalidOption)
	assert.EqualError(t, err, "atlastest: WithStartTime: the start time is zero")
}

// fatalTB records what NewTestServer fails the test with, instead of failing it.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	for _, a := range args {
		f.fatal += a.(error).Error()
	}
}

func TestNewTestServerFailsTheTestOnABadOption(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{TB: t}
	srv := atlastest.NewTestServer(tb, atlastest.WithPlan("gold", 0))
	assert.Nil(t, srv)
	assert.Contains(t, tb.fatal, `atlastest: WithPlan: unknown tier "gold"`)
}

// flakyHandler answers the webhook deliveries it gets with the statuses it is given, in
// order (200 once they are used up), and notes when each arrived on the bubble's clock.
type flakyHandler struct {
	mu       sync.Mutex
	statuses []int
	arrived  []time.Time
	bodies   []string
}

func (h *flakyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.arrived = append(h.arrived, time.Now())
	h.bodies = append(h.bodies, string(body))
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	w.WriteHeader(status)
}

func TestSubscribeHandlerRetriesInTheBubblesTime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithWebhookRetry(3, time.Hour))
		h := &flakyHandler{statuses: []int{http.StatusServiceUnavailable}}
		id, err := srv.SubscribeHandler(h, "period.closed")
		require.NoError(t, err)

		closePeriod(admin(t, srv), 1)
		require.NoError(t, srv.WaitWebhooks(t.Context()))

		got := srv.Deliveries()
		require.Len(t, got, 2)
		assert.Equal(t, []int{503, 200}, []int{got[0].Status, got[1].Status})
		assert.Equal(t, id, got[0].SubscriptionID)
		assert.Equal(t, "http://hooks-1.atlastest.invalid/", got[0].URL)
		assert.Equal(t, time.Hour, got[1].Time.Sub(got[0].Time), "the retry waited the retry delay")
		require.Len(t, h.arrived, 2)
		assert.Equal(t, time.Hour, h.arrived[1].Sub(h.arrived[0]))
		assert.Equal(t, h.bodies[0], h.bodies[1], "the same event again")
	})
}

func TestSubscribeHandlerWorksOnAServerOfNewServer(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := &flakyHandler{}
	_, err := srv.SubscribeHandler(h)
	require.NoError(t, err)
	closePeriod(admin(t, srv), 1)
	waitWebhooks(t, srv)
	got := srv.Deliveries()
	require.Len(t, got, 1)
	assert.True(t, got[0].OK(), "%+v", got[0])
	assert.Contains(t, h.bodies[0], `"period.closed"`)
}

func TestSubscribeHandlerRefusesANilHandlerAndAClosedServer(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewTestServer(t)
	_, err := srv.SubscribeHandler(nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "atlastest: SubscribeHandler: "), err.Error())

	srv.Close()
	_, err = srv.SubscribeHandler(&flakyHandler{})
	require.Error(t, err)
	assert.False(t, errors.Is(err, atlastest.ErrInvalidOption))
	assert.Contains(t, err.Error(), "closed")
}

func TestNewTestServerFaultsRunOnTheBubblesClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		c := admin(t, srv)

		srv.DelayNext(1, 30*time.Minute)
		start := time.Now()
		me := c.get("/auth/me")
		assert.Equal(t, http.StatusOK, me.status, "%s", me.body)
		assert.Equal(t, 30*time.Minute, time.Since(start), "the injected latency, exactly")

		srv.DropNext(1)
		// On a new connection, so that net/http does not retry the GET on another.
		srv.Client().CloseIdleConnections()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/auth/me", nil)
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		require.Error(t, err, "the server dropped the connection")
		assert.Equal(t, http.StatusOK, c.get("/auth/me").status, "the next request is answered")
	})
}

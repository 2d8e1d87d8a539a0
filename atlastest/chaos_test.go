package atlastest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// fates sends n requests one after the other and returns what each got: its status, or 0
// when the connection was dropped. The requests are POSTs without an Idempotency-Key
// (answered 405), which Go's transport never sends twice by itself.
func fates(t *testing.T, srv *atlastest.Server, c *client, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		resp, err := srv.Client().Do(c.newRequest(http.MethodPost, "/auth/me", ""))
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		out[i] = resp.StatusCode
	}
	return out
}

var chaosRates = atlastest.Chaos{FailRate: 0.2, DropRate: 0.05, SlowRate: 0.05, SlowDelay: time.Millisecond}

func TestChaosIsDeterministicGivenTheSeed(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) []int {
		cfg := chaosRates
		cfg.Seed = seed
		srv := newServer(t)
		c := admin(t, srv)
		srv.SetChaos(cfg)
		return fates(t, srv, c, 200)
	}
	first := run(7)
	assert.Equal(t, first, run(7))
	assert.NotEqual(t, first, run(8))
}

func TestChaosRates(t *testing.T) {
	t.Parallel()
	cfg := chaosRates
	cfg.Seed = 1
	srv := newServer(t)
	c := admin(t, srv)
	srv.SetChaos(cfg)

	const n = 1000
	srv.ResetRequests()
	got := fates(t, srv, c, n)
	counts := map[atlastest.Fault]int{}
	statuses := map[int]bool{}
	for i, r := range srv.Requests() {
		counts[r.Fault]++
		assert.False(t, r.FaultAfterHandler, "AfterHandlerRate is 0")
		switch r.Fault {
		case atlastest.FaultFail:
			assert.Zero(t, r.HandlerStatus)
			statuses[r.Status] = true
		case atlastest.FaultDrop:
			assert.Zero(t, got[i])
		case atlastest.FaultDelay, "":
			assert.Equal(t, http.StatusMethodNotAllowed, got[i])
		}
	}
	assert.InDelta(t, 0.20*n, counts[atlastest.FaultFail], 0.03*n)
	assert.InDelta(t, 0.05*n, counts[atlastest.FaultDrop], 0.015*n)
	assert.InDelta(t, 0.05*n, counts[atlastest.FaultDelay], 0.015*n)
	assert.Equal(t, map[int]bool{500: true, 502: true, 503: true, 504: true}, statuses)
}

func TestExplicitFaultsComeBeforeChaos(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithChaos(atlastest.Chaos{FailRate: 1, FailStatuses: []int{http.StatusInternalServerError}}))
	srv.FailNext(1, http.StatusTeapot)
	var got []int
	for range 2 {
		resp, err := send(t, srv, anon(t, srv).newRequest(http.MethodGet, "/auth/me", ""))
		require.NoError(t, err)
		got = append(got, resp.status)
	}
	assert.Equal(t, []int{http.StatusTeapot, http.StatusInternalServerError}, got)
}

func TestChaosAfterTheHandler(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	before := customerCount(c)
	srv.SetChaos(atlastest.Chaos{Seed: 3, FailRate: 1, AfterHandlerRate: 1, FailStatuses: []int{502}, Matching: "POST /contacts/customers"})

	assert.Equal(t, http.StatusOK, c.get(customersPath(srv)).status, "not matched")
	for range 3 {
		resp, err := send(t, srv, c.newRequest(http.MethodPost, customersPath(srv), createCustomer("Chaotic")))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, resp.status)
	}
	srv.SetChaos(atlastest.Chaos{})
	assert.Equal(t, before+3, customerCount(c), "every create ran, every answer was lost")
}

func TestChaosRefusesNonsense(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]atlastest.Chaos{
		"negative":     {FailRate: -0.1},
		"above one":    {DropRate: 1.5},
		"sum":          {FailRate: 0.5, DropRate: 0.3, SlowRate: 0.3},
		"after":        {FailRate: 0.1, AfterHandlerRate: 2},
		"status":       {FailRate: 0.1, FailStatuses: []int{200}},
		"bad matching": {FailRate: 0.1, Matching: "GET /x/{"},
		"slow delay":   {SlowRate: 0.1, SlowDelay: -time.Second},
	} {
		opt := atlastest.WithChaos(c)
		err := atlastest.Validate(opt)
		require.ErrorIs(t, err, atlastest.ErrInvalidOption, name)
		assert.True(t, strings.HasPrefix(err.Error(), "atlastest: WithChaos: "), "%s: %v", name, err)
		assert.PanicsWithValue(t, err.Error(), func() { atlastest.NewServer(opt).Close() }, name)
		srv := newServer(t)
		assert.PanicsWithValue(t, strings.Replace(err.Error(), "WithChaos", "SetChaos", 1), func() { srv.SetChaos(c) }, name)
	}
}

package atlasredis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

func newTestDeduper(t testing.TB, prefix string, ttl time.Duration, opts ...DeduperOption) *Deduper {
	t.Helper()
	return newDeduperOn(t, newTestClient(t), prefix, ttl, opts...)
}

func newDeduperOn(t testing.TB, rdb redis.UniversalClient, prefix string, ttl time.Duration, opts ...DeduperOption) *Deduper {
	t.Helper()
	d, err := NewDeduper(rdb, prefix, ttl, opts...)
	require.NoError(t, err)
	return d
}

// Two replicas see one event the way one MemoryDeduper would.
func TestDeduperAcrossReplicas(t *testing.T) {
	t.Parallel()
	prefix := testKey(t) + ":"
	a := newTestDeduper(t, prefix, time.Hour)
	b := newTestDeduper(t, prefix, time.Hour)
	ctx := context.Background()
	claim := func(d *Deduper, id string) atlas.EventState {
		t.Helper()
		st, err := d.Claim(ctx, id)
		require.NoError(t, err)
		return st
	}

	assert.Equal(t, atlas.EventStateNew, claim(a, "ev-1"))
	assert.Equal(t, atlas.EventStateBusy, claim(b, "ev-1"), "a concurrent duplicate is told apart")
	assert.Equal(t, atlas.EventStateBusy, claim(a, "ev-1"))
	require.NoError(t, a.Finish(ctx, "ev-1", false))
	assert.Equal(t, atlas.EventStateNew, claim(b, "ev-1"), "a failed callback is not marked seen")
	require.NoError(t, b.Finish(ctx, "ev-1", true))
	assert.Equal(t, atlas.EventStateDone, claim(a, "ev-1"))
	assert.Equal(t, atlas.EventStateDone, claim(b, "ev-1"))
	assert.Equal(t, atlas.EventStateNew, claim(b, "ev-2"), "ids are independent")

	other := newTestDeduper(t, testKey(t)+":", time.Hour)
	assert.Equal(t, atlas.EventStateNew, claim(other, "ev-1"), "prefixes are independent")
}

// Of concurrent claims of one id, on any replica, exactly one is acquired.
func TestDeduperOneClaimWins(t *testing.T) {
	t.Parallel()
	prefix := testKey(t) + ":"
	replicas := []*Deduper{newTestDeduper(t, prefix, time.Hour), newTestDeduper(t, prefix, time.Hour)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := replicas[i%2].Claim(context.Background(), "ev")
			assert.NoError(t, err)
			if st == atlas.EventStateNew {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, wins.Load())
}

// A replica that died mid-callback holds its claim only for the claim's TTL;
// when it comes back late, its failure releases nobody else's claim.
func TestDeduperClaimOfADeadReplicaExpires(t *testing.T) {
	t.Parallel()
	prefix := testKey(t) + ":"
	ctx := context.Background()
	const claimTTL = 300 * time.Millisecond
	dead := newTestDeduper(t, prefix, time.Hour, WithClaimTTL(claimTTL))
	live := newTestDeduper(t, prefix, time.Hour)
	rdb := newTestClient(t)

	st, err := dead.Claim(ctx, "ev")
	require.NoError(t, err)
	require.Equal(t, atlas.EventStateNew, st)
	pttl, err := rdb.PTTL(ctx, prefix+"ev").Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, pttl, claimTTL)

	waitExpired(t, rdb, prefix+"ev")
	st, err = live.Claim(ctx, "ev")
	require.NoError(t, err)
	require.Equal(t, atlas.EventStateNew, st, "the redelivery is handled")
	require.NoError(t, dead.Finish(ctx, "ev", false))
	st, err = newTestDeduper(t, prefix, time.Hour).Claim(ctx, "ev")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateBusy, st, "the live replica's claim stands")
}

// waitExpired returns once Redis has expired key, waiting as long as its TTL
// says.
func waitExpired(t *testing.T, rdb *redis.Client, key string) {
	t.Helper()
	for range 100 {
		left, err := rdb.PTTL(context.Background(), key).Result()
		require.NoError(t, err)
		if left == -2 {
			return
		}
		require.NotEqual(t, time.Duration(-1), left, "%s has no expiry", key)
		<-time.After(max(left, time.Millisecond))
	}
	t.Fatalf("%s did not expire", key)
}

func TestDeduperRemembersForItsTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ttl      time.Duration
		min, max time.Duration
	}{
		{time.Hour, 59 * time.Minute, time.Hour},
		{0, DefaultDedupTTL - time.Minute, DefaultDedupTTL},
		{-time.Second, DefaultDedupTTL - time.Minute, DefaultDedupTTL},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.ttl), func(t *testing.T) {
			t.Parallel()
			prefix := testKey(t) + ":"
			d := newTestDeduper(t, prefix, tt.ttl)
			ctx := context.Background()
			_, err := d.Claim(ctx, "ev")
			require.NoError(t, err)
			claimed, err := newTestClient(t).PTTL(ctx, prefix+"ev").Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, claimed, DefaultClaimTTL)
			assert.Greater(t, claimed, DefaultClaimTTL-time.Minute)

			require.NoError(t, d.Finish(ctx, "ev", true))
			done, err := newTestClient(t).PTTL(ctx, prefix+"ev").Result()
			require.NoError(t, err)
			assert.GreaterOrEqual(t, done, tt.min)
			assert.LessOrEqual(t, done, tt.max)
		})
	}
}

func TestDeduperRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newTestDeduper(t, testKey(t)+":", time.Hour)
	_, err := d.Claim(ctx, "")
	assert.ErrorContains(t, err, "empty event id")
	assert.ErrorContains(t, d.Finish(ctx, "", true), "empty event id")
	var nilCtx context.Context // a caller passing nil: the input under test
	_, err = d.Claim(nilCtx, "ev")
	assert.ErrorContains(t, err, "nil context")

	var nilDeduper *Deduper
	_, err = nilDeduper.Claim(ctx, "ev")
	assert.ErrorContains(t, err, "nil Deduper")
	_, err = new(Deduper).Claim(ctx, "ev")
	assert.ErrorContains(t, err, "not made by NewDeduper")
	assert.ErrorContains(t, new(Deduper).Finish(ctx, "ev", true), "not made by NewDeduper")
}

// NewDeduper refuses what it cannot use, as the root package's constructors
// do, and no option keeps a default in silence.
func TestNewDeduperRefusesBadConfig(t *testing.T) {
	t.Parallel()
	rdb := newTestClient(t)
	for name, tc := range map[string]struct {
		rdb  redis.UniversalClient
		opts []DeduperOption
		want string
	}{
		"nil client":          {nil, nil, "NewDeduper: nil Redis client"},
		"zero claim TTL":      {rdb, []DeduperOption{WithClaimTTL(0)}, "claim TTL 0s is not positive"},
		"negative claim TTL":  {rdb, []DeduperOption{WithClaimTTL(-time.Second)}, "not positive"},
		"sub-millisecond TTL": {rdb, []DeduperOption{WithClaimTTL(time.Microsecond)}, "shorter than a millisecond"},
	} {
		d, err := NewDeduper(tc.rdb, "p:", time.Hour, tc.opts...)
		assert.Nil(t, d, name)
		assert.ErrorIs(t, err, atlas.ErrInvalidConfig, name)
		assert.ErrorContains(t, err, tc.want, name)
	}
	d, err := NewDeduper(rdb, "p:", 0, nil, WithClaimTTL(time.Minute))
	require.NoError(t, err, "a nil option is skipped, a zero ttl means the default")
	assert.Equal(t, DefaultDedupTTL, d.ttl)
	assert.Equal(t, time.Minute, d.claimTTL)
}

// webhookReplica is one replica of a webhook receiver: atlas.NewWebhookHandler
// on a Deduper of its own, behind its own HTTP server.
type webhookReplica struct {
	srv   *httptest.Server
	calls *atomic.Int32
}

const webhookSecret = "whsec_test"

func newWebhookReplica(t *testing.T, rdb *Deduper, calls *atomic.Int32, fail func() bool) *webhookReplica {
	t.Helper()
	h, err := atlas.NewWebhookHandler(webhookSecret, func(context.Context, *atlas.WebhookEvent) error {
		calls.Add(1)
		if fail != nil && fail() {
			return errors.New("callback failed")
		}
		return nil
	}, atlas.WithWebhookDeduper(rdb))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &webhookReplica{srv: srv, calls: calls}
}

func deliver(t *testing.T, r *webhookReplica, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.srv.URL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook([]byte(body), webhookSecret))
	resp, err := r.srv.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func webhookBody(id string) string {
	return `{"id":"` + id + `","event":"invoice.paid","timestamp":"2026-02-10T13:25:01Z",` +
		`"data":{"id":"inv-1","invoice_number":"INV-1","amount":10.0,"currency":"USD","customer_id":"c-1","status":"paid"}}`
}

// Two replicas of a receiver behind a load balancer handle each event once,
// however the deliveries are spread; a failed callback is handled again by
// whichever replica gets the redelivery.
func TestDeduperTwoWebhookHandlers(t *testing.T) {
	t.Parallel()
	prefix := testKey(t) + ":"
	var calls atomic.Int32
	var failNext atomic.Bool
	fail := func() bool { return failNext.CompareAndSwap(true, false) }
	a := newWebhookReplica(t, newTestDeduper(t, prefix, time.Hour), &calls, fail)
	b := newWebhookReplica(t, newTestDeduper(t, prefix, time.Hour), &calls, fail)

	assert.Equal(t, http.StatusNoContent, deliver(t, a, webhookBody("ev-1")))
	assert.Equal(t, http.StatusNoContent, deliver(t, b, webhookBody("ev-1")), "a duplicate is acknowledged")
	assert.EqualValues(t, 1, calls.Load())

	failNext.Store(true)
	assert.Equal(t, http.StatusInternalServerError, deliver(t, b, webhookBody("ev-2")))
	assert.Equal(t, http.StatusNoContent, deliver(t, a, webhookBody("ev-2")), "the redelivery is handled")
	assert.Equal(t, http.StatusNoContent, deliver(t, b, webhookBody("ev-2")))
	assert.EqualValues(t, 3, calls.Load())

	// The same event delivered to both at once: one callback.
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = deliver(t, []*webhookReplica{a, b}[i%2], webhookBody("ev-3"))
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 4, calls.Load(), "one callback for ev-3")
	for _, st := range statuses {
		assert.Contains(t, []int{http.StatusNoContent, http.StatusConflict}, st)
	}
}

// With Redis down the handler answers 500 and calls nothing, so that Atlas
// delivers the event again; once Redis is back, the event is handled.
func TestDeduperWithRedisDown(t *testing.T) {
	t.Parallel()
	p := newProxy(t)
	var calls atomic.Int32
	r := newWebhookReplica(t, newDeduperOn(t, newClientAt(t, p.url(t)), testKey(t)+":", time.Hour), &calls, nil)

	p.set(proxyCut)
	assert.Equal(t, http.StatusInternalServerError, deliver(t, r, webhookBody("ev-1")))
	assert.Zero(t, calls.Load())

	p.set(proxyOpen)
	assert.Equal(t, http.StatusNoContent, deliver(t, r, webhookBody("ev-1")))
	assert.Equal(t, http.StatusNoContent, deliver(t, r, webhookBody("ev-1")))
	assert.EqualValues(t, 1, calls.Load())
}

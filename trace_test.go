package atlas_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// spanKey is the key under which traceRec's hooks put the span they open
// on the contexts they return, as a tracer would.
type spanKey struct{}

func spanOf(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(spanKey{}).(string)
	return s
}

// traceEvent is one hook's call: the span of the context it got (parent),
// the span it opened (for a Start hook), and what it was told.
type traceEvent struct {
	hook    string
	parent  string
	span    string
	info    any
	renewal string // WaitInfo.Renewal's span
}

// traceRec is a ClientTrace that records every hook's call.
type traceRec struct {
	mu      sync.Mutex
	events  []traceEvent
	n       int
	header  func(atlas.AttemptInfo) http.Header // headers AttemptStart adds; nil for none
	renewed chan struct{}                       // TokenRenewalDone sends on it, when not nil
}

func (r *traceRec) open(ctx context.Context, hook, name string, info any) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	span := fmt.Sprintf("%s#%d", name, r.n)
	r.events = append(r.events, traceEvent{hook: hook, parent: spanOf(ctx), span: span, info: info})
	return context.WithValue(ctx, spanKey{}, span)
}

func (r *traceRec) add(ctx context.Context, hook string, info any) {
	e := traceEvent{hook: hook, span: spanOf(ctx), info: info}
	if w, ok := info.(atlas.WaitInfo); ok {
		e.renewal = spanOf(w.Renewal)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *traceRec) trace() *atlas.ClientTrace {
	return &atlas.ClientTrace{
		CallStart: func(ctx context.Context, info atlas.CallInfo) context.Context {
			return r.open(ctx, "CallStart", "call "+info.Operation, info)
		},
		CallDone: func(ctx context.Context, info atlas.CallDoneInfo) {
			r.add(ctx, "CallDone", info)
		},
		AttemptStart: func(ctx context.Context, info atlas.AttemptInfo) context.Context {
			if r.header != nil {
				for k, v := range r.header(info) {
					info.Header[k] = v
				}
			}
			return r.open(ctx, "AttemptStart", "attempt "+info.Operation, info)
		},
		AttemptDone: func(ctx context.Context, info atlas.AttemptDoneInfo) { r.add(ctx, "AttemptDone", info) },
		Wait:        func(ctx context.Context, info atlas.WaitInfo) { r.add(ctx, "Wait", info) },
		TokenRenewalStart: func(ctx context.Context, info atlas.TokenRenewalInfo) context.Context {
			return r.open(ctx, "TokenRenewalStart", "renewal "+string(info.Kind), info)
		},
		TokenRenewalDone: func(ctx context.Context, info atlas.TokenRenewalDoneInfo) {
			r.add(ctx, "TokenRenewalDone", info)
			if r.renewed != nil {
				r.renewed <- struct{}{}
			}
		},
		RateLimit: func(ctx context.Context, info atlas.RateLimit) { r.add(ctx, "RateLimit", info) },
	}
}

// all returns the events so far.
func (r *traceRec) all() []traceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]traceEvent(nil), r.events...)
}

// find returns the events of hook that match (nil match: all).
func (r *traceRec) find(hook string, match func(traceEvent) bool) []traceEvent {
	var out []traceEvent
	for _, e := range r.all() {
		if e.hook == hook && (match == nil || match(e)) {
			out = append(out, e)
		}
	}
	return out
}

// one returns the one event of hook that matches.
func (r *traceRec) one(t *testing.T, hook string, match func(traceEvent) bool) traceEvent {
	t.Helper()
	evs := r.find(hook, match)
	require.Len(t, evs, 1, "%s events: %+v", hook, r.all())
	return evs[0]
}

// index is the position of the first event of hook whose span is span.
func (r *traceRec) index(hook, span string) int {
	for i, e := range r.all() {
		if e.hook == hook && e.span == span {
			return i
		}
	}
	return -1
}

func op(name string) func(traceEvent) bool {
	return func(e traceEvent) bool {
		switch info := e.info.(type) {
		case atlas.CallInfo:
			return info.Operation == name
		case atlas.CallDoneInfo:
			return info.Operation == name
		case atlas.AttemptInfo:
			return info.Operation == name
		case atlas.AttemptDoneInfo:
			return info.Operation == name
		}
		return false
	}
}

func reason(r atlas.WaitReason) func(traceEvent) bool {
	return func(e traceEvent) bool { return e.info.(atlas.WaitInfo).Reason == r }
}

func TestClientTraceSeesACallFromStartToEnd(t *testing.T) {
	t.Parallel()
	rec := &traceRec{}
	c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(rec.trace())))
	ctx := t.Context()

	_, err := c.Invoices.Get(ctx, "00000000-0000-4000-8000-000000000000")
	require.ErrorIs(t, err, atlas.ErrNotFound)

	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)

	start := rec.one(t, "CallStart", op("Invoices.Get"))
	get := atlas.CallInfo{Operation: "Invoices.Get", Method: http.MethodGet, Route: "/invoices/{id}", Company: srv.CompanyID()}
	assert.Equal(t, get, start.info)
	assert.Empty(t, start.parent)
	done := rec.one(t, "CallDone", op("Invoices.Get"))
	assert.Equal(t, start.span, done.span, "CallDone gets the context CallStart returned")
	di := done.info.(atlas.CallDoneInfo)
	assert.Equal(t, get, di.CallInfo)
	assert.ErrorIs(t, di.Err, atlas.ErrNotFound)
	assert.Equal(t, 1, di.Attempts)
	assert.Positive(t, di.Duration)

	// The first call logs in: a renewal under the call, and the login's own
	// call and attempt under the renewal.
	renewal := rec.one(t, "TokenRenewalStart", nil)
	assert.Equal(t, atlas.TokenRenewalInfo{Kind: atlas.TokenLogin}, renewal.info)
	assert.Equal(t, start.span, renewal.parent)
	login := rec.one(t, "CallStart", op("Auth.Login"))
	assert.Equal(t, atlas.CallInfo{Operation: "Auth.Login", Method: http.MethodPost, Route: "/auth/login"}, login.info)
	assert.Equal(t, renewal.span, login.parent)
	loginAttempt := rec.one(t, "AttemptStart", op("Auth.Login"))
	assert.Equal(t, login.span, loginAttempt.parent)
	renewed := rec.one(t, "TokenRenewalDone", nil)
	assert.Equal(t, renewal.span, renewed.span)
	assert.Equal(t, atlas.TokenRenewalDoneInfo{Kind: atlas.TokenLogin}, renewed.info)
	wait := rec.one(t, "Wait", nil)
	assert.Equal(t, start.span, wait.span)
	assert.Equal(t, atlas.WaitTokenRenewal, wait.info.(atlas.WaitInfo).Reason)
	assert.Equal(t, renewal.span, wait.renewal, "the wait names the renewal it waited for")

	attempt := rec.one(t, "AttemptStart", op("Invoices.Get"))
	assert.Equal(t, start.span, attempt.parent)
	ai := attempt.info.(atlas.AttemptInfo)
	assert.Equal(t, get, ai.CallInfo)
	assert.Equal(t, u.Hostname(), ai.Host)
	assert.Equal(t, port, ai.Port)
	assert.Zero(t, ai.Resend)
	attemptDone := rec.one(t, "AttemptDone", op("Invoices.Get"))
	assert.Equal(t, attempt.span, attemptDone.span, "AttemptDone gets the context AttemptStart returned")
	assert.Equal(t, atlas.AttemptDoneInfo{CallInfo: get, Host: u.Hostname(), Port: port, StatusCode: http.StatusNotFound},
		attemptDone.info)

	// Every answer's rate-limit headers, with the attempt's context.
	rls := rec.find("RateLimit", func(e traceEvent) bool { return e.span == attempt.span })
	require.Len(t, rls, 1)
	assert.Equal(t, c.RateLimit(), rls[0].info)
	assert.Positive(t, rls[0].info.(atlas.RateLimit).Limit)

	assert.Less(t, rec.index("TokenRenewalDone", renewal.span), rec.index("AttemptStart", attempt.span))
	assert.Less(t, rec.index("AttemptDone", attempt.span), rec.index("CallDone", start.span))
}

func TestClientTraceNamesClientDoByItsRoute(t *testing.T) {
	t.Parallel()
	rec := &traceRec{}
	c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(rec.trace())))
	ctx := t.Context()

	require.NoError(t, c.Do(ctx, &atlas.Request{Path: "/companies/" + srv.CompanyID(), Route: "/companies/{id}"}, nil))
	require.NoError(t, c.Do(ctx, &atlas.Request{Path: "/invoices", Company: atlas.CompanyRequired}, nil))
	calls := rec.find("CallStart", op("Do"))
	require.Len(t, calls, 2)
	assert.Equal(t, atlas.CallInfo{Operation: "Do", Method: http.MethodGet, Route: "/companies/{id}"}, calls[0].info)
	assert.Equal(t, atlas.CallInfo{Operation: "Do", Method: http.MethodGet, Company: srv.CompanyID()}, calls[1].info,
		"without a Route the trace gets none, never the path")

	for _, route := range []string{"companies/{id}", "/companies?id=1", "/companies/{id}#x", "/companies/ {id}", "/a\n"} {
		err := c.Do(ctx, &atlas.Request{Path: "/companies", Route: route}, nil)
		require.ErrorIs(t, err, atlas.ErrInvalidParams, "%q", route)
	}
	assert.Len(t, rec.find("CallStart", op("Do")), 2, "a refused Request is not a call")
}

func TestClientTraceOnTheContextRunsBeforeTheClients(t *testing.T) {
	t.Parallel()
	var order []string
	var mu sync.Mutex
	hook := func(name string) *atlas.ClientTrace {
		return &atlas.ClientTrace{CallStart: func(ctx context.Context, info atlas.CallInfo) context.Context {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name+" "+info.Operation+" after "+spanOf(ctx))
			return context.WithValue(ctx, spanKey{}, name)
		}}
	}
	c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(hook("client"))))
	ctx := atlas.ContextWithClientTrace(t.Context(), hook("context"))
	_, err := c.Companies.Get(ctx, srv.CompanyID())
	require.NoError(t, err)
	_, err = c.Companies.Get(t.Context(), srv.CompanyID())
	require.NoError(t, err)
	assert.Equal(t, []string{
		"context Companies.Get after ", "client Companies.Get after context",
		// The login the first call made is traced by both too, under the call's contexts.
		"context Auth.Login after client", "client Auth.Login after context",
		"client Companies.Get after ",
	}, order)
}

func TestClientTraceSeesEachAttemptAcrossAnInjected503(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []atlastest.FaultOption
		reason atlas.WaitReason
	}{
		{"without Retry-After the client backs off", nil, atlas.WaitBackoff},
		{"with Retry-After the server set the pause", []atlastest.FaultOption{atlastest.RetryAfter(time.Second)}, atlas.WaitRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &traceRec{header: func(info atlas.AttemptInfo) http.Header {
				return http.Header{
					"Traceparent":   {fmt.Sprintf("00-%s-%d", strings.ToLower(info.Operation), info.Resend)},
					"Authorization": {"Bearer forged"},
					"User-Agent":    {"forged"},
				}
			}}
			// A Retry-After of a second is cut to MaxBackoff, which is still
			// longer than the first backoff (a millisecond at most).
			retry := atlas.RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond}
			c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(rec.trace()), atlas.WithRetry(retry)))
			ctx := t.Context()
			_, err := c.Auth.Me(ctx) // logs in
			require.NoError(t, err)

			srv.FailNext(1, http.StatusServiceUnavailable, append(tc.opts, atlastest.Matching("GET /companies/{id}"))...)
			_, err = c.Companies.Get(ctx, srv.CompanyID())
			require.NoError(t, err)

			attempts := rec.find("AttemptDone", op("Companies.Get"))
			require.Len(t, attempts, 2)
			first, second := attempts[0].info.(atlas.AttemptDoneInfo), attempts[1].info.(atlas.AttemptDoneInfo)
			assert.Equal(t, []int{0, http.StatusServiceUnavailable}, []int{first.Resend, first.StatusCode})
			assert.Equal(t, []int{1, http.StatusOK}, []int{second.Resend, second.StatusCode})
			assert.NoError(t, first.Err)
			done := rec.one(t, "CallDone", op("Companies.Get")).info.(atlas.CallDoneInfo)
			assert.Equal(t, 2, done.Attempts)
			assert.NoError(t, done.Err)

			start := rec.one(t, "CallStart", op("Companies.Get"))
			waits := rec.find("Wait", func(e traceEvent) bool { return e.span == start.span })
			require.Len(t, waits, 1)
			assert.Equal(t, tc.reason, waits[0].info.(atlas.WaitInfo).Reason)
			assert.Positive(t, waits[0].info.(atlas.WaitInfo).Duration)

			// What AttemptStart added reached the server, but not over the
			// client's own headers.
			var got []string
			for _, r := range srv.Requests() {
				if r.Path == "/companies/"+srv.CompanyID() {
					got = append(got, r.Header.Get("Traceparent"))
					assert.Equal(t, "Bearer [REDACTED]", r.Header.Get("Authorization"))
					assert.Contains(t, r.Header.Get("User-Agent"), "atlas-go/")
				}
			}
			assert.Equal(t, []string{"00-companies.get-0", "00-companies.get-1"}, got)
			logins := 0
			for _, r := range srv.Requests() {
				if r.Path == "/auth/login" {
					logins++
					assert.Equal(t, "00-auth.login-0", r.Header.Get("Traceparent"), "the login's own attempt is traced")
					assert.Empty(t, r.Header.Get("Authorization"), "a hook sets no Authorization header, even where the client sends none")
				}
			}
			assert.Equal(t, 1, logins)
		})
	}
}

// A connection error: the attempt's Err, and no status.
func TestClientTraceSeesAnAttemptsConnectionError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec)
		_, err := c.Auth.Me(t.Context())
		require.NoError(t, err)
		// Two drops: net/http replays a POST with an Idempotency-Key once by
		// itself on a reused connection, so that the client sees one or two.
		srv.DropNext(2, atlastest.Matching("POST /contacts/customers"))
		_, err = c.Customers.Create(t.Context(), &atlas.CustomerCreateParams{DisplayName: "Dropped"})
		require.NoError(t, err)
		attempts := rec.find("AttemptDone", op("Customers.Create"))
		require.GreaterOrEqual(t, len(attempts), 2)
		assert.Error(t, attempts[0].info.(atlas.AttemptDoneInfo).Err)
		assert.Zero(t, attempts[0].info.(atlas.AttemptDoneInfo).StatusCode)
		last := attempts[len(attempts)-1].info.(atlas.AttemptDoneInfo)
		assert.Equal(t, http.StatusCreated, last.StatusCode)
		assert.Equal(t, len(attempts)-1, last.Resend)
		assert.Equal(t, len(attempts), rec.one(t, "CallDone", op("Customers.Create")).info.(atlas.CallDoneInfo).Attempts)
	})
}

// newTracedBubbleClient is newBubbleClient with rec's trace.
func newTracedBubbleClient(t *testing.T, srv *atlastest.Server, rec *traceRec, opts ...atlas.Option) *atlas.Client {
	t.Helper()
	return newBubbleClient(t, srv, append([]atlas.Option{atlas.WithClientTrace(rec.trace())}, opts...)...)
}

func TestClientTraceWaitsForAPlans429AreRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithPlan(atlastest.TierStandard, 0))
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec)
		// Past the plan's burst of 10: the server answers 429 with Retry-After.
		for range 12 {
			_, err := c.Auth.Me(t.Context())
			require.NoError(t, err)
		}
		limited := rec.find("AttemptDone", func(e traceEvent) bool {
			return e.info.(atlas.AttemptDoneInfo).StatusCode == http.StatusTooManyRequests
		})
		require.NotEmpty(t, limited)
		waits := rec.find("Wait", reason(atlas.WaitRetryAfter))
		require.NotEmpty(t, waits)
		assert.Positive(t, waits[0].info.(atlas.WaitInfo).Duration)
		assert.Empty(t, rec.find("Wait", reason(atlas.WaitBackoff)))
	})
}

func TestClientTraceWaitsOfTheTiersPacingAreRateLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithPlan(atlastest.TierStandard, 0))
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec, atlas.WithTier(atlas.TierStandard))
		for range 12 {
			_, err := c.Auth.Me(t.Context())
			require.NoError(t, err)
		}
		waits := rec.find("Wait", reason(atlas.WaitRateLimit))
		require.NotEmpty(t, waits, "%+v", rec.all())
		// The plan's bucket refills a request a second; the bubble's clock is exact.
		assert.Equal(t, time.Second, waits[0].info.(atlas.WaitInfo).Duration)
		assert.Empty(t, rec.find("AttemptDone", func(e traceEvent) bool {
			return e.info.(atlas.AttemptDoneInfo).StatusCode == http.StatusTooManyRequests
		}), "paced, the client gets no 429")
		assert.Empty(t, rec.find("Wait", reason(atlas.WaitRetryAfter)))
	})
}

// slowLimiter lets each attempt go after a pause.
type slowLimiter struct{ pause time.Duration }

func (l slowLimiter) Wait(ctx context.Context) error {
	select {
	case <-time.After(l.pause):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (slowLimiter) Observe(context.Context, atlas.RateObservation) {}

func TestClientTraceWaitsForACustomLimiterAreLimiter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec, atlas.WithLimiter(slowLimiter{pause: 3 * time.Second}))
		_, err := c.Auth.Me(t.Context())
		require.NoError(t, err)
		me := rec.one(t, "CallStart", op("Auth.Me"))
		waits := rec.find("Wait", func(e traceEvent) bool { return e.span == me.span && reason(atlas.WaitLimiter)(e) })
		require.Len(t, waits, 1)
		assert.Equal(t, 3*time.Second, waits[0].info.(atlas.WaitInfo).Duration)
		login := rec.one(t, "CallStart", op("Auth.Login"))
		assert.Len(t, rec.find("Wait", func(e traceEvent) bool { return e.span == login.span && reason(atlas.WaitLimiter)(e) }), 1,
			"the login's own attempt waits for the Limiter too")
	})
}

func TestClientTraceCallsWaitingForOneRenewalNameIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		srv.DelayNext(1, time.Second, atlastest.Matching("POST /auth/login"))
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				_, err := c.Auth.Me(t.Context())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		renewal := rec.one(t, "TokenRenewalStart", nil)
		waits := rec.find("Wait", reason(atlas.WaitTokenRenewal))
		require.Len(t, waits, 3, "each call waited for the one login")
		calls := map[string]bool{}
		for _, w := range waits {
			assert.Equal(t, renewal.span, w.renewal)
			assert.Equal(t, time.Second, w.info.(atlas.WaitInfo).Duration)
			calls[w.span] = true
		}
		assert.Len(t, calls, 3)
		assert.Len(t, rec.find("CallStart", op("Auth.Login")), 1)
	})
}

func TestClientTraceSeesAnExpiredTokensRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t) // access tokens live an hour
		rec := &traceRec{}
		c := newTracedBubbleClient(t, srv, rec)
		_, err := c.Auth.Me(t.Context())
		require.NoError(t, err)
		time.Sleep(time.Hour)
		_, err = c.Auth.Me(t.Context())
		require.NoError(t, err)

		renewals := rec.find("TokenRenewalStart", nil)
		require.Len(t, renewals, 2)
		assert.Equal(t, atlas.TokenRenewalInfo{Kind: atlas.TokenRefresh}, renewals[1].info)
		second := rec.find("CallStart", op("Auth.Me"))[1]
		assert.Equal(t, second.span, renewals[1].parent)
		refresh := rec.one(t, "CallStart", op("Auth.Refresh"))
		assert.Equal(t, atlas.CallInfo{Operation: "Auth.Refresh", Method: http.MethodPost, Route: "/auth/refresh"}, refresh.info)
		assert.Equal(t, renewals[1].span, refresh.parent)
		done := rec.find("TokenRenewalDone", func(e traceEvent) bool { return e.span == renewals[1].span })
		require.Len(t, done, 1)
		assert.Equal(t, atlas.TokenRenewalDoneInfo{Kind: atlas.TokenRefresh}, done[0].info)
	})
}

// blockingStore is a MemoryTokenStore whose Save waits for release.
type blockingStore struct {
	atlas.MemoryTokenStore
	saving  chan struct{}
	release chan struct{}
}

func (s *blockingStore) Save(ctx context.Context, t *atlas.Tokens) error {
	s.saving <- struct{}{}
	<-s.release
	return s.MemoryTokenStore.Save(ctx, t)
}

func TestClientTraceSeesARenewalOutliveTheCallThatStartedIt(t *testing.T) {
	t.Parallel()
	rec := &traceRec{renewed: make(chan struct{}, 1)}
	store := &blockingStore{saving: make(chan struct{}), release: make(chan struct{})}
	c, _ := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(rec.trace()), atlas.WithTokenStore(store)))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		_, err := c.Auth.Me(ctx)
		ended <- err
	}()
	<-store.saving // logged in; the renewal is saving the tokens
	cancel()
	require.ErrorIs(t, <-ended, context.Canceled)
	me := rec.one(t, "CallDone", op("Auth.Me"))
	assert.ErrorIs(t, me.info.(atlas.CallDoneInfo).Err, context.Canceled)
	assert.Empty(t, rec.find("TokenRenewalDone", nil), "the renewal goes on")

	close(store.release)
	<-rec.renewed
	renewal := rec.one(t, "TokenRenewalStart", nil)
	assert.Equal(t, me.span, renewal.parent, "started by the call")
	done := rec.one(t, "TokenRenewalDone", nil)
	assert.Equal(t, renewal.span, done.span)
	assert.Equal(t, atlas.TokenRenewalDoneInfo{Kind: atlas.TokenLogin}, done.info, "the login succeeded")
	assert.Greater(t, rec.index("TokenRenewalDone", renewal.span), rec.index("CallDone", me.span))
}

// dump writes out everything a hook was given, field by field: strings,
// errors (their messages), headers, requests and whatever %+v prints. A
// context is the hooks' own and is skipped.
func dump(b *strings.Builder, v reflect.Value) {
	if !v.IsValid() {
		return
	}
	if v.CanInterface() {
		switch x := v.Interface().(type) {
		case context.Context:
			return
		case error:
			if x != nil {
				fmt.Fprintf(b, "%s | %+v | %#v\n", x.Error(), x, x)
			}
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dump(b, v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			dump(b, v.Field(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			dump(b, k)
			dump(b, v.MapIndex(k))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			dump(b, v.Index(i))
		}
	}
	if v.CanInterface() {
		fmt.Fprintf(b, "%+v\n", v.Interface())
	}
}

func TestClientTraceHooksSeeNoSecret(t *testing.T) {
	t.Parallel()
	const (
		querySecret  = "query-secret-0c8e"
		bodySecret   = "body-secret-77a1"
		headerSecret = "header-secret-b3f9"
	)
	rec := &traceRec{}
	store := &atlas.MemoryTokenStore{}
	c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(rec.trace()), atlas.WithTokenStore(store)))
	ctx := t.Context()

	_, err := c.Auth.Me(ctx) // a login: the password in its body
	require.NoError(t, err)
	first, err := store.Load(ctx)
	require.NoError(t, err)
	require.NoError(t, c.Auth.Refresh(ctx)) // a refresh: the refresh token in its body
	second, err := store.Load(ctx)
	require.NoError(t, err)
	_ = c.Do(ctx, &atlas.Request{Path: "/invoices", Route: "/invoices", Company: atlas.CompanyRequired,
		Query: url.Values{"customer_id": {querySecret}}}, nil, atlas.WithHeader("X-Note", headerSecret))
	_, _ = c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: bodySecret, Email: bodySecret + "@example.com"})
	_, _ = c.Invoices.List(ctx, &atlas.InvoiceListParams{CustomerID: querySecret})
	srv.FailNext(1, http.StatusServiceUnavailable)
	_, _ = c.Invoices.Get(ctx, "00000000-0000-4000-8000-000000000000")

	secrets := []string{srv.Password(), first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken,
		querySecret, bodySecret, headerSecret, "Bearer", "Authorization"}
	for _, s := range secrets {
		require.NotEmpty(t, s)
	}
	evs := rec.all()
	require.Greater(t, len(evs), 20)
	for _, e := range evs {
		var b strings.Builder
		dump(&b, reflect.ValueOf(e.info))
		for _, s := range secrets {
			assert.NotContains(t, b.String(), s, "%s", e.hook)
		}
	}
	// The id in the path is no secret, but the route names no id.
	for _, e := range rec.find("CallStart", op("Invoices.Get")) {
		assert.Equal(t, "/invoices/{id}", e.info.(atlas.CallInfo).Route)
	}
}

func TestWebhookTraceSeesEachDeliveryAndItsOutcome(t *testing.T) {
	t.Parallel()
	const secret = "whsec_trace_test"
	type delivery struct {
		event    string
		verified bool // EventVerified came before the callback ran
		done     atlas.WebhookDeliveryInfo
		ended    bool
	}
	var (
		mu         sync.Mutex
		deliveries = map[string]*delivery{}
		n          int
		seen       []string // what DeliveryStart's request showed
	)
	trace := &atlas.WebhookTrace{
		DeliveryStart: func(ctx context.Context, r *http.Request) context.Context {
			mu.Lock()
			defer mu.Unlock()
			n++
			id := fmt.Sprintf("delivery#%d", n)
			deliveries[id] = &delivery{}
			var b strings.Builder
			dump(&b, reflect.ValueOf(r))
			seen = append(seen, b.String())
			return context.WithValue(ctx, spanKey{}, id)
		},
		EventVerified: func(ctx context.Context, event string) {
			mu.Lock()
			defer mu.Unlock()
			deliveries[spanOf(ctx)].event = event
		},
		DeliveryDone: func(ctx context.Context, info atlas.WebhookDeliveryInfo) {
			mu.Lock()
			defer mu.Unlock()
			deliveries[spanOf(ctx)].done, deliveries[spanOf(ctx)].ended = info, true
		},
	}
	inCallback, release := make(chan struct{}), make(chan struct{})
	handler, err := atlas.NewWebhookHandler(secret, func(ctx context.Context, ev *atlas.WebhookEvent) error {
		mu.Lock()
		d := deliveries[spanOf(ctx)] // the callback gets DeliveryStart's context
		d.verified = d.event == string(ev.Type)
		mu.Unlock()
		switch ev.ID {
		case "evt-failing":
			return errors.New("the callback fails")
		case "evt-slow":
			inCallback <- struct{}{}
			<-release
		}
		return nil
	}, atlas.WithWebhookTrace(trace))
	require.NoError(t, err)

	body := func(id string) string {
		return strings.Replace(exampleDelivery, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8d", id, 1)
	}
	deliver := func(payload, signingSecret string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/atlas?token=query-secret-5d2c", strings.NewReader(payload))
		req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook([]byte(payload), signingSecret))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, http.StatusNoContent, deliver(body("evt-handled"), secret))
	assert.Equal(t, http.StatusNoContent, deliver(body("evt-handled"), secret))
	assert.Equal(t, http.StatusUnauthorized, deliver(body("evt-forged"), "guessed"))
	assert.Equal(t, http.StatusInternalServerError, deliver(body("evt-failing"), secret))
	slow := make(chan int, 1)
	go func() { slow <- deliver(body("evt-slow"), secret) }()
	<-inCallback
	assert.Equal(t, http.StatusConflict, deliver(body("evt-slow"), secret))
	close(release)
	assert.Equal(t, http.StatusNoContent, <-slow)

	mu.Lock()
	defer mu.Unlock()
	paid := string(atlas.EventInvoicePaid)
	want := []struct {
		outcome  atlas.WebhookOutcome
		status   int
		event    string
		verified bool
	}{
		{atlas.WebhookHandled, http.StatusNoContent, paid, true},
		{atlas.WebhookDuplicate, http.StatusNoContent, paid, false},
		{atlas.WebhookRefused, http.StatusUnauthorized, "", false}, // no EventVerified for a bad signature
		{atlas.WebhookFailed, http.StatusInternalServerError, paid, true},
		{atlas.WebhookHandled, http.StatusNoContent, paid, true},
		{atlas.WebhookInFlight, http.StatusConflict, paid, false},
	}
	require.Len(t, deliveries, len(want))
	for i, w := range want {
		d := deliveries[fmt.Sprintf("delivery#%d", i+1)]
		assert.True(t, d.ended, "delivery %d", i+1)
		assert.Equal(t, w.event, d.event, "delivery %d: EventVerified", i+1)
		assert.Equal(t, w.verified, d.verified, "delivery %d: EventVerified before the callback", i+1)
		assert.Equal(t, atlas.WebhookDeliveryInfo{Event: w.event, Outcome: w.outcome, StatusCode: w.status}, d.done, "delivery %d", i+1)
	}
	for _, s := range seen {
		for _, secretPart := range []string{secret, "query-secret-5d2c", "sha256=", "INV-2026-0001", atlas.SignWebhook([]byte(body("evt-handled")), secret)} {
			assert.NotContains(t, s, secretPart)
		}
	}
}

func TestClientTraceSetTwiceRunsOnceAndANilContextIsTakenForBackground(t *testing.T) {
	t.Parallel()
	rec := &traceRec{}
	trace := rec.trace()
	c, srv := atlas.Setup(t, atlas.ClientOptions(atlas.WithClientTrace(trace)))
	//lint:ignore SA1012 a nil context is what is tested
	ctx := atlas.ContextWithClientTrace(nil, trace) //nolint:staticcheck // a nil context is what is tested
	require.NotNil(t, ctx)
	assert.Equal(t, t.Context(), atlas.ContextWithClientTrace(t.Context(), nil), "a nil trace changes nothing")
	_, err := c.Companies.Get(ctx, srv.CompanyID())
	require.NoError(t, err)
	assert.Len(t, rec.find("CallStart", op("Companies.Get")), 1, "the same trace on the context and the client runs once")
	assert.Len(t, rec.find("CallDone", op("Companies.Get")), 1)
}

package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// gatedStore is a TokenStore whose Load waits for release, so that callers
// pile up behind it, and counts how often it was called.
type gatedStore struct {
	MemoryTokenStore
	entered chan struct{} // receives once per Load
	release chan struct{}
	loads   atomic.Int32
	fail    atomic.Int32 // the next this many Loads fail with errDisk
}

func newGatedStore(t Tokens) *gatedStore {
	s := &gatedStore{entered: make(chan struct{}, 1024), release: make(chan struct{})}
	_ = s.Save(context.Background(), &t)
	return s
}

func (s *gatedStore) Load(ctx context.Context) (*Tokens, error) {
	s.loads.Add(1)
	s.entered <- struct{}{}
	<-s.release
	if s.fail.Add(-1) >= 0 {
		return nil, errDisk
	}
	return s.MemoryTokenStore.Load(ctx)
}

// 500 calls start on a client that has not read its store yet: one Load
// serves them all, and none of them logs in.
func TestTokenStoreLoadRunsOnceForConcurrentFirstCalls(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	tok := f.issueTokens()
	store := newGatedStore(Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
	c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokenStore(store)))

	const n = 200
	var started, wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		started.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			_, err := c.Companies.Get(context.Background(), "c-001")
			errs <- err
		}()
	}
	started.Wait()
	recv(t, store.entered)
	close(store.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, store.loads.Load(), "one Load for every first call")
	assert.Zero(t, f.logins.Load())
	assert.Len(t, f.requests(http.MethodGet, "/companies/c-001"), n)
}

// A Load that fails fails the calls that waited for it, and the next call
// loads again.
func TestTokenStoreFailedLoadIsTriedAgain(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	tok := f.issueTokens()
	store := newGatedStore(Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken})
	close(store.release)
	store.fail.Store(1)
	c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokenStore(store)))

	_, err := c.Auth.Me(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, errDisk)
	assert.Contains(t, err.Error(), "load tokens")
	assert.Empty(t, f.requests("", ""), "nothing is sent without tokens")

	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err, "the second call loads again")
	assert.EqualValues(t, 2, store.loads.Load())
	assert.Zero(t, f.logins.Load())
}

// stuckStore is a TokenStore and TokenLocker whose method named block,
// from its (pass+1)th call on, ignores its context and waits for release.
type stuckStore struct {
	mem     MemoryTokenStore
	block   string
	pass    int
	entered chan string // receives the name of every stuck call
	release chan struct{}

	mu    sync.Mutex
	calls map[string]int
}

func (s *stuckStore) maybeStick(method string) {
	s.mu.Lock()
	s.calls[method]++
	stick := method == s.block && s.calls[method] > s.pass
	s.mu.Unlock()
	if stick {
		s.entered <- method
		<-s.release
	}
}

func (s *stuckStore) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *stuckStore) Load(ctx context.Context) (*Tokens, error) {
	s.maybeStick("Load")
	return s.mem.Load(ctx)
}

func (s *stuckStore) Save(ctx context.Context, t *Tokens) error {
	s.maybeStick("Save")
	return s.mem.Save(ctx, t)
}

func (s *stuckStore) LockTokens(ctx context.Context) (func(), error) {
	s.maybeStick("LockTokens")
	return s.mem.LockTokens(context.WithoutCancel(ctx))
}

// A store call that ignores its context holds no call past the call's
// context; while it is stuck, a later call does not start a second one of
// its kind; once released, it leaves no goroutine behind.
//
// Not parallel: each case checks for leaked goroutines (verifyNoLeaks).
func TestTokenStoreCallsDoNotHoldACallPastItsContext(t *testing.T) {
	cases := []struct {
		name  string
		block string
		pass  int
		// call is the call whose store call gets stuck; want is what it
		// returns once its context is cancelled (nil: success).
		call func(ctx context.Context, c *Client) error
		want error
		// whether a later call succeeds while the store call is stuck (the
		// tokens are in memory), or waits for it until its context ends
		laterServed bool
	}{
		{name: "Load", block: "Load", call: me, want: context.Canceled},
		{name: "LockTokens", block: "LockTokens", call: me, want: context.Canceled},
		{name: "Save after a login", block: "Save", call: func(ctx context.Context, c *Client) error {
			_, err := c.Auth.Login(ctx, fakeEmail, fakePassword)
			return err
		}, laterServed: true},
		{name: "Save after a refresh", block: "Save", pass: 1, call: func(ctx context.Context, c *Client) error {
			return c.Auth.Refresh(ctx)
		}, laterServed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			f := newFakeAtlas(t)
			store := &stuckStore{block: tc.block, pass: tc.pass, entered: make(chan string, 8), release: make(chan struct{}), calls: map[string]int{}}
			t.Cleanup(func() { close(store.release) }) // before the leak check
			c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
			if tc.pass > 0 {
				require.NoError(t, me(context.Background(), c))
			}

			ctx, cancel := context.WithCancel(context.Background())
			done := testkit.Go(func() error { return tc.call(ctx, c) })
			assert.Equal(t, tc.block, recv(t, store.entered))
			cancel()
			err := recv(t, done)
			if tc.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.want)
			}

			if tc.laterServed {
				require.NoError(t, me(context.Background(), c), "the tokens are in memory")
			} else {
				ctx2, cancel2 := context.WithCancel(context.Background())
				done := testkit.Go(func() error { return me(ctx2, c) })
				cancel2()
				assert.ErrorIs(t, recv(t, done), context.Canceled)
			}
			assert.Equal(t, 1+tc.pass, store.count(tc.block), "no second %s while the first is stuck", tc.block)
			assert.LessOrEqual(t, f.logins.Load(), int32(1))
		})
	}
}

// A call that waits for another call's refresh is served once the new
// tokens are installed, even while their Save is stuck and though it has no
// deadline; the call that started the refresh waits for the Save, within
// its context.
func TestCallWaitingForARefreshIsNotHeldByItsSave(t *testing.T) {
	verifyNoLeaks(t)
	f := newFakeAtlas(t)
	store := &stuckStore{block: "Save", pass: 1, entered: make(chan string, 8), release: make(chan struct{}), calls: map[string]int{}}
	t.Cleanup(func() { close(store.release) }) // before the leak check
	c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
	require.NoError(t, me(context.Background(), c))

	gate := make(chan struct{})
	refreshing := make(chan struct{}, 1)
	refused := make(chan struct{}, 1)
	f.intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/api/v1/auth/refresh":
			refreshing <- struct{}{}
			<-gate
		case "/api/v1/auth/me":
			if !f.authorized(r) {
				refused <- struct{}{}
			}
		}
		return false
	})
	f.expireAccessTokens()
	ctx, cancel := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() { leader <- me(ctx, c) }()
	recv(t, refused)
	recv(t, refreshing)
	// The waiter finds the token refused (by the leader's 401) and waits
	// for the refresh: the first thing it waits on with its context.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	watched := &watchedContext{Context: wctx, waiting: make(chan struct{})}
	waiter := make(chan error, 1)
	go func() { waiter <- me(watched, c) }()
	recv(t, watched.waiting)
	close(gate)
	assert.Equal(t, "Save", recv(t, store.entered))
	assert.NoError(t, recv(t, waiter), "served while the Save is stuck")
	cancel()
	assert.ErrorIs(t, recv(t, leader), context.Canceled)
	assert.EqualValues(t, 1, f.refreshes.Load())
}

// watchedContext closes waiting when something first waits on its Done.
type watchedContext struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *watchedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

func me(ctx context.Context, c *Client) error {
	_, err := c.Auth.Me(ctx)
	return err
}

// Stored tokens with only a refresh token start the client: it refreshes
// with it before its first request, which goes out with the new token.
func TestStoredRefreshTokenAloneStartsTheClient(t *testing.T) {
	t.Parallel()
	t.Run("httptest", func(t *testing.T) {
		t.Parallel()
		f := newFakeAtlas(t)
		tok := f.issueTokens()
		store := &MemoryTokenStore{}
		require.NoError(t, store.Save(context.Background(), &Tokens{RefreshToken: tok.RefreshToken}))
		c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokenStore(store)))

		_, err := c.Auth.Me(context.Background())
		require.NoError(t, err)
		assert.EqualValues(t, 1, f.refreshes.Load())
		assert.Zero(t, f.logins.Load())
		got := f.requests(http.MethodGet, "/auth/me")
		require.Len(t, got, 1, "no request went out without a token")
		saved, err := store.Load(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "Bearer "+saved.AccessToken, got[0].Header.Get("Authorization"))
		assert.NotEqual(t, tok.RefreshToken, saved.RefreshToken, "the rotated refresh token is saved")
	})
	t.Run("atlastest", func(t *testing.T) {
		t.Parallel()
		srv := atlastest.NewServer()
		t.Cleanup(srv.Close)
		first := &MemoryTokenStore{}
		a, _ := Setup(t, OnServer(srv), ClientOptions(WithTokenStore(first)))
		_, err := a.Auth.Me(context.Background())
		require.NoError(t, err)
		stored, err := first.Load(context.Background())
		require.NoError(t, err)
		srv.ResetRequests()

		store := &MemoryTokenStore{}
		require.NoError(t, store.Save(context.Background(), &Tokens{RefreshToken: stored.RefreshToken}))
		c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokenStore(store), WithCompany(srv.CompanyID())))
		_, err = c.Companies.Get(context.Background(), srv.CompanyID())
		require.NoError(t, err)
		var paths []string
		for _, r := range srv.Requests() {
			paths = append(paths, fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status))
		}
		assert.Equal(t, []string{"POST /auth/refresh 200", "GET /companies/" + srv.CompanyID() + " 200"}, paths)
	})
}

// lockLog is a TokenStore and TokenLocker that writes down, in order, what a
// client does with it; the fake server adds the auth requests it answers.
type lockLog struct {
	mem     MemoryTokenStore
	lockErr error // LockTokens fails with it

	mu     sync.Mutex
	events []string
}

func (s *lockLog) note(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

// take returns the events so far and forgets them.
func (s *lockLog) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events
	s.events = nil
	return e
}

func (s *lockLog) Load(ctx context.Context) (*Tokens, error) {
	s.note("load")
	return s.mem.Load(ctx)
}

func (s *lockLog) Save(ctx context.Context, t *Tokens) error {
	s.note("save")
	return s.mem.Save(ctx, t)
}

func (s *lockLog) LockTokens(ctx context.Context) (func(), error) {
	if s.lockErr != nil {
		s.note("lock failed")
		return nil, s.lockErr
	}
	unlock, err := s.mem.LockTokens(ctx)
	if err != nil {
		return nil, err
	}
	s.note("lock")
	return func() {
		s.note("unlock")
		unlock()
	}, nil
}

// logAuthRequests makes f note every login and refresh request in s.
func logAuthRequests(f *fakeAtlas, s *lockLog) {
	f.intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if p := strings.TrimPrefix(r.URL.Path, "/api/v1"); strings.HasPrefix(p, "/auth/login") || strings.HasPrefix(p, "/auth/refresh") {
			s.note(r.Method + " " + p)
		}
		return false
	})
}

// Every login and refresh, the client's own and Auth.Login/Auth.Refresh, is
// made holding the store's lock; after taking it the client loads the store
// again (except for Auth.Login, which logs in whatever the store holds), and
// it releases the lock only once the new tokens are saved.
func TestTokenLockerIsHeldAroundEveryRenewal(t *testing.T) {
	t.Parallel()
	refresh := []string{"lock", "load", "POST /auth/refresh", "save", "unlock"}
	cases := []struct {
		name  string
		setup func(t *testing.T, c *Client, f *fakeAtlas)
		act   func(ctx context.Context, c *Client) error
		want  []string
	}{
		{name: "first login", act: me, want: []string{"load", "lock", "load", "POST /auth/login", "save", "unlock"}},
		{name: "refresh before expiry", setup: func(t *testing.T, c *Client, _ *fakeAtlas) {
			require.NoError(t, me(context.Background(), c))
			time.Sleep(59*time.Minute + 30*time.Second)
		}, act: me, want: refresh},
		{name: "refresh after a 401", setup: func(t *testing.T, c *Client, f *fakeAtlas) {
			require.NoError(t, me(context.Background(), c))
			f.expireAccessTokens()
		}, act: me, want: refresh},
		{name: "Auth.Login", act: func(ctx context.Context, c *Client) error {
			_, err := c.Auth.Login(ctx, fakeEmail, fakePassword)
			return err
		}, want: []string{"lock", "POST /auth/login", "save", "unlock"}},
		{name: "Auth.Refresh", setup: func(t *testing.T, c *Client, _ *fakeAtlas) {
			require.NoError(t, me(context.Background(), c))
		}, act: func(ctx context.Context, c *Client) error { return c.Auth.Refresh(ctx) }, want: refresh},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newBubbleFake(t)
				store := &lockLog{}
				logAuthRequests(f, store)
				c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
				if tc.setup != nil {
					tc.setup(t, c, f)
				}
				store.take()
				require.NoError(t, tc.act(context.Background(), c))
				assert.Equal(t, tc.want, store.take())
			})
		})
	}
}

// Two clients share a TokenLocker store; a renews the tokens. When b then
// needs new tokens, it finds a's in the store under the lock and uses them
// without a request, or, when they are due themselves, refreshes them (not
// its own, spent refresh token). b has no credentials: a refused refresh
// would fail its call.
func TestTokenLockerUsesTokensAnotherHolderRenewed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// a renews; then b is made to need a renewal, and acts
		renew         func(t *testing.T, a *Client, f *fakeAtlas)
		act           func(ctx context.Context, b *Client) error
		wantRefreshes int32
	}{
		{name: "b's token is due", renew: func(t *testing.T, a *Client, _ *fakeAtlas) {
			time.Sleep(59*time.Minute + 30*time.Second)
			require.NoError(t, me(context.Background(), a))
		}, act: me, wantRefreshes: 1},
		{name: "b's token is refused", renew: func(t *testing.T, a *Client, f *fakeAtlas) {
			f.expireAccessTokens()
			require.NoError(t, me(context.Background(), a))
		}, act: me, wantRefreshes: 1},
		{name: "b calls Auth.Refresh", renew: func(t *testing.T, a *Client, _ *fakeAtlas) {
			require.NoError(t, a.Auth.Refresh(context.Background()))
		}, act: func(ctx context.Context, b *Client) error { return b.Auth.Refresh(ctx) }, wantRefreshes: 1},
		{name: "the stored tokens are due too", renew: func(t *testing.T, a *Client, _ *fakeAtlas) {
			require.NoError(t, a.Auth.Refresh(context.Background()))
			time.Sleep(59*time.Minute + 30*time.Second)
		}, act: me, wantRefreshes: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newBubbleFake(t)
				store := &MemoryTokenStore{}
				a, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
				b, _ := Setup(t, OnMem(f.srv, "/api/v1"), ClientOptions(WithTokenStore(store)))
				require.NoError(t, me(context.Background(), a))
				require.NoError(t, me(context.Background(), b))

				tc.renew(t, a, f)
				require.NoError(t, tc.act(context.Background(), b))
				require.NoError(t, me(context.Background(), b))
				assert.EqualValues(t, tc.wantRefreshes, f.refreshes.Load())
				assert.EqualValues(t, 1, f.logins.Load())
				stored, err := store.Load(context.Background())
				require.NoError(t, err)
				gets := f.requests(http.MethodGet, "/auth/me")
				assert.Equal(t, "Bearer "+stored.AccessToken, gets[len(gets)-1].Header.Get("Authorization"), "b uses the stored tokens")
				require.NoError(t, me(context.Background(), a), "a's tokens still serve")
			})
		})
	}
}

// signalLocker is a MemoryTokenStore that says when a client asks for its lock.
type signalLocker struct {
	MemoryTokenStore
	asked chan struct{}
}

func (s *signalLocker) LockTokens(ctx context.Context) (func(), error) {
	s.asked <- struct{}{}
	return s.MemoryTokenStore.LockTokens(ctx)
}

// A lock that cannot be taken because the lock service fails does not fail
// the call: the client renews without it and logs a warning. A call whose
// context ends while it waits for the lock fails with the context's error.
func TestTokenLockerFailure(t *testing.T) {
	t.Parallel()
	t.Run("lock service down", func(t *testing.T) {
		t.Parallel()
		f := newFakeAtlas(t)
		store := &lockLog{lockErr: errors.New("lock service unreachable")}
		logAuthRequests(f, store)
		logger, logs := captureLogs()
		c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store), WithLogger(logger)))
		require.NoError(t, me(context.Background(), c))
		assert.Equal(t, []string{"load", "lock failed", "POST /auth/login", "save"}, store.take())
		out := logs.String()
		assert.Contains(t, out, `"level":"WARN","msg":"atlas: taking the token lock failed; renewing without it","error":"lock service unreachable"`)
		assert.NotContains(t, out, fakePassword)
		assert.NotContains(t, out, "secret")
	})
	t.Run("context ends while waiting", func(t *testing.T) {
		t.Parallel()
		f := newFakeAtlas(t)
		store := &signalLocker{asked: make(chan struct{}, 4)}
		c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
		unlock, err := store.MemoryTokenStore.LockTokens(context.Background()) // another holder
		require.NoError(t, err)

		ctx, cancel := context.WithCancel(context.Background())
		done := testkit.Go(func() error { return me(ctx, c) })
		recv(t, store.asked)
		cancel()
		assert.ErrorIs(t, recv(t, done), context.Canceled)
		assert.Empty(t, f.requests("", ""), "nothing is sent without the lock")

		unlock()
		require.NoError(t, me(context.Background(), c))
		assert.EqualValues(t, 1, f.logins.Load())
	})
}

func TestMemoryTokenStoreLock(t *testing.T) {
	t.Parallel()
	var m MemoryTokenStore // the zero value is ready
	unlock, err := m.LockTokens(context.Background())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		_, err := m.LockTokens(ctx)
		cancelled <- err
	}()
	cancel()
	assert.ErrorIs(t, recv(t, cancelled), context.Canceled, "waiting honours ctx")

	next := make(chan func(), 1)
	go func() {
		u, err := m.LockTokens(context.Background())
		assert.NoError(t, err)
		next <- u
	}()
	unlock()
	second := recv(t, next)
	unlock() // a second call does nothing: the lock stays with its new holder
	assert.Len(t, m.st().lock, 1, "held")
	second()
	assert.Empty(t, m.st().lock, "released")
	third, err := m.LockTokens(context.Background())
	require.NoError(t, err)
	third()
}

// sharedStore is the store of issue 11: a TokenStore and TokenLocker that
// replicas share, whose Save takes 20 ms, as a real store's does.
type sharedStore struct {
	mem  MemoryTokenStore
	lock chan struct{}
}

func (s *sharedStore) Load(ctx context.Context) (*Tokens, error) { return s.mem.Load(ctx) }

func (s *sharedStore) Save(ctx context.Context, t *Tokens) error {
	slow := time.NewTimer(20 * time.Millisecond)
	defer slow.Stop()
	select {
	case <-slow.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.mem.Save(ctx, t)
}

func (s *sharedStore) LockTokens(ctx context.Context) (func(), error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.lock }) }, nil
}

// Issue 11: replicas, each a client of its own, share one store and one
// login on atlastest, whose refresh tokens rotate (a reused one is refused)
// and whose access tokens live 10 minutes. Some have credentials, some only
// the store's tokens, one calls only every 20 minutes. Over five token
// lifetimes: one login in all, exactly one refresh per lifetime, each
// accepted, and every call succeeds. Server and clients run on clocks the
// test moves; with the clients' clock running slow the server refuses the
// tokens before the clients think them due, so renewal starts from a 401.
func TestReplicasSharingATokenStoreRenewOncePerLifetime(t *testing.T) {
	t.Parallel()
	const (
		lifetime = 10 * time.Minute
		step     = time.Minute
		rounds   = 50
		perRound = 2 // calls by each active replica in a round, at once
	)
	stores := []struct {
		name string
		new  func() TokenStore
	}{
		{"store with a 20ms Save", func() TokenStore { return &sharedStore{lock: make(chan struct{}, 1)} }},
		{"MemoryTokenStore", func() TokenStore { return &MemoryTokenStore{} }},
	}
	clocks := []struct {
		name       string
		clientStep time.Duration // how far the clients' clock moves per server step
		interval   time.Duration // between refreshes, on the server's clock
	}{
		{"in step, refresh before expiry", step, lifetime - lifetime/10},
		{"clients slow, refresh after a 401", step * 4 / 5, lifetime},
	}
	for _, st := range stores {
		for _, ck := range clocks {
			t.Run(st.name+"/"+ck.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					// The server's clock moves only by Advance; the clients'
					// is the bubble's.
					start := time.Date(2026, time.January, 15, 9, 0, 0, 0, time.UTC)
					srv := atlastest.NewTestServer(t, atlastest.WithClock(atlastest.FixedClock(start)), atlastest.WithTokenLifetime(lifetime))
					store := st.new()
					withCreds := func() *Client {
						c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithTokenStore(store)))
						return c
					}
					tokensOnly := func() *Client {
						c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithHTTPClient(srv.Client()), WithTokenStore(store), WithCompany(srv.CompanyID())))
						return c
					}
					replicas := []*Client{withCreds(), withCreds(), withCreds(), tokensOnly(), tokensOnly(), tokensOnly()}
					cron := tokensOnly()
					require.NoError(t, me(context.Background(), replicas[0]))

					var failed atomic.Int32
					var wg sync.WaitGroup
					call := func(c *Client) {
						defer wg.Done()
						if _, err := c.Companies.Get(context.Background(), srv.CompanyID()); err != nil {
							failed.Add(1)
							t.Errorf("call failed: %v", err)
						}
					}
					for r := 1; r <= rounds; r++ {
						srv.Advance(step)
						time.Sleep(ck.clientStep)
						active := replicas
						if r%20 == 0 {
							active = append(active[:len(active):len(active)], cron)
						}
						for _, c := range active {
							for range perRound {
								wg.Add(1)
								go call(c)
							}
						}
						wg.Wait()
					}
					require.Zero(t, failed.Load(), "no call failed")

					var logins int
					var refreshes []time.Duration
					for _, req := range srv.Requests() {
						switch {
						case req.Method == http.MethodPost && req.Path == "/auth/login":
							logins++
						case req.Method == http.MethodPost && req.Path == "/auth/refresh":
							assert.Equal(t, http.StatusOK, req.Status, "no refresh refused")
							refreshes = append(refreshes, req.Time.Sub(start))
						}
					}
					assert.Equal(t, 1, logins, "one login in all")
					var want []time.Duration
					for at := ck.interval; at <= rounds*step; at += ck.interval {
						want = append(want, at)
					}
					assert.Equal(t, want, refreshes, "one refresh per token lifetime, when it ran out")
				})
			})
		}
	}
}

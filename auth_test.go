package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestLazyLoginOnFirstRequest(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	assert.Zero(t, f.logins.Load(), "NewClient must not send anything")

	me, err := c.Auth.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, fakeEmail, me.Email)
	assert.Equal(t, "Acme", me.Organization.Name)
	require.Len(t, me.Companies, 1)
	assert.Equal(t, RoleAdmin, me.Companies[0].Role)

	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.logins.Load(), "one login serves every later request")

	login := f.requests(http.MethodPost, "/auth/login")
	require.Len(t, login, 1)
	assert.Empty(t, login[0].Header.Get("Authorization"))
}

func TestLoginWithWrongPasswordIsUnauthorizedWithoutThePassword(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	const wrong = "hunter2-not-the-password"
	c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithCredentials(fakeEmail, wrong)))

	_, err := c.Companies.Get(context.Background(), "c-001")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnauthorized)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Invalid email or password", apiErr.Detail)
	assert.NotContains(t, err.Error(), wrong)
	assert.EqualValues(t, 1, f.logins.Load(), "a refused login is not retried")
	assert.Empty(t, f.requests(http.MethodGet, "/companies/c-001"), "no request goes out without a token")
}

func TestNoCredentialsNoTokensIsUnauthorized(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, OnURL(f.URL()))
	_, err := c.Auth.Me(context.Background())
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Empty(t, f.requests("", ""))
}

func TestExplicitLoginRemembersCredentials(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, OnURL(f.URL()))
	u, err := c.Auth.Login(context.Background(), fakeEmail, fakePassword)
	require.NoError(t, err)
	assert.Equal(t, "Jane Doe", u.FullName)

	f.expireAccessTokens()
	f.revokeRefreshTokens()
	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err, "the remembered credentials log in again")
	assert.EqualValues(t, 2, f.logins.Load())
}

func TestUnauthorizedRefreshesOnceAndReplays(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)

	f.expireAccessTokens()
	_, err = c.Companies.Get(context.Background(), "c-001")
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.refreshes.Load())
	assert.EqualValues(t, 1, f.logins.Load())
	gets := f.requests(http.MethodGet, "/companies/c-001")
	require.Len(t, gets, 2)
	assert.NotEqual(t, gets[0].Header.Get("Authorization"), gets[1].Header.Get("Authorization"), "the replay carries the new token")
}

func TestPersistentUnauthorizedIsNotRetriedForever(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /always-401", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusUnauthorized, "Token revoked")
	})
	c, _ := Setup(t, onFake(f))
	_, err := call[struct{}](context.Background(), c, Request{Method: http.MethodGet, Path: "/always-401"}, requestConfig{})
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Len(t, f.requests(http.MethodGet, "/always-401"), 2, "one replay after one refresh, then give up")
	assert.EqualValues(t, 1, f.refreshes.Load())
}

// 200 goroutines find the access token expired (by the server's word, a 401,
// or by its known expiry): exactly one refresh goes out.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"401", "expiry"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newBubbleFake(t)
				c, _ := Setup(t, onFake(f))
				_, err := c.Auth.Me(context.Background())
				require.NoError(t, err)
				if how == "401" {
					f.expireAccessTokens()
				} else {
					time.Sleep(time.Hour)
				}

				const n = 200
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := c.Companies.Get(context.Background(), "c-002")
						errs <- err
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
				assert.EqualValues(t, 1, f.refreshes.Load())
				assert.EqualValues(t, 1, f.logins.Load())
			})
		})
	}
}

func TestProactiveRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newBubbleFake(t)
		c, _ := Setup(t, onFake(f))
		_, err := c.Auth.Me(context.Background())
		require.NoError(t, err)

		time.Sleep(time.Hour - 2*time.Minute) // not yet due
		_, err = c.Auth.Me(context.Background())
		require.NoError(t, err)
		assert.Zero(t, f.refreshes.Load())

		time.Sleep(90 * time.Second) // within the last minute: due
		_, err = c.Auth.Me(context.Background())
		require.NoError(t, err)
		assert.EqualValues(t, 1, f.refreshes.Load())
		assert.Len(t, f.requests(http.MethodGet, "/auth/me"), 3, "the refresh came first, not after a 401")
	})
}

func TestRefreshTokenRotates(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	ctx := context.Background()
	_, err := c.Auth.Me(ctx)
	require.NoError(t, err)
	for range 3 {
		// Each refresh spends the refresh token: the second would fail if the
		// client kept the first one.
		require.NoError(t, c.Auth.Refresh(ctx))
	}
	assert.EqualValues(t, 3, f.refreshes.Load())
	assert.EqualValues(t, 1, f.logins.Load())
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)
}

func TestRefusedRefreshTokenLogsInAgainWithCredentials(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)

	f.expireAccessTokens()
	f.revokeRefreshTokens() // e.g. reused elsewhere
	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.refreshes.Load())
	assert.EqualValues(t, 2, f.logins.Load())
}

func TestRefusedRefreshTokenWithoutCredentialsIsUnauthorized(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	tok := f.issueTokens()
	c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokens(tok.AccessToken, tok.RefreshToken)))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err, "given tokens are used as they are")

	f.expireAccessTokens()
	f.revokeRefreshTokens()
	_, err = c.Auth.Me(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.NotContains(t, err.Error(), tok.RefreshToken)
	assert.NotContains(t, err.Error(), tok.AccessToken)
	assert.Zero(t, f.logins.Load())
}

// recordingStore is a TokenStore that keeps what it was given.
type recordingStore struct {
	MemoryTokenStore
	mu    sync.Mutex
	saves []Tokens
	fail  error
}

func (s *recordingStore) Save(ctx context.Context, t *Tokens) error {
	s.mu.Lock()
	s.saves = append(s.saves, *t)
	s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	return s.MemoryTokenStore.Save(ctx, t)
}

func TestTokenStoreSurvivesRestart(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	store := &recordingStore{}
	c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)
	require.Len(t, store.saves, 1)
	assert.False(t, store.saves[0].Expiry.IsZero())

	// A new process with the same store and no credentials carries on.
	restarted, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokenStore(store)))
	_, err = restarted.Auth.Me(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.logins.Load())

	f.expireAccessTokens()
	_, err = restarted.Auth.Me(context.Background())
	require.NoError(t, err)
	require.Len(t, store.saves, 2, "the refreshed tokens are saved")
	assert.NotEqual(t, store.saves[0].RefreshToken, store.saves[1].RefreshToken)
}

func TestClientsSharingAStoreFollowEachOthersRotation(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	store := &MemoryTokenStore{}
	a, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(store)))
	_, err := a.Auth.Me(context.Background())
	require.NoError(t, err)
	b, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokenStore(store)))
	_, err = b.Auth.Me(context.Background())
	require.NoError(t, err)

	require.NoError(t, a.Auth.Refresh(context.Background())) // spends the refresh token b holds
	f.expireAccessTokens()
	require.NoError(t, a.Auth.Refresh(context.Background()))
	_, err = b.Auth.Me(context.Background())
	require.NoError(t, err, "b finds a's newer tokens in the store instead of failing")
	assert.EqualValues(t, 1, f.logins.Load())
}

func TestTokenStoreErrors(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	t.Run("load", func(t *testing.T) {
		t.Parallel()
		c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(&failingLoad{})))
		_, err := c.Auth.Me(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "load tokens")
		assert.ErrorIs(t, err, errDisk)
	})
	t.Run("save", func(t *testing.T) {
		t.Parallel()
		c, _ := Setup(t, onFake(f), ClientOptions(WithTokenStore(&recordingStore{fail: errDisk})))
		_, err := c.Auth.Me(context.Background())
		assert.NoError(t, err, "a store that cannot save does not fail the call")
	})
}

var errDisk = errors.New("disk on fire")

type failingLoad struct{ MemoryTokenStore }

func (*failingLoad) Load(context.Context) (*Tokens, error) { return nil, errDisk }

func TestTokensDoNotPrintTheirSecrets(t *testing.T) {
	t.Parallel()
	tok := Tokens{AccessToken: "access-xyz-secret", RefreshToken: "refresh-xyz-secret", Expiry: time.Unix(1768473060, 0).UTC()}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, tok)
		assert.NotContains(t, out, "secret", format)
		assert.Contains(t, out, "2026-01-15", format)
	}
	out := fmt.Sprintf("%v", &tok)
	assert.NotContains(t, out, "secret")
	assert.NotContains(t, tok.LogValue().String(), "secret")
}

func TestWaitingForAnotherCallersRefreshHonoursContext(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	f.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/auth/login" {
			return false
		}
		once.Do(func() { close(entered) })
		<-release
		writeError(w, http.StatusServiceUnavailable, "down")
		return true
	})
	c, _ := Setup(t, onFake(f), ClientOptions(WithRetry(RetryPolicy{MaxRetries: 0})))

	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Auth.Me(context.Background())
		leaderDone <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	followerDone := make(chan error, 1)
	go func() {
		_, err := c.Auth.Me(ctx)
		followerDone <- err
	}()
	cancel()
	err := <-followerDone
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	assert.Error(t, <-leaderDone) // the login got a 503
}

// End to end, on atlastest: the server's clock says the token expired.
func TestAtlastestExpiredTokenIsRefreshedAndTheCallReplayed(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	recOpt, rec := withRecorder(t)
	c, _ := Setup(t, OnServer(srv), ClientOptions(recOpt))
	ctx := context.Background()
	_, err := c.Companies.Get(ctx, srv.CompanyID())
	require.NoError(t, err)

	srv.Advance(2 * time.Hour)
	co, err := c.Companies.Get(ctx, srv.CompanyID())
	require.NoError(t, err)
	assert.Equal(t, srv.CompanyID(), co.ID)
	assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/login", 0))
	assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", 200))
	assert.Equal(t, 1, rec.count(http.MethodGet, "/companies/"+srv.CompanyID(), 401))
}

func TestAtlastestTwoHundredCallersOnAnExpiredTokenMakeOneRefresh(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	recOpt, rec := withRecorder(t)
	c, _ := Setup(t, OnServer(srv), ClientOptions(recOpt))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)
	srv.Advance(2 * time.Hour)

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Companies.Get(context.Background(), srv.CompanyID())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", 0), "exactly one refresh request")
	assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/login", 0))
}

// The client refreshes shortly before the token expires, so the server never
// has to refuse it: client and server clocks move together here.
func TestAtlastestProactiveRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithTokenLifetime(10*time.Minute))
		recOpt, rec := withRecorderOn(srv)
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(recOpt))
		_, err := c.Auth.Me(context.Background())
		require.NoError(t, err)

		time.Sleep(9*time.Minute + 30*time.Second)
		_, err = c.Auth.Me(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", 200))
		assert.Zero(t, rec.count(http.MethodGet, "/auth/me", 401), "refreshed before the server refused anything")
	})
}

// A refresh token used elsewhere (rotated away) is refused: with credentials
// the client logs in again, without it fails with ErrUnauthorized.
func TestAtlastestReusedRefreshToken(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	first := &MemoryTokenStore{}
	a, _ := Setup(t, OnServer(srv), ClientOptions(WithTokenStore(first)))
	_, err := a.Auth.Me(ctx)
	require.NoError(t, err)
	stale, err := first.Load(ctx)
	require.NoError(t, err)
	require.NoError(t, a.Auth.Refresh(ctx)) // rotates: stale.RefreshToken is spent
	srv.Advance(2 * time.Hour)              // and stale.AccessToken has expired

	// Not parallel: both subtests present the same spent tokens to one server.
	t.Run("with credentials", func(t *testing.T) {
		recOpt, rec := withRecorder(t)
		b, _ := Setup(t, OnServer(srv), ClientOptions(recOpt, WithTokens(stale.AccessToken, stale.RefreshToken)))
		_, err := b.Auth.Me(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", 401))
		assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/login", 200))
	})
	t.Run("without", func(t *testing.T) {
		b, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens(stale.AccessToken, stale.RefreshToken)))
		_, err := b.Auth.Me(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrUnauthorized)
		assert.NotContains(t, err.Error(), stale.RefreshToken)
	})
}

func TestRefusedAccessTokenWithNothingToRenewItIsUnauthorized(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, OnURL(f.URL()), ClientOptions(WithTokens("access-secret-unknown", "")))
	_, err := c.Auth.Me(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Contains(t, err.Error(), "neither a refresh token nor credentials")
	assert.NotContains(t, err.Error(), "access-secret")
	assert.Len(t, f.requests(http.MethodGet, "/auth/me"), 1, "nothing to replay with")
}

package atlas

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// logins counts the login requests srv received.
func logins(srv *atlastest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Path == "/auth/login" {
			n++
		}
	}
	return n
}

// Credentials the API refused are not sent again before the cool-down: a
// burst of calls, each calling twice, sends one login, and every call fails
// with the refusal; the next login goes out once the cool-down has passed.
func TestARefusedPasswordIsNotSentAgainBeforeTheCoolDown(t *testing.T) {
	t.Parallel()
	const wrong = "not-the-password-7f3a"
	tests := []struct {
		name, email, password string
		status                int
		sentinel              error
	}{
		{"a wrong password, 401", "", wrong, http.StatusUnauthorized, ErrUnauthorized},
		{"an email that is not one, 422", "null", "null", http.StatusUnprocessableEntity, ErrValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv := atlastest.NewTestServer(t)
				email := tt.email
				if email == "" {
					email = srv.Email()
				}
				c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(WithCredentials(email, tt.password)))
				ctx := context.Background()

				var wg sync.WaitGroup
				errs := make(chan error, 100)
				for range 50 {
					wg.Go(func() {
						for range 2 {
							_, err := c.Invoices.List(ctx, nil)
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					require.Error(t, err)
					assert.ErrorIs(t, err, tt.sentinel)
					var apiErr *Error
					require.ErrorAs(t, err, &apiErr, "the API's own refusal, wrapped")
					assert.Equal(t, tt.status, apiErr.StatusCode)
					assert.NotContains(t, err.Error(), wrong)
				}
				assert.Equal(t, 1, logins(srv), "one login request for 100 calls")

				time.Sleep(refusedLoginCoolDown - time.Second)
				_, err := c.Auth.Me(ctx)
				require.ErrorIs(t, err, tt.sentinel)
				assert.ErrorContains(t, err, "not sent")
				assert.Equal(t, 1, logins(srv), "still within the cool-down")

				time.Sleep(time.Second)
				_, err = c.Auth.Me(ctx)
				require.ErrorIs(t, err, tt.sentinel)
				assert.NotContains(t, err.Error(), "not sent")
				assert.Equal(t, 2, logins(srv), "sent again once the cool-down has passed")
			})
		})
	}
}

// Auth.Login keeps to the same rule: the refused credentials are not sent
// again, other ones are, and once they succeed calls go on with them.
func TestAuthLoginDoesNotResendRefusedCredentials(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t)
		c, _ := Setup(t, OnServer(srv), InBubble())
		ctx := context.Background()

		_, err := c.Auth.Login(ctx, srv.Email(), "wrong")
		require.ErrorIs(t, err, ErrUnauthorized)
		_, err = c.Auth.Login(ctx, srv.Email(), "wrong")
		require.ErrorIs(t, err, ErrUnauthorized)
		assert.ErrorContains(t, err, "not sent")
		assert.Equal(t, 1, logins(srv))

		u, err := c.Auth.Login(ctx, srv.Email(), srv.Password())
		require.NoError(t, err)
		assert.Equal(t, srv.Email(), u.Email)
		assert.Equal(t, 2, logins(srv), "other credentials are sent at once")
		_, err = c.Auth.Me(ctx)
		require.NoError(t, err)
	})
}

// The refusal is the process's own: a client with the right password that
// shares the refused client's TokenStore (a replica) logs in at once.
func TestARefusalIsNotSharedThroughTheTokenStore(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	store := &MemoryTokenStore{}
	ctx := context.Background()
	refused, _ := Setup(t, OnServer(srv), ClientOptions(WithCredentials(srv.Email(), "wrong"), WithTokenStore(store)))
	_, err := refused.Auth.Me(ctx)
	require.ErrorIs(t, err, ErrUnauthorized)

	replica, _ := Setup(t, OnServer(srv), ClientOptions(WithTokenStore(store)))
	_, err = replica.Auth.Me(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, logins(srv))
	stored, err := store.Load(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, stored.AccessToken, "the replica's tokens")
}

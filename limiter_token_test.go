package atlas

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// A call whose wait for the Limiter outlasts its access token sends the token
// renewed meanwhile, not the one it held before the wait: the queue for a
// budget that many processes share can be longer than a token has left. The
// server refuses nothing.
func TestLimiterWaitOutlastingTheTokenSendsARenewedOne(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const lifetime = 10 * time.Minute
		srv := atlastest.NewTestServer(t, atlastest.WithTokenLifetime(lifetime))
		recOpt, rec := withRecorderOn(srv)
		lim := &fakeLimiter{waiting: make(chan struct{}, 16)}
		// The client waits for the Limiter up to MaxRateLimitWait: longer
		// than the token lives, here.
		retry := fastRetry
		retry.MaxRateLimitWait = 2 * lifetime
		c, _ := Setup(t, OnServer(srv), InBubble(), ClientOptions(recOpt, WithLimiter(lim), WithRetry(retry)))
		ctx := context.Background()
		_, err := c.Auth.Me(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, rec.count(http.MethodPost, "/auth/login", http.StatusOK))
		for len(lim.waiting) > 0 {
			<-lim.waiting
		}

		// The next call gets the token, then waits for the Limiter until the
		// token has expired.
		lim.hold = make(chan struct{}) // no Wait runs now
		done := testkit.Go(func() error {
			_, err := c.Auth.Me(ctx)
			return err
		})
		<-lim.waiting
		time.Sleep(lifetime + time.Second)
		close(lim.hold)
		require.NoError(t, <-done)

		assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", http.StatusOK), "renewed after the wait")
		assert.Zero(t, rec.count(http.MethodGet, "/auth/me", http.StatusUnauthorized), "the expired token was not sent")
		waits, observes := lim.counts()
		assert.Equal(t, waits, observes, "every Wait that let an attempt go is observed once")
	})
}

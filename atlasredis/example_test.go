package atlasredis_test

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasredis"
)

// newRedis connects to the Redis that the replicas share. ContextTimeoutEnabled
// makes go-redis honour the deadline of every call's context, which the
// Limiter relies on to never hold a request past its deadline.
func newRedis() redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{os.Getenv("REDIS_ADDR")}, // one address, Sentinel's or a Cluster's
		ContextTimeoutEnabled: true,
	})
}

// Every replica of a service builds its client the same way, with the same
// key for the same Atlas login: they share one rate budget, one token chain
// (one login, one refresh at a time), and handle each webhook event once.
func Example() {
	rdb := newRedis()
	defer func() { _ = rdb.Close() }()

	limiter, err := atlasredis.NewTierLimiter(rdb, "acme-prod", atlas.TierProfessional)
	if err != nil {
		log.Fatal(err)
	}
	store, err := atlasredis.NewTokenStore(rdb, "acme-prod",
		atlasredis.WithSealKey("2026-01", []byte(os.Getenv("TOKEN_SEAL_KEY")))) // 32 bytes: AES-256
	if err != nil {
		log.Fatal(err)
	}
	c, err := atlas.NewClient(
		atlas.WithCredentials(os.Getenv("ATLAS_EMAIL"), os.Getenv("ATLAS_PASSWORD")),
		atlas.WithLimiter(limiter),
		atlas.WithTokenStore(store),
		atlas.WithTier(atlas.TierProfessional), // the pace while Redis is down
	)
	if err != nil {
		log.Fatal(err)
	}
	me, err := c.Auth.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	slog.Info("replica up", "email", me.Email)

	dedup, err := atlasredis.NewDeduper(rdb, "acme-prod:atlas-events:", 7*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	handler, err := atlas.NewWebhookHandler(os.Getenv("ATLAS_WEBHOOK_SECRET"),
		func(_ context.Context, ev *atlas.WebhookEvent) error {
			slog.Info("event", "type", ev.Type, "id", ev.ID) // runs once per event, on one replica
			return nil
		},
		atlas.WithWebhookDeduper(dedup))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/atlas", handler)
}

// A Limiter is one rate budget for every process that uses the key. Wait
// takes a token for each attempt; Observe tells every process about a 429.
// A client given the Limiter (atlas.WithLimiter) calls both itself; this is
// what it does.
func ExampleNewLimiter() {
	rdb := newRedis()
	defer func() { _ = rdb.Close() }()

	// A negotiated plan of 600 requests a minute with bursts of 60.
	limiter, err := atlasredis.NewLimiter(rdb, "acme-prod", 600, 60, time.Minute,
		atlasredis.WithLimiterTimeout(100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch err := limiter.Wait(ctx); {
	case err == nil:
		// Send the request, then limiter.Observe(ctx, what its answer said).
	case errors.Is(err, atlasredis.ErrUnavailable):
		// Redis did not answer in time: pace this attempt locally.
	case errors.Is(err, atlas.ErrRateLimited):
		// The shared budget has no token before ctx's deadline.
	}
}

// NewTierLimiter takes the limits of an Atlas plan.
func ExampleNewTierLimiter() {
	rdb := newRedis()
	defer func() { _ = rdb.Close() }()
	limiter, err := atlasredis.NewTierLimiter(rdb, "acme-prod", atlas.TierStandard)
	if err != nil {
		log.Fatal(err)
	}
	_ = limiter // 60 requests a minute with bursts of 10, for every process together
}

// A lost lock or a wrong seal key shows in the errors of a TokenStore, never
// a token.
func ExampleTokenStore_Load() {
	rdb := newRedis()
	defer func() { _ = rdb.Close() }()
	store, err := atlasredis.NewTokenStore(rdb, "acme-prod", atlasredis.WithSealKey("2026-02", []byte(os.Getenv("TOKEN_SEAL_KEY"))))
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := store.Load(context.Background())
	switch {
	case errors.Is(err, atlasredis.ErrSealed):
		// Sealed under another key (here, after a key rotation): delete the
		// key in Redis or go back to the old key; the client will log in.
		slog.Warn("tokens sealed under another key", "error", err)
	case err != nil:
		log.Fatal(err) // Redis failed
	case tokens == nil:
		slog.Info("no tokens yet: the first client logs in")
	default:
		slog.Info("stored", "tokens", tokens) // Tokens print without the tokens themselves
	}
}

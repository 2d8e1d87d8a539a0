// Package atlasredis lets several processes that use one Atlas login (the
// replicas of a service, workers, cron jobs) share what the API gives that
// login once: its rate budget, its rotating token chain, and its webhook
// deliveries. It keeps the shared state in Redis, through any
// redis.UniversalClient of github.com/redis/go-redis/v9 (a single node,
// Sentinel or Cluster).
//
//   - Limiter is an atlas.Limiter (set it with atlas.WithLimiter): every
//     process takes each attempt from one GCRA budget in Redis
//     (github.com/go-redis/redis_rate/v10), and a 429 or a spent window seen
//     by one pauses them all.
//   - TokenStore is an atlas.TokenStore and an atlas.TokenLocker (set it with
//     atlas.WithTokenStore): one process at a time renews the tokens, under a
//     lock that expires by itself, and the others use what it saved. An
//     option seals the tokens with AES-GCM, so that Redis never holds them
//     readable.
//   - Deduper is an atlas.EventDeduper (set it with atlas.WithWebhookDeduper):
//     a webhook event delivered to any replica behind a load balancer is
//     handled once.
//
// # Keys
//
// The key given to NewLimiter and NewTokenStore names the Atlas login whose
// state is shared; every process using that login passes the same one, and
// different logins need different keys. The Redis keys made from it all carry
// it as a hash tag, so that they live in one Cluster slot:
//
//	rate:atlas:{KEY}:budget   the GCRA state (redis_rate's "rate:" prefix)
//	atlas:{KEY}:pause         present while every process must pause
//	atlas:{KEY}:tokens        the tokens, as JSON or sealed
//	atlas:{KEY}:lock          the renewal lock
//
// A key must not be empty nor contain '{' or '}'.
//
// What another tool, another version or a hand leaves under these keys heals
// rather than wedges: a pause longer than the Limiter's maximum is cut to it;
// unreadable tokens are saved over by the next login of a client with
// credentials (see TokenStore.Load); a lock or a webhook event's key without
// an expiry is given the lock's or the claim's TTL (a handled mark without
// one, the Deduper's ttl); a budget key holding what
// no Limiter writes (another kind of value, a string that is no number, a
// time further ahead than any budget reaches) is deleted by the next Wait or
// Observe, with a warning, and the budget starts again.
//
// # Redis clients
//
// Build the client with ContextTimeoutEnabled set: go-redis otherwise ignores
// the deadline of a call's context on the socket and waits for its own
// ReadTimeout, so that a Redis that has stopped answering would hold requests
// past their deadline. NewLimiter refuses a *redis.Client or
// *redis.ClusterClient without it.
//
// # When Redis fails
//
// The Limiter gives each Redis call a short timeout of its own; when Redis
// cannot be reached or is slow, Wait fails at once with an error matching
// ErrUnavailable, which makes the client pace that attempt with its built-in
// pacer, and the Limiter asks Redis again a second later. Sharing resumes as
// soon as Redis answers. A Redis that refuses the client (a wrong password,
// a user without the rights the calls need) is a failure like any other:
// every call returns its error, and none panics. The TokenStore and the Deduper return Redis's errors
// to their callers: the client fails the call that needed the tokens, and the
// webhook handler answers 500 so that Atlas delivers the event again later.
package atlasredis

package atlasredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	atlas "github.com/atlas-accounting/atlas-go"
)

// Defaults of a Deduper.
const (
	// DefaultDedupTTL is how long a Deduper made with a ttl of zero or less
	// remembers a handled event.
	DefaultDedupTTL = 7 * 24 * time.Hour
	// DefaultClaimTTL is how long a claim lasts when its handler neither
	// finishes nor fails (its process died): after that, a redelivery of the
	// event is handled again.
	DefaultClaimTTL = 5 * time.Minute
)

// Deduper is an atlas.EventDeduper in Redis, for a webhook receiver that runs
// as several replicas behind a load balancer (set it with
// atlas.WithWebhookDeduper): whichever replica a delivery reaches, each event
// is handled once. It keeps the semantics of atlas.MemoryDeduper: a delivery
// of an event another replica is handling right now is told apart
// (EventStateBusy, which the handler answers with 409 so that Atlas delivers
// it again later), and an event whose callback failed is forgotten, so that
// its redelivery is handled.
//
// Each event id is one Redis key, the prefix followed by the id: claimed
// while it is handled (for the claim's TTL at most, see WithClaimTTL) and
// marked handled for the Deduper's ttl. Any other value found there counts
// as a claim; one without an expiry (no Deduper wrote it) is given the
// claim's TTL, after which the event is handled. When Redis fails, Claim returns the
// error and the handler answers 500, so that Atlas delivers the event again
// later: nothing is handled twice nor lost. A Deduper is safe for concurrent
// use.
type Deduper struct {
	rdb      redis.UniversalClient
	prefix   string
	ttl      time.Duration
	claimTTL time.Duration
	owner    string // marks this Deduper's claims, so that it releases only its own
}

var _ atlas.EventDeduper = (*Deduper)(nil)

// DeduperOption configures a Deduper.
type DeduperOption func(*Deduper) error

// WithClaimTTL sets how long a claim lasts if its handler never finishes
// (default DefaultClaimTTL). Longer than any callback runs, so that a slow
// callback's event is not handled twice; short enough that the event of a
// replica that died mid-callback is handled again soon. d must be positive
// (and at least a millisecond, Redis's unit).
func WithClaimTTL(d time.Duration) DeduperOption {
	return func(dd *Deduper) error {
		if d <= 0 {
			return fmt.Errorf("WithClaimTTL: claim TTL %s is not positive", d)
		}
		if d < time.Millisecond {
			return fmt.Errorf("WithClaimTTL: claim TTL %s is shorter than a millisecond", d)
		}
		dd.claimTTL = d
		return nil
	}
}

// NewDeduper returns a Deduper that keeps its keys under prefix (prepended to
// each event id as it is, so end it with a separator, e.g.
// "myapp:atlas-events:") and remembers a handled event for ttl
// (DefaultDedupTTL when zero or less): longer than Atlas goes on delivering
// one. It fails, with an error matching atlas.ErrInvalidConfig, when rdb is
// nil or an option refuses its value; nil options are skipped. It does not
// contact Redis.
func NewDeduper(rdb redis.UniversalClient, prefix string, ttl time.Duration, opts ...DeduperOption) (*Deduper, error) {
	if rdb == nil {
		return nil, invalidConfig("NewDeduper: nil Redis client")
	}
	d := &Deduper{rdb: rdb, prefix: prefix, ttl: ttl, claimTTL: DefaultClaimTTL}
	if d.ttl <= 0 {
		d.ttl = DefaultDedupTTL
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(d); err != nil {
			return nil, invalidConfig("NewDeduper: %v", err)
		}
	}
	owner, err := newHolderValue()
	if err != nil {
		return nil, fmt.Errorf("atlasredis: NewDeduper: %w", err)
	}
	d.owner = "claimed " + owner
	return d, nil
}

// The results of claimScript.
const (
	claimNew  = 0
	claimBusy = 1
	claimDone = 2
)

// claimScript claims KEYS[1] for ARGV[1] (expiring in ARGV[2] milliseconds)
// unless it is claimed or handled. Any other value there counts as a claim;
// when it has no expiry (no Deduper wrote it), it gets the claim's, so that
// the event is not busy for ever. A handled mark without an expiry (written
// by hand) gets the Deduper's ttl, ARGV[3] milliseconds, so that it is not
// kept for ever.
var claimScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
if t == 'string' and redis.call('GET', KEYS[1]) == 'handled' then
  if redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
  return 2
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// finishScript marks KEYS[1] handled for ARGV[3] milliseconds when ARGV[1]
// is 1, and otherwise deletes it if it is still the claim ARGV[2].
var finishScript = redis.NewScript(`
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], 'handled', 'PX', ARGV[3])
  return 1
end
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('DEL', KEYS[1])
end
return 1
`)

// Claim reserves the event id for the caller (EventStateNew), or reports that
// another delivery of it is being handled (EventStateBusy) or that it has
// been handled (EventStateDone). Of concurrent claims of one id, on any
// replica, one gets EventStateNew. An empty id is an error.
func (d *Deduper) Claim(ctx context.Context, id string) (atlas.EventState, error) {
	if err := d.check(ctx, id); err != nil {
		return 0, err
	}
	n, err := claimScript.Run(ctx, d.rdb, []string{d.prefix + id}, d.owner, millis(d.claimTTL), millis(d.ttl)).Int()
	if err != nil {
		return 0, fmt.Errorf("atlasredis: claim webhook event %q: %w", id, err)
	}
	switch n {
	case claimNew:
		return atlas.EventStateNew, nil
	case claimBusy:
		return atlas.EventStateBusy, nil
	case claimDone:
		return atlas.EventStateDone, nil
	}
	return 0, fmt.Errorf("atlasredis: claim webhook event %q: unexpected answer %d from Redis", id, n)
}

// Finish ends a claim: when handled is true the id is recorded as handled for
// the Deduper's ttl; when false the claim is released (if it is still this
// Deduper's), so that a redelivery is handled.
func (d *Deduper) Finish(ctx context.Context, id string, handled bool) error {
	if err := d.check(ctx, id); err != nil {
		return err
	}
	err := finishScript.Run(ctx, d.rdb, []string{d.prefix + id}, handled, d.owner, millis(d.ttl)).Err()
	if err != nil {
		return fmt.Errorf("atlasredis: finish webhook event %q: %w", id, err)
	}
	return nil
}

func (d *Deduper) check(ctx context.Context, id string) error {
	switch {
	case d == nil:
		return errors.New("atlasredis: nil Deduper")
	case d.rdb == nil:
		return errors.New("atlasredis: Deduper: not made by NewDeduper")
	case ctx == nil:
		return errors.New("atlasredis: Deduper: nil context")
	case id == "":
		return errors.New("atlasredis: Deduper: empty event id")
	}
	return nil
}

// millis is d in whole milliseconds, rounded up: Redis refuses an expiry of 0.
func millis(d time.Duration) int64 {
	return max(1, (d + time.Millisecond - 1).Milliseconds())
}

package atlasredis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	atlas "github.com/atlas-accounting/atlas-go"
)

// Defaults of a Limiter.
const (
	// DefaultLimiterTimeout is how long a Limiter waits for Redis to answer
	// one call before it lets the client pace the attempt by itself.
	DefaultLimiterTimeout = 200 * time.Millisecond
	// limiterRecheck is how long after Redis failed a Limiter asks it again;
	// until then Wait fails at once, so that an outage costs no time.
	limiterRecheck = time.Second
	// minMaxPause is the least of the longest pause a 429 or a spent window
	// can impose on every process: the API's windows are a minute long.
	minMaxPause = time.Minute
	// yieldSteps is over how many refusals the yield of a waiter shrinks from
	// an emission interval to nothing (see Limiter.yield).
	yieldSteps = 8
)

// Limiter is an atlas.Limiter that shares one rate budget among every process
// that makes one with the same Redis and key: set it on each client with
// atlas.WithLimiter. Each attempt takes a token from a GCRA bucket in Redis
// (redis_rate), refilled at limit per window and holding a little less than
// burst; a 429 that any of them gets, and an answer that says the window is
// spent but for the same margin, pause all of them until the time the API
// gave. Processes sharing a key must use the same limit, burst and window.
//
// Wait costs one Redis round trip per attempt (a second one only when Redis
// has dropped its script cache, or after a pause). Observe costs none for an
// ordinary answer, and one for a 429 or a spent window.
//
// When Redis fails to answer within the Limiter's timeout (see
// WithLimiterTimeout), Wait returns an error matching ErrUnavailable and the
// client paces that attempt with its built-in pacer (set WithTier or
// WithRateLimit on the client too, so that this fallback knows the plan); for
// a second after that (or the timeout, when longer) Wait fails at once
// without asking Redis, and then it asks again. A Limiter is safe for
// concurrent use.
type Limiter struct {
	rdb      redis.UniversalClient
	key      string
	keys     accountKeys
	limit    redis_rate.Limit
	margin   int           // the burst's tokens left unused, and the window's (see NewLimiter)
	maxPause time.Duration // longest pause Observe imposes and Wait sleeps
	timeout  time.Duration
	recheck  time.Duration // how long after a failure Redis is asked again
	logger   *slog.Logger

	now   func() time.Time
	timer func(time.Duration) (<-chan time.Time, func() bool)

	mu        sync.Mutex
	downSince time.Time // when Redis failed; zero while it answers
	recheckAt time.Time // no Redis call before this while down
	cutLogged bool      // a pause too long has been cut and logged; cleared when one is not
}

var _ atlas.Limiter = (*Limiter)(nil)

// LimiterOption configures a Limiter.
type LimiterOption func(*Limiter) error

// WithLimiterTimeout sets how long the Limiter waits for Redis to answer one
// call (default DefaultLimiterTimeout). Past it, Wait returns an error
// matching ErrUnavailable and the client paces the attempt by itself. d must
// be positive.
func WithLimiterTimeout(d time.Duration) LimiterOption {
	return func(l *Limiter) error {
		if d <= 0 {
			return fmt.Errorf("timeout %s is not positive", d)
		}
		l.timeout = d
		return nil
	}
}

// WithLimiterLogger sets the logger to which the Limiter reports, once per
// outage, that Redis stopped answering and that it answers again, and once
// per occurrence, that it cut a pause longer than its maximum (default:
// none).
func WithLimiterLogger(logger *slog.Logger) LimiterOption {
	return func(l *Limiter) error {
		l.logger = logger
		return nil
	}
}

// NewLimiter returns a Limiter that lets every process sharing key send limit
// requests per window, with bursts of up to burst, less a margin (a tenth of
// burst, at least one when burst is more than one) that absorbs the uneven
// delays of requests on their way, as the client's built-in pacer does. The
// same margin is kept in each of the API's windows: an answer that leaves no
// more than it in the window pauses every process until the window's reset,
// so that the attempts already on their way when that answer comes still
// fit. It
// fails when rdb is nil or ignores context deadlines (see the package
// documentation), key is not valid, or limit, burst or window is not
// positive, always with an error matching atlas.ErrInvalidConfig; it does
// not contact Redis.
func NewLimiter(rdb redis.UniversalClient, key string, limit, burst int, window time.Duration, opts ...LimiterOption) (*Limiter, error) {
	if rdb == nil {
		return nil, invalidConfig("NewLimiter: nil Redis client")
	}
	if err := checkContextTimeout(rdb); err != nil {
		return nil, invalidConfig("NewLimiter: %v", err)
	}
	keys, err := newAccountKeys(key)
	if err != nil {
		return nil, invalidConfig("NewLimiter: %v", err)
	}
	if limit <= 0 || burst <= 0 || window <= 0 {
		return nil, invalidConfig("NewLimiter: limit %d, burst %d and window %s must be positive", limit, burst, window)
	}
	// The margin is the client's own: the same spare requests as its
	// built-in pacer keeps, for the same reason.
	margin := atlas.PlanLimits{PerMinute: limit, Burst: burst}.Margin()
	l := &Limiter{
		rdb:      rdb,
		key:      key,
		keys:     keys,
		limit:    redis_rate.Limit{Rate: limit, Burst: burst - margin, Period: window},
		margin:   margin,
		maxPause: max(window, minMaxPause),
		timeout:  DefaultLimiterTimeout,
		now:      time.Now,
		timer:    realTimer,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(l); err != nil {
			return nil, invalidConfig("NewLimiter: %v", err)
		}
	}
	l.recheck = max(limiterRecheck, l.timeout)
	return l, nil
}

// NewTierLimiter is NewLimiter with the limits of an Atlas plan: requests per
// minute and burst as atlas.TierStandard, atlas.TierProfessional and
// atlas.TierEnterprise document them. An unknown tier is an error matching
// atlas.ErrInvalidConfig.
func NewTierLimiter(rdb redis.UniversalClient, key string, tier atlas.Tier, opts ...LimiterOption) (*Limiter, error) {
	l, ok := tier.Limits()
	if !ok {
		return nil, invalidConfig("NewTierLimiter: unknown tier %q", string(tier))
	}
	return NewLimiter(rdb, key, l.PerMinute, l.Burst, time.Minute, opts...)
}

// Wait blocks until the shared budget lets one more attempt go. It returns an
// error wrapping ctx's error when ctx ends first, and at once an error
// matching atlas.ErrRateLimited and context.DeadlineExceeded when the wait
// would outlast ctx's deadline. When Redis fails or is slow it returns an
// error matching ErrUnavailable (and no context error), so that the client
// paces the attempt by itself.
//
// A pause read from Redis never holds Wait longer than the Limiter's maximum
// (a minute, or the window when longer; see Observe): a pause key that lasts
// longer was not set by an Observe of this version (another tool, a hand),
// so Wait cuts it to the maximum in Redis too, and logs that once.
//
// Waiters that the budget refuses ask again when it says the next attempt
// may go, a newer waiter a little later than an older one (see yield), so
// that the processes sharing the budget get even shares of it.
func (l *Limiter) Wait(ctx context.Context) error {
	if ctx == nil {
		return errors.New("atlasredis: Limiter.Wait: nil context")
	}
	if l == nil || l.rdb == nil {
		return errors.New("atlasredis: Limiter.Wait: a Limiter not made by NewLimiter")
	}
	for refusals := 0; ; refusals++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("atlasredis: waiting for the shared rate limit: %w", err)
		}
		if err := l.checkDown(); err != nil {
			return err
		}
		d, err := l.take(ctx)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("atlasredis: waiting for the shared rate limit: %w", cerr)
			}
			if foreign := (*foreignBudgetError)(nil); errors.As(err, &foreign) {
				// Written again as soon as it was deleted: Redis answers,
				// but this attempt paces itself.
				return fmt.Errorf("atlasredis: limiter %q: %w: %s", l.key, ErrUnavailable, err.Error())
			}
			return l.failed(ctx, err)
		}
		l.answered(ctx)
		if d <= 0 {
			return nil
		}
		if err := l.sleep(ctx, d, l.yield(refusals)); err != nil {
			return err
		}
	}
}

// yield is how much later than the budget says a waiter asks again after its
// refusals-th refusal: an emission interval (the window over the limit) after
// the first, shrinking by an eighth per refusal to nothing after the eighth.
// Every waiter refused at a moment is told the same time, when one attempt
// may go; without a yield they all ask at once, and the one whose process the
// machine happens to run first takes it, so that a busy machine gives some
// processes more than their share, for as long as it stays busy. With it,
// the waiters that have waited longest ask first. It costs no throughput: an
// attempt let go late leaves the budget's tolerance for a burst to the next.
func (l *Limiter) yield(refusals int) time.Duration {
	if refusals >= yieldSteps {
		return 0
	}
	interval := l.limit.Period / time.Duration(l.limit.Rate)
	return interval * time.Duration(yieldSteps-refusals) / yieldSteps
}

// take asks Redis, in one round trip, whether the processes are paused and
// for a token. It returns 0 when the attempt may go, or how long to wait
// before asking again. A token taken during a pause is not used: it stands
// for time in which nothing could be sent anyway. A budget key that holds
// what no Limiter writes is deleted, and Redis asked again.
func (l *Limiter) take(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	var d time.Duration
	err := l.healing(ctx, func() (err error) {
		d, err = l.ask(ctx)
		return err
	})
	return d, err
}

// ask is one question of take's.
func (l *Limiter) ask(ctx context.Context) (time.Duration, error) {
	var pause *redis.DurationCmd
	rd := &pipeliner{rdb: l.rdb, before: func(pipe redis.Pipeliner) {
		pause = pipe.PTTL(ctx, l.keys.pause)
	}}
	res, err := guarded(func() (*redis_rate.Result, error) {
		return redis_rate.NewLimiter(rd).Allow(ctx, l.keys.budget, l.limit)
	})
	if err := l.budgetErr(res, err); err != nil {
		return 0, err
	}
	if err := pause.Err(); err != nil {
		return 0, err
	}
	if p := pause.Val(); p > l.maxPause {
		l.cutPause(ctx, p)
		return l.maxPause, nil
	} else if p > 0 {
		l.pauseFits()
		return p, nil
	}
	l.pauseFits()
	if res.Allowed > 0 {
		return 0, nil
	}
	if res.RetryAfter > 0 {
		return min(res.RetryAfter, l.maxPause), nil
	}
	return l.limit.Period / time.Duration(l.limit.Rate), nil
}

// foreignBudgetError is what the budget's key holds when no Limiter wrote it:
// another kind of Redis value, something that is not a number, or a time
// further ahead than any budget reaches. The rate-limit script cannot use
// it, or would refuse every attempt until that time.
type foreignBudgetError struct{ found string }

func (e *foreignBudgetError) Error() string {
	return "the rate-limit budget's key holds " + e.found
}

// healing runs f, which asks the rate-limit script about the budget (see
// budgetErr); when the budget's key holds what no Limiter writes, it deletes
// the key (healBudget) and runs f once more, on a budget that starts again.
func (l *Limiter) healing(ctx context.Context, f func() error) error {
	err := f()
	var foreign *foreignBudgetError
	if errors.As(err, &foreign) {
		if err := l.healBudget(ctx, foreign); err != nil {
			return err
		}
		err = f()
	}
	return err
}

// budgetErr is the error of an answer of the rate-limit script: a
// foreignBudgetError when Redis or the script refused what the budget's key
// holds, or when the answer is one no budget of this Limiter's gives (see
// checkBudget); other errors (Redis does not answer, a timeout) as they are.
func (l *Limiter) budgetErr(res *redis_rate.Result, err error) error {
	switch {
	case err == nil:
		return l.checkBudget(res)
	case redis.HasErrorPrefix(err, "WRONGTYPE"):
		return &foreignBudgetError{found: "another kind of Redis value than a string"}
	case strings.Contains(err.Error(), "user_script:"):
		// The script failed on what it read (a string that is no number).
		return &foreignBudgetError{found: "a value that is not a number"}
	}
	return err
}

// checkBudget refuses an answer of the rate-limit script that no budget of
// this Limiter's can give: its theoretical arrival time (how long until the
// bucket is full again) is never further ahead than the burst's tolerance,
// and ten windows more leaves room for Limiters of other settings sharing
// the key. Beyond that, or past what a Duration holds, the key holds a
// time that someone else wrote.
func (l *Limiter) checkBudget(res *redis_rate.Result) error {
	tolerance := l.limit.Period.Seconds() * float64(l.limit.Burst) / float64(l.limit.Rate)
	farthest := 10 * (l.limit.Period.Seconds() + tolerance)
	if res.ResetAfter < 0 || res.ResetAfter.Seconds() > farthest {
		return &foreignBudgetError{found: "a time further ahead than any budget reaches"}
	}
	return nil
}

// healBudget deletes the budget's key, which holds what no Limiter writes,
// so that the budget starts again, and logs that (the key's name and what
// kind of value it held, never the value). Should another process have
// healed it and taken a token meanwhile, that token is forgotten: the
// budget is a little fuller for one moment, and the API's own limit, which
// the Limiter sees in every answer, still holds.
func (l *Limiter) healBudget(ctx context.Context, found *foreignBudgetError) error {
	if err := l.rdb.Del(ctx, budgetKey(l.keys)).Err(); err != nil {
		return err
	}
	if l.logger != nil {
		l.logger.LogAttrs(ctx, slog.LevelWarn, "atlasredis: deleted a rate-limit budget key holding what no Limiter writes; the budget starts again",
			slog.String("key", l.key), slog.String("found", found.found))
	}
	return nil
}

// budgetKey is the Redis key of the budget's state: redis_rate's, which is
// the name given to it with its "rate:" prefix.
func budgetKey(k accountKeys) string { return "rate:" + k.budget }

// cutPause shortens a pause key that lasts p, longer than the Limiter's
// maximum, to the maximum, and logs it the first time since a pause fitted.
// Should Redis fail to shorten it, the Limiter still sleeps no longer than
// the maximum at a time, and tries again next time.
func (l *Limiter) cutPause(ctx context.Context, p time.Duration) {
	_ = l.rdb.Eval(ctx, cutScript, []string{l.keys.pause}, millis(l.maxPause)).Err()
	l.mu.Lock()
	logged := l.cutLogged
	l.cutLogged = true
	l.mu.Unlock()
	if !logged && l.logger != nil {
		l.logger.LogAttrs(ctx, slog.LevelWarn, "atlasredis: the shared pause in Redis lasts longer than the Limiter's maximum; cut to the maximum",
			slog.String("key", l.key), slog.Duration("pause", p), slog.Duration("max", l.maxPause))
	}
}

// pauseFits records that the pause read from Redis, if any, was not too long.
func (l *Limiter) pauseFits() {
	l.mu.Lock()
	l.cutLogged = false
	l.mu.Unlock()
}

// cutScript shortens the pause at KEYS[1] to ARGV[1] milliseconds when it
// lasts longer.
const cutScript = `
if redis.call('PTTL', KEYS[1]) > tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`

// Observe shares what an answer said with every process: a 429 pauses them
// all for its Retry-After (and empties the shared bucket, as the API's is),
// and an answer whose X-RateLimit-Remaining is no more than the margin (see
// NewLimiter) pauses them all until the window's reset: the attempts that
// other processes sent before that pause reaches them use the window's
// margin instead of getting 429s. Pauses are capped at a minute, or the window when longer.
// Other answers cost nothing. When Redis fails, the pause is lost: Observe
// has no error to return, and the client's own retry of a 429 still waits.
func (l *Limiter) Observe(ctx context.Context, o atlas.RateObservation) {
	if l == nil || l.rdb == nil {
		return // not made by NewLimiter: there is nowhere to share it
	}
	var pause time.Duration
	drain := false
	switch {
	case o.StatusCode == http.StatusTooManyRequests:
		pause, drain = o.RetryAfter, true
		if pause <= 0 {
			pause = l.limit.Period / time.Duration(l.limit.Rate)
		}
	case o.RateLimit.Limit > 0 && o.RateLimit.Remaining <= l.margin && !o.RateLimit.Reset.IsZero():
		pause = o.RateLimit.Reset.Sub(l.now())
	}
	if pause <= 0 {
		return
	}
	pause = min(pause, l.maxPause)
	ms := millis(pause)
	if ctx == nil {
		ctx = context.Background()
	}
	if l.checkDown() != nil {
		return
	}
	// The pause matters to the other processes even when this call's
	// context has ended.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	var err error
	if drain {
		var set *redis.Cmd
		rd := &pipeliner{rdb: l.rdb, before: func(pipe redis.Pipeliner) {
			set = pipe.Eval(ctx, pauseScript, []string{l.keys.pause}, ms)
		}}
		// Take every token left, so that the processes start again from an
		// empty bucket, as the API's is after a 429.
		err = l.healing(ctx, func() error {
			return l.budgetErr(guarded(func() (*redis_rate.Result, error) {
				return redis_rate.NewLimiter(rd).AllowAtMost(ctx, l.keys.budget, l.limit, l.limit.Burst)
			}))
		})
		if err == nil {
			err = set.Err()
		}
	} else {
		err = l.rdb.Eval(ctx, pauseScript, []string{l.keys.pause}, ms).Err()
	}
	if err != nil {
		_ = l.failed(ctx, err)
		return
	}
	l.answered(ctx)
}

// pauseScript sets the pause key to expire ARGV[1] milliseconds from now,
// unless it already lasts longer.
const pauseScript = `
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 1
`

// checkDown returns ErrUnavailable while Redis is known to be down and it is
// not yet time to ask it again. The first caller after that time asks; the
// others go on failing at once until it has an answer.
func (l *Limiter) checkDown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.downSince.IsZero() {
		return nil
	}
	now := l.now()
	if now.Before(l.recheckAt) {
		return fmt.Errorf("atlasredis: limiter %q: %w since %s", l.key, ErrUnavailable, l.downSince.Format(time.RFC3339))
	}
	l.recheckAt = now.Add(l.recheck)
	return nil
}

// failed records that Redis did not answer, logs it when it is the start of
// an outage, and returns the error for Wait.
func (l *Limiter) failed(ctx context.Context, err error) error {
	l.mu.Lock()
	now := l.now()
	first := l.downSince.IsZero()
	if first {
		l.downSince = now
	}
	l.recheckAt = now.Add(l.recheck)
	l.mu.Unlock()
	if first && l.logger != nil {
		l.logger.LogAttrs(ctx, slog.LevelWarn, "atlasredis: Redis does not answer; clients pace themselves until it does",
			slog.String("key", l.key), slog.String("error", err.Error()))
	}
	// The cause is kept as text only: a timeout of the Limiter's own must not
	// look like the end of the caller's context.
	return fmt.Errorf("atlasredis: limiter %q: %w: %s", l.key, ErrUnavailable, err.Error())
}

// answered records that Redis answered, and logs the end of an outage.
func (l *Limiter) answered(ctx context.Context) {
	l.mu.Lock()
	since := l.downSince
	l.downSince, l.recheckAt = time.Time{}, time.Time{}
	l.mu.Unlock()
	if !since.IsZero() && l.logger != nil {
		l.logger.LogAttrs(ctx, slog.LevelInfo, "atlasredis: Redis answers again; the rate limit is shared again",
			slog.String("key", l.key), slog.Duration("outage", l.now().Sub(since)))
	}
}

// sleep waits d and then yield, or returns at once when d would outlast
// ctx's deadline; yield is cut short to end by the deadline.
func (l *Limiter) sleep(ctx context.Context, d, yield time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left < d {
			return &waitError{wait: d}
		}
		yield = min(yield, left-d)
	}
	c, stop := l.timer(d + yield)
	defer stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("atlasredis: waiting for the shared rate limit: %w", ctx.Err())
	case <-c:
		return nil
	}
}

func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// waitError is a wait that would have outlasted the context's deadline.
type waitError struct {
	wait time.Duration
}

func (e *waitError) Error() string {
	return fmt.Sprintf("atlasredis: waiting %s for the shared rate limit would outlast the context deadline", e.wait.Round(time.Millisecond))
}

// Unwrap lets errors.Is find atlas.ErrRateLimited and context.DeadlineExceeded.
func (e *waitError) Unwrap() []error {
	return []error{atlas.ErrRateLimited, context.DeadlineExceeded}
}

// guarded runs one redis_rate call. redis_rate asserts the type of its
// script's reply; should Redis ever answer with another shape, the panic
// becomes an error, since a Limiter must never panic.
func guarded(call func() (*redis_rate.Result, error)) (res *redis_rate.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("unexpected answer from Redis to the rate-limit script: %v", p)
		}
	}()
	return call()
}

// pipeliner is what redis_rate runs its scripts through: it sends each script
// call in one pipeline after the commands that before queues, so that they
// cost one round trip together. The keys they touch share a hash tag, so that
// on a Cluster the pipeline goes to one node.
type pipeliner struct {
	rdb    redis.UniversalClient
	before func(redis.Pipeliner)
}

// run sends the commands of before and the script call of queue in one
// pipeline. When the pipeline fails as a whole (the connection's handshake
// was refused, say), go-redis may leave the queued commands without an error
// and without a reply; run then gives the script call the pipeline's error, so that
// redis_rate never reads a reply that is not there.
func (p *pipeliner) run(ctx context.Context, queue func(redis.Pipeliner) *redis.Cmd) *redis.Cmd {
	var cmd *redis.Cmd
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		p.before(pipe)
		cmd = queue(pipe)
		return nil
	})
	if cmd == nil {
		cmd = redis.NewCmd(ctx)
	}
	if err != nil && cmd.Err() == nil {
		cmd.SetErr(err)
	}
	return cmd
}

func (p *pipeliner) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.run(ctx, func(pipe redis.Pipeliner) *redis.Cmd { return pipe.Eval(ctx, script, keys, args...) })
}

func (p *pipeliner) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.run(ctx, func(pipe redis.Pipeliner) *redis.Cmd { return pipe.EvalSha(ctx, sha1, keys, args...) })
}

func (p *pipeliner) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.run(ctx, func(pipe redis.Pipeliner) *redis.Cmd { return pipe.EvalRO(ctx, script, keys, args...) })
}

func (p *pipeliner) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.run(ctx, func(pipe redis.Pipeliner) *redis.Cmd { return pipe.EvalShaRO(ctx, sha1, keys, args...) })
}

func (p *pipeliner) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.rdb.ScriptExists(ctx, hashes...)
}

func (p *pipeliner) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.rdb.ScriptLoad(ctx, script)
}

func (p *pipeliner) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return p.rdb.Del(ctx, keys...)
}

package atlas

import (
	"net/http"
	"strconv"
	"time"
)

// RateLimit is the rate-limit state the API reported in a response's
// X-RateLimit-* headers. A zero RateLimit means none was seen.
type RateLimit struct {
	// Limit is the number of requests allowed per window (minute) for the plan.
	Limit int
	// Remaining is the number of requests left in the current window.
	Remaining int
	// Reset is when the current window ends and Remaining starts again at
	// Limit, as the server's clock tells it (X-RateLimit-Reset). The client
	// paces against it read relative to the answer's Date header, so that a
	// client whose clock is off paces as well as one whose clock is right.
	Reset time.Time
}

// Tier is an Atlas plan. WithTier makes the client pace itself to the plan's
// rate and burst so that it never provokes a 429.
type Tier string

// The Atlas plans; Tier.Limits says what each allows.
const (
	TierStandard     Tier = "standard"     // 60 per minute, burst 10
	TierProfessional Tier = "professional" // 300 per minute, burst 50
	TierEnterprise   Tier = "enterprise"   // 1000 per minute, burst 100
)

// PlanLimits are what a plan allows: requests per minute, and how many of
// them may come at once.
type PlanLimits struct {
	PerMinute int
	Burst     int
}

// Limits returns the plan's limits, the one table of them that the client's
// pacer (WithTier) and atlasredis's NewTierLimiter both read; ok is false for
// a Tier that is not a plan.
func (t Tier) Limits() (limits PlanLimits, ok bool) {
	switch t {
	case TierStandard:
		return PlanLimits{PerMinute: 60, Burst: 10}, true
	case TierProfessional:
		return PlanLimits{PerMinute: 300, Burst: 50}, true
	case TierEnterprise:
		return PlanLimits{PerMinute: 1000, Burst: 100}, true
	}
	return PlanLimits{}, false
}

// Margin is how many requests of the burst a client that paces itself
// leaves unused: a tenth, and at least one when the burst has two or more.
// The delays of requests on their way to the server vary, so one can arrive
// sooner after the previous one than it was sent; the spare requests absorb
// that. The built-in pacer and atlasredis's Limiter keep the same margin.
func (l PlanLimits) Margin() int {
	if l.Burst <= 1 {
		return 0
	}
	return max(1, l.Burst/10)
}

// parseRateLimit reads the X-RateLimit-* headers of a response: the state they
// report, and which of the three were present and valid.
func parseRateLimit(h http.Header) (rl RateLimit, okLimit, okRemaining, okReset bool) {
	var n int64
	if n, okLimit = headerInt(h, "X-Ratelimit-Limit"); okLimit {
		rl.Limit = int(n)
	}
	if n, okRemaining = headerInt(h, "X-Ratelimit-Remaining"); okRemaining {
		rl.Remaining = int(n)
	}
	if n, okReset = headerInt(h, "X-Ratelimit-Reset"); okReset {
		rl.Reset = time.Unix(n, 0)
	}
	return rl, okLimit, okRemaining, okReset
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := h[key]
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

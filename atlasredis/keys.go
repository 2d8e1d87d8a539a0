package atlasredis

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	atlas "github.com/atlas-accounting/atlas-go"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrUnavailable means Redis could not be reached or did not answer in
	// time. A Limiter's Wait returns it so that the client paces the attempt
	// by itself.
	ErrUnavailable = errors.New("atlasredis: Redis unavailable")
	// ErrLockLost means a TokenStore's Save ran under a renewal lock that had
	// expired and been taken by another holder meanwhile: the tokens were not
	// saved, so that they cannot replace newer ones.
	ErrLockLost = errors.New("atlasredis: the token lock was lost")
	// ErrLocked means a TokenStore's Save ran without the renewal lock while
	// another holder had it: the tokens were not saved, so that they cannot
	// replace the ones that holder is about to save.
	ErrLocked = errors.New("atlasredis: the token lock is held by another holder")
	// ErrSealed means a TokenStore could not read the stored tokens: they
	// were sealed with another key, not sealed when the store expects them
	// to be (or the other way round), or have been altered.
	ErrSealed = errors.New("atlasredis: the stored tokens cannot be opened")
)

// configError is a value a constructor or one of its options cannot use: it
// matches atlas.ErrInvalidConfig, as the root package's configuration errors
// do. Its message names the constructor and the value.
type configError struct {
	msg string
}

func (e *configError) Error() string { return "atlasredis: " + e.msg }

// Unwrap lets errors.Is find atlas.ErrInvalidConfig.
func (e *configError) Unwrap() error { return atlas.ErrInvalidConfig }

// invalidConfig returns a configError with the message format makes of args.
func invalidConfig(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// accountKeys are the Redis keys of one Atlas login. They share the hash tag
// {key}, so that they live in one Cluster slot and scripts may use several.
type accountKeys struct {
	budget string // given to redis_rate, which adds its "rate:" prefix
	pause  string
	tokens string
	lock   string
}

func newAccountKeys(key string) (accountKeys, error) {
	if key == "" {
		return accountKeys{}, errors.New("the key is empty")
	}
	if strings.ContainsAny(key, "{}") {
		// A brace would move the hash tag, and the keys of one login could
		// land in different Cluster slots.
		return accountKeys{}, fmt.Errorf("the key %q contains '{' or '}'", key)
	}
	base := "atlas:{" + key + "}:"
	return accountKeys{
		budget: base + "budget",
		pause:  base + "pause",
		tokens: base + "tokens",
		lock:   base + "lock",
	}, nil
}

// checkContextTimeout refuses a client whose options make it ignore the
// deadline of a call's context.
func checkContextTimeout(rdb redis.UniversalClient) error {
	enabled := true
	switch c := rdb.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	}
	if !enabled {
		return errors.New("the Redis client must have ContextTimeoutEnabled, or a Redis that stops answering would hold requests past their deadline")
	}
	return nil
}

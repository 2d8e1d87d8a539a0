package atlasredis

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/internal/redacttest"
)

const (
	// plantedSealKey is 32 bytes: AES-256.
	plantedSealKey       = "SealKey-7f3a9c1e-5b2d8e4f-9c1a7b"
	plantedRedisPassword = "RedisPw-3e8f2a6b"
)

// plantedSecrets are the seal key and the Redis password as they are, and
// the seal key's 32-bit words in decimal and in hex, which is how AES's key
// schedule, whose first words are the key, prints.
func plantedSecrets() []string {
	secrets := []string{plantedSealKey, plantedRedisPassword}
	for i := 0; i+4 <= len(plantedSealKey); i += 4 {
		w := binary.BigEndian.Uint32([]byte(plantedSealKey[i : i+4]))
		secrets = append(secrets, strconv.FormatUint(uint64(w), 10), fmt.Sprintf("%x", w))
		w = binary.LittleEndian.Uint32([]byte(plantedSealKey[i : i+4]))
		secrets = append(secrets, strconv.FormatUint(uint64(w), 10), fmt.Sprintf("%x", w))
	}
	return secrets
}

// plantedRedis is a Redis client with a password, which it never uses: no
// test here sends a command.
func plantedRedis(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", Password: plantedRedisPassword, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// secretHolders makes, for each exported type of the package that holds a
// secret (a seal key, a Redis client that may hold a password), values of it
// with the planted secrets inside.
var secretHolders = map[string]func(t *testing.T) []any{
	"TokenStore": func(t *testing.T) []any {
		sealed, err := NewTokenStore(plantedRedis(t), "acme", WithSealKey("k1", []byte(plantedSealKey)))
		require.NoError(t, err)
		plain, err := NewTokenStore(plantedRedis(t), "acme")
		require.NoError(t, err)
		return []any{sealed, plain}
	},
	"TokenStoreOption": func(*testing.T) []any { return []any{WithSealKey("k1", []byte(plantedSealKey))} },
	"Limiter": func(t *testing.T) []any {
		l, err := NewLimiter(plantedRedis(t), "acme", 60, 10, time.Minute)
		require.NoError(t, err)
		return []any{l}
	},
	"Deduper": func(t *testing.T) []any {
		d, err := NewDeduper(plantedRedis(t), "acme:events:", time.Hour)
		require.NoError(t, err)
		return []any{d}
	},
}

// holdNoSecret lists the exported types of the package that hold no secret.
var holdNoSecret = map[string]reflect.Type{
	"DeduperOption": reflect.TypeFor[DeduperOption](),
	"LimiterOption": reflect.TypeFor[LimiterOption](),
}

// TestNoExportedTypePrintsASecret prints a value with secrets inside, of
// every exported type of the package that can hold one, under every fmt verb
// and through slog's text and JSON handlers, as a value and as a pointer, and
// fails when a secret shows. The types come from the package's source: a new
// exported type fails the test until it is listed in secretHolders or in
// holdNoSecret.
func TestNoExportedTypePrintsASecret(t *testing.T) {
	t.Parallel()
	redacttest.CheckPackage(t, ".", redacttest.Catalogue{Holders: secretHolders, Plain: holdNoSecret, Secrets: plantedSecrets()})
}

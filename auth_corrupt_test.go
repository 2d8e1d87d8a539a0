package atlas

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corruptStore holds something other than tokens until it is saved over:
// its Load wraps ErrCorruptTokens, as a store must for such a value.
type corruptStore struct {
	MemoryTokenStore
	mu    sync.Mutex
	saved bool
	loads int
}

func (s *corruptStore) Load(ctx context.Context) (*Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if !s.saved {
		return nil, fmt.Errorf("store: key %q: %w: not JSON", "tokens:acme", ErrCorruptTokens)
	}
	return s.MemoryTokenStore.Load(ctx)
}

func (s *corruptStore) Save(ctx context.Context, t *Tokens) error {
	s.mu.Lock()
	s.saved = true
	s.mu.Unlock()
	return s.MemoryTokenStore.Save(ctx, t)
}

// A store holding unreadable tokens does not wedge a client with
// credentials: it logs in, saves over them, and warns once.
func TestCorruptStoredTokensAreReplacedByALogin(t *testing.T) {
	t.Parallel()
	var logs testkit.SyncBuffer
	store := &corruptStore{}
	c, srv := Setup(t, ClientOptions(WithTokenStore(store), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	_, err := c.Auth.Me(context.Background())
	require.NoError(t, err)
	store.mu.Lock()
	assert.True(t, store.saved, "the login's tokens were saved over the unreadable ones")
	assert.GreaterOrEqual(t, store.loads, 2, "loaded at start and under the lock")
	store.mu.Unlock()
	stored, err := store.Load(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, stored.AccessToken)
	assert.Equal(t, 1, strings.Count(logs.String(), "unreadable tokens"), logs.String())
	assert.Contains(t, logs.String(), "tokens:acme", "the warning says where")
	assert.NotContains(t, logs.String(), srv.Password())

	// A client of another process, with the store healed, logs in no more.
	other, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokenStore(store), WithCompany(srv.CompanyID())))
	_, err = other.Auth.Me(context.Background())
	require.NoError(t, err)
}

// Without credentials, the client cannot heal the store: the call fails
// with Load's error, which says what is wrong and where.
func TestCorruptStoredTokensWithoutCredentialsFailTheCall(t *testing.T) {
	t.Parallel()
	_, srv := Setup(t)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokenStore(&corruptStore{})))
	_, err := c.Auth.Me(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrCorruptTokens)
	assert.ErrorContains(t, err, `key "tokens:acme"`)
	assert.ErrorContains(t, err, "load tokens")
}

package atlas_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// TestEveryServiceMethodTakesRequestOptions holds the shape every method of
// every service shares: a context first and options last, so that a header
// or WithResponse can reach any call, and a method added later cannot forget
// them. The options are of the type that fits the method: AllOption for All
// (WithConcurrency), PostOption for the methods that POST (WithIdempotencyKey),
// RequestOption for the others, so that an option that would do nothing there
// does not compile.
func TestEveryServiceMethodTakesRequestOptions(t *testing.T) {
	t.Parallel()
	ctxType := reflect.TypeFor[context.Context]()
	optsTypes := map[string]reflect.Type{
		"RequestOption": reflect.TypeFor[[]atlas.RequestOption](),
		"PostOption":    reflect.TypeFor[[]atlas.PostOption](),
		"AllOption":     reflect.TypeFor[[]atlas.AllOption](),
	}
	// The methods whose route is a POST, by name (the contract's verbs).
	posts := map[string]bool{"Login": true, "Refresh": true, "Create": true, "Send": true, "Void": true,
		"Approve": true, "Post": true, "Close": true}
	client := reflect.TypeFor[atlas.Client]()
	services := 0
	for _, f := range reflect.VisibleFields(client) {
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		services++
		require.Positive(t, f.Type.NumMethod(), "%s has no methods", f.Name)
		for i := range f.Type.NumMethod() {
			m := f.Type.Method(i)
			name := f.Name + "." + m.Name
			in := m.Type.NumIn() // the receiver is In(0)
			require.GreaterOrEqual(t, in, 3, "%s: want ctx and opts", name)
			assert.Equal(t, ctxType, m.Type.In(1), "%s: the first argument is a context", name)
			want := "RequestOption"
			switch {
			case m.Name == "All":
				want = "AllOption"
			case posts[m.Name]:
				want = "PostOption"
			}
			assert.True(t, m.Type.IsVariadic(), "%s: the last argument is ...%s", name, want)
			assert.Equal(t, optsTypes[want], m.Type.In(in-1), "%s: the last argument is ...%s", name, want)
		}
	}
	assert.Equal(t, 11, services, "every service of the Client")
}

// Refresh keeps its behaviour with options: it renews the tokens at once,
// with one POST /auth/refresh, and the client goes on with them.
func TestAuthRefreshTakesOptions(t *testing.T) {
	t.Parallel()
	c, srv := newTestClient(t)
	ctx := context.Background()
	_, err := c.Auth.Me(ctx) // logs in
	require.NoError(t, err)

	var resp *atlas.Response
	require.NoError(t, c.Auth.Refresh(ctx, atlas.WithHeader("X-Trace", "t-1"), atlas.WithResponse(&resp)))
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)

	var refreshes, mes []string
	for _, r := range srv.Requests() {
		switch r.Path {
		case "/auth/refresh":
			refreshes = append(refreshes, r.Header.Get("Authorization"))
			assert.Equal(t, http.StatusOK, r.Status)
		case "/auth/me":
			mes = append(mes, r.Header.Get("Authorization"))
		}
	}
	assert.Len(t, refreshes, 1, "one refresh, sent at once")
	assert.Empty(t, refreshes[0], "a refresh carries no access token")
	require.Len(t, mes, 2)
	assert.Nil(t, resp, "the shared renewal does not report through WithResponse")
}

package atlas_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
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

// Refresh's options reach the request it sends: it renews the tokens at
// once, with one POST /auth/refresh that carries the caller's header and
// key, WithResponse gets its answer, and the client goes on with the new
// tokens. (Until issue 13 the options reached no request.)
func TestAuthRefreshTakesOptions(t *testing.T) {
	t.Parallel()
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	_, err := c.Auth.Me(ctx) // logs in
	require.NoError(t, err)

	var resp *atlas.Response
	require.NoError(t, c.Auth.Refresh(ctx, atlas.WithHeader("X-Trace", "t-1"), atlas.WithResponse(&resp),
		atlas.WithIdempotencyKey("refresh-1")))
	_, err = c.Auth.Me(ctx)
	require.NoError(t, err)

	var refreshes []atlastest.RecordedRequest
	var mes []string
	for _, r := range srv.Requests() {
		switch r.Path {
		case "/auth/refresh":
			refreshes = append(refreshes, r)
		case "/auth/me":
			mes = append(mes, r.Header.Get("Authorization"))
		}
	}
	require.Len(t, refreshes, 1, "one refresh, sent at once")
	assert.Equal(t, http.StatusOK, refreshes[0].Status)
	assert.Empty(t, refreshes[0].Header.Get("Authorization"), "a refresh carries no access token")
	assert.Equal(t, "t-1", refreshes[0].Header.Get("X-Trace"))
	assert.Equal(t, "refresh-1", refreshes[0].IdempotencyKey)
	require.Len(t, mes, 2)
	require.NotNil(t, resp, "WithResponse gets the refresh's answer")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, refreshes[0].RequestID, resp.RequestID)
}

// When the refresh token is refused, Refresh logs in again: the login is
// also a request of the call, and carries its header (not the refresh's
// key); WithResponse gets the login's answer, the last one.
func TestAuthRefreshOptionsReachTheLoginAfterARefusal(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithTokens("", "rtk_never-issued"), atlas.WithCredentials(srv.Email(), srv.Password())))

	var resp *atlas.Response
	require.NoError(t, c.Auth.Refresh(context.Background(), atlas.WithHeader("X-Trace", "t-2"), atlas.WithResponse(&resp),
		atlas.WithIdempotencyKey("refresh-2")))

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/auth/refresh", reqs[0].Path)
	assert.Equal(t, http.StatusUnauthorized, reqs[0].Status)
	assert.Equal(t, "refresh-2", reqs[0].IdempotencyKey)
	assert.Equal(t, "/auth/login", reqs[1].Path)
	assert.Equal(t, http.StatusOK, reqs[1].Status)
	assert.NotEqual(t, "refresh-2", reqs[1].IdempotencyKey, "the refresh's key is not the login's")
	assert.NotEmpty(t, reqs[1].IdempotencyKey)
	for _, r := range reqs {
		assert.Equal(t, "t-2", r.Header.Get("X-Trace"), r.Path)
	}
	require.NotNil(t, resp)
	assert.Equal(t, reqs[1].RequestID, resp.RequestID, "the login's answer, the last one")
}

// A Refresh that sends nothing itself (a client sharing its TokenLocker
// store has renewed the tokens) takes those tokens, and WithResponse leaves
// its destination as it was.
func TestAuthRefreshThatSendsNothingLeavesWithResponse(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	store := &atlas.MemoryTokenStore{}
	newClient := func() *atlas.Client {
		c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithCredentials(srv.Email(), srv.Password()), atlas.WithTokenStore(store)))
		return c
	}
	a, b := newClient(), newClient()
	ctx := context.Background()
	_, err := a.Auth.Me(ctx) // a logs in and saves the tokens
	require.NoError(t, err)
	_, err = b.Auth.Me(ctx) // b loads them
	require.NoError(t, err)
	require.NoError(t, a.Auth.Refresh(ctx)) // a renews them and saves the new ones
	before := len(srv.Requests())

	var resp *atlas.Response
	require.NoError(t, b.Auth.Refresh(ctx, atlas.WithResponse(&resp)))
	assert.Len(t, srv.Requests(), before, "b took a's tokens without a request")
	assert.Nil(t, resp, "no request of b's: WithResponse has nothing to tell")
	_, err = b.Auth.Me(ctx)
	require.NoError(t, err, "b works with a's tokens")
}

// Login's options reach the login request, and WithResponse gets its
// answer.
func TestAuthLoginTakesOptions(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL))

	var resp *atlas.Response
	u, err := c.Auth.Login(context.Background(), srv.Email(), srv.Password(), atlas.WithHeader("X-Trace", "t-3"),
		atlas.WithResponse(&resp), atlas.WithIdempotencyKey("login-3"))
	require.NoError(t, err)
	assert.Equal(t, srv.Email(), u.Email)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "t-3", reqs[0].Header.Get("X-Trace"))
	assert.Equal(t, "login-3", reqs[0].IdempotencyKey)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, reqs[0].RequestID, resp.RequestID)
}

// Options that could not be sent fail Login and Refresh before any request.
func TestAuthOptionsRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithCredentials(srv.Email(), srv.Password())))
	ctx := context.Background()

	err := c.Auth.Refresh(ctx, atlas.WithIdempotencyKey(""))
	assert.ErrorIs(t, err, atlas.ErrInvalidParams)
	_, err = c.Auth.Login(ctx, srv.Email(), srv.Password(), atlas.WithHeader("X-Trace", "a\nb"))
	assert.ErrorIs(t, err, atlas.ErrInvalidParams)
	assert.Empty(t, srv.Requests())
}

package atlastest_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
	"github.com/atlas-accounting/atlas-go/internal/redacttest"
)

// holdNoSecret lists the exported types of atlastest that hold no secret.
var holdNoSecret = map[string]reflect.Type{
	"Chaos": reflect.TypeFor[atlastest.Chaos](), "Clock": reflect.TypeFor[atlastest.Clock](),
	"ClockFunc": reflect.TypeFor[atlastest.ClockFunc](), "Delivery": reflect.TypeFor[atlastest.Delivery](),
	"Fault": reflect.TypeFor[atlastest.Fault](), "FaultOption": reflect.TypeFor[atlastest.FaultOption](),
	"Option": reflect.TypeFor[atlastest.Option](), "OptionError": reflect.TypeFor[atlastest.OptionError](),
	"Tier": reflect.TypeFor[atlastest.Tier](),
}

// TestNoExportedTypePrintsASecret checks atlastest's exported types as the
// atlas package's test of that name does. A RecordedRequest of a login and
// of a call holds the password and the token redacted.
func TestNoExportedTypePrintsASecret(t *testing.T) {
	t.Parallel()
	redacttest.CheckPackage(t, ".", redacttest.Catalogue{Plain: holdNoSecret, Own: map[string]func(*testing.T){
		"Seed": nil, "Server": nil, // they hand the test passwords to tests, by design
		"RecordedRequest": checkRecordedRequests,
	}})
}

// checkRecordedRequests logs in with a password and makes a call with the
// token that login gave, and prints what the request log recorded.
func checkRecordedRequests(t *testing.T) {
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)
	store := &atlas.MemoryTokenStore{}
	c, err := atlas.NewClient(atlas.WithBaseURL(srv.URL), atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithTokenStore(store))
	require.NoError(t, err)
	_, err = c.Auth.Me(context.Background())
	require.NoError(t, err)
	tokens, err := store.Load(context.Background())
	require.NoError(t, err)
	require.NotNil(t, tokens)
	reqs := srv.Requests()
	require.GreaterOrEqual(t, len(reqs), 2, "a login and a call")
	for _, r := range reqs {
		for _, form := range redacttest.Forms(r) {
			for _, leak := range redacttest.Leaks(form, srv.Password(), tokens.AccessToken, tokens.RefreshToken) {
				t.Errorf("RecordedRequest of %s %s: a secret shows in %s", r.Method, r.Path, leak)
			}
		}
	}
}

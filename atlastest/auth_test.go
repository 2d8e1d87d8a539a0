package atlastest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func login(t *testing.T, srv *atlastest.Server, email, password string) tokenPair {
	t.Helper()
	resp := anon(t, srv).do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	var out struct {
		Tokens tokenPair `json:"tokens"`
	}
	resp.decode(t, &out)
	return out.Tokens
}

func refresh(t *testing.T, srv *atlastest.Server, token string) response {
	t.Helper()
	return anon(t, srv).do(http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": token})
}

func bearer(t *testing.T, srv *atlastest.Server, token string) *client {
	c := anon(t, srv)
	c.token = token
	return c
}

func TestLoginReturnsTokensAndUser(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp := anon(t, srv).do(http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), "password": srv.Password()})
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)

	m := resp.object(t)
	assert.Equal(t, []string{"tokens", "user"}, keys(m))
	tokens := m["tokens"].(map[string]any)
	assert.Equal(t, []string{"access_token", "expires_in", "refresh_token", "token_type"}, keys(tokens))
	assert.Equal(t, "bearer", tokens["token_type"])
	assert.EqualValues(t, 3600, tokens["expires_in"])
	assert.NotEqual(t, tokens["access_token"], tokens["refresh_token"])

	u := m["user"].(map[string]any)
	assert.Equal(t, []string{"email", "full_name", "id", "role"}, keys(u))
	assert.Equal(t, srv.Email(), u["email"])
	assert.Equal(t, "admin", u["role"])
}

func TestLoginEmailIgnoresCase(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tok := login(t, srv, strings.ToUpper(srv.Email()), srv.Password())
	assert.NotEmpty(t, tok.AccessToken)
}

func TestLoginRefusesBadInput(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"wrong password", map[string]string{"email": srv.Email(), "password": "nope"}, http.StatusUnauthorized, nil},
		{"unknown email", map[string]string{"email": "who@example.com", "password": srv.Password()}, http.StatusUnauthorized, nil},
		{"viewer's password for admin", map[string]string{"email": srv.Email(), "password": srv.ViewerPassword()}, http.StatusUnauthorized, nil},
		{"missing password", map[string]string{"email": srv.Email()}, http.StatusUnprocessableEntity, []string{"password"}},
		{"missing both", map[string]string{}, http.StatusUnprocessableEntity, []string{"email", "password"}},
		{"empty password", map[string]string{"email": srv.Email(), "password": ""}, http.StatusUnprocessableEntity, []string{"password"}},
		{"email not a string", map[string]any{"email": 42, "password": "x"}, http.StatusUnprocessableEntity, []string{"email"}},
		{"email not an email", map[string]any{"email": "admin", "password": "x"}, http.StatusUnprocessableEntity, []string{"email"}},
		{"not JSON", `{"email":`, http.StatusBadRequest, nil},
		{"not an object", `["a"]`, http.StatusUnprocessableEntity, []string{"body"}},
		{"no body", "", http.StatusUnprocessableEntity, []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := anon(t, srv).do(http.MethodPost, "/auth/login", tt.body)
			e := resp.requireError(t, tt.status)
			assert.ElementsMatch(t, tt.fields, e.fields())
			assert.NotContains(t, string(resp.body), srv.Password())
		})
	}
}

func TestMeListsOrganizationAndCompanies(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())

	m := admin(t, srv).get("/auth/me").object(t)
	assert.Equal(t, []string{"companies", "email", "full_name", "id", "organization", "role"}, keys(m))
	assert.Equal(t, srv.Email(), m["email"])
	assert.Equal(t, "admin", m["role"])
	org := m["organization"].(map[string]any)
	assert.Equal(t, []string{"id", "name"}, keys(org))
	companies := m["companies"].([]any)
	require.Len(t, companies, 2)
	first := companies[0].(map[string]any)
	assert.Equal(t, []string{"id", "name", "role"}, keys(first))
	assert.Equal(t, srv.CompanyID(), first["id"])
	assert.Equal(t, "admin", first["role"])
	assert.Equal(t, srv.SecondCompanyID(), companies[1].(map[string]any)["id"])

	vm := viewer(t, srv).get("/auth/me").object(t)
	assert.Equal(t, srv.ViewerEmail(), vm["email"])
	assert.Equal(t, "viewer", vm["role"])
	vc := vm["companies"].([]any)
	require.Len(t, vc, 1)
	assert.Equal(t, "viewer", vc[0].(map[string]any)["role"])
	assert.Equal(t, org["id"], vm["organization"].(map[string]any)["id"])
}

func TestAccessTokenExpiresOnServerClock(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))),
		atlastest.WithTokenLifetime(time.Minute))
	tok := login(t, srv, srv.Email(), srv.Password())
	assert.Equal(t, 60, tok.ExpiresIn)
	c := bearer(t, srv, tok.AccessToken)

	assert.Equal(t, http.StatusOK, c.get("/auth/me").status)
	srv.Advance(59 * time.Second)
	assert.Equal(t, http.StatusOK, c.get("/auth/me").status)
	srv.Advance(time.Second)
	c.get("/auth/me").requireError(t, http.StatusUnauthorized)
	assert.Equal(t, time.Date(2026, 3, 10, 9, 1, 0, 0, time.UTC), srv.Now())
}

func TestSubSecondLifetimeRoundsExpiresInUp(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithTokenLifetime(1500*time.Millisecond))
	assert.Equal(t, 2, login(t, srv, srv.Email(), srv.Password()).ExpiresIn)
}

func TestRefreshRotatesTheRefreshToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))),
		atlastest.WithTokenLifetime(time.Minute))
	first := login(t, srv, srv.Email(), srv.Password())
	srv.Advance(2 * time.Minute)
	bearer(t, srv, first.AccessToken).get("/auth/me").requireError(t, http.StatusUnauthorized)

	resp := refresh(t, srv, first.RefreshToken)
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	assert.Equal(t, []string{"access_token", "expires_in", "refresh_token", "token_type"}, keys(resp.object(t)))
	var second tokenPair
	resp.decode(t, &second)
	assert.Equal(t, "bearer", second.TokenType)
	assert.Equal(t, 60, second.ExpiresIn)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.Equal(t, http.StatusOK, bearer(t, srv, second.AccessToken).get("/auth/me").status)

	// The rotated token is spent; the new one works once.
	refresh(t, srv, first.RefreshToken).requireError(t, http.StatusUnauthorized)
	third := refresh(t, srv, second.RefreshToken)
	assert.Equal(t, http.StatusOK, third.status)
	refresh(t, srv, second.RefreshToken).requireError(t, http.StatusUnauthorized)
}

func TestRefreshTokenExpires(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithClock(atlastest.FixedClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))),
		atlastest.WithRefreshTokenLifetime(time.Hour))
	tok := login(t, srv, srv.Email(), srv.Password())
	srv.Advance(time.Hour)
	refresh(t, srv, tok.RefreshToken).requireError(t, http.StatusUnauthorized)
}

func TestRefreshRefusesBadInput(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tok := login(t, srv, srv.Email(), srv.Password())
	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"unknown token", map[string]string{"refresh_token": "rtk_nope"}, http.StatusUnauthorized, nil},
		{"access token instead", map[string]string{"refresh_token": tok.AccessToken}, http.StatusUnauthorized, nil},
		{"missing", map[string]string{}, http.StatusUnprocessableEntity, []string{"refresh_token"}},
		{"empty", map[string]string{"refresh_token": ""}, http.StatusUnprocessableEntity, []string{"refresh_token"}},
		{"wrong type", map[string]any{"refresh_token": true}, http.StatusUnprocessableEntity, []string{"refresh_token"}},
		{"not JSON", "refresh", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := anon(t, srv).do(http.MethodPost, "/auth/refresh", tt.body).requireError(t, tt.status)
			assert.ElementsMatch(t, tt.fields, e.fields())
		})
	}
}

func TestBearerTokenRequired(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tok := login(t, srv, srv.Email(), srv.Password())
	tests := []struct {
		name, header string
	}{
		{"missing", ""},
		{"unknown token", "Bearer atk_0000"},
		{"wrong scheme", "Basic " + tok.AccessToken},
		{"no token", "Bearer "},
		{"refresh token", "Bearer " + tok.RefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/auth/me", nil)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
		})
	}
	// The scheme is case-insensitive.
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/auth/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "bearer "+tok.AccessToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestPasswordsAndSecretsAreRandomPerServer(t *testing.T) {
	t.Parallel()
	a, b := newServer(t), newServer(t)
	assert.NotEqual(t, a.Password(), b.Password())
	assert.NotEqual(t, a.ViewerPassword(), b.ViewerPassword())
	assert.NotEqual(t, a.WebhookSecret(), b.WebhookSecret())
	assert.NotEqual(t, a.CompanyID(), b.CompanyID())
}

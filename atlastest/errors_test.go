package atlastest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoutingErrorsUseTheEnvelope(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := admin(t, srv)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown route", http.MethodGet, "/nope", http.StatusNotFound, ""},
		{"trailing slash", http.MethodGet, "/companies/", http.StatusNotFound, ""},
		{"outside the API", http.MethodGet, "/../../health", http.StatusNotFound, ""},
		{"wrong method on a collection", http.MethodDelete, "/companies", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"wrong method on an item", http.MethodPut, "/contacts/customers/" + srv.CustomerIDs()[0], http.StatusMethodNotAllowed, "GET, HEAD, PATCH"},
		{"GET on login", http.MethodGet, "/auth/login", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.do(tt.method, tt.path, nil)
			resp.requireError(t, tt.status)
			assert.Equal(t, tt.allow, resp.header.Get("Allow"))
			assert.NotEmpty(t, resp.header.Get("X-Request-ID"))
		})
	}
}

func TestUnknownRouteWithoutTokenIs404(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	anon(t, srv).get("/no/such/thing").requireError(t, http.StatusNotFound)
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	url := srv.URL + "/contacts/customers?company_id=" + srv.CompanyID()
	token := admin(t, srv).token
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"invalid JSON", "application/json", `{"display_name": "x",}`, http.StatusBadRequest},
		{"truncated JSON", "application/json", `{"display_name": "x"`, http.StatusBadRequest},
		{"no content type", "", `{"display_name": "x"}`, http.StatusBadRequest},
		{"form content type", "application/x-www-form-urlencoded", `display_name=x`, http.StatusBadRequest},
		{"too large", "application/json", `{"notes": "` + strings.Repeat("a", 1<<20) + `", "display_name": "x"}`, http.StatusBadRequest},
		{"JSON null", "application/json", `null`, http.StatusUnprocessableEntity},
		{"JSON string", "application/json", `"x"`, http.StatusUnprocessableEntity},
		{"empty", "application/json", ``, http.StatusUnprocessableEntity},
		{"content type with charset", "application/json; charset=utf-8", `{"display_name": "x"}`, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(tt.body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			r := response{status: resp.StatusCode, header: resp.Header, body: raw}
			if tt.status == http.StatusCreated {
				assert.Equal(t, tt.status, r.status, "body: %s", raw)
				return
			}
			r.requireError(t, tt.status)
		})
	}
}

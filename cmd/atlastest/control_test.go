package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// controlCall sends a control request as prepare shapes it and returns the status and body.
func controlCall(t *testing.T, hc *http.Client, method, url, body string, prepare func(*http.Request)) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if prepare != nil {
		prepare(req)
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}

// hidden fails the test when text holds secret, without printing either.
func hidden(t *testing.T, text, secret, where string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("a secret shows in %s", where)
	}
}

// A web page that rebinds its own name to 127.0.0.1, or posts text/plain to the control
// API from another site, gets 403; the command's own clients, which send neither Origin
// nor Sec-Fetch-Site, are served as before.
func TestCommandControlAPIRefusesWebPages(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	p := startCommand(t, "-start", "2026-03-16T09:30:00Z", "-frozen")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctl := p.root() + "/_atlastest"

	status, body := controlCall(t, hc, http.MethodGet, ctl+"/seed", "", func(r *http.Request) { r.Host = "rebound.evil.example" })
	assert.Equal(t, http.StatusForbidden, status)
	assert.True(t, strings.Contains(body, `"status_code":403`) && strings.Contains(body, "-control-host"), "the 403 envelope names -control-host")
	hidden(t, body, p.info.Seed.Password, "the 403")
	hidden(t, body, p.info.Seed.WebhookSecret, "the 403")

	for _, header := range []http.Header{
		{"Origin": {"https://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}},
	} {
		crossSite := func(r *http.Request) {
			for k, v := range header {
				r.Header[k] = v
			}
			r.Header.Set("Content-Type", "text/plain")
		}
		status, _ = controlCall(t, hc, http.MethodPost, ctl+"/clock/advance", `{"duration": "24h"}`, crossSite)
		assert.Equal(t, http.StatusForbidden, status, "%v", header)
		status, _ = controlCall(t, hc, http.MethodPost, ctl+"/subscriptions", `{"url": "https://evil.example/hook"}`, crossSite)
		assert.Equal(t, http.StatusForbidden, status, "%v", header)
		status, _ = controlCall(t, hc, http.MethodPost, ctl+"/faults", `{"kind": "drop"}`, crossSite)
		assert.Equal(t, http.StatusForbidden, status, "%v", header)
	}
	status, body = controlCall(t, hc, http.MethodGet, ctl+"/clock", "", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "2026-03-16T09:30:00", "the clock did not move")

	// A credential field in another case is redacted in the request log too.
	controlCall(t, hc, http.MethodPost, p.info.URL+"/auth/login", `{"email": "`+p.info.Seed.Email+`", "PASSWORD": "`+p.info.Seed.Password+`"}`,
		func(r *http.Request) { r.Header.Set("Content-Type", "application/json") })
	status, body = controlCall(t, hc, http.MethodGet, ctl+"/requests", "", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "PASSWORD")
	hidden(t, body, p.info.Seed.Password, "GET /_atlastest/requests")
	assert.Equal(t, 0, p.stop(t))
}

func TestCommandControlToken(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	const token = "ctl-token-5e1b2f"
	p := startCommand(t, "-control-token", token)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	seed := p.root() + "/_atlastest/seed"
	for i, auth := range []string{"", "Bearer nope", "Basic " + token} {
		status, body := controlCall(t, hc, http.MethodGet, seed, "", func(r *http.Request) {
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
		})
		assert.Equal(t, http.StatusUnauthorized, status, "case %d", i)
		assert.True(t, strings.Contains(body, "-control-token"), "the 401 names -control-token")
		hidden(t, body, p.info.Seed.Password, "the 401")
	}
	status, body := controlCall(t, hc, http.MethodGet, seed, "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, p.info.Seed.Email)
	assert.Equal(t, 0, p.stop(t))
	hidden(t, p.stderr.String(), token, "the log")
}

// -addr beyond loopback serves with a token (given on the command line, or in a file
// that ps does not show, ending with a newline as an editor or echo leaves it), or with
// -control-open (and a warning); without either it does not start
// (TestBadFlagsExitWithStatus2).
func TestCommandOnEveryInterface(t *testing.T) {
	t.Parallel()
	const token = "ctl-token-9c4d"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\r\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want int // the status of GET /seed without a token
	}{
		{"token", []string{"-control-token", token}, http.StatusUnauthorized},
		{"token file", []string{"-control-token-file", tokenFile}, http.StatusUnauthorized},
		{"open", []string{"-control-open"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			var stderr testkit.SyncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, append([]string{"-addr", "0.0.0.0:0", "-json"}, tc.args...), pw, &stderr)
				_ = pw.Close()
			}()
			line, err := bufio.NewReader(pr).ReadBytes('\n')
			require.NoError(t, err, "stderr: %s", stderr.String())
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			var info startup
			require.NoError(t, json.Unmarshal(line, &info))

			hc := &http.Client{Transport: &http.Transport{}}
			defer hc.CloseIdleConnections()
			status, _ := controlCall(t, hc, http.MethodGet, info.ControlURL+"seed", "", nil)
			assert.Equal(t, tc.want, status)
			status, _ = controlCall(t, hc, http.MethodGet, info.ControlURL+"seed", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) })
			assert.Equal(t, http.StatusOK, status)
			hc.CloseIdleConnections()

			cancel()
			assert.Equal(t, exitOK, <-done)
			if tc.name == "open" {
				assert.Contains(t, stderr.String(), "the control API is open to anyone who can reach 0.0.0.0:0")
			} else {
				assert.NotContains(t, stderr.String(), "is open to anyone")
				hidden(t, stderr.String(), token, "the log")
			}
		})
	}
}

func TestCommandControlBodyLimit(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	p := startCommand(t, "-control-max-body", "64KiB")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	state := p.root() + "/_atlastest/state"
	status, saved := controlCall(t, hc, http.MethodGet, state, "", nil)
	require.Equal(t, http.StatusOK, status)

	status, body := controlCall(t, hc, http.MethodPut, state, saved+strings.Repeat(" ", 64<<10), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Contains(t, body, "64 KiB")
	status, _ = controlCall(t, hc, http.MethodPut, state, saved, nil)
	assert.Equal(t, http.StatusNoContent, status, "a state under the limit loads")
	assert.Equal(t, 0, p.stop(t))
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1": 1, "1048576": 1 << 20, "64KiB": 64 << 10, "32MiB": 32 << 20, "32mib": 32 << 20, "2GiB": 2 << 30} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "-1", "lots", "MiB", "1.5MiB", "1TiB", "9999999999GiB"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
}

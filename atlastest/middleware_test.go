package atlastest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// send sends req with the server's client and reads the whole answer, without the
// contract check of client.do: for answers the contract does not describe (injected
// faults) and for loops where the check would only slow the test down. A transport error
// is returned, not failed on.
func send(t testing.TB, srv *atlastest.Server, req *http.Request) (response, error) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// newRequest builds a request to path (relative to srv.URL) with c's token, if any; body
// is sent as application/json when not empty.
func (c *client) newRequest(method, path, body string) *http.Request {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req
}

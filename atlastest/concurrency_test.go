package atlastest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// TestConcurrentClients runs logins, refreshes, reads, creates and updates from many
// goroutines at once; under -race it checks the server's locking, and afterwards that no
// write was lost and no number was given twice.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithInvoices(500))
	const workers, perWorker = 16, 5

	results := make([]workerResult, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = worker(srv, w, perWorker)
		}()
	}
	wg.Wait()

	seen := map[string]bool{}
	for w, r := range results {
		require.NoError(t, r.err, "worker %d", w)
		for _, n := range r.numbers {
			assert.False(t, seen[n], "customer number %s given twice", n)
			seen[n] = true
		}
	}
	c := admin(t, srv)
	p := c.list("/contacts/customers?company_id=" + srv.CompanyID() + "&search=worker")
	assert.Equal(t, workers*perWorker, p.Total)
	for _, cust := range p.Items {
		assert.Equal(t, "net_60", cust["payment_terms"], "every update landed")
	}
}

// workerResult is what a worker reports: the customer numbers it was given, or why it stopped.
type workerResult struct {
	numbers []string
	err     error
}

// worker is one concurrent client: it logs in, then creates, updates and reads. It runs off
// the test goroutine, so it reports failures as an error instead of through t.
func worker(srv *atlastest.Server, w, n int) (res workerResult) {
	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if res.err = call(srv, "", http.MethodPost, "/auth/login", map[string]string{"email": srv.Email(), "password": srv.Password()}, http.StatusOK, &login); res.err != nil {
		return res
	}
	token := login.Tokens.AccessToken
	for i := range n {
		var created struct {
			ID     string `json:"id"`
			Number string `json:"customer_number"`
		}
		body := map[string]any{"display_name": fmt.Sprintf("worker %d customer %d", w, i)}
		if res.err = call(srv, token, http.MethodPost, "/contacts/customers?company_id="+srv.CompanyID(), body, http.StatusCreated, &created); res.err != nil {
			return res
		}
		res.numbers = append(res.numbers, created.Number)
		steps := []struct {
			method, path string
			body         any
		}{
			{http.MethodPatch, "/contacts/customers/" + created.ID, map[string]any{"payment_terms": "net_60"}},
			{http.MethodGet, "/invoices?company_id=" + srv.CompanyID() + "&sort_by=total_amount&page=3&page_size=20", nil},
			{http.MethodGet, "/auth/me", nil},
		}
		for _, st := range steps {
			if res.err = call(srv, token, st.method, st.path, st.body, http.StatusOK, nil); res.err != nil {
				return res
			}
		}
	}
	return res
}

// call sends one request and checks its status, decoding the body into out when not nil.
func call(srv *atlastest.Server, token, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

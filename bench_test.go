package atlas

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRequestOverhead compares the SDK getting one company with a
// hand-written net/http + encoding/json client doing the same, against the
// same local server. The difference is what the pipeline costs (retry layer,
// pacer, token manager, error handling) on top of the HTTP round trip.
//
//	go test -run '^$' -bench RequestOverhead -benchmem -count 10 . > bench.txt
//	benchstat -col /impl bench.txt
func BenchmarkRequestOverhead(b *testing.B) {
	company := []byte(`{"id":"5b6c7d8e-9f01-4a23-b456-789abcdef012","name":"Acme Consulting LLC","base_currency":"USD",` +
		`"fiscal_year_start":"2026-01-01","created_at":"2025-12-01T09:00:00Z","updated_at":"2025-12-01T09:00:00Z"}`)
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer bench-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["X-Ratelimit-Limit"] = []string{"1000000000"}
		h["X-Ratelimit-Remaining"] = []string{"999999999"}
		h["X-Ratelimit-Reset"] = []string{reset}
		_, _ = w.Write(company)
	}))
	defer srv.Close()
	base := srv.URL + "/api/v1"
	const id = "5b6c7d8e-9f01-4a23-b456-789abcdef012"
	ctx := context.Background()

	b.Run("impl=sdk", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		defer tr.CloseIdleConnections()
		c, err := NewClient(WithBaseURL(base), WithHTTPClient(&http.Client{Transport: tr}), WithTokens("bench-token", ""))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			co, err := c.Companies.Get(ctx, id)
			if err != nil || co.ID != id {
				b.Fatal(co, err)
			}
		}
	})

	b.Run("impl=nethttp", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		get := func() (*Company, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/companies/"+id, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer bench-token")
			req.Header.Set("Accept", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				_, _ = io.Copy(io.Discard, resp.Body)
				return nil, fmt.Errorf("status %d", resp.StatusCode)
			}
			var co Company
			if err := json.NewDecoder(resp.Body).Decode(&co); err != nil {
				return nil, err
			}
			return &co, nil
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			co, err := get()
			if err != nil || co.ID != id {
				b.Fatal(co, err)
			}
		}
	})
}

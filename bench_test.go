package atlas

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
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
//
// The ratio sub-benchmark runs both in turns and prints time-ratio and
// alloc-ratio (SDK over hand-written) itself.
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

	sdkGet := func(b *testing.B) (get func() (*Company, error), done func()) {
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		c, err := NewClient(WithBaseURL(base), WithHTTPClient(&http.Client{Transport: tr}), WithTokens("bench-token", ""))
		if err != nil {
			b.Fatal(err)
		}
		return func() (*Company, error) { return c.Companies.Get(ctx, id) }, tr.CloseIdleConnections
	}
	handGet := func(*testing.B) (get func() (*Company, error), done func()) {
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		hc := &http.Client{Transport: tr}
		return func() (*Company, error) {
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
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != http.StatusOK {
				_, _ = io.Copy(io.Discard, resp.Body)
				return nil, fmt.Errorf("status %d", resp.StatusCode)
			}
			var co Company
			if err := json.NewDecoder(resp.Body).Decode(&co); err != nil {
				return nil, err
			}
			return &co, nil
		}, tr.CloseIdleConnections
	}
	impls := []struct {
		name  string
		setup func(*testing.B) (func() (*Company, error), func())
	}{{"sdk", sdkGet}, {"nethttp", handGet}}

	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			get, done := impl.setup(b)
			defer done()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if co, err := get(); err != nil || co.ID != id {
					b.Fatal(co, err)
				}
			}
		})
	}

	// The two clients take turns in batches (ns/op is one call of each), so that whatever else the machine
	// is doing weighs on both alike; the benchmark prints the ratios the SDK is
	// held to (time and allocations, SDK over hand-written; targets 1.10 and 1.5).
	b.Run("ratio", func(b *testing.B) {
		sdk, doneSDK := sdkGet(b)
		defer doneSDK()
		hand, doneHand := handGet(b)
		defer doneHand()
		var elapsed [2]time.Duration
		var allocs [2]uint64
		var ms runtime.MemStats
		const batch = 64
		b.ResetTimer()
		for n := 0; n < b.N; n += batch {
			for i, get := range []func() (*Company, error){sdk, hand} {
				runtime.ReadMemStats(&ms)
				before, start := ms.Mallocs, time.Now()
				for range batch {
					if co, err := get(); err != nil || co.ID != id {
						b.Fatal(co, err)
					}
				}
				elapsed[i] += time.Since(start)
				runtime.ReadMemStats(&ms)
				allocs[i] += ms.Mallocs - before
			}
		}
		b.ReportMetric(float64(elapsed[0])/float64(elapsed[1]), "time-ratio")
		b.ReportMetric(float64(allocs[0])/float64(allocs[1]), "alloc-ratio")
	})
}

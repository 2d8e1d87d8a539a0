package atlas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// The benchmarks in this file measure what the SDK does under a rate limit,
// with a slow server and at scale. Their figures, and the commands that
// produce them, are in README.md's Performance section.

// BenchmarkRateLimitEfficiency has 8 goroutines issue GETs as fast as they
// are let through for 4 one-second windows (10 for sdk-headers/tier, see
// below), aligned on the server's windows, against atlastest enforcing 300
// requests per window (the Professional tier's figures with the minute scaled
// down to a second). It reports the requests that succeeded in that time
// divided by what the limit allows ("efficiency", at most 1), the 429s the
// server sent (per window, and in the first window alone), and the calls that
// failed.
//
//	go test -run '^$' -bench RateLimitEfficiency -benchtime 1x -count 3 .
//
// Cases (client/server):
//   - sdk-tier/tier: WithRateLimit(300, 50, time.Second), the scaled
//     WithTier(TierProfessional), against the tier's window and burst;
//   - sdk-headers/window: the SDK with no plan, following the X-RateLimit-*
//     headers alone, against a server that enforces the window only (all
//     that the headers can describe);
//   - sdk-headers/tier: the same client against the window and the burst,
//     which the headers do not describe. The client learns of the burst from
//     its first 429 (which comes with room left in the window), and waits
//     the Retry-After of one whole second that the server rounds it up to:
//     in this compressed time, the rest of the first window. From then on it
//     spaces its requests at the window's rate and gets no more 429s. The
//     first window is thus lost whatever the client does, and the case runs
//     for 10 windows so that the figure says what the client does once it
//     has learned (over 4, the lost window alone would cap it near 0.77);
//   - retryablehttp/…: a go-retryablehttp client with its default policy
//     (4 retries, backoff from 1s honouring Retry-After), for comparison.
func BenchmarkRateLimitEfficiency(b *testing.B) {
	const (
		limit   = 300
		burst   = 50
		window  = time.Second
		workers = 8
	)
	tier := atlastest.WithPlan(atlastest.TierProfessional, window)
	windowOnly := atlastest.WithPlanLimits(limit, 0, window)
	for _, bc := range []struct {
		name    string
		server  atlastest.Option
		client  string
		windows int
	}{
		{"client=sdk-tier/server=tier", tier, "sdk-tier", 4},
		{"client=sdk-headers/server=window", windowOnly, "sdk-headers", 4},
		{"client=sdk-headers/server=tier", tier, "sdk-headers", 10},
		{"client=retryablehttp/server=window", windowOnly, "retryablehttp", 4},
		{"client=retryablehttp/server=tier", tier, "retryablehttp", 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ok, limited, limitedFirst, failed int
			var elapsed time.Duration
			for range b.N {
				r := runAtTheLimit(b, bc.server, bc.client, workers, time.Duration(bc.windows)*window, window)
				ok += r.ok
				limited += r.limited
				limitedFirst += r.limitedFirst
				failed += r.failed
				elapsed += r.elapsed
			}
			allowed := float64(limit) / window.Seconds() * elapsed.Seconds()
			b.ReportMetric(float64(ok)/allowed, "efficiency")
			b.ReportMetric(float64(ok)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(limited)/float64(b.N), "429s/run")
			b.ReportMetric(float64(limited)/float64(b.N*bc.windows), "429s/window")
			b.ReportMetric(float64(limitedFirst)/float64(b.N), "429s/first-window")
			b.ReportMetric(float64(failed)/float64(b.N), "failed/run")
		})
	}
}

// BenchmarkClockSkew runs the same paced workload with the client's clock
// right and off by 5s either way (and by 5.5s, a skew that is not whole
// seconds): 8 goroutines make 6,000 GETs, twenty windows' worth, against
// atlastest allowing 300 requests a window of one second, following the
// X-RateLimit-* headers alone. Each run starts half a window into one of
// the server's windows. It reports the time a run took over the in-sync
// time ("x-in-sync"; the skewed runs are to stay within 1.05 of it) and
// the 429s the server sent ("429s/run"; to be 0). A skewed client reads
// the server's clock from the Date header, whole seconds: it may start
// each window up to a second late (here half a second at most, as its
// first answers come half a second into the server's second), which costs
// a workload of many windows that much once.
//
//	go test -run '^$' -bench ClockSkew -benchtime 1x -count 3 .
func BenchmarkClockSkew(b *testing.B) {
	const (
		limit    = 300
		window   = time.Second
		requests = 20 * limit
		workers  = 8
	)
	var inSync time.Duration
	for _, skew := range []time.Duration{0, 5 * time.Second, -5 * time.Second, 5500 * time.Millisecond, -5500 * time.Millisecond} {
		b.Run("skew="+skew.String(), func(b *testing.B) {
			var elapsed time.Duration
			var limited, failed int
			for range b.N {
				r := runSkewed(b, skew, limit, window, requests, workers)
				elapsed += r.elapsed
				limited += r.limited
				failed += r.failed
			}
			perRun := elapsed / time.Duration(b.N)
			if skew == 0 {
				inSync = perRun
			} else if inSync > 0 {
				b.ReportMetric(float64(perRun)/float64(inSync), "x-in-sync")
			}
			b.ReportMetric(perRun.Seconds(), "s/run")
			b.ReportMetric(float64(limited)/float64(b.N), "429s/run")
			b.ReportMetric(float64(failed)/float64(b.N), "failed/run")
		})
	}
}

// runSkewed has workers goroutines make requests GETs through a client
// whose clock is skew ahead of the server's (atlastest on the real clock,
// enforcing limit per window), starting half a window into one of the
// server's windows, and returns how long they took and the 429s.
func runSkewed(b *testing.B, skew time.Duration, limit int, window time.Duration, requests, workers int) limitRun {
	// The client's clock is the machine's; the server's runs skew behind it.
	srv := atlastest.NewServer(atlastest.WithPlanLimits(limit, 0, window), atlastest.WithStartTime(time.Now().Add(-skew)))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: tr}),
		WithCredentials(srv.Email(), srv.Password()))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Auth.Refresh(context.Background()); err != nil { // log in, outside the measure
		b.Fatal(err)
	}
	now := srv.Now()
	start := now.Truncate(window).Add(window + window/2)
	time.Sleep(start.Sub(now)) // setup, outside the measure
	srv.ResetRequests()
	began := time.Now()
	var left atomic.Int64
	left.Store(int64(requests))
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if _, err := c.Companies.Get(context.Background(), srv.CompanyID()); err != nil {
					if failed.Add(1) <= 3 {
						b.Log(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	r := limitRun{elapsed: time.Since(began), failed: int(failed.Load())}
	for _, rec := range srv.Requests() {
		if rec.Status == http.StatusTooManyRequests {
			r.limited++
		}
	}
	return r
}

// limitRun is what one run of runAtTheLimit counted.
type limitRun struct {
	ok, limited, failed int
	limitedFirst        int // 429s in the first window
	elapsed             time.Duration
}

// runAtTheLimit starts a server with serverOpt, waits for the start of one of
// its windows, and has workers goroutines send GETs with the given client
// until span has passed. Only calls that succeed within span count.
func runAtTheLimit(b *testing.B, serverOpt atlastest.Option, client string, workers int, span, window time.Duration) limitRun {
	srv := atlastest.NewServer(serverOpt)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	store := &MemoryTokenStore{}
	opts := []Option{
		WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: tr}),
		WithCredentials(srv.Email(), srv.Password()), WithTokenStore(store),
	}
	if client == "sdk-tier" {
		opts = append(opts, WithRateLimit(300, 50, window))
	}
	c, err := NewClient(opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Auth.Refresh(context.Background()); err != nil { // log in, outside the measure
		b.Fatal(err)
	}
	tokens, err := store.Load(context.Background())
	if err != nil || tokens == nil {
		b.Fatal("no tokens after login", err)
	}
	get := c.Companies.Get
	if client == "retryablehttp" {
		get = plainRetryableGet(srv.URL, tokens.AccessToken, tr)
	}

	// Start on a window boundary, so that every run sees whole windows.
	now := srv.Now()
	start := now.Truncate(window).Add(window)
	time.Sleep(start.Sub(now)) // setup, outside the measure
	srv.ResetRequests()
	// Cancelled rather than a deadline: the client would refuse at once a
	// wait that outlasts a deadline, and the workers would spin.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	end := start.Add(span)
	stop := time.AfterFunc(time.Until(end), cancel)
	defer stop.Stop()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := get(ctx, srv.CompanyID())
				switch {
				case !time.Now().Before(end): // answered in the window after the last
				case err != nil:
					if failed.Add(1) <= 3 {
						b.Log(err)
					}
				default:
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r := limitRun{ok: int(ok.Load()), failed: int(failed.Load()), elapsed: span}
	for _, rec := range srv.Requests() {
		if rec.Status == http.StatusTooManyRequests {
			r.limited++
			if rec.Time.Before(start.Add(window)) {
				r.limitedFirst++
			}
		}
	}
	return r
}

// plainRetryableGet returns a function that gets a company with a
// go-retryablehttp client using its default policy, as a user without the
// SDK would write it.
func plainRetryableGet(baseURL, accessToken string, tr *http.Transport) func(context.Context, string, ...RequestOption) (*Company, error) {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: tr}
	rc.Logger = nil
	return func(ctx context.Context, id string, _ ...RequestOption) (*Company, error) {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/companies/"+id, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+accessToken)
		resp, err := rc.Do(req)
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil, &Error{StatusCode: resp.StatusCode}
		}
		return &Company{ID: id}, nil
	}
}

// BenchmarkPagination reads 50 pages of 100 invoices from a server that takes
// 20ms to answer each page, with a consumer that spends 0 or 20ms on each
// page (time.Sleep here is the workload being measured: work done per page,
// such as writing it to a database). Modes: serial (List page after page, no
// prefetch), prefetch (All, the default: one page ahead) and parallel8 (All
// with WithConcurrency(8)). Each mode reports its time as a fraction of
// serial's with the same consumer ("x-serial"), when serial ran first.
//
//	go test -run '^$' -bench Pagination -benchtime 3x -count 3 .
func BenchmarkPagination(b *testing.B) {
	const (
		pages   = 50
		latency = 20 * time.Millisecond
	)
	srv := atlastest.NewServer(atlastest.WithInvoices(pages * MaxPageSize))
	defer srv.Close()
	srv.SetLatency(latency, atlastest.Matching("GET /invoices"))
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: tr}),
		WithCredentials(srv.Email(), srv.Password()), WithCompany(srv.CompanyID()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Auth.Refresh(ctx); err != nil {
		b.Fatal(err)
	}

	serial := map[time.Duration]float64{} // ns/op of serial, by consumer work
	for _, work := range []time.Duration{0, latency} {
		for _, mode := range []string{"serial", "prefetch", "parallel8"} {
			b.Run("consumer="+work.String()+"/mode="+mode, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					n, err := readAllInvoices(ctx, c, mode, work)
					if err != nil {
						b.Fatal(err)
					}
					if n != pages*MaxPageSize {
						b.Fatalf("read %d invoices, want %d", n, pages*MaxPageSize)
					}
				}
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if mode == "serial" {
					serial[work] = perOp
				} else if s := serial[work]; s > 0 {
					b.ReportMetric(perOp/s, "x-serial")
				}
			})
		}
	}
}

// readAllInvoices reads every invoice in the given mode, spending work on
// each page, and returns how many it read.
func readAllInvoices(ctx context.Context, c *Client, mode string, work time.Duration) (int, error) {
	n := 0
	if mode == "serial" {
		params := &InvoiceListParams{ListOptions: ListOptions{PageSize: MaxPageSize}}
		for params.Page = 1; ; params.Page++ {
			p, err := c.Invoices.List(ctx, params)
			if err != nil {
				return n, err
			}
			n += len(p.Items)
			time.Sleep(work) // the consumer's work on the page
			if !p.HasNext {
				return n, nil
			}
		}
	}
	var opts []AllOption
	if mode == "parallel8" {
		opts = append(opts, WithConcurrency(8))
	}
	for _, err := range c.Invoices.All(ctx, nil, opts...) {
		if err != nil {
			return n, err
		}
		n++
		if n%MaxPageSize == 0 {
			time.Sleep(work) // the consumer's work on the page
		}
	}
	return n, nil
}

// BenchmarkAllMemory iterates over 100,000 invoices with All and reports
// the live heap the iteration adds (see measureAllHeap) in pages, a page
// being the live heap one decoded page of 100 invoices holds: the median and
// the largest of the settled samples, and the largest transient one.
//
//	go test -run '^$' -bench AllMemory -benchtime 1x .
func BenchmarkAllMemory(b *testing.B) {
	const invoices = 100_000
	var h allHeap
	for range b.N {
		h = measureAllHeap(b, invoices, 10)
	}
	page := float64(h.page)
	b.ReportMetric(page, "page-B")
	b.ReportMetric(float64(h.settledMedian())/page, "settled-median-pages")
	b.ReportMetric(float64(h.settledMax())/page, "settled-max-pages")
	b.ReportMetric(float64(h.transient)/page, "transient-max-pages")
}

// allHeap is what measureAllHeap found, in bytes.
type allHeap struct {
	page      uint64   // one decoded page of MaxPageSize invoices
	settled   []uint64 // every settled sample, in order
	transient uint64   // the largest transient sample
}

// settledMedian and settledMax sum up the settled samples.
func (h allHeap) settledMedian() uint64 {
	s := slices.Clone(h.settled)
	slices.Sort(s)
	return s[len(s)/2]
}

func (h allHeap) settledMax() uint64 { return slices.Max(h.settled) }

// measureAllHeap iterates with All over total invoices and samples the live
// heap the iteration adds at every every-th page: in the middle of the page
// once no request is in flight ("settled": what the iterator holds, the
// current page and the prefetched next one; see settledAbove), and at the
// page's end ("transient": after two collections, with what is in flight,
// the next page's body being read and decoded, and some garbage a collection
// behind).
//
// The invoices are a page that atlastest rendered, served again and again by
// a server that only writes bytes it has, for every page number up to the
// last: an in-process atlastest would add its own rendering of each page to
// the heap being measured, at moments the client cannot see.
func measureAllHeap(tb testing.TB, total, every int) allHeap {
	pages := (total + MaxPageSize - 1) / MaxPageSize
	items := renderedInvoices(tb)
	// The same invoices on every page, under ids of the page's own (All
	// refuses a page that repeats an earlier one), written piece by piece so
	// that the in-process server adds no page-sized garbage to the heap measured.
	pieces := bytes.Split(items, []byte(`"id":"`))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":`)
		id := fmt.Appendf(nil, `"id":"p%d-`, page)
		_, _ = w.Write(pieces[0])
		for _, p := range pieces[1:] {
			_, _ = w.Write(id)
			_, _ = w.Write(p)
		}
		_, _ = fmt.Fprintf(w, `,"total":%d,"page":%d,"page_size":%d,"has_next":%t}`, total, page, MaxPageSize, page < pages)
	}))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	flight := &inflight{base: tr}
	flight.idle = sync.NewCond(&flight.mu)
	c, err := NewClient(WithBaseURL(srv.URL+"/api/v1"), WithHTTPClient(&http.Client{Transport: flight}),
		WithTokens("memory-token", ""), WithCompany("c-1"))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var h allHeap
	params := &InvoiceListParams{ListOptions: ListOptions{PageSize: MaxPageSize}}
	if _, err := c.Invoices.List(ctx, params); err != nil { // warm the connection
		tb.Fatal(err)
	}
	before := liveHeap()
	p, err := c.Invoices.List(ctx, params)
	if err != nil {
		tb.Fatal(err)
	}
	after := liveHeap()
	runtime.KeepAlive(p)
	if after <= before || len(p.Items) != MaxPageSize {
		tb.Fatal("a page holds no heap: the measure is broken")
	}
	h.page = after - before
	p = nil

	base := liveHeap()
	above := func() uint64 { return max(liveHeap(), base) - base }
	n := 0
	for _, err := range c.Invoices.All(ctx, nil) {
		if err != nil {
			tb.Fatal(err)
		}
		n++
		if (n/MaxPageSize)%every != 0 {
			continue
		}
		switch n % MaxPageSize {
		case MaxPageSize / 2:
			flight.wait()
			h.settled = append(h.settled, settledAbove(base))
		case 0:
			h.transient = max(h.transient, above())
		}
	}
	if n != pages*MaxPageSize {
		tb.Fatalf("read %d invoices, want %d", n, pages*MaxPageSize)
	}
	return h
}

// renderedInvoices returns the items of a page of 100 invoices as atlastest
// renders them (drafts, sent and void, with lines), as raw JSON.
func renderedInvoices(tb testing.TB) []byte {
	srv := atlastest.NewServer(atlastest.WithInvoices(MaxPageSize))
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, err := NewClient(WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: tr}),
		WithCredentials(srv.Email(), srv.Password()), WithCompany(srv.CompanyID()))
	if err != nil {
		tb.Fatal(err)
	}
	var raw struct {
		Items json.RawMessage `json:"items"`
	}
	req := Request{Path: "/invoices", Company: CompanyRequired, Query: url.Values{"page_size": {strconv.Itoa(MaxPageSize)}}}
	if err := c.do(context.Background(), req, requestConfig{}, &raw); err != nil {
		tb.Fatal(err)
	}
	return raw.Items
}

// settledAbove is the live heap above base once the garbage that outlives a
// collection or two (what sync.Pools' victim caches hold, the stack of a
// goroutine that is just ending) is gone: the smallest of a few samples,
// taken while the program does nothing else.
func settledAbove(base uint64) uint64 {
	least := liveHeap()
	for range 3 {
		least = min(least, liveHeap())
	}
	return max(least, base) - base
}

// liveHeap is the live heap after full collections (two: the first only
// moves what sync.Pools hold to their victim caches).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// inflight is a transport that counts the requests whose answer has not been
// closed yet; wait blocks until there are none.
type inflight struct {
	base http.RoundTripper
	mu   sync.Mutex
	idle *sync.Cond
	n    int
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.add(1)
	resp, err := f.base.RoundTrip(r)
	if err != nil {
		f.add(-1)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, f: f}
	return resp, nil
}

func (f *inflight) add(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n += d
	if f.n == 0 {
		f.idle.Broadcast()
	}
}

func (f *inflight) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.n > 0 {
		f.idle.Wait()
	}
}

// countedBody tells its inflight when it is closed (once).
type countedBody struct {
	io.ReadCloser
	f    *inflight
	once sync.Once
}

func (b *countedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.f.add(-1) })
	return err
}

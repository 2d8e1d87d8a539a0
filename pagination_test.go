package atlas

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestAllWalksEveryPageInOrder(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.setCompanies(250)
	c, _ := Setup(t, onFake(f))

	var ids []string
	for co, err := range c.Companies.All(context.Background(), nil) {
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	require.Len(t, ids, 250)
	for i, id := range ids {
		assert.Equal(t, "c-"+pad3(i+1), id)
	}
	pages := f.requests(http.MethodGet, "/companies")
	require.Len(t, pages, 3, "100 a page by default: the request count bounds a bulk read")
	for i, p := range pages {
		q, _ := url.ParseQuery(p.Query)
		assert.Equal(t, "100", q.Get("page_size"))
		assert.Equal(t, strconv.Itoa(i+1), q.Get("page"))
	}
}

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func TestPageSizeIsClamped(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.setCompanies(5)
	c, _ := Setup(t, onFake(f))
	p, err := c.Companies.List(context.Background(), &CompanyListParams{ListOptions: ListOptions{PageSize: 500}})
	require.NoError(t, err, "a page size over 100 would get a 422")
	assert.Equal(t, 100, p.PageSize)
	for _, err := range c.Companies.All(context.Background(), &CompanyListParams{ListOptions: ListOptions{PageSize: 1000}}) {
		require.NoError(t, err)
	}
	for _, r := range f.requests(http.MethodGet, "/companies") {
		q, _ := url.ParseQuery(r.Query)
		assert.Equal(t, "100", q.Get("page_size"))
	}
}

func TestAllHonoursChosenPageSizeAndStartPage(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.setCompanies(10)
	c, _ := Setup(t, onFake(f))
	var ids []string
	for co, err := range c.Companies.All(context.Background(), &CompanyListParams{ListOptions: ListOptions{Page: 2, PageSize: 3}}) {
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	assert.Equal(t, []string{"c-004", "c-005", "c-006", "c-007", "c-008", "c-009", "c-010"}, ids)
}

// While the caller works on page n, page n+1 is already requested.
func TestAllPrefetchesTheNextPage(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.setCompanies(300)
	c, _ := Setup(t, onFake(f))
	requested := make(chan int, 10)
	f.intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/companies" {
			n, _ := strconv.Atoi(r.URL.Query().Get("page"))
			requested <- n
		}
		return false
	})
	for co, err := range c.Companies.All(context.Background(), nil) {
		require.NoError(t, err)
		if co.ID == "c-001" {
			// Still on page 1: page 2 arrives without the loop asking.
			assert.Equal(t, 1, recv(t, requested))
			assert.Equal(t, 2, recv(t, requested))
		}
		if co.ID == "c-101" {
			assert.Equal(t, 3, recv(t, requested))
		}
	}
}

func TestAllBreakEarlyLeavesNoGoroutine(t *testing.T) {
	verifyNoLeaks(t)
	f := newFakeAtlas(t)
	f.setCompanies(300)
	c, _ := Setup(t, onFake(f))
	// Page 2 hangs on the server, so its prefetch is in flight at the break.
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	prefetching := make(chan struct{})
	f.intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("page") == "2" {
			close(prefetching)
			<-hang
			return true
		}
		return false
	})
	n := 0
	for _, err := range c.Companies.All(context.Background(), nil) {
		require.NoError(t, err)
		n++
		if n == 5 {
			recv(t, prefetching)
			break
		}
	}
	assert.Equal(t, 5, n)
	assertNoIteratorGoroutine(t)
}

// assertNoIteratorGoroutine checks that no goroutine is left running the page
// iterator's code once the loop is over. A fetch that has finished may still
// be on its way out (past wg.Done), so the check allows it a moment; a fetch
// still blocked on the hanging server would stay and fail it.
func assertNoIteratorGoroutine(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<22)
	deadline := time.Now().Add(time.Second)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "listAll[") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a page fetch outlived the loop:\n%s", stacks)
		}
		runtime.Gosched()
	}
}

func TestAllStopsWhenContextEnds(t *testing.T) {
	verifyNoLeaks(t)
	f := newFakeAtlas(t)
	f.setCompanies(300)
	c, _ := Setup(t, onFake(f))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range c.Companies.All(ctx, nil) {
		if err != nil {
			last = err
			continue
		}
		n++
		if n == 150 {
			cancel()
		}
	}
	assert.Less(t, n, 300)
	assert.ErrorIs(t, last, context.Canceled)
	assertNoIteratorGoroutine(t)
}

func TestAllRefusesAServerThatIgnoresPage(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.handle("GET /stuck", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Page[Company]{Items: []Company{{ID: "x", FiscalYearStart: Date{2026, 1, 1}}}, Total: 1000, Page: 1, PageSize: 1, HasNext: true})
	})
	f.handle("GET /empty-but-more", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"items": []any{}, "total": 10, "has_next": true})
	})
	c, _ := Setup(t, onFake(f))
	for _, path := range []string{"/stuck", "/empty-but-more"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			var errs []error
			n := 0
			for _, err := range listAll[Company](context.Background(), c, Request{Path: path}, ListOptions{}, nil) {
				if err != nil {
					errs = append(errs, err)
				} else {
					n++
				}
				require.Less(t, n, 10, "the iteration must not go on")
			}
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0].Error(), "does not advance")
		})
	}
}

func TestAllWithConcurrencyKeepsOrder(t *testing.T) {
	verifyNoLeaks(t)
	f := newFakeAtlas(t)
	f.setCompanies(950)
	c, _ := Setup(t, onFake(f))
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	release := make(chan struct{})
	f.intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		// Pages 1 and 2 come one at a time: only once page 2 has come as
		// asked for does the iterator trust the server with parallel fetches.
		if page := r.URL.Query().Get("page"); r.URL.Path != "/api/v1/companies" || page == "1" || page == "2" {
			return false
		}
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		if inFlight == 4 {
			close(release) // four pages at once have been seen
		}
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return false
	})
	var ids []string
	var resp *Response
	for co, err := range c.Companies.All(context.Background(), nil, WithConcurrency(4), WithResponse(&resp)) {
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	require.Len(t, ids, 950)
	for i, id := range ids {
		require.Equal(t, "c-"+pad3(i+1), id)
	}
	assert.Equal(t, 4, maxInFlight)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestAllUnauthorizedMidIterationRefreshesAndGoesOn(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	f.setCompanies(350)
	c, _ := Setup(t, onFake(f))
	n := 0
	for _, err := range c.Companies.All(context.Background(), &CompanyListParams{ListOptions: ListOptions{PageSize: 50}}) {
		require.NoError(t, err)
		n++
		if n == 120 {
			f.expireAccessTokens() // the token "expires" while page 3 is in hand
		}
	}
	assert.Equal(t, 350, n)
	assert.EqualValues(t, 1, f.refreshes.Load())
}

func TestAllReportsTheFirstPageError(t *testing.T) {
	t.Parallel()
	f := newFakeAtlas(t)
	c, _ := Setup(t, onFake(f))
	c = c.ForCompany("")
	var errs []error
	for _, err := range listAll[Company](context.Background(), c, Request{Path: "/invoices", Company: CompanyRequired}, ListOptions{}, nil) {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrNoCompany)
	assert.Empty(t, f.requests(http.MethodGet, "/invoices"))
}

// End to end: the token expires on the server's clock in the middle of a
// walk over 350 invoices; the iteration refreshes and goes on.
func TestAtlastestUnauthorizedMidIterationRefreshesAndGoesOn(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer(atlastest.WithInvoices(350))
	t.Cleanup(srv.Close)
	recOpt, rec := withRecorder(t)
	c, _ := Setup(t, OnServer(srv), ClientOptions(recOpt))
	seen := map[string]bool{}
	for inv, err := range c.Invoices.All(context.Background(), &InvoiceListParams{ListOptions: ListOptions{PageSize: 50}}) {
		require.NoError(t, err)
		seen[inv.ID] = true
		if len(seen) == 120 {
			srv.Advance(2 * time.Hour)
		}
	}
	assert.Len(t, seen, 350, "every invoice once")
	assert.Equal(t, 1, rec.count(http.MethodPost, "/auth/refresh", 200))
	assert.GreaterOrEqual(t, rec.count(http.MethodGet, "/invoices", 401), 1, "the server did refuse the old token")
}

func TestAtlastestBreakAndCancelLeaveNoGoroutine(t *testing.T) {
	verifyNoLeaks(t)
	c, _ := Setup(t, ServerOptions(atlastest.WithInvoices(500)))
	n := 0
	for _, err := range c.Invoices.All(context.Background(), nil, WithConcurrency(3)) {
		require.NoError(t, err)
		if n++; n == 150 {
			break
		}
	}
	assertNoIteratorGoroutine(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last error
	for _, err := range c.Invoices.All(ctx, nil) {
		if err != nil {
			last = err
			break
		}
		cancel()
	}
	assert.ErrorIs(t, last, context.Canceled)
	assertNoIteratorGoroutine(t)
}

package atlas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagesServer is an httptest list server whose pages answer(page) writes; it
// counts the requests it gets.
type pagesServer struct {
	srv      *httptest.Server
	requests atomic.Int32
}

func newPagesServer(t *testing.T, answer func(page int) string) *pagesServer {
	t.Helper()
	s := &pagesServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer(page)))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// ids renders items with the given ids.
func ids(list ...string) string {
	items := make([]string, len(list))
	for i, id := range list {
		items[i] = `{"id":"` + id + `"}`
	}
	return "[" + strings.Join(items, ",") + "]"
}

// pageOf renders the ids of page n of a list of total items, size a page.
func pageOf(n, size, total int) []string {
	var out []string
	for i := (n-1)*size + 1; i <= min(n*size, total); i++ {
		out = append(out, fmt.Sprintf("c-%d", i))
	}
	return out
}

// walk runs Companies.All to its end and returns the ids it yielded and the
// errors, failing the test if the iteration runs away.
func walk(t *testing.T, c *Client, params *CompanyListParams, opts ...AllOption) (got []string, errs []error) {
	t.Helper()
	for co, err := range c.Companies.All(context.Background(), params, opts...) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, co.ID)
		require.Less(t, len(got), 10_000, "the iteration runs away")
	}
	return got, errs
}

func TestAllEndsOnPagesThatDoNotAddUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// answer writes page n.
		answer func(n int) string
		opts   []AllOption
		// What the iteration yields before its error, the error's text, and
		// how many requests it took at most.
		wantItems    int
		wantErr      string
		wantRequests int32
	}{
		{"page missing", func(n int) string {
			return `{"items":` + ids(pageOf(n, 2, 100)...) + `,"total":100,"page_size":2,"has_next":true}`
		}, nil, 0, "asked for page 1, got a page without a number", 1},
		{"page missing on the only page", func(_ int) string {
			return `{"items":` + ids("c-1") + `,"total":1,"page_size":2,"has_next":false}`
		}, nil, 0, "got a page without a number", 1},
		{"page ignored: always page 1", func(int) string {
			return `{"items":` + ids("c-1", "c-2") + `,"total":100000,"page":1,"page_size":2,"has_next":true}`
		}, nil, 2, "asked for page 2, got page 1", 2},
		{"page ignored, with 8 pages at once", func(int) string {
			return `{"items":` + ids("c-1", "c-2") + `,"total":100000,"page":1,"page_size":2,"has_next":true}`
		}, []AllOption{WithConcurrency(8)}, 2, "asked for page 2, got page 1", 2},
		{"page echoed with the same items", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":2,"page":%d,"page_size":2,"has_next":true}`, ids("c-1", "c-2"), n)
		}, nil, 2, "claims a next page, but the 2 items so far make up the total of 2", 1},
		{"page echoed with the same items, the total a lie", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":100000,"page":%d,"page_size":2,"has_next":true}`, ids("c-2", "c-1"), n)
		}, []AllOption{WithConcurrency(8)}, 2, "page 2 holds the same items as page 1", 2},
		{"pages that cycle", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":100000,"page":%d,"page_size":2,"has_next":true}`, ids(pageOf(2-n%2, 2, 4)...), n)
		}, nil, 4, "page 3 holds the same items as page 1", 3},
		{"not the page asked for", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":100,"page":%d,"page_size":2,"has_next":true}`, ids(pageOf(n+1, 2, 100)...), n+1)
		}, nil, 0, "asked for page 1, got page 2", 1},
		{"has_next once total items came", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":5,"page":%d,"page_size":2,"has_next":true}`, ids(pageOf(n, 2, 5)...), n)
		}, nil, 5, "claims a next page, but the 5 items so far make up the total of 5", 3},
		{"has_next without a total", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"page":%d,"page_size":2,"has_next":true}`, ids(pageOf(n, 2, 100)...), n)
		}, nil, 2, "make up the total of 0", 1},
		{"empty page claiming a next one", func(n int) string {
			return fmt.Sprintf(`{"items":[],"total":10,"page":%d,"page_size":2,"has_next":true}`, n)
		}, nil, 0, "page 1 is empty but claims a next page", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newPagesServer(t, tt.answer)
			c, _ := Setup(t, OnURL(s.srv.URL), ClientOptions(WithTokens("tok", "")))
			got, errs := walk(t, c, &CompanyListParams{ListOptions: ListOptions{PageSize: 2}}, tt.opts...)
			require.Len(t, errs, 1, "one error ends the iteration")
			assert.ErrorIs(t, errs[0], ErrPagination)
			assert.Contains(t, errs[0].Error(), "atlas: GET /companies: broken pagination: ")
			assert.Contains(t, errs[0].Error(), tt.wantErr)
			assert.Len(t, got, tt.wantItems)
			assert.LessOrEqual(t, s.requests.Load(), tt.wantRequests, "requests")
		})
	}
}

// The pages before the first one asked for count towards the total.
func TestAllFromALaterPageCountsTheSkippedItems(t *testing.T) {
	t.Parallel()
	s := newPagesServer(t, func(n int) string {
		return fmt.Sprintf(`{"items":%s,"total":6,"page":%d,"page_size":2,"has_next":true}`, ids(pageOf(n, 2, 6)...), n)
	})
	c, _ := Setup(t, OnURL(s.srv.URL), ClientOptions(WithTokens("tok", "")))
	got, errs := walk(t, c, &CompanyListParams{ListOptions: ListOptions{Page: 3, PageSize: 2}})
	assert.Equal(t, []string{"c-5", "c-6"}, got)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrPagination)
	assert.EqualValues(t, 1, s.requests.Load())
}

// What is not a loop passes: an item seen again because another was inserted
// meanwhile (offset paging shifts), items without ids, a total that grows.
func TestAllToleratesPagesThatStillAdvance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(n int) string
		want   int
	}{
		{"an item shifted onto the next page", func(n int) string {
			pages := map[int][]string{1: {"c-1", "c-2"}, 2: {"c-2", "c-3"}, 3: {"c-4"}}
			return fmt.Sprintf(`{"items":%s,"total":5,"page":%d,"page_size":2,"has_next":%t}`, ids(pages[n]...), n, n < 3)
		}, 5},
		{"items without ids", func(n int) string {
			return fmt.Sprintf(`{"items":[{},{}],"total":6,"page":%d,"page_size":2,"has_next":%t}`, n, n < 3)
		}, 6},
		{"a total that grows", func(n int) string {
			return fmt.Sprintf(`{"items":%s,"total":%d,"page":%d,"page_size":2,"has_next":%t}`, ids(pageOf(n, 2, 8)...), 2*n+1, n, n < 4)
		}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newPagesServer(t, tt.answer)
			c, _ := Setup(t, OnURL(s.srv.URL), ClientOptions(WithTokens("tok", "")))
			got, errs := walk(t, c, &CompanyListParams{ListOptions: ListOptions{PageSize: 2}}, WithConcurrency(3))
			assert.Empty(t, errs)
			assert.Len(t, got, tt.want)
		})
	}
}

// A server that goes wrong in the middle of a walk with pages fetched in
// parallel: the iteration ends at the first bad page, the fetches on their
// way are cancelled, and no goroutine is left.
func TestAllWithConcurrencyEndsAtTheFirstBadPage(t *testing.T) {
	verifyNoLeaks(t)
	const size, total, ahead = 3, 3000, 4
	s := newPagesServer(t, func(n int) string {
		items := pageOf(n, size, total)
		if n >= 4 {
			items = pageOf(3, size, total) // page 3 again, under its new number
		}
		return fmt.Sprintf(`{"items":%s,"total":%d,"page":%d,"page_size":%d,"has_next":true}`, ids(items...), total, n, size)
	})
	c, _ := Setup(t, OnURL(s.srv.URL), ClientOptions(WithTokens("tok", "")))
	got, errs := walk(t, c, &CompanyListParams{ListOptions: ListOptions{PageSize: size}}, WithConcurrency(ahead))
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrPagination)
	assert.Contains(t, errs[0].Error(), "page 4 holds the same items as page 3")
	assert.Equal(t, pageOf(1, size*3, total), got, "pages 1 to 3, in order")
	assert.LessOrEqual(t, s.requests.Load(), int32(3+ahead), "nothing is asked for after the bad page")
	assertNoIteratorGoroutine(t)
}

func TestErrPaginationIsNotAnAPIError(t *testing.T) {
	t.Parallel()
	err := broken("/invoices", "page %d", 2)
	assert.ErrorIs(t, err, ErrPagination)
	var apiErr *Error
	assert.False(t, errors.As(err, &apiErr))
	assert.Equal(t, "atlas: GET /invoices: broken pagination: page 2", err.Error())
}

// BenchmarkPageGuard measures what All adds to each page of 100 invoices to
// tell that the pages add up: the page checks and the fingerprint of its ids.
//
//	go test -run '^$' -bench PageGuard -benchmem .
func BenchmarkPageGuard(b *testing.B) {
	const run = 1000 // pages a guard sees before a new walk starts
	p := &Page[Invoice]{Items: make([]Invoice, MaxPageSize), Total: 1 << 40, PageSize: MaxPageSize, HasNext: true}
	for i := range p.Items {
		p.Items[i].ID = fmt.Sprintf("4c5d6e7f-8091-4a2b-bc3d-%012d", i)
	}
	firsts := make([]string, run)
	for i := range firsts {
		firsts[i] = fmt.Sprintf("9a8b7c6d-5e4f-4321-8fed-%012d", i)
	}
	lo := ListOptions{Page: 1, PageSize: MaxPageSize}
	g := newPageGuard[Invoice]("/invoices", lo)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := i % run
		if n == 0 {
			g = newPageGuard[Invoice]("/invoices", lo)
		}
		p.Page, p.Items[0].ID = n+1, firsts[n]
		if err := g.check(n+1, p); err != nil {
			b.Fatal(err)
		}
		if err := g.overrun(n+1, p); err != nil {
			b.Fatal(err)
		}
	}
}

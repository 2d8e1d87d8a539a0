package atlas

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"sync"
)

// SortOrder is the direction of a sorted list.
type SortOrder string

// Sort orders accepted by every list.
const (
	SortAsc  SortOrder = "asc"
	SortDesc SortOrder = "desc"
)

// MaxPageSize is the largest page the API serves; larger sizes are clamped.
const MaxPageSize = 100

// ListOptions are the paging parameters and the sort direction every list
// accepts. The field to sort by depends on the resource: it is the SortBy of
// each <Resource>ListParams, of a type of its own (InvoiceSortBy, ...), so
// that another resource's key does not compile. Zero values leave the
// server's defaults (page 1, 50 a page, created_at desc); All asks for
// MaxPageSize a page unless PageSize is set. A negative Page or PageSize
// fails the call with ErrInvalidParams before any request.
type ListOptions struct {
	Page      int
	PageSize  int
	SortOrder SortOrder
}

// check refuses options that would not reach the wire as given: a negative
// page or page size (zero is the server's default).
func (o ListOptions) check() error {
	if o.Page < 0 {
		return fmt.Errorf("page: %d is not a page number (they start at 1; 0 is the default)", o.Page)
	}
	if o.PageSize < 0 {
		return fmt.Errorf("page_size: %d is negative (0 is the default)", o.PageSize)
	}
	return nil
}

// values adds the options to q.
func (o ListOptions) values(q url.Values) {
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(min(o.PageSize, MaxPageSize)))
	}
	if o.SortOrder != "" {
		q.Set("sort_order", string(o.SortOrder))
	}
}

// Page is one page of a list.
type Page[T any] struct {
	Items    []T  `json:"items"`
	Total    int  `json:"total"`
	Page     int  `json:"page"`
	PageSize int  `json:"page_size"`
	HasNext  bool `json:"has_next"`
}

// listPage fetches one page of the collection that req (a GET; method may be
// left empty) describes. req.Query holds the resource's own filters and may be nil.
func listPage[T any](ctx context.Context, c *Client, req Request, lo ListOptions, opts []RequestOption) (*Page[T], error) {
	return fetchPage[T](ctx, c, req, lo, configOf(opts))
}

func fetchPage[T any](ctx context.Context, c *Client, req Request, lo ListOptions, cfg requestConfig) (*Page[T], error) {
	q := make(url.Values, len(req.Query)+4)
	for k, v := range req.Query {
		q[k] = v
	}
	lo.values(q)
	req.Method, req.Query = http.MethodGet, q
	p := new(Page[T])
	if err := c.do(ctx, req, cfg, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ErrPagination is wrapped by the error that ends an All iteration when the
// server's pages do not add up, so that following them would loop forever or
// repeat items: a page that is not the one asked for (or names none), a page
// holding the same items as an earlier one, an empty page that claims a next
// one, or a next page claimed once the total has come. The error comes after
// at most one request beyond the last good page; with WithConcurrency, the
// pages already on their way when it shows are cancelled.
var ErrPagination = errors.New("atlas: broken pagination")

// listAll walks every page of the collection that req describes, starting at
// lo.Page. While the caller works through one page, the next is already on
// its way (with WithConcurrency, up to n pages, once the server has shown
// that it advances). Breaking out of the loop, or ctx ending, cancels what is
// in flight and waits for it, so no goroutine outlives the loop. Pages that
// do not add up (see ErrPagination) end the iteration with an error rather
// than looping forever.
func listAll[T any](ctx context.Context, c *Client, req Request, lo ListOptions, opts []AllOption) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if ctx == nil {
			yield(nil, nilContext(http.MethodGet, req.Path))
			return
		}
		cfg := configOf(opts)
		if lo.Page < 1 {
			lo.Page = 1
		}
		if lo.PageSize <= 0 || lo.PageSize > MaxPageSize {
			lo.PageSize = MaxPageSize
		}
		ahead := max(cfg.concurrency, 1)
		dst := cfg.response
		cfg.response = nil

		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()

		type result struct {
			page *Page[T]
			resp *Response
			err  error
		}
		type pending struct {
			number int
			ch     chan result
		}
		fetch := func(number int) pending {
			ch := make(chan result, 1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r result
				pc := cfg
				pc.response = &r.resp
				l := lo
				l.Page = number
				r.page, r.err = fetchPage[T](ctx, c, req, l, pc)
				ch <- r
			}()
			return pending{number: number, ch: ch}
		}

		guard := newPageGuard[T](req.Path, lo)
		var queue []pending
		want, next := lo.Page, lo.Page+1
		var r result
		pc := cfg
		pc.response = &r.resp
		r.page, r.err = fetchPage[T](ctx, c, req, lo, pc)
		for {
			if r.err != nil {
				yield(nil, r.err)
				return
			}
			if dst != nil {
				*dst = r.resp
			}
			p := r.page
			if err := guard.check(want, p); err != nil {
				yield(nil, err)
				return
			}
			// A next page claimed once the total has come is not fetched:
			// the items are yielded, then the error.
			overrun := guard.overrun(want, p)
			if p.HasNext && overrun == nil {
				// Until a page after the first has come as asked, the server
				// has not shown that it honours page: one page at a time, so
				// that a server that ignores it costs one extra request.
				limit := 1
				if want > lo.Page {
					limit = ahead
				}
				last := lastPage(p, lo.PageSize)
				for len(queue) < limit && next > 0 && (len(queue) == 0 || next <= last) {
					queue = append(queue, fetch(next))
					next++ // past MaxInt it turns negative, and no page is fetched
				}
			}
			for i := range p.Items {
				if err := ctx.Err(); err != nil {
					yield(nil, &opError{method: http.MethodGet, path: req.Path, err: err})
					return
				}
				if !yield(&p.Items[i], nil) {
					return
				}
			}
			if overrun != nil {
				yield(nil, overrun)
				return
			}
			if !p.HasNext {
				return
			}
			if len(queue) == 0 {
				yield(nil, broken(req.Path, "page %d claims a next page after the largest page number", want))
				return
			}
			head := queue[0]
			queue = queue[1:]
			select {
			case r = <-head.ch:
			case <-ctx.Done():
				yield(nil, &opError{method: http.MethodGet, path: req.Path, err: ctx.Err()})
				return
			}
			want = head.number
		}
	}
}

// broken returns an error wrapping ErrPagination for the list at path.
func broken(path, format string, args ...any) error {
	return &opError{method: http.MethodGet, path: path, err: fmt.Errorf("%w: %s", ErrPagination, fmt.Sprintf(format, args...))}
}

// checkAdvance refuses a page that is not the one asked for (a page without
// a number included), or that claims more pages while holding no items:
// either would make the iteration loop.
func checkAdvance[T any](path string, want int, p *Page[T]) error {
	if p.Page != want {
		if p.Page == 0 {
			return broken(path, "asked for page %d, got a page without a number: the server does not advance as asked", want)
		}
		return broken(path, "asked for page %d, got page %d: the server does not advance", want, p.Page)
	}
	if p.HasNext && len(p.Items) == 0 {
		return broken(path, "page %d is empty but claims a next page: the server does not advance", want)
	}
	return nil
}

// pageGuard checks, page after page, that the pages of one iteration add up.
// It keeps a fingerprint of each page's item ids, not the ids themselves, so
// its memory grows by a few bytes a page however large the items.
type pageGuard[T any] struct {
	path     string
	start    int   // the first page asked for
	size     int   // the page size asked for
	received int   // items before the start page, plus those received since
	idField  []int // index of T's string ID field; nil when T has none
	seed     maphash.Seed
	pages    map[uint64]int // fingerprint of a page's ids -> the page's number
}

func newPageGuard[T any](path string, lo ListOptions) *pageGuard[T] {
	g := &pageGuard[T]{path: path, start: lo.Page, size: lo.PageSize, seed: maphash.MakeSeed()}
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Struct {
		if f, ok := t.FieldByName("ID"); ok && f.Type.Kind() == reflect.String {
			g.idField = f.Index
		}
	}
	return g
}

// check refuses page number want, p, when it is not the page asked for (see
// checkAdvance) or holds the same items as an earlier page.
func (g *pageGuard[T]) check(want int, p *Page[T]) error {
	if err := checkAdvance(g.path, want, p); err != nil {
		return err
	}
	if fp, ok := g.fingerprint(p.Items); ok {
		if earlier, seen := g.pages[fp]; seen {
			return broken(g.path, "page %d holds the same items as page %d: the server does not advance", want, earlier)
		}
		if g.pages == nil {
			g.pages = make(map[uint64]int)
		}
		g.pages[fp] = want
	}
	if want == g.start {
		// The pages before the first one asked for count towards the total.
		size := max(g.size, 1)
		if p.PageSize > 0 && p.PageSize <= MaxPageSize {
			size = p.PageSize
		}
		if g.start-1 > math.MaxInt/size {
			g.received = math.MaxInt
		} else {
			g.received = (g.start - 1) * size
		}
	}
	g.received += min(len(p.Items), math.MaxInt-g.received)
	return nil
}

// overrun returns the error for a page that claims a next page although the
// items received so far (check has counted p's) make up the total.
func (g *pageGuard[T]) overrun(want int, p *Page[T]) error {
	if p.HasNext && g.received >= p.Total {
		return broken(g.path, "page %d claims a next page, but the %d items so far make up the total of %d", want, g.received, p.Total)
	}
	return nil
}

// fingerprint hashes the ids of items, in any order, into one number; ok is
// false when they have none to hash (T has no ID field, or every id is empty).
func (g *pageGuard[T]) fingerprint(items []T) (fp uint64, ok bool) {
	if g.idField == nil {
		return 0, false
	}
	n := uint64(0)
	for i := range items {
		id := reflect.ValueOf(&items[i]).Elem().FieldByIndex(g.idField).String()
		if id == "" {
			continue
		}
		fp += maphash.String(g.seed, id) // a sum: the order of the items does not matter
		n++
	}
	return fp ^ n*0x9e3779b97f4a7c15, n > 0
}

// lastPage estimates the number of the last page from the total, for
// fetching several pages at once; the has_next of each page still decides
// where the iteration ends.
func lastPage[T any](p *Page[T], requested int) int {
	size := p.PageSize
	if size <= 0 {
		size = requested
	}
	if p.Total <= 0 || size <= 0 {
		return 0
	}
	last := p.Total / size // rounded up below, without overflowing near MaxInt
	if p.Total%size != 0 {
		last++
	}
	return last
}

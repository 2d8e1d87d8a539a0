package atlas

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
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
// MaxPageSize a page unless PageSize is set.
type ListOptions struct {
	Page      int
	PageSize  int
	SortOrder SortOrder
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
// left empty) describes. req.query holds the resource's own filters and may be nil.
func listPage[T any](ctx context.Context, c *Client, req request, lo ListOptions, opts []RequestOption) (*Page[T], error) {
	return fetchPage[T](ctx, c, req, lo, newRequestConfig(opts))
}

func fetchPage[T any](ctx context.Context, c *Client, req request, lo ListOptions, cfg requestConfig) (*Page[T], error) {
	q := make(url.Values, len(req.query)+4)
	for k, v := range req.query {
		q[k] = v
	}
	lo.values(q)
	req.method, req.query = http.MethodGet, q
	p := new(Page[T])
	if err := c.do(ctx, req, cfg, p); err != nil {
		return nil, err
	}
	return p, nil
}

// listAll walks every page of the collection that req describes, starting at
// lo.Page. While the caller works through one page, the next is already on
// its way (with WithConcurrency, up to n pages). Breaking out of the loop, or
// ctx ending, cancels what is in flight and waits for it, so no goroutine
// outlives the loop. A page that does not advance (a server ignoring `page`)
// ends the iteration with an error rather than looping forever.
func listAll[T any](ctx context.Context, c *Client, req request, lo ListOptions, opts []RequestOption) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if ctx == nil {
			yield(nil, nilContext(http.MethodGet, req.path))
			return
		}
		cfg := newRequestConfig(opts)
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
			if err := checkAdvance(req.path, want, p); err != nil {
				yield(nil, err)
				return
			}
			if p.HasNext {
				last := lastPage(p, lo.PageSize)
				for len(queue) < ahead && (len(queue) == 0 || next <= last) {
					queue = append(queue, fetch(next))
					next++
				}
			}
			for i := range p.Items {
				if err := ctx.Err(); err != nil {
					yield(nil, &opError{method: http.MethodGet, path: req.path, err: err})
					return
				}
				if !yield(&p.Items[i], nil) {
					return
				}
			}
			if !p.HasNext {
				return
			}
			head := queue[0]
			queue = queue[1:]
			select {
			case r = <-head.ch:
			case <-ctx.Done():
				yield(nil, &opError{method: http.MethodGet, path: req.path, err: ctx.Err()})
				return
			}
			want = head.number
		}
	}
}

// checkAdvance refuses a page that is not the one asked for, or that claims
// more pages while holding no items: either would make the iteration loop.
func checkAdvance[T any](path string, want int, p *Page[T]) error {
	if p.Page != 0 && p.Page != want {
		return &opError{method: http.MethodGet, path: path, err: fmt.Errorf("asked for page %d, got page %d: the server does not advance", want, p.Page)}
	}
	if p.HasNext && len(p.Items) == 0 {
		return &opError{method: http.MethodGet, path: path, err: fmt.Errorf("page %d is empty but claims a next page: the server does not advance", want)}
	}
	return nil
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

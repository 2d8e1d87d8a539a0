package atlas

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
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

// ListOptions are the paging and sorting parameters every list accepts.
// Zero values leave the server's defaults (page 1, 50 a page, created_at desc).
type ListOptions struct {
	Page      int
	PageSize  int
	SortBy    string
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
	if o.SortBy != "" {
		q.Set("sort_by", o.SortBy)
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
	q := url.Values{}
	for k, v := range req.query {
		q[k] = v
	}
	lo.values(q)
	req.method, req.query = http.MethodGet, q
	return call[Page[T]](ctx, c, req, opts)
}

// listAll walks every page of the collection that req describes, starting at lo.Page.
func listAll[T any](ctx context.Context, c *Client, req request, lo ListOptions, opts []RequestOption) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if lo.Page < 1 {
			lo.Page = 1
		}
		if lo.PageSize == 0 {
			lo.PageSize = MaxPageSize
		}
		for {
			p, err := listPage[T](ctx, c, req, lo, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Items {
				if !yield(&p.Items[i], nil) {
					return
				}
			}
			if !p.HasNext {
				return
			}
			lo.Page++
		}
	}
}

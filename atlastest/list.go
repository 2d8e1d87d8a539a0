package atlastest

import (
	"math"
	"slices"
)

// Lists: every collection answers with the envelope {items, total, page, page_size,
// has_next}. A list endpoint reads its parameters with readList, takes the sorted view of
// its table (table.sortedBy, cached until a write) under the store lock, and cuts the page
// with paginate, filtering as it walks. Sorting is by the sort_by field with ties broken by
// id, so a descending list is exactly the ascending one reversed and paging through a
// list that does not change yields every item once.

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// listParams are the paging and sorting parameters of a list.
type listParams struct {
	page, pageSize int
	desc           bool
}

// listPage is the contract's list envelope.
type listPage[W any] struct {
	Items    []W  `json:"items"`
	Total    int  `json:"total"`
	Page     int  `json:"page"`
	PageSize int  `json:"page_size"`
	HasNext  bool `json:"has_next"`
}

// readList reads page, page_size, sort_by (one of keys; the first is the default) and
// sort_order (default desc), recording problems in q.
func readList[T any](q *query, keys []sortKey[T]) (listParams, sortKey[T]) {
	p := listParams{
		page:     q.integer("page", 1, 0, 1),
		pageSize: q.integer("page_size", 1, maxPageSize, defaultPageSize),
		desc:     true,
	}
	if order, ok := q.str("sort_order", oneOf(sortOrders...)); ok {
		p.desc = order == "desc"
	}
	key := keys[0]
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	if name, ok := q.str("sort_by", oneOf(names...)); ok {
		key = keys[slices.Index(names, name)]
	}
	return p, key
}

// paginate cuts page p out of view (records in ascending order; walked backwards when p
// is descending), keeping those match accepts (nil: all), and renders them.
func paginate[T, W any](view []*T, p listParams, match func(*T) bool, render func(*T) W) listPage[W] {
	out := listPage[W]{Items: []W{}, Page: p.page, PageSize: p.pageSize}
	// Index among the matches of the page's first item, saturated so that an absurd page
	// number gives an empty page rather than an overflow.
	first := math.MaxInt - p.pageSize
	if p.page-1 < first/p.pageSize {
		first = (p.page - 1) * p.pageSize
	}
	at := func(i int) *T {
		if p.desc {
			return view[len(view)-1-i]
		}
		return view[i]
	}
	if match == nil {
		out.Total = len(view)
		for i := first; i < len(view) && i < first+p.pageSize; i++ {
			out.Items = append(out.Items, render(at(i)))
		}
	} else {
		for i := range view {
			v := at(i)
			if !match(v) {
				continue
			}
			if out.Total >= first && out.Total < first+p.pageSize {
				out.Items = append(out.Items, render(v))
			}
			out.Total++
		}
	}
	out.HasNext = first+p.pageSize < out.Total
	return out
}

package atlas

import (
	"context"
	"encoding"
	"iter"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
)

// The generic helpers below serve every resource service: each service
// method names its route, params and result type and hands them to one of
// these, which build the request for the pipeline in client.go.

// checker is implemented by params types that can spot, without a round trip,
// a request the server would certainly refuse.
type checker interface {
	check() error
}

// listOf fetches one page of the collection at path. params is a
// *<Resource>ListParams (nil for none); see queryOf.
func listOf[T any](ctx context.Context, c *Client, path string, params any, opts []RequestOption) (*Page[T], error) {
	lo, q := queryOf(params)
	return listPage[T](ctx, c, request{path: path, query: q, company: companyRequired}, lo, opts)
}

// allOf iterates over the whole collection at path, page by page.
func allOf[T any](ctx context.Context, c *Client, path string, params any, opts []RequestOption) iter.Seq2[*T, error] {
	lo, q := queryOf(params)
	return listAll[T](ctx, c, request{path: path, query: q, company: companyRequired}, lo, opts)
}

// create POSTs params to the collection at path.
func create[T, P any](ctx context.Context, c *Client, path string, params *P, opts []RequestOption) (*T, error) {
	op := http.MethodPost + " " + path
	if err := checkParams(op, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, request{method: http.MethodPost, path: path, body: params, company: companyRequired}, opts)
}

// getItem fetches the item id of the collection at path.
func getItem[T any](ctx context.Context, c *Client, path, id string, opts []RequestOption) (*T, error) {
	if err := checkID(http.MethodGet+" "+path+"/{id}", id); err != nil {
		return nil, err
	}
	return call[T](ctx, c, request{method: http.MethodGet, path: path + "/" + url.PathEscape(id), company: companyOptional}, opts)
}

// update PATCHes the item id of the collection at path with params, whose
// unset (nil) fields stay off the wire.
func update[T, P any](ctx context.Context, c *Client, path, id string, params *P, opts []RequestOption) (*T, error) {
	op := http.MethodPatch + " " + path + "/{id}"
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	if err := checkParams(op, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, request{method: http.MethodPatch, path: path + "/" + url.PathEscape(id), body: params, company: companyOptional}, opts)
}

// action POSTs to the action route path/{id}/verb, which takes no body.
func action[T any](ctx context.Context, c *Client, path, id, verb string, opts []RequestOption) (*T, error) {
	if err := checkID(http.MethodPost+" "+path+"/{id}/"+verb, id); err != nil {
		return nil, err
	}
	return call[T](ctx, c, request{method: http.MethodPost, path: path + "/" + url.PathEscape(id) + "/" + verb, company: companyOptional}, opts)
}

// actionWith POSTs params to the action route path/{id}/verb.
func actionWith[T, P any](ctx context.Context, c *Client, path, id, verb string, params *P, opts []RequestOption) (*T, error) {
	op := http.MethodPost + " " + path + "/{id}/" + verb
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	if err := checkParams(op, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, request{method: http.MethodPost, path: path + "/" + url.PathEscape(id) + "/" + verb, body: params, company: companyOptional}, opts)
}

// report GETs the report at path; params' url-tagged fields are its query.
func report[T, P any](ctx context.Context, c *Client, path string, params *P, opts []RequestOption) (*T, error) {
	if err := checkParams(http.MethodGet+" "+path, params); err != nil {
		return nil, err
	}
	_, q := queryOf(params)
	return call[T](ctx, c, request{method: http.MethodGet, path: path, query: q, company: companyRequired}, opts)
}

// checkID refuses an id that cannot name an item: empty, or a dot segment
// that would make the path name another route.
func checkID(op, id string) error {
	switch id {
	case "":
		return invalidParams(op, "empty id")
	case ".", "..":
		return invalidParams(op, "invalid id %q", id)
	}
	return nil
}

// checkParams refuses nil params and runs their check, if they have one.
func checkParams[P any](op string, params *P) error {
	if params == nil {
		return invalidParams(op, "params are nil")
	}
	if c, ok := any(params).(checker); ok {
		if err := c.check(); err != nil {
			return invalidParams(op, "%v", err)
		}
	}
	return nil
}

var listOptionsType = reflect.TypeFor[ListOptions]()

// queryOf splits a params struct (or a pointer to one, nil for none) into the
// ListOptions it embeds, if any, and its query: every other field tagged
// `url:"name"` whose value is not zero becomes the query parameter name.
// Strings (and string enums), integers, bools, pointers to them and
// encoding.TextMarshaler values (Date) are supported; the tests check that
// every params type uses only these.
func queryOf(params any) (ListOptions, url.Values) {
	var lo ListOptions
	q := url.Values{}
	v := reflect.ValueOf(params)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return lo, q
	}
	v = reflect.Indirect(v)
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous && f.Type == listOptionsType {
			lo = fv.Interface().(ListOptions)
			continue
		}
		name := f.Tag.Get("url")
		if name == "" || fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Pointer {
			fv = fv.Elem()
		}
		if m, ok := fv.Interface().(encoding.TextMarshaler); ok {
			if b, err := m.MarshalText(); err == nil {
				q.Set(name, string(b))
			}
			continue
		}
		switch fv.Kind() {
		case reflect.String:
			q.Set(name, fv.String())
		case reflect.Bool:
			q.Set(name, strconv.FormatBool(fv.Bool()))
		case reflect.Int, reflect.Int64, reflect.Int32:
			q.Set(name, strconv.FormatInt(fv.Int(), 10))
		}
	}
	return lo, q
}

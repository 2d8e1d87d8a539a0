package atlas

import (
	"context"
	"encoding"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// The generic helpers below serve every resource service: each service
// method names its route, params and result type and hands them to one of
// these, which build the request for the pipeline in pipeline.go.

// checker is implemented by params types that can spot, without a round trip,
// a request the server would certainly refuse.
type checker interface {
	check() error
}

// Each helper takes the name of the SDK method it serves ("Invoices.Get",
// for a ClientTrace) and its route template ("/invoices/{id}"), in which
// itemPath puts the item's id.

// listOf fetches one page of the collection at path. params is a
// *<Resource>ListParams (nil for none); see queryOf.
func listOf[T any](ctx context.Context, c *Client, op, path string, params any, opts []RequestOption) (*Page[T], error) {
	return listIn[T](ctx, c, Request{Path: path, Route: path, Company: CompanyRequired, op: op}, params, opts)
}

// allOf iterates over the whole collection at path, page by page.
func allOf[T any](ctx context.Context, c *Client, op, path string, params any, opts []AllOption) iter.Seq2[*T, error] {
	return allIn[T](ctx, c, Request{Path: path, Route: path, Company: CompanyRequired, op: op}, params, opts)
}

// listIn is listOf for the collection that req (path and company scope)
// describes. Params that cannot be sent fail before any request.
func listIn[T any](ctx context.Context, c *Client, req Request, params any, opts []RequestOption) (*Page[T], error) {
	lo, q, err := queryOf(params)
	if err != nil {
		return nil, invalidParams(http.MethodGet+" "+req.Path, "%v", err)
	}
	req.Query = q
	return listPage[T](ctx, c, req, lo, opts)
}

// allIn is allOf for the collection that req describes. Params that cannot
// be sent end the iteration with their error before any request.
func allIn[T any](ctx context.Context, c *Client, req Request, params any, opts []AllOption) iter.Seq2[*T, error] {
	lo, q, err := queryOf(params)
	if err != nil {
		err = invalidParams(http.MethodGet+" "+req.Path, "%v", err)
		return func(yield func(*T, error) bool) { yield(nil, err) }
	}
	req.Query = q
	return listAll[T](ctx, c, req, lo, opts)
}

// create POSTs params to the collection at path.
func create[T, P any](ctx context.Context, c *Client, op, path string, params *P, opts []PostOption) (*T, error) {
	if err := checkParams(http.MethodPost+" "+path, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, Request{Method: http.MethodPost, Path: path, Route: path, Body: params, Company: CompanyRequired, op: op}, configOf(opts))
}

// getItem fetches the item id at route ("/invoices/{id}").
func getItem[T any](ctx context.Context, c *Client, op, route, id string, opts []RequestOption) (*T, error) {
	if err := checkID(http.MethodGet+" "+route, id); err != nil {
		return nil, err
	}
	return call[T](ctx, c, Request{Method: http.MethodGet, Route: route, id: id, Company: CompanyOptional, op: op}, configOf(opts))
}

// update PATCHes the item id at route with params, whose unset (nil) fields
// stay off the wire.
func update[T, P any](ctx context.Context, c *Client, op, route, id string, params *P, opts []RequestOption) (*T, error) {
	name := http.MethodPatch + " " + route
	if err := checkID(name, id); err != nil {
		return nil, err
	}
	if err := checkParams(name, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, Request{Method: http.MethodPatch, Route: route, id: id, Body: params, Company: CompanyOptional, op: op}, configOf(opts))
}

// action POSTs to the action route ("/invoices/{id}/send") of the item id,
// which takes no body.
func action[T any](ctx context.Context, c *Client, op, route, id string, opts []PostOption) (*T, error) {
	if err := checkID(http.MethodPost+" "+route, id); err != nil {
		return nil, err
	}
	return call[T](ctx, c, Request{Method: http.MethodPost, Route: route, id: id, Company: CompanyOptional, op: op}, configOf(opts))
}

// actionWith POSTs params to the action route of the item id.
func actionWith[T, P any](ctx context.Context, c *Client, op, route, id string, params *P, opts []PostOption) (*T, error) {
	name := http.MethodPost + " " + route
	if err := checkID(name, id); err != nil {
		return nil, err
	}
	if err := checkParams(name, params); err != nil {
		return nil, err
	}
	return call[T](ctx, c, Request{Method: http.MethodPost, Route: route, id: id, Body: params, Company: CompanyOptional, op: op}, configOf(opts))
}

// report GETs the report at path; params' url-tagged fields are its query.
func report[T, P any](ctx context.Context, c *Client, op, path string, params *P, opts []RequestOption) (*T, error) {
	name := http.MethodGet + " " + path
	if err := checkParams(name, params); err != nil {
		return nil, err
	}
	_, q, err := queryOf(params)
	if err != nil {
		return nil, invalidParams(name, "%v", err)
	}
	return call[T](ctx, c, Request{Method: http.MethodGet, Path: path, Route: path, Query: q, Company: CompanyRequired, op: op}, configOf(opts))
}

// itemPath is prefix and route with id, escaped, in place of its "{id}",
// built as one string.
func itemPath(prefix, route, id string) string {
	before, after, _ := strings.Cut(route, "{id}")
	return prefix + before + url.PathEscape(id) + after
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

// checkParams refuses nil params, runs their check, if they have one, and
// refuses a date in the body that could not be sent (see checkBodyDates).
func checkParams[P any](op string, params *P) error {
	if params == nil {
		return invalidParams(op, "params are nil")
	}
	if c, ok := any(params).(checker); ok {
		if err := c.check(); err != nil {
			return invalidParams(op, "%v", err)
		}
	}
	if err := checkBodyDates(reflect.ValueOf(params), ""); err != nil {
		return invalidParams(op, "%v", err)
	}
	return nil
}

var dateType = reflect.TypeFor[Date]()

// checkDate refuses a Date that is not a calendar date, the zero Date
// included; name is its field on the wire.
func checkDate(name string, d Date) error {
	switch {
	case d.IsZero():
		return fmt.Errorf("%s: invalid date %s: a date is required", name, d)
	case !d.Valid():
		return fmt.Errorf("%s: invalid date %s: not a calendar date", name, d)
	}
	return nil
}

// checkBodyDates walks the JSON-encoded fields of v (params, their lines,
// their addresses) and refuses every Date that would not encode: a Date field
// is always sent, so its zero value is a missing required date, and a *Date
// that is set must point to a calendar date. Without this, json.Marshal
// would fail the call with an encoding error instead of ErrInvalidParams.
// path is v's place in the body, for the error.
func checkBodyDates(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkBodyDates(v.Elem(), path)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkBodyDates(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == dateType {
			return checkDate(path, v.Interface().(Date))
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue // not in the body (a url field; decimal's and time's insides)
			}
			if path != "" {
				name = path + "." + name
			}
			if err := checkBodyDates(v.Field(i), name); err != nil {
				return err
			}
		}
	}
	return nil
}

var listOptionsType = reflect.TypeFor[ListOptions]()

// queryOf splits a params struct (or a pointer to one, nil for none) into the
// ListOptions it embeds, if any, and its query: every other field is tagged
// `url:"name"`, and when its value is not zero it becomes the query parameter
// name. Strings (and string enums), integers, bools, pointers to them and
// encoding.TextMarshaler values (Date) are supported. Nothing is dropped in
// silence: a field without a url tag or of another type, a value that does
// not encode (an impossible Date) and ListOptions out of range are errors.
func queryOf(params any) (ListOptions, url.Values, error) {
	var lo ListOptions
	q := url.Values{}
	v := reflect.ValueOf(params)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return lo, q, nil
	}
	v = reflect.Indirect(v)
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous && f.Type == listOptionsType {
			lo = fv.Interface().(ListOptions)
			if err := lo.check(); err != nil {
				return lo, nil, err
			}
			continue
		}
		name := f.Tag.Get("url")
		if name == "" {
			return lo, nil, fmt.Errorf("field %s has no url tag, so it cannot be sent", f.Name)
		}
		if fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Pointer {
			fv = fv.Elem()
		}
		if d, ok := fv.Interface().(Date); ok {
			if err := checkDate(name, d); err != nil {
				return lo, nil, err
			}
		}
		if m, ok := fv.Interface().(encoding.TextMarshaler); ok {
			b, err := m.MarshalText()
			if err != nil {
				return lo, nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "atlas: "))
			}
			q.Set(name, string(b))
			continue
		}
		switch fv.Kind() {
		case reflect.String:
			q.Set(name, fv.String())
		case reflect.Bool:
			q.Set(name, strconv.FormatBool(fv.Bool()))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			q.Set(name, strconv.FormatInt(fv.Int(), 10))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			q.Set(name, strconv.FormatUint(fv.Uint(), 10))
		default:
			return lo, nil, fmt.Errorf("%s: a %s cannot be sent in a query", name, fv.Type())
		}
	}
	return lo, q, nil
}

package atlasotel

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	atlas "github.com/atlas-accounting/atlas-go"
)

// classes are the core's sentinel errors and the names error.type gives
// them, checked in this order.
var classes = []struct {
	err  error
	name string
}{
	{atlas.ErrRateLimited, "rate_limited"},
	{atlas.ErrNotFound, "not_found"},
	{atlas.ErrValidation, "validation"},
	{atlas.ErrConflict, "conflict"},
	{atlas.ErrUnauthorized, "unauthorized"},
	{atlas.ErrForbidden, "forbidden"},
	{atlas.ErrBadRequest, "bad_request"},
	{atlas.ErrServer, "server_error"},
	{atlas.ErrCrossOriginRedirect, "cross_origin_redirect"},
	{atlas.ErrInvalidConfig, "invalid_config"},
}

// corePath is the import path of the core package, whose wrappers of other
// errors error.type looks through.
var corePath = reflect.TypeFor[atlas.Error]().PkgPath()

// errorType is the error.type of err: the context's error when err is one
// ("context_canceled", "deadline_exceeded"), else the name of its class
// sentinel ("rate_limited", "not_found"), else its Go type, looking through
// the wrappers of fmt.Errorf and of the core ("*url.Error").
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "context_canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if p := t.PkgPath(); p != corePath && p != "fmt" {
			return fmt.Sprintf("%T", e)
		}
	}
	return fmt.Sprintf("%T", err)
}

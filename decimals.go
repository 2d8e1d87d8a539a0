package atlas

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// An answer's money is bounded as a webhook's is (maxAmountExponent): a
// decimal such as 1e999999999 decodes in a few bytes, but printing it, or
// comparing it with another amount, would take a gigabyte. checkDecimals
// finds such a decimal in what an answer decoded to, without touching its
// digits, so the call fails instead of handing it on.

var decimalType = reflect.TypeFor[decimal.Decimal]()

// plans caches, per type, where a value of it may hold a decimal, so that an
// answer costs a walk over its money only.
var plans sync.Map // reflect.Type -> *plan

// plan is where a type may hold a decimal.
type plan struct {
	holds  bool        // a value of the type may hold a decimal
	fields []planField // for a struct: its fields that may
}

type planField struct {
	index int
	name  string // as encoding/json names the member; "" for an embedded struct
}

func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := &plan{holds: holdsDecimal(t, map[reflect.Type]bool{})}
	if p.holds && t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			if name, ok := jsonName(f); ok && holdsDecimal(f.Type, map[reflect.Type]bool{}) {
				p.fields = append(p.fields, planField{index: i, name: name})
			}
		}
	}
	plans.Store(t, p)
	return p
}

// checkDecimals returns an error naming (by its JSON path, such as
// items[2].lines[0].amount) the first decimal in v whose exponent is out of
// bounds, or nil. v is what an answer was decoded into.
func checkDecimals(v any) error {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !planOf(rv.Type()).holds {
		return nil
	}
	bad := findBadDecimal(rv)
	if bad == nil {
		return nil
	}
	slices.Reverse(bad.path)
	name := strings.TrimPrefix(strings.Join(bad.path, ""), ".")
	if name == "" {
		name = "the answer"
	}
	return fmt.Errorf("%s: decimal exponent %d is out of range (at most %d either way)", name, bad.exp, maxAmountExponent)
}

// badDecimal is a decimal out of bounds; path holds its segments (".name",
// "[2]") from the innermost out.
type badDecimal struct {
	path []string
	exp  int64
}

func findBadDecimal(v reflect.Value) *badDecimal {
	if v.Type() == decimalType {
		if exp := exponent(v); exp > maxAmountExponent || exp < -maxAmountExponent {
			return &badDecimal{exp: exp}
		}
		return nil
	}
	p := planOf(v.Type())
	if !p.holds {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return findBadDecimal(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad := findBadDecimal(v.Index(i)); bad != nil {
				bad.path = append(bad.path, "["+strconv.Itoa(i)+"]")
				return bad
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if bad := findBadDecimal(it.Value()); bad != nil {
				bad.path = append(bad.path, "["+strconv.Quote(fmt.Sprint(it.Key()))+"]")
				return bad
			}
		}
	case reflect.Struct:
		for _, f := range p.fields {
			if bad := findBadDecimal(v.Field(f.index)); bad != nil {
				if f.name != "" {
					bad.path = append(bad.path, "."+f.name)
				}
				return bad
			}
		}
	}
	return nil
}

// exponent is the exponent of v, a decimal.Decimal. One reached through an
// unexported embedded struct cannot be handed to its method (reflect refuses),
// so its exponent is read from the field decimal keeps it in.
func exponent(v reflect.Value) int64 {
	switch {
	case v.CanAddr() && v.CanInterface():
		return int64(v.Addr().Interface().(*decimal.Decimal).Exponent())
	case v.CanInterface():
		return int64(v.Interface().(decimal.Decimal).Exponent())
	}
	if f := v.FieldByName("exp"); f.IsValid() && f.Kind() == reflect.Int32 {
		return f.Int()
	}
	return 0
}

// jsonName is the name encoding/json gives field f's member: "" for an
// embedded struct, whose fields are promoted; ok is false for a field JSON
// never sets.
func jsonName(f reflect.StructField) (name string, ok bool) {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "-" {
		return "", false
	}
	if f.Anonymous && tag == "" {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			return "", true
		}
	}
	if !f.IsExported() {
		return "", false
	}
	if tag == "" {
		tag = f.Name
	}
	return tag, true
}

// holdsDecimal reports whether a value of type t may hold a decimal
// somewhere within it; an interface may hold anything.
func holdsDecimal(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == decimalType {
		return true
	}
	if seen[t] {
		return false // a cycle: what it holds is found along another branch
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return holdsDecimal(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if _, ok := jsonName(t.Field(i)); ok && holdsDecimal(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

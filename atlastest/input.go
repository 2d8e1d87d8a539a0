package atlastest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/shopspring/decimal"
)

// maxBodyBytes caps a request body; a larger one gets 400.
const maxBodyBytes = 1 << 20

// object is one JSON object of a request body, read field by field so that every problem
// is recorded under its field's name (a dotted path such as "lines.0.quantity") and all of
// them are answered together in one 422.
//
// Unknown fields are ignored: the contract's request schemas do not set
// additionalProperties, so JSON Schema allows them.
type object struct {
	path   string // prefix of this object's field names: "" or "billing_address."
	fields map[string]json.RawMessage
	errs   *[]fieldError
}

// readObject reads r's body as a JSON object. A body that is too large, is not JSON or is
// sent without Content-Type: application/json gets 400; a missing body or one that is
// JSON but not an object gets 422.
func readObject(r *http.Request) (*object, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errBadRequest("Could not read the request body.")
	}
	if len(raw) > maxBodyBytes {
		return nil, errBadRequest("Request body is too large (limit 1 MiB).")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errValidation(fieldError{Field: "body", Message: msgRequired})
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, errBadRequest("Content-Type must be application/json.")
	}
	if !json.Valid(raw) {
		return nil, errBadRequest("Request body is not valid JSON.")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, errValidation(fieldError{Field: "body", Message: "Input should be a JSON object."})
	}
	return &object{fields: fields, errs: new([]fieldError)}, nil
}

// fail records a problem with field.
func (o *object) fail(field, msg string) {
	*o.errs = append(*o.errs, fieldError{Field: o.path + field, Message: msg})
}

// has reports whether field was sent (even as null).
func (o *object) has(field string) bool {
	_, ok := o.fields[field]
	return ok
}

// require records "Field required." for each field that was not sent.
func (o *object) require(fields ...string) {
	for _, f := range fields {
		if !o.has(f) {
			o.fail(f, msgRequired)
		}
	}
}

// err is the 422 for everything recorded so far (in this object and those nested in it),
// or nil.
func (o *object) err() error {
	if len(*o.errs) == 0 {
		return nil
	}
	return errValidation(*o.errs...)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// str reads a string field. ok is false when the field is absent or invalid; an invalid
// one (null, another JSON type, or a failed check) is recorded.
func (o *object) str(field string, checks ...check) (s string, ok bool) {
	raw, present := o.fields[field]
	if !present {
		return "", false
	}
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		o.fail(field, "Input should be a valid string.")
		return "", false
	}
	for _, c := range checks {
		if msg := c(s); msg != "" {
			o.fail(field, msg)
			return "", false
		}
	}
	return s, true
}

// boolean reads a boolean field like str.
func (o *object) boolean(field string) (b bool, ok bool) {
	raw, present := o.fields[field]
	if !present {
		return false, false
	}
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		o.fail(field, "Input should be a valid boolean.")
		return false, false
	}
	return b, true
}

// object reads a nested object field; its problems are recorded with this object's.
func (o *object) object(field string) (*object, bool) {
	raw, present := o.fields[field]
	if !present {
		return nil, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		o.fail(field, "Input should be a valid object.")
		return nil, false
	}
	return &object{path: o.path + field + ".", fields: fields, errs: o.errs}, true
}

// objects reads an array of objects with at least minItems elements. ok is false when the
// field is absent, is not such an array, or any element is not an object.
func (o *object) objects(field string, minItems int) ([]*object, bool) {
	raw, present := o.fields[field]
	if !present {
		return nil, false
	}
	var elems []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &elems) != nil {
		o.fail(field, "Input should be a valid array.")
		return nil, false
	}
	if len(elems) < minItems {
		o.fail(field, "List should have at least "+strconv.Itoa(minItems)+" item(s).")
		return nil, false
	}
	out := make([]*object, 0, len(elems))
	ok := true
	for i, e := range elems {
		name := field + "." + strconv.Itoa(i)
		var fields map[string]json.RawMessage
		if json.Unmarshal(e, &fields) != nil || fields == nil {
			o.fail(name, "Input should be a valid object.")
			ok = false
			continue
		}
		out = append(out, &object{path: o.path + name + ".", fields: fields, errs: o.errs})
	}
	return out, ok
}

// amountKind is the contract's flavour of decimal string a field takes.
type amountKind int

const (
	anyAmount      amountKind = iota // Money: may be negative
	nonNegative                      // NonNegativeMoney, TaxRate: >= 0
	positiveAmount                   // PositiveMoney, Quantity: > 0
)

// amount reads a decimal-string field (money, quantity or rate). JSON numbers are refused:
// the contract sends every amount as a string.
func (o *object) amount(field string, kind amountKind) (decimal.Decimal, bool) {
	pattern := moneyPattern
	if kind != anyAmount {
		pattern = nonNegPattern
	}
	const msgDecimal = `Input should be a decimal string such as "1500.00".`
	raw, present := o.fields[field]
	if !present {
		return decimal.Decimal{}, false
	}
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		o.fail(field, msgDecimal)
		return decimal.Decimal{}, false
	}
	if !pattern.MatchString(s) {
		msg := msgDecimal
		if kind != anyAmount && moneyPattern.MatchString(s) {
			msg = "Input should be greater than or equal to 0."
		}
		o.fail(field, msg)
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		o.fail(field, msgDecimal)
		return decimal.Decimal{}, false
	}
	if kind == positiveAmount && !d.IsPositive() {
		o.fail(field, "Input should be greater than 0.")
		return decimal.Decimal{}, false
	}
	return d, true
}

// query reads query parameters, recording problems like object does for bodies.
type query struct {
	values url.Values
	errs   []fieldError
}

func newQuery(r *http.Request) *query { return &query{values: r.URL.Query()} }

func (q *query) fail(name, msg string) {
	q.errs = append(q.errs, fieldError{Field: name, Message: msg})
}

// err is the 422 for everything recorded so far, or nil.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return errValidation(q.errs...)
}

// str reads an optional parameter; an empty value counts as absent.
func (q *query) str(name string, checks ...check) (string, bool) {
	s := q.values.Get(name)
	if s == "" {
		return "", false
	}
	for _, c := range checks {
		if msg := c(s); msg != "" {
			q.fail(name, msg)
			return "", false
		}
	}
	return s, true
}

// integer reads an optional integer parameter in [lo, hi] (hi 0: no upper bound).
func (q *query) integer(name string, lo, hi, def int) int {
	s := q.values.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		q.fail(name, "Input should be a valid integer.")
	case n < lo:
		q.fail(name, "Input should be greater than or equal to "+strconv.Itoa(lo)+".")
	case hi > 0 && n > hi:
		q.fail(name, "Input should be less than or equal to "+strconv.Itoa(hi)+".")
	default:
		return n
	}
	return def
}

// boolean reads an optional boolean parameter ("true"/"false", also "1"/"0").
func (q *query) boolean(name string) (b bool, ok bool) {
	switch s := q.values.Get(name); s {
	case "":
		return false, false
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	default:
		q.fail(name, "Input should be a valid boolean.")
		return false, false
	}
}

package atlas

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Date is a calendar date without a time of day or a time zone, written
// "2006-01-02" on the wire. A field the contract lets be null is a *Date; a
// Date field refuses null and anything that is not a valid YYYY-MM-DD date
// with a decode error, so a bad value never turns into a zero Date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// NewDate returns the date year-month-day. It does not normalize: an
// impossible date such as February 30 is kept as given, fails Valid and
// cannot be encoded.
func NewDate(year int, month time.Month, day int) Date {
	return Date{Year: year, Month: month, Day: day}
}

// ParseDate parses a "2006-01-02" date. Anything else, including an
// impossible day such as "2026-02-30" and the year 0, is an error.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err == nil && t.Year() < 1 {
		err = errors.New("year 0") // not Valid: it could not be sent back
	}
	if err != nil {
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return Date{}, fmt.Errorf("atlas: invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String returns the date as "2006-01-02".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// In returns the start of d (midnight) in loc. A nil loc is UTC, as for
// Today (time.Date panics on one).
func (d Date) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(d.In(time.UTC).AddDate(0, 0, n))
}

// Before reports whether d is earlier than other.
func (d Date) Before(other Date) bool {
	return d.In(time.UTC).Before(other.In(time.UTC))
}

// After reports whether d is later than other.
func (d Date) After(other Date) bool { return other.Before(d) }

// Valid reports whether d is a real calendar date (the zero Date is not).
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(d.In(time.UTC)) == d
}

// MarshalText encodes d as "2006-01-02". The zero Date and impossible dates
// (February 30, month 13) are errors, so they never reach the server.
func (d Date) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("atlas: invalid date %s: not a calendar date", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a "2006-01-02" date; anything else is an error.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON decodes a JSON string holding a "2006-01-02" date. Null and
// every other JSON value are errors: use *Date where the contract allows null.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil {
		if len(b) > 64 {
			b = append(b[:64:64], "..."...)
		}
		return fmt.Errorf("atlas: invalid date %s: want a \"YYYY-MM-DD\" string", b)
	}
	return d.UnmarshalText([]byte(s))
}

// Ptr returns a pointer to v. It fills the pointer fields of update params,
// where nil means "leave unchanged" and a pointer to a zero value means "set
// to zero": Notes: atlas.Ptr("") clears the notes, a nil Notes keeps them.
// The contract lets no request field be set to null, so no Nullable type is
// needed: an update can change a field, not remove it.
func Ptr[T any](v T) *T { return &v }

// ErrInvalidParams is wrapped by the errors the client returns before sending
// a request whose parameters the server would certainly refuse, or that could
// not reach the wire as given: an empty id, missing params, a journal entry
// with fewer than two lines, a zero date where one is required, an impossible
// date (February 30, month 13) in a filter or a body, a negative page. No
// parameter is dropped in silence. The server stays the judge of every
// domain rule.
var ErrInvalidParams = errors.New("atlas: invalid parameters")

// invalidParams returns an error wrapping ErrInvalidParams for the operation op.
func invalidParams(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidParams, op, fmt.Sprintf(format, args...))
}

// PaymentTerms are the payment terms of a customer or vendor; they derive an
// invoice's or bill's due date when none is given.
type PaymentTerms string

// Payment terms accepted by the API.
const (
	PaymentTermsDueOnReceipt PaymentTerms = "due_on_receipt"
	PaymentTermsNet15        PaymentTerms = "net_15"
	PaymentTermsNet30        PaymentTerms = "net_30"
	PaymentTermsNet60        PaymentTerms = "net_60"
	PaymentTermsNet90        PaymentTerms = "net_90"
)

// VoidParams give the reason for voiding an invoice, a bill or a journal
// entry (the contract's VoidRequest). Reason is required, 1 to 500 characters.
type VoidParams struct {
	Reason string `json:"reason"`
}

func (p *VoidParams) check() error {
	if p.Reason == "" {
		return errors.New("reason is required")
	}
	return nil
}

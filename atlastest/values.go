package atlastest

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// newIDs returns n random (version 4) UUIDs in canonical form, reading the random bytes
// at once so that seeding many records stays fast.
func newIDs(n int) []string {
	raw := make([]byte, 16*n)
	if _, err := rand.Read(raw); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24 documents it never
		// returns an error); without randomness there is no sound way to go on.
		panic("atlastest: crypto/rand: " + err.Error())
	}
	ids := make([]string, n)
	var buf [36]byte
	for i := range ids {
		b := raw[16*i : 16*i+16]
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		hex.Encode(buf[0:8], b[0:4])
		buf[8] = '-'
		hex.Encode(buf[9:13], b[4:6])
		buf[13] = '-'
		hex.Encode(buf[14:18], b[6:8])
		buf[18] = '-'
		hex.Encode(buf[19:23], b[8:10])
		buf[23] = '-'
		hex.Encode(buf[24:36], b[10:16])
		ids[i] = string(buf[:])
	}
	return ids
}

// newID returns one random UUID.
func newID() string { return newIDs(1)[0] }

// randomToken returns prefix followed by 32 random bytes in hex: opaque tokens and secrets.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("atlastest: crypto/rand: " + err.Error())
	}
	return prefix + hex.EncodeToString(b)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isUUID reports whether s is a UUID in the canonical 8-4-4-4-12 form.
func isUUID(s string) bool { return uuidPattern.MatchString(s) }

// normalizeUUID lower-cases a UUID so that ids compare equal however a client spells them.
func normalizeUUID(s string) string { return strings.ToLower(s) }

// dateLayout is the wire form of the contract's Date: a civil date, YYYY-MM-DD.
const dateLayout = "2006-01-02"

// Dates are kept as their YYYY-MM-DD strings: they compare and sort correctly as strings,
// and they are what the wire carries.

// parseDate reports whether s is a valid calendar date in YYYY-MM-DD form.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(dateLayout, s)
	return t, err == nil
}

// dateOf is the civil date (UTC) of t.
func dateOf(t time.Time) string { return t.UTC().Format(dateLayout) }

// timestampLayout is how timestamps are shown: RFC 3339 in UTC with a fixed six decimals,
// so that they sort as strings the way they sort as times.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// timestamp renders t as the contract's DateTime.
func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

// timestampOrNil renders an optional timestamp; nil becomes JSON null.
func timestampOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

// Money on the wire is a decimal string. Amounts are shown with two decimals ("1500.00");
// a value that carries more (a unit price of "0.125") keeps its precision.

// money renders d with at least two decimals, and more only when they are not zeros
// ("101.000" is "101.00").
func money(d decimal.Decimal) string {
	if !d.Equal(d.Round(2)) {
		return d.String()
	}
	return d.StringFixed(2)
}

// plain renders a quantity or a tax rate without trailing zeros ("10", "8.25").
func plain(d decimal.Decimal) string { return d.String() }

// round2 rounds half away from zero to cents, the contract's rule for computed amounts.
func round2(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

var (
	moneyPattern    = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	nonNegPattern   = regexp.MustCompile(`^\d+(\.\d+)?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	// A pragmatic email check: something@something.tld, no spaces.
	emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
)

// Enumerations of the contract, in its order.
var (
	paymentTerms  = []string{"due_on_receipt", "net_15", "net_30", "net_60", "net_90"}
	accountTypes  = []string{"asset", "liability", "equity", "revenue", "expense"}
	invoiceStatus = []string{"draft", "sent", "partial", "paid", "overdue", "void"}
	sortOrders    = []string{"asc", "desc"}
)

// check validates a string value and returns a message, or "" when it is fine.
type check func(string) string

func length(lo, hi int) check {
	return func(s string) string {
		n := len([]rune(s))
		switch {
		case n < lo && lo == 1:
			return "String should have at least 1 character."
		case n < lo:
			return "String should have at least " + strconv.Itoa(lo) + " characters."
		case hi > 0 && n > hi:
			return "String should have at most " + strconv.Itoa(hi) + " characters."
		}
		return ""
	}
}

func oneOf(values ...string) check {
	return func(s string) string {
		if slices.Contains(values, s) {
			return ""
		}
		return "Input should be one of: " + strings.Join(values, ", ") + "."
	}
}

func matches(re *regexp.Regexp, msg string) check {
	return func(s string) string {
		if re.MatchString(s) {
			return ""
		}
		return msg
	}
}

var (
	isEmail    = matches(emailPattern, "Value is not a valid email address.")
	isCurrency = matches(currencyPattern, "Input should be a three-letter ISO 4217 currency code.")
	isCountry  = matches(countryPattern, "Input should be a two-letter ISO 3166-1 country code.")
	isUUIDStr  = matches(uuidPattern, "Input should be a valid UUID.")
)

func isDate(s string) string {
	if _, ok := parseDate(s); !ok {
		return "Input should be a valid date in YYYY-MM-DD format."
	}
	return ""
}

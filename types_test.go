package atlas_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

func TestDateJSONRoundTrip(t *testing.T) {
	t.Parallel()
	type doc struct {
		D atlas.Date  `json:"d"`
		P *atlas.Date `json:"p"`
	}
	var v doc
	require.NoError(t, json.Unmarshal([]byte(`{"d":"2026-01-15","p":"2024-02-29"}`), &v))
	assert.Equal(t, atlas.NewDate(2026, time.January, 15), v.D)
	require.NotNil(t, v.P)
	assert.Equal(t, atlas.NewDate(2024, time.February, 29), *v.P)

	out, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"d":"2026-01-15","p":"2024-02-29"}`, string(out))
}

func TestDateNullablePointerTakesNull(t *testing.T) {
	t.Parallel()
	var v struct {
		P *atlas.Date `json:"p"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"p":null}`), &v))
	assert.Nil(t, v.P)
}

func TestDateDecodeErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"null":             `null`,
		"number":           `20260115`,
		"bool":             `true`,
		"object":           `{}`,
		"empty string":     `""`,
		"timestamp":        `"2026-01-15T10:30:00Z"`,
		"slashes":          `"2026/01/15"`,
		"month 13":         `"2026-13-01"`,
		"february 30":      `"2026-02-30"`,
		"not a leap year":  `"2025-02-29"`,
		"short year":       `"26-01-15"`,
		"trailing space":   `"2026-01-15 "`,
		"words":            `"yesterday"`,
		"escaped non-date": `"\u0032026-01-1x"`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var v struct {
				D atlas.Date `json:"d"`
			}
			err := json.Unmarshal([]byte(`{"d":`+in+`}`), &v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "atlas: invalid date")
			assert.True(t, v.D.IsZero(), "a failed decode must not leave a date behind: %v", v.D)
		})
	}
}

func TestDateDecodeAcceptsEscapedString(t *testing.T) {
	t.Parallel()
	var d atlas.Date
	require.NoError(t, json.Unmarshal([]byte(`"2026\u002d01-15"`), &d))
	assert.Equal(t, atlas.NewDate(2026, time.January, 15), d)
}

func TestDateDecodeErrorIsBounded(t *testing.T) {
	t.Parallel()
	huge := `"` + strings.Repeat("9", 1<<20) + `"`
	var d atlas.Date
	err := json.Unmarshal([]byte(huge), &d)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

func TestDateMarshalRefusesInvalidDates(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]atlas.Date{
		"zero":        {},
		"february 30": atlas.NewDate(2026, time.February, 30),
		"month 13":    atlas.NewDate(2026, 13, 1),
		"year 10000":  atlas.NewDate(10000, time.January, 1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.False(t, d.Valid())
			_, err := json.Marshal(struct {
				D atlas.Date `json:"d"`
			}{d})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "atlas: invalid date")
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	d := atlas.NewDate(2026, time.January, 31)
	assert.Equal(t, atlas.NewDate(2026, time.February, 1), d.AddDays(1))
	assert.Equal(t, atlas.NewDate(2025, time.December, 31), d.AddDays(-31))
	assert.True(t, d.Before(d.AddDays(1)))
	assert.False(t, d.Before(d))
	assert.True(t, d.AddDays(1).After(d))
	assert.Equal(t, "2026-01-31", d.String())
	assert.Equal(t, d, atlas.DateOf(d.In(time.FixedZone("x", -11*3600))))
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	d, err := atlas.ParseDate("2026-03-01")
	require.NoError(t, err)
	assert.Equal(t, atlas.NewDate(2026, time.March, 1), d)
	_, err = atlas.ParseDate("2026-3-1")
	assert.Error(t, err)
}

func TestMoneyDecodesStringsAndNumbersExactly(t *testing.T) {
	t.Parallel()
	var line atlas.InvoiceLine
	// Amounts as JSON numbers (as in webhook payloads) and as strings (the REST API).
	require.NoError(t, json.Unmarshal([]byte(`{"quantity":0.10,"unit_price":"0.20","amount":0.3,"tax_rate":"8.25","tax_amount":1e-2}`), &line))
	sum := line.Quantity.Add(line.UnitPrice)
	assert.True(t, sum.Equal(decimal.RequireFromString("0.30")), "0.10 + 0.20 = %s", sum)
	assert.True(t, sum.Equal(line.Amount))
	assert.True(t, line.TaxAmount.Equal(decimal.RequireFromString("0.01")))
	assert.Equal(t, "8.25", line.TaxRate.String())

	// The float64 a naive decoder would use does not add up; the decimals do.
	var floats struct{ A, B float64 }
	require.NoError(t, json.Unmarshal([]byte(`{"A":0.10,"B":0.20}`), &floats))
	assert.NotEqual(t, 0.3, floats.A+floats.B)
}

func TestMoneyDecodesLargeValuesExactly(t *testing.T) {
	t.Parallel()
	var p atlas.Payment
	require.NoError(t, json.Unmarshal([]byte(`{"amount":12345678901234567890.01}`), &p))
	assert.Equal(t, "12345678901234567890.01", p.Amount.String())
	require.NoError(t, json.Unmarshal([]byte(`{"amount":"-0.005"}`), &p))
	assert.Equal(t, "-0.005", p.Amount.String())
}

func TestMoneyDecodeErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"words":  `"ten dollars"`,
		"bool":   `true`,
		"object": `{}`,
		"array":  `[1]`,
		"empty":  `""`,
		"comma":  `"1,500.00"`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var p atlas.Payment
			assert.Error(t, json.Unmarshal([]byte(`{"amount":`+in+`}`), &p))
		})
	}
}

func TestMoneyEncodesAsStrings(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(atlas.PaymentApplication{InvoiceID: "i", AmountApplied: decimal.RequireFromString("0.10").Add(decimal.RequireFromString("0.20"))})
	require.NoError(t, err)
	assert.JSONEq(t, `{"invoice_id":"i","amount_applied":"0.3"}`, string(b))

	var back atlas.PaymentApplication
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.AmountApplied.Equal(decimal.RequireFromString("0.30")))
}

func TestPtr(t *testing.T) {
	t.Parallel()
	p := atlas.Ptr("")
	require.NotNil(t, p)
	assert.Equal(t, "", *p)
	q := atlas.Ptr(decimal.Zero)
	assert.True(t, q.IsZero())
}

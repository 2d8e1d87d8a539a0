package atlastest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// problems is the field errors of err, which must be a 422.
func problems(t *testing.T, err error) map[string]string {
	t.Helper()
	var ae *apiError
	require.True(t, errors.As(err, &ae), "error %v", err)
	require.Equal(t, http.StatusUnprocessableEntity, ae.status)
	out := map[string]string{}
	for _, f := range ae.fields {
		out[f.Field] = f.Message
	}
	return out
}

func TestObjectNamesNestedFields(t *testing.T) {
	t.Parallel()
	o, err := readObject(jsonRequest(`{
		"lines": [
			{"quantity": "2", "unit_price": "10.00"},
			{"quantity": 2, "unit_price": "-1"},
			"not an object",
			{"quantity": "0", "unit_price": "abc"}
		],
		"customer": {"name": 5}
	}`))
	require.NoError(t, err)
	lines, ok := o.objects("lines", 1)
	assert.False(t, ok, "one element is not an object")
	require.Len(t, lines, 3)
	for _, l := range lines {
		l.amount("quantity", positiveAmount)
		l.amount("unit_price", nonNegative)
	}
	if cust, ok := o.object("customer"); assert.True(t, ok) {
		cust.str("name")
		cust.require("email")
	}
	assert.Equal(t, map[string]string{
		"lines.1.quantity":   `Input should be a decimal string such as "1500.00".`,
		"lines.1.unit_price": "Input should be greater than or equal to 0.",
		"lines.2":            "Input should be a valid object.",
		"lines.3.quantity":   "Input should be greater than 0.",
		"lines.3.unit_price": `Input should be a decimal string such as "1500.00".`,
		"customer.name":      "Input should be a valid string.",
		"customer.email":     "Field required.",
	}, problems(t, o.err()))
}

func TestObjectArrays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		min  int
		ok   bool
		want map[string]string
	}{
		{`{"lines": []}`, 1, false, map[string]string{"lines": "List should have at least 1 item(s)."}},
		{`{"lines": [{}]}`, 2, false, map[string]string{"lines": "List should have at least 2 item(s)."}},
		{`{"lines": null}`, 1, false, map[string]string{"lines": "Input should be a valid array."}},
		{`{"lines": {"a": 1}}`, 1, false, map[string]string{"lines": "Input should be a valid array."}},
		{`{"lines": [{}, {}]}`, 2, true, nil},
		{`{}`, 1, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			o, err := readObject(jsonRequest(tt.body))
			require.NoError(t, err)
			_, ok := o.objects("lines", tt.min)
			assert.Equal(t, tt.ok, ok)
			if tt.want == nil {
				assert.NoError(t, o.err())
				return
			}
			assert.Equal(t, tt.want, problems(t, o.err()))
		})
	}
}

func TestAmountKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		kind  amountKind
		ok    bool
	}{
		{`"1500.00"`, anyAmount, true},
		{`"-3.5"`, anyAmount, true},
		{`"-3.5"`, nonNegative, false},
		{`"0"`, nonNegative, true},
		{`"0"`, positiveAmount, false},
		{`"0.001"`, positiveAmount, true},
		{`"1."`, anyAmount, false},
		{`".5"`, anyAmount, false},
		{`"1e3"`, anyAmount, false},
		{`" 1"`, anyAmount, false},
		{`1500`, anyAmount, false},
		{`null`, anyAmount, false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			o, err := readObject(jsonRequest(`{"a": ` + tt.value + `}`))
			require.NoError(t, err)
			d, ok := o.amount("a", tt.kind)
			assert.Equal(t, tt.ok, ok)
			if ok {
				assert.True(t, d.Equal(decimal.RequireFromString(strings.Trim(tt.value, `"`))), d.String())
			}
		})
	}
}

func TestMoneyRendering(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1500": "1500.00", "1500.5": "1500.50", "0": "0.00", "-1420": "-1420.00", "0.125": "0.125", "2.10": "2.10"} {
		o, err := readObject(jsonRequest(`{"a": "` + in + `"}`))
		require.NoError(t, err)
		d, ok := o.amount("a", anyAmount)
		require.True(t, ok)
		assert.Equal(t, want, money(d), in)
	}
}

package atlas

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Fee decimal.Decimal `json:"fee"`
}

type node struct {
	inner
	Amount *decimal.Decimal `json:"amount"`
	Next   *node            `json:"next"`
	Extra  any              `json:"extra"`
	Skip   decimal.Decimal  `json:"-"`
	Named  decimal.Decimal
}

// checkDecimals walks whatever a caller of Client.Do decodes into (embedded
// unexported structs, cycles of types, interfaces, nil pointers) without a
// panic, and names what it refuses as encoding/json names it.
func TestCheckDecimalsWalksEveryShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, want string
	}{
		{`{"fee":"1e2000"}`, "fee"},
		{`{"next":{"next":{"amount":-1e1001}}}`, "next.next.amount"},
		{`{"Named":"1e-5000"}`, "Named"},
		{`{"amount":"1e1000","next":null,"fee":"-1e-1000","Named":"0"}`, ""},
	}
	for _, tt := range tests {
		var n node
		require.NoError(t, json.Unmarshal([]byte(tt.body), &n), tt.body)
		err := checkDecimals(&n)
		if tt.want == "" {
			assert.NoError(t, err, tt.body)
			continue
		}
		assert.ErrorContains(t, err, tt.want+": decimal exponent", tt.body)
	}

	big := decimal.New(1, 5000)
	n := node{Extra: []any{map[string]*decimal.Decimal{"x": &big}}, Skip: big}
	assert.ErrorContains(t, checkDecimals(&n), `extra[0]["x"]: decimal exponent 5000`)
	n.Extra = nil
	assert.NoError(t, checkDecimals(&n), "a field JSON never sets is not looked at")
	assert.ErrorContains(t, checkDecimals(&big), "the answer: decimal exponent")
	assert.NoError(t, checkDecimals(nil))
	assert.NoError(t, checkDecimals((*node)(nil)))
}

package atlastest

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebhookNumbersHaveADecimalPoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{
		{1500.0, `1500.0`},
		{1500.25, `1500.25`},
		{0.1, `0.1`},
		{-3.0, `-3.0`},
		{float32(2), `2.0`},
		{math.NaN(), `null`},
		{"1500", `"1500"`},
		{7, `7`},
		{[]any{1.0, map[string]any{"x": 2.5}}, `[1.0,{"x":2.5}]`},
		{[]string{"a"}, `["a"]`},
	} {
		raw, err := json.Marshal(webhookValue(tc.in))
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(raw), "%#v", tc.in)
	}
}

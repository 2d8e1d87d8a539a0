package atlas_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// answering is a handler that answers every request with body.
func answering(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// An answer whose amount has an exponent no amount needs (printing it would
// take a gigabyte) is a decode error that names the field, for a typed call,
// a list and Client.Do, whether the amount is a JSON number or a string.
func TestAnAnswerWithAHugeExponentIsADecodeErrorNamingTheField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name, body, field string
		call              func(*atlas.Client) error
	}{
		{"Get, a number", `{"id":"i","amount_due":1e999999999}`, "amount_due", func(c *atlas.Client) error {
			_, err := c.Invoices.Get(ctx, stubCompany)
			return err
		}},
		{"Get, a string", `{"id":"i","total_amount":"1E999999999"}`, "total_amount", func(c *atlas.Client) error {
			_, err := c.Invoices.Get(ctx, stubCompany)
			return err
		}},
		{"Get, a negative exponent", `{"id":"i","amount_paid":1e-999999999}`, "amount_paid", func(c *atlas.Client) error {
			_, err := c.Invoices.Get(ctx, stubCompany)
			return err
		}},
		{"Get, in a line", `{"id":"i","amount_due":"1500.00","lines":[{"amount":"1.00"},{"amount":"12.5e999999999"}]}`, "lines[1].amount", func(c *atlas.Client) error {
			_, err := c.Invoices.Get(ctx, stubCompany)
			return err
		}},
		{"List", `{"items":[{"id":"a","amount_due":"1500.00"},{"id":"b","amount_due":1e999999999}],"total":2,"page":1,"page_size":50,"has_next":false}`,
			"items[1].amount_due", func(c *atlas.Client) error {
				_, err := c.Invoices.List(ctx, nil)
				return err
			}},
		{"All", `{"items":[{"id":"a","amount_due":1e999999999}],"total":1,"page":1,"page_size":50,"has_next":false}`,
			"items[0].amount_due", func(c *atlas.Client) error {
				for _, err := range c.Invoices.All(ctx, nil) {
					if err != nil {
						return err
					}
				}
				return nil
			}},
		{"Do, into a map", `{"fee":"2","amount":1e999999999}`, `["amount"]`, func(c *atlas.Client) error {
			var out map[string]decimal.Decimal
			return c.Do(ctx, &atlas.Request{Path: "/things"}, &out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(answeringAPI(t, answering(tt.body)))
			require.Error(t, err)
			assert.ErrorContains(t, err, "decode response: "+tt.field+": decimal exponent")
			assert.ErrorContains(t, err, "out of range")
		})
	}
}

// The bound refuses nothing an amount needs: amounts at the bound and every
// ordinary form decode exactly.
func TestAnswersWithOrdinaryAmountsDecodeExactly(t *testing.T) {
	t.Parallel()
	c := answeringAPI(t, answering(`{"id":"i","amount_due":1500.00,"total_amount":"1500.10","amount_paid":1e3,`+
		`"subtotal":"1e1000","tax_amount":1e-1000,"lines":[{"amount":"0.000001"}]}`))
	inv, err := c.Invoices.Get(context.Background(), stubCompany)
	require.NoError(t, err)
	assert.Equal(t, "1500", inv.AmountDue.String())
	assert.Equal(t, "1500.1", inv.TotalAmount.String())
	assert.True(t, inv.AmountDue.Equal(decimal.RequireFromString("1500.00")))
	assert.Equal(t, int32(-2), inv.AmountDue.Exponent(), "the digits as sent")
	assert.True(t, inv.AmountPaid.Equal(decimal.NewFromInt(1000)))
	assert.Equal(t, int32(1000), inv.Subtotal.Exponent())
	assert.Equal(t, int32(-1000), inv.TaxAmount.Exponent())
	require.Len(t, inv.Lines, 1)
	assert.Equal(t, "0.000001", inv.Lines[0].Amount.String())
}

// Refusing such an answer costs neither memory nor time in proportion to the
// exponent. It measures the process's allocations, so it runs alone.
func TestAHugeExponentIsRefusedWithoutAllocatingForIt(t *testing.T) {
	c := answeringAPI(t, answering(`{"items":[{"id":"a","amount_due":1e999999999,"lines":[{"amount":"-1e-999999999"}]}],"total":1,"page":1,"page_size":50,"has_next":false}`))
	ctx := context.Background()
	_, err := c.Invoices.List(ctx, nil) // logs in, warms the pools
	require.Error(t, err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = c.Invoices.List(ctx, nil)
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, "items[0].amount_due: decimal exponent 999999999 is out of range")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated by one call")
}

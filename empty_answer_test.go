package atlas

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 2xx whose body is empty or null, from a route whose contract answer is an
// object, is an error naming the operation: never a zero-value struct.
func TestEmptyOrNullSuccessIsAnError(t *testing.T) {
	t.Parallel()
	day := NewDate(2026, time.January, 15)
	calls := []struct {
		op   string
		call func(ctx context.Context, c *Client) (any, error)
	}{
		{"GET /companies/c-1", func(ctx context.Context, c *Client) (any, error) { return c.Companies.Get(ctx, "c-1") }},
		{"GET /auth/me", func(ctx context.Context, c *Client) (any, error) { return c.Auth.Me(ctx) }},
		{"GET /invoices", func(ctx context.Context, c *Client) (any, error) { return c.Invoices.List(ctx, nil) }},
		{"POST /invoices", func(ctx context.Context, c *Client) (any, error) {
			return c.Invoices.Create(ctx, &InvoiceCreateParams{CustomerID: "c", InvoiceDate: day,
				Lines: []InvoiceLineParams{{Description: "d", RevenueAccountID: "r"}}})
		}},
		{"POST /invoices/i-1/send", func(ctx context.Context, c *Client) (any, error) { return c.Invoices.Send(ctx, "i-1") }},
		{"PATCH /contacts/customers/c-1", func(ctx context.Context, c *Client) (any, error) {
			return c.Customers.Update(ctx, "c-1", &CustomerUpdateParams{Notes: Ptr("n")})
		}},
		{"GET /reports/balance-sheet", func(ctx context.Context, c *Client) (any, error) {
			return c.Reports.BalanceSheet(ctx, &BalanceSheetParams{AsOfDate: day})
		}},
	}
	answers := []struct {
		status int
		body   string
	}{
		{http.StatusOK, ""},
		{http.StatusOK, "null"},
		{http.StatusOK, " \n null \r\n"},
		{http.StatusOK, "\n\t "},
		{http.StatusCreated, ""},
		{http.StatusCreated, "null"},
		{http.StatusNoContent, ""},
	}
	for _, a := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(a.body))
		}))
		t.Cleanup(srv.Close)
		c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithCompany("co-1")))
		for _, tc := range calls {
			t.Run(tc.op+"/"+http.StatusText(a.status)+"/"+a.body, func(t *testing.T) {
				t.Parallel()
				got, err := tc.call(context.Background(), c)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "atlas: "+tc.op+": ")
				assert.Contains(t, err.Error(), "empty or null body")
				assert.True(t, isNilPointer(got), "no value with the error: %#v", got)
			})
		}
		t.Run("All/"+http.StatusText(a.status)+"/"+a.body, func(t *testing.T) {
			t.Parallel()
			var errs []error
			for inv, err := range c.Invoices.All(context.Background(), nil) {
				require.Nil(t, inv)
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0].Error(), "atlas: GET /invoices: ")
		})
	}
}

func isNilPointer(v any) bool {
	switch v := v.(type) {
	case *Company:
		return v == nil
	case *Me:
		return v == nil
	case *Page[Invoice]:
		return v == nil
	case *Invoice:
		return v == nil
	case *Customer:
		return v == nil
	case *BalanceSheetReport:
		return v == nil
	}
	return false
}

// Login and refresh answers are objects too: an empty one is an error, and
// the client keeps no tokens from it.
func TestEmptyTokenAnswerIsAnError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("null"))
	}))
	t.Cleanup(srv.Close)

	c, _ := Setup(t, OnURL(srv.URL))
	_, err := c.Auth.Login(context.Background(), fakeEmail, fakePassword)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "atlas: POST /auth/login: 200 OK with an empty or null body")
	assert.NotContains(t, err.Error(), fakePassword)

	c, _ = Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("", "refresh-secret")))
	err = c.Auth.Refresh(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "POST /auth/refresh: 200 OK with an empty or null body")
	assert.NotContains(t, err.Error(), "refresh-secret")
}

// A route whose answer has no body (the pipeline is called without a value to
// decode into) is unaffected: a 204 is a success.
func TestNoBodyRouteTakesAnEmptyAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
	var resp *Response
	err := c.do(context.Background(), Request{Method: http.MethodDelete, Path: "/things/1"}, requestConfig{response: &resp}, nil)
	require.NoError(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
}

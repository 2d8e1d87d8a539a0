package atlas_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

const stubCompany = "5b6c7d8e-9f01-4a23-b456-789abcdef012"

// stubRequest is what a stub server saw of one request.
type stubRequest struct {
	Method string
	Path   string // relative to /api/v1
	Query  url.Values
	Body   []byte
}

// stubAPI is an httptest server standing in for Atlas in tests that need no
// domain logic: it answers login and refresh with tokens, records every other
// request and answers it with an empty list envelope, which decodes into any
// result type.
type stubAPI struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []stubRequest
}

func newStubAPI(t *testing.T) *stubAPI {
	t.Helper()
	s := &stubAPI{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		path := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v1")
		w.Header().Set("Content-Type", "application/json")
		if path == "/auth/login" || path == "/auth/refresh" {
			tokens := `{"access_token":"stub-access","refresh_token":"stub-refresh","token_type":"bearer","expires_in":3600}`
			if path == "/auth/login" {
				tokens = `{"tokens":` + tokens + `,"user":{"id":"u","email":"stub@example.com","full_name":"Stub","role":"admin"}}`
			}
			_, _ = io.WriteString(w, tokens)
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, stubRequest{Method: r.Method, Path: path, Query: r.URL.Query(), Body: body})
		s.mu.Unlock()
		_, _ = io.WriteString(w, `{"items":[],"total":0,"page":1,"page_size":50,"has_next":false}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// client returns a client on the stub; company may be empty for none.
func (s *stubAPI) client(t *testing.T, company string) *atlas.Client {
	t.Helper()
	opts := []atlas.Option{atlas.WithCredentials("stub@example.com", "stub-password")}
	if company != "" {
		opts = append(opts, atlas.WithCompany(company))
	}
	c, _ := atlas.Setup(t, atlas.OnURL(s.srv.URL+"/api/v1"), atlas.ClientOptions(opts...))
	return c
}

func (s *stubAPI) requests() []stubRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubRequest(nil), s.reqs...)
}

// untouchableAPI returns a client on a server that fails the test if it gets
// any request at all, login included.
func untouchableAPI(t *testing.T, company string) *atlas.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	opts := []atlas.Option{atlas.WithCredentials("stub@example.com", "stub-password")}
	if company != "" {
		opts = append(opts, atlas.WithCompany(company))
	}
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL+"/api/v1"), atlas.ClientOptions(opts...))
	return c
}

// first drains an iterator's first result, so All can be called like List.
func first[T any](seq func(func(*T, error) bool)) error {
	var err error
	seq(func(_ *T, e error) bool { err = e; return false })
	return err
}

var (
	jan15 = atlas.NewDate(2026, time.January, 15)
	jan31 = atlas.NewDate(2026, time.January, 31)
)

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

type routeCase struct {
	name   string
	call   func(ctx context.Context, c *atlas.Client) error
	method string
	path   string
	query  url.Values // besides company_id
	body   string     // JSON, "" for no body
}

// routeCases call every method of every resource service once.
func routeCases() []routeCase {
	lines := []atlas.InvoiceLineParams{{Description: "Consulting", Quantity: atlas.Ptr(money("10")), UnitPrice: money("150.00"), RevenueAccountID: "rev"}}
	return []routeCase{
		{"Customers.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.List(ctx, &atlas.CustomerListParams{ListOptions: atlas.ListOptions{Page: 2, PageSize: 500, SortOrder: atlas.SortAsc}, SortBy: atlas.CustomerSortByDisplayName, Search: "globex", IsActive: atlas.Ptr(false)})
			return err
		}, "GET", "/contacts/customers", url.Values{"page": {"2"}, "page_size": {"100"}, "sort_by": {"display_name"}, "sort_order": {"asc"}, "search": {"globex"}, "is_active": {"false"}}, ""},
		{"Customers.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Customers.All(ctx, nil))
		}, "GET", "/contacts/customers", url.Values{"page": {"1"}, "page_size": {"100"}}, ""},
		{"Customers.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Globex", Email: "ap@globex.example.com", PaymentTerms: atlas.PaymentTermsNet30, BillingAddress: &atlas.AddressParams{City: "Springfield", Country: "US"}})
			return err
		}, "POST", "/contacts/customers", nil, `{"display_name":"Globex","email":"ap@globex.example.com","payment_terms":"net_30","billing_address":{"city":"Springfield","country":"US"}}`},
		{"Customers.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.Get(ctx, "cust/1")
			return err
		}, "GET", "/contacts/customers/cust%2F1", nil, ""},
		{"Customers.Update", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.Update(ctx, "cust-1", &atlas.CustomerUpdateParams{PaymentTerms: atlas.Ptr(atlas.PaymentTermsNet15)})
			return err
		}, "PATCH", "/contacts/customers/cust-1", nil, `{"payment_terms":"net_15"}`},
		{"Vendors.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Vendors.List(ctx, &atlas.VendorListParams{Search: "office", IsActive: atlas.Ptr(true)})
			return err
		}, "GET", "/contacts/vendors", url.Values{"search": {"office"}, "is_active": {"true"}}, ""},
		{"Vendors.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Vendors.All(ctx, &atlas.VendorListParams{SortBy: atlas.VendorSortByVendorNumber}))
		}, "GET", "/contacts/vendors", url.Values{"page": {"1"}, "page_size": {"100"}, "sort_by": {"vendor_number"}}, ""},
		{"Vendors.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Vendors.Create(ctx, &atlas.VendorCreateParams{DisplayName: "Office Supply Co.", DefaultExpenseAccountID: "exp"})
			return err
		}, "POST", "/contacts/vendors", nil, `{"display_name":"Office Supply Co.","default_expense_account_id":"exp"}`},
		{"Vendors.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Vendors.Get(ctx, "v1")
			return err
		}, "GET", "/contacts/vendors/v1", nil, ""},
		{"Vendors.Update", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Vendors.Update(ctx, "v1", &atlas.VendorUpdateParams{IsActive: atlas.Ptr(false)})
			return err
		}, "PATCH", "/contacts/vendors/v1", nil, `{"is_active":false}`},
		{"Accounts.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Accounts.List(ctx, &atlas.AccountListParams{AccountType: atlas.AccountTypeRevenue})
			return err
		}, "GET", "/chart-of-accounts", url.Values{"account_type": {"revenue"}}, ""},
		{"Accounts.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Accounts.All(ctx, nil))
		}, "GET", "/chart-of-accounts", url.Values{"page": {"1"}, "page_size": {"100"}}, ""},
		{"Accounts.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Accounts.Get(ctx, "a1")
			return err
		}, "GET", "/chart-of-accounts/a1", nil, ""},
		{"Invoices.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{Status: atlas.InvoiceStatusSent, CustomerID: "cust-1", DateFrom: jan15, DateTo: jan31})
			return err
		}, "GET", "/invoices", url.Values{"status": {"sent"}, "customer_id": {"cust-1"}, "date_from": {"2026-01-15"}, "date_to": {"2026-01-31"}}, ""},
		{"Invoices.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Invoices.All(ctx, &atlas.InvoiceListParams{Status: atlas.InvoiceStatusPaid}))
		}, "GET", "/invoices", url.Values{"page": {"1"}, "page_size": {"100"}, "status": {"paid"}}, ""},
		{"Invoices.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{CustomerID: "cust-1", InvoiceDate: jan15, DueDate: atlas.Ptr(jan31), Lines: lines})
			return err
		}, "POST", "/invoices", nil, `{"customer_id":"cust-1","invoice_date":"2026-01-15","due_date":"2026-01-31","lines":[{"description":"Consulting","quantity":"10","unit_price":"150","revenue_account_id":"rev"}]}`},
		{"Invoices.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Get(ctx, "inv-1")
			return err
		}, "GET", "/invoices/inv-1", nil, ""},
		{"Invoices.Update", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Update(ctx, "inv-1", &atlas.InvoiceUpdateParams{Notes: atlas.Ptr("")})
			return err
		}, "PATCH", "/invoices/inv-1", nil, `{"notes":""}`},
		{"Invoices.Send", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Send(ctx, "inv-1")
			return err
		}, "POST", "/invoices/inv-1/send", nil, ""},
		{"Invoices.Void", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Void(ctx, "inv-1", &atlas.VoidParams{Reason: "Wrong customer."})
			return err
		}, "POST", "/invoices/inv-1/void", nil, `{"reason":"Wrong customer."}`},
		{"Bills.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.List(ctx, &atlas.BillListParams{Status: atlas.BillStatusApproved, VendorID: "v1"})
			return err
		}, "GET", "/bills", url.Values{"status": {"approved"}, "vendor_id": {"v1"}}, ""},
		{"Bills.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Bills.All(ctx, nil))
		}, "GET", "/bills", url.Values{"page": {"1"}, "page_size": {"100"}}, ""},
		{"Bills.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Create(ctx, &atlas.BillCreateParams{VendorID: "v1", VendorBillNumber: "OS-44817", BillDate: jan15, Lines: []atlas.BillLineParams{{Description: "Paper", UnitPrice: money("140.00"), ExpenseAccountID: "exp", TaxRate: atlas.Ptr(money("8.25"))}}})
			return err
		}, "POST", "/bills", nil, `{"vendor_id":"v1","vendor_bill_number":"OS-44817","bill_date":"2026-01-15","lines":[{"description":"Paper","unit_price":"140","expense_account_id":"exp","tax_rate":"8.25"}]}`},
		{"Bills.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Get(ctx, "b1")
			return err
		}, "GET", "/bills/b1", nil, ""},
		{"Bills.Approve", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Approve(ctx, "b1")
			return err
		}, "POST", "/bills/b1/approve", nil, ""},
		{"Bills.Void", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Void(ctx, "b1", &atlas.VoidParams{Reason: "Duplicate."})
			return err
		}, "POST", "/bills/b1/void", nil, `{"reason":"Duplicate."}`},
		{"JournalEntries.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.List(ctx, &atlas.JournalEntryListParams{Status: atlas.JournalEntryStatusPosted, DateFrom: jan15})
			return err
		}, "GET", "/journal-entries", url.Values{"status": {"posted"}, "date_from": {"2026-01-15"}}, ""},
		{"JournalEntries.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.JournalEntries.All(ctx, &atlas.JournalEntryListParams{DateTo: jan31}))
		}, "GET", "/journal-entries", url.Values{"page": {"1"}, "page_size": {"100"}, "date_to": {"2026-01-31"}}, ""},
		{"JournalEntries.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Create(ctx, &atlas.JournalEntryCreateParams{EntryDate: jan31, Description: "Accrue rent", Lines: []atlas.JournalEntryLineParams{
				{AccountID: "rent", EntryType: atlas.EntryTypeDebit, Amount: money("2500.00"), Description: "January rent"},
				{AccountID: "accrued", EntryType: atlas.EntryTypeCredit, Amount: money("2500.00")},
			}})
			return err
		}, "POST", "/journal-entries", nil, `{"entry_date":"2026-01-31","description":"Accrue rent","lines":[{"account_id":"rent","entry_type":"debit","amount":"2500","description":"January rent"},{"account_id":"accrued","entry_type":"credit","amount":"2500"}]}`},
		{"JournalEntries.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Get(ctx, "je1")
			return err
		}, "GET", "/journal-entries/je1", nil, ""},
		{"JournalEntries.Post", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Post(ctx, "je1")
			return err
		}, "POST", "/journal-entries/je1/post", nil, ""},
		{"JournalEntries.Void", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Void(ctx, "je1", &atlas.VoidParams{Reason: "Twice."})
			return err
		}, "POST", "/journal-entries/je1/void", nil, `{"reason":"Twice."}`},
		{"Payments.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Payments.List(ctx, &atlas.PaymentListParams{ListOptions: atlas.ListOptions{SortOrder: atlas.SortDesc}, SortBy: atlas.PaymentSortByAmount})
			return err
		}, "GET", "/payments", url.Values{"sort_by": {"amount"}, "sort_order": {"desc"}}, ""},
		{"Payments.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Payments.All(ctx, nil))
		}, "GET", "/payments", url.Values{"page": {"1"}, "page_size": {"100"}}, ""},
		{"Payments.Create", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Payments.Create(ctx, &atlas.PaymentCreateParams{CustomerID: "cust-1", PaymentDate: jan31, Amount: money("1500.00"), PaymentMethod: atlas.PaymentMethodACH, DepositAccountID: "cash", Reference: "ACH 000123",
				Applications: []atlas.PaymentApplication{{InvoiceID: "inv-1", AmountApplied: money("1500.00")}}})
			return err
		}, "POST", "/payments", nil, `{"customer_id":"cust-1","payment_date":"2026-01-31","amount":"1500","payment_method":"ach","deposit_account_id":"cash","reference":"ACH 000123","applications":[{"invoice_id":"inv-1","amount_applied":"1500"}]}`},
		{"Payments.Get", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Payments.Get(ctx, "p1")
			return err
		}, "GET", "/payments/p1", nil, ""},
		{"Periods.List", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Periods.List(ctx, &atlas.PeriodListParams{SortBy: atlas.PeriodSortByStartDate})
			return err
		}, "GET", "/periods", url.Values{"sort_by": {"start_date"}}, ""},
		{"Periods.All", func(ctx context.Context, c *atlas.Client) error {
			return first(c.Periods.All(ctx, nil))
		}, "GET", "/periods", url.Values{"page": {"1"}, "page_size": {"100"}}, ""},
		{"Periods.Close", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Periods.Close(ctx, "per1")
			return err
		}, "POST", "/periods/per1/close", nil, ""},
		{"Reports.ProfitLoss", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: jan15, PeriodEnd: jan31})
			return err
		}, "GET", "/reports/profit-loss", url.Values{"period_start": {"2026-01-15"}, "period_end": {"2026-01-31"}}, ""},
		{"Reports.BalanceSheet", func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: jan31})
			return err
		}, "GET", "/reports/balance-sheet", url.Values{"as_of_date": {"2026-01-31"}}, ""},
	}
}

func TestRoutesPutTheRequestOnTheWire(t *testing.T) {
	t.Parallel()
	for _, tc := range routeCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newStubAPI(t)
			c := stub.client(t, stubCompany)
			require.NoError(t, tc.call(context.Background(), c))

			reqs := stub.requests()
			require.Len(t, reqs, 1)
			got := reqs[0]
			assert.Equal(t, tc.method, got.Method)
			assert.Equal(t, tc.path, got.Path)
			want := url.Values{"company_id": {stubCompany}}
			for k, v := range tc.query {
				want[k] = v
			}
			assert.Equal(t, want, got.Query)
			if tc.body == "" {
				assert.Empty(t, got.Body)
			} else {
				assert.JSONEq(t, tc.body, string(got.Body))
			}
		})
	}
}

func TestItemRoutesWorkWithoutCompany(t *testing.T) {
	t.Parallel()
	stub := newStubAPI(t)
	c := stub.client(t, "")
	ctx := context.Background()
	_, err := c.Invoices.Get(ctx, "inv-1")
	require.NoError(t, err)
	_, err = c.Periods.Close(ctx, "per1")
	require.NoError(t, err)
	_, err = c.Customers.Update(ctx, "cust-1", &atlas.CustomerUpdateParams{Notes: atlas.Ptr("n")})
	require.NoError(t, err)
	for _, r := range stub.requests() {
		assert.NotContains(t, r.Query, "company_id", r.Path)
	}
	assert.Len(t, stub.requests(), 3)

	other := c.ForCompany("other-company")
	_, err = other.Invoices.List(ctx, nil)
	require.NoError(t, err)
	reqs := stub.requests()
	assert.Equal(t, "other-company", reqs[len(reqs)-1].Query.Get("company_id"))
}

func TestCollectionRoutesNeedACompanyBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	needsCompany := map[string]bool{}
	for _, tc := range routeCases() {
		switch {
		case strings.HasSuffix(tc.name, ".List"), strings.HasSuffix(tc.name, ".All"),
			strings.HasSuffix(tc.name, ".Create"), strings.HasPrefix(tc.name, "Reports."):
			needsCompany[tc.name] = true
		}
	}
	require.Len(t, needsCompany, 8*2+6+2, "every list, all, create and report")
	for _, tc := range routeCases() {
		if !needsCompany[tc.name] {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := untouchableAPI(t, "")
			err := tc.call(context.Background(), c)
			require.Error(t, err)
			assert.ErrorIs(t, err, atlas.ErrNoCompany)
		})
	}
}

func TestClientSideChecksRefuseBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	line := atlas.JournalEntryLineParams{AccountID: "a", EntryType: atlas.EntryTypeDebit, Amount: money("1")}
	cases := map[string]func(ctx context.Context, c *atlas.Client) error{
		"Companies.Get empty id":   func(ctx context.Context, c *atlas.Client) error { _, err := c.Companies.Get(ctx, ""); return err },
		"Companies.Get dot-dot id": func(ctx context.Context, c *atlas.Client) error { _, err := c.Companies.Get(ctx, ".."); return err },
		"Customers.Get empty id":   func(ctx context.Context, c *atlas.Client) error { _, err := c.Customers.Get(ctx, ""); return err },
		"Customers.Update empty id": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.Update(ctx, "", &atlas.CustomerUpdateParams{})
			return err
		},
		"Customers.Update nil params": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Customers.Update(ctx, "c1", nil)
			return err
		},
		"Customers.Get dot-dot id":    func(ctx context.Context, c *atlas.Client) error { _, err := c.Customers.Get(ctx, ".."); return err },
		"Invoices.Send dot id":        func(ctx context.Context, c *atlas.Client) error { _, err := c.Invoices.Send(ctx, "."); return err },
		"Customers.Create nil params": func(ctx context.Context, c *atlas.Client) error { _, err := c.Customers.Create(ctx, nil); return err },
		"Vendors.Get empty id":        func(ctx context.Context, c *atlas.Client) error { _, err := c.Vendors.Get(ctx, ""); return err },
		"Vendors.Update empty id": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Vendors.Update(ctx, "", &atlas.VendorUpdateParams{})
			return err
		},
		"Vendors.Create nil params": func(ctx context.Context, c *atlas.Client) error { _, err := c.Vendors.Create(ctx, nil); return err },
		"Accounts.Get empty id":     func(ctx context.Context, c *atlas.Client) error { _, err := c.Accounts.Get(ctx, ""); return err },
		"Invoices.Get empty id":     func(ctx context.Context, c *atlas.Client) error { _, err := c.Invoices.Get(ctx, ""); return err },
		"Invoices.Update empty id": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Update(ctx, "", &atlas.InvoiceUpdateParams{})
			return err
		},
		"Invoices.Send empty id": func(ctx context.Context, c *atlas.Client) error { _, err := c.Invoices.Send(ctx, ""); return err },
		"Invoices.Void empty id": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Void(ctx, "", &atlas.VoidParams{Reason: "r"})
			return err
		},
		"Invoices.Void nil params": func(ctx context.Context, c *atlas.Client) error { _, err := c.Invoices.Void(ctx, "i", nil); return err },
		"Invoices.Void empty reason": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Void(ctx, "i", &atlas.VoidParams{})
			return err
		},
		"Invoices.Create no lines": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{CustomerID: "c", InvoiceDate: jan15})
			return err
		},
		"Bills.Get empty id":     func(ctx context.Context, c *atlas.Client) error { _, err := c.Bills.Get(ctx, ""); return err },
		"Bills.Approve empty id": func(ctx context.Context, c *atlas.Client) error { _, err := c.Bills.Approve(ctx, ""); return err },
		"Bills.Void empty reason": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Void(ctx, "b", &atlas.VoidParams{})
			return err
		},
		"Bills.Create no lines": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Bills.Create(ctx, &atlas.BillCreateParams{VendorID: "v", BillDate: jan15})
			return err
		},
		"JournalEntries.Get empty id":  func(ctx context.Context, c *atlas.Client) error { _, err := c.JournalEntries.Get(ctx, ""); return err },
		"JournalEntries.Post empty id": func(ctx context.Context, c *atlas.Client) error { _, err := c.JournalEntries.Post(ctx, ""); return err },
		"JournalEntries.Void empty reason": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Void(ctx, "je", &atlas.VoidParams{})
			return err
		},
		"JournalEntries.Create no lines": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Create(ctx, &atlas.JournalEntryCreateParams{EntryDate: jan15, Description: "d"})
			return err
		},
		"JournalEntries.Create one line": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.JournalEntries.Create(ctx, &atlas.JournalEntryCreateParams{EntryDate: jan15, Description: "d", Lines: []atlas.JournalEntryLineParams{line}})
			return err
		},
		"Payments.Get empty id":      func(ctx context.Context, c *atlas.Client) error { _, err := c.Payments.Get(ctx, ""); return err },
		"Payments.Create nil params": func(ctx context.Context, c *atlas.Client) error { _, err := c.Payments.Create(ctx, nil); return err },
		"Periods.Close empty id":     func(ctx context.Context, c *atlas.Client) error { _, err := c.Periods.Close(ctx, ""); return err },
		"Reports.ProfitLoss nil":     func(ctx context.Context, c *atlas.Client) error { _, err := c.Reports.ProfitLoss(ctx, nil); return err },
		"Reports.ProfitLoss no start": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodEnd: jan31})
			return err
		},
		"Reports.BalanceSheet no date": func(ctx context.Context, c *atlas.Client) error {
			_, err := c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{})
			return err
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := untouchableAPI(t, stubCompany)
			err := call(context.Background(), c)
			require.Error(t, err)
			assert.ErrorIs(t, err, atlas.ErrInvalidParams)
			assert.True(t, strings.HasPrefix(err.Error(), "atlas: "), err.Error())
		})
	}
}

func TestJournalEntryCheckNamesTheProblem(t *testing.T) {
	t.Parallel()
	c := untouchableAPI(t, stubCompany)
	_, err := c.JournalEntries.Create(context.Background(), &atlas.JournalEntryCreateParams{EntryDate: jan15, Description: "d",
		Lines: []atlas.JournalEntryLineParams{{AccountID: "a", EntryType: atlas.EntryTypeDebit, Amount: money("1")}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "POST /journal-entries")
	assert.Contains(t, err.Error(), "at least 2 lines, got 1")
}

func TestInvalidDateInParamsFailsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	c := untouchableAPI(t, stubCompany)
	_, err := c.Invoices.Create(context.Background(), &atlas.InvoiceCreateParams{CustomerID: "c",
		Lines: []atlas.InvoiceLineParams{{Description: "x", UnitPrice: money("1"), RevenueAccountID: "r"}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid date")
}

func TestPatchSendsOnlyTheFieldsSet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		params any
		want   string
	}{
		{"nothing set", &atlas.CustomerUpdateParams{}, `{}`},
		{"empty string is a value", &atlas.CustomerUpdateParams{Notes: atlas.Ptr("")}, `{"notes":""}`},
		{"zero money is a value", &atlas.CustomerUpdateParams{CreditLimit: atlas.Ptr(decimal.Zero)}, `{"credit_limit":"0"}`},
		{"false is a value", &atlas.CustomerUpdateParams{IsActive: atlas.Ptr(false)}, `{"is_active":false}`},
		{"two fields", &atlas.CustomerUpdateParams{PaymentTerms: atlas.Ptr(atlas.PaymentTermsNet15), CreditLimit: atlas.Ptr(money("10000.00"))}, `{"payment_terms":"net_15","credit_limit":"10000"}`},
		{"address part", &atlas.CustomerUpdateParams{BillingAddress: &atlas.AddressParams{PostalCode: "62701"}}, `{"billing_address":{"postal_code":"62701"}}`},
		{"vendor default account", &atlas.VendorUpdateParams{DefaultExpenseAccountID: atlas.Ptr("exp")}, `{"default_expense_account_id":"exp"}`},
		{"invoice due date", &atlas.InvoiceUpdateParams{DueDate: atlas.Ptr(jan31)}, `{"due_date":"2026-01-31"}`},
		{"invoice lines replace", &atlas.InvoiceUpdateParams{Lines: []atlas.InvoiceLineParams{{Description: "x", UnitPrice: money("0"), RevenueAccountID: "r"}}},
			`{"lines":[{"description":"x","unit_price":"0","revenue_account_id":"r"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newStubAPI(t)
			c := stub.client(t, stubCompany)
			var err error
			switch p := tc.params.(type) {
			case *atlas.CustomerUpdateParams:
				_, err = c.Customers.Update(context.Background(), "id1", p)
			case *atlas.VendorUpdateParams:
				_, err = c.Vendors.Update(context.Background(), "id1", p)
			case *atlas.InvoiceUpdateParams:
				_, err = c.Invoices.Update(context.Background(), "id1", p)
			}
			require.NoError(t, err)
			reqs := stub.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, http.MethodPatch, reqs[0].Method)
			assert.JSONEq(t, tc.want, string(reqs[0].Body))
		})
	}
}

func TestListDecodesThePage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth/login") {
			_, _ = io.WriteString(w, `{"tokens":{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600},"user":{"id":"u","email":"e","full_name":"f","role":"admin"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"items":[{"id":"p1","payment_number":"PMT-2026-0001","customer_id":"c","payment_date":"2026-02-10","amount":"1500.00","currency":"USD","payment_method":"ach","deposit_account_id":"d","reference":null,"applications":[{"invoice_id":"i","amount_applied":1500.0}],"created_at":"2026-02-10T13:25:00Z","updated_at":"2026-02-10T13:25:00Z"}],"total":51,"page":2,"page_size":50,"has_next":false}`)
	}))
	defer srv.Close()
	c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithCredentials("e", "p"), atlas.WithCompany(stubCompany)))
	page, err := c.Payments.List(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, 51, page.Total)
	assert.Equal(t, 2, page.Page)
	require.Len(t, page.Items, 1)
	p := page.Items[0]
	assert.Equal(t, atlas.PaymentMethodACH, p.PaymentMethod)
	assert.Nil(t, p.Reference)
	assert.Equal(t, atlas.NewDate(2026, time.February, 10), p.PaymentDate)
	assert.True(t, p.Applications[0].AmountApplied.Equal(p.Amount))
}

func TestMalformedResponsesAreErrors(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"bad date":      `{"id":"i","invoice_date":"15/01/2026"}`,
		"null date":     `{"id":"i","due_date":null}`,
		"bad money":     `{"id":"i","total_amount":"lots"}`,
		"wrong type":    `{"id":7}`,
		"truncated":     `{"id":"i","lines":[{"amount":"1`,
		"not json":      `<html>hello</html>`,
		"bad timestamp": `{"id":"i","sent_at":"yesterday"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/auth/login") {
					_, _ = io.WriteString(w, `{"tokens":{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600},"user":{"id":"u","email":"e","full_name":"f","role":"admin"}}`)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, body)
			}))
			defer srv.Close()
			c, _ := atlas.Setup(t, atlas.OnURL(srv.URL), atlas.ClientOptions(atlas.WithCredentials("e", "p")))
			inv, err := c.Invoices.Get(context.Background(), "i")
			require.Error(t, err)
			assert.Nil(t, inv)
			assert.True(t, strings.HasPrefix(err.Error(), "atlas: "), err.Error())
		})
	}
}

func TestReportsDecodeTheNestedModel(t *testing.T) {
	t.Parallel()
	var pl atlas.ProfitLossReport
	require.NoError(t, json.Unmarshal([]byte(`{"company_id":"c","period_start":"2026-01-01","period_end":"2026-01-31","currency":"USD",
		"generated_at":"2026-02-01T08:00:00.123456","revenue":{"name":"Revenue","sections":[{"name":"Operating Revenue","items":[
		{"account_id":"a","account_number":"4000","account_name":"Sales Revenue","amount":"1500.00"}],"subtotal":"1500.00"}],"total":"1500.00"},
		"cost_of_goods_sold":null,"gross_profit":null,"operating_expenses":{"name":"Operating Expenses","sections":[],"total":"0.00"},"net_income":"1500.00"}`), &pl))
	assert.Equal(t, time.Date(2026, 2, 1, 8, 0, 0, 123456000, time.UTC), pl.GeneratedAt)
	assert.Nil(t, pl.CostOfGoodsSold)
	assert.Nil(t, pl.GrossProfit)
	assert.Equal(t, "4000", pl.Revenue.Sections[0].Items[0].AccountNumber)
	assert.True(t, pl.NetIncome.Equal(money("1500")))

	var bs atlas.BalanceSheetReport
	require.NoError(t, json.Unmarshal([]byte(`{"as_of_date":"2026-01-31","generated_at":"2026-02-01T08:00:00+01:00","assets":{"name":"Assets",
		"sections":[{"name":"Current Assets","items":[{"account_id":"a","account_number":"1000","account_name":"Cash","balance":"12500.00"}],"subtotal":"12500.00"}],
		"total":"12500.00"},"total_assets":"12500.00","total_liabilities_and_equity":"12500.00","is_balanced":true}`), &bs))
	assert.True(t, bs.GeneratedAt.Equal(time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)))
	assert.True(t, bs.Assets.Sections[0].Items[0].Balance.Equal(money("12500")))
	assert.True(t, bs.IsBalanced)

	// An unreadable generated_at no longer fails the report (see
	// TestReportGeneratedAtIsReadTolerantly); a number there, or a bad date
	// the report is about, still does.
	for _, bad := range []string{`{"generated_at":5}`, `{"generated_at":{}}`, `{"as_of_date":"2026-02-30","generated_at":"2026-02-01T08:00:00Z"}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &bs), bad)
	}
}

func TestCancelledContextIsAnError(t *testing.T) {
	t.Parallel()
	stub := newStubAPI(t)
	c := stub.client(t, stubCompany)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Invoices.List(ctx, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), err.Error())
}

// collect drains an iterator, failing the test on its first error.
func collect[T any](t *testing.T, seq iter.Seq2[*T, error]) []*T {
	t.Helper()
	var out []*T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// apiError asserts that err is an *atlas.Error and returns it.
func apiError(t *testing.T, err error) *atlas.Error {
	t.Helper()
	var e *atlas.Error
	require.ErrorAs(t, err, &e)
	return e
}

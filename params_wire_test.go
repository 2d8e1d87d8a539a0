package atlas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paramsCall sends a params value (a pointer to a filled params struct)
// through one method of the client.
type paramsCall struct {
	method string
	call   func(ctx context.Context, c *Client, p any) error
}

// firstOf runs an All iterator until its first result.
func firstOf[T any](seq func(func(*T, error) bool)) error {
	var err error
	seq(func(_ *T, e error) bool { err = e; return false })
	return err
}

// paramsCalls are the methods that send each params type; the key is the
// type's name. TestEveryParamsFieldReachesTheWire checks that every exported
// *Params type of the package is here or inside one that is.
func paramsCalls() map[string][]paramsCall {
	const id = "id-1"
	return map[string][]paramsCall{
		"AccountListParams": {
			{"Accounts.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Accounts.List(ctx, p.(*AccountListParams))
				return err
			}},
			{"Accounts.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Accounts.All(ctx, p.(*AccountListParams)))
			}},
		},
		"CompanyListParams": {
			{"Companies.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Companies.List(ctx, p.(*CompanyListParams))
				return err
			}},
			{"Companies.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Companies.All(ctx, p.(*CompanyListParams)))
			}},
		},
		"CustomerListParams": {
			{"Customers.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Customers.List(ctx, p.(*CustomerListParams))
				return err
			}},
			{"Customers.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Customers.All(ctx, p.(*CustomerListParams)))
			}},
		},
		"CustomerCreateParams": {
			{"Customers.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Customers.Create(ctx, p.(*CustomerCreateParams))
				return err
			}},
		},
		"CustomerUpdateParams": {
			{"Customers.Update", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Customers.Update(ctx, id, p.(*CustomerUpdateParams))
				return err
			}},
		},
		"VendorListParams": {
			{"Vendors.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Vendors.List(ctx, p.(*VendorListParams))
				return err
			}},
			{"Vendors.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Vendors.All(ctx, p.(*VendorListParams)))
			}},
		},
		"VendorCreateParams": {
			{"Vendors.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Vendors.Create(ctx, p.(*VendorCreateParams))
				return err
			}},
		},
		"VendorUpdateParams": {
			{"Vendors.Update", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Vendors.Update(ctx, id, p.(*VendorUpdateParams))
				return err
			}},
		},
		"InvoiceListParams": {
			{"Invoices.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Invoices.List(ctx, p.(*InvoiceListParams))
				return err
			}},
			{"Invoices.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Invoices.All(ctx, p.(*InvoiceListParams)))
			}},
		},
		"InvoiceCreateParams": {
			{"Invoices.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Invoices.Create(ctx, p.(*InvoiceCreateParams))
				return err
			}},
		},
		"InvoiceUpdateParams": {
			{"Invoices.Update", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Invoices.Update(ctx, id, p.(*InvoiceUpdateParams))
				return err
			}},
		},
		"VoidParams": {
			{"Invoices.Void", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Invoices.Void(ctx, id, p.(*VoidParams))
				return err
			}},
			{"Bills.Void", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Bills.Void(ctx, id, p.(*VoidParams))
				return err
			}},
			{"JournalEntries.Void", func(ctx context.Context, c *Client, p any) error {
				_, err := c.JournalEntries.Void(ctx, id, p.(*VoidParams))
				return err
			}},
		},
		"BillListParams": {
			{"Bills.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Bills.List(ctx, p.(*BillListParams))
				return err
			}},
			{"Bills.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Bills.All(ctx, p.(*BillListParams)))
			}},
		},
		"BillCreateParams": {
			{"Bills.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Bills.Create(ctx, p.(*BillCreateParams))
				return err
			}},
		},
		"JournalEntryListParams": {
			{"JournalEntries.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.JournalEntries.List(ctx, p.(*JournalEntryListParams))
				return err
			}},
			{"JournalEntries.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.JournalEntries.All(ctx, p.(*JournalEntryListParams)))
			}},
		},
		"JournalEntryCreateParams": {
			{"JournalEntries.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.JournalEntries.Create(ctx, p.(*JournalEntryCreateParams))
				return err
			}},
		},
		"PaymentListParams": {
			{"Payments.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Payments.List(ctx, p.(*PaymentListParams))
				return err
			}},
			{"Payments.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Payments.All(ctx, p.(*PaymentListParams)))
			}},
		},
		"PaymentCreateParams": {
			{"Payments.Create", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Payments.Create(ctx, p.(*PaymentCreateParams))
				return err
			}},
		},
		"PeriodListParams": {
			{"Periods.List", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Periods.List(ctx, p.(*PeriodListParams))
				return err
			}},
			{"Periods.All", func(ctx context.Context, c *Client, p any) error {
				return firstOf(c.Periods.All(ctx, p.(*PeriodListParams)))
			}},
		},
		"ProfitLossParams": {
			{"Reports.ProfitLoss", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Reports.ProfitLoss(ctx, p.(*ProfitLossParams))
				return err
			}},
		},
		"BalanceSheetParams": {
			{"Reports.BalanceSheet", func(ctx context.Context, c *Client, p any) error {
				_, err := c.Reports.BalanceSheet(ctx, p.(*BalanceSheetParams))
				return err
			}},
		},
	}
}

// paramsTypes returns, by name, every params type the test knows how to
// make: the top-level ones of paramsCalls.
func paramsTypes() map[string]reflect.Type {
	types := map[string]reflect.Type{}
	for _, v := range []any{
		AccountListParams{}, CompanyListParams{}, CustomerListParams{}, CustomerCreateParams{}, CustomerUpdateParams{},
		VendorListParams{}, VendorCreateParams{}, VendorUpdateParams{}, InvoiceListParams{}, InvoiceCreateParams{},
		InvoiceUpdateParams{}, VoidParams{}, BillListParams{}, BillCreateParams{}, JournalEntryListParams{},
		JournalEntryCreateParams{}, PaymentListParams{}, PaymentCreateParams{}, PeriodListParams{}, ProfitLossParams{},
		BalanceSheetParams{},
	} {
		t := reflect.TypeOf(v)
		types[t.Name()] = t
	}
	return types
}

// declaredParamsTypes reads the package's source and returns the name of
// every exported type whose name ends in "Params", so that a params type
// added later cannot escape the test.
func declaredParamsTypes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				name := spec.(*ast.TypeSpec).Name.Name
				if ast.IsExported(name) && strings.HasSuffix(name, "Params") {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// listOptionsWire names the query parameter of each ListOptions field.
var listOptionsWire = map[string]string{"Page": "page", "PageSize": "page_size", "SortOrder": "sort_order"}

// filler sets every field of a params value to a valid value, each field a
// different one, and notes where on the wire each should show up: a query
// parameter ("page") or a path in the JSON body ("lines[1].quantity").
type filler struct {
	n    int
	want map[string]string
}

func (f *filler) next() int { f.n++; return f.n }

// fill fills v; wire is v's name on the wire, query says it goes in the query.
func (f *filler) fill(t *testing.T, v reflect.Value, wire string, query bool) {
	t.Helper()
	switch {
	case v.Type() == dateType:
		d := NewDate(2026, time.March, 1).AddDays(f.next())
		v.Set(reflect.ValueOf(d))
		f.want[wire] = d.String()
		return
	case v.Type() == reflect.TypeFor[decimal.Decimal]():
		d := decimal.New(int64(100+f.next()), -2)
		v.Set(reflect.ValueOf(d))
		f.want[wire] = d.String()
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(t, v.Elem(), wire, query)
	case reflect.String:
		s := fmt.Sprintf("s%d", f.next())
		v.SetString(s)
		f.want[wire] = s
	case reflect.Bool:
		v.SetBool(true)
		f.want[wire] = "true"
	case reflect.Int:
		n := 2 + f.next()%50 // a page number, a page size within MaxPageSize
		v.SetInt(int64(n))
		f.want[wire] = strconv.Itoa(n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2)) // 2: a journal entry needs two lines
		for i := range 2 {
			f.fill(t, v.Index(i), fmt.Sprintf("%s[%d]", wire, i), query)
		}
	case reflect.Struct:
		ty := v.Type()
		for i := range ty.NumField() {
			sf := ty.Field(i)
			require.True(t, sf.IsExported(), "%s.%s is unexported: it cannot be sent", ty.Name(), sf.Name)
			switch {
			case sf.Anonymous && sf.Type == listOptionsType:
				lo := v.Field(i)
				for j := range lo.NumField() {
					name, ok := listOptionsWire[lo.Type().Field(j).Name]
					require.True(t, ok, "ListOptions.%s: no query parameter known for it", lo.Type().Field(j).Name)
					f.fill(t, lo.Field(j), name, true)
				}
			case query:
				name := sf.Tag.Get("url")
				require.NotEmpty(t, name, "%s.%s has no url tag", ty.Name(), sf.Name)
				f.fill(t, v.Field(i), name, true)
			default:
				name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
				require.True(t, name != "" && name != "-", "%s.%s has no json name", ty.Name(), sf.Name)
				if wire != "" {
					name = wire + "." + name
				}
				f.fill(t, v.Field(i), name, false)
			}
		}
	default:
		t.Fatalf("%s (%s): no test value for a %s", wire, v.Type(), v.Kind())
	}
}

// isQueryParams reports whether t's fields travel in the query (url tags)
// rather than in a JSON body.
func isQueryParams(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type == listOptionsType || f.Tag.Get("url") != "" {
			return true
		}
	}
	return false
}

// flattenJSON lists the scalar leaves of a JSON document by path, in the
// filler's notation.
func flattenJSON(t *testing.T, prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flattenJSON(t, p, e, out)
		}
	case []any:
		for i, e := range v {
			flattenJSON(t, fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case json.Number:
		out[prefix] = v.String()
	case string:
		out[prefix] = v
	case bool:
		out[prefix] = strconv.FormatBool(v)
	default:
		t.Fatalf("%s: unexpected JSON value %#v", prefix, v)
	}
}

// wireRecorder is an httptest API that records what each request put on the
// wire and answers as the contract does, enough for the client to accept it.
type wireRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []wireRequest
}

type wireRequest struct {
	method, path string
	query        map[string]string
	body         []byte
}

func newWireRecorder(t *testing.T) *wireRecorder {
	w := &wireRecorder{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			require.Len(t, v, 1, "query parameter %s sent %d times", k, len(v))
			q[k] = v[0]
		}
		w.mu.Lock()
		w.seen = append(w.seen, wireRequest{method: r.Method, path: r.URL.Path, query: q, body: body})
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/reports/") {
			page := max(1, atoi(q["page"]))
			_, _ = fmt.Fprintf(rw, `{"items":[{"id":"x"}],"total":1,"page":%d,"page_size":1,"has_next":false}`, page)
			return
		}
		_, _ = io.WriteString(rw, `{"id":"x"}`)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func (w *wireRecorder) requests() []wireRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// TestEveryParamsFieldReachesTheWire fills every field of every params type
// (found in the source, so a new one cannot escape) with a valid value,
// sends it with every method that takes it to an httptest server, and checks
// that each field arrived, under its name and with its value, in the query
// or in the body, and that nothing else did.
func TestEveryParamsFieldReachesTheWire(t *testing.T) {
	t.Parallel()
	calls, types := paramsCalls(), paramsTypes()

	// Every declared params type is sent by some method, directly or
	// inside another params type (lines, addresses).
	nested := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || ty == dateType {
			return
		}
		nested[ty.Name()] = true
		for i := range ty.NumField() {
			walk(ty.Field(i).Type)
		}
	}
	for name, ty := range types {
		require.Contains(t, calls, name, "no method sends %s", name)
		walk(ty)
	}
	for _, name := range declaredParamsTypes(t) {
		assert.True(t, nested[name], "%s is declared but the test sends it nowhere: add it to paramsCalls", name)
	}
	require.Len(t, calls, len(types))

	for name, ty := range types {
		for _, pc := range calls[name] {
			t.Run(pc.method, func(t *testing.T) {
				t.Parallel()
				f := &filler{n: len(name) * 100, want: map[string]string{}}
				p := reflect.New(ty)
				query := isQueryParams(ty)
				f.fill(t, p.Elem(), "", query)
				require.NotEmpty(t, f.want)

				rec := newWireRecorder(t)
				c, _ := Setup(t, OnURL(rec.srv.URL), ClientOptions(WithTokens("tok", ""), WithCompany("co-1")))
				require.NoError(t, pc.call(context.Background(), c, p.Interface()))

				reqs := rec.requests()
				require.Len(t, reqs, 1)
				got := map[string]string{}
				for k, v := range reqs[0].query {
					if k != "company_id" {
						got[k] = v
					}
				}
				if query {
					assert.Empty(t, reqs[0].body, "a %s travels in the query", name)
				} else {
					assert.Empty(t, got, "a %s travels in the body", name)
					dec := json.NewDecoder(bytes.NewReader(reqs[0].body))
					dec.UseNumber()
					var body any
					require.NoError(t, dec.Decode(&body))
					flattenJSON(t, "", body, got)
				}
				assert.Equal(t, f.want, got, "what %s put on the wire", pc.method)
			})
		}
	}
}

// TestInvalidParamsFailBeforeAnyRequest: a value that cannot be sent as
// given, invalid and zero dates included, fails the call with
// ErrInvalidParams and no request, in list filters, report dates, create and
// update params alike.
func TestInvalidParamsFailBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	var (
		feb30   = Date{Year: 2026, Month: time.February, Day: 30}
		month13 = Date{Year: 2026, Month: 13, Day: 1}
		day0    = Date{Year: 2026, Month: time.January, Day: 0}
		ok      = NewDate(2026, time.January, 15)
		line    = InvoiceLineParams{Description: "d", UnitPrice: decimal.NewFromInt(1), RevenueAccountID: "r"}
		bline   = BillLineParams{Description: "d", UnitPrice: decimal.NewFromInt(1), ExpenseAccountID: "e"}
		jlines  = []JournalEntryLineParams{{AccountID: "a", EntryType: EntryTypeDebit, Amount: decimal.NewFromInt(1)},
			{AccountID: "b", EntryType: EntryTypeCredit, Amount: decimal.NewFromInt(1)}}
	)
	tests := []struct {
		name    string
		call    func(ctx context.Context, c *Client) error
		wantErr string
	}{
		{"list filter 2026-02-30", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.List(ctx, &InvoiceListParams{DateFrom: feb30})
			return err
		}, "GET /invoices: date_from: invalid date 2026-02-30"},
		{"list filter month 13, All", func(ctx context.Context, c *Client) error {
			return firstOf(c.Invoices.All(ctx, &InvoiceListParams{DateTo: month13}))
		}, "GET /invoices: date_to: invalid date 2026-13-01"},
		{"journal list filter day 0", func(ctx context.Context, c *Client) error {
			_, err := c.JournalEntries.List(ctx, &JournalEntryListParams{DateFrom: day0})
			return err
		}, "date_from: invalid date 2026-01-00"},
		{"journal list filter month 13, All", func(ctx context.Context, c *Client) error {
			return firstOf(c.JournalEntries.All(ctx, &JournalEntryListParams{DateTo: month13}))
		}, "date_to: invalid date 2026-13-01"},
		{"negative page", func(ctx context.Context, c *Client) error {
			_, err := c.Customers.List(ctx, &CustomerListParams{ListOptions: ListOptions{Page: -1}})
			return err
		}, "page: -1 is not a page number"},
		{"negative page size, All", func(ctx context.Context, c *Client) error {
			return firstOf(c.Companies.All(ctx, &CompanyListParams{ListOptions: ListOptions{PageSize: -5}}))
		}, "GET /companies: page_size: -5 is negative"},
		{"negative page, companies", func(ctx context.Context, c *Client) error {
			_, err := c.Companies.List(ctx, &CompanyListParams{ListOptions: ListOptions{Page: -2}})
			return err
		}, "GET /companies: page: -2"},
		{"report date 2026-02-30", func(ctx context.Context, c *Client) error {
			_, err := c.Reports.ProfitLoss(ctx, &ProfitLossParams{PeriodStart: feb30, PeriodEnd: ok})
			return err
		}, "period_start: invalid date 2026-02-30"},
		{"report date zero", func(ctx context.Context, c *Client) error {
			_, err := c.Reports.ProfitLoss(ctx, &ProfitLossParams{PeriodStart: ok})
			return err
		}, "period_end: invalid date 0000-00-00: a date is required"},
		{"report date month 13", func(ctx context.Context, c *Client) error {
			_, err := c.Reports.BalanceSheet(ctx, &BalanceSheetParams{AsOfDate: month13})
			return err
		}, "as_of_date: invalid date 2026-13-01"},
		{"create: zero invoice date", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Create(ctx, &InvoiceCreateParams{CustomerID: "c", Lines: []InvoiceLineParams{line}})
			return err
		}, "POST /invoices: invoice_date: invalid date 0000-00-00: a date is required"},
		{"create: invoice date 2026-02-30", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Create(ctx, &InvoiceCreateParams{CustomerID: "c", InvoiceDate: feb30, Lines: []InvoiceLineParams{line}})
			return err
		}, "invoice_date: invalid date 2026-02-30: not a calendar date"},
		{"create: due date set to the zero Date", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Create(ctx, &InvoiceCreateParams{CustomerID: "c", InvoiceDate: ok, DueDate: &Date{}, Lines: []InvoiceLineParams{line}})
			return err
		}, "due_date: invalid date 0000-00-00"},
		{"create: bill due date month 13", func(ctx context.Context, c *Client) error {
			_, err := c.Bills.Create(ctx, &BillCreateParams{VendorID: "v", BillDate: ok, DueDate: &month13, Lines: []BillLineParams{bline}})
			return err
		}, "POST /bills: due_date: invalid date 2026-13-01"},
		{"create: zero bill date", func(ctx context.Context, c *Client) error {
			_, err := c.Bills.Create(ctx, &BillCreateParams{VendorID: "v", Lines: []BillLineParams{bline}})
			return err
		}, "bill_date: invalid date 0000-00-00: a date is required"},
		{"create: zero entry date", func(ctx context.Context, c *Client) error {
			_, err := c.JournalEntries.Create(ctx, &JournalEntryCreateParams{Description: "d", Lines: jlines})
			return err
		}, "POST /journal-entries: entry_date: invalid date 0000-00-00"},
		{"create: payment date 2026-02-30", func(ctx context.Context, c *Client) error {
			_, err := c.Payments.Create(ctx, &PaymentCreateParams{CustomerID: "c", PaymentDate: feb30, Amount: decimal.NewFromInt(1),
				PaymentMethod: PaymentMethodACH, DepositAccountID: "d"})
			return err
		}, "POST /payments: payment_date: invalid date 2026-02-30"},
		{"update: invoice date 2026-02-30", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Update(ctx, "i-1", &InvoiceUpdateParams{InvoiceDate: &feb30})
			return err
		}, "PATCH /invoices/{id}: invoice_date: invalid date 2026-02-30"},
		{"update: due date set to the zero Date", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Update(ctx, "i-1", &InvoiceUpdateParams{DueDate: Ptr(Date{})})
			return err
		}, "due_date: invalid date 0000-00-00"},
		{"update: lines set to none", func(ctx context.Context, c *Client) error {
			_, err := c.Invoices.Update(ctx, "i-1", &InvoiceUpdateParams{Lines: []InvoiceLineParams{}})
			return err
		}, "lines: an invoice needs at least 1 line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				requests.Add(1)
				_, _ = io.WriteString(w, `{}`)
			}))
			t.Cleanup(srv.Close)
			c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), WithCompany("co-1")))
			err := tt.call(context.Background(), c)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidParams)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "atlas: invalid parameters: "), err.Error())
			assert.Zero(t, requests.Load(), "no request is sent")
		})
	}
}

// queryOf refuses what it cannot send rather than dropping it.
func TestQueryOfRefusesWhatItCannotSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		params  any
		wantErr string
	}{
		{"no url tag", &struct{ Status string }{"sent"}, "field Status has no url tag"},
		{"a float", &struct {
			Min float64 `url:"min"`
		}{1.5}, "min: a float64 cannot be sent"},
		{"a slice", &struct {
			IDs []string `url:"ids"`
		}{[]string{"a"}}, "ids: a []string cannot be sent"},
		{"an impossible *Date", &struct {
			From *Date `url:"from"`
		}{&Date{Year: 2026, Month: 2, Day: 30}}, "from: invalid date 2026-02-30"},
		{"the zero Date behind a pointer", &struct {
			From *Date `url:"from"`
		}{&Date{}}, "from: invalid date 0000-00-00"},
	}
	for _, tt := range tests {
		_, _, err := queryOf(tt.params)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.wantErr, tt.name)
	}
	// A zero value is not set, so it is no error: the filter stays off.
	_, q, err := queryOf(&struct {
		Min float64 `url:"min"`
	}{})
	require.NoError(t, err)
	assert.Empty(t, q)
	// A field without a url tag is refused even when zero: it could never be sent.
	_, _, err = queryOf(&struct{ IDs []string }{})
	assert.ErrorContains(t, err, "field IDs has no url tag")
}

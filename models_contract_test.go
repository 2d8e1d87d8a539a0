package atlas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

var (
	contractOnce sync.Once
	contractDoc  *openapi3.T
	contractErr  error
)

// contract loads api/openapi.yaml, the project's copy of the API contract.
func contract(t *testing.T) *openapi3.T {
	t.Helper()
	contractOnce.Do(func() {
		contractDoc, contractErr = openapi3.NewLoader().LoadFromFile("api/openapi.yaml")
	})
	require.NoError(t, contractErr)
	return contractDoc
}

// responseModels map the contract's response schemas to the SDK's types.
var responseModels = map[string]any{
	"Address": atlas.Address{}, "Customer": atlas.Customer{}, "Vendor": atlas.Vendor{}, "Account": atlas.Account{},
	"Invoice": atlas.Invoice{}, "InvoiceLine": atlas.InvoiceLine{}, "Bill": atlas.Bill{}, "BillLine": atlas.BillLine{},
	"JournalEntry": atlas.JournalEntry{}, "JournalEntryLine": atlas.JournalEntryLine{},
	"Payment": atlas.Payment{}, "PaymentApplication": atlas.PaymentApplication{}, "Period": atlas.Period{},
	"ProfitLossReport": atlas.ProfitLossReport{}, "ProfitLossCategory": atlas.ProfitLossCategory{},
	"ProfitLossSection": atlas.ProfitLossSection{}, "ProfitLossItem": atlas.ProfitLossItem{},
	"BalanceSheetReport": atlas.BalanceSheetReport{}, "BalanceSheetCategory": atlas.BalanceSheetCategory{},
	"BalanceSheetSection": atlas.BalanceSheetSection{}, "BalanceSheetItem": atlas.BalanceSheetItem{},
}

// requestModels map the contract's request schemas to the SDK's params types.
var requestModels = map[string]any{
	"AddressInput": atlas.AddressParams{}, "CustomerCreate": atlas.CustomerCreateParams{}, "CustomerUpdate": atlas.CustomerUpdateParams{},
	"VendorCreate": atlas.VendorCreateParams{}, "VendorUpdate": atlas.VendorUpdateParams{},
	"InvoiceCreate": atlas.InvoiceCreateParams{}, "InvoiceUpdate": atlas.InvoiceUpdateParams{}, "InvoiceLineCreate": atlas.InvoiceLineParams{},
	"BillCreate": atlas.BillCreateParams{}, "BillLineCreate": atlas.BillLineParams{},
	"JournalEntryCreate": atlas.JournalEntryCreateParams{}, "JournalEntryLineCreate": atlas.JournalEntryLineParams{},
	"PaymentCreate": atlas.PaymentCreateParams{}, "VoidRequest": atlas.VoidParams{},
}

// enums map the contract's enums to the SDK's constants.
var enums = map[string][]string{
	"PaymentTerms": strs(atlas.PaymentTermsDueOnReceipt, atlas.PaymentTermsNet15, atlas.PaymentTermsNet30, atlas.PaymentTermsNet60, atlas.PaymentTermsNet90),
	"PaymentMethod": strs(atlas.PaymentMethodCash, atlas.PaymentMethodCheck, atlas.PaymentMethodCreditCard, atlas.PaymentMethodACH,
		atlas.PaymentMethodWire, atlas.PaymentMethodOther),
	"AccountType":   strs(atlas.AccountTypeAsset, atlas.AccountTypeLiability, atlas.AccountTypeEquity, atlas.AccountTypeRevenue, atlas.AccountTypeExpense),
	"NormalBalance": strs(atlas.NormalBalanceDebit, atlas.NormalBalanceCredit),
	"EntryType":     strs(atlas.EntryTypeDebit, atlas.EntryTypeCredit),
	"InvoiceStatus": strs(atlas.InvoiceStatusDraft, atlas.InvoiceStatusSent, atlas.InvoiceStatusPartial, atlas.InvoiceStatusPaid,
		atlas.InvoiceStatusOverdue, atlas.InvoiceStatusVoid),
	"BillStatus":         strs(atlas.BillStatusDraft, atlas.BillStatusApproved, atlas.BillStatusPartial, atlas.BillStatusPaid, atlas.BillStatusVoid),
	"JournalEntryStatus": strs(atlas.JournalEntryStatusDraft, atlas.JournalEntryStatusPosted, atlas.JournalEntryStatusVoid),
	"PeriodStatus":       strs(atlas.PeriodStatusOpen, atlas.PeriodStatusClosed),
}

// sortBy map the contract's sort_by parameters to the SDK's constants.
var sortBy = map[string][]string{
	"CompanySortBy":  strs(atlas.CompanySortByCreatedAt, atlas.CompanySortByName),
	"CustomerSortBy": strs(atlas.CustomerSortByCreatedAt, atlas.CustomerSortByDisplayName, atlas.CustomerSortByCustomerNumber),
	"VendorSortBy":   strs(atlas.VendorSortByCreatedAt, atlas.VendorSortByDisplayName, atlas.VendorSortByVendorNumber),
	"AccountSortBy":  strs(atlas.AccountSortByCreatedAt, atlas.AccountSortByAccountNumber, atlas.AccountSortByName),
	"InvoiceSortBy": strs(atlas.InvoiceSortByCreatedAt, atlas.InvoiceSortByInvoiceDate, atlas.InvoiceSortByDueDate,
		atlas.InvoiceSortByTotalAmount, atlas.InvoiceSortByInvoiceNumber),
	"BillSortBy": strs(atlas.BillSortByCreatedAt, atlas.BillSortByBillDate, atlas.BillSortByDueDate, atlas.BillSortByTotalAmount,
		atlas.BillSortByBillNumber),
	"JournalEntrySortBy": strs(atlas.JournalEntrySortByCreatedAt, atlas.JournalEntrySortByEntryDate, atlas.JournalEntrySortByEntryNumber),
	"PaymentSortBy": strs(atlas.PaymentSortByCreatedAt, atlas.PaymentSortByPaymentDate, atlas.PaymentSortByAmount,
		atlas.PaymentSortByPaymentNumber),
	"PeriodSortBy": strs(atlas.PeriodSortByCreatedAt, atlas.PeriodSortByStartDate),
}

func strs[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// jsonFields returns the JSON name of every field of struct type t.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = f
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	decimalType = reflect.TypeFor[decimal.Decimal]()
	dateType    = reflect.TypeFor[atlas.Date]()
	timeType    = reflect.TypeFor[time.Time]()
)

// wantGoType says which Go type a property of the contract must have, judged
// by the primitive schema it refers to; nil when any type will do.
func wantGoType(prop *openapi3.SchemaRef) reflect.Type {
	ref := prop.Ref
	if ref == "" && len(prop.Value.OneOf) > 0 {
		for _, o := range prop.Value.OneOf {
			if o.Ref != "" {
				ref = o.Ref
			}
		}
	}
	switch ref[strings.LastIndex(ref, "/")+1:] {
	case "Money", "NonNegativeMoney", "PositiveMoney", "Quantity", "TaxRate":
		return decimalType
	case "Date":
		return dateType
	case "DateTime":
		return timeType
	}
	if prop.Value.Format == "date-time" || prop.Value.Description != "" && strings.Contains(prop.Value.Description, "ISO 8601") {
		return timeType
	}
	return nil
}

func nullable(prop *openapi3.SchemaRef) bool {
	if prop.Value.Type != nil && prop.Value.Type.Includes("null") {
		return true
	}
	for _, o := range prop.Value.OneOf {
		if o.Value.Type != nil && o.Value.Type.Is("null") {
			return true
		}
	}
	return false
}

func TestModelsFollowTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	for name, model := range responseModels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "schema %s", name)
			schema := ref.Value
			fields := jsonFields(reflect.TypeOf(model))
			assert.Equal(t, keys(schema.Properties), keys(fields), "fields of %s", name)
			for prop, ps := range schema.Properties {
				f, ok := fields[prop]
				if !ok {
					continue
				}
				ft := f.Type
				if nullable(ps) {
					require.Equal(t, reflect.Pointer, ft.Kind(), "%s.%s is nullable: want a pointer", name, prop)
					ft = ft.Elem()
				} else {
					require.Contains(t, schema.Required, prop, "%s.%s", name, prop)
					assert.NotEqual(t, reflect.Pointer, ft.Kind(), "%s.%s is required and not nullable", name, prop)
				}
				if want := wantGoType(ps); want != nil {
					assert.Equal(t, want, ft, "%s.%s", name, prop)
				}
			}
		})
	}
}

func TestParamsFollowTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	for name, model := range requestModels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "schema %s", name)
			schema := ref.Value
			fields := jsonFields(reflect.TypeOf(model))
			assert.Equal(t, keys(schema.Properties), keys(fields), "fields of %s", name)
			for prop, ps := range schema.Properties {
				f, ok := fields[prop]
				if !ok {
					continue
				}
				required := slices.Contains(schema.Required, prop)
				omit := strings.Contains(f.Tag.Get("json"), ",omitempty")
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if required {
					assert.False(t, omit, "%s.%s is required: it must always be sent", name, prop)
				}
				if want := wantGoType(ps); want != nil {
					assert.Equal(t, want, ft, "%s.%s", name, prop)
				}
			}
		})
	}
}

func TestEnumsFollowTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	for name, values := range enums {
		ref := doc.Components.Schemas[name]
		require.NotNil(t, ref, name)
		assert.ElementsMatch(t, ref.Value.Enum, anys(values), name)
	}
	for name, values := range sortBy {
		ref := doc.Components.Parameters[name]
		require.NotNil(t, ref, name)
		assert.ElementsMatch(t, ref.Value.Schema.Value.Enum, anys(values), name)
	}
}

func anys(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// decodeStrict decodes data into a new T, refusing unknown fields.
func decodeStrict[T any](data []byte) (*T, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	v := new(T)
	return v, dec.Decode(v)
}

func TestContractExamplesDecode(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	decoders := map[string]func([]byte) (any, error){
		"Customer":           decodeAs[atlas.Customer],
		"CustomerList":       decodeAs[atlas.Page[atlas.Customer]],
		"Vendor":             decodeAs[atlas.Vendor],
		"VendorList":         decodeAs[atlas.Page[atlas.Vendor]],
		"Account":            decodeAs[atlas.Account],
		"AccountList":        decodeAs[atlas.Page[atlas.Account]],
		"InvoiceDraft":       decodeAs[atlas.Invoice],
		"InvoiceSent":        decodeAs[atlas.Invoice],
		"InvoiceVoid":        decodeAs[atlas.Invoice],
		"InvoiceList":        decodeAs[atlas.Page[atlas.Invoice]],
		"BillDraft":          decodeAs[atlas.Bill],
		"BillApproved":       decodeAs[atlas.Bill],
		"BillVoid":           decodeAs[atlas.Bill],
		"BillList":           decodeAs[atlas.Page[atlas.Bill]],
		"JournalEntryDraft":  decodeAs[atlas.JournalEntry],
		"JournalEntryPosted": decodeAs[atlas.JournalEntry],
		"JournalEntryVoid":   decodeAs[atlas.JournalEntry],
		"JournalEntryList":   decodeAs[atlas.Page[atlas.JournalEntry]],
		"Payment":            decodeAs[atlas.Payment],
		"PaymentList":        decodeAs[atlas.Page[atlas.Payment]],
		"PeriodClosed":       decodeAs[atlas.Period],
		"PeriodList":         decodeAs[atlas.Page[atlas.Period]],
		"ProfitLossReport":   decodeAs[atlas.ProfitLossReport],
		"BalanceSheetReport": decodeAs[atlas.BalanceSheetReport],
	}
	for name, decode := range decoders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ex := doc.Components.Examples[name]
			require.NotNil(t, ex, name)
			data, err := json.Marshal(ex.Value.Value)
			require.NoError(t, err)
			_, err = decode(data)
			require.NoError(t, err)
		})
	}

	inv, err := decodeStrict[atlas.Invoice](exampleJSON(t, doc, "InvoiceSent"))
	require.NoError(t, err)
	assert.Equal(t, atlas.InvoiceStatusSent, inv.Status)
	require.NotNil(t, inv.SentAt)
	sum := decimal.Zero
	for _, l := range inv.Lines {
		sum = sum.Add(l.Amount).Add(l.TaxAmount)
	}
	assert.True(t, sum.Equal(inv.TotalAmount), "lines add up to %s, total %s", sum, inv.TotalAmount)

	bs, err := decodeStrict[atlas.BalanceSheetReport](exampleJSON(t, doc, "BalanceSheetReport"))
	require.NoError(t, err)
	assert.True(t, bs.IsBalanced)
	assert.True(t, bs.TotalAssets.Equal(bs.Liabilities.Total.Add(bs.Equity.Total)))
	assert.Equal(t, time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC), bs.GeneratedAt)
}

func decodeAs[T any](data []byte) (any, error) { return decodeStrict[T](data) }

func exampleJSON(t *testing.T, doc *openapi3.T, name string) []byte {
	t.Helper()
	data, err := json.Marshal(doc.Components.Examples[name].Value.Value)
	require.NoError(t, err)
	return data
}

// TestRequestExamplesRoundTrip decodes each request body example of the
// contract into its params type (refusing unknown fields), encodes it again
// and validates what the SDK would send against the request schema.
func TestRequestExamplesRoundTrip(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	params := map[string]func([]byte) (any, error){
		"createCustomer":     decodeAs[atlas.CustomerCreateParams],
		"updateCustomer":     decodeAs[atlas.CustomerUpdateParams],
		"createVendor":       decodeAs[atlas.VendorCreateParams],
		"updateVendor":       decodeAs[atlas.VendorUpdateParams],
		"createInvoice":      decodeAs[atlas.InvoiceCreateParams],
		"updateInvoice":      decodeAs[atlas.InvoiceUpdateParams],
		"voidInvoice":        decodeAs[atlas.VoidParams],
		"createBill":         decodeAs[atlas.BillCreateParams],
		"voidBill":           decodeAs[atlas.VoidParams],
		"createJournalEntry": decodeAs[atlas.JournalEntryCreateParams],
		"voidJournalEntry":   decodeAs[atlas.VoidParams],
		"createPayment":      decodeAs[atlas.PaymentCreateParams],
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || strings.HasPrefix(path, "/auth/") {
				continue
			}
			// Not parallel: the subtests fill seen, which the test checks
			// once they have all run.
			t.Run(op.OperationID, func(t *testing.T) {
				decode, ok := params[op.OperationID]
				require.True(t, ok, "%s %s has a body the SDK has no params type for", method, path)
				seen[op.OperationID] = true
				media := op.RequestBody.Value.Content.Get("application/json")
				require.NotNil(t, media.Example, op.OperationID)
				in, err := json.Marshal(media.Example)
				require.NoError(t, err)
				v, err := decode(in)
				require.NoError(t, err)
				out, err := json.Marshal(v)
				require.NoError(t, err)
				var sent any
				require.NoError(t, json.Unmarshal(out, &sent))
				assert.NoError(t, media.Schema.Value.VisitJSON(sent), "%s sends %s", op.OperationID, out)
				// Every field of the example reaches the wire, and nothing else does.
				assert.Equal(t, keys(media.Example.(map[string]any)), keys(sent.(map[string]any)))
			})
		}
	}
	assert.Len(t, seen, len(params))
}

// strictTransport decodes the body of every 2xx answer from the resource
// routes into the SDK's model for the route, refusing unknown fields, so that
// a field atlastest sends and the SDK would drop fails the test.
type strictTransport struct {
	t    *testing.T
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool // "METHOD /pattern"
}

// strictDecoders map a route pattern to the decoder of its 2xx body.
var strictDecoders = map[string]func([]byte) (any, error){
	"GET /contacts/customers":         decodeAs[atlas.Page[atlas.Customer]],
	"POST /contacts/customers":        decodeAs[atlas.Customer],
	"GET /contacts/customers/{id}":    decodeAs[atlas.Customer],
	"PATCH /contacts/customers/{id}":  decodeAs[atlas.Customer],
	"GET /contacts/vendors":           decodeAs[atlas.Page[atlas.Vendor]],
	"POST /contacts/vendors":          decodeAs[atlas.Vendor],
	"GET /contacts/vendors/{id}":      decodeAs[atlas.Vendor],
	"PATCH /contacts/vendors/{id}":    decodeAs[atlas.Vendor],
	"GET /chart-of-accounts":          decodeAs[atlas.Page[atlas.Account]],
	"GET /chart-of-accounts/{id}":     decodeAs[atlas.Account],
	"GET /invoices":                   decodeAs[atlas.Page[atlas.Invoice]],
	"POST /invoices":                  decodeAs[atlas.Invoice],
	"GET /invoices/{id}":              decodeAs[atlas.Invoice],
	"PATCH /invoices/{id}":            decodeAs[atlas.Invoice],
	"POST /invoices/{id}/send":        decodeAs[atlas.Invoice],
	"POST /invoices/{id}/void":        decodeAs[atlas.Invoice],
	"GET /bills":                      decodeAs[atlas.Page[atlas.Bill]],
	"POST /bills":                     decodeAs[atlas.Bill],
	"GET /bills/{id}":                 decodeAs[atlas.Bill],
	"POST /bills/{id}/approve":        decodeAs[atlas.Bill],
	"POST /bills/{id}/void":           decodeAs[atlas.Bill],
	"GET /journal-entries":            decodeAs[atlas.Page[atlas.JournalEntry]],
	"POST /journal-entries":           decodeAs[atlas.JournalEntry],
	"GET /journal-entries/{id}":       decodeAs[atlas.JournalEntry],
	"POST /journal-entries/{id}/post": decodeAs[atlas.JournalEntry],
	"POST /journal-entries/{id}/void": decodeAs[atlas.JournalEntry],
	"GET /payments":                   decodeAs[atlas.Page[atlas.Payment]],
	"POST /payments":                  decodeAs[atlas.Payment],
	"GET /payments/{id}":              decodeAs[atlas.Payment],
	"GET /periods":                    decodeAs[atlas.Page[atlas.Period]],
	"POST /periods/{id}/close":        decodeAs[atlas.Period],
	"GET /reports/profit-loss":        decodeAs[atlas.ProfitLossReport],
	"GET /reports/balance-sheet":      decodeAs[atlas.BalanceSheetReport],
}

func (s *strictTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err != nil || resp.StatusCode >= 300 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1"), "/")
	if len(parts) > 2 && parts[1] != "contacts" && parts[1] != "reports" {
		parts[2] = "{id}"
	} else if len(parts) > 3 && parts[1] == "contacts" {
		parts[3] = "{id}"
	}
	route := r.Method + " " + strings.Join(parts, "/")
	if decode, ok := strictDecoders[route]; ok {
		if _, err := decode(body); err != nil {
			s.t.Errorf("%s: the SDK's model does not take atlastest's answer: %v\n%s", route, err, body)
		}
		s.mu.Lock()
		s.seen[route] = true
		s.mu.Unlock()
	}
	return resp, nil
}

// TestAtlastestAnswersDecodeStrictly calls every resource route of the
// contract on atlastest and decodes each answer into the SDK's models with
// unknown fields refused: the two independent implementations must agree on
// every field name.
func TestAtlastestAnswersDecodeStrictly(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer(atlastest.WithClock(atlastest.FixedClock(storyDay)), atlastest.WithInvoices(20))
	t.Cleanup(srv.Close)
	st := &strictTransport{t: t, next: srv.Client().Transport, seen: map[string]bool{}}
	c, _ := atlas.Setup(t, atlas.OnServer(srv), atlas.ClientOptions(atlas.WithHTTPClient(&http.Client{Transport: st})))
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		require.NoError(t, err)
	}

	cu, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Strict Co", BillingAddress: &atlas.AddressParams{City: "Springfield"}})
	require.NoError(t, err)
	must(c.Customers.Get(ctx, cu.ID))
	must(c.Customers.Update(ctx, cu.ID, &atlas.CustomerUpdateParams{Notes: atlas.Ptr("n")}))
	must(c.Customers.List(ctx, nil))
	v, err := c.Vendors.Create(ctx, &atlas.VendorCreateParams{DisplayName: "Strict Supplies"})
	require.NoError(t, err)
	must(c.Vendors.Get(ctx, v.ID))
	must(c.Vendors.Update(ctx, v.ID, &atlas.VendorUpdateParams{Notes: atlas.Ptr("n")}))
	must(c.Vendors.List(ctx, nil))
	must(c.Accounts.List(ctx, nil))
	must(c.Accounts.Get(ctx, srv.AccountID("1000")))

	inv := sentInvoice(t, c, srv, cu.ID, "100.00")
	must(c.Invoices.Get(ctx, inv.ID))
	must(c.Invoices.List(ctx, nil))
	draft, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{CustomerID: cu.ID, InvoiceDate: mar10,
		Lines: []atlas.InvoiceLineParams{{Description: "d", UnitPrice: money("1"), RevenueAccountID: srv.AccountID("4000")}}})
	require.NoError(t, err)
	must(c.Invoices.Update(ctx, draft.ID, &atlas.InvoiceUpdateParams{Notes: atlas.Ptr("x")}))
	must(c.Invoices.Void(ctx, draft.ID, &atlas.VoidParams{Reason: "r"}))
	p, err := c.Payments.Create(ctx, &atlas.PaymentCreateParams{CustomerID: cu.ID, PaymentDate: mar10, Amount: money("50"),
		PaymentMethod: atlas.PaymentMethodWire, DepositAccountID: srv.AccountID("1000"),
		Applications: []atlas.PaymentApplication{{InvoiceID: inv.ID, AmountApplied: money("50")}}})
	require.NoError(t, err)
	must(c.Payments.Get(ctx, p.ID))
	must(c.Payments.List(ctx, nil))

	b, err := c.Bills.Create(ctx, &atlas.BillCreateParams{VendorID: v.ID, BillDate: mar10,
		Lines: []atlas.BillLineParams{{Description: "d", UnitPrice: money("1"), ExpenseAccountID: srv.AccountID("6100")}}})
	require.NoError(t, err)
	must(c.Bills.Approve(ctx, b.ID))
	must(c.Bills.Get(ctx, b.ID))
	must(c.Bills.List(ctx, nil))
	must(c.Bills.Void(ctx, b.ID, &atlas.VoidParams{Reason: "r"}))

	je, err := c.JournalEntries.Create(ctx, rentAccrual(t, c, mar10, "1", "1"))
	require.NoError(t, err)
	must(c.JournalEntries.Post(ctx, je.ID))
	must(c.JournalEntries.Get(ctx, je.ID))
	must(c.JournalEntries.List(ctx, nil))
	must(c.JournalEntries.Void(ctx, je.ID, &atlas.VoidParams{Reason: "r"}))

	periods, err := c.Periods.List(ctx, nil)
	require.NoError(t, err)
	must(c.Periods.Close(ctx, periods.Items[0].ID))
	must(c.Reports.ProfitLoss(ctx, &atlas.ProfitLossParams{PeriodStart: mar1, PeriodEnd: mar31}))
	must(c.Reports.BalanceSheet(ctx, &atlas.BalanceSheetParams{AsOfDate: mar31}))

	assert.Equal(t, keys(strictDecoders), keys(st.seen), "every resource route was called")
}

// visibleJSONFields returns the JSON name of every field of struct type t as
// encoding/json sees it: the fields of an embedded struct count as t's own.
func visibleJSONFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = f
		}
	}
	return out
}

// TestMeFollowsTheContract checks that Me, which embeds User, still has
// exactly the contract's fields at the top level of the object: it decodes
// the contract's example with unknown fields refused, and what it encodes
// again validates against the Me schema with the same keys.
func TestMeFollowsTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	for name, model := range map[string]any{"Me": atlas.Me{}, "User": atlas.User{}} {
		schema := doc.Components.Schemas[name]
		require.NotNil(t, schema, name)
		assert.Equal(t, keys(schema.Value.Properties), keys(visibleJSONFields(reflect.TypeOf(model))), "fields of %s", name)
	}

	data := exampleJSON(t, doc, "Me")
	me, err := decodeStrict[atlas.Me](data)
	require.NoError(t, err)
	assert.Equal(t, atlas.User{ID: "3f9c2d1e-8b7a-4c6d-9e0f-1a2b3c4d5e6f", Email: "jane.doe@example.com", FullName: "Jane Doe",
		Role: atlas.RoleAccountant}, me.User)
	assert.Equal(t, "Jane Doe", me.FullName, "User's fields are promoted")
	assert.Equal(t, atlas.Organization{ID: "7d2e4f60-1c3b-4a59-8e7d-6f5a4b3c2d1e", Name: "Acme Holdings"}, me.Organization)
	require.Len(t, me.Companies, 2)
	assert.Equal(t, atlas.RoleViewer, me.Companies[1].Role)

	out, err := json.Marshal(me)
	require.NoError(t, err)
	var sent, example map[string]any
	require.NoError(t, json.Unmarshal(out, &sent))
	require.NoError(t, json.Unmarshal(data, &example))
	assert.Equal(t, example, sent, "Me encodes as the contract's example, with no nested user object")
	assert.NoError(t, doc.Components.Schemas["Me"].Value.VisitJSON(sent))
}

// TestMeOnAtlastest decodes atlastest's GET /auth/me strictly into Me and
// checks that its User is the one the login returned.
func TestMeOnAtlastest(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewServer(atlastest.WithSecondCompany())
	t.Cleanup(srv.Close)
	bt := &bodyTap{next: srv.Client().Transport, path: "/auth/me"}
	c, _ := atlas.Setup(t, atlas.OnServer(srv), atlas.ClientOptions(atlas.WithHTTPClient(&http.Client{Transport: bt})))
	ctx := context.Background()

	u, err := c.Auth.Login(ctx, srv.Email(), srv.Password())
	require.NoError(t, err)
	me, err := c.Auth.Me(ctx)
	require.NoError(t, err)
	assert.Equal(t, *u, me.User)
	assert.Equal(t, srv.Email(), me.Email)
	assert.NotEmpty(t, me.ID)
	assert.NotEmpty(t, me.FullName)
	assert.NotEmpty(t, me.Role)
	assert.NotEmpty(t, me.Organization.Name)
	ids := make([]string, 0, len(me.Companies))
	for _, m := range me.Companies {
		ids = append(ids, m.ID)
	}
	assert.ElementsMatch(t, []string{srv.CompanyID(), srv.SecondCompanyID()}, ids)

	body := bt.last()
	require.NotEmpty(t, body)
	strict, err := decodeStrict[atlas.Me](body)
	require.NoError(t, err, "%s", body)
	assert.Equal(t, me, strict)
	var sent any
	require.NoError(t, json.Unmarshal(body, &sent))
	assert.NoError(t, contract(t).Components.Schemas["Me"].Value.VisitJSON(sent), "atlastest's answer against the contract")
}

// bodyTap keeps the body of the last 2xx answer for a path ending in path.
type bodyTap struct {
	next http.RoundTripper
	path string
	mu   sync.Mutex
	body []byte
}

func (b *bodyTap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	if err != nil || resp.StatusCode >= 300 || !strings.HasSuffix(r.URL.Path, b.path) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	b.mu.Lock()
	b.body = body
	b.mu.Unlock()
	return resp, nil
}

func (b *bodyTap) last() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.body
}

package atlas_test

import (
	"bytes"
	"encoding/json"
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
	"CustomerSortBy": {atlas.CustomerSortByCreatedAt, atlas.CustomerSortByDisplayName, atlas.CustomerSortByCustomerNumber},
	"VendorSortBy":   {atlas.VendorSortByCreatedAt, atlas.VendorSortByDisplayName, atlas.VendorSortByVendorNumber},
	"AccountSortBy":  {atlas.AccountSortByCreatedAt, atlas.AccountSortByAccountNumber, atlas.AccountSortByName},
	"InvoiceSortBy": {atlas.InvoiceSortByCreatedAt, atlas.InvoiceSortByInvoiceDate, atlas.InvoiceSortByDueDate,
		atlas.InvoiceSortByTotalAmount, atlas.InvoiceSortByInvoiceNumber},
	"BillSortBy": {atlas.BillSortByCreatedAt, atlas.BillSortByBillDate, atlas.BillSortByDueDate, atlas.BillSortByTotalAmount,
		atlas.BillSortByBillNumber},
	"JournalEntrySortBy": {atlas.JournalEntrySortByCreatedAt, atlas.JournalEntrySortByEntryDate, atlas.JournalEntrySortByEntryNumber},
	"PaymentSortBy": {atlas.PaymentSortByCreatedAt, atlas.PaymentSortByPaymentDate, atlas.PaymentSortByAmount,
		atlas.PaymentSortByPaymentNumber},
	"PeriodSortBy": {atlas.PeriodSortByCreatedAt, atlas.PeriodSortByStartDate},
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
	doc := contract(t)
	for name, model := range responseModels {
		t.Run(name, func(t *testing.T) {
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
	doc := contract(t)
	for name, model := range requestModels {
		t.Run(name, func(t *testing.T) {
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

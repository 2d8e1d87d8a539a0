package atlas_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	atlas "github.com/atlas-accounting/atlas-go"
)

// sortedList is a list operation of the contract that takes sort_by.
type sortedList struct {
	op     string // the contract's operationId
	params any    // the SDK's params type; its SortBy field has the key type
	// list calls the operation through the SDK, sorted by key.
	list func(ctx context.Context, c *atlas.Client, key string) error
}

// sortedLists are the SDK's lists, one for each list operation of the contract.
var sortedLists = []sortedList{
	{"listCompanies", atlas.CompanyListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Companies.List(ctx, &atlas.CompanyListParams{SortBy: atlas.CompanySortBy(key)})
		return err
	}},
	{"listCustomers", atlas.CustomerListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Customers.List(ctx, &atlas.CustomerListParams{SortBy: atlas.CustomerSortBy(key)})
		return err
	}},
	{"listVendors", atlas.VendorListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Vendors.List(ctx, &atlas.VendorListParams{SortBy: atlas.VendorSortBy(key)})
		return err
	}},
	{"listAccounts", atlas.AccountListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Accounts.List(ctx, &atlas.AccountListParams{SortBy: atlas.AccountSortBy(key)})
		return err
	}},
	{"listInvoices", atlas.InvoiceListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Invoices.List(ctx, &atlas.InvoiceListParams{SortBy: atlas.InvoiceSortBy(key)})
		return err
	}},
	{"listBills", atlas.BillListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Bills.List(ctx, &atlas.BillListParams{SortBy: atlas.BillSortBy(key)})
		return err
	}},
	{"listJournalEntries", atlas.JournalEntryListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.JournalEntries.List(ctx, &atlas.JournalEntryListParams{SortBy: atlas.JournalEntrySortBy(key)})
		return err
	}},
	{"listPayments", atlas.PaymentListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Payments.List(ctx, &atlas.PaymentListParams{SortBy: atlas.PaymentSortBy(key)})
		return err
	}},
	{"listPeriods", atlas.PeriodListParams{}, func(ctx context.Context, c *atlas.Client, key string) error {
		_, err := c.Periods.List(ctx, &atlas.PeriodListParams{SortBy: atlas.PeriodSortBy(key)})
		return err
	}},
}

// sortKeyType returns the type of the SortBy field of a params type.
func sortKeyType(t *testing.T, params any) reflect.Type {
	t.Helper()
	f, ok := reflect.TypeOf(params).FieldByName("SortBy")
	require.True(t, ok, "%T has no SortBy field", params)
	require.Equal(t, reflect.String, f.Type.Kind(), "%T.SortBy", params)
	require.Equal(t, reflect.TypeFor[atlas.Client]().PkgPath(), f.Type.PkgPath(), "%T.SortBy is not a type of the SDK", params)
	require.Equal(t, "sort_by", f.Tag.Get("url"), "%T.SortBy", params)
	return f.Type
}

// declaredConstants reads the package's source (tests left out) and returns,
// for each type whose name ends in suffix, the values of the string
// constants declared with that type, in order. Reading the source, rather
// than a list kept by hand, lets no constant escape the checks.
func declaredConstants(t *testing.T, suffix string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			var typ ast.Expr // a const spec without type or value repeats the previous one's
			var values []ast.Expr
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if strings.HasSuffix(s.Name.Name, suffix) {
						if _, ok := out[s.Name.Name]; !ok {
							out[s.Name.Name] = nil
						}
					}
				case *ast.ValueSpec:
					if gd.Tok != token.CONST {
						continue
					}
					if s.Type != nil || len(s.Values) > 0 {
						typ, values = s.Type, s.Values
					}
					id, ok := typ.(*ast.Ident)
					if !ok || !strings.HasSuffix(id.Name, suffix) {
						continue
					}
					for i, n := range s.Names {
						require.Less(t, i, len(values), "%s: constant %s has no value", fset.Position(n.Pos()), n.Name)
						lit, ok := values[i].(*ast.BasicLit)
						require.True(t, ok && lit.Kind == token.STRING, "%s: constant %s is not a string literal", fset.Position(n.Pos()), n.Name)
						v, err := strconv.Unquote(lit.Value)
						require.NoError(t, err)
						out[id.Name] = append(out[id.Name], v)
					}
				}
			}
		}
	}
	return out
}

// TestSortKeysFollowTheContract holds every sort-key type to the contract:
// each list operation that takes sort_by has a params type whose SortBy is a
// type of its own, whose constants are exactly the operation's enum (none
// missing, none extra), and every *SortBy type of the package serves one
// list. No list's SortBy takes another list's key.
func TestSortKeysFollowTheContract(t *testing.T) {
	t.Parallel()
	doc := contract(t)
	consts := declaredConstants(t, "SortBy")

	// Every list operation of the contract that takes sort_by, with its enum.
	enums := map[string][]any{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value.In == "query" && p.Value.Name == "sort_by" {
					enums[op.OperationID] = p.Value.Schema.Value.Enum
				}
			}
		}
	}
	ops := make([]string, 0, len(sortedLists))
	for _, l := range sortedLists {
		ops = append(ops, l.op)
	}
	assert.ElementsMatch(t, keys(enums), ops, "the contract's sorted lists and the SDK's")

	used := map[string]string{} // key type -> operation
	// Not parallel: the subtests share used, to find two lists with one key type.
	for _, l := range sortedLists {
		t.Run(l.op, func(t *testing.T) {
			enum, ok := enums[l.op]
			require.True(t, ok, "the contract has no sort_by for %s", l.op)
			kt := sortKeyType(t, l.params)
			if other, ok := used[kt.Name()]; ok {
				t.Errorf("%s and %s share the sort-key type %s", other, l.op, kt.Name())
			}
			used[kt.Name()] = l.op
			values, ok := consts[kt.Name()]
			require.True(t, ok, "no type %s declared in the package", kt.Name())
			require.NotEmpty(t, values, "%s has no constants", kt.Name())
			assert.ElementsMatch(t, enum, anys(values), "%s: the constants of %s against the contract's enum", l.op, kt.Name())
			sorted := slices.Clone(values)
			slices.Sort(sorted)
			assert.Equal(t, len(sorted), len(slices.Compact(sorted)), "%s has two constants of the same value", kt.Name())
		})
	}
	for name := range consts {
		assert.Contains(t, used, name, "the sort-key type %s serves no list", name)
	}

	// Go's assignability, which reflect follows: a key of another resource,
	// or a string variable, does not compile as a list's SortBy.
	for _, a := range sortedLists {
		field := sortKeyType(t, a.params)
		assert.False(t, reflect.TypeFor[string]().AssignableTo(field), "a string is assignable to the SortBy of %s", a.op)
		for _, b := range sortedLists {
			if b.op != a.op {
				other := sortKeyType(t, b.params)
				assert.False(t, other.AssignableTo(field), "a %s is assignable to the SortBy of %s", other.Name(), a.op)
			}
		}
	}
}

// TestSortKeysReachTheWire sends every constant of every sort-key type to
// atlastest, which refuses an unknown sort_by with 422, and checks that it
// arrives as sort_by with its value, and nothing else about sorting does.
func TestSortKeysReachTheWire(t *testing.T) {
	t.Parallel()
	consts := declaredConstants(t, "SortBy")
	c, srv := atlas.Setup(t)
	ctx := context.Background()
	for _, l := range sortedLists {
		kt := sortKeyType(t, l.params)
		for _, key := range consts[kt.Name()] {
			require.NoError(t, l.list(ctx, c, key), "%s sorted by %s", l.op, key)
			reqs := srv.Requests()
			require.NotEmpty(t, reqs)
			last := reqs[len(reqs)-1]
			assert.Equal(t, []string{key}, last.Query["sort_by"], "%s sorted by %s", l.op, key)
			assert.NotContains(t, last.Query, "sort_order", "%s sorted by %s", l.op, key)
		}
	}
	// An unknown key of the right type compiles but is the server's to refuse.
	err := sortedLists[0].list(ctx, c, "base_currency")
	assert.ErrorIs(t, err, atlas.ErrValidation)
}

package atlas_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/internal/redacttest"
)

// Secrets planted in the values TestNoExportedTypePrintsASecret prints.
const (
	plantedPassword = "Pw-7f3a9c1e"
	plantedAccess   = "Acc-5b2d8e4f"
	plantedRefresh  = "Ref-9c1a7b3d"
	plantedWebhook  = "Whs-3e8f2a6b"
	plantedAPIKey   = "Key-1d4c7e9a"
)

var plantedSecrets = []string{plantedPassword, plantedAccess, plantedRefresh, plantedWebhook, plantedAPIKey}

// secretHolders makes, for each exported type of package atlas that holds a
// secret, values of it with the planted secrets inside.
var secretHolders = map[string]func(t *testing.T) []any{
	"Tokens": func(*testing.T) []any {
		return []any{atlas.Tokens{AccessToken: plantedAccess, RefreshToken: plantedRefresh, Expiry: time.Unix(1e9, 0)}}
	},
	// Named for tokens, but holding none: a renewal's kind and outcome, and
	// the hooks that see them. Printed, they show no planted secret.
	"ClientTrace": func(*testing.T) []any {
		return []any{atlas.ClientTrace{TokenRenewalStart: func(ctx context.Context, _ atlas.TokenRenewalInfo) context.Context { return ctx }}}
	},
	"TokenRenewalInfo": func(*testing.T) []any { return []any{atlas.TokenRenewalInfo{Kind: atlas.TokenRefresh}} },
	"TokenRenewalDoneInfo": func(*testing.T) []any {
		return []any{atlas.TokenRenewalDoneInfo{Kind: atlas.TokenLogin, Err: errors.New("atlas: login refused")}}
	},
	"MemoryTokenStore": func(t *testing.T) []any { return []any{filledStore(t)} },
	"TokenStore":       func(t *testing.T) []any { return []any{atlas.TokenStore(filledStore(t))} },
	"TokenLocker":      func(t *testing.T) []any { return []any{atlas.TokenLocker(filledStore(t))} },
	"Client": func(t *testing.T) []any {
		c := plantedClient(t)
		return []any{c, c.ForCompany("co-2")}
	},
	"AuthService":           func(t *testing.T) []any { return []any{plantedClient(t).Auth} },
	"CompaniesService":      func(t *testing.T) []any { return []any{plantedClient(t).Companies} },
	"CustomersService":      func(t *testing.T) []any { return []any{plantedClient(t).Customers} },
	"VendorsService":        func(t *testing.T) []any { return []any{plantedClient(t).Vendors} },
	"AccountsService":       func(t *testing.T) []any { return []any{plantedClient(t).Accounts} },
	"InvoicesService":       func(t *testing.T) []any { return []any{plantedClient(t).Invoices} },
	"BillsService":          func(t *testing.T) []any { return []any{plantedClient(t).Bills} },
	"JournalEntriesService": func(t *testing.T) []any { return []any{plantedClient(t).JournalEntries} },
	"PaymentsService":       func(t *testing.T) []any { return []any{plantedClient(t).Payments} },
	"PeriodsService":        func(t *testing.T) []any { return []any{plantedClient(t).Periods} },
	"ReportsService":        func(t *testing.T) []any { return []any{plantedClient(t).Reports} },
	"Option": func(t *testing.T) []any {
		return []any{
			atlas.WithCredentials("jane@example.com", plantedPassword),
			atlas.WithTokens(plantedAccess, plantedRefresh),
			atlas.WithTokenStore(filledStore(t)),
		}
	},
	"WebhookOption": func(*testing.T) []any { return []any{atlas.WithWebhookSecrets(plantedWebhook)} },
	"RequestOption": func(*testing.T) []any { return []any{atlas.WithHeader("X-Api-Key", plantedAPIKey)} },
	"PostOption":    func(*testing.T) []any { return []any{atlas.PostOption(atlas.WithHeader("X-Api-Key", plantedAPIKey))} },
	"AllOption":     func(*testing.T) []any { return []any{atlas.AllOption(atlas.WithHeader("X-Api-Key", plantedAPIKey))} },
}

// handedOut makes values of unexported types that exported functions return
// behind an interface, with the planted secrets inside.
var handedOut = map[string]func(t *testing.T) any{
	"NewWebhookHandler": func(t *testing.T) any {
		h, err := atlas.NewWebhookHandler(plantedWebhook, func(context.Context, *atlas.WebhookEvent) error { return nil },
			atlas.WithWebhookSecrets(plantedAPIKey))
		require.NoError(t, err)
		return h
	},
}

// holdNoSecret lists the exported types of package atlas that hold no
// secret: answers, parameters, enums, errors and the interfaces a user
// implements. The test checks that none has a field named like a secret.
var holdNoSecret = map[string]reflect.Type{
	// The trace hooks' types: what a hook sees holds no secret (TestClientTraceHooksSeeNoSecret).
	"AttemptDoneInfo": typeOf[atlas.AttemptDoneInfo](), "AttemptInfo": typeOf[atlas.AttemptInfo](),
	"CallDoneInfo": typeOf[atlas.CallDoneInfo](), "CallInfo": typeOf[atlas.CallInfo](), "TokenRenewalKind": typeOf[atlas.TokenRenewalKind](),
	"WaitInfo": typeOf[atlas.WaitInfo](), "WaitReason": typeOf[atlas.WaitReason](),
	"WebhookDeliveryInfo": typeOf[atlas.WebhookDeliveryInfo](), "WebhookOutcome": typeOf[atlas.WebhookOutcome](),
	"WebhookTrace": typeOf[atlas.WebhookTrace](),
	"Account":      typeOf[atlas.Account](), "AccountListParams": typeOf[atlas.AccountListParams](),
	"AccountSortBy": typeOf[atlas.AccountSortBy](), "AccountType": typeOf[atlas.AccountType](),
	"Address": typeOf[atlas.Address](), "AddressParams": typeOf[atlas.AddressParams](),
	"BalanceSheetCategory": typeOf[atlas.BalanceSheetCategory](), "BalanceSheetItem": typeOf[atlas.BalanceSheetItem](),
	"BalanceSheetParams": typeOf[atlas.BalanceSheetParams](), "BalanceSheetReport": typeOf[atlas.BalanceSheetReport](),
	"BalanceSheetSection": typeOf[atlas.BalanceSheetSection](), "Bill": typeOf[atlas.Bill](),
	"BillApprovedData": typeOf[atlas.BillApprovedData](), "BillCreateParams": typeOf[atlas.BillCreateParams](),
	"BillLine": typeOf[atlas.BillLine](), "BillLineParams": typeOf[atlas.BillLineParams](),
	"BillListParams": typeOf[atlas.BillListParams](), "BillSortBy": typeOf[atlas.BillSortBy](),
	"BillStatus": typeOf[atlas.BillStatus](), "Company": typeOf[atlas.Company](),
	"CompanyListParams": typeOf[atlas.CompanyListParams](), "CompanyMembership": typeOf[atlas.CompanyMembership](),
	"CompanyScope": typeOf[atlas.CompanyScope](), "CompanySortBy": typeOf[atlas.CompanySortBy](),
	"Customer": typeOf[atlas.Customer](), "CustomerCreateParams": typeOf[atlas.CustomerCreateParams](),
	"CustomerListParams": typeOf[atlas.CustomerListParams](), "CustomerSortBy": typeOf[atlas.CustomerSortBy](),
	"CustomerUpdateParams": typeOf[atlas.CustomerUpdateParams](), "Date": typeOf[atlas.Date](),
	"EntryType": typeOf[atlas.EntryType](), "Error": typeOf[atlas.Error](),
	"EventData": typeOf[atlas.EventData](), "EventDeduper": typeOf[atlas.EventDeduper](),
	"EventState": typeOf[atlas.EventState](), "EventType": typeOf[atlas.EventType](),
	"FieldError": typeOf[atlas.FieldError](), "Invoice": typeOf[atlas.Invoice](),
	"InvoiceCreateParams": typeOf[atlas.InvoiceCreateParams](), "InvoiceCreatedData": typeOf[atlas.InvoiceCreatedData](),
	"InvoiceEventData": typeOf[atlas.InvoiceEventData](), "InvoiceLine": typeOf[atlas.InvoiceLine](),
	"InvoiceLineParams": typeOf[atlas.InvoiceLineParams](), "InvoiceListParams": typeOf[atlas.InvoiceListParams](),
	"InvoicePaidData": typeOf[atlas.InvoicePaidData](), "InvoiceSentData": typeOf[atlas.InvoiceSentData](),
	"InvoiceSortBy": typeOf[atlas.InvoiceSortBy](), "InvoiceStatus": typeOf[atlas.InvoiceStatus](),
	"InvoiceUpdateParams": typeOf[atlas.InvoiceUpdateParams](), "JournalEntry": typeOf[atlas.JournalEntry](),
	"JournalEntryCreateParams": typeOf[atlas.JournalEntryCreateParams](), "JournalEntryLine": typeOf[atlas.JournalEntryLine](),
	"JournalEntryLineParams": typeOf[atlas.JournalEntryLineParams](), "JournalEntryListParams": typeOf[atlas.JournalEntryListParams](),
	"JournalEntrySortBy": typeOf[atlas.JournalEntrySortBy](), "JournalEntryStatus": typeOf[atlas.JournalEntryStatus](),
	"Limiter": typeOf[atlas.Limiter](), "ListOptions": typeOf[atlas.ListOptions](),
	"Me": typeOf[atlas.Me](), "MemoryDeduper": typeOf[atlas.MemoryDeduper](),
	"NormalBalance": typeOf[atlas.NormalBalance](), "Organization": typeOf[atlas.Organization](),
	"Page": typeOf[atlas.Page[atlas.Invoice]](), "Payment": typeOf[atlas.Payment](), "PlanLimits": typeOf[atlas.PlanLimits](),
	"PaymentApplication": typeOf[atlas.PaymentApplication](), "PaymentCreateParams": typeOf[atlas.PaymentCreateParams](),
	"PaymentListParams": typeOf[atlas.PaymentListParams](), "PaymentMethod": typeOf[atlas.PaymentMethod](),
	"PaymentReceivedData": typeOf[atlas.PaymentReceivedData](), "PaymentSortBy": typeOf[atlas.PaymentSortBy](),
	"PaymentTerms": typeOf[atlas.PaymentTerms](), "Period": typeOf[atlas.Period](),
	"PeriodClosedData": typeOf[atlas.PeriodClosedData](), "PeriodListParams": typeOf[atlas.PeriodListParams](),
	"PeriodSortBy": typeOf[atlas.PeriodSortBy](), "PeriodStatus": typeOf[atlas.PeriodStatus](),
	"ProfitLossCategory": typeOf[atlas.ProfitLossCategory](), "ProfitLossItem": typeOf[atlas.ProfitLossItem](),
	"ProfitLossParams": typeOf[atlas.ProfitLossParams](), "ProfitLossReport": typeOf[atlas.ProfitLossReport](),
	"ProfitLossSection": typeOf[atlas.ProfitLossSection](), "RateLimit": typeOf[atlas.RateLimit](),
	"RateObservation": typeOf[atlas.RateObservation](), "Request": typeOf[atlas.Request](),
	"Response": typeOf[atlas.Response](), "RetryPolicy": typeOf[atlas.RetryPolicy](),
	"Role": typeOf[atlas.Role](), "SortOrder": typeOf[atlas.SortOrder](),
	"Tier": typeOf[atlas.Tier](), "User": typeOf[atlas.User](),
	"Vendor": typeOf[atlas.Vendor](), "VendorCreateParams": typeOf[atlas.VendorCreateParams](),
	"VendorListParams": typeOf[atlas.VendorListParams](), "VendorSortBy": typeOf[atlas.VendorSortBy](),
	"VendorUpdateParams": typeOf[atlas.VendorUpdateParams](), "VoidParams": typeOf[atlas.VoidParams](),
	"WebhookEvent": typeOf[atlas.WebhookEvent](),
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// filledStore is a MemoryTokenStore holding the planted tokens.
func filledStore(t *testing.T) *atlas.MemoryTokenStore {
	store := &atlas.MemoryTokenStore{}
	require.NoError(t, store.Save(context.Background(), &atlas.Tokens{AccessToken: plantedAccess, RefreshToken: plantedRefresh}))
	return store
}

// plantedClient is a client with every secret a client can hold: a password,
// tokens, a store holding tokens, and a default header.
func plantedClient(t *testing.T) *atlas.Client {
	c, err := atlas.NewClient(
		atlas.WithBaseURL("https://api.example.com/api/v1"),
		atlas.WithCredentials("jane@example.com", plantedPassword),
		atlas.WithTokens(plantedAccess, plantedRefresh),
		atlas.WithTokenStore(filledStore(t)),
		atlas.WithHTTPClient(&http.Client{Transport: http.DefaultTransport}),
		atlas.WithCompany("co-1"),
	)
	require.NoError(t, err)
	return c
}

// TestNoExportedTypePrintsASecret prints a value with secrets inside, of
// every exported type that can hold one, under every fmt verb and through
// slog's text and JSON handlers, as a value and as a pointer, and fails when
// a secret shows. The types come from the package's source: a new exported
// type fails the test until it is listed in secretHolders (with values that
// hold its secrets) or in holdNoSecret (where a field named like a secret
// fails it too).
func TestNoExportedTypePrintsASecret(t *testing.T) {
	t.Parallel()
	redacttest.CheckPackage(t, ".", redacttest.Catalogue{Holders: secretHolders, Plain: holdNoSecret, Secrets: plantedSecrets})
	for name, make := range handedOut {
		for _, leak := range redacttest.Leaks(make(t), plantedSecrets...) {
			t.Errorf("what %s returns: a planted secret shows in %s", name, leak)
		}
	}
}

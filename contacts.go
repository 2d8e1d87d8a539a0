package atlas

import (
	"context"
	"iter"
	"time"

	"github.com/shopspring/decimal"
)

// CustomersService manages customers, the accounts receivable contacts that
// invoices and payments belong to. Every method needs a company context.
type CustomersService service

// VendorsService manages vendors, the accounts payable contacts that bills
// belong to. Every method needs a company context.
type VendorsService service

// Address is a billing address as the API returns it; unknown parts are nil.
type Address struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	PostalCode *string `json:"postal_code"`
	// Country is an ISO 3166-1 alpha-2 code, e.g. "US".
	Country string `json:"country"`
}

// AddressParams is a billing address as sent (the contract's AddressInput).
// Every part is optional; empty parts stay off the wire, and the server
// defaults Country to "US".
type AddressParams struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Customer is a customer of the company.
type Customer struct {
	ID string `json:"id"`
	// CustomerNumber is assigned by the server, e.g. CUST-0001.
	CustomerNumber string          `json:"customer_number"`
	DisplayName    string          `json:"display_name"`
	Email          *string         `json:"email"`
	Phone          *string         `json:"phone"`
	Currency       string          `json:"currency"`
	PaymentTerms   PaymentTerms    `json:"payment_terms"`
	CreditLimit    decimal.Decimal `json:"credit_limit"`
	// CurrentBalance is the open receivable balance.
	CurrentBalance decimal.Decimal `json:"current_balance"`
	IsActive       bool            `json:"is_active"`
	BillingAddress Address         `json:"billing_address"`
	Notes          *string         `json:"notes"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// CustomerCreateParams are the fields of a new customer. DisplayName is
// required; empty (or nil) optional fields stay off the wire and take the
// server's defaults (currency USD, payment terms net_30, credit limit 0).
type CustomerCreateParams struct {
	DisplayName    string           `json:"display_name"`
	Email          string           `json:"email,omitempty"`
	Phone          string           `json:"phone,omitempty"`
	Currency       string           `json:"currency,omitempty"`
	PaymentTerms   PaymentTerms     `json:"payment_terms,omitempty"`
	CreditLimit    *decimal.Decimal `json:"credit_limit,omitempty"`
	BillingAddress *AddressParams   `json:"billing_address,omitempty"`
	Notes          string           `json:"notes,omitempty"`
}

// CustomerUpdateParams are the changes to a customer. A nil field is left
// unchanged and stays off the wire; a pointer to a zero value sets the zero
// value (see Ptr).
type CustomerUpdateParams struct {
	DisplayName    *string          `json:"display_name,omitempty"`
	Email          *string          `json:"email,omitempty"`
	Phone          *string          `json:"phone,omitempty"`
	Currency       *string          `json:"currency,omitempty"`
	PaymentTerms   *PaymentTerms    `json:"payment_terms,omitempty"`
	CreditLimit    *decimal.Decimal `json:"credit_limit,omitempty"`
	BillingAddress *AddressParams   `json:"billing_address,omitempty"`
	Notes          *string          `json:"notes,omitempty"`
	IsActive       *bool            `json:"is_active,omitempty"`
}

// CustomerListParams page, sort and filter Customers.List and Customers.All.
type CustomerListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the CustomerSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy CustomerSortBy `url:"sort_by"`
	// Search is a free-text term matched against the customer.
	Search string `url:"search"`
	// IsActive keeps only active (true) or inactive (false) customers; nil keeps both.
	IsActive *bool `url:"is_active"`
}

// CustomerSortBy is a field Customers.List and Customers.All can sort by: the
// SortBy of CustomerListParams; the key of another resource does not compile there.
type CustomerSortBy string

// Fields Customers can be sorted by.
const (
	CustomerSortByCreatedAt      CustomerSortBy = "created_at"
	CustomerSortByDisplayName    CustomerSortBy = "display_name"
	CustomerSortByCustomerNumber CustomerSortBy = "customer_number"
)

// List returns one page of customers.
//
// API: GET /contacts/customers
func (s *CustomersService) List(ctx context.Context, params *CustomerListParams, opts ...RequestOption) (*Page[Customer], error) {
	return listOf[Customer](ctx, s.client, "Customers.List", "/contacts/customers", params, opts)
}

// All iterates over every customer, fetching pages as the loop goes.
//
// API: GET /contacts/customers
func (s *CustomersService) All(ctx context.Context, params *CustomerListParams, opts ...AllOption) iter.Seq2[*Customer, error] {
	return allOf[Customer](ctx, s.client, "Customers.All", "/contacts/customers", params, opts)
}

// Create creates a customer; the server assigns its customer number.
//
// API: POST /contacts/customers
func (s *CustomersService) Create(ctx context.Context, params *CustomerCreateParams, opts ...PostOption) (*Customer, error) {
	return create[Customer](ctx, s.client, "Customers.Create", "/contacts/customers", params, opts)
}

// Get returns one customer; an unknown id gets ErrNotFound.
//
// API: GET /contacts/customers/{id}
func (s *CustomersService) Get(ctx context.Context, id string, opts ...RequestOption) (*Customer, error) {
	return getItem[Customer](ctx, s.client, "Customers.Get", "/contacts/customers/{id}", id, opts)
}

// Update changes the fields of a customer that params sets and leaves the
// others as they are.
//
// API: PATCH /contacts/customers/{id}
func (s *CustomersService) Update(ctx context.Context, id string, params *CustomerUpdateParams, opts ...RequestOption) (*Customer, error) {
	return update[Customer](ctx, s.client, "Customers.Update", "/contacts/customers/{id}", id, params, opts)
}

// Vendor is a vendor of the company.
type Vendor struct {
	ID string `json:"id"`
	// VendorNumber is assigned by the server, e.g. VEND-0001.
	VendorNumber string       `json:"vendor_number"`
	DisplayName  string       `json:"display_name"`
	Email        *string      `json:"email"`
	Phone        *string      `json:"phone"`
	Currency     string       `json:"currency"`
	PaymentTerms PaymentTerms `json:"payment_terms"`
	// DefaultExpenseAccountID is the expense account suggested for this
	// vendor's bill lines, nil when there is none.
	DefaultExpenseAccountID *string `json:"default_expense_account_id"`
	// CurrentBalance is the open payable balance.
	CurrentBalance decimal.Decimal `json:"current_balance"`
	IsActive       bool            `json:"is_active"`
	BillingAddress Address         `json:"billing_address"`
	Notes          *string         `json:"notes"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// VendorCreateParams are the fields of a new vendor. DisplayName is required;
// empty optional fields stay off the wire and take the server's defaults
// (currency USD, payment terms net_30).
type VendorCreateParams struct {
	DisplayName             string         `json:"display_name"`
	Email                   string         `json:"email,omitempty"`
	Phone                   string         `json:"phone,omitempty"`
	Currency                string         `json:"currency,omitempty"`
	PaymentTerms            PaymentTerms   `json:"payment_terms,omitempty"`
	DefaultExpenseAccountID string         `json:"default_expense_account_id,omitempty"`
	BillingAddress          *AddressParams `json:"billing_address,omitempty"`
	Notes                   string         `json:"notes,omitempty"`
}

// VendorUpdateParams are the changes to a vendor. A nil field is left
// unchanged and stays off the wire; a pointer to a zero value sets the zero
// value (see Ptr).
type VendorUpdateParams struct {
	DisplayName             *string        `json:"display_name,omitempty"`
	Email                   *string        `json:"email,omitempty"`
	Phone                   *string        `json:"phone,omitempty"`
	Currency                *string        `json:"currency,omitempty"`
	PaymentTerms            *PaymentTerms  `json:"payment_terms,omitempty"`
	DefaultExpenseAccountID *string        `json:"default_expense_account_id,omitempty"`
	BillingAddress          *AddressParams `json:"billing_address,omitempty"`
	Notes                   *string        `json:"notes,omitempty"`
	IsActive                *bool          `json:"is_active,omitempty"`
}

// VendorListParams page, sort and filter Vendors.List and Vendors.All.
type VendorListParams struct {
	ListOptions
	// SortBy is the field to sort by, one of the VendorSortBy constants; empty
	// is the server's default, created_at. The direction is ListOptions.SortOrder.
	SortBy VendorSortBy `url:"sort_by"`
	// Search is a free-text term matched against the vendor.
	Search string `url:"search"`
	// IsActive keeps only active (true) or inactive (false) vendors; nil keeps both.
	IsActive *bool `url:"is_active"`
}

// VendorSortBy is a field Vendors.List and Vendors.All can sort by: the
// SortBy of VendorListParams; the key of another resource does not compile there.
type VendorSortBy string

// Fields Vendors can be sorted by.
const (
	VendorSortByCreatedAt    VendorSortBy = "created_at"
	VendorSortByDisplayName  VendorSortBy = "display_name"
	VendorSortByVendorNumber VendorSortBy = "vendor_number"
)

// List returns one page of vendors.
//
// API: GET /contacts/vendors
func (s *VendorsService) List(ctx context.Context, params *VendorListParams, opts ...RequestOption) (*Page[Vendor], error) {
	return listOf[Vendor](ctx, s.client, "Vendors.List", "/contacts/vendors", params, opts)
}

// All iterates over every vendor, fetching pages as the loop goes.
//
// API: GET /contacts/vendors
func (s *VendorsService) All(ctx context.Context, params *VendorListParams, opts ...AllOption) iter.Seq2[*Vendor, error] {
	return allOf[Vendor](ctx, s.client, "Vendors.All", "/contacts/vendors", params, opts)
}

// Create creates a vendor; the server assigns its vendor number.
//
// API: POST /contacts/vendors
func (s *VendorsService) Create(ctx context.Context, params *VendorCreateParams, opts ...PostOption) (*Vendor, error) {
	return create[Vendor](ctx, s.client, "Vendors.Create", "/contacts/vendors", params, opts)
}

// Get returns one vendor; an unknown id gets ErrNotFound.
//
// API: GET /contacts/vendors/{id}
func (s *VendorsService) Get(ctx context.Context, id string, opts ...RequestOption) (*Vendor, error) {
	return getItem[Vendor](ctx, s.client, "Vendors.Get", "/contacts/vendors/{id}", id, opts)
}

// Update changes the fields of a vendor that params sets and leaves the
// others as they are.
//
// API: PATCH /contacts/vendors/{id}
func (s *VendorsService) Update(ctx context.Context, id string, params *VendorUpdateParams, opts ...RequestOption) (*Vendor, error) {
	return update[Vendor](ctx, s.client, "Vendors.Update", "/contacts/vendors/{id}", id, params, opts)
}

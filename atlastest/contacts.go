package atlastest

import (
	"fmt"
	"strings"
	"time"
)

// Customers and vendors share one record type (contact) and one set of handlers; a
// contactKind says which table, numbering and wire shape each uses.

type addressJSON struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	PostalCode *string `json:"postal_code"`
	Country    string  `json:"country"`
}

type customerJSON struct {
	ID             string      `json:"id"`
	CustomerNumber string      `json:"customer_number"`
	DisplayName    string      `json:"display_name"`
	Email          *string     `json:"email"`
	Phone          *string     `json:"phone"`
	Currency       string      `json:"currency"`
	PaymentTerms   string      `json:"payment_terms"`
	CreditLimit    string      `json:"credit_limit"`
	CurrentBalance string      `json:"current_balance"`
	IsActive       bool        `json:"is_active"`
	BillingAddress addressJSON `json:"billing_address"`
	Notes          *string     `json:"notes"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
}

type vendorJSON struct {
	ID                      string      `json:"id"`
	VendorNumber            string      `json:"vendor_number"`
	DisplayName             string      `json:"display_name"`
	Email                   *string     `json:"email"`
	Phone                   *string     `json:"phone"`
	Currency                string      `json:"currency"`
	PaymentTerms            string      `json:"payment_terms"`
	DefaultExpenseAccountID *string     `json:"default_expense_account_id"`
	CurrentBalance          string      `json:"current_balance"`
	IsActive                bool        `json:"is_active"`
	BillingAddress          addressJSON `json:"billing_address"`
	Notes                   *string     `json:"notes"`
	CreatedAt               string      `json:"created_at"`
	UpdatedAt               string      `json:"updated_at"`
}

func renderAddress(a address) addressJSON {
	return addressJSON{Line1: a.line1, Line2: a.line2, City: a.city, State: a.state, PostalCode: a.postalCode, Country: a.country}
}

func renderCustomer(c *contact, _ string) any {
	return customerJSON{
		ID:             c.id,
		CustomerNumber: c.number,
		DisplayName:    c.displayName,
		Email:          c.email,
		Phone:          c.phone,
		Currency:       c.currency,
		PaymentTerms:   c.paymentTerms,
		CreditLimit:    money(c.creditLimit),
		CurrentBalance: money(c.balance),
		IsActive:       c.isActive,
		BillingAddress: renderAddress(c.address),
		Notes:          c.notes,
		CreatedAt:      timestamp(c.createdAt),
		UpdatedAt:      timestamp(c.updatedAt),
	}
}

func renderVendor(c *contact, _ string) any {
	return vendorJSON{
		ID:                      c.id,
		VendorNumber:            c.number,
		DisplayName:             c.displayName,
		Email:                   c.email,
		Phone:                   c.phone,
		Currency:                c.currency,
		PaymentTerms:            c.paymentTerms,
		DefaultExpenseAccountID: c.defaultExpenseAccountID,
		CurrentBalance:          money(c.balance),
		IsActive:                c.isActive,
		BillingAddress:          renderAddress(c.address),
		Notes:                   c.notes,
		CreatedAt:               timestamp(c.createdAt),
		UpdatedAt:               timestamp(c.updatedAt),
	}
}

// contactKind is what differs between customers and vendors: the kind of record each is,
// the prefix and sequence of its numbers, and whether it is the vendor.
type contactKind struct {
	kind[contact, any]
	prefix string // of the server-assigned number: CUST-0001
	vendor bool
	next   func(*numbers) *int
}

var (
	customerKind = &contactKind{
		kind: kind[contact, any]{
			name:   "Customer",
			table:  func(st *store) *table[contact] { return &st.customers },
			sorts:  contactSorts("customer_number"),
			render: renderCustomer,
		},
		prefix: "CUST",
		next:   func(n *numbers) *int { return &n.customer },
	}
	vendorKind = &contactKind{
		kind: kind[contact, any]{
			name:   "Vendor",
			table:  func(st *store) *table[contact] { return &st.vendors },
			sorts:  contactSorts("vendor_number"),
			render: renderVendor,
		},
		prefix: "VEND",
		vendor: true,
		next:   func(n *numbers) *int { return &n.vendor },
	}
)

func contactSorts(numberField string) []sortKey[contact] {
	return []sortKey[contact]{
		byTime("created_at", func(c *contact) time.Time { return c.createdAt }),
		byString("display_name", func(c *contact) string { return c.displayName }),
		byString(numberField, func(c *contact) string { return c.number }),
	}
}

// contactFilter is the filters of GET /contacts/customers and /contacts/vendors: search
// matches a case-insensitive substring of the display name, email or number; is_active.
func contactFilter(q *query, _ string) func(*contact) bool {
	search, hasSearch := q.str("search")
	active, hasActive := q.boolean("is_active")
	if !hasSearch && !hasActive {
		return nil
	}
	search = strings.ToLower(search)
	return func(c *contact) bool {
		if hasActive && c.isActive != active {
			return false
		}
		return !hasSearch || strings.Contains(strings.ToLower(c.displayName), search) ||
			strings.Contains(strings.ToLower(c.number), search) ||
			(c.email != nil && strings.Contains(strings.ToLower(*c.email), search))
	}
}

// newContact is POST /contacts/customers and /contacts/vendors.
func newContact(k *contactKind) builder[contact] {
	return func(st *store, o *object, companyID string, now time.Time) (*contact, []emitted, error) {
		c := &contact{
			id:           newID(),
			companyID:    companyID,
			currency:     "USD",
			paymentTerms: "net_30",
			isActive:     true,
			address:      address{country: "US"},
			createdAt:    now,
			updatedAt:    now,
		}
		o.require("display_name")
		st.readContact(o, c, k, false)
		if err := o.err(); err != nil {
			return nil, nil, err
		}
		n := k.next(st.numbersOf(companyID))
		*n++
		c.number = fmt.Sprintf("%s-%04d", k.prefix, *n)
		return c, nil, nil
	}
}

// updateContact is PATCH /contacts/customers/{id} and /contacts/vendors/{id}: only the
// fields sent change; billing_address, when sent, replaces the whole address.
func updateContact(k *contactKind) action[contact] {
	return func(st *store, c *contact, o *object, now time.Time) ([]emitted, error) {
		upd := *c
		st.readContact(o, &upd, k, true)
		if err := o.err(); err != nil {
			return nil, err
		}
		upd.updatedAt = now
		*c = upd
		return nil, nil
	}
}

// readContact applies the writable fields sent in o to c, recording problems in o. is_active
// is writable on update only. Call with the store lock held (it checks the vendor's
// default expense account).
func (st *store) readContact(o *object, c *contact, k *contactKind, update bool) {
	if v, ok := o.str("display_name", length(1, 200)); ok {
		c.displayName = v
	}
	if v, ok := o.str("email", isEmail); ok {
		c.email = &v
	}
	if v, ok := o.str("phone"); ok {
		c.phone = &v
	}
	if v, ok := o.str("currency", isCurrency); ok {
		c.currency = v
	}
	if v, ok := o.str("payment_terms", oneOf(paymentTerms...)); ok {
		c.paymentTerms = v
	}
	if v, ok := o.str("notes"); ok {
		c.notes = &v
	}
	if a, ok := o.object("billing_address"); ok {
		c.address = readAddress(a)
	}
	if update {
		if v, ok := o.boolean("is_active"); ok {
			c.isActive = v
		}
	}
	if !k.vendor {
		if v, ok := o.amount("credit_limit", nonNegative); ok {
			c.creditLimit = v
		}
		return
	}
	if v, ok := o.str("default_expense_account_id", isUUIDStr); ok {
		v = normalizeUUID(v)
		if a, found := st.accounts.get(v); !found || a.companyID != c.companyID {
			o.fail("default_expense_account_id", "Account not found in this company.")
		} else {
			c.defaultExpenseAccountID = &v
		}
	}
}

// readAddress reads an AddressInput: every part optional, country defaulting to US.
func readAddress(o *object) address {
	a := address{country: "US"}
	for _, f := range []struct {
		name string
		dst  **string
		chk  []check
	}{
		{"line1", &a.line1, nil},
		{"line2", &a.line2, nil},
		{"city", &a.city, nil},
		{"state", &a.state, nil},
		{"postal_code", &a.postalCode, []check{length(0, 20)}},
	} {
		if v, ok := o.str(f.name, f.chk...); ok {
			*f.dst = &v
		}
	}
	if v, ok := o.str("country", isCountry); ok {
		a.country = v
	}
	return a
}

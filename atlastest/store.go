package atlastest

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// The domain store.
//
// Organization, users, memberships and companies never change while requests run: they
// are a world (server.go), read without a lock and replaced whole by LoadState. Everything
// a request can change lives in store and is guarded by store.mu: take it, read or change
// the records, copy what the answer needs into its wire struct, release it, then encode. Never encode JSON, call emit or do
// I/O while holding it.
//
// Records are pointers shared between a table's index and its sorted views: change them
// in place under the lock, then call the table's changed(companyID) so cached sort orders
// are rebuilt.

type organization struct {
	id, name string
}

// user is a seeded login. role is the role in the organization; memberships give the role
// in each company the user can access, in the order /auth/me lists them. w is the world
// the user belongs to: a request reads the organization and companies through its user,
// so that it sees one world even when LoadState replaces it meanwhile.
type user struct {
	id, email, fullName, password, role string
	memberships                         []membership
	w                                   *world
}

type membership struct {
	companyID, role string
}

// roleIn is the user's role in the company, ok false when the user cannot access it.
func (u *user) roleIn(companyID string) (role string, ok bool) {
	for _, m := range u.memberships {
		if m.companyID == companyID {
			return m.role, true
		}
	}
	return "", false
}

// canWrite reports whether the user may change data of the company (any role but viewer).
func (u *user) canWrite(companyID string) bool {
	r, ok := u.roleIn(companyID)
	return ok && r != "viewer"
}

type company struct {
	id, name, baseCurrency, fiscalYearStart string
	createdAt, updatedAt                    time.Time
}

// account is a general-ledger account (contract schema Account). balance is in the
// account's normal-balance sign: a debit-normal account's debits minus credits.
type account struct {
	id, companyID, number, name, accountType, normalBalance string
	subtype, parentID, description                          *string
	isActive                                                bool
	balance                                                 decimal.Decimal
	createdAt, updatedAt                                    time.Time
}

// contact is a customer or a vendor (contract schemas Customer and Vendor): number is the
// customer_number or vendor_number; creditLimit is a customer's, defaultExpenseAccountID a
// vendor's. balance is the open receivable (customer) or payable (vendor) balance.
type contact struct {
	id, companyID, number, displayName, currency, paymentTerms string
	email, phone, notes, defaultExpenseAccountID               *string
	creditLimit, balance                                       decimal.Decimal
	isActive                                                   bool
	address                                                    address
	createdAt, updatedAt                                       time.Time
}

// address is a billing address; nil parts are unknown (null on the wire).
type address struct {
	line1, line2, city, state, postalCode *string
	country                               string
}

// period is an accounting period (contract schema Period). Dates are YYYY-MM-DD.
type period struct {
	id, companyID, name, startDate, endDate, status string
	closedAt                                        *time.Time
	createdAt, updatedAt                            time.Time
}

// invoice is a sales invoice (contract schema Invoice). status is the stored lifecycle
// state (draft, sent, partial, paid, void); overdue is derived when read, see statusOn.
// Dates are YYYY-MM-DD. Totals are kept in step with lines by whoever changes them:
// subtotal = sum of line amounts, taxAmount = sum of line taxes, total = subtotal + tax,
// amountDue = total - amountPaid.
type invoice struct {
	id, companyID, number, customerID, invoiceDate, dueDate, currency, status string
	subtotal, taxAmount, total, amountPaid, amountDue                         decimal.Decimal
	notes                                                                     *string
	sentAt                                                                    *time.Time
	lines                                                                     []itemLine
	createdAt, updatedAt                                                      time.Time
}

// itemLine is one line of an invoice or a bill (contract schemas InvoiceLine, BillLine):
// accountID is the revenue account an invoice line credits or the expense account a bill
// line debits; amount is round2(quantity x unitPrice), taxAmount round2(amount x taxRate /
// 100).
type itemLine struct {
	id, description, accountID  string
	lineNumber                  int
	quantity, unitPrice, amount decimal.Decimal
	taxRate, taxAmount          decimal.Decimal
}

// statusOn is the status a client sees on the given day (YYYY-MM-DD): a sent or partly
// paid invoice whose due date has passed is overdue.
func (inv *invoice) statusOn(today string) string {
	if (inv.status == "sent" || inv.status == "partial") && inv.dueDate < today {
		return "overdue"
	}
	return inv.status
}

// ledgerEntry is a posting to the general ledger: what reports and account balances are
// computed from. source names what posted it ("invoice", "bill", "journal_entry",
// "payment", "seed") and sourceID its id. Debits equal credits.
type ledgerEntry struct {
	companyID, date, source, sourceID string
	lines                             []ledgerLine
}

// ledgerLine is one side of a posting.
type ledgerLine struct {
	accountID string
	debit     bool // false: credit
	amount    decimal.Decimal
}

// numbers are a company's sequences of server-assigned numbers; each field is the last
// number given (0: none yet). Bills, journal entries and payments add theirs here.
type numbers struct {
	customer, vendor, invoice, bill, journal, payment int
}

// store is every record a request can change, guarded by mu.
type store struct {
	mu sync.Mutex

	accounts  table[account]
	customers table[contact]
	vendors   table[contact]
	periods   table[period]
	invoices  table[invoice]
	bills     table[bill]
	journals  table[journalEntry]
	payments  table[payment]

	ledger map[string][]*ledgerEntry // by company id, in posting order
	seq    map[string]*numbers       // by company id

	// initial is a copy of the records as they were before the first change (made by
	// inStore, the one way requests change them), for Server.Reset; nil until then.
	initial *store
}

func newStore() *store {
	return &store{
		accounts:  newTable(func(a *account) (string, string) { return a.id, a.companyID }),
		customers: newTable(func(c *contact) (string, string) { return c.id, c.companyID }),
		vendors:   newTable(func(c *contact) (string, string) { return c.id, c.companyID }),
		periods:   newTable(func(p *period) (string, string) { return p.id, p.companyID }),
		invoices:  newTable(func(i *invoice) (string, string) { return i.id, i.companyID }),
		bills:     newTable(func(b *bill) (string, string) { return b.id, b.companyID }),
		journals:  newTable(func(j *journalEntry) (string, string) { return j.id, j.companyID }),
		payments:  newTable(func(p *payment) (string, string) { return p.id, p.companyID }),
		ledger:    map[string][]*ledgerEntry{},
		seq:       map[string]*numbers{},
	}
}

// clone returns a deep copy of the records, with no sorted views and no initial copy.
// Records are copied with their slices; what they point to (strings, times, ledger
// entries) is never changed in place once made, and is shared. Call with mu held.
func (st *store) clone() *store {
	out := &store{
		accounts:  st.accounts.clone(func(a account) account { return a }),
		customers: st.customers.clone(func(c contact) contact { return c }),
		vendors:   st.vendors.clone(func(c contact) contact { return c }),
		periods:   st.periods.clone(func(p period) period { return p }),
		invoices: st.invoices.clone(func(inv invoice) invoice {
			inv.lines = slices.Clone(inv.lines)
			return inv
		}),
		bills: st.bills.clone(func(b bill) bill {
			b.lines = slices.Clone(b.lines)
			return b
		}),
		journals: st.journals.clone(func(j journalEntry) journalEntry {
			j.lines = slices.Clone(j.lines)
			return j
		}),
		payments: st.payments.clone(func(p payment) payment {
			p.applications = slices.Clone(p.applications)
			return p
		}),
		ledger: make(map[string][]*ledgerEntry, len(st.ledger)),
		seq:    make(map[string]*numbers, len(st.seq)),
	}
	for id, entries := range st.ledger {
		out.ledger[id] = slices.Clone(entries)
	}
	for id, n := range st.seq {
		c := *n
		out.seq[id] = &c
	}
	return out
}

// replaceWith makes st hold the records of other, which nobody else may hold. Call with
// mu held.
func (st *store) replaceWith(other *store) {
	st.accounts, st.customers, st.vendors, st.periods = other.accounts, other.customers, other.vendors, other.periods
	st.invoices, st.bills, st.journals, st.payments = other.invoices, other.bills, other.journals, other.payments
	st.ledger, st.seq = other.ledger, other.seq
}

// numbersOf is the company's number sequences, created on first use. Call with mu held.
func (st *store) numbersOf(companyID string) *numbers {
	n := st.seq[companyID]
	if n == nil {
		n = &numbers{}
		st.seq[companyID] = n
	}
	return n
}

// post appends e to the company's ledger and moves the balances of its accounts. Call with
// mu held; the caller has checked that the entry balances and its accounts exist.
func (st *store) post(e *ledgerEntry, at time.Time) {
	st.ledger[e.companyID] = append(st.ledger[e.companyID], e)
	for _, l := range e.lines {
		a, ok := st.accounts.get(l.accountID)
		if !ok {
			continue
		}
		if l.debit == (a.normalBalance == "debit") {
			a.balance = a.balance.Add(l.amount)
		} else {
			a.balance = a.balance.Sub(l.amount)
		}
		a.updatedAt = at
	}
}

// periodOn is the company's period containing date (YYYY-MM-DD), or nil. Call with mu held.
func (st *store) periodOn(companyID, date string) *period {
	for _, p := range st.periods.rowsOf(companyID) {
		if p.startDate <= date && date <= p.endDate {
			return p
		}
	}
	return nil
}

// closedOn reports whether date falls in a closed period of the company: nothing may be
// dated there (409). Call with mu held.
func (st *store) closedOn(companyID, date string) bool {
	p := st.periodOn(companyID, date)
	return p != nil && p.status == "closed"
}

// table holds the records of one resource for every company: an index by id and, per
// company, the records in insertion order plus sorted views built on demand and kept until
// the next change. Not safe for concurrent use on its own: store.mu guards it.
type table[T any] struct {
	keys func(*T) (id, companyID string)
	byID map[string]*T
	rows map[string]*rows[T]
}

type rows[T any] struct {
	all    []*T
	sorted map[string][]*T // ascending, by sort field name
}

func newTable[T any](keys func(*T) (id, companyID string)) table[T] {
	return table[T]{keys: keys, byID: map[string]*T{}, rows: map[string]*rows[T]{}}
}

// clone returns a copy of the table in which every record is copied by cp, in the same
// order, without sorted views.
func (t *table[T]) clone(cp func(T) T) table[T] {
	out := table[T]{keys: t.keys, byID: make(map[string]*T, len(t.byID)), rows: make(map[string]*rows[T], len(t.rows))}
	for companyID, r := range t.rows {
		recs := make([]T, len(r.all)) // one allocation for the company's records
		all := make([]*T, len(r.all))
		for i, v := range r.all {
			recs[i] = cp(*v)
			all[i] = &recs[i]
			id, _ := t.keys(v)
			out.byID[id] = all[i]
		}
		out.rows[companyID] = &rows[T]{all: all}
	}
	return out
}

// insert adds a new record.
func (t *table[T]) insert(v *T) {
	id, companyID := t.keys(v)
	t.byID[id] = v
	r := t.rowsFor(companyID)
	r.all = append(r.all, v)
	r.sorted = nil
}

func (t *table[T]) rowsFor(companyID string) *rows[T] {
	r := t.rows[companyID]
	if r == nil {
		r = &rows[T]{}
		t.rows[companyID] = r
	}
	return r
}

// get finds a record of any company by id.
func (t *table[T]) get(id string) (*T, bool) {
	v, ok := t.byID[id]
	return v, ok
}

// rowsOf is the company's records in insertion order. The slice must not be modified.
func (t *table[T]) rowsOf(companyID string) []*T {
	if r := t.rows[companyID]; r != nil {
		return r.all
	}
	return nil
}

// changed drops the company's cached sort orders; call it after changing a record in place.
func (t *table[T]) changed(companyID string) {
	if r := t.rows[companyID]; r != nil {
		r.sorted = nil
	}
}

// sortedBy is the company's records in ascending order of key, ties broken by id, built
// once and cached until the next insert or changed. The slice must not be modified.
func (t *table[T]) sortedBy(companyID string, key sortKey[T]) []*T {
	r := t.rows[companyID]
	if r == nil {
		return nil
	}
	if v, ok := r.sorted[key.name]; ok {
		return v
	}
	v := sortRecords(r.all, key, t.keys)
	if r.sorted == nil {
		r.sorted = map[string][]*T{}
	}
	r.sorted[key.name] = v
	return v
}

// sortKey is one sort_by value of a list: its name on the wire and how it orders records.
type sortKey[T any] struct {
	name string
	cmp  func(a, b *T) int
}

// sortRecords returns a sorted copy of recs: by key, then by id, both ascending.
func sortRecords[T any](recs []*T, key sortKey[T], keys func(*T) (string, string)) []*T {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b *T) int {
		if c := key.cmp(a, b); c != 0 {
			return c
		}
		ida, _ := keys(a)
		idb, _ := keys(b)
		return strings.Compare(ida, idb)
	})
	return out
}

// byTime, byString and byDecimal build sortKey comparisons from a field accessor.
func byTime[T any](name string, f func(*T) time.Time) sortKey[T] {
	return sortKey[T]{name: name, cmp: func(a, b *T) int { return f(a).Compare(f(b)) }}
}

func byString[T any](name string, f func(*T) string) sortKey[T] {
	return sortKey[T]{name: name, cmp: func(a, b *T) int { return cmp.Compare(f(a), f(b)) }}
}

func byDecimal[T any](name string, f func(*T) decimal.Decimal) sortKey[T] {
	return sortKey[T]{name: name, cmp: func(a, b *T) int { return f(a).Cmp(f(b)) }}
}

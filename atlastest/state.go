package atlastest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// A state is everything the server holds that a test sets up: the organization, users
// (with their passwords), companies, what the seed accessors report, and every record with
// the ledger and the number sequences. SaveState writes it as JSON, LoadState and WithState
// read it back; cmd/atlastest has -state and -save-state, and the control API GET and PUT
// /_atlastest/state. Not in it: tokens, the clock, rate-limit windows, Idempotency-Keys,
// faults, the request log and webhook subscriptions.
//
// The JSON is the API's own shape for each record (a customer as GET /contacts/customers/
// {id} answers it) plus its company_id, so that a fixture reads like the API and can be
// edited by hand; an invoice's status is the stored one (draft, sent, partial, paid, void:
// "overdue" is read as sent or partial). Records keep the order of the file, which is the
// order they were created in. The file says "atlastest_state": 1, the format's version.

// stateVersion is the version of the state format SaveState writes and LoadState reads.
const stateVersion = 1

// ErrInvalidState is what the errors of LoadState match with errors.Is when the state is
// not one it can load: not JSON, another version, a field that is missing or malformed,
// or a reference to something the state does not have.
var ErrInvalidState = errors.New("atlastest: invalid state")

type stateJSON struct {
	Version        int                `json:"atlastest_state"`
	SavedAt        string             `json:"saved_at"`
	Organization   organizationJSON   `json:"organization"`
	Users          []stateUser        `json:"users"`
	Seed           stateSeed          `json:"seed"`
	Companies      []companyJSON      `json:"companies"`
	Accounts       []stateAccount     `json:"accounts"`
	Customers      []stateCustomer    `json:"customers"`
	Vendors        []stateVendor      `json:"vendors"`
	Periods        []statePeriod      `json:"periods"`
	Invoices       []stateInvoice     `json:"invoices"`
	Bills          []stateBill        `json:"bills"`
	JournalEntries []stateJournal     `json:"journal_entries"`
	Payments       []statePayment     `json:"payments"`
	Ledger         []stateLedgerEntry `json:"ledger"`
	// Numbers are each company's last server-assigned numbers, by company id.
	Numbers map[string]stateNumbers `json:"numbers"`
}

type stateUser struct {
	ID       string            `json:"id"`
	Email    string            `json:"email"`
	FullName string            `json:"full_name"`
	Password string            `json:"password"`
	Role     string            `json:"role"`
	Access   []stateMembership `json:"companies"`
}

type stateMembership struct {
	CompanyID string `json:"id"`
	Role      string `json:"role"`
}

// stateSeed is what Server.Seed reports, by reference: the users by email, the rest by id.
type stateSeed struct {
	AdminEmail      string   `json:"admin_email"`
	ViewerEmail     string   `json:"viewer_email"`
	CompanyID       string   `json:"company_id"`
	SecondCompanyID string   `json:"second_company_id"`
	HiddenCompanyID string   `json:"hidden_company_id"`
	WebhookSecret   string   `json:"webhook_secret"`
	CustomerIDs     []string `json:"customer_ids"`
	VendorIDs       []string `json:"vendor_ids"`
}

type stateAccount struct {
	CompanyID string `json:"company_id"`
	accountJSON
}

type stateCustomer struct {
	CompanyID string `json:"company_id"`
	customerJSON
}

type stateVendor struct {
	CompanyID string `json:"company_id"`
	vendorJSON
}

type statePeriod struct {
	CompanyID string `json:"company_id"`
	periodJSON
}

type stateInvoice struct {
	CompanyID string `json:"company_id"`
	invoiceJSON
}

type stateBill struct {
	CompanyID string `json:"company_id"`
	billJSON
}

type stateJournal struct {
	CompanyID string `json:"company_id"`
	journalEntryJSON
}

type statePayment struct {
	CompanyID string `json:"company_id"`
	paymentJSON
}

type stateLedgerEntry struct {
	CompanyID string            `json:"company_id"`
	Date      string            `json:"date"`
	Source    string            `json:"source"`
	SourceID  string            `json:"source_id"`
	Lines     []stateLedgerLine `json:"lines"`
}

type stateLedgerLine struct {
	AccountID string `json:"account_id"`
	EntryType string `json:"entry_type"`
	Amount    string `json:"amount"`
}

type stateNumbers struct {
	Customer     int `json:"customer"`
	Vendor       int `json:"vendor"`
	Invoice      int `json:"invoice"`
	Bill         int `json:"bill"`
	JournalEntry int `json:"journal_entry"`
	Payment      int `json:"payment"`
}

// SaveState writes the server's state as JSON to w (see the package documentation's
// Fixtures): a file LoadState, WithState and cmd/atlastest -state read back into a server
// that then answers as this one does. It fails only when w does.
func (s *Server) SaveState(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.state()); err != nil {
		return fmt.Errorf("atlastest: SaveState: %w", err)
	}
	return nil
}

// LoadState replaces the server's state with the one read from r, as SaveState wrote it:
// its organization, users, companies, seed and records. Every token issued so far is
// revoked (the users are the state's now) and the Idempotency-Keys seen are forgotten;
// the clock, rate-limit windows, faults, the request log and webhook subscriptions stay,
// and deliveries are signed with the state's webhook secret from now on. Reset goes back
// to the loaded state.
//
// A state it cannot load changes nothing and gets an error matching ErrInvalidState that
// names the first problems it found ("invoices[3].customer_id: no customer ... in
// company ..."); when r cannot be read or is not JSON, the error wraps r's error or the
// JSON decoder's too.
func (s *Server) LoadState(r io.Reader) error {
	ld, err := readState(r)
	if err != nil {
		return fmt.Errorf("atlastest: LoadState: %w", err)
	}
	s.install(ld)
	return nil
}

// WithState starts the server from the state in the JSON file at path (see SaveState)
// instead of the seed, so that a suite starts from a known set of customers and invoices,
// or a failing run is replayed from where it started. A file that cannot be read or
// loaded is invalid, and so is WithState with WithSecondCompany or WithInvoices, which
// change a seed the state replaces.
func WithState(path string) Option {
	return func(cfg *config) {
		raw, err := os.ReadFile(path)
		if err != nil {
			cfg.invalid("WithState", "%v", err)
			return
		}
		ld, err := readState(bytes.NewReader(raw))
		if err != nil {
			cfg.invalid("WithState", "%s: %v", path, err)
			return
		}
		cfg.state = ld
	}
}

// loadedState is a state read and checked, ready to install.
type loadedState struct {
	w  *world
	st *store
}

// install makes ld the server's state.
func (s *Server) install(ld *loadedState) {
	st := s.st
	st.mu.Lock()
	st.replaceWith(ld.st)
	st.initial = nil // the next change keeps a copy of the loaded records, for Reset
	st.mu.Unlock()
	s.w.Store(ld.w)
	s.auth.revokeAll()
	s.idem.forget()
	if s.hooks != nil {
		s.hooks.setSecret(ld.w.seed.webhookSecret)
	}
}

// state renders the server's state for SaveState, holding the store lock while it copies.
func (s *Server) state() stateJSON {
	w := s.world()
	out := stateJSON{
		Version:      stateVersion,
		SavedAt:      timestamp(s.clock.now()),
		Organization: organizationJSON{ID: w.org.id, Name: w.org.name},
		Seed: stateSeed{
			AdminEmail:      w.seed.admin.email,
			ViewerEmail:     w.seed.viewer.email,
			CompanyID:       w.seed.mainCompany,
			SecondCompanyID: w.seed.second,
			HiddenCompanyID: w.seed.hidden,
			WebhookSecret:   w.seed.webhookSecret,
			CustomerIDs:     nonNil(w.seed.customers),
			VendorIDs:       nonNil(w.seed.vendors),
		},
		Users:     make([]stateUser, 0, len(w.users)),
		Companies: make([]companyJSON, 0, len(w.companies)),
		Numbers:   map[string]stateNumbers{},
	}
	for _, u := range w.users {
		su := stateUser{ID: u.id, Email: u.email, FullName: u.fullName, Password: u.password, Role: u.role, Access: []stateMembership{}}
		for _, m := range u.memberships {
			su.Access = append(su.Access, stateMembership{CompanyID: m.companyID, Role: m.role})
		}
		out.Users = append(out.Users, su)
	}

	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	out.Accounts, out.Customers, out.Vendors, out.Periods = []stateAccount{}, []stateCustomer{}, []stateVendor{}, []statePeriod{}
	out.Invoices, out.Bills, out.JournalEntries, out.Payments = []stateInvoice{}, []stateBill{}, []stateJournal{}, []statePayment{}
	out.Ledger = []stateLedgerEntry{}
	for _, c := range w.companies {
		id := c.id
		out.Companies = append(out.Companies, renderCompany(c))
		for _, a := range st.accounts.rowsOf(id) {
			out.Accounts = append(out.Accounts, stateAccount{id, renderAccount(a, "")})
		}
		for _, ct := range st.customers.rowsOf(id) {
			out.Customers = append(out.Customers, stateCustomer{id, renderCustomer(ct, "").(customerJSON)})
		}
		for _, ct := range st.vendors.rowsOf(id) {
			out.Vendors = append(out.Vendors, stateVendor{id, renderVendor(ct, "").(vendorJSON)})
		}
		for _, p := range st.periods.rowsOf(id) {
			out.Periods = append(out.Periods, statePeriod{id, renderPeriod(p, "")})
		}
		for _, inv := range st.invoices.rowsOf(id) {
			j := renderInvoice(inv, "")
			j.Status = inv.status // the stored status, not the one a client sees today
			out.Invoices = append(out.Invoices, stateInvoice{id, j})
		}
		for _, b := range st.bills.rowsOf(id) {
			out.Bills = append(out.Bills, stateBill{id, renderBill(b, "")})
		}
		for _, j := range st.journals.rowsOf(id) {
			out.JournalEntries = append(out.JournalEntries, stateJournal{id, renderJournalEntry(j, "")})
		}
		for _, p := range st.payments.rowsOf(id) {
			out.Payments = append(out.Payments, statePayment{id, renderPayment(p, "")})
		}
		for _, e := range st.ledger[id] {
			se := stateLedgerEntry{CompanyID: id, Date: e.date, Source: e.source, SourceID: e.sourceID, Lines: make([]stateLedgerLine, len(e.lines))}
			for i, l := range e.lines {
				se.Lines[i] = stateLedgerLine{AccountID: l.accountID, EntryType: side(l.debit), Amount: money(l.amount)}
			}
			out.Ledger = append(out.Ledger, se)
		}
		if n := st.seq[id]; n != nil {
			out.Numbers[id] = stateNumbers{Customer: n.customer, Vendor: n.vendor, Invoice: n.invoice, Bill: n.bill, JournalEntry: n.journal, Payment: n.payment}
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func side(debit bool) string {
	if debit {
		return "debit"
	}
	return "credit"
}

// maxStateProblems is how many problems of a state an error lists.
const maxStateProblems = 10

// readState decodes and checks a state, and builds what install needs.
func readState(r io.Reader) (*loadedState, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var in stateJSON
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("%w: not a state: %w", ErrInvalidState, err)
	}
	if in.Version != stateVersion {
		return nil, fmt.Errorf("%w: atlastest_state is %d; this atlastest reads version %d", ErrInvalidState, in.Version, stateVersion)
	}
	ld := &stateLoader{
		w:        &world{companyByID: map[string]*company{}},
		st:       newStore(),
		accounts: map[string]string{}, customers: map[string]string{}, vendors: map[string]string{},
		invoices: map[string]string{}, seen: map[string]bool{},
	}
	ld.load(&in)
	if len(ld.problems) > 0 {
		msg := strings.Join(ld.problems, "; ")
		if ld.more > 0 {
			msg += fmt.Sprintf("; and %d more", ld.more)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidState, msg)
	}
	return &loadedState{w: ld.w, st: ld.st}, nil
}

// stateLoader checks a state while it builds its world and store, collecting problems.
type stateLoader struct {
	w        *world
	st       *store
	problems []string
	more     int

	// Company of every id of a kind, for references.
	accounts, customers, vendors, invoices map[string]string
	seen                                   map[string]bool // every record id, to refuse duplicates
}

func (ld *stateLoader) fail(path, format string, args ...any) {
	if len(ld.problems) == maxStateProblems {
		ld.more++
		return
	}
	ld.problems = append(ld.problems, path+": "+fmt.Sprintf(format, args...))
}

// id reads a record's own id: a UUID, lower-cased, not seen before.
func (ld *stateLoader) id(path, s string) string {
	if !isUUID(s) {
		ld.fail(path, "%q is not a UUID", s)
		return s
	}
	s = normalizeUUID(s)
	if ld.seen[s] {
		ld.fail(path, "%s is the id of another record too", s)
	}
	ld.seen[s] = true
	return s
}

// ref reads a reference to a record of the kind in ids (what names it) in company.
func (ld *stateLoader) ref(path, s string, ids map[string]string, companyID, what string) string {
	id := normalizeUUID(s)
	if owner, ok := ids[id]; !ok || owner != companyID {
		ld.fail(path, "no %s %q in company %s", what, s, companyID)
	}
	return id
}

// optRef is ref for an optional reference.
func (ld *stateLoader) optRef(path string, s *string, ids map[string]string, companyID, what string) *string {
	if s == nil {
		return nil
	}
	return ptr(ld.ref(path, *s, ids, companyID, what))
}

func (ld *stateLoader) company(path, id string) string {
	id = normalizeUUID(id)
	if _, ok := ld.w.companyByID[id]; !ok {
		ld.fail(path, "no company %q", id)
	}
	return id
}

func (ld *stateLoader) time(path, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		ld.fail(path, "%q is not an RFC 3339 time", s)
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (ld *stateLoader) timeOrNil(path string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t := ld.time(path, *s)
	return &t
}

func (ld *stateLoader) date(path, s string) string {
	if _, ok := parseDate(s); !ok {
		ld.fail(path, "%q is not a date (YYYY-MM-DD)", s)
	}
	return s
}

func (ld *stateLoader) decimal(path, s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil || !moneyPattern.MatchString(s) {
		ld.fail(path, "%q is not a decimal string", s)
	}
	return d
}

func (ld *stateLoader) oneOf(path, s string, values ...string) string {
	if !slices.Contains(values, s) {
		ld.fail(path, "%q is not one of %s", s, strings.Join(values, ", "))
	}
	return s
}

func (ld *stateLoader) text(path, s string) string {
	if s == "" {
		ld.fail(path, "empty")
	}
	return s
}

// userRoles are the contract's roles of a user.
var userRoles = []string{"owner", "admin", "accountant", "bookkeeper", "viewer"}

func at(kind string, i int) string { return kind + "[" + strconv.Itoa(i) + "]" }

// load checks in and builds the world and the store from it.
func (ld *stateLoader) load(in *stateJSON) {
	w, st := ld.w, ld.st
	w.org = organization{id: ld.text("organization.id", in.Organization.ID), name: ld.text("organization.name", in.Organization.Name)}
	for i, c := range in.Companies {
		p := at("companies", i)
		co := &company{
			id:              ld.id(p+".id", c.ID),
			name:            ld.text(p+".name", c.Name),
			baseCurrency:    ld.text(p+".base_currency", c.BaseCurrency),
			fiscalYearStart: ld.date(p+".fiscal_year_start", c.FiscalYearStart),
			createdAt:       ld.time(p+".created_at", c.CreatedAt),
			updatedAt:       ld.time(p+".updated_at", c.UpdatedAt),
		}
		w.companies = append(w.companies, co)
		w.companyByID[co.id] = co
	}
	emails := map[string]bool{}
	for i, su := range in.Users {
		p := at("users", i)
		u := &user{id: ld.id(p+".id", su.ID), email: ld.text(p+".email", su.Email), fullName: su.FullName,
			password: ld.text(p+".password", su.Password), role: ld.oneOf(p+".role", su.Role, userRoles...), w: w}
		if emails[strings.ToLower(u.email)] {
			ld.fail(p+".email", "%q is the email of another user too", u.email)
		}
		emails[strings.ToLower(u.email)] = true
		for j, m := range su.Access {
			mp := fmt.Sprintf("%s.companies[%d]", p, j)
			u.memberships = append(u.memberships, membership{companyID: ld.company(mp+".id", m.CompanyID), role: ld.oneOf(mp+".role", m.Role, userRoles...)})
		}
		w.users = append(w.users, u)
	}
	ld.loadRecords(in)
	ld.loadSeed(in.Seed)
	for companyID, n := range in.Numbers {
		id := ld.company("numbers."+companyID, companyID)
		if min(n.Customer, n.Vendor, n.Invoice, n.Bill, n.JournalEntry, n.Payment) < 0 {
			ld.fail("numbers."+companyID, "a number is negative")
		}
		*st.numbersOf(id) = numbers{customer: n.Customer, vendor: n.Vendor, invoice: n.Invoice, bill: n.Bill, journal: n.JournalEntry, payment: n.Payment}
	}
}

func (ld *stateLoader) loadSeed(in stateSeed) {
	w := ld.w
	sd := &w.seed
	for _, u := range w.users {
		if strings.EqualFold(u.email, in.AdminEmail) {
			sd.admin = u
		}
		if strings.EqualFold(u.email, in.ViewerEmail) {
			sd.viewer = u
		}
	}
	if sd.admin == nil {
		ld.fail("seed.admin_email", "no user %q", in.AdminEmail)
	}
	if sd.viewer == nil {
		ld.fail("seed.viewer_email", "no user %q", in.ViewerEmail)
	}
	sd.mainCompany = ld.company("seed.company_id", in.CompanyID)
	if in.SecondCompanyID != "" {
		sd.second = ld.company("seed.second_company_id", in.SecondCompanyID)
	}
	if in.HiddenCompanyID != "" {
		sd.hidden = ld.company("seed.hidden_company_id", in.HiddenCompanyID)
	}
	sd.webhookSecret = ld.text("seed.webhook_secret", in.WebhookSecret)
	for i, id := range in.CustomerIDs {
		sd.customers = append(sd.customers, ld.ref(at("seed.customer_ids", i), id, ld.customers, sd.mainCompany, "customer"))
	}
	for i, id := range in.VendorIDs {
		sd.vendors = append(sd.vendors, ld.ref(at("seed.vendor_ids", i), id, ld.vendors, sd.mainCompany, "vendor"))
	}
	sd.accounts = map[string]string{}
	for _, a := range ld.st.accounts.rowsOf(sd.mainCompany) {
		sd.accounts[a.number] = a.id
	}
}

// loadRecords builds the store's records, each after those it may refer to.
func (ld *stateLoader) loadRecords(in *stateJSON) {
	st := ld.st
	for i, a := range in.Accounts {
		p := at("accounts", i)
		companyID := ld.company(p+".company_id", a.CompanyID)
		acc := &account{
			id: ld.id(p+".id", a.ID), companyID: companyID, number: ld.text(p+".account_number", a.AccountNumber),
			name: ld.text(p+".name", a.Name), accountType: ld.oneOf(p+".account_type", a.AccountType, accountTypes...),
			normalBalance: ld.oneOf(p+".normal_balance", a.NormalBalance, "debit", "credit"),
			subtype:       a.AccountSubtype, description: a.Description, isActive: a.IsActive,
			balance:   ld.decimal(p+".current_balance", a.CurrentBalance),
			createdAt: ld.time(p+".created_at", a.CreatedAt), updatedAt: ld.time(p+".updated_at", a.UpdatedAt),
		}
		ld.accounts[acc.id] = companyID
		st.accounts.insert(acc)
	}
	for i, a := range in.Accounts { // parents may come later in the file
		acc, _ := st.accounts.get(normalizeUUID(a.ID))
		if acc != nil {
			acc.parentID = ld.optRef(at("accounts", i)+".parent_id", a.ParentID, ld.accounts, acc.companyID, "account")
		}
	}
	for i, c := range in.Customers {
		p := at("customers", i)
		ct := ld.contact(p, c.CompanyID, c.ID, c.CustomerNumber, c.DisplayName, c.Email, c.Phone, c.Currency, c.PaymentTerms,
			c.CurrentBalance, c.IsActive, c.BillingAddress, c.Notes, c.CreatedAt, c.UpdatedAt)
		ct.creditLimit = ld.decimal(p+".credit_limit", c.CreditLimit)
		ld.customers[ct.id] = ct.companyID
		st.customers.insert(ct)
	}
	for i, v := range in.Vendors {
		p := at("vendors", i)
		ct := ld.contact(p, v.CompanyID, v.ID, v.VendorNumber, v.DisplayName, v.Email, v.Phone, v.Currency, v.PaymentTerms,
			v.CurrentBalance, v.IsActive, v.BillingAddress, v.Notes, v.CreatedAt, v.UpdatedAt)
		ct.defaultExpenseAccountID = ld.optRef(p+".default_expense_account_id", v.DefaultExpenseAccountID, ld.accounts, ct.companyID, "account")
		ld.vendors[ct.id] = ct.companyID
		st.vendors.insert(ct)
	}
	for i, pr := range in.Periods {
		p := at("periods", i)
		st.periods.insert(&period{
			id: ld.id(p+".id", pr.ID), companyID: ld.company(p+".company_id", pr.CompanyID), name: ld.text(p+".name", pr.Name),
			startDate: ld.date(p+".start_date", pr.StartDate), endDate: ld.date(p+".end_date", pr.EndDate),
			status: ld.oneOf(p+".status", pr.Status, "open", "closed"), closedAt: ld.timeOrNil(p+".closed_at", pr.ClosedAt),
			createdAt: ld.time(p+".created_at", pr.CreatedAt), updatedAt: ld.time(p+".updated_at", pr.UpdatedAt),
		})
	}
	for i, j := range in.Invoices {
		p := at("invoices", i)
		companyID := ld.company(p+".company_id", j.CompanyID)
		inv := &invoice{
			id: ld.id(p+".id", j.ID), companyID: companyID, number: ld.text(p+".invoice_number", j.InvoiceNumber),
			customerID:  ld.ref(p+".customer_id", j.CustomerID, ld.customers, companyID, "customer"),
			invoiceDate: ld.date(p+".invoice_date", j.InvoiceDate), dueDate: ld.date(p+".due_date", j.DueDate),
			currency: ld.text(p+".currency", j.Currency), status: ld.oneOf(p+".status", j.Status, invoiceStatus...),
			subtotal: ld.decimal(p+".subtotal", j.Subtotal), taxAmount: ld.decimal(p+".tax_amount", j.TaxAmount),
			total: ld.decimal(p+".total_amount", j.TotalAmount), amountPaid: ld.decimal(p+".amount_paid", j.AmountPaid),
			amountDue: ld.decimal(p+".amount_due", j.AmountDue), notes: j.Notes, sentAt: ld.timeOrNil(p+".sent_at", j.SentAt),
			createdAt: ld.time(p+".created_at", j.CreatedAt), updatedAt: ld.time(p+".updated_at", j.UpdatedAt),
		}
		if inv.status == "overdue" { // what a client sees: stored as sent or partial
			inv.status = "sent"
			if inv.amountPaid.IsPositive() {
				inv.status = "partial"
			}
		}
		for k, l := range j.Lines {
			inv.lines = append(inv.lines, ld.itemLine(fmt.Sprintf("%s.lines[%d]", p, k), companyID, invoiceLineJSON(l), "revenue_account_id"))
		}
		ld.invoices[inv.id] = companyID
		st.invoices.insert(inv)
	}
	for i, j := range in.Bills {
		p := at("bills", i)
		companyID := ld.company(p+".company_id", j.CompanyID)
		b := &bill{
			id: ld.id(p+".id", j.ID), companyID: companyID, number: ld.text(p+".bill_number", j.BillNumber),
			vendorID: ld.ref(p+".vendor_id", j.VendorID, ld.vendors, companyID, "vendor"),
			billDate: ld.date(p+".bill_date", j.BillDate), dueDate: ld.date(p+".due_date", j.DueDate),
			currency: ld.text(p+".currency", j.Currency), status: ld.oneOf(p+".status", j.Status, billStatus...),
			subtotal: ld.decimal(p+".subtotal", j.Subtotal), taxAmount: ld.decimal(p+".tax_amount", j.TaxAmount),
			total: ld.decimal(p+".total_amount", j.TotalAmount), amountPaid: ld.decimal(p+".amount_paid", j.AmountPaid),
			amountDue: ld.decimal(p+".amount_due", j.AmountDue), vendorBillNumber: j.VendorBillNumber, notes: j.Notes,
			approvedAt: ld.timeOrNil(p+".approved_at", j.ApprovedAt),
			createdAt:  ld.time(p+".created_at", j.CreatedAt), updatedAt: ld.time(p+".updated_at", j.UpdatedAt),
		}
		for k, l := range j.Lines {
			b.lines = append(b.lines, ld.itemLine(fmt.Sprintf("%s.lines[%d]", p, k), companyID, invoiceLineJSON(l), "expense_account_id"))
		}
		st.bills.insert(b)
	}
	for i, j := range in.JournalEntries {
		p := at("journal_entries", i)
		companyID := ld.company(p+".company_id", j.CompanyID)
		je := &journalEntry{
			id: ld.id(p+".id", j.ID), companyID: companyID, number: ld.text(p+".entry_number", j.EntryNumber),
			entryDate: ld.date(p+".entry_date", j.EntryDate), description: j.Description,
			status: ld.oneOf(p+".status", j.Status, journalStatus...), total: ld.decimal(p+".total_amount", j.TotalAmount),
			postedAt:  ld.timeOrNil(p+".posted_at", j.PostedAt),
			createdAt: ld.time(p+".created_at", j.CreatedAt), updatedAt: ld.time(p+".updated_at", j.UpdatedAt),
		}
		for k, l := range j.Lines {
			lp := fmt.Sprintf("%s.lines[%d]", p, k)
			je.lines = append(je.lines, journalLine{
				id: ld.id(lp+".id", l.ID), accountID: ld.ref(lp+".account_id", l.AccountID, ld.accounts, companyID, "account"),
				lineNumber: l.LineNumber, debit: ld.oneOf(lp+".entry_type", l.EntryType, "debit", "credit") == "debit",
				amount: ld.decimal(lp+".amount", l.Amount), description: l.Description,
			})
		}
		st.journals.insert(je)
	}
	for i, j := range in.Payments {
		p := at("payments", i)
		companyID := ld.company(p+".company_id", j.CompanyID)
		pm := &payment{
			id: ld.id(p+".id", j.ID), companyID: companyID, number: ld.text(p+".payment_number", j.PaymentNumber),
			customerID:  ld.ref(p+".customer_id", j.CustomerID, ld.customers, companyID, "customer"),
			paymentDate: ld.date(p+".payment_date", j.PaymentDate), currency: ld.text(p+".currency", j.Currency),
			method:           ld.oneOf(p+".payment_method", j.PaymentMethod, paymentMethods...),
			depositAccountID: ld.ref(p+".deposit_account_id", j.DepositAccountID, ld.accounts, companyID, "account"),
			amount:           ld.decimal(p+".amount", j.Amount), reference: j.Reference,
			createdAt: ld.time(p+".created_at", j.CreatedAt), updatedAt: ld.time(p+".updated_at", j.UpdatedAt),
		}
		for k, a := range j.Applications {
			ap := fmt.Sprintf("%s.applications[%d]", p, k)
			pm.applications = append(pm.applications, application{
				invoiceID: ld.ref(ap+".invoice_id", a.InvoiceID, ld.invoices, companyID, "invoice"),
				amount:    ld.decimal(ap+".amount_applied", a.AmountApplied),
			})
		}
		st.payments.insert(pm)
	}
	for i, e := range in.Ledger {
		p := at("ledger", i)
		companyID := ld.company(p+".company_id", e.CompanyID)
		le := &ledgerEntry{companyID: companyID, date: ld.date(p+".date", e.Date), source: ld.text(p+".source", e.Source), sourceID: e.SourceID}
		for k, l := range e.Lines {
			lp := fmt.Sprintf("%s.lines[%d]", p, k)
			le.lines = append(le.lines, ledgerLine{
				accountID: ld.ref(lp+".account_id", l.AccountID, ld.accounts, companyID, "account"),
				debit:     ld.oneOf(lp+".entry_type", l.EntryType, "debit", "credit") == "debit",
				amount:    ld.decimal(lp+".amount", l.Amount),
			})
		}
		// Balances are the state's own (current_balance): the entry is kept, not posted.
		st.ledger[companyID] = append(st.ledger[companyID], le)
	}
}

// contact builds a customer or a vendor from the fields they share.
func (ld *stateLoader) contact(p, companyID, id, number, name string, email, phone *string, currency, terms, balance string,
	active bool, addr addressJSON, notes *string, createdAt, updatedAt string) *contact {
	return &contact{
		id: ld.id(p+".id", id), companyID: ld.company(p+".company_id", companyID), number: ld.text(p+".number", number),
		displayName: ld.text(p+".display_name", name), email: email, phone: phone, currency: ld.text(p+".currency", currency),
		paymentTerms: ld.oneOf(p+".payment_terms", terms, paymentTerms...), balance: ld.decimal(p+".current_balance", balance),
		isActive: active, notes: notes,
		address:   address{line1: addr.Line1, line2: addr.Line2, city: addr.City, state: addr.State, postalCode: addr.PostalCode, country: addr.Country},
		createdAt: ld.time(p+".created_at", createdAt), updatedAt: ld.time(p+".updated_at", updatedAt),
	}
}

// itemLine builds a line of an invoice or a bill; accountField names its account.
func (ld *stateLoader) itemLine(p, companyID string, l invoiceLineJSON, accountField string) itemLine {
	return itemLine{
		id: ld.id(p+".id", l.ID), description: l.Description, lineNumber: l.LineNumber,
		accountID: ld.ref(p+"."+accountField, l.AccountID, ld.accounts, companyID, "account"),
		quantity:  ld.decimal(p+".quantity", l.Quantity), unitPrice: ld.decimal(p+".unit_price", l.UnitPrice),
		amount:  ld.decimal(p+".amount", l.Amount),
		taxRate: ld.decimal(p+".tax_rate", l.TaxRate), taxAmount: ld.decimal(p+".tax_amount", l.TaxAmount),
	}
}

// Reset puts the server's records back as they were when it started: the customers,
// vendors, invoices, bills, journal entries, payments, periods and account balances of
// the seed (or of WithState, or of the last LoadState). The Idempotency-Keys seen so far
// are forgotten with them. What is not data stays: users and their tokens, the clock, the
// rate-limit windows, injected faults, the request log, webhook subscriptions and
// deliveries; each has a method of its own. Requests in flight during a Reset see the
// records before or after it, never a mix.
func (s *Server) Reset() {
	st := s.st
	st.mu.Lock()
	if st.initial != nil {
		st.replaceWith(st.initial.clone())
	}
	st.mu.Unlock()
	s.idem.forget()
}

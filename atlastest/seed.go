package atlastest

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// seeder hands out the creation times of seeded records: from a day before the server
// starts, one millisecond apart in the order the records are made, so every list has a
// defined default order and everything created later sorts after the seed.
type seeder struct {
	at time.Time
}

func (sd *seeder) next() time.Time {
	sd.at = sd.at.Add(time.Millisecond)
	return sd.at
}

func ptr[T any](v T) *T { return &v }

// accountSpec is one account of the seeded chart of accounts.
type accountSpec struct {
	number, name, accountType, subtype, normal, description string
}

var chartOfAccounts = []accountSpec{
	{"1000", "Cash - Operating Account", "asset", "current_asset", "debit", ""},
	{"1200", "Accounts Receivable", "asset", "current_asset", "debit", "Amounts owed by customers."},
	{"2000", "Accounts Payable", "liability", "current_liability", "credit", "Amounts owed to vendors."},
	{"2100", "Accrued Liabilities", "liability", "current_liability", "credit", ""},
	{"2200", "Sales Tax Payable", "liability", "current_liability", "credit", "Sales tax collected on invoices."},
	{"3000", "Owner's Equity", "equity", "owners_equity", "credit", ""},
	{"3100", "Retained Earnings", "equity", "retained_earnings", "credit", ""},
	{"3900", "Current Year Earnings", "equity", "current_year_earnings", "credit", "Net income of the fiscal year so far; the balance sheet shows it here."},
	{"4000", "Sales Revenue", "revenue", "operating_revenue", "credit", "Revenue from services and goods sold."},
	{"4100", "Service Revenue", "revenue", "operating_revenue", "credit", ""},
	{"5000", "Cost of Goods Sold", "expense", "cost_of_goods_sold", "debit", ""},
	{"6000", "Rent Expense", "expense", "operating_expense", "debit", ""},
	{"6100", "Office Supplies", "expense", "operating_expense", "debit", ""},
	{"6200", "Utilities", "expense", "operating_expense", "debit", ""},
}

// Account numbers the seed and the domain rules rely on.
const (
	accountReceivable       = "1200"
	accountSalesTax         = "2200"
	accountSalesRevenue     = "4000"
	accountOfficeSupplies   = "6100"
	accountUtilitiesExpense = "6200"
)

type contactSpec struct {
	name, email, phone, terms, city, state, postal string
}

var seedCustomers = []contactSpec{
	{"Globex Corporation", "ap@globex.example.com", "+1-217-555-0142", "net_30", "Springfield", "IL", "62701"},
	{"Initech LLC", "billing@initech.example.com", "+1-512-555-0199", "net_15", "Austin", "TX", "73301"},
	{"Umbrella Health", "accounts@umbrella.example.com", "", "net_60", "Raccoon City", "MO", "65201"},
}

var seedVendors = []contactSpec{
	{"Office Supply Co.", "billing@officesupply.example.com", "", "net_30", "Chicago", "IL", "60601"},
	{"City Power & Light", "accounts@citypower.example.com", "+1-312-555-0100", "due_on_receipt", "Chicago", "IL", "60602"},
}

// seedData builds the organization, users, companies and their records. It runs before
// the server serves anything, so it needs no lock.
func (s *Server) seedData() {
	now := s.clock.now()
	sd := &seeder{at: now.Add(-24 * time.Hour).Truncate(time.Second)}
	year := now.Year()

	w := &world{companyByID: map[string]*company{}}
	w.org = organization{id: newID(), name: "Acme Holdings"}
	w.seed.webhookSecret = randomToken("whsec_")

	addCompany := func(name, currency string) *company {
		t := sd.next()
		c := &company{
			id:              newID(),
			name:            name,
			baseCurrency:    currency,
			fiscalYearStart: fmt.Sprintf("%d-01-01", year),
			createdAt:       t,
			updatedAt:       t,
		}
		w.companies = append(w.companies, c)
		w.companyByID[c.id] = c
		return c
	}
	primary := addCompany("Acme Consulting LLC", "USD")
	w.seed.mainCompany = primary.id

	admin := &user{id: newID(), email: "admin@acme.example.com", fullName: "Alex Admin", password: randomToken("pw-")[:27], role: "admin",
		memberships: []membership{{companyID: primary.id, role: "admin"}}, w: w}
	viewer := &user{id: newID(), email: "viewer@acme.example.com", fullName: "Vera Viewer", password: randomToken("pw-")[:27], role: "viewer",
		memberships: []membership{{companyID: primary.id, role: "viewer"}}, w: w}
	w.users = []*user{admin, viewer}
	w.seed.admin, w.seed.viewer = admin, viewer

	if s.cfg.secondCompany {
		second := addCompany("Acme Retail Inc.", "USD")
		hidden := addCompany("Acme Europe GmbH", "EUR")
		admin.memberships = append(admin.memberships, membership{companyID: second.id, role: "admin"})
		w.seed.second, w.seed.hidden = second.id, hidden.id
	}

	for _, c := range w.companies {
		accounts := s.seedCompany(c, sd, year)
		if c == primary {
			w.seed.accounts = accounts
		}
	}
	for _, c := range s.st.customers.rowsOf(primary.id) {
		w.seed.customers = append(w.seed.customers, c.id)
	}
	for _, v := range s.st.vendors.rowsOf(primary.id) {
		w.seed.vendors = append(w.seed.vendors, v.id)
	}
	s.seedInvoices(primary.id, w.seed.accounts, sd, now)
	s.w.Store(w)
}

// seedCompany gives a company its chart of accounts, customers, vendors and twelve open
// monthly periods for the year, and returns its account ids by number.
func (s *Server) seedCompany(c *company, sd *seeder, year int) map[string]string {
	st := s.st
	ids := map[string]string{}
	for _, spec := range chartOfAccounts {
		t := sd.next()
		a := &account{
			id:            newID(),
			companyID:     c.id,
			number:        spec.number,
			name:          spec.name,
			accountType:   spec.accountType,
			normalBalance: spec.normal,
			subtype:       ptr(spec.subtype),
			isActive:      true,
			createdAt:     t,
			updatedAt:     t,
		}
		if spec.description != "" {
			a.description = ptr(spec.description)
		}
		st.accounts.insert(a)
		ids[spec.number] = a.id
	}

	seq := st.numbersOf(c.id)
	addContact := func(spec contactSpec, vendor bool) *contact {
		t := sd.next()
		ct := &contact{
			id:           newID(),
			companyID:    c.id,
			displayName:  spec.name,
			email:        ptr(spec.email),
			currency:     c.baseCurrency,
			paymentTerms: spec.terms,
			isActive:     true,
			address:      address{line1: ptr("1 Main Street"), city: ptr(spec.city), state: ptr(spec.state), postalCode: ptr(spec.postal), country: "US"},
			createdAt:    t,
			updatedAt:    t,
		}
		if spec.phone != "" {
			ct.phone = ptr(spec.phone)
		}
		if vendor {
			seq.vendor++
			ct.number = fmt.Sprintf("VEND-%04d", seq.vendor)
			st.vendors.insert(ct)
		} else {
			seq.customer++
			ct.number = fmt.Sprintf("CUST-%04d", seq.customer)
			ct.creditLimit = decimal.NewFromInt(10000)
			st.customers.insert(ct)
		}
		return ct
	}
	for _, spec := range seedCustomers {
		addContact(spec, false)
	}
	vendorAccounts := []string{accountOfficeSupplies, accountUtilitiesExpense}
	for i, spec := range seedVendors {
		addContact(spec, true).defaultExpenseAccountID = ptr(ids[vendorAccounts[i]])
	}

	for m := time.January; m <= time.December; m++ {
		t := sd.next()
		start := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
		st.periods.insert(&period{
			id:        newID(),
			companyID: c.id,
			name:      fmt.Sprintf("%s %d", m, year),
			startDate: start.Format(dateLayout),
			endDate:   start.AddDate(0, 1, -1).Format(dateLayout),
			status:    "open",
			createdAt: t,
			updatedAt: t,
		})
	}
	return ids
}

// invoiceTemplate is a precomputed invoice line: seeded invoices share its decimals
// (decimals are immutable), which keeps seeding 100,000 invoices fast and small.
type invoiceTemplate struct {
	description                                 string
	quantity, unitPrice, amount, taxRate, taxAt decimal.Decimal
	total                                       decimal.Decimal
}

func invoiceTemplates() []invoiceTemplate {
	var out []invoiceTemplate
	for _, q := range []string{"1", "2", "5", "10"} {
		for _, p := range []string{"150.00", "99.99", "1250.00", "42.50"} {
			for _, rate := range []string{"0", "8.25"} {
				qd, pd, rd := decimal.RequireFromString(q), decimal.RequireFromString(p), decimal.RequireFromString(rate)
				amount := round2(qd.Mul(pd))
				tax := round2(amount.Mul(rd).Div(decimal.NewFromInt(100)))
				out = append(out, invoiceTemplate{
					description: "Consulting services",
					quantity:    qd, unitPrice: pd, amount: amount, taxRate: rd, taxAt: tax,
					total: amount.Add(tax),
				})
			}
		}
	}
	return out
}

// seedInvoices adds cfg.invoices invoices to the company: dated over the current year up
// to today, due 30 days later, one line each, and in turn draft, sent, sent, void. Sent
// invoices are posted to the ledger (receivable against revenue and sales tax) and count
// in their customer's balance.
func (s *Server) seedInvoices(companyID string, accounts map[string]string, sd *seeder, now time.Time) {
	n := s.cfg.invoices
	if n == 0 {
		return
	}
	st := s.st
	customers := st.customers.rowsOf(companyID)
	templates := invoiceTemplates()

	jan1 := time.Date(now.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	days := now.YearDay()
	invoiceDates, dueDates := make([]string, days), make([]string, days)
	for d := range days {
		invoiceDates[d] = jan1.AddDate(0, 0, d).Format(dateLayout)
		dueDates[d] = jan1.AddDate(0, 0, d+30).Format(dateLayout)
	}

	ids := newIDs(2 * n)
	invoices := make([]invoice, n) // one allocation for all of them
	seq := st.numbersOf(companyID)
	prefix := fmt.Sprintf("INV-%d-", now.Year())
	for i := range invoices {
		tpl := templates[i%len(templates)]
		cust := customers[i%len(customers)]
		day := i % days
		t := sd.next()
		seq.invoice++
		inv := &invoices[i]
		*inv = invoice{
			id:          ids[2*i],
			companyID:   companyID,
			number:      fmt.Sprintf("%s%04d", prefix, seq.invoice),
			customerID:  cust.id,
			invoiceDate: invoiceDates[day],
			dueDate:     dueDates[day],
			currency:    cust.currency,
			status:      [...]string{"draft", "sent", "sent", "void"}[i%4],
			subtotal:    tpl.amount,
			taxAmount:   tpl.taxAt,
			total:       tpl.total,
			amountDue:   tpl.total,
			lines: []itemLine{{
				id:          ids[2*i+1],
				lineNumber:  1,
				description: tpl.description,
				quantity:    tpl.quantity,
				unitPrice:   tpl.unitPrice,
				amount:      tpl.amount,
				accountID:   accounts[accountSalesRevenue],
				taxRate:     tpl.taxRate,
				taxAmount:   tpl.taxAt,
			}},
			createdAt: t,
			updatedAt: t,
		}
		if inv.status == "sent" {
			inv.sentAt = &inv.createdAt
			cust.balance = cust.balance.Add(inv.total)
			e := &ledgerEntry{
				companyID: companyID,
				date:      inv.invoiceDate,
				source:    "invoice",
				sourceID:  inv.id,
				lines: []ledgerLine{
					{accountID: accounts[accountReceivable], debit: true, amount: inv.total},
					{accountID: accounts[accountSalesRevenue], amount: inv.subtotal},
				},
			}
			if inv.taxAmount.IsPositive() {
				e.lines = append(e.lines, ledgerLine{accountID: accounts[accountSalesTax], amount: inv.taxAmount})
			}
			st.post(e, t)
		}
		st.invoices.insert(inv)
	}
}

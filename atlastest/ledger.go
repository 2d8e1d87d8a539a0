package atlastest

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The domain rules shared by invoices, bills, journal entries and payments: reading priced
// lines, the closed-period check, and postings to the ledger and their reversals.
//
// Every document posts on its own date (invoice_date, bill_date, entry_date, payment_date)
// and a void reverses the posting on that same date, so a voided document leaves no trace
// in the reports of any period. Whatever would post or reverse in a closed period gets 409,
// as does a document created or moved into one.
//
// Handlers answer in this order: 401; 422 for the query; 403 for a company the user cannot
// see (and, on collection routes, for a viewer); 400 or 422 for a body that cannot be
// read; on item routes 404 for the item, then 403 for a viewer; 422 for the body's fields;
// and last 409 for what the state of the records refuses (a status, a closed period). A
// malformed request is a 422 whatever the state.

// accountNumbered is the id of the company's account with the given number, or "". Call
// with the store lock held.
func (st *store) accountNumbered(companyID, number string) string {
	for _, a := range st.accounts.rowsOf(companyID) {
		if a.number == number {
			return a.id
		}
	}
	return ""
}

// accountOf reads an account id field: the account must exist in the company and, when
// accountType is not "", be of that type. Problems are recorded in o. Call with the store
// lock held.
func (st *store) accountOf(o *object, field, companyID, accountType string) (string, bool) {
	id, ok := o.str(field, isUUIDStr)
	if !ok {
		return "", false
	}
	a, found := st.accounts.get(normalizeUUID(id))
	switch {
	case !found || a.companyID != companyID:
		o.fail(field, "Account not found in this company.")
		return "", false
	case accountType != "" && a.accountType != accountType:
		article := "a"
		if strings.ContainsRune("aeiou", rune(accountType[0])) {
			article = "an"
		}
		o.fail(field, fmt.Sprintf("Account %s is not %s %s account.", a.number, article, accountType))
		return "", false
	}
	return a.id, true
}

// checkOpen is the 409 for a date in a closed period of the company, or nil. Call with the
// store lock held.
func (st *store) checkOpen(companyID, date string) error {
	p := st.periodOn(companyID, date)
	if p == nil || p.status != "closed" {
		return nil
	}
	return errConflict(fmt.Sprintf("%s falls in %s, a closed period.", date, p.name))
}

// readDate reads a date field (YYYY-MM-DD), like object.str.
func readDate(o *object, field string) (string, bool) {
	return o.str(field, isDate)
}

// dueDays is how many days after the document's date payment terms make it due.
var dueDays = map[string]int{"due_on_receipt": 0, "net_15": 15, "net_30": 30, "net_60": 60, "net_90": 90}

// dueFrom is the due date that payment terms give a document dated date (YYYY-MM-DD).
func dueFrom(date, terms string) string {
	t, _ := parseDate(date)
	return t.AddDate(0, 0, dueDays[terms]).Format(dateLayout)
}

// readItemLines reads the lines of an invoice or a bill (InvoiceLineCreate,
// BillLineCreate): description, quantity (default 1), unit_price, the account named by
// accountField (which must be of accountType in the company) and tax_rate (default 0). It
// computes each line's amount and tax, rounded to cents half away from zero. ok is false
// when lines is absent or any problem was recorded in o. Call with the store lock held.
func (st *store) readItemLines(o *object, companyID, accountField, accountType string) ([]itemLine, bool) {
	elems, ok := o.objects("lines", 1)
	if !ok {
		return nil, false
	}
	before := len(*o.errs)
	out := make([]itemLine, 0, len(elems))
	ids := newIDs(len(elems))
	for i, e := range elems {
		e.require("description", "unit_price", accountField)
		l := itemLine{id: ids[i], lineNumber: i + 1, quantity: decimal.NewFromInt(1)}
		l.description, _ = e.str("description", length(1, 0))
		if q, ok := e.amount("quantity", positiveAmount); ok {
			l.quantity = q
		}
		l.unitPrice, _ = e.amount("unit_price", nonNegative)
		l.accountID, _ = st.accountOf(e, accountField, companyID, accountType)
		if r, ok := e.amount("tax_rate", nonNegative); ok {
			l.taxRate = r
		}
		l.amount = round2(l.quantity.Mul(l.unitPrice))
		l.taxAmount = round2(l.amount.Mul(l.taxRate).Shift(-2))
		out = append(out, l)
	}
	return out, len(*o.errs) == before
}

// lineTotals are the subtotal (sum of line amounts) and tax (sum of line taxes) of lines.
func lineTotals(lines []itemLine) (subtotal, tax decimal.Decimal) {
	for _, l := range lines {
		subtotal = subtotal.Add(l.amount)
		tax = tax.Add(l.taxAmount)
	}
	return subtotal, tax
}

// checkDue records a due date before the document's date as a problem of dueField.
func checkDue(o *object, dueField, date, due string) {
	if date != "" && due != "" && due < date {
		o.fail(dueField, "Due date must not be before "+date+".")
	}
}

// docNumber is the next server-assigned number of a sequence: PREFIX-YEAR-0001.
func docNumber(prefix string, now time.Time, seq *int) string {
	*seq++
	return fmt.Sprintf("%s-%d-%04d", prefix, now.Year(), *seq)
}

// posting collects the lines of a ledger entry, adding up what goes to the same account on
// the same side and leaving out zero amounts, in the order accounts first appear.
type posting struct {
	e *ledgerEntry
}

func newPosting(companyID, date, source, sourceID string) *posting {
	return &posting{e: &ledgerEntry{companyID: companyID, date: date, source: source, sourceID: sourceID}}
}

func (p *posting) add(accountID string, debit bool, amount decimal.Decimal) {
	if amount.IsZero() {
		return
	}
	for i, l := range p.e.lines {
		if l.accountID == accountID && l.debit == debit {
			p.e.lines[i].amount = l.amount.Add(amount)
			return
		}
	}
	p.e.lines = append(p.e.lines, ledgerLine{accountID: accountID, debit: debit, amount: amount})
}

// reversal is the entry that undoes e: the same lines on the other side, on the same date.
func reversal(e *ledgerEntry) *ledgerEntry {
	r := &ledgerEntry{companyID: e.companyID, date: e.date, source: e.source, sourceID: e.sourceID,
		lines: make([]ledgerLine, len(e.lines))}
	for i, l := range e.lines {
		r.lines[i] = ledgerLine{accountID: l.accountID, debit: !l.debit, amount: l.amount}
	}
	return r
}

// webhookAmount is an amount as webhook payloads carry it: a JSON number.
func webhookAmount(d decimal.Decimal) float64 { return d.InexactFloat64() }

// inStore runs f with the store lock held and returns its error. Handlers do their reading
// and writing in f, copy the answer and the events out of it, and encode and emit after it
// returned.
//
// The first call keeps a copy of the records as they were, for Reset.
func (s *Server) inStore(f func(st *store) error) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.initial == nil {
		s.st.initial = s.st.clone()
	}
	return f(s.st)
}

// contactOf reads a contact id field: the contact must be in t and belong to the company
// (what names it in the message). Problems are recorded in o. Call with the store lock held.
func contactOf(o *object, field string, t *table[contact], companyID, what string) *contact {
	id, ok := o.str(field, isUUIDStr)
	if !ok {
		return nil
	}
	c, found := t.get(normalizeUUID(id))
	if !found || c.companyID != companyID {
		o.fail(field, what+" not found in this company.")
		return nil
	}
	return c
}

// readReason reads the body of the void actions (VoidRequest): a reason of 1 to 500
// characters. Atlas keeps it for its audit trail; the fake server only checks it.
func readReason(o *object) error {
	o.require("reason")
	o.str("reason", length(1, 500))
	return o.err()
}

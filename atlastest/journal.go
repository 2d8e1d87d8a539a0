package atlastest

import (
	"time"

	"github.com/shopspring/decimal"
)

var (
	journalStatus = []string{"draft", "posted", "void"}
	entryTypes    = []string{"debit", "credit"}
)

// journalEntry is a manual journal entry (contract schema JournalEntry): draft, posted or
// void. total is the sum of its debit lines, which equals the sum of its credit lines.
type journalEntry struct {
	id, companyID, number, entryDate, description, status string
	total                                                 decimal.Decimal
	postedAt                                              *time.Time
	lines                                                 []journalLine
	createdAt, updatedAt                                  time.Time
}

// journalLine is one line of a journal entry (contract schema JournalEntryLine).
type journalLine struct {
	id, accountID string
	lineNumber    int
	debit         bool // false: credit
	amount        decimal.Decimal
	description   *string
}

type journalLineJSON struct {
	ID          string  `json:"id"`
	LineNumber  int     `json:"line_number"`
	AccountID   string  `json:"account_id"`
	EntryType   string  `json:"entry_type"`
	Amount      string  `json:"amount"`
	Description *string `json:"description"`
}

type journalEntryJSON struct {
	ID          string            `json:"id"`
	EntryNumber string            `json:"entry_number"`
	EntryDate   string            `json:"entry_date"`
	Description string            `json:"description"`
	Status      string            `json:"status"`
	PostedAt    *string           `json:"posted_at"`
	TotalAmount string            `json:"total_amount"`
	Lines       []journalLineJSON `json:"lines"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

// renderJournalEntry is the entry as a client sees it (on any day).
func renderJournalEntry(j *journalEntry, _ string) journalEntryJSON {
	out := journalEntryJSON{
		ID:          j.id,
		EntryNumber: j.number,
		EntryDate:   j.entryDate,
		Description: j.description,
		Status:      j.status,
		PostedAt:    timestampOrNil(j.postedAt),
		TotalAmount: money(j.total),
		Lines:       make([]journalLineJSON, len(j.lines)),
		CreatedAt:   timestamp(j.createdAt),
		UpdatedAt:   timestamp(j.updatedAt),
	}
	for i, l := range j.lines {
		side := "credit"
		if l.debit {
			side = "debit"
		}
		out.Lines[i] = journalLineJSON{
			ID:          l.id,
			LineNumber:  l.lineNumber,
			AccountID:   l.accountID,
			EntryType:   side,
			Amount:      money(l.amount),
			Description: l.description,
		}
	}
	return out
}

var journalSorts = []sortKey[journalEntry]{
	byTime("created_at", func(j *journalEntry) time.Time { return j.createdAt }),
	byString("entry_date", func(j *journalEntry) string { return j.entryDate }),
	byString("entry_number", func(j *journalEntry) string { return j.number }),
}

// journalPosting is what posting the entry puts in the ledger: its lines as they are, on
// its entry date.
func journalPosting(j *journalEntry) *ledgerEntry {
	e := &ledgerEntry{companyID: j.companyID, date: j.entryDate, source: "journal_entry", sourceID: j.id,
		lines: make([]ledgerLine, len(j.lines))}
	for i, l := range j.lines {
		e.lines[i] = ledgerLine{accountID: l.accountID, debit: l.debit, amount: l.amount}
	}
	return e
}

var journalKind = &kind[journalEntry, journalEntryJSON]{
	name:   "Journal entry",
	table:  func(st *store) *table[journalEntry] { return &st.journals },
	sorts:  journalSorts,
	render: renderJournalEntry,
}

// journalFilter is the filters of GET /journal-entries: status and an entry_date range.
func journalFilter(q *query, _ string) func(*journalEntry) bool {
	status, hasStatus := q.str("status", oneOf(journalStatus...))
	from, hasFrom := q.str("date_from", isDate)
	to, hasTo := q.str("date_to", isDate)
	if !hasStatus && !hasFrom && !hasTo {
		return nil
	}
	return func(j *journalEntry) bool {
		return (!hasStatus || j.status == status) &&
			(!hasFrom || j.entryDate >= from) &&
			(!hasTo || j.entryDate <= to)
	}
}

// newJournalEntry is POST /journal-entries: a draft of at least two lines on accounts of
// the company whose debits equal its credits (else 422 naming lines), dated outside closed
// periods (else 409).
func newJournalEntry(st *store, o *object, companyID string, now time.Time) (*journalEntry, []emitted, error) {
	o.require("entry_date", "description", "lines")
	j := &journalEntry{id: newID(), companyID: companyID, status: "draft", createdAt: now, updatedAt: now}
	j.entryDate, _ = readDate(o, "entry_date")
	j.description, _ = o.str("description", length(1, 500))
	j.lines = st.readJournalLines(o, companyID)
	if err := o.err(); err != nil {
		return nil, nil, err
	}
	debits, credits := decimal.Zero, decimal.Zero
	for _, l := range j.lines {
		if l.debit {
			debits = debits.Add(l.amount)
		} else {
			credits = credits.Add(l.amount)
		}
	}
	if !debits.Equal(credits) {
		o.fail("lines", "Total debits ("+money(debits)+") must equal total credits ("+money(credits)+").")
		return nil, nil, o.err()
	}
	if err := st.checkOpen(companyID, j.entryDate); err != nil {
		return nil, nil, err
	}
	j.total = debits
	j.number = docNumber("JE", now, &st.numbersOf(companyID).journal)
	return j, nil, nil
}

// readJournalLines reads the lines of a JournalEntryCreate (at least two): an account of
// the company, a side, a positive amount and an optional description. Problems are
// recorded in o. Call with the store lock held.
func (st *store) readJournalLines(o *object, companyID string) []journalLine {
	elems, ok := o.objects("lines", 2)
	if !ok {
		return nil
	}
	ids := newIDs(len(elems))
	out := make([]journalLine, len(elems))
	for i, e := range elems {
		e.require("account_id", "entry_type", "amount")
		l := journalLine{id: ids[i], lineNumber: i + 1}
		l.accountID, _ = st.accountOf(e, "account_id", companyID, "")
		side, _ := e.str("entry_type", oneOf(entryTypes...))
		l.debit = side == "debit"
		l.amount, _ = e.amount("amount", positiveAmount)
		if v, ok := e.str("description", length(0, 500)); ok {
			l.description = &v
		}
		out[i] = l
	}
	return out
}

// postJournalEntry is POST /journal-entries/{id}/post: a draft is posted to the ledger on
// its entry date (409 for any other status, or when that date is in a closed period). It
// takes no body.
func postJournalEntry(st *store, j *journalEntry, _ *object, now time.Time) ([]emitted, error) {
	if j.status != "draft" {
		return nil, errConflict("Only draft journal entries can be posted.")
	}
	if err := st.checkOpen(j.companyID, j.entryDate); err != nil {
		return nil, err
	}
	j.status, j.postedAt, j.updatedAt = "posted", &now, now
	st.post(journalPosting(j), now)
	return nil, nil
}

// voidJournalEntry is POST /journal-entries/{id}/void with a VoidRequest: 409 when already
// void. A posted entry is reversed on its entry date (409 when that is in a closed period);
// a draft just becomes void.
func voidJournalEntry(st *store, j *journalEntry, o *object, now time.Time) ([]emitted, error) {
	if err := readReason(o); err != nil {
		return nil, err
	}
	switch j.status {
	case "void":
		return nil, errConflict("The journal entry is already void.")
	case "posted":
		if err := st.checkOpen(j.companyID, j.entryDate); err != nil {
			return nil, err
		}
		st.post(reversal(journalPosting(j)), now)
	}
	j.status, j.updatedAt = "void", now
	return nil, nil
}

// Command sync exports every invoice of a company to a JSON Lines or CSV file,
// paced to the Standard plan's rate limit, with a progress line showing the
// count, the rate and the time left. Stopped part-way (Ctrl-C, a crash, a
// deploy), it carries on where it stopped when run again with -resume.
//
//	go run ./examples/sync -out invoices.jsonl
//	go run ./examples/sync -out invoices.csv
//	go run ./examples/sync -out invoices.csv -resume
//
// With ATLAS_EMAIL and ATLAS_PASSWORD set (and ATLAS_BASE_URL for an API other
// than production, ATLAS_COMPANY_ID for a company other than the first) it
// exports from that account. Otherwise it exports from the SDK's in-process
// fake server (package atlastest) seeded with -demo-invoices invoices; that
// server is new on every run, so -resume needs a real one.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	out := flag.String("out", "invoices.jsonl", "output file")
	format := flag.String("format", "", `"jsonl" or "csv" (default: from the output file's extension)`)
	resume := flag.Bool("resume", false, "carry on with an export that stopped part-way")
	demo := flag.Int("demo-invoices", 2500, "invoices to seed the embedded fake server with")
	flag.Parse()
	if *format == "" {
		*format = strings.TrimPrefix(filepath.Ext(*out), ".")
	}
	if *format != "jsonl" && *format != "csv" {
		fmt.Fprintf(os.Stderr, "sync: unknown format %q: use -format jsonl or -format csv\n", *format)
		os.Exit(2)
	}

	// Ctrl-C or SIGTERM cancels ctx: the request in flight or the wait for the
	// rate limit stops at once, and what was written stays recorded.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *out, *format, *resume, *demo)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(os.Stderr, "\nsync: interrupted; run again with -resume to carry on\n")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sync:", err)
		os.Exit(1)
	}
}

// state is what an export has done so far, saved beside the output after
// every page so that -resume can carry on from there.
type state struct {
	BaseURL   string `json:"base_url"`
	CompanyID string `json:"company_id"`
	Format    string `json:"format"`
	NextPage  int    `json:"next_page"`
	Exported  int    `json:"exported"`
	Offset    int64  `json:"offset"` // the output's length after the last complete page
}

func run(ctx context.Context, out, format string, resume bool, demoInvoices int) error {
	c, baseURL, closeServer, err := connect(demoInvoices)
	if err != nil {
		return err
	}
	defer closeServer()
	company, err := pickCompany(ctx, c)
	if err != nil {
		return err
	}
	c = c.ForCompany(company)

	statePath := out + ".state"
	st := state{BaseURL: baseURL, CompanyID: company, Format: format, NextPage: 1}
	f, err := openOutput(out, statePath, &st, resume)
	if err != nil {
		return err
	}
	// This closes f when an error ends the export early, and the error says what
	// went wrong; a complete export closes f itself below, and checks.
	defer func() { _ = f.Close() }()

	var write func(*atlas.Invoice) error
	var flush func() error
	if format == "csv" {
		w := csv.NewWriter(f)
		if st.Offset == 0 {
			if err := w.Write(csvHeader); err != nil {
				return err
			}
		}
		write = func(inv *atlas.Invoice) error { return w.Write(csvRecord(inv)) }
		flush = func() error { w.Flush(); return w.Error() }
	} else {
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		write = func(inv *atlas.Invoice) error { return enc.Encode(inv) }
		flush = w.Flush
	}

	// Sorted oldest first, a new invoice lands on the last page, so the pages
	// already exported keep their contents between runs.
	params := &atlas.InvoiceListParams{
		ListOptions: atlas.ListOptions{PageSize: atlas.MaxPageSize, SortOrder: atlas.SortAsc},
		SortBy:      atlas.InvoiceSortByCreatedAt,
	}
	prog := newProgress(st.Exported)
	for {
		// List rather than All: the page number is what the state records.
		params.Page = st.NextPage
		page, err := c.Invoices.List(ctx, params)
		if err != nil {
			return err
		}
		for i := range page.Items {
			if err := write(&page.Items[i]); err != nil {
				return err
			}
		}
		// The page is on disk before the state says so; a crash in between
		// means the page is written again, and -resume cuts the file back to
		// the offset recorded first.
		if err := flush(); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		if st.Offset, err = f.Seek(0, io.SeekCurrent); err != nil {
			return err
		}
		st.Exported += len(page.Items)
		st.NextPage++
		if err := saveState(statePath, &st); err != nil {
			return err
		}
		prog.update(st.Exported, page.Total)
		if !page.HasNext {
			break
		}
	}
	prog.done()
	// An output that does not close cleanly is not reported exported: the state
	// stays, and -resume checks the file again from the last page it recorded.
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("Exported %d invoices of company %s to %s.\n", st.Exported, company, out)
	return os.Remove(statePath)
}

// connect returns a client for the account in the environment or, without
// one, for an embedded fake server, which the returned func stops.
func connect(demoInvoices int) (c *atlas.Client, baseURL string, closeServer func(), err error) {
	opts := []atlas.Option{
		// Pace to the plan: a burst of 10, then one request a second. Use your
		// own plan's tier.
		atlas.WithTier(atlas.TierStandard),
		atlas.WithUserAgent("atlas-sync-example/1.0"),
	}
	baseURL, email, password := os.Getenv("ATLAS_BASE_URL"), os.Getenv("ATLAS_EMAIL"), os.Getenv("ATLAS_PASSWORD")
	closeServer = func() {}
	if email == "" || password == "" {
		srv := atlastest.NewServer(atlastest.WithInvoices(demoInvoices))
		closeServer = srv.Close
		baseURL, email, password = srv.URL, srv.Email(), srv.Password()
		opts = append(opts, atlas.WithHTTPClient(srv.Client()))
		fmt.Printf("Using the embedded fake Atlas server (atlastest) with %d invoices: set ATLAS_EMAIL and ATLAS_PASSWORD to use your account.\n", demoInvoices)
	} else if baseURL == "" {
		baseURL = atlas.DefaultBaseURL
	}
	c, err = atlas.NewClient(append(opts, atlas.WithBaseURL(baseURL), atlas.WithCredentials(email, password))...)
	if err != nil {
		closeServer()
		return nil, "", nil, err
	}
	return c, baseURL, closeServer, nil
}

// pickCompany returns ATLAS_COMPANY_ID, or else the user's first company.
func pickCompany(ctx context.Context, c *atlas.Client) (string, error) {
	if id := os.Getenv("ATLAS_COMPANY_ID"); id != "" {
		return id, nil
	}
	page, err := c.Companies.List(ctx, nil)
	if err != nil {
		return "", err
	}
	if len(page.Items) == 0 {
		return "", errors.New("the user has no company")
	}
	return page.Items[0].ID, nil
}

// openOutput opens the output file: new and empty, or, to resume, cut back to
// the end of the last page the state file records.
func openOutput(out, statePath string, st *state, resume bool) (*os.File, error) {
	raw, err := os.ReadFile(statePath)
	switch {
	case err == nil && !resume:
		return nil, fmt.Errorf("%s holds an export that stopped part-way: run with -resume to carry on, or delete it to start again", statePath)
	case errors.Is(err, os.ErrNotExist) && resume:
		return nil, fmt.Errorf("nothing to resume: %s does not exist", statePath)
	case errors.Is(err, os.ErrNotExist):
		return os.Create(out)
	case err != nil:
		return nil, err
	}

	var saved state
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, fmt.Errorf("%s: %w", statePath, err)
	}
	if saved.BaseURL != st.BaseURL || saved.CompanyID != st.CompanyID || saved.Format != st.Format {
		return nil, fmt.Errorf("%s is an export of company %s from %s as %s, not this one", statePath, saved.CompanyID, saved.BaseURL, saved.Format)
	}
	*st = saved
	f, err := os.OpenFile(out, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(st.Offset); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	fmt.Printf("Resuming at page %d, after %d invoices.\n", st.NextPage, st.Exported)
	return f, nil
}

// saveState replaces the state file in one step (write, then rename), so it
// is never seen half-written.
func saveState(path string, st *state) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

var csvHeader = []string{"id", "invoice_number", "customer_id", "invoice_date", "due_date", "currency",
	"status", "subtotal", "tax_amount", "total_amount", "amount_paid", "amount_due"}

func csvRecord(inv *atlas.Invoice) []string {
	return []string{inv.ID, inv.InvoiceNumber, inv.CustomerID, inv.InvoiceDate.String(), inv.DueDate.String(), inv.Currency,
		string(inv.Status), inv.Subtotal.StringFixed(2), inv.TaxAmount.StringFixed(2), inv.TotalAmount.StringFixed(2),
		inv.AmountPaid.StringFixed(2), inv.AmountDue.StringFixed(2)}
}

// progress prints the count, the rate over the last pages and the time left:
// rewritten in place on a terminal, a line per page in a log.
type progress struct {
	times    []time.Time // when the last few pages arrived
	counts   []int       // and the count after each
	terminal bool
}

func newProgress(exported int) *progress {
	fi, err := os.Stderr.Stat()
	p := &progress{terminal: err == nil && fi.Mode()&os.ModeCharDevice != 0}
	p.times, p.counts = []time.Time{time.Now()}, []int{exported}
	return p
}

func (p *progress) update(count, total int) {
	now := time.Now()
	p.times, p.counts = append(p.times, now), append(p.counts, count)
	if len(p.times) > 11 { // a rate over the last ten pages follows the pace of the rate limit
		p.times, p.counts = p.times[1:], p.counts[1:]
	}
	rate := float64(count-p.counts[0]) / now.Sub(p.times[0]).Seconds()
	eta := "-"
	if rate > 0 && total > count {
		eta = (time.Duration(float64(total-count)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("%7d/%d invoices  %6.1f/s  ETA %s", count, total, rate, eta)
	if p.terminal {
		fmt.Fprintf(os.Stderr, "\r%-60s", line)
	} else {
		fmt.Fprintln(os.Stderr, line)
	}
}

func (p *progress) done() {
	if p.terminal {
		fmt.Fprintln(os.Stderr)
	}
}

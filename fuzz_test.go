package atlas

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// The fuzz targets decode what a server (or a proxy in front of it) may send:
// error bodies, list pages, dates and amounts. Whatever the bytes, decoding
// ends in a value or an error, never a panic. `go test` runs the seeds in
// testdata/fuzz/<target>; README.md's Performance section has the command
// that fuzzes each.

// FuzzNewError builds the *Error of a non-2xx answer from any status and body
// (FuzzErrorBody in errors_test.go fuzzes the body alone).
//
//	go test -run '^$' -fuzz '^FuzzNewError$' -fuzztime 60s .
func FuzzNewError(f *testing.F) {
	for _, body := range []string{
		`{"detail":"Invoice not found","status_code":404,"errors":[]}`,
		`{"detail":"Validation failed","status_code":422,"errors":[{"field":"lines.0.amount","message":"must be > 0"}]}`,
		`{"detail":[{"loc":["body","lines",0,"amount"],"msg":"field required","type":"value_error.missing"}]}`,
		`{"detail":{"nested":true}}`,
		`<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>`,
		"",
	} {
		f.Add(422, []byte(body), false)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, truncated bool) {
		status = 400 + abs(status%200) // an answer that becomes an *Error
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"3"}}}
		e := newError(resp, body, truncated, RateLimit{}, 3*time.Second, http.MethodGet, "/invoices")
		msg := e.Error()
		if !strings.HasPrefix(msg, "atlas: GET /invoices: ") {
			t.Fatalf("message %q does not name the operation", msg)
		}
		if e.StatusCode != status {
			t.Fatalf("status %d, want %d", e.StatusCode, status)
		}
		if e.Detail == "" && http.StatusText(status) != "" {
			t.Fatal("no detail, not even the status text")
		}
		if !utf8.ValidString(e.Detail) {
			t.Fatalf("detail %q is not valid UTF-8", e.Detail)
		}
		if !json.Valid(body) && utf8.RuneCountInString(e.Detail) > maxDetail+len("...") {
			t.Fatalf("detail of %d runes from a body that is not JSON", utf8.RuneCountInString(e.Detail))
		}
		if got, want := errors.Is(e, ErrServer), status >= 500; got != want {
			t.Fatalf("errors.Is(ErrServer) = %v for %d", got, status)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzPage decodes a list page of invoices, the richest item (amounts, dates,
// times, nullable fields, nested lines), and checks it the way All does.
//
//	go test -run '^$' -fuzz '^FuzzPage$' -fuzztime 60s .
func FuzzPage(f *testing.F) {
	for _, body := range []string{
		`{"items":[],"total":0,"page":1,"page_size":100,"has_next":false}`,
		`{"items":[{"id":"i-1","invoice_number":"INV-2026-0001","customer_id":"c-1","invoice_date":"2026-01-15",` +
			`"due_date":"2026-02-14","currency":"USD","status":"sent","subtotal":"100.00","tax_amount":"8.25",` +
			`"total_amount":"108.25","amount_paid":"0","amount_due":"108.25","notes":null,"sent_at":"2026-01-15T10:00:00Z",` +
			`"lines":[{"id":"l-1","line_number":1,"description":"Consulting","quantity":"1","unit_price":"100.00",` +
			`"amount":"100.00","revenue_account_id":"a-1","tax_rate":"8.25","tax_amount":"8.25"}],` +
			`"created_at":"2026-01-15T09:00:00Z","updated_at":"2026-01-15T10:00:00Z"}],` +
			`"total":101,"page":1,"page_size":100,"has_next":true}`,
		`{"items":[],"total":9223372036854775807,"page":2,"page_size":1,"has_next":true}`,
		`{"items":[],"total":9223372036854775807,"page":1,"page_size":100,"has_next":true}`,
		`{"items":[{"subtotal":1e400}],"total":-1,"page":-1,"page_size":-5,"has_next":true}`,
	} {
		f.Add([]byte(body), 1)
	}
	f.Fuzz(func(t *testing.T, body []byte, want int) {
		var p Page[Invoice]
		if err := json.Unmarshal(body, &p); err != nil {
			return
		}
		_ = checkAdvance("/invoices", want, &p)
		// The guard All runs: whatever the page, no panic, and the same page
		// twice is never accepted when its items have ids.
		g := newPageGuard[Invoice]("/invoices", ListOptions{Page: max(want, 1), PageSize: MaxPageSize})
		if g.check(p.Page, &p) == nil {
			_ = g.overrun(p.Page, &p)
			hasID := false
			for _, inv := range p.Items {
				hasID = hasID || inv.ID != ""
			}
			if err := g.check(p.Page, &p); hasID && err == nil {
				t.Fatalf("page %d accepted twice", p.Page)
			}
		}
		if last := lastPage(&p, MaxPageSize); p.Total > 0 && p.PageSize > 0 && last < 1 {
			t.Fatalf("last page %d of a total of %d in pages of %d", last, p.Total, p.PageSize)
		}
		for _, inv := range p.Items {
			_ = inv.InvoiceDate.Before(inv.DueDate)
		}
	})
}

// FuzzDate decodes a Date from a JSON value: a date that decodes is a real
// calendar date that encodes back to the same text.
//
//	go test -run '^$' -fuzz '^FuzzDate$' -fuzztime 60s .
func FuzzDate(f *testing.F) {
	for _, s := range []string{`"2026-01-15"`, `"2024-02-29"`, `"2026-02-29"`, `"0000-01-01"`, `"9999-12-31"`,
		`"2026-1-5"`, `"2026-01-15T00:00:00Z"`, `null`, `20260115`, `""`, `"\u0032026-01-15"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Date
		if err := json.Unmarshal(b, &d); err != nil {
			if !strings.HasPrefix(err.Error(), "atlas: invalid date") && !isJSONSyntaxError(err) {
				t.Fatalf("error %q does not say what is wrong", err)
			}
			return
		}
		if !d.Valid() {
			t.Fatalf("%s decoded to %#v, not a calendar date", b, d)
		}
		text, err := d.MarshalText()
		if err != nil {
			t.Fatalf("%s decoded to %v, which does not encode: %v", b, d, err)
		}
		again, err := ParseDate(string(text))
		if err != nil || again != d {
			t.Fatalf("%s -> %s -> %v, %v", b, text, again, err)
		}
	})
}

func isJSONSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

// FuzzDecimal decodes an amount as the models do (decimal.Decimal, from a
// JSON string or number): no panic. (Arithmetic on an absurd amount such as
// 1e-999999999 is the decimal package's business: it is exact, so it may
// need as many digits.)
//
//	go test -run '^$' -fuzz '^FuzzDecimal$' -fuzztime 60s .
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{`"108.25"`, `108.25`, `"-0.01"`, `"1e3"`, `"1E-400"`, `"0.000000000000000000000000001"`,
		`null`, `""`, `"12,50"`, `"NaN"`, `"Infinity"`, `"99999999999999999999999999999999.99"`, `1e99999`} {
		f.Add([]byte(`{"amount":` + s + `}`))
	}
	f.Fuzz(func(_ *testing.T, b []byte) {
		var v struct {
			Amount decimal.Decimal `json:"amount"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return
		}
		_ = v.Amount.Sign()
		_ = v.Amount.IsZero()
	})
}

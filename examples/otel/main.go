// Command otel runs a few of the quickstart's calls on the SDK's in-process
// fake Atlas server (package atlastest) with OpenTelemetry tracing and
// metrics (package atlasotel), and prints each trace as an indented tree with
// durations, so that a reader sees where a call's time went: its waits, its
// attempts and a token refresh.
//
// The last call is made to show it all: the rate-limit window is used up,
// an hour passes on the server (so the access token expires) and the server
// fails the next invoice listing with a 503:
//
//	go run ./examples/otel
//
// A service exports to a collector instead (an OTLP exporter in place of
// the in-memory one here); the atlas part stays one option.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasotel"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "otel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The fake Atlas, on a small plan (10 requests a second) so that the
	// rate limit shows within a second.
	srv := atlastest.NewServer(atlastest.WithPlanLimits(10, 10, time.Second))
	defer srv.Close()

	// OpenTelemetry: spans to memory, metrics read on demand. A service sets
	// these up once, with exporters to its collector.
	spans := &collector{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tp.Shutdown(context.WithoutCancel(ctx)) }()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.WithoutCancel(ctx)) }()
	tracer := tp.Tracer("atlas-otel-example")

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithRetry(atlas.RetryPolicy{MaxRetries: 3, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second}),
		// The one line that traces and measures every call.
		atlasotel.Instrument(
			atlasotel.WithTracerProvider(tp),
			atlasotel.WithMeterProvider(mp),
			atlasotel.WithPropagators(propagation.TraceContext{}),
		),
	)
	if err != nil {
		return err
	}

	// The quickstart's first calls, under one span of the program's own.
	qctx, span := tracer.Start(ctx, "quickstart")
	err = quickstart(qctx, c)
	span.End()
	if err != nil {
		return err
	}

	// Use up the rate-limit window: the client then knows it must wait for
	// the next one before it sends again.
	uctx, span := tracer.Start(ctx, "use up the rate-limit window")
	for {
		var resp *atlas.Response
		if _, err := c.Companies.Get(uctx, srv.CompanyID(), atlas.WithResponse(&resp)); err != nil {
			span.End()
			return err
		}
		if resp.RateLimit.Remaining == 0 {
			break
		}
	}
	span.End()

	// An hour passes on the server: the access token the client holds has
	// expired there. And the server fails the next listing with a 503.
	srv.Advance(time.Hour)
	srv.FailNext(1, http.StatusServiceUnavailable, atlastest.Matching("GET /invoices"))
	lctx, span := tracer.Start(ctx, "list sent invoices")
	page, err := c.Invoices.List(lctx, &atlas.InvoiceListParams{Status: atlas.InvoiceStatusSent})
	span.End()
	if err != nil {
		return err
	}

	var out strings.Builder
	fmt.Fprintf(&out, "%d sent invoice(s). The traces:\n\n", len(page.Items))
	printTrees(&out, spans.all())
	out.WriteString("\n")
	if err := printMetrics(ctx, &out, reader); err != nil {
		return err
	}
	_, err = io.WriteString(w, out.String())
	return err
}

// quickstart creates a customer, invoices and sends the invoice, as the
// quickstart does.
func quickstart(ctx context.Context, c *atlas.Client) error {
	if _, err := c.Auth.Me(ctx); err != nil {
		return err
	}
	customer, err := c.Customers.Create(ctx, &atlas.CustomerCreateParams{DisplayName: "Northwind Traders", PaymentTerms: atlas.PaymentTermsNet30})
	if err != nil {
		return err
	}
	revenue, err := revenueAccount(ctx, c)
	if err != nil {
		return err
	}
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{
		CustomerID:  customer.ID,
		InvoiceDate: atlas.DateOf(time.Now()),
		Lines: []atlas.InvoiceLineParams{
			{Description: "Monthly bookkeeping", Quantity: atlas.Ptr(decimal.NewFromInt(12)), UnitPrice: decimal.RequireFromString("95.00"), RevenueAccountID: revenue},
		},
	})
	if err != nil {
		return err
	}
	_, err = c.Invoices.Send(ctx, inv.ID)
	return err
}

// revenueAccount finds the id of account 4000.
func revenueAccount(ctx context.Context, c *atlas.Client) (string, error) {
	for acct, err := range c.Accounts.All(ctx, &atlas.AccountListParams{AccountType: atlas.AccountTypeRevenue}) {
		if err != nil {
			return "", err
		}
		if acct.AccountNumber == "4000" {
			return acct.ID, nil
		}
	}
	return "", fmt.Errorf("no revenue account 4000")
}

// collector is a span exporter that keeps the spans in memory.
type collector struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (c *collector) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, spans...)
	return nil
}

func (c *collector) Shutdown(context.Context) error { return nil }

func (c *collector) all() []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// line is a span, or a wait event on one, in the printed tree.
type line struct {
	end  time.Time
	text string
	span sdktrace.ReadOnlySpan // nil for a wait
}

// maxShown is how many spans a span may have under it for them to be
// printed.
const maxShown = 12

// printTrees prints each trace as a tree: a span, then what happened inside
// it in the order it ended, indented; a wait is a line of its own. (The order
// of ends is the order of starts for what is done one after the other, and
// puts a wait for a renewal after the renewal.)
func printTrees(w *strings.Builder, spans []sdktrace.ReadOnlySpan) {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Parent().IsValid() {
			children[s.Parent().SpanID()] = append(children[s.Parent().SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	slices.SortFunc(roots, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		indent := strings.Repeat("  ", depth)
		fmt.Fprintf(w, "%s%-*s %8s%s\n", indent, 44-len(indent), s.Name(), ms(s.EndTime().Sub(s.StartTime())), details(s))
		if n := len(children[s.SpanContext().SpanID()]); n > maxShown {
			fmt.Fprintf(w, "%s  (%d calls, not shown)\n", indent, n)
			return
		}
		var lines []line
		for _, c := range children[s.SpanContext().SpanID()] {
			lines = append(lines, line{end: c.EndTime(), span: c})
		}
		for _, e := range s.Events() {
			if e.Name != "atlas.wait" {
				continue
			}
			a := attrMap(e.Attributes)
			d := time.Duration(a["atlas.wait.duration"].AsFloat64() * float64(time.Second))
			lines = append(lines, line{end: e.Time, text: fmt.Sprintf("%s  %-*s %8s",
				indent, 42-len(indent), "wait: "+a["atlas.wait.reason"].AsString(), ms(d))})
		}
		slices.SortStableFunc(lines, func(a, b line) int { return a.end.Compare(b.end) })
		for _, l := range lines {
			if l.span != nil {
				walk(l.span, depth+1)
			} else {
				fmt.Fprintln(w, l.text)
			}
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
}

// details are what a span's line says beside its name and duration.
func details(s sdktrace.ReadOnlySpan) string {
	a := attrMap(s.Attributes())
	var b strings.Builder
	if v, ok := a["http.response.status_code"]; ok {
		fmt.Fprintf(&b, "  %d", v.AsInt64())
	}
	if v, ok := a["atlas.attempts"]; ok {
		fmt.Fprintf(&b, "  attempts=%d", v.AsInt64())
	}
	if v, ok := a["error.type"]; ok {
		fmt.Fprintf(&b, "  error=%s", v.AsString())
	}
	if n := len(s.Links()); n > 0 {
		fmt.Fprintf(&b, "  links=%d", n)
	}
	return b.String()
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// ms rounds d for printing: to the millisecond, or the microsecond below one.
func ms(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// printMetrics prints the SDK's metrics, one line a data point.
func printMetrics(ctx context.Context, w *strings.Builder, reader *sdkmetric.ManualReader) error {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return err
	}
	fmt.Fprintln(w, "The metrics:")
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("  %s{%s} count=%d sum=%.3fs", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Count, p.Sum))
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("  %s{%s} %d", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("  %s %d", m.Name, p.Value))
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(a, b) })
	for _, l := range out {
		fmt.Fprintln(w, l)
	}
	return nil
}

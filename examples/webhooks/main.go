// Command webhooks receives Atlas webhook events with atlas.NewWebhookHandler.
//
// It starts a receiver on the loopback interface and the SDK's in-process fake
// Atlas server (package atlastest), subscribes the receiver, and then does what
// makes Atlas send each of its six events: it creates an invoice, sends it,
// records its payment, approves a bill and closes a period. Every delivery is
// signed; the handler checks the signature, decodes the event and calls the
// callback once per event, and when the callback fails, Atlas delivers the
// event again.
//
//	go run ./examples/webhooks
//
// In a service the receiver is the same few lines behind an HTTPS endpoint,
// with the webhook secret from Atlas's settings instead of srv.WebhookSecret().
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "webhooks:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	srv := atlastest.NewServer()
	defer srv.Close()
	fmt.Println("Using the embedded fake Atlas server (atlastest), which sends real signed webhooks.")

	// The receiver. The callback gets each event once, typed; returning an
	// error answers 500 and Atlas delivers the event again later. To show
	// that, it fails the first time it sees a paid invoice.
	var failedOnce atomic.Bool
	handler, err := atlas.NewWebhookHandler(srv.WebhookSecret(), func(_ context.Context, ev *atlas.WebhookEvent) error {
		switch d := ev.Data.(type) {
		case *atlas.InvoiceCreatedData:
			show(ev, d.InvoiceNumber, d.Amount, d.Currency)
		case *atlas.InvoiceSentData:
			show(ev, d.InvoiceNumber, d.Amount, d.Currency)
		case *atlas.InvoicePaidData:
			if failedOnce.CompareAndSwap(false, true) {
				fmt.Printf("  %-17s %-15s failed to record it (say, the database was busy): answered 500\n", ev.Type, d.InvoiceNumber)
				return errors.New("database busy")
			}
			show(ev, d.InvoiceNumber, d.Amount, d.Currency)
		case *atlas.PaymentReceivedData:
			show(ev, d.PaymentNumber, d.Amount, d.Currency)
		case *atlas.BillApprovedData:
			show(ev, d.BillNumber, d.Amount, d.Currency)
		case *atlas.PeriodClosedData:
			fmt.Printf("  %-17s %-15s %s to %s\n", ev.Type, d.Name, d.StartDate, d.EndDate)
		default:
			// An event type this version of the SDK does not know: Data is
			// nil and RawData holds the payload.
			fmt.Printf("  %-17s %s\n", ev.Type, ev.RawData)
		}
		return nil
	})
	if err != nil {
		return err // an empty secret, say: refused here rather than on every delivery
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/atlas", handler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Every phase of a connection is bounded, so that a sender that trickles
	// its request, or never reads the answer, cannot hold a goroutine. The
	// handler itself also stops reading a body after 10 s
	// (atlas.WithWebhookReadTimeout).
	receiver := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,  // the request line and headers
		ReadTimeout:       15 * time.Second, // the whole request, body included
		WriteTimeout:      30 * time.Second, // the answer, the callback's work included
		IdleTimeout:       60 * time.Second, // a kept-alive connection between deliveries
	}
	served := make(chan error, 1)
	go func() { served <- receiver.Serve(ln) }()
	defer func() {
		// Close ends Serve, which then returns http.ErrServerClosed; any other
		// error is the receiver's own and fails the run.
		closeErr := receiver.Close()
		if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		err = errors.Join(err, closeErr)
	}()

	// Atlas is told where to send events; here the fake server is.
	url := "http://" + ln.Addr().String() + "/webhooks/atlas"
	srv.Subscribe(url)
	fmt.Printf("Receiving at %s\n\n", url)

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
	)
	if err != nil {
		return err
	}
	if err := makeEvents(ctx, c, srv); err != nil {
		return err
	}

	// Wait until Atlas has delivered everything, retries included.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitWebhooks(wctx); err != nil {
		return err
	}
	fmt.Printf("\n%d deliveries for 6 events: the failed one was delivered again.\n", len(srv.Deliveries()))
	return nil
}

// makeEvents does what makes Atlas send each of its six event types.
func makeEvents(ctx context.Context, c *atlas.Client, srv *atlastest.Server) error {
	today := atlas.DateOf(srv.Now())
	customer := srv.CustomerIDs()[0]
	inv, err := c.Invoices.Create(ctx, &atlas.InvoiceCreateParams{ // invoice.created
		CustomerID:  customer,
		InvoiceDate: today,
		Lines: []atlas.InvoiceLineParams{{
			Description: "Website redesign", UnitPrice: decimal.RequireFromString("4800.00"), RevenueAccountID: srv.AccountID("4100"),
		}},
	})
	if err != nil {
		return err
	}
	if inv, err = c.Invoices.Send(ctx, inv.ID); err != nil { // invoice.sent
		return err
	}
	_, err = c.Payments.Create(ctx, &atlas.PaymentCreateParams{ // payment.received, invoice.paid
		CustomerID:       customer,
		PaymentDate:      today,
		Amount:           inv.AmountDue,
		PaymentMethod:    atlas.PaymentMethodACH,
		DepositAccountID: srv.AccountID("1000"),
		Applications:     []atlas.PaymentApplication{{InvoiceID: inv.ID, AmountApplied: inv.AmountDue}},
	})
	if err != nil {
		return err
	}
	bill, err := c.Bills.Create(ctx, &atlas.BillCreateParams{
		VendorID: srv.VendorIDs()[0],
		BillDate: today,
		Lines: []atlas.BillLineParams{{
			Description: "Toner", UnitPrice: decimal.RequireFromString("89.00"), ExpenseAccountID: srv.AccountID("6100"),
		}},
	})
	if err != nil {
		return err
	}
	if _, err := c.Bills.Approve(ctx, bill.ID); err != nil { // bill.approved
		return err
	}
	periods, err := c.Periods.List(ctx, &atlas.PeriodListParams{
		ListOptions: atlas.ListOptions{PageSize: 1, SortOrder: atlas.SortAsc},
		SortBy:      atlas.PeriodSortByStartDate,
	})
	if err != nil {
		return err
	}
	_, err = c.Periods.Close(ctx, periods.Items[0].ID) // period.closed
	return err
}

// show prints an event with its document number and amount.
func show(ev *atlas.WebhookEvent, number string, amount decimal.Decimal, currency string) {
	fmt.Printf("  %-17s %-15s %10s %s\n", ev.Type, number, amount.StringFixed(2), currency)
}

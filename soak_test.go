package atlas

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// The soak and chaos tests share a workload: goroutines run a seeded mix of
// operations on one Client across companies (reads, creates of customers
// and invoices, and payments: an invoice created, sent and paid), every
// create with an Idempotency-Key of the test's own. Afterwards the server's
// request log and its state say whether every create was made exactly once.

// workload runs mixed operations and remembers every create it asked for.
type workload struct {
	srv       *atlastest.Server
	companies []*companyWork
	today     Date

	mu      sync.Mutex
	creates []createRecord
}

// companyWork is one company's client (a ForCompany copy) and the ids the
// operations need.
type companyWork struct {
	c         *Client
	id        string
	revenue   string // account 4000
	cash      string // account 1000
	customers []string
}

// createRecord is one create the workload asked for: its kind, its
// Idempotency-Key (also written into the resource, as its name, notes or
// reference, so that the server's state can be counted by it), and how the
// call ended.
type createRecord struct {
	kind, key, company string
	err                error
}

const (
	createCustomer = "customer"
	createInvoice  = "invoice"
	sendInvoice    = "send"
	createPayment  = "payment"
)

// newWorkload prepares one ForCompany copy of c per company and looks up
// the accounts and customers the operations use.
func newWorkload(t *testing.T, srv *atlastest.Server, c *Client, companyIDs ...string) *workload {
	t.Helper()
	ctx := context.Background()
	w := &workload{srv: srv, today: DateOf(srv.Now().UTC())}
	for _, id := range companyIDs {
		cw := &companyWork{c: c.ForCompany(id), id: id}
		for a, err := range cw.c.Accounts.All(ctx, nil) {
			require.NoError(t, err)
			switch a.AccountNumber {
			case "4000":
				cw.revenue = a.ID
			case "1000":
				cw.cash = a.ID
			}
		}
		page, err := cw.c.Customers.List(ctx, nil)
		require.NoError(t, err)
		for _, cu := range page.Items {
			cw.customers = append(cw.customers, cu.ID)
		}
		require.NotEmpty(t, cw.revenue)
		require.NotEmpty(t, cw.cash)
		require.NotEmpty(t, cw.customers)
		w.companies = append(w.companies, cw)
	}
	return w
}

// run has goroutines run ops operations between them, each chosen by a
// random source seeded with seed and the goroutine's number, and returns the
// operations' errors once all have ended.
func (w *workload) run(ctx context.Context, goroutines uint64, ops int, seed uint64) []error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, g))
			for {
				i := next.Add(1)
				if i > int64(ops) {
					return
				}
				if err := w.op(ctx, rnd, fmt.Sprintf("%d-%d-%d", seed, g, i)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// op runs one operation, chosen with rnd, on one of the companies; name
// makes its Idempotency-Keys unique.
func (w *workload) op(ctx context.Context, rnd *rand.Rand, name string) error {
	cw := w.companies[rnd.IntN(len(w.companies))]
	customer := cw.customers[rnd.IntN(len(cw.customers))]
	switch k := rnd.IntN(10); {
	case k < 4:
		return w.read(ctx, cw, k, customer)
	case k < 6:
		key := "cust-" + name
		_, err := cw.c.Customers.Create(ctx, &CustomerCreateParams{DisplayName: key}, WithIdempotencyKey(key))
		w.record(createCustomer, key, cw, err)
		return err
	case k < 8:
		_, err := w.invoice(ctx, cw, customer, "inv-"+name)
		return err
	default:
		return w.payment(ctx, cw, customer, name)
	}
}

func (w *workload) read(ctx context.Context, cw *companyWork, k int, customer string) error {
	var err error
	switch k {
	case 0:
		_, err = cw.c.Auth.Me(ctx)
	case 1:
		_, err = cw.c.Customers.Get(ctx, customer)
	case 2:
		_, err = cw.c.Invoices.List(ctx, &InvoiceListParams{ListOptions: ListOptions{PageSize: 10}})
	default:
		_, err = cw.c.Accounts.Get(ctx, cw.revenue)
	}
	return err
}

// invoice creates a draft invoice of 100.00 whose notes are its key.
func (w *workload) invoice(ctx context.Context, cw *companyWork, customer, key string) (*Invoice, error) {
	inv, err := cw.c.Invoices.Create(ctx, &InvoiceCreateParams{
		CustomerID:  customer,
		InvoiceDate: w.today,
		Notes:       key,
		Lines:       []InvoiceLineParams{{Description: "Soak test", UnitPrice: decimal.NewFromInt(100), RevenueAccountID: cw.revenue}},
	}, WithIdempotencyKey(key))
	w.record(createInvoice, key, cw, err)
	return inv, err
}

// payment creates an invoice, sends it and records a payment of its total
// whose reference is the payment's key.
func (w *workload) payment(ctx context.Context, cw *companyWork, customer, name string) error {
	inv, err := w.invoice(ctx, cw, customer, "payinv-"+name)
	if err != nil {
		return err
	}
	key := "send-" + name
	inv, err = cw.c.Invoices.Send(ctx, inv.ID, WithIdempotencyKey(key))
	w.record(sendInvoice, key, cw, err)
	if err != nil {
		return err
	}
	key = "pay-" + name
	_, err = cw.c.Payments.Create(ctx, &PaymentCreateParams{
		CustomerID:       customer,
		PaymentDate:      w.today,
		Amount:           inv.TotalAmount,
		PaymentMethod:    PaymentMethodACH,
		DepositAccountID: cw.cash,
		Reference:        key,
		Applications:     []PaymentApplication{{InvoiceID: inv.ID, AmountApplied: inv.TotalAmount}},
	}, WithIdempotencyKey(key))
	w.record(createPayment, key, cw, err)
	return err
}

func (w *workload) record(kind, key string, cw *companyWork, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.creates = append(w.creates, createRecord{kind: kind, key: key, company: cw.id, err: err})
}

// checkExactlyOnce asserts, from the server's request log and from its
// state, that every create that reported success was made exactly once and
// that no create was made twice. The server must not inject faults any more.
func (w *workload) checkExactlyOnce(t *testing.T) (succeeded, failed int) {
	t.Helper()
	ctx := context.Background()
	ran := map[string]int{} // by Idempotency-Key: how often the handler made it
	for _, r := range w.srv.Requests() {
		if r.Method == http.MethodPost && r.IdempotencyKey != "" && r.HandlerStatus >= 200 && r.HandlerStatus <= 299 {
			ran[r.IdempotencyKey]++
		}
	}
	held := map[string]int{} // by key: resources on the server that carry it
	for _, cw := range w.companies {
		for cu, err := range cw.c.Customers.All(ctx, nil) {
			require.NoError(t, err)
			held[cu.DisplayName]++
		}
		for inv, err := range cw.c.Invoices.All(ctx, nil) {
			require.NoError(t, err)
			if inv.Notes != nil {
				held[*inv.Notes]++
			}
		}
		for p, err := range cw.c.Payments.All(ctx, nil) {
			require.NoError(t, err)
			if p.Reference != nil {
				held[*p.Reference]++
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, cr := range w.creates {
		if cr.err == nil {
			succeeded++
			assert.Equal(t, 1, ran[cr.key], "%s %s succeeded: made exactly once", cr.kind, cr.key)
			if cr.kind != sendInvoice {
				assert.Equal(t, 1, held[cr.key], "%s %s succeeded: the server holds exactly one", cr.kind, cr.key)
			}
			continue
		}
		failed++
		assert.LessOrEqual(t, ran[cr.key], 1, "%s %s failed (%v): made at most once", cr.kind, cr.key, cr.err)
		if cr.kind != sendInvoice {
			assert.LessOrEqual(t, held[cr.key], 1, "%s %s failed: the server holds at most one", cr.kind, cr.key)
		}
	}
	return succeeded, failed
}

// TestSoak: 64 goroutines share one Client across two companies for 512
// operations, in batches of 64 (one operation per goroutine and batch: each
// batch starts with every goroutine's request at once). Access tokens live
// one second, so the client
// renews them before they expire, and between batches the server's clock
// jumps past their expiry, so that the next requests of all 64 goroutines are
// refused with 401 and the client renews and replays them. Nothing fails,
// every create is made exactly once, and the tokens are only ever refreshed,
// never replaced by a new login: one renewal at a time, however many
// goroutines wait.
//
// The server's time moves only by the jumps, and only while no call is under
// way: a jump during a call could expire a token renewed just before it, and
// the call's one replay after a 401 would be refused again. Tokens then
// expire on the server only where the test says, however slow the machine.
func TestSoak(t *testing.T) {
	// In a bubble: a goroutine it left behind would fail it (synctest.Test
	// waits for them all), so it can run beside the other tests.
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const (
			goroutines = 64
			ops        = 512
			jumpEvery  = 64
			lifetime   = time.Second
		)
		srv := atlastest.NewTestServer(t, atlastest.WithSecondCompany(), atlastest.WithTokenLifetime(lifetime),
			atlastest.WithRequestLog(100_000), atlastest.WithClock(atlastest.FixedClock(time.Now())))
		c, _ := Setup(t, OnServer(srv), InBubble())
		w := newWorkload(t, srv, c, srv.CompanyID(), srv.SecondCompanyID())
		srv.ResetRequests()

		start := time.Now()
		var errs []error
		for batch := range ops / jumpEvery {
			if batch > 0 {
				srv.Advance(2 * lifetime)
			}
			errs = append(errs, w.run(context.Background(), goroutines, jumpEvery, uint64(batch+1))...)
		}
		elapsed := time.Since(start)
		for _, err := range errs {
			assert.NoError(t, err)
		}

		var logins, refreshes, refused int
		for _, r := range srv.Requests() {
			switch {
			case r.Path == "/auth/login":
				logins++
			case r.Path == "/auth/refresh":
				refreshes++
			case r.Status == http.StatusUnauthorized:
				refused++
			}
		}
		succeeded, failed := w.checkExactlyOnce(t)
		t.Logf("%d operations (%d creates) by %d goroutines in %s of the bubble's time; %d refreshes, %d requests refused with 401 and replayed",
			ops, succeeded, goroutines, elapsed.Round(time.Millisecond), refreshes, refused)
		assert.Zero(t, failed)
		assert.Zero(t, logins, "the refresh token always served: no second login")
		assert.GreaterOrEqual(t, refreshes, ops/jumpEvery-1, "at least one renewal per clock jump")
		assert.Positive(t, refused, "the clock jumps caught requests with an expired token")
	})
}

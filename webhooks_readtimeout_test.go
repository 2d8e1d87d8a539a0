package atlas_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/internal/memnet"
)

// A slow-loris sender, trickling a signed body one byte at a time, is cut
// off once the read timeout has passed: it gets 408, the callback never
// runs, and every handler goroutine returns, however many such senders there
// are. The handler's deadline never outlasts the server's own ReadTimeout.
//
// Not parallel: each case checks for leaked goroutines (goleak).
func TestWebhookHandlerCutsOffASlowSender(t *testing.T) {
	for _, tt := range []struct {
		name        string
		opts        []atlas.WebhookOption
		readTimeout time.Duration // the http.Server's
	}{
		{"WithWebhookReadTimeout", []atlas.WebhookOption{atlas.WithWebhookReadTimeout(200 * time.Millisecond)}, 0},
		{"the server's ReadTimeout is shorter", nil, 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			synctest.Test(t, func(t *testing.T) { slowLoris(t, tt.opts, tt.readTimeout) })
		})
	}
}

func slowLoris(t *testing.T, opts []atlas.WebhookOption, readTimeout time.Duration) {
	const senders = 5
	var calls atomic.Int32
	h, err := atlas.NewWebhookHandler(webhookTestSecret, func(context.Context, *atlas.WebhookEvent) error {
		calls.Add(1)
		return nil
	}, opts...)
	require.NoError(t, err)
	returned := make(chan struct{}, senders)
	// On the in-memory network: in the bubble, the read deadlines and the
	// sender's ticker run on the bubble's clock.
	var network memnet.Network
	l := network.Listen("127.0.0.1:0")
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { returned <- struct{}{} }()
		h.ServeHTTP(w, r)
	}), ReadTimeout: readTimeout, ReadHeaderTimeout: time.Minute}}
	srv.Start()
	defer srv.Close()

	body := []byte(guideInvoicePaid) // ~180 bytes: 1.8 s at a byte every 10 ms
	stop := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make(chan int, senders)
	for range senders {
		conn, err := l.Dial(context.Background())
		require.NoError(t, err)
		defer func() { _ = conn.Close() }()
		_, err = fmt.Fprintf(conn, "POST /webhooks/atlas HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n"+
			"%s: %s\r\nContent-Length: %d\r\n\r\n", atlas.WebhookSignatureHeader, atlas.SignWebhook(body, webhookTestSecret), len(body))
		require.NoError(t, err)
		wg.Add(2)
		go func() { // the sender: one byte at a time, far below any real sender's pace
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for i := range body {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write(body[i : i+1]); err != nil {
					return // the receiver hung up
				}
			}
		}()
		go func() { // what the receiver answers
			defer wg.Done()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				statuses <- 0
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	start := time.Now()
	for range senders {
		<-returned // every handler returns...
		assert.Equal(t, http.StatusRequestTimeout, <-statuses, "...having answered 408")
		assert.Equal(t, 200*time.Millisecond, time.Since(start), "...once the read timeout has passed")
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, calls.Load(), "the callback never runs for a body that did not arrive")
}

// The deadline bounds the reading of the body only: a callback slower than
// the read timeout keeps its context, and the delivery succeeds.
func TestWebhookHandlerReadTimeoutSparesASlowCallback(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const timeout = 100 * time.Millisecond
		rcv := newWebhookReceiver(t, func(ctx context.Context, _ *atlas.WebhookEvent) error {
			select {
			case <-ctx.Done():
				return fmt.Errorf("the callback's context ended: %w", context.Cause(ctx))
			case <-time.After(3 * timeout): // a callback that works longer than the read timeout
				return nil
			}
		}, atlas.WithWebhookReadTimeout(timeout))
		start := time.Now()
		assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, []byte(guideInvoicePaid)))
		assert.Equal(t, 3*timeout, time.Since(start), "the callback ran its course")
		assert.Equal(t, int32(1), rcv.calls.Load())
	})
}

// deadlineWriter is a ResponseWriter that records the read deadlines set on
// it through http.ResponseController.
type deadlineWriter struct {
	*httptest.ResponseRecorder
	mu        sync.Mutex
	deadlines []time.Time
}

func (w *deadlineWriter) SetReadDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines = append(w.deadlines, t)
	return nil
}

func (w *deadlineWriter) set() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.deadlines...)
}

// The handler sets the read deadline before it reads (10 s by default, or
// what WithWebhookReadTimeout says) and lifts it before the callback runs.
func TestWebhookHandlerSetsAndLiftsTheReadDeadline(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []atlas.WebhookOption
		want time.Duration
	}{
		{"default", nil, atlas.DefaultWebhookReadTimeout},
		{"option", []atlas.WebhookOption{atlas.WithWebhookReadTimeout(3 * time.Second)}, 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
				var inCallback []time.Time
				h, err := atlas.NewWebhookHandler(webhookTestSecret, func(context.Context, *atlas.WebhookEvent) error {
					inCallback = w.set()
					return nil
				}, tt.opts...)
				require.NoError(t, err)
				body := []byte(guideInvoicePaid)
				req := httptest.NewRequest(http.MethodPost, "/webhooks/atlas", bytes.NewReader(body))
				req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook(body, webhookTestSecret))
				now := time.Now() // the bubble's clock does not move during ServeHTTP
				h.ServeHTTP(w, req)
				require.Equal(t, http.StatusNoContent, w.Code)
				require.Len(t, inCallback, 2, "set, then lifted, before the callback")
				assert.Equal(t, now.Add(tt.want), inCallback[0], "deadline %v", inCallback[0])
				assert.True(t, inCallback[1].IsZero(), "lifted")
			})
		})
	}
}

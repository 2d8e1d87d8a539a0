package atlas

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/memnet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// go-retryablehttp closes its HTTP client's idle connections when a context
// ends during its sleep and whenever a call ends without a success (a 404,
// say). The client's transport does not pass that on to the user's
// transport, so the user's pool outlives such calls: this counts the
// connections the server sees across calls that end every one of those ways,
// where passing it on would open one for each call after them.
func TestCallsThatEndWithoutSuccessKeepTheUsersPooledConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var conns atomic.Int32
		var network memnet.Network
		l := network.Listen("127.0.0.1:0")
		srv := &httptest.Server{Listener: l, Config: &http.Server{
			ReadHeaderTimeout: time.Minute,
			ConnState: func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/v1/companies/busy":
					w.Header().Set("Retry-After", "3600")
					writeError(w, http.StatusServiceUnavailable, "busy")
				case "/api/v1/companies/gone":
					writeError(w, http.StatusNotFound, "no such company")
				case "/api/v1/invoices":
					page, err := strconv.Atoi(r.URL.Query().Get("page"))
					if err != nil {
						page = 1
					}
					writeJSON(w, http.StatusOK, map[string]any{"items": []map[string]any{{"id": "i-" + strconv.Itoa(page)}},
						"page": page, "page_size": 1, "total": 50, "has_next": true})
				default:
					writeJSON(w, http.StatusOK, map[string]string{"id": "c-1"})
				}
			}),
		}}
		srv.Start()
		t.Cleanup(srv.Close)
		tr := l.Transport()
		t.Cleanup(tr.CloseIdleConnections)

		// A logger that ends the call's context as go-retryablehttp goes to
		// sleep before its retry.
		var cancelSleep atomic.Pointer[context.CancelFunc]
		logger := slog.New(cancelOn{msg: "atlas: retrying", cancel: &cancelSleep})
		c, err := NewClient(WithBaseURL(srv.URL+"/api/v1"), WithHTTPClient(&http.Client{Transport: tr}),
			WithTokens("access", ""), WithCompany("c-1"), WithLogger(logger),
			WithRetry(RetryPolicy{MaxRetries: 2, MinBackoff: time.Hour, MaxBackoff: time.Hour}))
		require.NoError(t, err)
		ctx := context.Background()

		_, err = c.Companies.Get(ctx, "c-1")
		require.NoError(t, err)
		for range 5 {
			_, err = c.Companies.Get(ctx, "gone")
			assert.ErrorIs(t, err, ErrNotFound)

			cctx, cancel := context.WithCancel(ctx)
			cancelSleep.Store(&cancel)
			_, err = c.Companies.Get(cctx, "busy")
			assert.ErrorIs(t, err, context.Canceled, "ended during the sleep before the retry")
			cancel()

			for inv, err := range c.Invoices.All(ctx, nil) {
				require.NoError(t, err)
				require.NotNil(t, inv)
				break // a loop that stops early: the page fetched ahead is dropped
			}
			_, err = c.Companies.Get(ctx, "c-1")
			require.NoError(t, err)
		}
		// Each early break drops the request for the page fetched ahead
		// (its connection goes with it, in flight or not); nothing else
		// opens one.
		t.Logf("connections: %d", conns.Load())
		assert.LessOrEqual(t, conns.Load(), int32(1+5), "connections opened across 21 calls and 5 early breaks")
	})
}

// cancelOn is a slog.Handler that calls the stored cancel func when a
// record with msg is written.
type cancelOn struct {
	msg    string
	cancel *atomic.Pointer[context.CancelFunc]
}

func (h cancelOn) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		if f := h.cancel.Load(); f != nil {
			(*f)()
		}
	}
	return nil
}
func (h cancelOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOn) WithGroup(string) slog.Handler      { return h }

package atlas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	atlas "github.com/atlas-accounting/atlas-go"
)

// webhookReceiver runs a webhook handler on an httptest server and counts
// the callback's calls.
type webhookReceiver struct {
	srv   *httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	got   []*atlas.WebhookEvent
}

// newWebhookReceiver starts a handler whose callback records each event and
// then returns what fn returns (nil when fn is nil).
func newWebhookReceiver(t *testing.T, fn func(ctx context.Context, ev *atlas.WebhookEvent) error, opts ...atlas.WebhookOption) *webhookReceiver {
	t.Helper()
	rcv := &webhookReceiver{}
	h, err := atlas.NewWebhookHandler(webhookTestSecret, func(ctx context.Context, ev *atlas.WebhookEvent) error {
		rcv.calls.Add(1)
		rcv.mu.Lock()
		rcv.got = append(rcv.got, ev)
		rcv.mu.Unlock()
		if fn == nil {
			return nil
		}
		return fn(ctx, ev)
	}, opts...)
	require.NoError(t, err)
	rcv.srv = atlas.NewMemServer(t, h)
	return rcv
}

// deliver sends body with the given signature header (none when sig is
// empty) and returns the status and response body.
func (rcv *webhookReceiver) deliver(t *testing.T, method string, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rcv.srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(atlas.WebhookSignatureHeader, sig)
	}
	resp, err := rcv.srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func (rcv *webhookReceiver) deliverSigned(t *testing.T, body []byte) int {
	t.Helper()
	status, _ := rcv.deliver(t, http.MethodPost, body, atlas.SignWebhook(body, webhookTestSecret))
	return status
}

func TestWebhookHandlerAnswers(t *testing.T) {
	t.Parallel() // a goroutine left behind fails the package (TestMain's goleak)
	good := []byte(webhookExamples[atlas.EventInvoicePaid])
	goodSig := atlas.SignWebhook(good, webhookTestSecret)
	tampered := bytes.Replace(good, []byte(`"paid"`), []byte(`"void"`), 1)
	huge := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), atlas.DefaultWebhookMaxBody)...)
	huge = append(huge, `"}`...)
	notJSON := []byte(`{"id":`)

	tests := []struct {
		name      string
		method    string
		body      []byte
		sig       string
		want      int
		wantCalls int32
	}{
		{"delivered", http.MethodPost, good, goodSig, http.StatusNoContent, 1},
		{"sha256= prefix", http.MethodPost, good, "sha256=" + goodSig, http.StatusNoContent, 1},
		{"GET", http.MethodGet, nil, "", http.StatusMethodNotAllowed, 0},
		{"PUT with a good signature", http.MethodPut, good, goodSig, http.StatusMethodNotAllowed, 0},
		{"missing signature", http.MethodPost, good, "", http.StatusUnauthorized, 0},
		{"tampered body", http.MethodPost, tampered, goodSig, http.StatusUnauthorized, 0},
		{"tampered signature", http.MethodPost, good, tamperHex(goodSig), http.StatusUnauthorized, 0},
		{"wrong secret", http.MethodPost, good, atlas.SignWebhook(good, "whsec_other"), http.StatusUnauthorized, 0},
		{"oversized body", http.MethodPost, huge, atlas.SignWebhook(huge, webhookTestSecret), http.StatusRequestEntityTooLarge, 0},
		{"bad body", http.MethodPost, notJSON, atlas.SignWebhook(notJSON, webhookTestSecret), http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newWebhookReceiver(t, nil)
			status, respBody := rcv.deliver(t, tt.method, tt.body, tt.sig)
			assert.Equal(t, tt.want, status, "body: %s", respBody)
			assert.Equal(t, tt.wantCalls, rcv.calls.Load())
			assert.NotContains(t, respBody, webhookTestSecret)
			if tt.want == http.StatusMethodNotAllowed {
				resp, err := rcv.srv.Client().Get(rcv.srv.URL)
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
			}
		})
	}
}

func TestWebhookHandlerPassesTheParsedEvent(t *testing.T) {
	t.Parallel()
	rcv := newWebhookReceiver(t, nil)
	body := []byte(webhookExamples[atlas.EventPaymentReceived])
	require.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, body))
	require.Len(t, rcv.got, 1)
	want, err := atlas.ParseWebhook(body, atlas.SignWebhook(body, webhookTestSecret), webhookTestSecret)
	require.NoError(t, err)
	assert.Equal(t, want, rcv.got[0])
}

func TestWebhookHandlerMaxBody(t *testing.T) {
	t.Parallel()
	body := []byte(webhookExamples[atlas.EventBillApproved])
	for _, tt := range []struct {
		limit     int64
		want      int
		wantCalls int32
	}{
		{int64(len(body)) - 1, http.StatusRequestEntityTooLarge, 0},
		{int64(len(body)), http.StatusNoContent, 1},
	} {
		var calls atomic.Int32
		h, err := atlas.NewWebhookHandler(webhookTestSecret, func(context.Context, *atlas.WebhookEvent) error {
			calls.Add(1)
			return nil
		}, atlas.WithWebhookMaxBody(tt.limit))
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook(body, webhookTestSecret))
		h.ServeHTTP(rec, req)
		assert.Equal(t, tt.want, rec.Code, "limit %d", tt.limit)
		assert.Equal(t, tt.wantCalls, calls.Load(), "limit %d", tt.limit)
	}
}

func TestWebhookHandlerCallbackError(t *testing.T) {
	t.Parallel()
	rcv := newWebhookReceiver(t, func(context.Context, *atlas.WebhookEvent) error {
		return errors.New("ledger database unreachable at 10.0.0.7")
	})
	status, body := rcv.deliver(t, http.MethodPost, []byte(webhookExamples[atlas.EventInvoiceSent]),
		atlas.SignWebhook([]byte(webhookExamples[atlas.EventInvoiceSent]), webhookTestSecret))
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.NotContains(t, body, "10.0.0.7", "the callback's error stays in the receiver")
}

// An empty secret never passes: the handler that would hold it is not
// built, so no delivery can reach a callback through it, whatever it is
// signed with. (It was built and answered 500 to every delivery.)
func TestWebhookHandlerEmptySecretNeverPasses(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *atlas.WebhookEvent) error { return nil }
	for name, build := range map[string]func() (http.Handler, error){
		"secret": func() (http.Handler, error) { return atlas.NewWebhookHandler("", fn) },
		"additional secret": func() (http.Handler, error) {
			return atlas.NewWebhookHandler(webhookTestSecret, fn, atlas.WithWebhookSecrets(""))
		},
	} {
		h, err := build()
		assert.Nil(t, h, name)
		assert.ErrorIs(t, err, atlas.ErrNoSecret, name)
		assert.ErrorIs(t, err, atlas.ErrInvalidConfig, name)
	}
}

// A handler is refused when it is built with a value it cannot use; no
// option keeps its default in silence. Nil options are skipped, and the
// documented nils (no deduper, no logger) are accepted.
func TestNewWebhookHandlerRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *atlas.WebhookEvent) error { return nil }
	for _, tc := range []struct {
		name    string
		fn      func(context.Context, *atlas.WebhookEvent) error
		opts    []atlas.WebhookOption
		wantErr string // "" for a handler
	}{
		{"defaults", fn, nil, ""},
		{"nil callback", nil, nil, "NewWebhookHandler: nil callback"},
		{"nil option", fn, []atlas.WebhookOption{nil}, ""},
		{"no deduper", fn, []atlas.WebhookOption{atlas.WithWebhookDeduper(nil)}, ""},
		{"no logger", fn, []atlas.WebhookOption{atlas.WithWebhookLogger(nil)}, ""},
		{"empty secret among others", fn, []atlas.WebhookOption{atlas.WithWebhookSecrets("whsec_next", "")}, "WithWebhookSecrets: empty secret"},
		{"zero body limit", fn, []atlas.WebhookOption{atlas.WithWebhookMaxBody(0)}, "WithWebhookMaxBody"},
		{"negative body limit", fn, []atlas.WebhookOption{atlas.WithWebhookMaxBody(-1)}, "WithWebhookMaxBody"},
		{"zero read timeout", fn, []atlas.WebhookOption{atlas.WithWebhookReadTimeout(0)}, "WithWebhookReadTimeout"},
		{"negative read timeout", fn, []atlas.WebhookOption{atlas.WithWebhookReadTimeout(-time.Second)}, "WithWebhookReadTimeout"},
		{"zero tolerance", fn, []atlas.WebhookOption{atlas.WithWebhookTolerance(0)}, "WithWebhookTolerance"},
		{"negative tolerance", fn, []atlas.WebhookOption{atlas.WithWebhookTolerance(-time.Minute)}, "WithWebhookTolerance"},
	} {
		h, err := atlas.NewWebhookHandler(webhookTestSecret, tc.fn, tc.opts...)
		if tc.wantErr == "" {
			require.NoError(t, err, tc.name)
			assert.NotNil(t, h, tc.name)
			continue
		}
		assert.Nil(t, h, tc.name)
		require.ErrorIs(t, err, atlas.ErrInvalidConfig, tc.name)
		assert.NotErrorIs(t, err, atlas.ErrInvalidParams, tc.name)
		assert.ErrorContains(t, err, tc.wantErr, tc.name)
		assert.True(t, strings.HasPrefix(err.Error(), "atlas: "), err.Error())
		assert.NotContains(t, err.Error(), webhookTestSecret, "no secret in an error")
		assert.NotContains(t, err.Error(), "whsec_next", "no secret in an error")
	}
}

func TestWebhookHandlerRotation(t *testing.T) {
	t.Parallel()
	rcv := newWebhookReceiver(t, nil, atlas.WithWebhookSecrets("whsec_next"), atlas.WithWebhookDeduper(nil))
	body := []byte(webhookExamples[atlas.EventPeriodClosed])
	for secret, want := range map[string]int{
		webhookTestSecret: http.StatusNoContent,
		"whsec_next":      http.StatusNoContent,
		"whsec_retired":   http.StatusUnauthorized,
	} {
		status, _ := rcv.deliver(t, http.MethodPost, body, atlas.SignWebhook(body, secret))
		assert.Equal(t, want, status, "signed with %s", secret)
	}
	assert.Equal(t, int32(2), rcv.calls.Load())
}

func TestWebhookHandlerRedeliveryAfterFailure(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	rcv := newWebhookReceiver(t, func(context.Context, *atlas.WebhookEvent) error {
		if fail.Swap(false) {
			return errors.New("temporary failure")
		}
		return nil
	})
	body := []byte(webhookExamples[atlas.EventInvoicePaid])

	assert.Equal(t, http.StatusInternalServerError, rcv.deliverSigned(t, body), "first delivery fails")
	assert.Equal(t, int32(1), rcv.calls.Load())
	assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, body), "the redelivery reaches the callback")
	assert.Equal(t, int32(2), rcv.calls.Load())
	for range 3 {
		assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, body), "later redeliveries are acknowledged")
	}
	assert.Equal(t, int32(2), rcv.calls.Load(), "and never reach the callback again")

	other := []byte(webhookExamples[atlas.EventInvoiceSent])
	assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, other))
	assert.Equal(t, int32(3), rcv.calls.Load(), "another event is not a duplicate")
}

func TestWebhookHandlerWithoutDedupCallsEveryTime(t *testing.T) {
	t.Parallel()
	rcv := newWebhookReceiver(t, nil, atlas.WithWebhookDeduper(nil))
	body := []byte(webhookExamples[atlas.EventInvoicePaid])
	for range 3 {
		assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, body))
	}
	assert.Equal(t, int32(3), rcv.calls.Load())
}

func TestWebhookHandlerConcurrentDuplicate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	entered, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	rcv := newWebhookReceiver(t, func(context.Context, *atlas.WebhookEvent) error {
		// Only the first call blocks, so a wrongly admitted duplicate shows
		// up in the counts instead of hanging the test.
		if n.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	})
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock() // so that a failed check does not leave the first delivery hanging
	body := []byte(webhookExamples[atlas.EventBillApproved])

	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, rcv.srv.URL, bytes.NewReader(body))
		req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook(body, webhookTestSecret))
		resp, err := rcv.srv.Client().Do(req)
		if err != nil {
			first <- 0
			return
		}
		_ = resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-entered
	status, _ := rcv.deliver(t, http.MethodPost, body, atlas.SignWebhook(body, webhookTestSecret))
	assert.Equal(t, http.StatusConflict, status, "a duplicate while the first is running is refused, so Atlas retries it")
	unblock()
	assert.Equal(t, http.StatusNoContent, <-first)
	assert.Equal(t, http.StatusNoContent, rcv.deliverSigned(t, body))
	assert.Equal(t, int32(1), rcv.calls.Load())
	rcv.srv.Close()
}

func TestWebhookHandlerPanicReleasesTheEvent(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h, err := atlas.NewWebhookHandler(webhookTestSecret, func(context.Context, *atlas.WebhookEvent) error {
		if calls.Add(1) == 1 {
			panic("callback bug")
		}
		return nil
	})
	require.NoError(t, err)
	body := []byte(webhookExamples[atlas.EventInvoicePaid])
	serve := func() (code int, panicked any) {
		defer func() { panicked = recover() }()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(atlas.WebhookSignatureHeader, atlas.SignWebhook(body, webhookTestSecret))
		h.ServeHTTP(rec, req)
		return rec.Code, nil
	}
	_, p := serve()
	assert.Equal(t, "callback bug", p, "the panic goes on")
	code, p := serve()
	assert.Nil(t, p)
	assert.Equal(t, http.StatusNoContent, code, "the redelivery is not stuck behind the panicked one")
	assert.Equal(t, int32(2), calls.Load())
}

func TestWebhookHandlerTolerance(t *testing.T) {
	t.Parallel()
	event := func(at time.Time) []byte {
		return []byte(`{"id":"evt_` + at.Format("150405.000") + `","event":"x.y","timestamp":"` + at.UTC().Format(time.RFC3339) + `","data":{}}`)
	}
	now := time.Now()
	tests := []struct {
		name      string
		opts      []atlas.WebhookOption
		at        time.Time
		want      int
		wantCalls int32
	}{
		{"off by default: a day-old retry is accepted", nil, now.Add(-24 * time.Hour), http.StatusNoContent, 1},
		{"within tolerance", []atlas.WebhookOption{atlas.WithWebhookTolerance(time.Hour)}, now.Add(-time.Minute), http.StatusNoContent, 1},
		{"too old", []atlas.WebhookOption{atlas.WithWebhookTolerance(time.Hour)}, now.Add(-2 * time.Hour), http.StatusBadRequest, 0},
		{"too far in the future", []atlas.WebhookOption{atlas.WithWebhookTolerance(time.Hour)}, now.Add(2 * time.Hour), http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newWebhookReceiver(t, nil, tt.opts...)
			assert.Equal(t, tt.want, rcv.deliverSigned(t, event(tt.at)))
			assert.Equal(t, tt.wantCalls, rcv.calls.Load())
		})
	}
}

func TestWebhookHandlerLogsWithoutSecrets(t *testing.T) {
	t.Parallel()
	var buf testkit.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rcv := newWebhookReceiver(t, func(context.Context, *atlas.WebhookEvent) error {
		return errors.New("ledger locked")
	}, atlas.WithWebhookLogger(logger))

	body := []byte(webhookExamples[atlas.EventInvoiceCreated])
	sig := atlas.SignWebhook(body, webhookTestSecret)
	rcv.deliver(t, http.MethodPost, body, sig)
	rcv.deliver(t, http.MethodPost, body, atlas.SignWebhook(body, "whsec_other"))

	logs := buf.String()
	assert.Contains(t, logs, "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b", "the event id")
	assert.Contains(t, logs, "ledger locked", "the callback's error")
	assert.Contains(t, logs, "status=401")
	assert.NotContains(t, logs, webhookTestSecret)
	assert.NotContains(t, logs, "whsec_")
	assert.NotContains(t, logs, sig)
}

// failingDeduper is an EventDeduper whose storage is down.
type failingDeduper struct{}

func (failingDeduper) Claim(context.Context, string) (atlas.EventState, error) {
	return 0, errors.New("redis: connection refused")
}

func (failingDeduper) Finish(context.Context, string, bool) error { return nil }

func TestWebhookHandlerDeduperError(t *testing.T) {
	t.Parallel()
	rcv := newWebhookReceiver(t, nil, atlas.WithWebhookDeduper(failingDeduper{}))
	assert.Equal(t, http.StatusInternalServerError, rcv.deliverSigned(t, []byte(webhookExamples[atlas.EventInvoicePaid])))
	assert.Equal(t, int32(0), rcv.calls.Load(), "without knowing whether it is a duplicate the callback is not run")
}

func TestMemoryDeduper(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := atlas.NewMemoryDeduper(2)
	require.NoError(t, err)
	claim := func(id string) atlas.EventState {
		t.Helper()
		st, err := d.Claim(ctx, id)
		require.NoError(t, err)
		return st
	}
	finish := func(id string, handled bool) {
		t.Helper()
		require.NoError(t, d.Finish(ctx, id, handled))
	}

	assert.Equal(t, atlas.EventStateNew, claim("a"))
	assert.Equal(t, atlas.EventStateBusy, claim("a"))
	finish("a", false)
	assert.Equal(t, atlas.EventStateNew, claim("a"), "a failed event is forgotten")
	finish("a", true)
	assert.Equal(t, atlas.EventStateDone, claim("a"))

	for _, id := range []string{"b", "c"} {
		require.Equal(t, atlas.EventStateNew, claim(id))
		finish(id, true)
	}
	assert.Equal(t, atlas.EventStateNew, claim("a"), "the oldest id is forgotten beyond the size")
	assert.Equal(t, atlas.EventStateDone, claim("b"))
	assert.Equal(t, atlas.EventStateDone, claim("c"))
}

// A size a MemoryDeduper cannot hold is refused, not replaced by the default.
func TestNewMemoryDeduperRefusesABadSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, -1} {
		d, err := atlas.NewMemoryDeduper(size)
		assert.Nil(t, d)
		assert.ErrorIs(t, err, atlas.ErrInvalidConfig, "size %d", size)
		assert.ErrorContains(t, err, "NewMemoryDeduper")
	}
}

func TestMemoryDeduperZeroValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var d atlas.MemoryDeduper
	st, err := d.Claim(ctx, "evt-1")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateNew, st)
	require.NoError(t, d.Finish(ctx, "evt-1", true))
	st, err = d.Claim(ctx, "evt-1")
	require.NoError(t, err)
	assert.Equal(t, atlas.EventStateDone, st, "the zero value remembers handled events")

	var fresh atlas.MemoryDeduper
	require.NoError(t, fresh.Finish(ctx, "evt-2", false), "Finish first is no panic")
}

func TestMemoryDeduperConcurrentClaims(t *testing.T) {
	t.Parallel()
	var d atlas.MemoryDeduper
	const n = 16
	var wg sync.WaitGroup
	var acquired atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := d.Claim(context.Background(), "evt")
			assert.NoError(t, err)
			if st == atlas.EventStateNew {
				acquired.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(1), acquired.Load())
}

func BenchmarkWebhookHandler(b *testing.B) {
	h, err := atlas.NewWebhookHandler(webhookTestSecret, func(context.Context, *atlas.WebhookEvent) error { return nil },
		atlas.WithWebhookDeduper(nil))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(webhookExamples[atlas.EventInvoicePaid])
	sig := atlas.SignWebhook(body, webhookTestSecret)
	b.ReportAllocs()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(atlas.WebhookSignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
}

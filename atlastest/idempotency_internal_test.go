package atlastest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockingCreate is a handler that counts its runs, tells entered when it starts and
// answers only when release is closed: the first run with firstStatus, later ones 201.
type blockingCreate struct {
	runs        atomic.Int32
	entered     chan struct{}
	release     chan struct{}
	firstStatus int
}

func (b *blockingCreate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := b.runs.Add(1)
	b.entered <- struct{}{}
	<-b.release
	status := http.StatusCreated
	if n == 1 {
		status = b.firstStatus
	}
	writeJSON(w, status, map[string]int32{"run": n})
}

// idempotentServer serves h behind the idempotency middleware of a fresh Server; waiting
// receives a value whenever a request starts to wait for another with its key.
func idempotentServer(t *testing.T, h http.Handler) (ts *httptest.Server, s *Server, waiting chan struct{}) {
	s = NewServer()
	t.Cleanup(s.Close)
	waiting = make(chan struct{}, 4)
	s.idem.onWait = func() { waiting <- struct{}{} }
	ts = httptest.NewServer(s.idempotent(h))
	t.Cleanup(ts.Close)
	return ts, s, waiting
}

// awaitWaiting returns once a repeat waits for the first request of its key, and fails the
// test if the repeat runs the handler instead.
func awaitWaiting(t *testing.T, h *blockingCreate, waiting <-chan struct{}) {
	t.Helper()
	select {
	case <-waiting:
	case <-h.entered:
		close(h.release)
		t.Fatal("a repeat ran the handler while the first request was in flight")
	}
}

type answer struct {
	status   int
	body     string
	replayed bool
	err      error
}

func postKeyed(ctx context.Context, ts *httptest.Server, key string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/things", strings.NewReader(`{"a":1}`))
		if err != nil {
			out <- answer{err: err}
			return
		}
		req.Header.Set("Idempotency-Key", key)
		resp, err := ts.Client().Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		out <- answer{resp.StatusCode, string(body), resp.Header.Get("Idempotent-Replayed") == "true", err}
	}()
	return out
}

func TestARepeatInFlightWaitsForTheFirst(t *testing.T) {
	t.Parallel()
	h := &blockingCreate{entered: make(chan struct{}, 2), release: make(chan struct{}), firstStatus: http.StatusCreated}
	ts, _, waiting := idempotentServer(t, h)

	first := postKeyed(context.Background(), ts, "k")
	<-h.entered
	second := postKeyed(context.Background(), ts, "k")
	awaitWaiting(t, h, waiting)
	close(h.release)

	a, b := <-first, <-second
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	assert.Equal(t, http.StatusCreated, a.status)
	assert.False(t, a.replayed)
	assert.Equal(t, a.status, b.status)
	assert.Equal(t, a.body, b.body)
	assert.True(t, b.replayed)
	assert.EqualValues(t, 1, h.runs.Load())
}

func TestARepeatRunsWhenTheFirstKeptNothing(t *testing.T) {
	t.Parallel()
	h := &blockingCreate{entered: make(chan struct{}, 2), release: make(chan struct{}), firstStatus: http.StatusInternalServerError}
	ts, _, waiting := idempotentServer(t, h)

	first := postKeyed(context.Background(), ts, "k")
	<-h.entered
	second := postKeyed(context.Background(), ts, "k")
	awaitWaiting(t, h, waiting)
	close(h.release)

	a, b := <-first, <-second
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	assert.Equal(t, http.StatusInternalServerError, a.status)
	assert.Equal(t, http.StatusCreated, b.status)
	assert.False(t, b.replayed)
	assert.EqualValues(t, 2, h.runs.Load())
}

func TestAWaitingRepeatHonoursItsContextAndClose(t *testing.T) {
	t.Parallel()
	h := &blockingCreate{entered: make(chan struct{}, 2), release: make(chan struct{}), firstStatus: http.StatusCreated}
	ts, s, waiting := idempotentServer(t, h)

	first := postKeyed(context.Background(), ts, "k")
	<-h.entered

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := postKeyed(ctx, ts, "k")
	awaitWaiting(t, h, waiting)
	cancel()
	assert.ErrorIs(t, (<-gaveUp).err, context.Canceled)

	closing := postKeyed(context.Background(), ts, "k")
	awaitWaiting(t, h, waiting)
	s.Close()
	a := <-closing
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)

	close(h.release)
	require.NoError(t, (<-first).err)
	assert.EqualValues(t, 1, h.runs.Load())
}

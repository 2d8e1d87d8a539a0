package atlas

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// answered is a transport that tells got, without blocking, each time an
// answer's headers have reached the client: a server that cuts the body
// waits for it, so that the cut is in the body and not before the answer.
type answered struct {
	base http.RoundTripper
	got  chan struct{}
}

func (a *answered) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err == nil {
		select {
		case a.got <- struct{}{}:
		default:
		}
	}
	return resp, err
}

func withAnswered(t *testing.T) (Option, chan struct{}) {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	a := &answered{base: tr, got: make(chan struct{}, 1)}
	return WithHTTPClient(&http.Client{Transport: a}), a.got
}

// cutAnswer writes status, header and the first half of body, announcing
// all of it, waits until the client has the headers (got), and then resets
// the connection (or, without reset, closes it).
func cutAnswer(t *testing.T, w http.ResponseWriter, status int, header http.Header, body []byte, got <-chan struct{}, reset bool) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if !assert.NoError(t, err) {
		return
	}
	defer func() { _ = conn.Close() }()
	_, _ = fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h := header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_ = h.Write(rw)
	_, _ = rw.WriteString("\r\n")
	_, _ = rw.Write(body[:len(body)/2])
	_ = rw.Flush()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Error("the client never got the answer's headers")
	}
	if reset {
		_ = conn.(*net.TCPConn).SetLinger(0) // Close sends RST
	}
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// An answer whose body is cut short, by a reset connection or a close, is
// retried as a dropped connection is, for every method and whatever its
// status said; the call then gets the whole answer.
func TestCutBodyIsRetried(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, status := range []int{http.StatusOK, http.StatusNotFound} {
			for _, reset := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s %d reset=%v", method, status, reset), func(t *testing.T) {
					t.Parallel()
					hc, got := withAnswered(t)
					var n atomic.Int32
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.Copy(io.Discard, r.Body)
						if n.Add(1) == 1 {
							body := []byte(`{"detail": "` + strings.Repeat("x", 4000) + `"}`)
							cutAnswer(t, w, status, jsonHeader, body, got, reset)
							return
						}
						writeJSON(w, http.StatusOK, map[string]string{"id": "inv-1"})
					}))
					t.Cleanup(srv.Close)
					c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), hc))
					req := &Request{Method: method, Path: "/x"}
					if method != http.MethodGet {
						req.Body = map[string]string{"name": "x"}
					}
					var out struct{ ID string }
					require.NoError(t, c.Do(context.Background(), req, &out))
					assert.Equal(t, "inv-1", out.ID)
					assert.EqualValues(t, 2, n.Load(), "the cut answer and its retry")
				})
			}
		}
	}
}

// When every attempt's body is cut, the error says so and how many
// attempts were made; an error answer cut on the last attempt is still an
// *Error with its status.
func TestCutBodyOnEveryAttemptFailsClearly(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusOK, http.StatusNotFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			hc, got := withAnswered(t)
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n.Add(1)
				cutAnswer(t, w, status, jsonHeader, []byte(`{"detail": "Not found at all."}`), got, false)
			}))
			t.Cleanup(srv.Close)
			c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", ""), hc))
			_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
			require.Error(t, err)
			attempts := fastRetry.MaxRetries + 1
			assert.EqualValues(t, attempts, n.Load())
			if status == http.StatusOK {
				assert.Equal(t, fmt.Sprintf("atlas: GET /x: read response: unexpected EOF (after %d attempts)", attempts), err.Error())
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
				return
			}
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
			assert.Equal(t, attempts, apiErr.Attempts)
		})
	}
}

// A body that stalls mid-way past WithAttemptTimeout fails that attempt,
// and the retry gets the answer.
func TestBodyStalledPastTheAttemptTimeoutIsRetried(t *testing.T) {
	verifyNoLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newMemServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"id": "c-`))
				w.(http.Flusher).Flush()
				<-r.Context().Done() // until the client gives the attempt up
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"id": "c-1", "name": "Acme"})
		}))
		c, _ := Setup(t, OnMem(srv, "/api/v1"), ClientOptions(WithTokens("tok", ""), WithAttemptTimeout(50*time.Millisecond)))
		co, err := c.Companies.Get(context.Background(), "c-1")
		require.NoError(t, err)
		assert.Equal(t, "c-1", co.ID)
		assert.EqualValues(t, 2, n.Load())
	})
}

// A create whose answer is cut short is retried with its one
// Idempotency-Key: the server replays the first answer, and the invoice is
// made once.
func TestCutCreateAnswerMakesOneInvoice(t *testing.T) {
	t.Parallel()
	api := atlastest.NewServer()
	t.Cleanup(api.Close)
	hc, got := withAnswered(t)
	var cut atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/invoices" && cut.CompareAndSwap(false, true) {
			rec := httptest.NewRecorder()
			api.Handler().ServeHTTP(rec, r)
			assert.Equal(t, http.StatusCreated, rec.Code)
			cutAnswer(t, w, rec.Code, rec.Header(), rec.Body.Bytes(), got, true)
			return
		}
		api.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, _ := Setup(t, OnURL(front.URL+"/api/v1"), ClientOptions(
		WithCredentials(api.Email(), api.Password()), WithCompany(api.CompanyID()), hc))
	ctx := context.Background()
	before, err := c.Invoices.List(ctx, nil)
	require.NoError(t, err)

	inv, err := c.Invoices.Create(ctx, &InvoiceCreateParams{
		CustomerID:  api.CustomerIDs()[0],
		InvoiceDate: DateOf(api.Now()),
		Lines: []InvoiceLineParams{
			{Description: "Widgets", UnitPrice: decimal.RequireFromString("120.00"), RevenueAccountID: api.AccountID("4000")},
		},
	})
	require.NoError(t, err)
	assert.NotEmpty(t, inv.ID)
	require.True(t, cut.Load(), "the first answer was cut")

	after, err := c.Invoices.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, before.Total+1, after.Total, "one invoice was made")
	var keys []string
	for _, r := range api.Requests() {
		if r.Method == http.MethodPost && r.Path == "/invoices" {
			keys = append(keys, r.IdempotencyKey)
		}
	}
	require.Len(t, keys, 2, "the cut attempt and its retry")
	assert.NotEmpty(t, keys[0])
	assert.Equal(t, keys[0], keys[1], "one key across the retry")
}

// gzipOf returns mib MiB of spaces, gzipped: a small answer that inflates
// to mib MiB. It is one gzip member of 1 MiB repeated (a gzip stream may
// hold several), so that making it costs next to nothing.
func gzipOf(t *testing.T, mib int) []byte {
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return bytes.Repeat(member.Bytes(), mib)
}

// A gzip answer that inflates far past the 64 MiB cap costs one call about
// the cap in memory, not a multiple of it, and the error says the answer
// was too large.
//
// Not parallel: it measures the process's allocations around one call.
func TestGzipAnswerPastTheCapCostsTheCapAtMost(t *testing.T) {
	verifyNoLeaks(t)
	body := gzipOf(t, 256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/warmup" {
			_, _ = w.Write([]byte("{}"))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
	_, err := call[struct{}](context.Background(), c, Request{Path: "/warmup"}, requestConfig{})
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Equal(t, "atlas: GET /x: answer too large: more than the 64 MiB a client reads", err.Error())
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("one call allocated %d MB for a %d KB gzip answer", allocated/1e6, len(body)/1e3)
	assert.LessOrEqual(t, allocated, uint64(100e6), "one call allocates at most 100 MB")
}

// A 2xx that announces a length past the cap is refused without reading it.
func TestAnswerAnnouncedPastTheCapIsNotRead(t *testing.T) {
	t.Parallel()
	var wrote atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(maxResponseBody+1))
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for range (maxResponseBody + 1) / len(chunk) {
			n, err := w.Write(chunk)
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
	_, err := call[struct{}](context.Background(), c, Request{Path: "/x"}, requestConfig{})
	assert.EqualError(t, err, "atlas: GET /x: answer too large: more than the 64 MiB a client reads")
	srv.Close() // waits for the handler
	assert.Less(t, wrote.Load(), int64(maxResponseBody/2), "the client closed the connection rather than read it")
}

// readBody reads every body whole, across its segments, whether its length
// is known or not, and stops past the cap.
func TestReadBodyReadsWholeBodiesAndStopsPastTheCap(t *testing.T) {
	t.Parallel()
	const limit = 3 << 20
	for _, size := range []int{0, 1, firstSegment - 1, firstSegment, firstSegment + 1, 3*firstSegment + 7, limit - 1, limit, limit + 1, 2 * limit} {
		for _, known := range []bool{true, false} {
			for _, keep := range []bool{true, false} {
				t.Run(fmt.Sprintf("%d known=%v keep=%v", size, known, keep), func(t *testing.T) {
					t.Parallel()
					want := make([]byte, size)
					for i := range want {
						want[i] = byte(i * 7)
					}
					announced := int64(-1)
					if known {
						announced = int64(size)
					}
					// iotest-style short reads: at most 1000 bytes a Read.
					r := bufio.NewReaderSize(bytes.NewReader(want), 1000)
					data, seg, truncated, err := readBody(io.LimitReader(r, int64(size)), limit, announced, keep)
					require.NoError(t, err)
					if seg != nil {
						defer segPool.Put(seg)
					}
					if size <= limit {
						assert.False(t, truncated)
						assert.True(t, bytes.Equal(want, data), "the body read whole")
						return
					}
					assert.True(t, truncated)
					if keep {
						assert.True(t, bytes.Equal(want[:limit], data), "the first limit bytes")
					} else {
						assert.Empty(t, data)
					}
				})
			}
		}
	}
}

// A read error is kept with what was read before it.
func TestReadBodyKeepsWhatCameBeforeTheCut(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset by peer")
	r := io.MultiReader(strings.NewReader(`{"detail":`), iotestErr{boom})
	data, seg, truncated, err := readBody(r, maxErrorBody, -1, true)
	if seg != nil {
		defer segPool.Put(seg)
	}
	assert.ErrorIs(t, err, boom)
	assert.False(t, truncated)
	assert.Equal(t, `{"detail":`, string(data))
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// A HEAD's answer announces the length of a GET's body, past the cap or
// not, and has none: it is no error.
func TestHeadAnswerAnnouncingALargeBodyIsNoError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(maxResponseBody+1))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c, _ := Setup(t, OnURL(srv.URL), ClientOptions(WithTokens("tok", "")))
	var resp *Response
	require.NoError(t, c.Do(context.Background(), &Request{Method: http.MethodHead, Path: "/x"}, nil, WithResponse(&resp)))
	assert.Equal(t, strconv.Itoa(maxResponseBody+1), resp.Header.Get("Content-Length"))
}

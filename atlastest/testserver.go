package atlastest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServerAddr is the address NewTestServer's URL names. Nothing listens there: port 0
// cannot be dialled, so a client other than Server.Client fails at once instead of
// reaching some other server on the machine.
const testServerAddr = "127.0.0.1:0"

// NewTestServer starts a fake Atlas for the test t on an in-memory network, with the
// seeded data and the options of NewServer, and closes it when the test ends (t.Cleanup:
// the server, its listener, the webhook receivers of SubscribeHandler and the idle
// connections of Client), so that it leaves no goroutine behind. A bad option value fails
// the test (t.Fatal) with the error Validate would return.
//
// No socket is opened. URL is "http://127.0.0.1:0/api/v1", a loopback address (so the
// SDK needs no WithInsecureHTTP) that nothing else can dial: only Client reaches the
// server, whatever host a request names. Its connections are in-memory pipes, like
// net.Pipe, on which a goroutine that waits is durably blocked in the sense of
// testing/synctest.
//
// That is what it is for: built inside a synctest.Test bubble, with the client's calls
// made in the same bubble, the test runs through hours of the API's time (tokens that
// expire, rate-limit windows, webhook retries with SubscribeHandler) in milliseconds,
// exactly, because the bubble's clock jumps whenever every goroutine waits. The server's
// default clock is time.Now, which the bubble drives. A bubble's clock starts at
// midnight UTC on 2000-01-01, so that is the server's "today" there (the seeded periods
// are those of 2000, the seeded records were made on 1999-12-31); WithStartTime starts
// the server's clock at a date of the test's choosing instead, from where it moves with
// the bubble's. A server built in a bubble must be used only from that bubble, as
// everything made in one.
//
// Outside a bubble it is a fake that needs no network, in real time.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := newServer(opts)
	if err != nil {
		t.Fatal(err)
		return nil
	}
	api := s.mem.listen(testServerAddr)
	s.Listener = api
	s.Start()
	s.Client().Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return api.dial(ctx)
		},
		MaxIdleConnsPerHost: 100,
	}
	t.Cleanup(s.Close)
	return s
}

// WithStartTime starts the server's clock at start, from where it moves with time.Now
// (and Server.Advance): for a test in a synctest bubble, whose clock starts at
// 2000-01-01, on a date that matters to it, or for a server that should think it is
// another day. It replaces the clock of an earlier WithClock; a later WithClock replaces
// it. A zero start is invalid.
func WithStartTime(start time.Time) Option {
	return func(cfg *config) {
		if start.IsZero() {
			cfg.invalid("WithStartTime", "the start time is zero")
			return
		}
		offset := time.Until(start)
		cfg.clock = ClockFunc(func() time.Time { return time.Now().Add(offset) })
	}
}

// SubscribeHandler serves h on the server's in-memory network and subscribes it to
// webhook events as Subscribe subscribes a URL: the events of the given types, or all
// six when none is given, signed, in order, retried (see WithWebhookRetry) and listed by
// Deliveries. It returns the subscription's id, for Unsubscribe.
//
// No socket is opened, so in a synctest bubble the deliveries and the waits between
// their retries run in the bubble's time: a retry delay of an hour passes at once. The
// deliveries are POSTed to "http://hooks-N.atlastest.invalid/" (Delivery.URL), a name
// only this server's deliveries reach. h is served by an http.Server of its own, which
// the server closes when it closes, once deliveries have stopped.
//
// It returns an error for a nil h and when the server is closed.
func (s *Server) SubscribeHandler(h http.Handler, events ...string) (string, error) {
	if h == nil {
		return "", errors.New("atlastest: SubscribeHandler: the handler is nil")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", errors.New("atlastest: SubscribeHandler: the server is closed")
	}
	host := "hooks-" + strconv.FormatInt(s.mem.receivers.Add(1), 10) + ".atlastest.invalid"
	receiver := &httptest.Server{
		Listener: s.mem.listen(net.JoinHostPort(host, "80")),
		Config:   &http.Server{Handler: h, ErrorLog: s.errorLog(), ReadHeaderTimeout: readHeaderTimeout},
	}
	receiver.Start()
	s.closers = append(s.closers, receiver.Close)
	s.mu.Unlock()
	return s.Subscribe("http://"+host+"/", events...), nil
}

// memNetwork is a server's in-memory network: listeners by address, reached by dialling
// them through a transport it routes.
type memNetwork struct {
	receivers atomic.Int64 // SubscribeHandler's receivers, to name them

	mu        sync.Mutex
	listeners map[string]*memListener // by "host:port"
}

// listen opens a listener at addr ("host:port"), replacing any there.
func (n *memNetwork) listen(addr string) *memListener {
	l := &memListener{addr: memAddr(addr), conns: make(chan net.Conn), done: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners == nil {
		n.listeners = map[string]*memListener{}
	}
	n.listeners[addr] = l
	return l
}

// lookup returns the listener at addr, or nil.
func (n *memNetwork) lookup(addr string) *memListener {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listeners[addr]
}

// route makes tr reach the network's listeners by their addresses, never through a
// proxy, and every other address as it did. Call it before tr is used.
func (n *memNetwork) route(tr *http.Transport) {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if l := n.lookup(addr); l != nil {
			return l.dial(ctx)
		}
		return dial(ctx, network, addr)
	}
	if proxy := tr.Proxy; proxy != nil {
		tr.Proxy = func(r *http.Request) (*url.URL, error) {
			if n.lookup(hostPort(r.URL)) != nil {
				return nil, nil
			}
			return proxy(r)
		}
	}
}

// hostPort is the address a request to u dials: its host and port, the scheme's port
// when it names none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// errRefused is why a dial to a closed in-memory listener fails.
var errRefused = errors.New("connection refused: the in-memory listener is closed")

// memListener is a net.Listener whose connections are in-memory pipes.
type memListener struct {
	addr   memAddr
	conns  chan net.Conn // unbuffered: a dial completes when Accept takes it
	done   chan struct{} // closed by Close
	once   sync.Once
	dialed atomic.Int64 // connections made, to give each a client port
}

// Accept waits for a connection, or returns net.ErrClosed once the listener is closed.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; later dials are refused. It always returns nil.
func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the address the listener was opened at.
func (l *memListener) Addr() net.Addr { return l.addr }

// dial connects to the listener, or fails when it is closed or ctx ends first.
func (l *memListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	// The client's end gets a port of its own, as a TCP connection would, so that the
	// server tells its clients apart and logs a usable remote address.
	from := memAddr("127.0.0.1:" + strconv.FormatInt(1024+l.dialed.Add(1)%64000, 10))
	select {
	case l.conns <- &memConn{Conn: server, local: l.addr, remote: from}:
		return &memConn{Conn: client, local: from, remote: l.addr}, nil
	case <-l.done:
		_, _ = client.Close(), server.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: errRefused}
	case <-ctx.Done():
		_, _ = client.Close(), server.Close()
		return nil, fmt.Errorf("dial %s: %w", l.addr, ctx.Err())
	}
}

// memConn is one end of an in-memory pipe with the addresses of a TCP connection.
type memConn struct {
	net.Conn
	local, remote memAddr
}

// LocalAddr is this end's address.
func (c *memConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the other end's address.
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

// memAddr is an address on the in-memory network, "host:port".
type memAddr string

// Network is "tcp", the network the address stands for.
func (memAddr) Network() string { return "tcp" }

// String is the address, "host:port".
func (a memAddr) String() string { return string(a) }

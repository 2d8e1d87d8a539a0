// Package memnet is an in-memory network for HTTP servers and clients in
// tests: connections are net.Pipe pairs, so that a goroutine blocked on one
// is durably blocked in the sense of testing/synctest and a bubble's clock
// keeps moving. atlastest's NewTestServer runs on it, and so do the SDK's
// own tests of small hand-written handlers.
package memnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
)

// Network is a set of in-memory listeners by address, reached by dialling
// them through a transport it routes. The zero Network is ready to use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener // by "host:port"
}

// Listen opens a listener at addr ("host:port"), replacing any there.
func (n *Network) Listen(addr string) *Listener {
	l := &Listener{addr: Addr(addr), conns: make(chan net.Conn), done: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners == nil {
		n.listeners = map[string]*Listener{}
	}
	n.listeners[addr] = l
	return l
}

// Lookup returns the listener at addr, or nil.
func (n *Network) Lookup(addr string) *Listener {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listeners[addr]
}

// Route makes tr reach the network's listeners by their addresses, never
// through a proxy, and every other address as it did. Call it before tr is
// used.
func (n *Network) Route(tr *http.Transport) {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if l := n.Lookup(addr); l != nil {
			return l.Dial(ctx)
		}
		return dial(ctx, network, addr)
	}
	if proxy := tr.Proxy; proxy != nil {
		tr.Proxy = func(r *http.Request) (*url.URL, error) {
			if n.Lookup(HostPort(r.URL)) != nil {
				return nil, nil
			}
			return proxy(r)
		}
	}
}

// HostPort is the address a request to u dials: its host and port, the
// scheme's port when it names none.
func HostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// ErrRefused is why a dial to a closed in-memory listener fails.
var ErrRefused = errors.New("connection refused: the in-memory listener is closed")

// Listener is a net.Listener whose connections are in-memory pipes.
type Listener struct {
	addr   Addr
	conns  chan net.Conn // unbuffered: a dial completes when Accept takes it
	done   chan struct{} // closed by Close
	once   sync.Once
	dialed atomic.Int64 // connections made, to give each a client port
}

// Accept waits for a connection, or returns net.ErrClosed once the listener
// is closed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; later dials are refused. It always returns nil.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the address the listener was opened at.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial connects to the listener, or fails when it is closed or ctx ends
// first.
func (l *Listener) Dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	// The client's end gets a port of its own, as a TCP connection would, so
	// that the server tells its clients apart and logs a usable remote
	// address.
	from := Addr("127.0.0.1:" + strconv.FormatInt(1024+l.dialed.Add(1)%64000, 10))
	select {
	case l.conns <- &conn{Conn: server, local: l.addr, remote: from}:
		return &conn{Conn: client, local: from, remote: l.addr}, nil
	case <-l.done:
		_, _ = client.Close(), server.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: ErrRefused}
	case <-ctx.Done():
		_, _ = client.Close(), server.Close()
		return nil, fmt.Errorf("dial %s: %w", l.addr, ctx.Err())
	}
}

// Transport is an HTTP transport whose every connection dials l, whatever
// host a request names.
func (l *Listener) Transport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return l.Dial(ctx)
		},
		MaxIdleConnsPerHost: 100,
	}
}

// conn is one end of an in-memory pipe with the addresses of a TCP
// connection.
type conn struct {
	net.Conn
	local, remote Addr
}

// LocalAddr is this end's address.
func (c *conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the other end's address.
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// Addr is an address on the in-memory network, "host:port".
type Addr string

// Network is "tcp", the network the address stands for.
func (Addr) Network() string { return "tcp" }

// String is the address, "host:port".
func (a Addr) String() string { return string(a) }

package atlasredis

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The tests run on a real Redis whenever there is one: ATLAS_REDIS_URL when it
// is set, else a redis-server of their own when the binary is on PATH, else
// (not under CI) miniredis.
const redisURLEnv = "ATLAS_REDIS_URL"

// backend is the Redis every test of the package shares; each test uses keys
// of its own (see testKey), so that they can run in parallel.
var backend struct {
	kind string // "url", "redis-server" or "miniredis"
	url  string
}

func TestMain(m *testing.M) {
	stop, err := startBackend()
	if err != nil {
		fmt.Fprintln(os.Stderr, "atlasredis tests:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "atlasredis tests run on %s\n", backend.kind)
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// startBackend picks the Redis the tests run on, and returns how to stop it.
func startBackend() (stop func(), err error) {
	if u := os.Getenv(redisURLEnv); u != "" {
		if _, err := redis.ParseURL(u); err != nil {
			return nil, fmt.Errorf("%s: %w", redisURLEnv, err)
		}
		backend.kind, backend.url = "url", u
		return func() {}, nil
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		srv, err := startRedisServer(0)
		if err != nil {
			return nil, err
		}
		backend.kind, backend.url = "redis-server", srv.url()
		return srv.stop, nil
	}
	if os.Getenv("CI") != "" {
		return nil, fmt.Errorf("CI is set but neither %s nor redis-server is there: the tests do not fall back to miniredis under CI", redisURLEnv)
	}
	mr := miniredis.NewMiniRedis()
	mr.ClockTTL(true) // keys expire as on a real Redis
	if err := mr.Start(); err != nil {
		return nil, err
	}
	backend.kind, backend.url = "miniredis", "redis://"+mr.Addr()
	return mr.Close, nil
}

// clientOptions are the options of every test client.
func clientOptions(t testing.TB, url string) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	opt.ContextTimeoutEnabled = true
	return opt
}

// newTestClient returns a client of the shared Redis, closed when the test ends.
func newTestClient(t testing.TB) *redis.Client {
	t.Helper()
	return newClientAt(t, backend.url)
}

func newClientAt(t testing.TB, url string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(clientOptions(t, url))
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// testKey returns a key no other test uses.
func testKey(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ".", " ", "_", "{", "(", "}", ")").Replace(t.Name())
	return name + "." + hex.EncodeToString(b[:])
}

// redisServer is a redis-server process the tests started, on a loopback port.
type redisServer struct {
	port int
	dir  string
	args []string // added to the command line

	mu  sync.Mutex
	cmd *exec.Cmd
	out chan struct{} // closed when the process's output is drained
}

func (s *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) }

// startRedisServer starts redis-server on port (a free one when 0) without
// persistence, with args added to its command line, and returns once it
// accepts connections.
func startRedisServer(port int, args ...string) (*redisServer, error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	dir, err := os.MkdirTemp("", "atlasredis-test-")
	if err != nil {
		return nil, err
	}
	s := &redisServer{port: port, dir: dir, args: args}
	if err := s.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *redisServer) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "notice",
	}, s.args...)
	cmd := exec.Command("redis-server", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	out := make(chan struct{})
	var log strings.Builder
	go func() {
		defer close(out)
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Ready to accept connections") {
					signalled = true
					close(ready)
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-out:
		_ = cmd.Wait()
		return fmt.Errorf("redis-server on port %d exited before it was ready:\n%s", s.port, log.String())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-out
		_ = cmd.Wait()
		return fmt.Errorf("redis-server on port %d was not ready after 20s", s.port)
	}
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()
	return nil
}

// kill stops the process by its pid, at once.
func (s *redisServer) kill() {
	s.mu.Lock()
	cmd, out := s.cmd, s.out
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-out
	_ = cmd.Wait()
}

func (s *redisServer) stop() {
	s.kill()
	_ = os.RemoveAll(s.dir)
}

// proxy stands between the clients and Redis, so that a test can cut the
// connection or make Redis slow without touching the server.
type proxy struct {
	l      net.Listener
	target string

	mode  atomic.Int32 // proxyOpen, proxyCut or proxyStall
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

const (
	proxyOpen  = iota
	proxyCut   // connections are closed as soon as they are made
	proxyStall // connections are accepted and nothing goes through
)

// newProxy starts a proxy to the shared Redis, stopped when the test ends.
func newProxy(t testing.TB) *proxy {
	t.Helper()
	opt := clientOptions(t, backend.url)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l, target: opt.Addr, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// url is the proxied Redis, with the database and credentials of the shared one.
func (p *proxy) url(t testing.TB) string {
	t.Helper()
	opt := clientOptions(t, backend.url)
	u := "redis://"
	if opt.Username != "" || opt.Password != "" {
		u += opt.Username + ":" + opt.Password + "@"
	}
	return u + p.l.Addr().String() + "/" + strconv.Itoa(opt.DB)
}

// set changes the mode and drops every connection open now.
func (p *proxy) set(mode int32) {
	p.mode.Store(mode)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	_ = c.Close()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		switch p.mode.Load() {
		case proxyCut:
			p.untrack(c)
			continue
		case proxyStall:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer p.untrack(c)
				_, _ = io.Copy(io.Discard, c) // until set or close drops it
			}()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.untrack(c)
			continue
		}
		if !p.track(up) {
			p.untrack(c)
			continue
		}
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			p.untrack(dst)
			p.untrack(src)
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *proxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// roundTrips counts the round trips a client makes to Redis: a command or a
// pipeline is one. The commands that set up a new connection (HELLO, CLIENT
// SETINFO, AUTH, SELECT) are not counted: they are paid once per connection,
// not per request.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isSetup(cmd) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if !isSetup(cmd) {
				r.n.Add(1)
				break
			}
		}
		return next(ctx, cmds)
	}
}

func isSetup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// isUnavailable reports whether err is what Wait returns when Redis fails:
// ErrUnavailable and no context error, so that the client falls back.
func isUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

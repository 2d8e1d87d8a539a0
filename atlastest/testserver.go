package atlastest

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	api := s.mem.Listen(testServerAddr)
	s.Listener = api
	s.Start()
	s.Client().Transport = api.Transport()
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
	host := "hooks-" + strconv.FormatInt(s.receivers.Add(1), 10) + ".atlastest.invalid"
	receiver := &httptest.Server{
		Listener: s.mem.Listen(net.JoinHostPort(host, "80")),
		Config:   &http.Server{Handler: h, ErrorLog: s.errorLog(), ReadHeaderTimeout: readHeaderTimeout},
	}
	receiver.Start()
	s.closers = append(s.closers, receiver.Close)
	s.mu.Unlock()
	return s.Subscribe("http://"+host+"/", events...), nil
}

package atlastest

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
)

// Who may use the control API. It hands out the seeded passwords and the webhook secret,
// subscribes URLs to signed webhooks and moves the clock, so it answers the test that
// started the server and nobody else: not a web page the developer happens to have open
// (DNS rebinding, a cross-site form), and not the network unless a token says so.
//
//	Host           a loopback name or address, the address the connection came in on, the
//	               server's own URL, or a name of WithControlHosts; else 403
//	browser        an Origin that is not the server's own, or Sec-Fetch-Site cross-site or
//	               same-site; 403 (curl and test clients send neither)
//	token          with WithControlToken, Authorization: Bearer TOKEN; else 401
//	body           at most WithControlBodyLimit bytes; else 413, before the body is read

// DefaultControlBodyLimit is the largest control request body the server accepts unless
// WithControlBodyLimit says otherwise: 32 MiB, a state (PUT /_atlastest/state) of about
// 25,000 invoices. A larger fixture loads with WithState (cmd/atlastest -state) from a
// file, or with a larger limit.
const DefaultControlBodyLimit = 32 << 20

// maxSmallControlBody caps the body of every control operation but PUT /state: what they
// take is a few fields.
const maxSmallControlBody = 1 << 20

// controlConfig is what the control API's options set.
type controlConfig struct {
	hosts     []string // normalized (see normalHost)
	token     string   // "" for none
	bodyLimit int64
}

// WithControlHosts lets the control API answer requests whose Host header names one of
// hosts, beside the loopback names and addresses (localhost, 127.0.0.1, ::1), the address
// the request came in on and the host of the server's URL, which it always answers: for a
// server that clients reach by another name, such as a service name in a docker-compose
// network (cmd/atlastest -control-host). Any other Host is refused with 403, so that a web
// page cannot read the seed through a name of its own that resolves to this machine (DNS
// rebinding). Give host names or IP addresses without a port; an empty host, or one with a
// port, is invalid.
func WithControlHosts(hosts ...string) Option {
	return func(cfg *config) {
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/ @?#") {
				cfg.invalid("WithControlHosts", "%q is not a host name or address", h)
				return
			}
			if _, _, err := net.SplitHostPort(h); err == nil {
				cfg.invalid("WithControlHosts", "%q has a port; give the host alone", h)
				return
			}
			cfg.ctl.hosts = append(cfg.ctl.hosts, normalHost(h))
		}
	}
}

// WithControlToken makes every control request carry token as a bearer token
// ("Authorization: Bearer TOKEN"); one without it, or with another, gets 401. Use it when
// the server listens where others can reach it (cmd/atlastest -control-token). The token
// is compared in constant time and never logged. An empty token, or one with a character
// that is not printable ASCII or is a space, is invalid.
func WithControlToken(token string) Option {
	return func(cfg *config) {
		if token == "" {
			cfg.invalid("WithControlToken", "the token is empty")
			return
		}
		for _, c := range []byte(token) {
			if c <= ' ' || c > '~' {
				cfg.invalid("WithControlToken", "the token has a character that cannot go in a header (printable ASCII without spaces)")
				return
			}
		}
		cfg.ctl.token = token
	}
}

// WithControlBodyLimit sets the largest body a control request may have, in bytes
// (default DefaultControlBodyLimit, 32 MiB): a larger one is refused with 413 before it
// is read, or as soon as it passes the limit when its length was not given. Only a state
// (PUT /_atlastest/state) gets near it; the other operations take at most 1 MiB whatever
// the limit. A limit of zero or less is invalid.
func WithControlBodyLimit(n int64) Option {
	return func(cfg *config) {
		if n <= 0 {
			cfg.invalid("WithControlBodyLimit", "limit %d is not positive", n)
			return
		}
		cfg.ctl.bodyLimit = n
	}
}

// guardControl lets through to next only the control requests the rules at the top of
// this file admit, with a body that cannot grow past the limit.
func (s *Server) guardControl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ControlPrefix) {
			next.ServeHTTP(w, r) // a 404, which tells nothing
			return
		}
		if err := s.admitControl(r); err != nil {
			writeError(w, err)
			return
		}
		limit := s.cfg.ctl.bodyLimit
		if r.ContentLength > limit {
			writeError(w, errTooLarge(limit))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// errTooLarge is the 413 of a control body over limit bytes.
func errTooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf(
		"The request body is larger than the control API takes (%s); a larger state loads from a file (WithState, cmd/atlastest -state) or with a larger limit (WithControlBodyLimit, cmd/atlastest -control-max-body).", byteSize(limit))}
}

// byteSize writes n bytes for a person: "32 MiB", "1536 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// admitControl returns the answer to a control request that may not be served: 403 for a
// Host it does not answer or a browser's cross-site request, 401 without the token.
func (s *Server) admitControl(r *http.Request) error {
	if !s.controlHost(r) {
		host := r.Host
		if len(host) > 100 {
			host = host[:100] + "..."
		}
		return errForbidden(fmt.Sprintf("The control API answers requests to a loopback address or name (127.0.0.1, localhost), or to a host allowed with WithControlHosts (cmd/atlastest -control-host); not to Host %q.", host))
	}
	if site := strings.ToLower(r.Header.Get("Sec-Fetch-Site")); site == "cross-site" || site == "same-site" {
		return errForbidden("The control API does not answer a request a browser sends from another site.")
	}
	for _, origin := range r.Header.Values("Origin") {
		if !s.ownOrigin(origin, r) {
			return errForbidden("The control API does not answer a request a browser sends from another origin.")
		}
	}
	if want := s.cfg.ctl.token; want != "" {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || !sameToken(strings.TrimSpace(got), want) {
			return errUnauthorized("The control API needs its token: send Authorization: Bearer and the token of WithControlToken (cmd/atlastest -control-token).")
		}
	}
	return nil
}

// sameToken compares two tokens in time that depends on neither.
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// ownOrigin reports whether a browser's Origin header is the origin of the request
// itself: the scheme it came in with and its Host.
func (s *Server) ownOrigin(origin string, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// controlHost reports whether the control API answers a request with r's Host.
func (s *Server) controlHost(r *http.Request) bool {
	host := normalHost(r.Host)
	if host == "" {
		return false
	}
	if host == "localhost" || slices.Contains(s.cfg.ctl.hosts, host) {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	// The address the connection came in on, as the client dialled it: an IP address
	// cannot be rebound to another machine as a name can.
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && sameHost(host, local.String()) {
		return true
	}
	s.mu.Lock()
	own := s.URL
	s.mu.Unlock()
	if own != "" {
		_, rest, _ := strings.Cut(own, "://")
		hostport, _, _ := strings.Cut(rest, "/")
		return sameHost(host, hostport)
	}
	return false
}

// sameHost reports whether the normalized host names the host of hostport.
func sameHost(host, hostport string) bool {
	other := normalHost(hostport)
	if other == "" {
		return false
	}
	if a, b := net.ParseIP(host), net.ParseIP(other); a != nil && b != nil {
		return a.Equal(b) && !b.IsUnspecified()
	}
	return host == other
}

// normalHost is the host of a Host header or a host:port, lower-cased, without brackets,
// port or trailing dot; "" when there is none.
func normalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

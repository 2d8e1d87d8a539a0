package atlastest_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestUnstartedServerServesOnTheListenerItIsGiven(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewUnstartedServer()
	t.Cleanup(srv.Close)
	assert.Empty(t, srv.URL, "not started")
	assert.Nil(t, srv.Client())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, srv.Listener.Close())
	srv.Listener = ln
	srv.Start()
	assert.Equal(t, "http://"+ln.Addr().String()+"/api/v1", srv.URL)
	admin(t, srv)
	assert.Nil(t, srv.Certificate(), "no TLS")
	assert.PanicsWithValue(t, "atlastest: Server already started or closed", srv.Start)
}

func TestServerOnEveryInterfaceGivesALoopbackURL(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewUnstartedServer()
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on every interface here: %v", err)
	}
	require.NoError(t, srv.Listener.Close())
	srv.Listener = ln
	srv.Start()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:"+port+"/api/v1", srv.URL)
	admin(t, srv)
}

func TestCloseAnUnstartedServer(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewUnstartedServer()
	addr := srv.Listener.Addr().String()
	srv.Close()
	srv.Close()
	_, err := net.Dial("tcp", addr)
	assert.Error(t, err, "Close closes the listener it opened")
	assert.Panics(t, srv.Start, "a closed server does not start")
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewUnstartedServer(atlastest.WithTLSHosts("atlas.test", "10.1.2.3"))
	t.Cleanup(srv.Close)
	srv.StartTLS()
	require.True(t, strings.HasPrefix(srv.URL, "https://127.0.0.1:"), srv.URL)

	// Client trusts the server, as httptest's does.
	admin(t, srv)

	ca := srv.Certificate()
	require.NotNil(t, ca)
	assert.True(t, ca.IsCA)

	// A client that trusts the CA and nothing else gets through, by any of the names.
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, name := range []string{"127.0.0.1", "localhost", "atlas.test", "10.1.2.3"} {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
		require.NoError(t, err, name)
		leaf := conn.ConnectionState().PeerCertificates[0]
		require.NoError(t, conn.Close())
		assert.False(t, leaf.IsCA, "the server's own certificate is not the CA")
	}
	_, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "elsewhere.test"})
	assert.Error(t, err, "a name the certificate does not have")

	// A client that does not trust it is refused.
	plain := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(plain.CloseIdleConnections)
	resp, err := plain.Get(srv.URL + "/auth/me")
	if err == nil {
		_ = resp.Body.Close()
	}
	var unknown x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &unknown), "%v", err)

	assert.Panics(t, srv.StartTLS, "started already")
}

func TestStartTLSUsesTheCertificateItIsGiven(t *testing.T) {
	t.Parallel()
	donor := atlastest.NewUnstartedServer()
	donor.StartTLS()
	cert := donor.TLS.Certificates[0]
	donor.Close()

	srv := atlastest.NewUnstartedServer()
	t.Cleanup(srv.Close)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	assert.Equal(t, cert.Certificate[0], srv.Certificate().Raw, "the certificate given, as httptest")
	admin(t, srv)
}

func TestHandlerMountsOnAnyMux(t *testing.T) {
	t.Parallel()
	srv := atlastest.NewUnstartedServer()
	t.Cleanup(srv.Close)

	mux := http.NewServeMux()
	mux.Handle("/api/v1/", srv.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)

	login, err := json.Marshal(map[string]string{"email": srv.Email(), "password": srv.Password()})
	require.NoError(t, err)
	resp, err := hs.Client().Post(hs.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(login))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Limit"), "the whole middleware chain runs")

	resp, err = hs.Client().Get(hs.URL + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, srv.Requests(), 1, "the request log sees what the handler served")
}

func TestSeedIsEveryAccessorInOneValue(t *testing.T) {
	t.Parallel()
	srv := newServer(t, atlastest.WithSecondCompany())
	seed := srv.Seed()
	assert.Equal(t, atlastest.Seed{
		Email: srv.Email(), Password: srv.Password(),
		ViewerEmail: srv.ViewerEmail(), ViewerPassword: srv.ViewerPassword(),
		CompanyID: srv.CompanyID(), SecondCompanyID: srv.SecondCompanyID(), HiddenCompanyID: srv.HiddenCompanyID(),
		WebhookSecret: srv.WebhookSecret(),
		Accounts:      seed.Accounts,
		CustomerIDs:   srv.CustomerIDs(), VendorIDs: srv.VendorIDs(),
	}, seed)
	require.Len(t, seed.Accounts, 14)
	for number, id := range seed.Accounts {
		assert.Equal(t, srv.AccountID(number), id, number)
	}
	assert.NotEmpty(t, seed.SecondCompanyID)

	seed.Accounts["1000"] = "changed"
	seed.CustomerIDs[0] = "changed"
	assert.NotEqual(t, "changed", srv.Seed().Accounts["1000"], "the caller's to change")
	assert.NotEqual(t, "changed", srv.Seed().CustomerIDs[0])
}

func TestLoggerLogsRequestsWithoutSecrets(t *testing.T) {
	t.Parallel()
	var out testkit.SyncBuffer
	srv := newServer(t, atlastest.WithLogger(slog.New(slog.NewJSONHandler(&out, nil))))
	c := admin(t, srv)
	srv.FailNext(1, http.StatusBadGateway, atlastest.Matching("GET /companies"))
	_, err := send(t, srv, c.newRequest(http.MethodGet, "/companies", ""))
	require.NoError(t, err)
	c.get("/contacts/customers?company_id=" + srv.CompanyID())
	srv.Close()

	type line struct {
		Msg    string `json:"msg"`
		Method string `json:"method"`
		Path   string `json:"path"`
		Query  string `json:"query"`
		Status int    `json:"status"`
		Fault  string `json:"fault"`
		ID     string `json:"request_id"`
	}
	var lines []line
	for _, raw := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l line
		require.NoError(t, json.Unmarshal([]byte(raw), &l), raw)
		lines = append(lines, l)
	}
	require.Len(t, lines, 3)
	assert.Equal(t, line{Msg: "atlastest: request", Method: "POST", Path: "/api/v1/auth/login", Status: 200, ID: lines[0].ID}, lines[0])
	assert.Equal(t, "fail", lines[1].Fault)
	assert.Equal(t, http.StatusBadGateway, lines[1].Status)
	assert.Equal(t, "company_id="+srv.CompanyID(), lines[2].Query)
	assert.NotContains(t, out.String(), srv.Password())
	assert.NotContains(t, out.String(), c.token)
	assert.NotContains(t, out.String(), "Bearer")
}

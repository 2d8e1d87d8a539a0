package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// binDir holds the programs the tests build, once for all of them.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atlastest-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var builds sync.Map // package path → func() (string, error)

// build compiles the package at pkg (a path relative to this directory) once and returns
// the program's path.
func build(t *testing.T, pkg string) string {
	t.Helper()
	once, _ := builds.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("the go command is needed to build %s: %w", pkg, err)
		}
		abs, err := filepath.Abs(pkg)
		if err != nil {
			return "", err
		}
		out := filepath.Join(binDir, filepath.Base(abs))
		if runtime.GOOS == "windows" {
			out += ".exe"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if msg, err := exec.CommandContext(ctx, goCmd, "build", "-o", out, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
		return out, nil
	}))
	bin, err := once.(func() (string, error))()
	require.NoError(t, err)
	return bin
}

// process is a running atlastest command.
type process struct {
	cmd    *exec.Cmd
	info   startup // what it printed
	line   []byte  // the JSON line it printed
	stderr *testkit.SyncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startCommand starts the command on 127.0.0.1:0 with -json and args, and returns once
// it has printed its JSON line: it serves from then on. The process is killed at the
// end of the test if it is still running.
func startCommand(t *testing.T, args ...string) *process {
	t.Helper()
	bin := build(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p := &process{stderr: &testkit.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0", "-json"}, args...)...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		cancel()
	})
	line, readErr := bufio.NewReader(stdout).ReadBytes('\n')
	go func() {
		_, _ = io.Copy(io.Discard, stdout) // nothing more is printed; let Wait finish
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	require.NoError(t, readErr, "the command printed no line; stderr:\n%s", p.stderr)
	require.NoError(t, json.Unmarshal(line, &p.info), "%s", line)
	p.line = line
	require.NotEmpty(t, p.info.URL)
	return p
}

// stop sends SIGTERM and returns the exit status.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	<-p.exited
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	require.NoError(t, p.err)
	return 0
}

// root is the server's address without the API's base path.
func (p *process) root() string { return strings.TrimSuffix(p.info.URL, "/api/v1") }

// api is a plain net/http client of the command, as a program in another language would
// be: no SDK.
type api struct {
	t     *testing.T
	hc    *http.Client
	token string
}

// call sends a request with a JSON body (nil for none) and decodes a JSON answer into out
// (when not nil). It returns the status.
func (a *api) call(method, url string, body, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(a.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(a.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" && !strings.Contains(url, atlastest.ControlPrefix) {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	require.NoError(a.t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(a.t, json.Unmarshal(raw, out), "%s %s: %s", method, url, raw)
	}
	return resp.StatusCode
}

// must is call that requires the status.
func (a *api) must(status int, method, url string, body, out any) {
	a.t.Helper()
	require.Equal(a.t, status, a.call(method, url, body, out), "%s %s", method, url)
}

// webhookReceiver is a receiver the test runs: it keeps what it was sent.
type webhookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	body      []byte
	signature string
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	rc := &webhookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{body, r.Header.Get("X-Atlas-Signature")})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *webhookReceiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// story drives a whole story through the command with plain HTTP: log in, create a
// customer and an invoice, send it, pay it, read the P&L; then through the control API: a
// webhook delivered to a receiver the test runs, a fault injected and seen, the clock
// advanced past the token's expiry and the 401. The command runs with -start
// 2026-03-16T09:30:00Z -frozen.
func story(t *testing.T, p *process, hc *http.Client) {
	a := &api{t: t, hc: hc}
	base, ctl, seed := p.info.URL, p.root()+"/_atlastest", p.info.Seed

	rc := newWebhookReceiver(t)
	var sub struct {
		ID string `json:"id"`
	}
	a.must(http.StatusCreated, http.MethodPost, ctl+"/subscriptions", map[string]any{"url": rc.URL}, &sub)
	require.NotEmpty(t, sub.ID)

	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		} `json:"tokens"`
	}
	a.must(http.StatusOK, http.MethodPost, base+"/auth/login", map[string]string{"email": seed.Email, "password": seed.Password}, &login)
	require.Equal(t, 3600, login.Tokens.ExpiresIn)
	a.token = login.Tokens.AccessToken

	inCompany := "?company_id=" + seed.CompanyID
	var customer struct {
		ID string `json:"id"`
	}
	a.must(http.StatusCreated, http.MethodPost, base+"/contacts/customers"+inCompany, map[string]any{"display_name": "Northwind Traders"}, &customer)
	var inv struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		TotalAmount string `json:"total_amount"`
		AmountDue   string `json:"amount_due"`
	}
	a.must(http.StatusCreated, http.MethodPost, base+"/invoices"+inCompany, map[string]any{
		"customer_id": customer.ID, "invoice_date": "2026-03-16",
		"lines": []map[string]any{{"description": "Audit", "quantity": "10", "unit_price": "150.00", "revenue_account_id": seed.Accounts["4000"], "tax_rate": "8.25"}},
	}, &inv)
	assert.Equal(t, "draft", inv.Status)
	assert.Equal(t, "1623.75", inv.TotalAmount)
	a.must(http.StatusOK, http.MethodPost, base+"/invoices/"+inv.ID+"/send", nil, &inv)
	assert.Equal(t, "sent", inv.Status)
	a.must(http.StatusCreated, http.MethodPost, base+"/payments"+inCompany, map[string]any{
		"customer_id": customer.ID, "payment_date": "2026-03-16", "amount": inv.AmountDue, "payment_method": "ach",
		"deposit_account_id": seed.Accounts["1000"],
		"applications":       []map[string]any{{"invoice_id": inv.ID, "amount_applied": inv.AmountDue}},
	}, nil)
	a.must(http.StatusOK, http.MethodGet, base+"/invoices/"+inv.ID, nil, &inv)
	assert.Equal(t, "paid", inv.Status)
	assert.Equal(t, "0.00", inv.AmountDue)
	var pl struct {
		NetIncome string `json:"net_income"`
		Revenue   struct {
			Total string `json:"total"`
		} `json:"revenue"`
	}
	a.must(http.StatusOK, http.MethodGet, base+"/reports/profit-loss"+inCompany+"&period_start=2026-01-01&period_end=2026-03-31", nil, &pl)
	assert.Equal(t, "1500.00", pl.Revenue.Total)
	assert.Equal(t, "1500.00", pl.NetIncome)

	// The webhooks of the story reached the receiver, in order, signed.
	var deliveries struct {
		Items []struct {
			Event string `json:"event"`
			OK    bool   `json:"ok"`
		} `json:"items"`
	}
	a.must(http.StatusOK, http.MethodPost, ctl+"/deliveries/wait", map[string]any{"timeout": "1m"}, &deliveries)
	want := []string{"invoice.created", "invoice.sent", "payment.received", "invoice.paid"}
	require.Len(t, deliveries.Items, len(want))
	got := rc.received()
	require.Len(t, got, len(want))
	for i, d := range got {
		var ev struct {
			Event string `json:"event"`
		}
		require.NoError(t, json.Unmarshal(d.body, &ev))
		assert.Equal(t, want[i], ev.Event)
		assert.True(t, deliveries.Items[i].OK)
		mac := hmac.New(sha256.New, []byte(seed.WebhookSecret))
		mac.Write(d.body)
		assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), d.signature, "signed with the printed secret")
	}

	// A fault injected through the control API, seen by the client and in the request log.
	a.must(http.StatusNoContent, http.MethodPost, ctl+"/faults", map[string]any{"kind": "fail", "status": 503, "matching": "GET /companies"}, nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.call(http.MethodGet, base+"/companies", nil, nil))
	assert.Equal(t, http.StatusOK, a.call(http.MethodGet, base+"/companies", nil, nil), "one request")
	var log struct {
		Items []struct {
			Path   string `json:"path"`
			Status int    `json:"status"`
			Fault  string `json:"fault"`
		} `json:"items"`
	}
	a.must(http.StatusOK, http.MethodGet, ctl+"/requests", nil, &log)
	require.GreaterOrEqual(t, len(log.Items), 2)
	failed := log.Items[len(log.Items)-2]
	assert.Equal(t, "/companies", failed.Path)
	assert.Equal(t, "fail", failed.Fault)
	assert.Equal(t, http.StatusServiceUnavailable, failed.Status)

	// The clock moves past the token's hour, and the token is refused.
	assert.Equal(t, http.StatusOK, a.call(http.MethodGet, base+"/auth/me", nil, nil))
	var now struct {
		Now time.Time `json:"now"`
	}
	a.must(http.StatusOK, http.MethodPost, ctl+"/clock/advance", map[string]string{"duration": "61m"}, &now)
	assert.Equal(t, time.Date(2026, 3, 16, 10, 31, 0, 0, time.UTC), now.Now, "the frozen clock moved by the advance alone")
	assert.Equal(t, http.StatusUnauthorized, a.call(http.MethodGet, base+"/auth/me", nil, nil))
}

// checkLog checks what the command logged: the requests, and no secret.
func checkLog(t *testing.T, p *process) {
	t.Helper()
	log := p.stderr.String()
	assert.Contains(t, log, `msg="atlastest: request" method=POST path=/api/v1/auth/login status=200`)
	assert.Contains(t, log, "atlastest: stopped")
	assert.NotContains(t, log, p.info.Seed.Password)
	assert.NotContains(t, log, "atk_", "no access token")
	assert.NotContains(t, log, p.info.Seed.WebhookSecret)
}

func skipWithoutSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
}

func TestCommandOverHTTP(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	p := startCommand(t, "-start", "2026-03-16T09:30:00Z", "-frozen")
	require.True(t, strings.HasPrefix(p.info.URL, "http://127.0.0.1:"), p.info.URL)
	assert.Empty(t, p.info.CAFile)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	story(t, p, hc)
	assert.Equal(t, 0, p.stop(t), "SIGTERM ends it cleanly")
	checkLog(t, p)
}

func TestCommandOverTLS(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	p := startCommand(t, "-start", "2026-03-16T09:30:00Z", "-frozen", "-tls", "-tls-ca", caFile, "-tls-host", "atlas.test")
	require.True(t, strings.HasPrefix(p.info.URL, "https://127.0.0.1:"), p.info.URL)
	assert.Equal(t, caFile, p.info.CAFile)

	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem), "the CA file holds a PEM certificate")

	// Without the CA, the server is not trusted.
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	resp, err := plain.Get(p.info.URL + "/auth/me")
	if err == nil {
		_ = resp.Body.Close()
	}
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	story(t, p, hc)

	// The certificate names the host given with -tls-host.
	_, port, err := net.SplitHostPort(strings.TrimPrefix(p.root(), "https://"))
	require.NoError(t, err)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "atlas.test"})
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	assert.Equal(t, 0, p.stop(t))
	checkLog(t, p)
	assert.FileExists(t, caFile, "a CA file named with -tls-ca is the caller's to keep")
}

func TestCommandRemovesTheCAFileItChose(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	p := startCommand(t, "-tls")
	require.NotEmpty(t, p.info.CAFile)
	assert.FileExists(t, p.info.CAFile)
	assert.Equal(t, 0, p.stop(t))
	assert.NoFileExists(t, p.info.CAFile)
}

// A run saves its state on exit, and the next starts from it: same credentials, same
// records.
func TestCommandStateAcrossRuns(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	first := startCommand(t, "-second-company", "-invoices", "5", "-save-state", state)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	a := &api{t: t, hc: hc}
	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	a.must(http.StatusOK, http.MethodPost, first.info.URL+"/auth/login", map[string]string{"email": first.info.Seed.Email, "password": first.info.Seed.Password}, &login)
	a.token = login.Tokens.AccessToken
	a.must(http.StatusCreated, http.MethodPost, first.info.URL+"/contacts/customers?company_id="+first.info.Seed.CompanyID, map[string]any{"display_name": "Kept"}, nil)
	type page struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	var before page
	a.must(http.StatusOK, http.MethodGet, first.info.URL+"/contacts/customers?company_id="+first.info.Seed.CompanyID, nil, &before)
	require.Equal(t, 4, before.Total)
	require.Equal(t, 0, first.stop(t))
	require.FileExists(t, state)
	assert.Contains(t, first.stderr.String(), "atlastest: state saved")

	second := startCommand(t, "-state", state)
	assert.Equal(t, first.info.Seed, second.info.Seed, "the same credentials and ids")
	a.token = ""
	a.must(http.StatusOK, http.MethodPost, second.info.URL+"/auth/login", map[string]string{"email": first.info.Seed.Email, "password": first.info.Seed.Password}, &login)
	a.token = login.Tokens.AccessToken
	var after page
	a.must(http.StatusOK, http.MethodGet, second.info.URL+"/contacts/customers?company_id="+first.info.Seed.CompanyID, nil, &after)
	assert.Equal(t, before, after)
	var invoices page
	a.must(http.StatusOK, http.MethodGet, second.info.URL+"/invoices?company_id="+first.info.Seed.CompanyID, nil, &invoices)
	assert.Equal(t, 5, invoices.Total)
	assert.Equal(t, 0, second.stop(t))
}

// TestQuickstartAgainstTheCommand runs examples/quickstart against the command's URL, as a
// user runs it against their account: through ATLAS_BASE_URL, ATLAS_EMAIL and
// ATLAS_PASSWORD, over plain HTTP on loopback (which the SDK allows without
// WithInsecureHTTP) and over TLS with the command's CA in SSL_CERT_FILE.
func TestQuickstartAgainstTheCommand(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	quickstart := build(t, "../../examples/quickstart")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"http", nil},
		{"tls", []string{"-tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "tls" && runtime.GOOS != "linux" {
				t.Skip("SSL_CERT_FILE adds to the system roots on Linux")
			}
			p := startCommand(t, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, quickstart)
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "ATLAS_") || strings.HasPrefix(kv, "SSL_CERT_")
			}), "ATLAS_BASE_URL="+p.info.URL, "ATLAS_EMAIL="+p.info.Seed.Email, "ATLAS_PASSWORD="+p.info.Seed.Password)
			if p.info.CAFile != "" {
				cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+p.info.CAFile)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Run(), "quickstart failed\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			out := stdout.String()
			first, _, _ := strings.Cut(out, "\n")
			assert.Equal(t, "Using the Atlas API at "+p.info.URL+" as "+p.info.Seed.Email+".", first)
			assert.Contains(t, out, "(invoice paid, 0.00 USD due)")
			assert.Regexp(t, `Balanced +true`, out)
			assert.NotContains(t, out+stderr.String(), p.info.Seed.Password)

			assert.Equal(t, 0, p.stop(t))
			assert.Contains(t, p.stderr.String(), "path=/api/v1/payments", "the quickstart's requests reached the command")
		})
	}
}

func TestBadFlagsExitWithStatus2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	emptyToken, spacedToken := filepath.Join(dir, "empty"), filepath.Join(dir, "spaced")
	require.NoError(t, os.WriteFile(emptyToken, []byte("\n"), 0o600))
	require.NoError(t, os.WriteFile(spacedToken, []byte("secret-part other-part\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tier", "gold"}, `-tier: unknown tier "gold" (standard, professional or enterprise)`},
		{[]string{"-tier", "standard", "-limit", "10"}, "-tier and -limit: give one plan"},
		{[]string{"-limit", "0"}, "-limit, -burst, -window: limit 0 is not positive"},
		{[]string{"-limit", "10", "-burst", "-1"}, "-limit, -burst, -window: burst -1 is negative"},
		{[]string{"-tier", "standard", "-window", "-1s"}, "-tier: window -1s is negative"},
		{[]string{"-burst", "5"}, "-burst and -window need -limit or -tier"},
		{[]string{"-token-lifetime", "0s"}, "-token-lifetime: lifetime 0s is not positive"},
		{[]string{"-token-lifetime", "soon"}, `invalid value "soon" for flag -token-lifetime`},
		{[]string{"-invoices", "-3"}, "-invoices: -3 invoices is negative"},
		{[]string{"-chaos-fail", "2"}, "-chaos-*: rate 2 is not between 0 and 1"},
		{[]string{"-chaos-fail", "0.6", "-chaos-drop", "0.6"}, "-chaos-*: the fail, drop and slow rates add up to"},
		{[]string{"-chaos-fail", "0.1", "-chaos-statuses", "200"}, "-chaos-*: fail status 200 is not an error status"},
		{[]string{"-chaos-fail", "0.1", "-chaos-statuses", "5xx"}, `-chaos-statuses: "5xx" is not a status`},
		{[]string{"-chaos-fail", "0.1", "-chaos-match", "GET /x/{"}, "-chaos-*: Matching"},
		{[]string{"-chaos-seed", "7"}, "need -chaos-fail, -chaos-drop or -chaos-slow"},
		{[]string{"-latency", "-1s"}, "-latency: -1s is negative"},
		{[]string{"-webhook", "ftp://example.com/x"}, `-webhook "ftp://example.com/x": not an absolute http or https URL`},
		{[]string{"-webhook", "http://127.0.0.1:9/x", "-webhook-events", "invoice.lost"}, `-webhook-events: "invoice.lost" is not one of`},
		{[]string{"-webhook-events", "invoice.paid"}, "-webhook-events needs -webhook"},
		{[]string{"-webhook-attempts", "0"}, "-webhook-attempts, -webhook-backoff: 0 attempts; at least 1 is needed"},
		{[]string{"-start", "tomorrow"}, `-start: "tomorrow" is neither RFC 3339`},
		{[]string{"-tls-ca", "ca.pem"}, "-tls-ca and -tls-host need -tls"},
		{[]string{"-state", missing}, "-state: open " + missing},
		{[]string{"-state", missing, "-invoices", "3"}, "-state: the state replaces the seed"},
		{[]string{"-log-format", "xml"}, `-log-format: "xml" is not text or json`},
		{[]string{"-log-level", "loud"}, `-log-level: "loud" is not debug, info, warn or error`},
		{[]string{"-request-log", "-1"}, "-request-log: -1 requests is negative"},
		{[]string{"-addr", "nowhere"}, `-addr "nowhere"`},
		{[]string{"-addr", ":0"}, `-addr ":0" listens beyond this machine's loopback interface`},
		{[]string{"-addr", "0.0.0.0:8080"}, "give -control-token TOKEN"},
		{[]string{"-addr", "[::]:8080"}, "or -control-open"},
		{[]string{"-addr", "atlastest:8080"}, "listens beyond this machine's loopback interface"},
		{[]string{"-control-token", ""}, "-control-token: the token is empty"},
		{[]string{"-control-token", "two words"}, "-control-token: the token has a character"},
		{[]string{"-control-token", "t", "-control-token-file", spacedToken}, "-control-token and -control-token-file: give the token one way"},
		{[]string{"-control-token-file", missing}, "-control-token-file: open " + missing},
		{[]string{"-addr", "0.0.0.0:8080", "-control-token-file", emptyToken}, "-control-token-file: the token is empty"},
		{[]string{"-control-token-file", spacedToken}, "-control-token-file: the token has a character"},
		{[]string{"-control-token-file", "/dev/zero"}, "-control-token-file: /dev/zero holds more than 4096 bytes: not a token"},
		{[]string{"-control-host", "atlastest:8080"}, `-control-host: "atlastest:8080" has a port`},
		{[]string{"-control-max-body", "lots"}, `-control-max-body: "lots" is not a positive size`},
		{[]string{"-control-max-body", "0"}, `-control-max-body: "0" is not a positive size`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve"}, `unexpected argument "serve"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var code int
			require.NotPanics(t, func() { code = run(context.Background(), tc.args, &stdout, &stderr) })
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr.String(), tc.want)
			assert.NotContains(t, stderr.String(), "secret-part", "a token file's content is never printed")
			assert.Empty(t, stdout.String(), "nothing on stdout: no server started")
		})
	}
}

func TestSeveralBadFlagsAreReportedTogether(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-tier", "gold", "-invoices", "-1", "-latency", "-1s"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	assert.Equal(t, []string{
		`atlastest: -tier: unknown tier "gold" (standard, professional or enterprise)`,
		"atlastest: -invoices: -1 invoices is negative",
		"atlastest: -latency: -1s is negative",
		"Run atlastest -h for the flags.",
	}, lines)
}

func TestHelpExitsWithStatus0(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitOK, run(context.Background(), []string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "Usage: atlastest [flags]")
	assert.Contains(t, stderr.String(), "-tls-ca")
}

func TestAnAddressInUseExitsWithStatus1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ln.Close()) })
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitError, run(context.Background(), []string{"-addr", ln.Addr().String()}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "address already in use")
}

// run serves until its context ends, in-process too, and says so on stdout first.
func TestRunServesUntilItsContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-json", "-log-format", "json", "-webhook", "http://127.0.0.1:9/hooks", "-webhook-events", "invoice.paid"}, pw, &stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadBytes('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var info startup
	require.NoError(t, json.Unmarshal(line, &info))
	require.Len(t, info.Subscriptions, 1)
	assert.Equal(t, "http://127.0.0.1:9/hooks", info.Subscriptions[0].URL)
	assert.Equal(t, info.ControlURL, strings.TrimSuffix(info.URL, "/api/v1")+"/_atlastest/")

	resp, err := http.Get(info.ControlURL + "seed")
	require.NoError(t, err)
	var seed atlastest.Seed
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&seed))
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, info.Seed, seed)
	http.DefaultClient.CloseIdleConnections()

	cancel()
	assert.Equal(t, exitOK, <-done)
	var last map[string]any
	logLines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.NoError(t, json.Unmarshal([]byte(logLines[len(logLines)-1]), &last), "-log-format json")
	assert.Equal(t, "atlastest: stopped", last["msg"])
}

func TestStartupPrintsForPeople(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, startup{
		URL: "http://127.0.0.1:8080/api/v1", ControlURL: "http://127.0.0.1:8080/_atlastest/", CAFile: "/tmp/ca.pem",
		Seed: atlastest.Seed{Email: "admin@acme.example.com", Password: "pw-1", CompanyID: "c1", SecondCompanyID: "c2", HiddenCompanyID: "c3", WebhookSecret: "whsec_1"},
	}.print(&buf))
	out := buf.String()
	for _, want := range []string{"http://127.0.0.1:8080/api/v1", "admin@acme.example.com", "pw-1", "c1", "c2", "c3", "whsec_1", "/tmp/ca.pem", "/_atlastest/seed"} {
		assert.Contains(t, out, want)
	}
}

// failingWriter fails its first write and takes every later one, as a pipe whose reader
// comes and goes would: the startup text must not be reported written when part of it
// was lost.
type failingWriter struct {
	failed bool
	buf    bytes.Buffer
}

var errWrite = errors.New("write failed")

func (w *failingWriter) Write(p []byte) (int, error) {
	if !w.failed {
		w.failed = true
		return 0, errWrite
	}
	return w.buf.Write(p)
}

func TestStartupPrintReportsALostWrite(t *testing.T) {
	t.Parallel()
	var w failingWriter
	err := startup{URL: "http://127.0.0.1:8080/api/v1", ControlURL: "http://127.0.0.1:8080/_atlastest/"}.print(&w)
	require.ErrorIs(t, err, errWrite)
	assert.NotContains(t, w.buf.String(), "Seeded ids", "nothing is written after the first failure")
}

// A stdout that cannot be written ends the command with status 1 before it serves.
func TestAStdoutThatFailsExitsWithStatus1(t *testing.T) {
	t.Parallel()
	var stdout failingWriter
	var stderr testkit.SyncBuffer
	// The context has ended already: a run that missed the failure would serve, stop at
	// once and exit 0.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, exitError, run(ctx, []string{"-log-level", "error"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "atlastest: write to stdout: write failed")
}

func TestSaveStateLeavesNoTemporaryFileWhenItFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A directory that is not empty cannot be replaced by the state file.
	path := filepath.Join(dir, "state.json")
	require.NoError(t, os.MkdirAll(filepath.Join(path, "in-the-way"), 0o755))
	srv := atlastest.NewServer()
	t.Cleanup(srv.Close)

	err := saveState(srv, path)
	require.Error(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory in the way: %v", entries)
	assert.Equal(t, "state.json", entries[0].Name())
}

// A temporary CA file the command cannot remove on exit is reported, not dropped in
// silence; the exit status stays 0, as the server ran and stopped cleanly.
func TestCommandReportsACAFileItCannotRemove(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	p := startCommand(t, "-tls")
	require.NotEmpty(t, p.info.CAFile)
	// A directory that is not empty, where the file was, cannot be removed.
	require.NoError(t, os.Remove(p.info.CAFile))
	require.NoError(t, os.MkdirAll(filepath.Join(p.info.CAFile, "in-the-way"), 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(p.info.CAFile) })

	assert.Equal(t, 0, p.stop(t))
	assert.Contains(t, p.stderr.String(), "atlastest: remove the CA certificate")
}

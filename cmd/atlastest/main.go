// Command atlastest serves atlastest, the SDK's fake Atlas Accounting API, as a process:
// for tests in any language, docker-compose stacks, shell scripts and the processes of a
// replicated service, which all share one fake Atlas.
//
// Build it, then run the binary:
//
//	go build -o atlastest ./cmd/atlastest   # in a clone; or: go install github.com/atlas-accounting/atlas-go/cmd/atlastest@latest
//	./atlastest -addr 127.0.0.1:8080
//
// (go run does not pass SIGTERM on to the program it runs, so the server would neither
// stop cleanly nor save -save-state.)
//
// It prints the API's URL, the seeded credentials, company ids and webhook secret (with
// -json, as one JSON line), then serves until SIGINT or SIGTERM, logging every request to
// stderr (never a credential). Beside the API, under /_atlastest/, it serves the control
// API described in api/atlastest-control.yaml: the clock, faults, the request log, webhook
// subscriptions and deliveries, the state. The control API answers requests to a loopback
// address or name (and the hosts of -control-host), never a browser's cross-site request,
// and bodies up to -control-max-body. An -addr beyond loopback (":8080", "0.0.0.0:8080")
// needs -control-token (or -control-token-file, whose content ps does not show), which
// control requests then carry as a bearer token, or -control-open to serve the control API
// to whoever can reach it.
//
// Flags set what atlastest's options set: the plan (-tier, or -limit, -burst and -window),
// token lifetimes, seeded invoices, a second company, chaos, latency, webhook
// subscriptions, the start time, TLS with a certificate of its own (-tls; the CA it signs
// with is written to -tls-ca), and a state to start from and one to save on exit. A flag
// with a value it cannot use is an error: the command says which and exits with status 2.
// Run it with -h for the list.
package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the server could not start or its state could not be saved
	exitUsage = 2 // a flag has a value the command cannot use
)

// config is what the flags ask for.
type config struct {
	addr          string
	jsonOut       bool
	opts          []atlastest.Option
	webhooks      []string
	webhookEvents []string
	latency       time.Duration
	tls           bool
	caFile        string
	saveState     string
	logger        *slog.Logger
	open          bool // -addr listens beyond loopback
	tokenSet      bool // -control-token was given
}

// run is the command: it returns the exit status once ctx ends (a signal) or the server
// cannot start. Output for people and programs goes to stdout, the log to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			complain(stderr, "atlastest:", line)
		}
		complain(stderr, "Run atlastest -h for the flags.")
		return exitUsage
	}
	log := cfg.logger

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		complain(stderr, "atlastest:", err)
		return exitError
	}
	srv := atlastest.NewUnstartedServer(cfg.opts...) // parseFlags checked every option
	_ = srv.Listener.Close()
	srv.Listener = ln

	var caFile string
	if cfg.tls {
		srv.StartTLS()
		caFile, err = writeCA(cfg.caFile, srv.Certificate().Raw)
		if err != nil {
			srv.Close()
			complain(stderr, "atlastest: write the CA certificate:", err)
			return exitError
		}
		if cfg.caFile == "" {
			defer func() {
				if err := os.Remove(caFile); err != nil {
					log.Warn("atlastest: remove the CA certificate", "file", caFile, "err", err)
				}
			}()
		}
	} else {
		srv.Start()
	}
	if cfg.latency > 0 {
		srv.SetLatency(cfg.latency)
	}
	subs := []subscription{} // [] in the JSON line, not null
	for _, u := range cfg.webhooks {
		subs = append(subs, subscription{ID: srv.Subscribe(u, cfg.webhookEvents...), URL: u})
	}

	root := strings.TrimSuffix(srv.URL, "/api/v1")
	out := startup{URL: srv.URL, ControlURL: root + atlastest.ControlPrefix, CAFile: caFile, Seed: srv.Seed(), Subscriptions: subs}
	if cfg.jsonOut {
		err = json.NewEncoder(stdout).Encode(out)
	} else {
		err = out.print(stdout)
	}
	if err != nil {
		srv.Close()
		complain(stderr, "atlastest: write to stdout:", err)
		return exitError
	}
	log.Info("atlastest: serving", "url", srv.URL, "control", out.ControlURL, "tls", cfg.tls)
	if cfg.open && !cfg.tokenSet {
		log.Warn("atlastest: the control API is open to anyone who can reach " + cfg.addr + " (-control-open): they can read the seeded passwords")
	}

	<-ctx.Done()
	log.Info("atlastest: stopping")
	srv.Close()
	if cfg.saveState != "" {
		if err := saveState(srv, cfg.saveState); err != nil {
			complain(stderr, "atlastest: save the state:", err)
			return exitError
		}
		log.Info("atlastest: state saved", "file", cfg.saveState)
	}
	log.Info("atlastest: stopped")
	return exitOK
}

// complain writes a line for the person at the terminal to stderr. When stderr itself
// cannot be written there is nobody left to tell, so that error goes nowhere.
func complain(stderr io.Writer, a ...any) {
	_, _ = fmt.Fprintln(stderr, a...)
}

// subscription is a webhook subscription made from -webhook.
type subscription struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// startup is what the command prints once it serves.
type startup struct {
	URL           string         `json:"url"`
	ControlURL    string         `json:"control_url"`
	CAFile        string         `json:"ca_file"`
	Seed          atlastest.Seed `json:"seed"`
	Subscriptions []subscription `json:"subscriptions"`
}

// print writes the startup information for a person. The first write that fails ends it
// and is its error.
func (s startup) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := &printer{w: tw}
	p.printf("atlastest: a fake Atlas API at %s\n", s.URL)
	p.printf("  control API\t%s (api/atlastest-control.yaml)\n", s.ControlURL)
	p.printf("  admin\t%s\t%s\n", s.Seed.Email, s.Seed.Password)
	p.printf("  viewer\t%s\t%s\n", s.Seed.ViewerEmail, s.Seed.ViewerPassword)
	p.printf("  company\t%s\n", s.Seed.CompanyID)
	if s.Seed.SecondCompanyID != "" {
		p.printf("  second company\t%s\n", s.Seed.SecondCompanyID)
		p.printf("  hidden company\t%s\n", s.Seed.HiddenCompanyID)
	}
	p.printf("  webhook secret\t%s\n", s.Seed.WebhookSecret)
	if s.CAFile != "" {
		p.printf("  CA certificate\t%s\n", s.CAFile)
	}
	for _, sub := range s.Subscriptions {
		p.printf("  webhooks to\t%s\t(subscription %s)\n", sub.URL, sub.ID)
	}
	p.printf("Seeded ids: GET %sseed. Stop with Ctrl-C.\n", s.ControlURL)
	if p.err != nil {
		return p.err
	}
	return tw.Flush()
}

// printer writes formatted text to w until a write fails, and keeps that first error:
// the tabwriter passes on a line as soon as it can, so any write may be the one that
// fails.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// writeCA writes the CA certificate as PEM to path, or to a new temporary file when path
// is "", and returns the file's name.
func writeCA(path string, der []byte) (string, error) {
	var f *os.File
	var err error
	if path == "" {
		f, err = os.CreateTemp("", "atlastest-ca-*.pem")
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	if err != nil {
		return "", err
	}
	err = pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return filepath.Abs(f.Name())
}

// saveState writes the server's state to path through a temporary file beside it, so
// that path is never half written.
func saveState(srv *atlastest.Server, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".atlastest-state-*.json")
	if err != nil {
		return err
	}
	err = srv.SaveState(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		// The temporary file must not stay behind; if it does, the error says so too.
		return errors.Join(err, os.Remove(f.Name()))
	}
	return nil
}

// listFlag is a flag that may be given several times, each a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatFlag is a flag that may be given several times, each a single value.
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " ") }

func (r *repeatFlag) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// maxTokenFile is the most a -control-token-file may hold: a token is far
// shorter, and a path such as /dev/zero must not be read for ever.
const maxTokenFile = 4 << 10

// readTokenFile returns the content of the file at path less a final newline
// (\n or \r\n), as a token; errors never quote the content.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("%s holds more than %d bytes: not a token", path, maxTokenFile)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}

// eventTypes are the webhook event types of the contract.
var eventTypes = []string{"invoice.created", "invoice.sent", "invoice.paid", "bill.approved", "payment.received", "period.closed"}

// parseFlags reads the flags into a config, checking every value: an error names the flag.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("atlastest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		complain(fs.Output(), "Usage: atlastest [flags]\n\nServes the SDK's fake Atlas API (package atlastest) and its control API under /_atlastest/.\n\nFlags:")
		fs.PrintDefaults()
	}
	var (
		cfg            config
		tier           = fs.String("tier", "", "enforce a plan's rate limits: standard, professional or enterprise")
		limit          = fs.Int("limit", 0, "enforce this many requests per window and user (a plan of your own, instead of -tier)")
		burst          = fs.Int("burst", 0, "with -limit: the burst, a token bucket refilled at the limit's rate (0: no burst rule)")
		window         = fs.Duration("window", time.Minute, "with -tier or -limit: the rate-limit window")
		tokenLife      = fs.Duration("token-lifetime", time.Hour, "how long an access token is valid")
		refreshLife    = fs.Duration("refresh-lifetime", 30*24*time.Hour, "how long a refresh token is valid")
		invoices       = fs.Int("invoices", 0, "seed this many invoices in the main company")
		second         = fs.Bool("second-company", false, "seed a second company the admin can access, and one nobody can")
		chaosFail      = fs.Float64("chaos-fail", 0, "fail this fraction of requests (0 to 1) with a 5xx")
		chaosDrop      = fs.Float64("chaos-drop", 0, "drop the connection of this fraction of requests")
		chaosSlow      = fs.Float64("chaos-slow", 0, "slow this fraction of requests down by -chaos-slow-delay")
		chaosSlowDelay = fs.Duration("chaos-slow-delay", time.Second, "how long -chaos-slow holds a request")
		chaosAfter     = fs.Float64("chaos-after", 0, "the fraction of chaos faults that come after the request was handled")
		chaosSeed      = fs.Uint64("chaos-seed", 1, "the seed of the chaos: the same seed, the same sequence of faults")
		chaosStatuses  listFlag
		chaosMatch     = fs.String("chaos-match", "", `only requests this ServeMux pattern matches get chaos ("POST /invoices")`)
		attempts       = fs.Int("webhook-attempts", 5, "attempts to deliver each webhook event")
		backoff        = fs.Duration("webhook-backoff", 10*time.Millisecond, "the wait before a webhook's second attempt, doubling after")
		start          = fs.String("start", "", "the server's time at start: RFC 3339 (2026-01-15T09:00:00Z) or a date (2026-01-15); default now")
		frozen         = fs.Bool("frozen", false, "the clock moves only when the control API advances it")
		requestLog     = fs.Int("request-log", 10000, "requests the request log keeps")
		tlsHosts       listFlag
		state          = fs.String("state", "", "start from the state in this JSON file (see -save-state) instead of the seed")
		logFormat      = fs.String("log-format", "text", "the log's format on stderr: text or json")
		logLevel       = fs.String("log-level", "info", "the least level logged: debug, info (every request), warn or error")
		webhooks       repeatFlag
	)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "the address to listen on (port 0: a free port; the printed URL says which)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the URL, credentials and ids as one JSON line")
	fs.Var(&chaosStatuses, "chaos-statuses", "the statuses of -chaos-fail, comma-separated (default 500,502,503,504)")
	fs.DurationVar(&cfg.latency, "latency", 0, "make every request wait this long")
	fs.Var(&webhooks, "webhook", "send webhook events to this URL (repeat for more)")
	fs.Var((*listFlag)(&cfg.webhookEvents), "webhook-events", "the event types -webhook sends, comma-separated (default all six)")
	fs.BoolVar(&cfg.tls, "tls", false, "serve https with a certificate signed by a CA made for this run (see -tls-ca)")
	fs.StringVar(&cfg.caFile, "tls-ca", "", "with -tls: write the CA certificate (PEM) to this file (default a temporary file, removed on exit)")
	fs.Var(&tlsHosts, "tls-host", "with -tls: more host names or IPs for the certificate, comma-separated")
	fs.StringVar(&cfg.saveState, "save-state", "", "on exit, save the state as JSON to this file (for -state)")
	var (
		controlHosts listFlag
		controlToken = fs.String("control-token", "", "every control request must carry this token: Authorization: Bearer TOKEN (needed with an -addr beyond loopback, unless -control-open); ps shows it to every user of the machine, -control-token-file does not")
		tokenFile    = fs.String("control-token-file", "", "-control-token read from this file (its content, a final newline left out), such as a docker-compose secret")
		controlOpen  = fs.Bool("control-open", false, "serve the control API (seeded passwords included) on an -addr beyond loopback without -control-token")
		controlBody  = fs.String("control-max-body", "32MiB", "the largest control request body, such as a state for PUT /_atlastest/state: bytes, or with KiB, MiB or GiB")
	)
	fs.Var(&controlHosts, "control-host", "more Host names the control API answers besides loopback ones, such as a docker-compose service name, comma-separated")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: atlastest takes only flags", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// opt adds an option, or the reason it cannot be used, named by the flags it came from.
	opt := func(flags string, o atlastest.Option) {
		var oe *atlastest.OptionError
		if err := atlastest.Validate(o); errors.As(err, &oe) {
			bad("%s: %s", flags, oe.Reason)
			return
		} else if err != nil {
			bad("%s: %v", flags, err)
			return
		}
		cfg.opts = append(cfg.opts, o)
	}

	// The token comes from the flag or from a file, under the name of the flag
	// that gave it.
	token, tokenFlag := *controlToken, ""
	switch {
	case set["control-token"] && set["control-token-file"]:
		bad("-control-token and -control-token-file: give the token one way")
	case set["control-token"]:
		tokenFlag = "-control-token"
	case set["control-token-file"]:
		if t, err := readTokenFile(*tokenFile); err != nil {
			bad("-control-token-file: %v", err)
		} else {
			token, tokenFlag = t, "-control-token-file"
		}
	}
	if host, _, err := net.SplitHostPort(cfg.addr); err != nil {
		bad("-addr %q: %v", cfg.addr, err)
	} else if !isLoopback(host) {
		cfg.open = true
		if token == "" && !set["control-token-file"] && !*controlOpen {
			bad("-addr %q listens beyond this machine's loopback interface, where anyone who can reach it could read the seeded passwords and drive the fake through the control API: give -control-token TOKEN or -control-token-file FILE (control requests then send Authorization: Bearer TOKEN), or -control-open to serve it to them all the same", cfg.addr)
		}
	}
	if tokenFlag != "" {
		cfg.tokenSet = true
		opt(tokenFlag, atlastest.WithControlToken(token))
	}
	if len(controlHosts) > 0 {
		opt("-control-host", atlastest.WithControlHosts(controlHosts...))
	}
	if n, err := parseSize(*controlBody); err != nil {
		bad("-control-max-body: %v", err)
	} else {
		opt("-control-max-body", atlastest.WithControlBodyLimit(n))
	}
	switch {
	case set["tier"] && set["limit"]:
		bad("-tier and -limit: give one plan, a tier or a limit")
	case set["tier"]:
		opt("-tier", atlastest.WithPlan(atlastest.Tier(*tier), *window))
	case set["limit"]:
		opt("-limit, -burst, -window", atlastest.WithPlanLimits(*limit, *burst, *window))
	case set["burst"] || set["window"]:
		bad("-burst and -window need -limit or -tier")
	}
	if set["burst"] && set["tier"] {
		bad("-burst goes with -limit; a tier has its own burst")
	}
	opt("-token-lifetime", atlastest.WithTokenLifetime(*tokenLife))
	opt("-refresh-lifetime", atlastest.WithRefreshTokenLifetime(*refreshLife))
	if *state != "" {
		if set["invoices"] || *second {
			bad("-state: the state replaces the seed that -invoices and -second-company change")
		} else {
			opt("-state", atlastest.WithState(*state))
		}
	} else {
		opt("-invoices", atlastest.WithInvoices(*invoices))
		if *second {
			cfg.opts = append(cfg.opts, atlastest.WithSecondCompany())
		}
	}
	if set["chaos-fail"] || set["chaos-drop"] || set["chaos-slow"] {
		var statuses []int
		for _, s := range chaosStatuses {
			n, err := strconv.Atoi(s)
			if err != nil {
				bad("-chaos-statuses: %q is not a status", s)
			}
			statuses = append(statuses, n)
		}
		opt("-chaos-*", atlastest.WithChaos(atlastest.Chaos{
			Seed: *chaosSeed, FailRate: *chaosFail, DropRate: *chaosDrop, SlowRate: *chaosSlow, SlowDelay: *chaosSlowDelay,
			AfterHandlerRate: *chaosAfter, FailStatuses: statuses, Matching: *chaosMatch,
		}))
	} else if set["chaos-statuses"] || set["chaos-match"] || set["chaos-after"] || set["chaos-slow-delay"] || set["chaos-seed"] {
		bad("-chaos-statuses, -chaos-match, -chaos-after, -chaos-slow-delay and -chaos-seed need -chaos-fail, -chaos-drop or -chaos-slow")
	}
	opt("-webhook-attempts, -webhook-backoff", atlastest.WithWebhookRetry(*attempts, *backoff))
	opt("-request-log", atlastest.WithRequestLog(*requestLog))
	if cfg.latency < 0 {
		bad("-latency: %v is negative", cfg.latency)
	}
	for _, w := range webhooks {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("-webhook %q: not an absolute http or https URL", w)
		}
	}
	for _, e := range cfg.webhookEvents {
		if !slices.Contains(eventTypes, e) {
			bad("-webhook-events: %q is not one of %s", e, strings.Join(eventTypes, ", "))
		}
	}
	if len(cfg.webhookEvents) > 0 && len(webhooks) == 0 {
		bad("-webhook-events needs -webhook")
	}
	cfg.webhooks = webhooks

	clock, err := clockFor(*start, *frozen)
	if err != nil {
		bad("-start: %v", err)
	} else if clock != nil {
		opt("-start, -frozen", atlastest.WithClock(clock))
	}
	if !cfg.tls && (cfg.caFile != "" || len(tlsHosts) > 0) {
		bad("-tls-ca and -tls-host need -tls")
	}
	if len(tlsHosts) > 0 {
		opt("-tls-host", atlastest.WithTLSHosts(tlsHosts...))
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		bad("-log-level: %q is not debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch *logFormat {
	case "text":
		cfg.logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		cfg.logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		bad("-log-format: %q is not text or json", *logFormat)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.opts = append(cfg.opts, atlastest.WithControlAPI(), atlastest.WithLogger(cfg.logger))
	return &cfg, nil
}

// isLoopback reports whether a listening host is on the loopback interface alone: "" and
// 0.0.0.0 listen on every interface, a name other than localhost may be anywhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseSize reads a size in bytes: "1048576", "512KiB", "32MiB", "1GiB".
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size: bytes, or with KiB, MiB or GiB (32MiB)", s)
	}
	return n * mult, nil
}

// clockFor is the server's clock for -start and -frozen: nil for the real time.
func clockFor(start string, frozen bool) (atlastest.Clock, error) {
	t0 := time.Now()
	at := t0
	if start != "" {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, start); err != nil {
			if at, err = time.Parse(time.DateOnly, start); err != nil {
				return nil, fmt.Errorf("%q is neither RFC 3339 (2026-01-15T09:00:00Z) nor a date (2026-01-15)", start)
			}
		}
	}
	switch {
	case frozen:
		return atlastest.FixedClock(at), nil
	case start != "":
		return atlastest.ClockFunc(func() time.Time { return at.Add(time.Since(t0)) }), nil
	}
	return nil, nil
}

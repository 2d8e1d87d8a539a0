// Command replicas runs a service as several processes, the way pods or
// workers of one deployment run, under one Atlas login. Each worker process
// creates draft invoices as fast as the plan allows; through Redis they share
// one rate budget (atlasredis.Limiter) and one login whose tokens they renew
// one at a time (atlasredis.TokenStore). At the end it prints what each worker
// did: invoices, throughput, 429s, logins and token refreshes.
//
//	REDIS_URL=redis://127.0.0.1:6379 go run ./examples/replicas
//	REDIS_URL=redis://127.0.0.1:6379 go run ./examples/replicas -share=false
//	REDIS_URL=redis://127.0.0.1:6379 go run ./examples/replicas -processes 8 -token-lifetime 2s -duration 30s
//
// The first run shares the budget: no 429. The second lets each process pace
// itself to the whole plan, as replicas do without coordination: 429s. The
// third renews 2-second tokens: one login and one refresh per token lifetime
// for all eight processes.
//
// It needs a Redis (REDIS_URL or ATLAS_REDIS_URL; -share=false needs none).
// With ATLAS_EMAIL and ATLAS_PASSWORD set (and ATLAS_BASE_URL for an API other
// than production, ATLAS_COMPANY_ID for a company other than the first) the
// workers use that account and write to it: use a sandbox company. Otherwise
// the program starts the SDK's fake Atlas server (package atlastest) with the
// plan's windows cut to a second, so that a run shows in seconds what takes
// minutes on the real API, and the workers use it over loopback.
//
// The parent runs itself again with -worker for each process. A worker stops
// when its standard input closes: at the end of the run, or when the parent
// dies.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlasredis"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// config is what the flags say; the parent hands it on to every worker.
type config struct {
	processes   int
	duration    time.Duration
	share       bool
	tier        string
	window      time.Duration
	tokenLife   time.Duration
	lockTTL     time.Duration
	concurrency int
	key         string
	jsonOut     bool
	worker      int // > 0: run as this worker
}

// plans are the limits of the Atlas plans: requests per window, and burst.
var plans = map[string][2]int{"standard": {60, 10}, "professional": {300, 50}, "enterprise": {1000, 100}}

func main() {
	var cfg config
	flag.IntVar(&cfg.processes, "processes", 4, "worker processes")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the workers create invoices")
	flag.BoolVar(&cfg.share, "share", true, "share the rate budget and the login through Redis (false: each process paces itself to the whole plan and logs in)")
	flag.StringVar(&cfg.tier, "tier", "standard", "the plan: standard, professional or enterprise")
	flag.DurationVar(&cfg.window, "window", 0, "the plan's window (default: a second on the embedded server, a minute on an account)")
	flag.DurationVar(&cfg.tokenLife, "token-lifetime", time.Hour, "how long the embedded server's access tokens live")
	flag.DurationVar(&cfg.lockTTL, "lock-ttl", atlasredis.DefaultLockTTL, "how long the token lock outlives a worker that dies holding it")
	flag.IntVar(&cfg.concurrency, "concurrency", 2, "calls in flight per worker")
	flag.StringVar(&cfg.key, "key", "", "the Redis key of the login (default: atlas-replicas-example, made unique per run on the embedded server)")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print the summary as JSON")
	flag.IntVar(&cfg.worker, "worker", 0, "run as worker `n` (the parent starts them)")
	flag.Parse()

	var err error
	if cfg.worker > 0 {
		err = runWorker(cfg)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = runParent(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// redisURL is the Redis the processes share.
func redisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return os.Getenv("ATLAS_REDIS_URL")
}

// ---- The parent: starts the workers and reports what they did ----

// report is what a worker prints when it stops.
type report struct {
	Worker         int     `json:"worker"`
	PID            int     `json:"pid"`
	Invoices       int64   `json:"invoices"`
	Failed         int64   `json:"failed"`
	Seconds        float64 `json:"seconds"`
	Requests       int64   `json:"requests"`
	RateLimited    int64   `json:"rate_limited"`
	Logins         int64   `json:"logins"`
	Refreshes      int64   `json:"refreshes"`
	RefreshRefused int64   `json:"refresh_refused"`
}

// summary is what the parent prints at the end.
type summary struct {
	Limit     int           `json:"limit"`
	Burst     int           `json:"burst"`
	Window    time.Duration `json:"window_ns"`
	Share     bool          `json:"share"`
	Seconds   float64       `json:"seconds"`
	Workers   []report      `json:"workers"`
	Lost      []string      `json:"lost,omitempty"` // workers that died without a report
	Invoices  int64         `json:"invoices"`
	PerSecond float64       `json:"per_second"`
	OfPlan    float64       `json:"of_plan"` // PerSecond against the plan's rate
	Failed    int64         `json:"failed"`
	Server    *serverCounts `json:"server,omitempty"` // the embedded server's own count
}

// serverCounts is what the embedded server's request log says.
type serverCounts struct {
	Requests       int `json:"requests"`
	Invoices       int `json:"invoices"`
	RateLimited    int `json:"rate_limited"`
	Logins         int `json:"logins"`
	Refreshes      int `json:"refreshes"`
	RefreshRefused int `json:"refresh_refused"`
	Unauthorized   int `json:"unauthorized"`
}

func runParent(ctx context.Context, cfg config) error {
	limits, ok := plans[cfg.tier]
	if !ok {
		return fmt.Errorf("unknown -tier %q: standard, professional or enterprise", cfg.tier)
	}
	if cfg.processes < 1 || cfg.concurrency < 1 || cfg.duration <= 0 {
		return errors.New("-processes, -concurrency and -duration must be positive")
	}
	if cfg.share && redisURL() == "" {
		return errors.New("the workers share their budget and login through Redis: set REDIS_URL (redis://127.0.0.1:6379/0) " +
			"to one, such as a local `redis-server`, or run with -share=false to see replicas that do not share")
	}
	// Workers get the account in their environment, never on their command
	// line, where any user of the machine could read the password.
	env := os.Environ()
	var srv *atlastest.Server
	if os.Getenv("ATLAS_EMAIL") == "" || os.Getenv("ATLAS_PASSWORD") == "" {
		if cfg.window == 0 {
			cfg.window = time.Second
		}
		srv = atlastest.NewServer(
			atlastest.WithPlan(atlastest.Tier(cfg.tier), cfg.window), // enforced per user, as Atlas does
			atlastest.WithTokenLifetime(cfg.tokenLife),
			atlastest.WithRequestLog(200_000),
		)
		defer srv.Close()
		env = append(env, "ATLAS_BASE_URL="+srv.URL, "ATLAS_EMAIL="+srv.Email(), "ATLAS_PASSWORD="+srv.Password(), "ATLAS_COMPANY_ID="+srv.CompanyID())
		if cfg.key == "" { // the tokens of an earlier run's server mean nothing to this one
			cfg.key = fmt.Sprintf("atlas-replicas-example-%d", time.Now().UnixNano())
		}
		say(cfg, "Atlas: the embedded fake server (atlastest) at %s, access tokens living %s; set ATLAS_EMAIL and ATLAS_PASSWORD to use your account.\n", srv.URL, cfg.tokenLife)
	} else {
		if cfg.window == 0 {
			cfg.window = time.Minute
		}
		say(cfg, "Atlas: your account, %s.\n", os.Getenv("ATLAS_EMAIL"))
	}
	if cfg.key == "" {
		cfg.key = "atlas-replicas-example"
	}
	if cfg.share {
		say(cfg, "Sharing: one rate budget and one login in Redis under key %q.\n", cfg.key)
	} else {
		say(cfg, "Not sharing: each process paces itself to the whole plan and logs in on its own.\n")
	}
	say(cfg, "Plan: %s, %d requests per %s, burst %d. Starting %d workers.\n", cfg.tier, limits[0], cfg.window, limits[1], cfg.processes)

	workers, err := startWorkers(cfg, env)
	// However the run ends, no worker outlives the parent: closing its
	// standard input stops it, and Wait reaps it.
	defer func() {
		for _, w := range workers {
			_ = w.wait() // how each ended is reported below
		}
	}()
	if err != nil {
		return err
	}
	for _, w := range workers {
		if !w.out.Scan() || w.out.Text() != "ready" {
			err := w.wait()
			if err == nil {
				err = errors.New("it exited") // its log, above, says why
			}
			return fmt.Errorf("worker %d (pid %d) did not start: %w", w.id, w.cmd.Process.Pid, err)
		}
	}

	say(cfg, "All %d workers are ready; creating invoices for %s.\n", len(workers), cfg.duration)
	start := time.Now()
	for _, w := range workers {
		_, _ = io.WriteString(w.stdin, "go\n") // one that died is reported below
	}
	select {
	case <-time.After(cfg.duration):
	case <-ctx.Done():
	}
	for _, w := range workers {
		w.stop()
	}

	sum := summary{Limit: limits[0], Burst: limits[1], Window: cfg.window, Share: cfg.share}
	for _, w := range workers {
		var r report
		if w.out.Scan() && json.Unmarshal(w.out.Bytes(), &r) == nil {
			sum.Workers = append(sum.Workers, r)
			sum.Invoices += r.Invoices
			sum.Failed += r.Failed
		} else {
			sum.Lost = append(sum.Lost, fmt.Sprintf("worker %d (pid %d): %v", w.id, w.cmd.Process.Pid, w.wait()))
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.PerSecond = float64(sum.Invoices) / sum.Seconds
	sum.OfPlan = sum.PerSecond / (float64(limits[0]) / cfg.window.Seconds())
	if srv != nil {
		sum.Server = countRequests(srv.Requests())
	}
	if err := printSummary(cfg, sum); err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d calls failed", sum.Failed)
	}
	return nil
}

// say prints a line for a person: on stdout, or on stderr when stdout is
// for JSON.
func say(cfg config, format string, args ...any) {
	w := os.Stdout
	if cfg.jsonOut {
		w = os.Stderr
	}
	_, _ = fmt.Fprintf(w, format, args...) // nowhere to report a failed write
}

// proc is a worker process.
type proc struct {
	id     int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	out    *bufio.Scanner // reads stdout: "ready", then the report
	logs   sync.WaitGroup // the relay of its stderr
	once   sync.Once
	err    error
}

// startWorkers starts the workers: this program again, with -worker.
func startWorkers(cfg config, env []string) ([]*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var workers []*proc
	for i := 1; i <= cfg.processes; i++ {
		cmd := exec.Command(self, "-worker", strconv.Itoa(i), "-share="+strconv.FormatBool(cfg.share),
			"-tier", cfg.tier, "-window", cfg.window.String(), "-lock-ttl", cfg.lockTTL.String(),
			"-concurrency", strconv.Itoa(cfg.concurrency), "-key", cfg.key)
		cmd.Env = env
		w := &proc{id: i, cmd: cmd}
		if w.stdin, err = cmd.StdinPipe(); err != nil {
			return workers, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return workers, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return workers, err
		}
		if err := cmd.Start(); err != nil {
			return workers, err
		}
		workers = append(workers, w)
		w.stdout, w.out = stdout, bufio.NewScanner(stdout)
		// Its log, each line named after it, goes to the parent's stderr.
		w.logs.Add(1)
		go func() {
			defer w.logs.Done()
			prefix := fmt.Sprintf("worker %d (pid %d): ", i, cmd.Process.Pid)
			lines := bufio.NewScanner(stderr)
			for lines.Scan() {
				_, _ = fmt.Fprintln(os.Stderr, prefix+lines.Text()) // nowhere to report a failed write
			}
		}()
		say(cfg, "  worker %d: pid %d\n", i, cmd.Process.Pid)
	}
	return workers, nil
}

// stop tells the worker to finish: it ends its calls in flight and reports.
func (w *proc) stop() { _ = w.stdin.Close() }

// wait waits for the worker to exit, once, and returns how it ended.
func (w *proc) wait() error {
	w.once.Do(func() {
		w.stop()
		_, _ = io.Copy(io.Discard, w.stdout) // Wait must come after the last read

		w.logs.Wait()
		w.err = w.cmd.Wait()
	})
	return w.err
}

// countRequests counts, from the embedded server's request log, what every
// worker sent: it sees the requests of a worker that died too.
func countRequests(reqs []atlastest.RecordedRequest) *serverCounts {
	var c serverCounts
	for _, r := range reqs {
		c.Requests++
		switch {
		case r.Status == http.StatusTooManyRequests:
			c.RateLimited++
		case r.Method == http.MethodPost && r.Path == "/invoices" && r.Status == http.StatusCreated:
			c.Invoices++
		case r.Path == "/auth/login" && r.Status == http.StatusOK:
			c.Logins++
		case r.Path == "/auth/refresh" && r.Status == http.StatusOK:
			c.Refreshes++
		case r.Path == "/auth/refresh":
			c.RefreshRefused++
		case r.Status == http.StatusUnauthorized:
			c.Unauthorized++
		}
	}
	return &c
}

// printSummary prints the summary: a table, or JSON.
func printSummary(cfg config, s summary) error {
	if cfg.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(s)
	}
	// The table is written to memory, then to stdout at once.
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "\nworker\tpid\tinvoices\tper second\t429s\tlogins\trefreshes\tfailed\t")
	var all report
	for _, r := range s.Workers {
		_, _ = fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%d\t%d\t%d\t%d\t\n", r.Worker, r.PID, r.Invoices, float64(r.Invoices)/s.Seconds, r.RateLimited, r.Logins, r.Refreshes, r.Failed)
		all.RateLimited += r.RateLimited
		all.Logins += r.Logins
		all.Refreshes += r.Refreshes
	}
	_, _ = fmt.Fprintf(tw, "all\t\t%d\t%.1f\t%d\t%d\t%d\t%d\t\n", s.Invoices, s.PerSecond, all.RateLimited, all.Logins, all.Refreshes, s.Failed)
	_ = tw.Flush()
	fmt.Fprintf(&out, "\n%d invoices in %.1fs: %.1f per second, %.2f of the plan's %d per %s.\n", s.Invoices, s.Seconds, s.PerSecond, s.OfPlan, s.Limit, s.Window)
	for _, l := range s.Lost {
		fmt.Fprintln(&out, "Lost", l)
	}
	if c := s.Server; c != nil {
		fmt.Fprintf(&out, "The server saw %d requests: %d invoices created, %d answered 429, %d logins, %d refreshes (%d refused), %d other 401s.\n",
			c.Requests, c.Invoices, c.RateLimited, c.Logins, c.Refreshes, c.RefreshRefused, c.Unauthorized)
	}
	_, err := out.WriteTo(os.Stdout)
	return err
}

// ---- A worker: one replica of the service ----

func runWorker(cfg config) error {
	limits, ok := plans[cfg.tier]
	if !ok || cfg.window <= 0 {
		return fmt.Errorf("worker %d: bad -tier or -window", cfg.worker)
	}
	limit, burst := limits[0], limits[1]
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	counts := &counter{next: http.DefaultTransport, log: log}
	opts := []atlas.Option{
		atlas.WithCredentials(os.Getenv("ATLAS_EMAIL"), os.Getenv("ATLAS_PASSWORD")),
		atlas.WithHTTPClient(&http.Client{Transport: counts}),
		atlas.WithUserAgent(fmt.Sprintf("atlas-replicas-example/worker-%d", cfg.worker)),
		// On its own, the pace of this process. With the shared Limiter, the
		// pace this process keeps while Redis is down.
		atlas.WithRateLimit(limit, burst, cfg.window),
		atlas.WithLogger(log), // warnings: Redis down, a lock not taken
	}
	if u := os.Getenv("ATLAS_BASE_URL"); u != "" {
		opts = append(opts, atlas.WithBaseURL(u)) // else production
	}
	if cfg.share {
		ropts, err := redis.ParseURL(redisURL())
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		// Without this, a Redis that stops answering would hold calls past
		// their deadlines; atlasredis refuses such a client.
		ropts.ContextTimeoutEnabled = true
		rdb := redis.NewClient(ropts)
		defer func() { _ = rdb.Close() }()
		// Every process of the service names the login with the same key.
		store, err := atlasredis.NewTokenStore(rdb, cfg.key, atlasredis.WithLockTTL(cfg.lockTTL))
		if err != nil {
			return err
		}
		limiter, err := atlasredis.NewLimiter(rdb, cfg.key, limit, burst, cfg.window, atlasredis.WithLimiterLogger(log))
		if err != nil {
			return err
		}
		opts = append(opts, atlas.WithTokenStore(store), atlas.WithLimiter(limiter))
	}
	c, err := atlas.NewClient(opts...)
	if err != nil {
		return err
	}

	// Ctrl-C at the terminal reaches every process of the group: a worker
	// leaves it to the parent, which stops it by closing its standard input.
	signal.Ignore(os.Interrupt)
	ctx := context.Background()
	setUpCtx, cancel := context.WithTimeout(ctx, time.Minute)
	books, customer, revenue, err := setUp(setUpCtx, c)
	cancel()
	if err != nil {
		return err
	}

	// Ready; the parent says go, then closes our standard input to stop us.
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		return nil // the parent gave up before the start
	}
	stop := make(chan struct{})
	go func() {
		for in.Scan() {
		}
		close(stop)
	}()

	var invoices, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// The client waits for the shared budget, renews the tokens
				// when due, and retries a 429 or a 5xx; this call fails only
				// when all of that did not help within the minute.
				callCtx, cancel := context.WithTimeout(ctx, time.Minute)
				_, err := books.Invoices.Create(callCtx, &atlas.InvoiceCreateParams{
					CustomerID:  customer,
					InvoiceDate: atlas.DateOf(time.Now()),
					Lines: []atlas.InvoiceLineParams{{
						Description: "Replicated work", UnitPrice: decimal.RequireFromString("10.00"), RevenueAccountID: revenue,
					}},
				})
				cancel()
				if err != nil {
					failed.Add(1)
					log.Error("create invoice", "error", err)
					continue
				}
				invoices.Add(1)
			}
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(report{
		Worker: cfg.worker, PID: os.Getpid(), Invoices: invoices.Load(), Failed: failed.Load(),
		Seconds: time.Since(start).Seconds(), Requests: counts.requests.Load(), RateLimited: counts.rateLimited.Load(),
		Logins: counts.logins.Load(), Refreshes: counts.refreshes.Load(), RefreshRefused: counts.refreshRefused.Load(),
	})
}

// setUp finds what the invoices need: the company (ATLAS_COMPANY_ID, or the
// first), a customer and a revenue account. The first call logs in, or takes
// the tokens another worker saved.
func setUp(ctx context.Context, c *atlas.Client) (books *atlas.Client, customer, revenue string, err error) {
	company := os.Getenv("ATLAS_COMPANY_ID")
	if company == "" {
		companies, err := c.Companies.List(ctx, nil)
		if err != nil {
			return nil, "", "", err
		}
		if len(companies.Items) == 0 {
			return nil, "", "", errors.New("the user has no company")
		}
		company = companies.Items[0].ID
	}
	books = c.ForCompany(company)
	customers, err := books.Customers.List(ctx, nil)
	if err != nil {
		return nil, "", "", err
	}
	accounts, err := books.Accounts.List(ctx, &atlas.AccountListParams{AccountType: atlas.AccountTypeRevenue})
	if err != nil {
		return nil, "", "", err
	}
	if len(customers.Items) == 0 || len(accounts.Items) == 0 {
		return nil, "", "", errors.New("the company needs a customer and a revenue account")
	}
	return books, customers.Items[0].ID, accounts.Items[0].ID, nil
}

// counter is the worker's HTTP transport: it counts what the API answered,
// and logs every login and refresh, so that the parent can show that one
// worker renews the tokens for all.
type counter struct {
	next http.RoundTripper
	log  *slog.Logger

	requests, rateLimited, logins, refreshes, refreshRefused atomic.Int64
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	refresh := strings.HasSuffix(req.URL.Path, "/auth/refresh")
	login := strings.HasSuffix(req.URL.Path, "/auth/login")
	if refresh || login {
		c.log.Info("renewing the tokens", "request", req.Method+" "+req.URL.Path)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.requests.Add(1)
	ok := resp.StatusCode == http.StatusOK
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.rateLimited.Add(1)
	case refresh && ok:
		c.refreshes.Add(1)
	case refresh:
		c.refreshRefused.Add(1)
	case login && ok:
		c.logins.Add(1)
	}
	if refresh || login {
		c.log.Info("renewed the tokens", "request", req.Method+" "+req.URL.Path, "status", resp.StatusCode)
	}
	return resp, nil
}

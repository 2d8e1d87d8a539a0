// Package examples_test builds every program under examples/ and runs it
// against atlastest, so that no example can rot.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runTimeout bounds each run of a program.
const runTimeout = 2 * time.Minute

// programs returns the names of the example programs of this module: the
// directories here that hold a main.go. A directory with a go.mod is a
// module of its own (examples/replicas, which needs atlasredis), run by its
// own tests.
func programs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(e.Name(), "go.mod")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.Name(), "main.go")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	require.NotEmpty(t, names)
	return names
}

// build compiles every program into a temporary directory and returns it.
func build(t *testing.T, names []string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build the examples")
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./"+n)
	}
	ctx, cancel := testkit.BuildContext(t)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, args...).CombinedOutput()
	require.NoError(t, err, "go build of the examples failed:\n%s", out)
	return bin
}

type result struct {
	stdout, stderr string
	code           int
}

// run starts a program in dir with the environment of the test minus its
// ATLAS_* variables plus env, and waits for it.
func run(t *testing.T, bin, name, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%s did not finish within %s", name, runTimeout)
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "ATLAS_") })
}

// accountEnv points a program at srv the way a user points it at their account.
func accountEnv(srv *atlastest.Server) []string {
	return []string{"ATLAS_BASE_URL=" + srv.URL, "ATLAS_EMAIL=" + srv.Email(), "ATLAS_PASSWORD=" + srv.Password()}
}

func TestExamples(t *testing.T) {
	t.Parallel()
	names := programs(t)
	bin := build(t, names)

	// Each program as a new user runs it first: no account, the embedded
	// fake server. Every program must have a case here.
	cases := map[string]struct {
		args  []string
		check func(t *testing.T, dir string, r result)
	}{
		"quickstart": {
			check: func(t *testing.T, _ string, r result) {
				first, _, _ := strings.Cut(r.stdout, "\n")
				assert.Contains(t, first, "embedded fake Atlas server", "the first line must say the quickstart runs on atlastest")
				for _, step := range []string{"Logged in", "Customer", "Invoice", "Sent", "Payment", "Invoices by status", "Profit and loss", "Balance sheet"} {
					assert.Contains(t, r.stdout, step)
				}
				assert.Contains(t, r.stdout, "(invoice paid, 0.00 USD due)", "the payment settles the invoice")
				assert.Regexp(t, `Balanced +true`, r.stdout)
			},
		},
		"pagination": {
			args: []string{"-invoices", "3000", "-concurrency", "4"},
			check: func(t *testing.T, _ string, r result) {
				assert.Contains(t, r.stdout, "All: 3000 invoices in 30 pages")
			},
		},
		"webhooks": {
			check: func(t *testing.T, _ string, r result) {
				for _, ev := range []string{"invoice.created", "invoice.sent", "invoice.paid", "bill.approved", "payment.received", "period.closed"} {
					assert.Contains(t, r.stdout, "  "+ev+" ")
				}
				assert.Contains(t, r.stdout, "answered 500", "the callback's failure")
				assert.Contains(t, r.stdout, "7 deliveries for 6 events", "the failed event is delivered again")
			},
		},
		"sync": {
			args: []string{"-out", "invoices.jsonl", "-demo-invoices", "700"},
			check: func(t *testing.T, dir string, r result) {
				assert.Contains(t, r.stdout, "Exported 700 invoices")
				numbers := readJSONL(t, filepath.Join(dir, "invoices.jsonl"))
				assert.Equal(t, invoiceNumbers(numbers[0], 700), numbers)
				assert.NoFileExists(t, filepath.Join(dir, "invoices.jsonl.state"), "a finished export leaves no state behind")
			},
		},
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc, ok := cases[name]
			require.True(t, ok, "examples/%s has no case in TestExamples: add one, so that it runs in the tests", name)
			dir := t.TempDir()
			r := run(t, bin, name, dir, nil, tc.args...)
			require.Equal(t, 0, r.code, "%s exited with %d\nstdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
			tc.check(t, dir, r)
		})
	}

	t.Run("quickstart on an account", func(t *testing.T) {
		t.Parallel()
		srv := atlastest.NewServer()
		defer srv.Close()
		r := run(t, bin, "quickstart", t.TempDir(), accountEnv(srv))
		require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		first, _, _ := strings.Cut(r.stdout, "\n")
		assert.Contains(t, first, srv.URL)
		assert.NotContains(t, r.stdout+r.stderr, srv.Password(), "the password must not be printed")
	})

	t.Run("sync to CSV", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := run(t, bin, "sync", dir, nil, "-out", "invoices.csv", "-demo-invoices", "250")
		require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		raw, err := os.ReadFile(filepath.Join(dir, "invoices.csv"))
		require.NoError(t, err)
		records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		require.NoError(t, err)
		require.Len(t, records, 251)
		assert.Equal(t, []string{"id", "invoice_number"}, records[0][:2])
		assert.Equal(t, "INV-", records[1][1][:4])
	})

	t.Run("sync resumes where it stopped", func(t *testing.T) {
		t.Parallel()
		if runtime.GOOS == "windows" {
			t.Skip("needs os.Interrupt")
		}
		testSyncResume(t, bin)
	})
}

// testSyncResume interrupts an export part-way and checks that -resume
// completes it with every invoice exactly once, in order.
func testSyncResume(t *testing.T, bin string) {
	const total = 1500 // 15 pages: the Standard tier's burst of 10 requests does not cover them
	srv := atlastest.NewServer(atlastest.WithInvoices(total))
	defer srv.Close()
	env := append(accountEnv(srv), "ATLAS_COMPANY_ID="+srv.CompanyID())
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "sync"), "-out", "invoices.jsonl")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	// The first 9 pages come at once (the burst, after the login); the 10th
	// waits a second for the rate limit. Interrupt once 7 pages are written,
	// so that what is left fits in the next run's burst.
	var log strings.Builder
	interrupted := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		var done, of int
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d/%d", &done, &of); err == nil && done >= 700 && !interrupted {
			require.NoError(t, cmd.Process.Signal(os.Interrupt))
			interrupted = true
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the first run should have been interrupted; stderr:\n%s", log.String())
	require.Equal(t, 130, exit.ExitCode(), "stderr:\n%s", log.String())
	assert.Contains(t, log.String(), "-resume")
	require.FileExists(t, filepath.Join(dir, "invoices.jsonl.state"))

	// Without -resume the program refuses to start over on top of it.
	r := run(t, bin, "sync", dir, env, "-out", "invoices.jsonl")
	require.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, "-resume")

	r = run(t, bin, "sync", dir, env, "-out", "invoices.jsonl", "-resume")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "Resuming at page")
	assert.Contains(t, r.stdout, fmt.Sprintf("Exported %d invoices", total))

	numbers := readJSONL(t, filepath.Join(dir, "invoices.jsonl"))
	require.Len(t, numbers, total)
	assert.Equal(t, invoiceNumbers(numbers[0], total), numbers, "every invoice exactly once, oldest first")
	assert.NoFileExists(t, filepath.Join(dir, "invoices.jsonl.state"))
}

// readJSONL returns the invoice numbers of a JSON Lines export, checking that
// every line is a whole invoice.
func readJSONL(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var numbers []string
	for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		var inv struct {
			ID            string `json:"id"`
			InvoiceNumber string `json:"invoice_number"`
			TotalAmount   string `json:"total_amount"`
		}
		require.NoError(t, json.Unmarshal(line, &inv), "line %d", i+1)
		require.NotEmpty(t, inv.ID, "line %d", i+1)
		require.NotEmpty(t, inv.TotalAmount, "line %d", i+1)
		numbers = append(numbers, inv.InvoiceNumber)
	}
	return numbers
}

// invoiceNumbers returns n consecutive invoice numbers of the year of first,
// which must be the first of the year ("INV-2026-0001").
func invoiceNumbers(first string, n int) []string {
	prefix := strings.TrimSuffix(first, "0001")
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return out
}

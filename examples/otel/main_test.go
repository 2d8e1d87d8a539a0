package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestRunPrintsTheTreeOfACallThatWaitedRetriedAndRefreshed runs the example
// and reads its last trace: the listing waited for the rate limit, got a 503,
// backed off, found its token expired, waited for the refresh (a span of its
// own with its request) and was answered.
func TestRunPrintsTheTreeOfACallThatWaitedRetriedAndRefreshed(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Log(text)
	_, last, found := strings.Cut(text, "list sent invoices")
	if !found {
		t.Fatal("no trace of the listing")
	}
	last, _, _ = strings.Cut(last, "The metrics:")
	want := []string{
		`^ +\S+$`,
		`^  atlas Invoices\.List +\S+  attempts=3$`,
		`^    wait: rate_limit +\S+$`,
		`^    GET /invoices +\S+  503  error=503$`,
		`^    wait: backoff +\S+$`,
		`^    GET /invoices +\S+  401  error=401$`,
		`^    atlas token refresh +\S+$`,
		`^      POST /auth/refresh +\S+  200$`,
		`^    wait: token_renewal +\S+$`,
		`^    GET /invoices +\S+  200$`,
	}
	// Past the first, the pacer's waits depend on the window's timing: the
	// tree may have them or not, so they are left out.
	var lines []string
	for i, l := range strings.Split(strings.TrimSpace(last), "\n") {
		if i <= 2 || !strings.Contains(l, "wait: rate_limit") {
			lines = append(lines, l)
		}
	}
	lines[0] = " " + lines[0] // the root's duration, after its name
	if len(lines) != len(want) {
		t.Fatalf("the listing's tree has %d lines, want %d:\n%s", len(lines), len(want), last)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want it to match %s", i, lines[i], re)
		}
	}
	for _, m := range []string{
		`atlas.client.retries{atlas.retry.reason=server_error} 1`,
		`atlas.client.token.renewals{atlas.outcome=success,atlas.token.kind=refresh} 1`,
		`atlas.client.wait.duration{atlas.wait.reason=backoff} count=1`,
	} {
		if !strings.Contains(text, m) {
			t.Errorf("the metrics have no %q", m)
		}
	}
}

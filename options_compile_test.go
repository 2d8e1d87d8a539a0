package atlas_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// optionMisuse uses request options where they work (which must compile) and
// where they would do nothing (each line marked "does not compile").
const optionMisuse = `package misuse

import (
	"context"

	atlas "github.com/atlas-accounting/atlas-go"
)

func fits(ctx context.Context, c *atlas.Client, p *atlas.InvoiceCreateParams, u *atlas.InvoiceUpdateParams) {
	var resp *atlas.Response
	_, _ = c.Invoices.Create(ctx, p, atlas.WithIdempotencyKey("k"), atlas.WithHeader("X-Trace", "t"), atlas.WithResponse(&resp))
	_, _ = c.Invoices.Send(ctx, "id", atlas.WithIdempotencyKey("k"))
	_, _ = c.Auth.Login(ctx, "e", "p", atlas.WithIdempotencyKey("k"))
	_ = c.Do(ctx, &atlas.Request{Method: "POST", Path: "/x"}, nil, atlas.WithIdempotencyKey("k"), atlas.WithHeader("X-Trace", "t"))
	_ = c.Invoices.All(ctx, nil, atlas.WithConcurrency(4), atlas.WithHeader("X-Trace", "t"), atlas.WithResponse(&resp))
	_, _ = c.Invoices.Get(ctx, "id", atlas.WithHeader("X-Trace", "t"), atlas.WithResponse(&resp))
	_, _ = c.Invoices.Update(ctx, "id", u, atlas.WithHeader("X-Trace", "t"))
	opts := []atlas.RequestOption{atlas.WithHeader("X-Trace", "t")}
	_, _ = c.Invoices.List(ctx, nil, opts...)
}

func misfits(ctx context.Context, c *atlas.Client, p *atlas.InvoiceCreateParams, u *atlas.InvoiceUpdateParams) {
	_, _ = c.Invoices.Get(ctx, "id", atlas.WithConcurrency(2))           // does not compile
	_, _ = c.Invoices.List(ctx, nil, atlas.WithConcurrency(2))           // does not compile
	_, _ = c.Invoices.Create(ctx, p, atlas.WithConcurrency(2))           // does not compile
	_ = c.Do(ctx, &atlas.Request{Path: "/x"}, nil, atlas.WithConcurrency(2)) // does not compile
	_, _ = c.Invoices.Get(ctx, "id", atlas.WithIdempotencyKey("k"))      // does not compile
	_, _ = c.Invoices.Update(ctx, "id", u, atlas.WithIdempotencyKey("k")) // does not compile
	_, _ = c.Reports.ProfitLoss(ctx, nil, atlas.WithIdempotencyKey("k")) // does not compile
	_ = c.Invoices.All(ctx, nil, atlas.WithIdempotencyKey("k"))          // does not compile
}
`

// An option that would do nothing where it is passed does not compile
// there: WithConcurrency outside All, WithIdempotencyKey outside a POST.
// The compiler is asked, on a package that exists only in an overlay, and
// must refuse exactly the lines marked so.
func TestOptionsThatWouldDoNothingDoNotCompile(t *testing.T) {
	t.Parallel()
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to compile the misuse")
	root, err := os.Getwd()
	require.NoError(t, err)

	tmp := t.TempDir()
	src := filepath.Join(tmp, "misuse.go")
	require.NoError(t, os.WriteFile(src, []byte(optionMisuse), 0o644))
	raw, err := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "internal", "optionmisuse", "misuse.go"): src,
	}})
	require.NoError(t, err)
	overlay := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlay, raw, 0o644))

	ctx, cancel := testkit.BuildContext(t)
	defer cancel()
	// -e: report every error, not the first ten.
	out, err := exec.CommandContext(ctx, goCmd, "build", "-overlay", overlay, "-gcflags=-e", "./internal/optionmisuse").CombinedOutput()
	require.Error(t, err, "the misuse compiled:\n%s", out)

	want := map[int]bool{}
	for i, line := range strings.Split(optionMisuse, "\n") {
		if strings.HasSuffix(line, "// does not compile") {
			want[i+1] = true
		}
	}
	require.Len(t, want, 8)
	got := map[int]bool{}
	for _, m := range regexp.MustCompile(`misuse\.go:(\d+):\d+: (.*)`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		got[n] = true
		assert.True(t, want[n], "line %d does not compile, but should: %s", n, m[2])
		assert.Regexp(t, `cannot use atlas\.With(Concurrency|IdempotencyKey)`, m[2], "line %d", n)
	}
	for n := range want {
		assert.True(t, got[n], "line %d compiles, but should not:\n%s", n, out)
	}
}

package atlasredis

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/require"
)

// readmeMarker precedes the README's snippets that this module compiles: the
// core module's readme_test.go skips them (they import atlasredis, which the
// core module does not require).
const readmeMarker = "<!-- readme_test: not compiled by the core module; atlasredis/readme_test.go compiles it"

// The README's atlasredis snippets are whole programs; each is built as a
// package of this module, so that none of them can rot.
func TestREADMESnippetsCompile(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err)
	f, err := os.Open("../README.md")
	require.NoError(t, err)
	defer func() { _ = f.Close() }() // opened to read; a Close error loses nothing

	var snippets []string
	var cur strings.Builder
	inFence, take := false, false
	prev := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inFence && strings.HasPrefix(line, "```go"):
			inFence, take = true, strings.HasPrefix(prev, readmeMarker)
			cur.Reset()
		case inFence && strings.HasPrefix(line, "```"):
			inFence = false
			if take {
				snippets = append(snippets, cur.String())
			}
			prev = ""
		case inFence:
			cur.WriteString(line + "\n")
		case strings.TrimSpace(line) != "":
			prev = strings.TrimSpace(line)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, snippets, "README.md has no snippet marked for atlasredis")

	root, err := os.Getwd()
	require.NoError(t, err)
	tmp := t.TempDir()
	overlay := map[string]string{}
	var pkgs []string
	for i, code := range snippets {
		require.True(t, strings.HasPrefix(code, "package main"), "snippet %d: atlasredis snippets are whole programs", i+1)
		file := filepath.Join(tmp, fmt.Sprintf("s%02d.go", i+1))
		require.NoError(t, os.WriteFile(file, []byte(code), 0o644))
		dir := fmt.Sprintf("internal/readmesnippets/s%02d", i+1) // exists only in the overlay
		overlay[filepath.Join(root, dir, "main.go")] = file
		pkgs = append(pkgs, "./"+dir)
	}
	raw, err := json.Marshal(map[string]any{"Replace": overlay})
	require.NoError(t, err)
	overlayFile := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, raw, 0o644))

	ctx, cancel := testkit.BuildContext(t)
	defer cancel()
	args := append([]string{"build", "-overlay", overlayFile, "-o", os.DevNull}, pkgs...)
	if len(pkgs) > 1 {
		args = append([]string{"build", "-overlay", overlayFile}, pkgs...)
	}
	out, err := exec.CommandContext(ctx, goCmd, args...).CombinedOutput()
	require.NoError(t, err, "README snippets for atlasredis fail to build:\n%s", out)
}

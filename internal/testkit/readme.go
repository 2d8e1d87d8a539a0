package testkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleSnippetMarker starts the line that precedes each README snippet a
// module other than the core compiles (the core module's readme_test.go
// skips them: they import a module the core does not require). The line
// goes on to name the module's test that compiles it.
const ModuleSnippetMarker = "<!-- readme_test: not compiled by the core module; "

// Snippet is a ```go block of a README.
type Snippet struct {
	Line   int    // the README line of the block's first line of code
	Code   string // the block's lines, each ending in a newline
	Before string // the last non-blank line before the block (since the one before), trimmed
}

// ReadmeSnippets returns the ```go blocks of the README at path, in order.
// A block that is not closed is an error.
func ReadmeSnippets(path string) ([]Snippet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // opened to read; a Close error loses nothing
	var (
		out     []Snippet
		cur     Snippet
		code    strings.Builder
		prev    string // the last non-blank line outside a block
		lineNo  int
		inFence bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case !inFence && strings.HasPrefix(line, "```go"):
			inFence = true
			cur = Snippet{Line: lineNo + 1, Before: prev}
			code.Reset()
		case inFence && strings.HasPrefix(line, "```"):
			inFence = false
			cur.Code = code.String()
			out = append(out, cur)
			prev = ""
		case inFence:
			code.WriteString(line)
			code.WriteByte('\n')
		case strings.TrimSpace(line) != "":
			prev = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if inFence {
		return nil, fmt.Errorf("%s: a ```go block is not closed", path)
	}
	return out, nil
}

// CompileReadmeSnippets builds, as packages of the module whose directory is
// the test's working directory, every Go snippet of readme that follows a
// line starting with ModuleSnippetMarker + module + "/": whole programs
// (package main), so that none of them can rot. It fails t when there is
// none, when one is not a program, or when one does not build.
func CompileReadmeSnippets(t *testing.T, readme, module string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	all, err := ReadmeSnippets(readme)
	if err != nil {
		t.Fatal(err)
	}
	marker := ModuleSnippetMarker + module + "/"
	var snippets []string
	for _, sn := range all {
		if strings.HasPrefix(sn.Before, marker) {
			snippets = append(snippets, sn.Code)
		}
	}
	if len(snippets) == 0 {
		t.Fatalf("%s has no snippet marked for %s", readme, module)
	}

	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]string{}
	var pkgs []string
	for i, code := range snippets {
		if !strings.HasPrefix(code, "package main") {
			t.Fatalf("snippet %d: %s snippets are whole programs", i+1, module)
		}
		file := filepath.Join(tmp, fmt.Sprintf("s%02d.go", i+1))
		if err := os.WriteFile(file, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("internal/readmesnippets/s%02d", i+1) // exists only in the overlay
		overlay[filepath.Join(root, dir, "main.go")] = file
		pkgs = append(pkgs, "./"+dir)
	}
	js, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, js, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := BuildContext(t)
	defer cancel()
	// One program is linked (to nowhere), without DWARF, which only a
	// debugger reads and which is most of a link's work; several are
	// compiled, not linked.
	args := []string{"build", "-overlay", overlayFile, "-ldflags=-w", "-o", os.DevNull}
	if len(pkgs) > 1 {
		args = []string{"build", "-overlay", overlayFile}
	}
	if out, err := exec.CommandContext(ctx, goCmd, append(args, pkgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("README snippets for %s fail to build: %v\n%s", module, err, out)
	}
}

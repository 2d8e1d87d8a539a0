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
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatalf("read %s: %v", readme, err)
	}
	marker := ModuleSnippetMarker + module + "/"
	var snippets []string
	var cur strings.Builder
	inFence, take := false, false
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inFence && strings.HasPrefix(line, "```go"):
			inFence, take = true, strings.HasPrefix(prev, marker)
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
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", readme, err)
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

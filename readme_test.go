package atlas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-accounting/atlas-go/internal/testkit"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

// The README's Go snippets are compiled as they are written, so that none of
// them can rot. A snippet is one of:
//   - a whole file, starting with "package" (a program: it is also run, on an
//     atlastest server given to it through ATLAS_BASE_URL, ATLAS_EMAIL and
//     ATLAS_PASSWORD);
//   - declarations (func, type, var, const);
//   - statements, compiled as the body of a func(ctx context.Context,
//     c *atlas.Client, email, password string) error.
//
// Declarations that include a func TestXxx go into a _test.go file of one
// package with the other tests (so two of them cannot declare the same
// name), linked into one test binary, and are run by it, each on its own.
//
// The README leaves imports out: the packages a snippet names are imported
// for it from readmeImports. A fence preceded by a line starting with
// "<!-- readme_test: not compiled" is skipped; the comment says why.

// readmeImports are the packages README snippets may use without importing them.
var readmeImports = map[string]string{
	"atlas":     "github.com/atlas-accounting/atlas-go",
	"atlastest": "github.com/atlas-accounting/atlas-go/atlastest",
	"decimal":   "github.com/shopspring/decimal",
	"context":   "context",
	"errors":    "errors",
	"fmt":       "fmt",
	"fs":        "io/fs",
	"http":      "net/http",
	"json":      "encoding/json",
	"log":       "log",
	"os":        "os",
	"slog":      "log/slog",
	"strings":   "strings",
	"synctest":  "testing/synctest",
	"testing":   "testing",
	"time":      "time",
	"url":       "net/url",
}

const (
	notCompiledMarker = "<!-- readme_test: not compiled"
	snippetDir        = "internal/readmesnippets" // a place inside the module that does not exist on disk
)

type readmeSnippet struct {
	line    int // README line of the snippet's first line of code
	code    string
	skipped bool
}

// readmeSnippets returns the ```go blocks of the README.
func readmeSnippets(t *testing.T, path string) []readmeSnippet {
	t.Helper()
	all, err := testkit.ReadmeSnippets(path)
	require.NoError(t, err)
	out := make([]readmeSnippet, 0, len(all))
	for _, sn := range all {
		out = append(out, readmeSnippet{line: sn.Line, code: sn.Code, skipped: strings.HasPrefix(sn.Before, notCompiledMarker)})
	}
	return out
}

// snippetSource turns a snippet into a Go file and returns it with the line of
// the file on which the snippet's code starts.
func snippetSource(sn readmeSnippet) (src string, firstLine int, isMain bool, err error) {
	code := sn.code
	var head, tail string
	switch kind := firstWord(code); kind {
	case "package":
		isMain = strings.HasPrefix(strings.TrimSpace(code), "package main")
	case "func", "type", "var", "const", "import":
		head = "package snippet\n\n"
	default:
		head = "package snippet\n\nfunc snippet(ctx context.Context, c *atlas.Client, email, password string) error {\n"
		tail = "\treturn nil\n}\n"
	}
	src = head + code + tail

	// Import what the snippet names from readmeImports and does not import itself.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return "", 0, false, err
	}
	have := map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if strings.Contains(p, "atlas-go/internal") {
			return "", 0, false, fmt.Errorf("snippet imports %s: users cannot import internal packages", p)
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		have[name] = true
	}
	full, err := parser.ParseFile(fset, "snippet.go", src, 0)
	if err != nil {
		return "", 0, false, err
	}
	var names []string
	for _, id := range full.Unresolved {
		if _, ok := readmeImports[id.Name]; ok && !have[id.Name] && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	slices.Sort(names)
	var imports strings.Builder
	for _, name := range names {
		fmt.Fprintf(&imports, "import %s %q\n", name, readmeImports[name])
	}
	// The imports go right after the package clause, before everything else.
	pkgEnd := strings.Index(src, "\n") + 1
	src = src[:pkgEnd] + imports.String() + src[pkgEnd:]
	firstLine = strings.Count(head, "\n") + len(names) + 1
	return src, firstLine, isMain, nil
}

// isTestSnippet reports whether a snippet declares a test function, which
// must go into a _test.go file and is run by go test.
func isTestSnippet(code string) bool {
	return strings.HasPrefix(code, "func Test") || strings.Contains(code, "\nfunc Test")
}

// firstWord returns the first word of the first line of code that is not a comment.
func firstWord(code string) string {
	for _, line := range strings.Split(code, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		word, _, _ := strings.Cut(line, " ")
		return word
	}
	return ""
}

func TestREADMESnippetsCompileAndRun(t *testing.T) {
	t.Parallel()
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to compile the README's snippets")
	root, err := os.Getwd()
	require.NoError(t, err)

	snippets := readmeSnippets(t, "README.md")
	tmp := t.TempDir()
	overlay := map[string]string{}
	var pkgs, mainPkgs, testPkgs, mains, tests []string
	type origin struct{ readmeLine, firstLine int }
	origins := map[string]origin{}
	funcs := map[string][]string{} // by snippet: its test functions
	compiled := 0
	for i, sn := range snippets {
		if sn.skipped {
			continue
		}
		src, first, isMain, err := snippetSource(sn)
		require.NoError(t, err, "README.md:%d", sn.line)
		name := fmt.Sprintf("s%02d", i+1)
		file := filepath.Join(tmp, name+".go")
		require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
		pkg := "./" + snippetDir + "/" + name
		origins[name] = origin{sn.line, first}
		switch {
		case isTestSnippet(sn.code):
			// The tests are files of one package, linked into one test binary
			// (a link costs a second or more of CPU), and each is run on its
			// own below.
			overlay[filepath.Join(root, snippetDir, testsPkg, name+"_test.go")] = file
			if len(tests) == 0 {
				testPkgs = append(testPkgs, "./"+snippetDir+"/"+testsPkg)
			}
			tests = append(tests, name)
			funcs[name] = testFuncs(sn.code)
		case isMain:
			mains = append(mains, name)
			mainPkgs = append(mainPkgs, pkg)
			fallthrough
		default:
			overlay[filepath.Join(root, snippetDir, name, "snippet.go")] = file
			pkgs = append(pkgs, pkg)
		}
		compiled++
	}
	// Guards against a parser that silently finds nothing to check.
	require.GreaterOrEqual(t, compiled, 10, "README.md should have at least 10 compiled Go snippets")
	require.NotEmpty(t, mains, "README.md should have a runnable program (package main)")
	require.NotEmpty(t, testPkgs, "README.md should have a test using atlastest")

	raw, err := json.Marshal(map[string]any{"Replace": overlay})
	require.NoError(t, err)
	overlayFile := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, raw, 0o644))
	bin := filepath.Join(tmp, "bin") + string(filepath.Separator)
	require.NoError(t, os.Mkdir(bin, 0o755))

	// Every package is compiled (go build -o ignores packages that are not
	// main), the programs are linked and the tests compiled, by three go
	// commands at once. The binaries go without DWARF (-w), which only a
	// debugger reads: it is most of a link's work.
	ctx, cancel := testkit.BuildContext(t)
	defer cancel()
	builds := [][]string{
		append([]string{"build"}, pkgs...),
		append([]string{"build", "-ldflags=-w", "-o", bin}, mainPkgs...),
		// The snippets' directories exist only in the overlay, where neither
		// vet nor a test binary can chdir: compile the tests, run them below.
		append([]string{"test", "-c", "-vet=off", "-ldflags=-w", "-o", bin}, testPkgs...),
	}
	outs, errs := make([][]byte, len(builds)), make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		args = append([]string{args[0], "-overlay", overlayFile}, args[1:]...)
		wg.Go(func() { outs[i], errs[i] = exec.CommandContext(ctx, goCmd, args...).CombinedOutput() })
	}
	wg.Wait()
	for i, args := range builds {
		if out, err := outs[i], errs[i]; err != nil {
			// Point at README lines rather than at the generated files.
			re := regexp.MustCompile(`\S*(s\d+)(?:\.go|[/\\]snippet(?:_test)?\.go):(\d+)`)
			msg := re.ReplaceAllStringFunc(string(out), func(m string) string {
				sub := re.FindStringSubmatch(m)
				o := origins[sub[1]]
				n, _ := strconv.Atoi(sub[2])
				return fmt.Sprintf("README.md:%d", o.readmeLine+n-o.firstLine)
			})
			t.Fatalf("README snippets fail (go %s): %v\n%s", args[0], err, msg)
		}
	}

	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			funcs := funcs[name]
			require.NotEmpty(t, funcs)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, testsPkg+".test"), "-test.v",
				"-test.run", "^("+strings.Join(funcs, "|")+")$")
			cmd.Dir = tmp
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "README.md:%d: the test failed:\n%s", origins[name].readmeLine, out)
			for _, f := range funcs {
				assert.Contains(t, string(out), "--- PASS: "+f+" ", "README.md:%d: %s did not run", origins[name].readmeLine, f)
			}
		})
	}

	// Run the programs on a fake Atlas, as a user would on their account.
	srv := atlastest.NewServer(atlastest.WithInvoices(300))
	t.Cleanup(srv.Close)
	for _, name := range mains {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, name))
			cmd.Env = append(withoutAtlasEnv(os.Environ()),
				"ATLAS_BASE_URL="+srv.URL, "ATLAS_EMAIL="+srv.Email(), "ATLAS_PASSWORD="+srv.Password())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "README.md:%d: the program failed:\n%s", origins[name].readmeLine, out)
			assert.NotEmpty(t, strings.TrimSpace(string(out)), "README.md:%d: the program printed nothing", origins[name].readmeLine)
		})
	}
}

// testsPkg is the package of the README's tests, one file per snippet.
const testsPkg = "tests"

// testFunc is the declaration of a test function in a snippet.
var testFunc = regexp.MustCompile(`(?m)^func (Test\w*)\(`)

// testFuncs returns the names of the test functions a snippet declares.
func testFuncs(code string) []string {
	var names []string
	for _, m := range testFunc.FindAllStringSubmatch(code, -1) {
		names = append(names, m[1])
	}
	return names
}

// withoutAtlasEnv drops the ATLAS_* variables of the test's own environment.
func withoutAtlasEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "ATLAS_") })
}

func TestSnippetSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		wantMain   bool
		want       []string // substrings of the generated file
	}{
		{"statements are wrapped and get their imports", "me, err := c.Auth.Me(ctx)\nif err != nil {\n\treturn err\n}\nfmt.Println(me.FullName)\n", false,
			[]string{"import atlas \"github.com/atlas-accounting/atlas-go\"", "import fmt \"fmt\"", "func snippet(ctx context.Context, c *atlas.Client"}},
		{"declarations are kept at top level", "func f(ctx context.Context) error { return nil }\n", false,
			[]string{"import context \"context\"\n\nfunc f("}},
		{"a program is kept as it is", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n", true,
			[]string{"package main\n\nimport \"fmt\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, first, isMain, err := snippetSource(readmeSnippet{code: tt.code})
			require.NoError(t, err)
			assert.Equal(t, tt.wantMain, isMain)
			for _, w := range tt.want {
				assert.Contains(t, src, w)
			}
			lines := strings.Split(src, "\n")
			require.Greater(t, len(lines), first-1)
			assert.Equal(t, strings.Split(tt.code, "\n")[0], lines[first-1], "firstLine must point at the snippet's first line")
		})
	}

	_, _, _, err := snippetSource(readmeSnippet{code: "import \"github.com/atlas-accounting/atlas-go/internal/backoff\"\n\nvar _ = backoff.Exponential\n"})
	assert.ErrorContains(t, err, "internal")
}

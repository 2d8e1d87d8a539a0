package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's section "atlastest from any language" shows a shell session with curl and
// jq against the command. TestReadmeCurlSession starts the command with the flags the
// README gives it and replays the session with net/http: a small interpreter reads each
// line as the shell would (quotes, $VAR, line continuations, $(...) assignments, a pipe
// into jq -r), does what curl and jq would do, and checks each output against the
// "# → ..." line that follows it. Neither curl nor jq needs to be installed, and a line it
// cannot read fails the test, so the session cannot rot.

const readmeSection = "## atlastest from any language"

// readmeShellBlocks returns the ```sh blocks of the README's section.
func readmeShellBlocks(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	text := string(raw)
	start := strings.Index(text, "\n"+readmeSection+"\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no section %q", readmeSection)
	section := text[start+1:]
	if end := strings.Index(section[len(readmeSection):], "\n## "); end >= 0 {
		section = section[:len(readmeSection)+end]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

func TestReadmeCurlSession(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	blocks := readmeShellBlocks(t)

	// The command, as the README builds and starts it, on a free port instead of its own.
	var args []string
	var readmeAddr string
	rest, ok := strings.CutPrefix(strings.TrimSpace(blocks[0]), readmeBuild+"\n"+readmeRun)
	require.True(t, ok, "the README's first block builds the binary, then runs it:\n%s", blocks[0])
	words, err := shellWords(rest, nil)
	require.NoError(t, err)
	for i := 0; i < len(words); i++ {
		if words[i] == "-addr" && i+1 < len(words) {
			readmeAddr = words[i+1]
			i++
			continue
		}
		args = append(args, words[i])
	}
	require.NotEmpty(t, readmeAddr, "the README starts the command with -addr")

	var session string
	for _, b := range blocks {
		if strings.Contains(b, "curl ") && strings.Contains(b, "A=") {
			session = b
		}
	}
	require.NotEmpty(t, session, "the README's section has a curl session")

	p := startCommand(t, args...)
	sh := &shell{t: t, vars: map[string]string{}, hc: &http.Client{Transport: &http.Transport{}},
		addr: "http://" + readmeAddr, root: p.root()}
	defer sh.hc.CloseIdleConnections()
	sh.run(session)
	assert.GreaterOrEqual(t, sh.curls, 12, "every curl of the session ran")
	assert.GreaterOrEqual(t, sh.checked, 5, "every expected output was compared")
	assert.Equal(t, 0, p.stop(t))
}

// The README leads with building the binary and running it, not with go run, which does
// not pass SIGTERM on.
const (
	readmeBuild = "go build -o atlastest ./cmd/atlastest"
	readmeRun   = "./atlastest "
)

// Every command line of the README's section is one the command accepts: the container
// example too, which listens beyond loopback and so needs a control token or -control-open.
func TestReadmeCommandLinesParse(t *testing.T) {
	t.Parallel()
	var lines int
	for _, b := range readmeShellBlocks(t) {
		for _, line := range strings.Split(b, "\n") {
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), readmeRun)
			if !ok {
				continue
			}
			if i := strings.Index(rest, " #"); i >= 0 {
				rest = rest[:i]
			}
			words, err := shellWords(rest, map[string]string{"ATLASTEST_TOKEN": "readme-token"})
			require.NoError(t, err, line)
			if i := slices.Index(words, "-control-token-file"); i >= 0 && i+1 < len(words) {
				// The secret's file the README names is a file of the test's.
				words[i+1] = filepath.Join(t.TempDir(), "token")
				require.NoError(t, os.WriteFile(words[i+1], []byte("readme-token\n"), 0o600))
			}
			_, err = parseFlags(words, io.Discard)
			require.NoError(t, err, line)
			lines++
		}
	}
	assert.GreaterOrEqual(t, lines, 3, "the README runs the command, over TLS and in a container")
}

// TestReadmeShowsTheJSONLine checks the -json line the README shows against the one the
// command prints: every key shown is printed, with a value of the same JSON type, and every
// key printed at the top and under "seed" is shown. (jq -r .email on it gave null when the
// README suggested the credentials were at the top.)
func TestReadmeShowsTheJSONLine(t *testing.T) {
	skipWithoutSignals(t)
	t.Parallel()
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	text := string(raw)
	start := strings.Index(text, "\n"+readmeSection+"\n")
	require.GreaterOrEqual(t, start, 0)
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(text[start:])
	require.NotNil(t, m, "the section shows the -json line")
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(m[1]), &shown), "the README's -json line is JSON")

	p := startCommand(t)
	var printed map[string]any
	require.NoError(t, json.Unmarshal(p.line, &printed))
	sameShape(t, ".", shown, printed, true)
	seed, _ := printed["seed"].(map[string]any)
	assert.Equal(t, p.info.Seed.Email, seed["email"], "jq -r .seed.email")
	assert.Equal(t, 0, p.stop(t))
}

// sameShape checks that printed has every key of shown with a value of the same JSON type,
// and, when complete, no key that shown lacks. Only "seed" is complete below the top.
func sameShape(t *testing.T, path string, shown, printed any, complete bool) {
	t.Helper()
	switch sv := shown.(type) {
	case map[string]any:
		pv, ok := printed.(map[string]any)
		if !assert.True(t, ok, "%s: the command prints %T, the README shows an object", path, printed) {
			return
		}
		for k, v := range sv {
			if assert.Contains(t, pv, k, "%s: the README shows %q, which the command does not print", path, k) {
				sameShape(t, strings.TrimSuffix(path, ".")+"."+k, v, pv[k], path == "." && k == "seed")
			}
		}
		if complete {
			for k := range pv {
				assert.Contains(t, sv, k, "%s: the command prints %q, which the README does not show", path, k)
			}
		}
	case []any:
		pv, ok := printed.([]any)
		if assert.True(t, ok, "%s: the command prints %T, the README shows an array", path, printed) && len(sv) > 0 && len(pv) > 0 {
			sameShape(t, path+"[0]", sv[0], pv[0], false)
		}
	default:
		assert.IsType(t, shown, printed, "%s: the README shows a %T, the command prints a %T", path, shown, printed)
	}
}

// shell replays a session.
type shell struct {
	t       *testing.T
	vars    map[string]string
	hc      *http.Client
	addr    string // the README's server address, "http://127.0.0.1:8080"
	root    string // the command's, which takes its place
	last    string // the output of the last command
	curls   int
	checked int
}

var assignment = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(.*)$`)

// run replays a session, a line (with its continuations) at a time.
func (sh *shell) run(session string) {
	t := sh.t
	for _, line := range strings.Split(strings.ReplaceAll(session, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# → "):
			assert.Equal(t, strings.TrimPrefix(line, "# → "), strings.TrimSuffix(sh.last, "\n"), "the output the README shows")
			sh.checked++
		case strings.HasPrefix(line, "#"):
		default:
			if m := assignment.FindStringSubmatch(line); m != nil {
				name, value := m[1], m[2]
				if inner, ok := strings.CutPrefix(value, "$("); ok && strings.HasSuffix(inner, ")") {
					sh.vars[name] = strings.TrimRight(sh.pipeline(strings.TrimSuffix(inner, ")")), "\n")
					continue
				}
				words, err := shellWords(value, sh.vars)
				require.NoError(t, err, line)
				require.Len(t, words, 1, line)
				v := words[0]
				if v == sh.addr {
					v = sh.root
				}
				sh.vars[name] = v
				continue
			}
			sh.last = sh.pipeline(line)
		}
	}
}

// pipeline runs "curl ... [| jq -r FILTER]" and returns its output.
func (sh *shell) pipeline(line string) string {
	t := sh.t
	words, err := shellWords(line, sh.vars)
	require.NoError(t, err, line)
	var stages [][]string
	cur := []string{}
	for _, w := range words {
		if w == "|" {
			stages = append(stages, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	stages = append(stages, cur)
	require.LessOrEqual(t, len(stages), 2, "a curl, piped at most into jq: %s", line)
	out := sh.curl(stages[0])
	if len(stages) == 2 {
		out = jq(t, stages[1], out)
	}
	return out
}

// curl does what curl does with the flags the session uses.
func (sh *shell) curl(args []string) string {
	t := sh.t
	require.NotEmpty(t, args)
	require.Equal(t, "curl", args[0], "only curl runs here: %v", args)
	sh.curls++
	var (
		method, url, data, format string
		fail, discard, hasData    bool
		header                    = http.Header{}
	)
	for i := 1; i < len(args); i++ {
		a := args[i]
		next := func() string {
			require.Less(t, i+1, len(args), "%s needs a value", a)
			i++
			return args[i]
		}
		switch {
		case a == "-s":
		case a == "-f" || a == "-sf" || a == "-fs":
			fail = true
		case a == "-X":
			method = next()
		case a == "-H":
			k, v, ok := strings.Cut(next(), ":")
			require.True(t, ok, "a header is Name: value")
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case a == "-d":
			data, hasData = next(), true
		case a == "-o":
			require.Equal(t, "/dev/null", next(), "only -o /dev/null")
			discard = true
		case a == "-w":
			format = next()
		case strings.HasPrefix(a, "-"):
			t.Fatalf("curl flag %s is not replayed here: add it to the test", a)
		default:
			require.Empty(t, url, "one URL")
			url = a
		}
	}
	if method == "" {
		method = http.MethodGet
		if hasData {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if hasData {
		body = strings.NewReader(data)
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d sends it
		}
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header = header
	resp, err := sh.hc.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if fail {
		require.Less(t, resp.StatusCode, 400, "curl -f fails on %s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	var out bytes.Buffer
	if !discard {
		out.Write(raw)
	}
	if format != "" {
		f := strings.ReplaceAll(format, `\n`, "\n")
		out.WriteString(strings.ReplaceAll(f, "%{http_code}", strconv.Itoa(resp.StatusCode)))
	}
	return out.String()
}

var jqStep = regexp.MustCompile(`^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\["([^"]*)"\])`)

// jq does what jq -r does with a path filter: .a.b, .a[0], .a["key"].
func jq(t *testing.T, args []string, input string) string {
	require.Equal(t, []string{"jq", "-r"}, args[:min(2, len(args))], "only jq -r FILTER runs here")
	require.Len(t, args, 3, "jq -r FILTER")
	var v any
	require.NoError(t, json.Unmarshal([]byte(input), &v), "jq's input is JSON: %s", input)
	filter := args[2]
	require.True(t, strings.HasPrefix(filter, "."), filter)
	rest := filter
	if rest == "." {
		rest = ""
	}
	for rest != "" {
		m := jqStep.FindStringSubmatch(rest)
		require.NotNil(t, m, "jq filter %q is not a path this test reads", filter)
		rest = rest[len(m[0]):]
		switch {
		case m[1] != "" || m[3] != "" || strings.HasPrefix(m[0], `["`):
			key := m[1] + m[3]
			obj, ok := v.(map[string]any)
			require.True(t, ok, "%s: not an object", filter)
			v = obj[key]
		default:
			arr, ok := v.([]any)
			require.True(t, ok, "%s: not an array", filter)
			i, _ := strconv.Atoi(m[2])
			if i < 0 {
				i += len(arr)
			}
			require.True(t, i >= 0 && i < len(arr), "%s: index out of range", filter)
			v = arr[i]
		}
	}
	if s, ok := v.(string); ok {
		return s + "\n"
	}
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw) + "\n"
}

// shellWords splits a line into words as a POSIX shell would for the session: single
// quotes keep everything, double quotes expand $VAR and ${VAR} and take \" \\ \$ as
// escapes, an unquoted | is a word of its own. vars nil expands nothing.
func shellWords(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(s string, i int) (string, int, error) { // s[i] == '$'
		j := i + 1
		braced := j < len(s) && s[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		name := s[j:k]
		if braced {
			if k >= len(s) || s[k] != '}' {
				return "", 0, fmt.Errorf("unclosed ${ in %q", s)
			}
			k++
		}
		if name == "" {
			return "$", i + 1, nil
		}
		v, ok := vars[name]
		if vars != nil && !ok {
			return "", 0, fmt.Errorf("$%s is not set", name)
		}
		return v, k, nil
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '|':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			words = append(words, "|")
			i++
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			i++
			inWord = true
			for {
				if i >= len(line) {
					return nil, fmt.Errorf("unclosed \" in %q", line)
				}
				d := line[i]
				if d == '"' {
					i++
					break
				}
				if d == '\\' && i+1 < len(line) && strings.ContainsRune(`"\$`, rune(line[i+1])) {
					cur.WriteByte(line[i+1])
					i += 2
					continue
				}
				if d == '$' && vars != nil {
					v, next, err := expand(line, i)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					i = next
					continue
				}
				cur.WriteByte(d)
				i++
			}
		case c == '$' && vars != nil:
			v, next, err := expand(line, i)
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
			inWord = true
			i = next
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "http://h", "T": "tok"}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{`curl -sf $A/x -H "Authorization: Bearer $T"`, []string{"curl", "-sf", "http://h/x", "-H", "Authorization: Bearer tok"}},
		{`curl "$A/y?a=1&b=${T}" | jq -r '.x["k"]'`, []string{"curl", "http://h/y?a=1&b=tok", "|", "jq", "-r", `.x["k"]`}},
		{`-d "{\"e\": \"$T\"}" '$A'`, []string{"-d", `{"e": "tok"}`, "$A"}},
		{`a""b ''`, []string{"ab", ""}},
	} {
		got, err := shellWords(tc.line, vars)
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.want, got, tc.line)
	}
	for _, bad := range []string{`"open`, `'open`, `$UNSET`, `${A`} {
		_, err := shellWords(bad, vars)
		assert.Error(t, err, bad)
	}
}

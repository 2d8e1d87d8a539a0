// Package redacttest checks that values holding secrets print redacted: it
// lists a package's exported types from its source, so that a test can
// require a decision for each of them, and it prints a value in every way a
// program may print or log it, looking for the secrets planted in it. The
// tests of the atlas and atlasredis packages use it; it is not for users.
package redacttest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// ExportedTypes returns the names of the exported types that the package in
// dir declares at file scope, test files left out, sorted.
func ExportedTypes(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				if ts := spec.(*ast.TypeSpec); ts.Name.IsExported() {
					names = append(names, ts.Name.Name)
				}
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// Verbs are the fmt verbs a value is printed with: the six, and the
// others a struct of strings answers (%X, %d).
var Verbs = []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d"}

// Leaks prints v with each of Verbs, and logs it as an attribute through
// slog's text and JSON handlers, and returns where one of secrets showed, as
// it is, hex-encoded or quoted: "%+v of *atlas.MemoryTokenStore", say. It
// never returns what was printed, which would show the secret.
func Leaks(v any, secrets ...string) []string {
	var leaks []string
	check := func(how, out string) {
		for _, s := range secrets {
			if shows(out, s) {
				leaks = append(leaks, fmt.Sprintf("%s of %T", how, v))
				return
			}
		}
	}
	for _, verb := range Verbs {
		check(verb, fmt.Sprintf(verb, v))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v)
	check("slog's text handler", buf.String())
	buf.Reset()
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v)
	check("slog's JSON handler", buf.String())
	return leaks
}

// shows reports whether out shows secret in a form a reader could decode.
func shows(out, secret string) bool {
	hexed := hex.EncodeToString([]byte(secret))
	for _, form := range []string{secret, hexed, strings.ToUpper(hexed), fmt.Sprintf("%q", secret)} {
		if strings.Contains(out, form) {
			return true
		}
	}
	return false
}

// Forms returns v and, when v is a non-nil pointer, the value it points to;
// when v is not a pointer, a pointer to a copy of it too. A program may print
// either.
func Forms(v any) []any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return []any{v}
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return []any{v}
		}
		return []any{v, rv.Elem().Interface()}
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	return []any{v, p.Interface()}
}

// secretName matches the name of a field that may hold a secret.
var secretName = regexp.MustCompile(`(?i)passw|secret|token|credential|seal|aead|cipher|apikey|api_key|privatekey`)

// SecretField walks the fields of t, through pointers, slices, arrays, maps
// and nested structs (not through interfaces and funcs, whose contents a type
// does not say), and returns the path of the first field whose name or type
// name suggests a secret, or "" for none.
func SecretField(t reflect.Type) string {
	return secretField(t, t.String(), map[reflect.Type]bool{})
}

func secretField(t reflect.Type, path string, seen map[reflect.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return secretField(t.Elem(), path, seen)
	case reflect.Map:
		if p := secretField(t.Key(), path, seen); p != "" {
			return p
		}
		return secretField(t.Elem(), path, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			p := path + "." + f.Name
			if secretName.MatchString(f.Name) || secretName.MatchString(f.Type.Name()) {
				return p
			}
			if p := secretField(f.Type, p, seen); p != "" {
				return p
			}
		}
	}
	return ""
}

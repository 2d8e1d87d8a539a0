package redacttest

import (
	"reflect"
	"testing"
)

// Catalogue says, for every exported type of a package, how a test knows it
// prints no secret. Each type is in exactly one of the maps.
type Catalogue struct {
	// Holders make values of the types that hold a secret, with Secrets
	// planted in them; every way of printing them must hide the secrets.
	Holders map[string]func(t *testing.T) []any
	// Plain are the types that hold no secret: none may have a field named
	// like one.
	Plain map[string]reflect.Type
	// Own are the types checked in a way of their own (the func, which may
	// be nil for a type exempt by design).
	Own map[string]func(t *testing.T)
	// Secrets are the secrets planted in the Holders' values.
	Secrets []string
}

// CheckPackage fails t for each exported type that the package in dir
// declares and c does not place, for each that c places in more than one map
// or that the package does not declare, for each Holders value that shows a
// planted secret when printed (see Forms), and for each Plain type with a
// field named like a secret.
func CheckPackage(t *testing.T, dir string, c Catalogue) {
	t.Helper()
	names, err := ExportedTypes(dir)
	if err != nil {
		t.Fatalf("list the exported types of %s: %v", dir, err)
	}
	if len(names) == 0 {
		t.Fatalf("%s declares no exported type", dir)
	}
	declared := map[string]bool{}
	for _, name := range names {
		declared[name] = true
		holder, plain, own := c.Holders[name], c.Plain[name], c.Own[name]
		_, isHolder := c.Holders[name]
		_, isPlain := c.Plain[name]
		_, isOwn := c.Own[name]
		switch {
		case btoi(isHolder)+btoi(isPlain)+btoi(isOwn) > 1:
			t.Errorf("%s is placed more than once in the catalogue", name)
		case isHolder:
			for _, v := range holder(t) {
				for _, form := range Forms(v) {
					for _, leak := range Leaks(form, c.Secrets...) {
						t.Errorf("%s: a planted secret shows in %s", name, leak)
					}
				}
			}
		case isPlain:
			if field := SecretField(plain); field != "" {
				t.Errorf("%s is listed as holding no secret, but has the field %s: list it with values that hold "+
					"its secrets, and make it print redacted", name, field)
			}
		case isOwn:
			if own != nil {
				own(t)
			}
		default:
			t.Errorf("exported type %s is new: list it with values that hold its secrets, or as holding none", name)
		}
	}
	for _, m := range []map[string]bool{keys(c.Holders), keys(c.Plain), keys(c.Own)} {
		for name := range m {
			if !declared[name] {
				t.Errorf("the catalogue lists %s, which %s does not declare", name, dir)
			}
		}
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

package redacttest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportedTypesComeFromTheSourceWithoutTests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600))
	}
	write("a.go", "package p\n\ntype Zeta struct{ Password string }\n\ntype (\n\tAlpha int\n\thidden int\n)\n\nfunc F() { type Local int }\n")
	write("b.go", "package p\n\ntype Page[T any] struct{ Items []T }\n")
	write("a_test.go", "package p\n\ntype InTest int\n")
	write("notes.txt", "type NotGo int\n")
	names, err := ExportedTypes(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"Alpha", "Page", "Zeta"}, names)
}

type leaky struct{ Key string }

type nested struct {
	ID    string
	inner *struct {
		items map[string][]struct{ apiKey []byte }
	}
}

func TestLeaksFindsASecretInEveryForm(t *testing.T) {
	t.Parallel()
	v := leaky{Key: "Sec-42ab"}
	leaks := Leaks(v, "Sec-42ab")
	// %x and %X print it hex-encoded; the JSON handler encodes the field.
	assert.Len(t, leaks, len(Verbs)+2)
	assert.NotContains(t, leaks[0], "Sec-42ab", "a leak is named, never shown")
	assert.Empty(t, Leaks(leaky{Key: "public"}, "Sec-42ab"))
}

func TestFormsGivesValueAndPointer(t *testing.T) {
	t.Parallel()
	v := leaky{Key: "k"}
	assert.Equal(t, []any{v, &v}, Forms(v))
	assert.Equal(t, []any{&v, v}, Forms(&v))
	assert.Equal(t, []any{(*leaky)(nil)}, Forms((*leaky)(nil)))
}

func TestSecretFieldLooksThroughPointersMapsAndSlices(t *testing.T) {
	t.Parallel()
	v := nested{inner: &struct {
		items map[string][]struct{ apiKey []byte }
	}{}}
	assert.Equal(t, "redacttest.nested.inner.items.apiKey", SecretField(reflect.TypeOf(v)))
	assert.Empty(t, SecretField(reflect.TypeFor[leaky]()))
}

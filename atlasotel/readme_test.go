package atlasotel_test

import (
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"
)

// The README's atlasotel snippets (marked for atlasotel/readme_test.go; the
// core module's readme_test.go skips them, since they import atlasotel,
// which the core module does not require) are whole programs; each is built
// as a package of this module, so that none of them can rot.
func TestREADMESnippetsCompile(t *testing.T) {
	t.Parallel()
	testkit.CompileReadmeSnippets(t, "../README.md", "atlasotel")
}

package atlasredis

import (
	"testing"

	"github.com/atlas-accounting/atlas-go/internal/testkit"
)

// The README's atlasredis snippets (marked for atlasredis/readme_test.go;
// the core module's readme_test.go skips them, since they import atlasredis,
// which the core module does not require) are whole programs; each is built
// as a package of this module, so that none of them can rot.
func TestREADMESnippetsCompile(t *testing.T) {
	t.Parallel() // a go command of its own: it shares nothing with the other tests
	testkit.CompileReadmeSnippets(t, "../README.md", "atlasredis")
}

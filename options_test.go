package atlas

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorTexts returns the message of err and of every error it wraps, so that
// a secret is looked for in what a caller unwrapping the error sees too.
func errorTexts(err error) []string {
	if err == nil {
		return nil
	}
	texts := []string{err.Error()}
	if next := errors.Unwrap(err); next != nil {
		texts = append(texts, errorTexts(next)...)
	}
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		for _, e := range multi.Unwrap() {
			texts = append(texts, errorTexts(e)...)
		}
	}
	return texts
}

func TestBaseURLErrorsQuoteNoUserInfoQueryOrFragment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		raw     string
		secrets []string // what the error must not contain, not even in part
	}{
		{"key in the query of an ftp URL", "ftp://api.example.com/v1?api_key=QK7zebra", []string{"QK7zebra", "api_key"}},
		{"key in the query of a remote http URL", "http://api.example.com/v1?api_key=QK7zebra", []string{"QK7zebra", "api_key"}},
		{"key in the query of a relative URL", "/api/v1?api_key=QK7zebra", []string{"QK7zebra", "api_key"}},
		{"key in the query of an https URL", "https://api.example.com/v1?api_key=QK7zebra", []string{"QK7zebra", "api_key"}},
		{"token in the fragment", "https://api.example.com/v1#access_token=QK7zebra", []string{"QK7zebra"}},
		{"bad escape in the fragment", "https://api.example.com/v1#QK7zebra%zzQK8", []string{"QK7zebra", "%zz", "QK8"}},
		{"password with a slash", "https://jane:Pw9x/Tail9@api.example.com/v1", []string{"Pw9x", "Tail9"}},
		{"password with a question mark", "https://jane:Pw9x?Tail9@api.example.com/v1", []string{"Pw9x", "Tail9"}},
		{"password with a hash", "https://jane:Pw9x#Tail9@api.example.com/v1", []string{"Pw9x", "Tail9"}},
		{"numeric password before a question mark", "https://jane:48151623?Tail9@api.example.com/v1", []string{"jane", "48151623", "Tail9"}},
		{"numeric password before a slash, over http", "http://jane:48151623/Tail9@api.example.com/v1", []string{"jane", "48151623", "Tail9"}},
		{"password in an opaque URL with a query", "jane:Pw9x@api.example.com/v1?k=QK7zebra", []string{"Pw9x", "QK7zebra"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(WithBaseURL(tc.raw))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			for _, text := range errorTexts(err) {
				for _, s := range tc.secrets {
					// The message is not printed: it would show the secret.
					assert.False(t, containsFold(text, s), "an error of NewClient quotes %q of the base URL", s)
				}
			}
		})
	}
}

func TestBaseURLWithAQueryOrFragmentIsRefused(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://api.example.com/api/v1?",
		"https://api.example.com/api/v1/?",
		"https://api.example.com/api/v1#",
		"https://api.example.com/api/v1?#",
		"https://api.example.com/api/v1?x=1",
		"https://api.example.com/api/v1#top",
		"https://api.example.com?",
		"http://127.0.0.1:8080/api/v1?",
	} {
		c, err := NewClient(WithBaseURL(raw))
		require.Error(t, err, raw)
		assert.Nil(t, c, raw)
		assert.ErrorIs(t, err, ErrInvalidConfig, raw)
		assert.Contains(t, err.Error(), "query or fragment", raw)
		// It names the URL without its query and fragment.
		assert.Contains(t, err.Error(), strconv.Quote(raw[:strings.IndexAny(raw, "?#")]), raw)
	}
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

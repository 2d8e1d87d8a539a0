package atlas

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseISO8601(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-02-01T08:00:00Z", at, true},
		{"2026-02-01T09:00:00+01:00", at, true},
		{"2026-02-01T09:00:00+0100", at, true},
		{"2026-02-01T09:00:00+01", at, true},
		{"2026-02-01T08:00:00", at, true},                                       // no zone: UTC
		{"2026-02-01 08:00:00", at, true},                                       // a space instead of T
		{"2026-02-01 08:00:00Z", at, true},                                      // a space, with a zone
		{"2026-02-01T08:00:00.123456", at.Add(123456 * time.Microsecond), true}, // fractional seconds
		{"2026-02-01T08:00:00,5Z", at.Add(500 * time.Millisecond), true},        // ISO 8601's decimal comma
		{"2026-02-01t08:00:00z", at, true},                                      // lower case
		{"2026-02-01T08:00", at, true},                                          // minutes only
		{"2026-02-01T09:00+01:00", at, true},
		{"2026-02-01", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true}, // a date only
		{"20260201T080000Z", at, true},                                    // basic format
		{"20260201", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true},
		{"  2026-02-01T08:00:00Z ", at, true},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
		{"2026-02-30T08:00:00Z", time.Time{}, false},
		{"2026-13-01", time.Time{}, false},
		{"01/02/2026 08:00", time.Time{}, false},
		{"2026-02-01T08:00:00Z" + strings.Repeat("0", 100), time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseISO8601(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.True(t, tt.want.Equal(got), "%q: got %v, want %v", tt.in, got, tt.want)
	}
}

func TestDecodeTimestamp(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		`"2026-02-01T08:00:00Z"`: at,
		`"2026-02-01 08:00:00"`:  at,
		`"garbage"`:              {},
		`null`:                   {},
		`""`:                     {},
	} {
		got := time.Unix(1, 0) // a value that must be overwritten
		assert.NoError(t, decodeTimestamp([]byte(in), &got), in)
		assert.True(t, want.Equal(got), "%s: got %v", in, got)
	}
	for _, in := range []string{`5`, `true`, `{}`, `["2026-02-01"]`} {
		got := time.Time{}
		err := decodeTimestamp([]byte(in), &got)
		assert.Error(t, err, in)
		assert.Contains(t, err.Error(), "want an ISO 8601 string")
	}
}

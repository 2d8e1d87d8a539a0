package atlas

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Timestamps the SDK only reports (a report's generated_at, a webhook's
// timestamp and closed_at) are read as a tolerant reader would: any of the
// common ISO 8601 forms is accepted, and a string that is none of them leaves
// the zero time rather than failing the whole answer. A value of another JSON
// type (a number, an object) is still an error: that is not a timestamp at all.

// isoLayouts are the ISO 8601 forms parseISO8601 reads, after it has
// upper-cased the text and turned a space between date and time into a T.
// Fractional seconds (with a dot or a comma) are accepted after the seconds
// of every layout that has seconds; a form without a zone is UTC.
var isoLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04Z07",
	"2006-01-02T15:04",
	"2006-01-02",
	"20060102T150405Z0700",
	"20060102T150405Z07",
	"20060102T150405",
	"20060102",
}

// maxTimestampLen bounds the text parseISO8601 tries: the longest form it
// reads, with nanoseconds and a zone, is 35 bytes.
const maxTimestampLen = 64

// parseISO8601 reads s in one of the isoLayouts forms. It reports false when
// s is in none of them.
func parseISO8601(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < len("20060102") || len(s) > maxTimestampLen {
		return time.Time{}, false
	}
	s = strings.ToUpper(s) // "t" and "z" are valid ISO 8601 too
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range isoLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// decodeTimestamp reads a JSON timestamp tolerantly into *t: null leaves the
// zero time, a string is read with parseISO8601 (the zero time when it cannot
// be), and any other JSON value is an error.
func decodeTimestamp(b []byte, t *time.Time) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("atlas: invalid timestamp %.64s: want an ISO 8601 string", b)
	}
	*t = time.Time{}
	if s != nil {
		*t, _ = parseISO8601(*s)
	}
	return nil
}

// isoTime is a time.Time decoded by decodeTimestamp.
type isoTime time.Time

func (t *isoTime) UnmarshalJSON(b []byte) error {
	return decodeTimestamp(b, (*time.Time)(t))
}

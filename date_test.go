package atlas_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	atlas "github.com/atlas-accounting/atlas-go"
)

func date(y int, m time.Month, d int) atlas.Date { return atlas.NewDate(y, m, d) }

func TestDateSub(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d, u atlas.Date
		want int
	}{
		{"same day", date(2026, 3, 10), date(2026, 3, 10), 0},
		{"next day", date(2026, 3, 11), date(2026, 3, 10), 1},
		{"previous day", date(2026, 3, 9), date(2026, 3, 10), -1},
		{"over February, common year", date(2026, 3, 1), date(2026, 2, 28), 1},
		{"over February, leap year", date(2024, 3, 1), date(2024, 2, 28), 2},
		{"1900 is not a leap year", date(1900, 3, 1), date(1900, 2, 28), 1},
		{"2000 is a leap year", date(2000, 3, 1), date(2000, 2, 28), 2},
		{"over New Year", date(2027, 1, 1), date(2026, 12, 31), 1},
		{"a common year", date(2027, 1, 1), date(2026, 1, 1), 365},
		{"a leap year", date(2025, 1, 1), date(2024, 1, 1), 366},
		{"negative span over a leap day", date(2024, 2, 1), date(2024, 3, 1), -29},
		{"30 days overdue", date(2026, 4, 9), date(2026, 3, 10), 30},
		{"before 1970", date(1969, 12, 31), date(1970, 1, 1), -1},
		{"more than 292 years (time.Duration's limit)", date(2400, 1, 1), date(2000, 1, 1), 146097},
		{"the whole range of valid dates", date(9999, 12, 31), date(1, 1, 1), 3652058},
		{"the whole range backwards", date(1, 1, 1), date(9999, 12, 31), -3652058},
		{"an impossible date counts as it normalizes", date(2026, 2, 30), date(2026, 3, 2), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.d.Sub(tc.u), "%s - %s", tc.d, tc.u)
			assert.Equal(t, -tc.want, tc.u.Sub(tc.d), "%s - %s", tc.u, tc.d)
		})
	}
}

// Sub and AddDays undo each other, and agree with time.Time, on every day
// of four centuries (a whole cycle of the Gregorian calendar) and more.
func TestDateSubAgreesWithAddDaysAndTime(t *testing.T) {
	t.Parallel()
	start := date(1899, 12, 25)
	at := start.In(time.UTC)
	for n := range 146097 + 400 {
		d := start.AddDays(n)
		// Plain comparisons: testify's would make this loop take seconds.
		if got := d.Sub(start); got != n || d != atlas.DateOf(at.AddDate(0, 0, n)) || !d.Valid() {
			t.Fatalf("%s + %d days = %s, which is %d days after it (valid: %t)", start, n, d, got, d.Valid())
		}
	}
}

func TestDateAddMonths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    atlas.Date
		n    int
		want atlas.Date
	}{
		{"zero", date(2026, 1, 31), 0, date(2026, 1, 31)},
		{"a day every month has", date(2026, 1, 15), 1, date(2026, 2, 15)},
		{"Jan 31 + 1 clamps to Feb 28", date(2026, 1, 31), 1, date(2026, 2, 28)},
		{"Jan 31 + 1 in a leap year clamps to Feb 29", date(2024, 1, 31), 1, date(2024, 2, 29)},
		{"Jan 30 + 1 in 1900 (not leap)", date(1900, 1, 30), 1, date(1900, 2, 28)},
		{"Jan 30 + 1 in 2000 (leap)", date(2000, 1, 30), 1, date(2000, 2, 29)},
		{"Jan 31 + 2 keeps the 31st", date(2026, 1, 31), 2, date(2026, 3, 31)},
		{"Mar 31 + 1 clamps to Apr 30", date(2026, 3, 31), 1, date(2026, 4, 30)},
		{"Aug 31 + 1 clamps to Sep 30", date(2026, 8, 31), 1, date(2026, 9, 30)},
		{"Feb 28 + 1 stays the 28th", date(2026, 2, 28), 1, date(2026, 3, 28)},
		{"over New Year", date(2026, 12, 15), 1, date(2027, 1, 15)},
		{"Dec 31 + 2 clamps to Feb 28", date(2026, 12, 31), 2, date(2027, 2, 28)},
		{"Mar 31 - 1 clamps to Feb 28", date(2026, 3, 31), -1, date(2026, 2, 28)},
		{"Mar 31 - 1 in a leap year clamps to Feb 29", date(2024, 3, 31), -1, date(2024, 2, 29)},
		{"May 31 - 1 clamps to Apr 30", date(2026, 5, 31), -1, date(2026, 4, 30)},
		{"back over New Year", date(2026, 1, 15), -1, date(2025, 12, 15)},
		{"twelve months", date(2026, 6, 30), 12, date(2027, 6, 30)},
		{"25 months", date(2026, 1, 31), 25, date(2028, 2, 29)},
		{"-25 months", date(2026, 1, 31), -25, date(2023, 12, 31)},
		{"-14 months to a leap February", date(2025, 4, 30), -14, date(2024, 2, 29)},
		{"an impossible date is normalized first", date(2026, 2, 30), 1, date(2026, 4, 2)},
		{"month 13 is January of the next year", atlas.Date{Year: 2026, Month: 13, Day: 31}, 1, date(2027, 2, 28)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.d.AddMonths(tc.n)
			assert.Equal(t, tc.want, got, "%s + %d months", tc.d, tc.n)
			assert.True(t, got.Valid(), "%s", got)
		})
	}
}

func TestDateAddYears(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    atlas.Date
		n    int
		want atlas.Date
	}{
		{"zero", date(2024, 2, 29), 0, date(2024, 2, 29)},
		{"Feb 29 + 1 clamps to Feb 28", date(2024, 2, 29), 1, date(2025, 2, 28)},
		{"Feb 29 + 4 is Feb 29", date(2024, 2, 29), 4, date(2028, 2, 29)},
		{"Feb 29 - 1 clamps to Feb 28", date(2024, 2, 29), -1, date(2023, 2, 28)},
		{"Feb 29 - 4 is Feb 29", date(2024, 2, 29), -4, date(2020, 2, 29)},
		{"Feb 29, 2096 + 4: 2100 is not leap", date(2096, 2, 29), 4, date(2100, 2, 28)},
		{"a fiscal year", date(2026, 1, 1), 1, date(2027, 1, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.d.AddYears(tc.n), "%s + %d years", tc.d, tc.n)
		})
	}
}

func TestDateEndOfMonth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d    atlas.Date
		want int
	}{
		{date(2026, 1, 1), 31},
		{date(2026, 2, 14), 28},
		{date(2024, 2, 1), 29},
		{date(2000, 2, 29), 29},
		{date(2100, 2, 10), 28},
		{date(2026, 4, 30), 30},
		{date(2026, 12, 25), 31},
	}
	for _, tc := range cases {
		t.Run(tc.d.String(), func(t *testing.T) {
			t.Parallel()
			want := date(tc.d.Year, tc.d.Month, tc.want)
			assert.Equal(t, want, tc.d.EndOfMonth())
			assert.Equal(t, 1, want.AddDays(1).Day, "the next day starts a month")
		})
	}
}

func TestDateCompareAndEqual(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d, u atlas.Date
		want int
	}{
		{date(2026, 3, 10), date(2026, 3, 10), 0},
		{date(2026, 3, 9), date(2026, 3, 10), -1},
		{date(2026, 3, 11), date(2026, 3, 10), 1},
		{date(2025, 12, 31), date(2026, 1, 1), -1},
		{date(2026, 2, 1), date(2026, 1, 31), 1},
		{date(1, 1, 1), date(9999, 12, 31), -1},
		{date(2026, 2, 30), date(2026, 3, 2), 0}, // as time.Date normalizes it
	}
	for _, tc := range cases {
		t.Run(tc.d.String()+" vs "+tc.u.String(), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.d.Compare(tc.u))
			assert.Equal(t, -tc.want, tc.u.Compare(tc.d))
			assert.Equal(t, tc.want == 0, tc.d.Equal(tc.u))
			assert.Equal(t, tc.want < 0, tc.d.Before(tc.u), "Compare agrees with Before")
			assert.Equal(t, tc.want > 0, tc.d.After(tc.u), "Compare agrees with After")
		})
	}

	dates := []atlas.Date{date(2026, 3, 1), date(2025, 12, 31), date(2026, 2, 28), date(2024, 2, 29), date(2026, 1, 31)}
	slices.SortFunc(dates, atlas.Date.Compare)
	assert.Equal(t, []atlas.Date{date(2024, 2, 29), date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 1)}, dates)
	i, found := slices.BinarySearchFunc(dates, date(2026, 1, 31), atlas.Date.Compare)
	assert.True(t, found)
	assert.Equal(t, 2, i)
}

func TestToday(t *testing.T) {
	t.Parallel()
	// Kiribati (UTC+14) and Niue (UTC-11) are on different dates for most of
	// every day; each Today must be its zone's date, read between two readings
	// of the clock (a midnight can pass between them).
	for _, loc := range []*time.Location{time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-11", -11*3600), time.UTC, nil} {
		before := time.Now()
		got := atlas.Today(loc)
		after := time.Now()
		zone := loc
		if zone == nil {
			zone = time.UTC // nil is UTC, not a panic
		}
		lo, hi := atlas.DateOf(before.In(zone)), atlas.DateOf(after.In(zone))
		assert.True(t, !got.Before(lo) && !got.After(hi), "Today(%v) = %s, want %s..%s", loc, got, lo, hi)
	}
}

// FuzzDateAddMonths checks AddMonths' rule on any date and count: it lands
// n months away, on the same day or, when that month is shorter, on its
// last day, and never panics.
func FuzzDateAddMonths(f *testing.F) {
	f.Add(2026, 1, 31, 1)
	f.Add(2024, 2, 29, -12)
	f.Add(2026, 2, 30, 0)
	f.Add(1, 1, 1, -1)
	f.Fuzz(func(t *testing.T, y, m, d, n int) {
		start := atlas.NewDate(y, time.Month(m), d)
		got := start.AddMonths(n) // must not panic, whatever the input
		if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 || n < -12*9000 || n > 12*9000 {
			return
		}
		norm := start.AddDays(0)
		if want := (norm.Year*12 + int(norm.Month) - 1) + n; got.Year*12+int(got.Month)-1 != want {
			t.Fatalf("%s + %d months = %s: not %d months away", start, n, got, n)
		}
		if got.Day != min(norm.Day, got.EndOfMonth().Day) {
			t.Fatalf("%s + %d months = %s: want day %d or the month's last", start, n, got, norm.Day)
		}
	})
}

func BenchmarkDateSub(b *testing.B) {
	due, today := date(2026, 1, 31), date(2026, 6, 30)
	b.ReportAllocs()
	for range b.N {
		if today.Sub(due) != 150 {
			b.Fatal("wrong span")
		}
	}
}

func BenchmarkDateAddMonths(b *testing.B) {
	d := date(2024, 1, 31)
	b.ReportAllocs()
	for range b.N {
		if d.AddMonths(1).Day != 29 {
			b.Fatal("wrong day")
		}
	}
}

// In(nil) is midnight UTC, as Today(nil) is UTC's day, and never a panic
// (time.Date panics on a nil location).
func TestDateInNilIsUTC(t *testing.T) {
	t.Parallel()
	d := date(2026, time.March, 31)
	var got time.Time
	assert.NotPanics(t, func() { got = d.In(nil) })
	assert.Equal(t, time.Date(2026, time.March, 31, 0, 0, 0, 0, time.UTC), got)
	assert.Equal(t, time.UTC, got.Location())
	assert.Equal(t, d, atlas.DateOf(got))
}

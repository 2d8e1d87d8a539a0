package atlas

import (
	"cmp"
	"time"
)

// Calendar arithmetic on Date, so that due dates, aging and periods need no
// detour through time.Time and its time zones. Like AddDays, these methods
// read an impossible date (February 30) as the date it normalizes to (March 2),
// as time.Date does; none of them panics.

// Today returns the current date in loc, the time zone whose calendar says
// which day it is (a company's, for its books). A nil loc is UTC.
func Today(loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	return DateOf(time.Now().In(loc))
}

// dayNumber counts the days from 1970-01-01 to d, negative before it.
func (d Date) dayNumber() int64 {
	// Midnight UTC is a whole number of days from the Unix epoch, so the
	// division is exact, before 1970 too; and unlike time.Time.Sub it does not
	// saturate after 292 years.
	return d.In(time.UTC).Unix() / (24 * 60 * 60)
}

// Sub returns the number of days from u to d: positive when d is after u,
// negative when it is before, 0 on the same day. The days an invoice is
// overdue on today are today.Sub(inv.DueDate), when that is positive; the
// days until it falls due are inv.DueDate.Sub(today).
func (d Date) Sub(u Date) int {
	return int(d.dayNumber() - u.dayNumber())
}

// Compare returns -1 when d is before u, 0 when they are the same day and +1
// when d is after u. Its shape is the one slices.SortFunc and
// slices.BinarySearchFunc take: slices.SortFunc(dates, atlas.Date.Compare).
func (d Date) Compare(u Date) int {
	return cmp.Compare(d.dayNumber(), u.dayNumber())
}

// Equal reports whether d and u are the same day. For valid dates it is the
// same as d == u.
func (d Date) Equal(u Date) bool { return d.Compare(u) == 0 }

// AddMonths returns the date n months after d (before it when n is
// negative). The day of the month is kept when the target month has it and
// clamped to the month's last day when it does not: January 31 plus one month
// is February 28, or February 29 in a leap year, and May 31 minus one month is
// April 30. That is the rule of monthly billing and month-end periods; it
// differs from time.Time.AddDate, which runs over into the next month
// (January 31 plus one month is March 3 there). Because of the clamping,
// adding months one at a time can end on an earlier day than adding them at
// once: Jan 31 +1 +1 is March 28, Jan 31 +2 is March 31.
func (d Date) AddMonths(n int) Date {
	y, m, day := d.In(time.UTC).Date()
	// The first of the target month, normalized for any n.
	y, m, _ = time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC).Date()
	return Date{Year: y, Month: m, Day: min(day, daysIn(y, m))}
}

// AddYears returns the date n years after d (before it when n is negative),
// clamped as AddMonths clamps: February 29 plus one year is February 28.
func (d Date) AddYears(n int) Date { return d.AddMonths(12 * n) }

// EndOfMonth returns the last day of d's month: January 31, February 28 or 29,
// April 30, ...
func (d Date) EndOfMonth() Date {
	y, m, _ := d.In(time.UTC).Date()
	return Date{Year: y, Month: m, Day: daysIn(y, m)}
}

// daysIn returns the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

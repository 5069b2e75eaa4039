package pthv

import (
	"errors"
	"strconv"
	"time"
)

// SchoolYear is a school year: 1 July to 30 June, written with its two calendar years,
// "2025-2026". The zero value is no year and prints as "". SchoolYear values compare with ==
// and < orders them (Before).
type SchoolYear struct {
	end int // the calendar year it ends in; 0 for no year
}

// Why ParseSchoolYear refused a string (the causes of its *Error, for errors.Is).
var (
	ErrYearFormat         = errors.New("a school year is two years written YYYY-YYYY, e.g. 2025-2026")
	ErrYearNotConsecutive = errors.New("a school year is two consecutive years, e.g. 2025-2026")
)

// NewSchoolYear returns the school year that starts on 1 July of start (0 to 9998); the zero
// SchoolYear outside that range.
func NewSchoolYear(start int) SchoolYear {
	if start < 0 || start > 9998 {
		return SchoolYear{}
	}
	return SchoolYear{end: start + 1}
}

// ParseSchoolYear reads a school year written "2025-2026": four digits, a hyphen, the next
// year in four digits. It fails with a CodeInvalid *Error whose cause is ErrYearFormat or
// ErrYearNotConsecutive.
func ParseSchoolYear(s string) (SchoolYear, error) {
	a, okA := digits(s, 0, 4)
	b, okB := digits(s, 5, 9)
	if len(s) != 9 || s[4] != '-' || !okA || !okB {
		return SchoolYear{}, &Error{Code: CodeInvalid, Message: "school year " + strconv.Quote(s) + ": " + ErrYearFormat.Error(), Err: ErrYearFormat}
	}
	if b != a+1 {
		return SchoolYear{}, &Error{Code: CodeInvalid, Message: "school year " + strconv.Quote(s) + ": " + ErrYearNotConsecutive.Error(), Err: ErrYearNotConsecutive}
	}
	return NewSchoolYear(a), nil
}

// SchoolYearOf returns the school year containing t (its calendar date, in t's location).
func SchoolYearOf(t time.Time) SchoolYear {
	y := t.Year()
	if t.Month() < time.July {
		y--
	}
	return NewSchoolYear(y)
}

// SchoolYearOfDate returns the school year containing a date written YYYY-MM-DD; the zero
// SchoolYear when date is not a calendar date written that way.
func SchoolYearOfDate(date string) SchoolYear {
	y, m, _, ok := ParseDate(date)
	if !ok {
		return SchoolYear{}
	}
	if m < 7 {
		y--
	}
	return NewSchoolYear(y)
}

// IsZero reports whether y is no year.
func (y SchoolYear) IsZero() bool { return y.end == 0 }

// Start is the calendar year the school year starts in (2025 for 2025-2026).
func (y SchoolYear) Start() int { return y.end - 1 }

// End is the calendar year the school year ends in (2026 for 2025-2026).
func (y SchoolYear) End() int { return y.end }

// String writes the year as "2025-2026"; "" for the zero value.
func (y SchoolYear) String() string {
	if y.IsZero() {
		return ""
	}
	return pad4(y.Start()) + "-" + pad4(y.end)
}

// FirstDay and LastDay are the year's first and last dates, YYYY-MM-DD: 2025-07-01 and
// 2026-06-30 for 2025-2026 ("" for the zero value).
func (y SchoolYear) FirstDay() string {
	if y.IsZero() {
		return ""
	}
	return pad4(y.Start()) + "-07-01"
}

// LastDay: see FirstDay.
func (y SchoolYear) LastDay() string {
	if y.IsZero() {
		return ""
	}
	return pad4(y.end) + "-06-30"
}

// Begins is the year's first instant, 1 July 00:00 UTC (the zero time for the zero value).
func (y SchoolYear) Begins() time.Time {
	if y.IsZero() {
		return time.Time{}
	}
	return time.Date(y.Start(), time.July, 1, 0, 0, 0, 0, time.UTC)
}

// Contains reports whether t's calendar date falls in the year.
func (y SchoolYear) Contains(t time.Time) bool { return !y.IsZero() && SchoolYearOf(t) == y }

// ContainsDate reports whether a date written YYYY-MM-DD falls in the year.
func (y SchoolYear) ContainsDate(date string) bool {
	return !y.IsZero() && SchoolYearOfDate(date) == y
}

// Next is the following school year.
func (y SchoolYear) Next() SchoolYear {
	if y.IsZero() {
		return y
	}
	return NewSchoolYear(y.end)
}

// Before reports whether y is an earlier year than o.
func (y SchoolYear) Before(o SchoolYear) bool { return y.end < o.end }

// MarshalText writes the year as String does.
func (y SchoolYear) MarshalText() ([]byte, error) { return []byte(y.String()), nil }

// UnmarshalText reads a year as ParseSchoolYear does; "" is the zero value.
func (y *SchoolYear) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*y = SchoolYear{}
		return nil
	}
	v, err := ParseSchoolYear(string(b))
	if err != nil {
		return err
	}
	*y = v
	return nil
}

// ValidDate reports whether s is a calendar date written YYYY-MM-DD.
func ValidDate(s string) bool {
	_, _, _, ok := ParseDate(s)
	return ok
}

// ParseDate reads a calendar date written YYYY-MM-DD without allocating (it runs for every
// stored visit when reach is computed); ok is false when s is not such a date.
func ParseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 7)
	d, ok3 := digits(s, 8, 10)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// digits reads s[i:j] as a decimal number; false when it is not all ASCII digits or s is short.
func digits(s string, i, j int) (int, bool) {
	if j > len(s) || i >= j {
		return 0, false
	}
	n := 0
	for k := i; k < j; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

package reach

import "strconv"

// SchoolYear returns the school year ("2025-2026") that contains date (YYYY-MM-DD): a
// school year runs from 1 July to 30 June. It returns "" when date is not a valid calendar
// date written that way.
func SchoolYear(date string) string {
	y, m, _, ok := parseDate(date)
	if !ok {
		return ""
	}
	if m < 7 {
		y--
	}
	return yearName(y)
}

// YearDates returns the first and last day (YYYY-MM-DD) of a school year written
// "2025-2026": 2025-07-01 and 2026-06-30. ok is false when year is not written that way.
func YearDates(year string) (first, last string, ok bool) {
	if len(year) != 9 || year[4] != '-' {
		return "", "", false
	}
	a, ok1 := digits(year[:4])
	b, ok2 := digits(year[5:])
	if !ok1 || !ok2 || b != a+1 {
		return "", "", false
	}
	return year[:4] + "-07-01", year[5:] + "-06-30", true
}

func yearName(y int) string {
	if y < 0 || y > 9998 {
		return ""
	}
	return pad4(y) + "-" + pad4(y+1)
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// validDate reports whether s is a calendar date written YYYY-MM-DD.
func validDate(s string) bool {
	_, _, _, ok := parseDate(s)
	return ok
}

func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
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

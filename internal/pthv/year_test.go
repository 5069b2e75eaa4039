package pthv

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// The cases internal/reach and internal/training checked when each computed the year itself.
func TestSchoolYearOfDate(t *testing.T) {
	for date, want := range map[string]string{
		"2025-07-01": "2025-2026", "2026-06-30": "2025-2026", "2025-06-30": "2024-2025", "2026-07-01": "2026-2027",
		"2025-12-31": "2025-2026", "2026-01-01": "2025-2026", "2024-02-29": "2023-2024",
		"2025-02-29": "", "2025-13-01": "", "2025-00-10": "", "2025-04-31": "", "2025-7-01": "", "25-07-01": "",
		"2025/07/01": "", "": "", "2025-07-01T00:00:00Z": "", "abcd-07-01": "", "0000-01-01": "",
	} {
		if got := SchoolYearOfDate(date).String(); got != want {
			t.Errorf("SchoolYearOfDate(%q) = %q, want %q", date, got, want)
		}
		if d, err := time.Parse(time.DateOnly, date); err == nil && want != "" {
			if got := SchoolYearOf(d).String(); got != want {
				t.Errorf("SchoolYearOf(%s) = %q, want %q", date, got, want)
			}
		}
	}
}

func TestParseSchoolYear(t *testing.T) {
	for y, want := range map[string][2]string{
		"2025-2026": {"2025-07-01", "2026-06-30"}, "1999-2000": {"1999-07-01", "2000-06-30"},
	} {
		sy, err := ParseSchoolYear(y)
		if err != nil || sy.FirstDay() != want[0] || sy.LastDay() != want[1] || sy.String() != y {
			t.Errorf("ParseSchoolYear(%q) = %v (%s to %s), %v", y, sy, sy.FirstDay(), sy.LastDay(), err)
		}
		if SchoolYearOfDate(sy.FirstDay()) != sy || SchoolYearOfDate(sy.LastDay()) != sy {
			t.Errorf("%s: its first and last days are not in it", y)
		}
		if !sy.ContainsDate(sy.FirstDay()) || sy.ContainsDate(sy.Next().FirstDay()) || !sy.Before(sy.Next()) {
			t.Errorf("%s: Contains, Next or Before disagree", y)
		}
	}
	for bad, cause := range map[string]error{"2025-2027": ErrYearNotConsecutive, "2026-2025": ErrYearNotConsecutive,
		"2025": ErrYearFormat, "2025-26": ErrYearFormat, "2025/2026": ErrYearFormat, "20252026x": ErrYearFormat,
		"": ErrYearFormat, "abcd-abce": ErrYearFormat, "２０２５-2026": ErrYearFormat} {
		_, err := ParseSchoolYear(bad)
		if !errors.Is(err, cause) || ErrorCode(err) != CodeInvalid {
			t.Errorf("ParseSchoolYear(%q) = %v, want a %s error caused by %v", bad, err, CodeInvalid, cause)
		}
	}
}

func TestSchoolYearContains(t *testing.T) {
	y, _ := ParseSchoolYear("2025-2026")
	for _, c := range []struct {
		t    time.Time
		want bool
	}{
		{time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, time.June, 30, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2025, time.June, 30, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2026, time.July, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := y.Contains(c.t); got != c.want {
			t.Errorf("%s contains %s: %v, want %v", y, c.t, got, c.want)
		}
	}
	if b := y.Begins(); !y.Contains(b) || y.Contains(b.Add(-time.Nanosecond)) || !y.Next().Begins().Equal(b.AddDate(1, 0, 0)) {
		t.Errorf("%s begins at %s: not its first instant", y, b)
	}
	if (SchoolYear{}).Contains(time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("the zero year contains a date")
	}
}

func TestSchoolYearJSON(t *testing.T) {
	var v struct{ Year SchoolYear }
	if err := json.Unmarshal([]byte(`{"Year":"2025-2026"}`), &v); err != nil || v.Year != NewSchoolYear(2025) {
		t.Fatalf("unmarshal: %v, %v", v.Year, err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"Year":"2025-2026"}` {
		t.Errorf("marshal: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"Year":"2025-2027"}`), &v); err == nil {
		t.Error("a year of two years that do not follow each other was read")
	}
}

func FuzzParseSchoolYear(f *testing.F) {
	for _, s := range []string{"2025-2026", "2025-2027", "", "0000-0001", "9998-9999", "9999-10000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		y, err := ParseSchoolYear(s)
		if err != nil {
			return
		}
		if y.String() != s {
			t.Fatalf("ParseSchoolYear(%q).String() = %q", s, y.String())
		}
		if SchoolYearOfDate(y.FirstDay()) != y || SchoolYearOfDate(y.LastDay()) != y {
			t.Fatalf("%s does not contain its own first and last days", s)
		}
	})
}

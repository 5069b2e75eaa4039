package reach

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const year = "2025-2026"

func completed(id, school, family, date string, number int, students ...string) Visit {
	return Visit{ID: id, School: school, Family: family, Students: students, Date: date, Number: number,
		Educators: []string{"e1", "e2"}, Minutes: 60, Status: StatusCompleted}
}

func TestCancelledVisitsCountNothing(t *testing.T) {
	c := completed("v1", "s1", "f1", "2025-10-01", 1, "st1")
	c.Status = StatusCancelled
	c.Educators = []string{"e8", "e9"}
	other := c
	other.Status = "Completed" // not "completed": does not count either
	got := ComputeDistrict(DistrictInput{District: "d", State: "CA", Year: year,
		Schools: []School{{ID: "s1", Students: 100}}, Visits: []Visit{c, other}})
	if got.Sites != 0 || got.Visits != 0 || got.EducatorsVisiting != 0 || len(got.PerSite) != 0 || len(got.HoursPerEducator) != 0 || got.IgnoredVisits != 0 {
		t.Errorf("cancelled visits counted: %+v", got)
	}
}

func TestFamiliesAndStudentsCountOncePerSchool(t *testing.T) {
	in := DistrictInput{District: "d", State: "CA", Year: year,
		Schools: []School{{ID: "s1", Name: "One", Students: 40}, {ID: "s2", Name: "Two", Students: 20}},
		Visits: []Visit{
			completed("v1", "s1", "f1", "2025-09-10", 1, "a", "b"),
			completed("v2", "s1", "f1", "2026-02-10", 2, "a", "b"), // f1 again, second visit
			completed("v3", "s1", "f1", "2025-09-12", 1, "a", "b"), // f1 again, another first visit
			completed("v4", "s1", "f2", "2025-10-01", 1, "b", "c"), // b is in two families
			completed("v5", "s2", "f1", "2025-10-01", 1, "d", "a"), // "f1" at another school; a moved
		},
	}
	got := ComputeDistrict(in)
	want := []SiteMetrics{
		{School: "s1", Name: "One", Visits: 4, VisitsFirst: 3, VisitsSecond: 1, FamiliesVisited: 2, StudentsReached: 3, Students: 40, Share: 3.0 / 40, EducatorsVisiting: 2},
		{School: "s2", Name: "Two", Visits: 1, VisitsFirst: 1, FamiliesVisited: 1, StudentsReached: 2, Students: 20, Share: 2.0 / 20, AtThreshold: true, EducatorsVisiting: 2},
	}
	if d := cmp.Diff(want, got.PerSite); d != "" {
		t.Errorf("sites (-want +got):\n%s", d)
	}
	if got.FamiliesVisited != 3 || got.StudentsReached != 5 || got.Visits != 5 || got.VisitsFirst != 4 || got.VisitsSecond != 1 || got.Students != 60 || got.SchoolsAtThreshold != 1 || got.Sites != 2 {
		t.Errorf("district: %+v", got)
	}
}

func TestVisitsOutsideTheYearAreIgnored(t *testing.T) {
	in := DistrictInput{District: "d", State: "CA", Year: year, Schools: []School{{ID: "s1", Students: 10}},
		Visits: []Visit{
			completed("v1", "s1", "f1", "2025-07-01", 1, "a"), // first day: counts
			completed("v2", "s1", "f2", "2026-06-30", 2, "b"), // last day: counts
			completed("v3", "s1", "f3", "2025-06-30", 1, "c"), // the day before
			completed("v4", "s1", "f4", "2026-07-01", 1, "d"), // the day after
			completed("v5", "s1", "f5", "2025-10-32", 1, "e"), // not a date
		}}
	got := ComputeDistrict(in)
	if got.Visits != 2 || got.FamiliesVisited != 2 || got.StudentsReached != 2 || got.IgnoredVisits != 3 {
		t.Errorf("got %+v", got)
	}
	in.Year = "2025"
	if got := ComputeDistrict(in); got.Visits != 0 || got.IgnoredVisits != 5 {
		t.Errorf("a bad year counts nothing: %+v", got)
	}
}

func TestInvalidVisitsAreIgnored(t *testing.T) {
	base := completed("v1", "s1", "f1", "2025-10-01", 1, "a")
	cases := map[string]func(v *Visit){
		"number 3":           func(v *Visit) { v.Number = 3 },
		"number 0":           func(v *Visit) { v.Number = 0 },
		"one educator":       func(v *Visit) { v.Educators = []string{"e1"} },
		"one educator twice": func(v *Visit) { v.Educators = []string{"e1", "e1"} },
		"an empty educator":  func(v *Visit) { v.Educators = []string{"e1", ""} },
		"no school":          func(v *Visit) { v.School = "" },
		"no family":          func(v *Visit) { v.Family = "" },
	}
	for name, mutate := range cases {
		v := base
		v.Educators = append([]string(nil), base.Educators...)
		mutate(&v)
		got := ComputeDistrict(DistrictInput{District: "d", Year: year, Visits: []Visit{v}})
		if got.Visits != 0 || got.IgnoredVisits != 1 || len(got.HoursPerEducator) != 0 {
			t.Errorf("%s: %+v", name, got)
		}
	}
	// The same visit twice counts once; a visit without an ID is not deduplicated.
	noID := base
	noID.ID = ""
	got := ComputeDistrict(DistrictInput{District: "d", Year: year, Visits: []Visit{base, base, noID, noID}})
	if got.Visits != 3 || got.IgnoredVisits != 1 {
		t.Errorf("repeated ID: %+v", got)
	}
}

func TestShareThresholdAndZeroStudents(t *testing.T) {
	mk := func(students int, school string, reached ...string) SiteMetrics {
		in := DistrictInput{District: "d", Year: year, Schools: []School{{ID: "s1", Students: students}},
			Visits: []Visit{completed("v1", school, "f1", "2025-10-01", 1, reached...)}}
		return ComputeDistrict(in).PerSite[0]
	}
	if s := mk(30, "s1", "a", "b", "c"); !s.AtThreshold || s.Share != 0.1 {
		t.Errorf("3 of 30 is at threshold: %+v", s)
	}
	if s := mk(31, "s1", "a", "b", "c"); s.AtThreshold {
		t.Errorf("3 of 31 is not: %+v", s)
	}
	if s := mk(0, "s1", "a"); s.Share != 0 || s.AtThreshold || s.Students != 0 || s.StudentsReached != 1 {
		t.Errorf("zero students: %+v", s)
	}
	if s := mk(100, "elsewhere", "a"); s.Share != 0 || s.AtThreshold || s.Students != 0 || s.Visits != 1 {
		t.Errorf("a school not in the list still counts, with zero students: %+v", s)
	}
	if s := mk(-5, "s1", "a"); s.Students != 0 || s.Share != 0 {
		t.Errorf("negative students: %+v", s)
	}
	if s := mk(10, "s1"); s.StudentsReached != 0 || s.FamiliesVisited != 1 || s.AtThreshold {
		t.Errorf("a family without students: %+v", s)
	}
}

func TestTrainingsAndHours(t *testing.T) {
	in := DistrictInput{District: "d", Year: year, Schools: []School{{ID: "s1", Students: 10}},
		Trainings: []Training{
			{"a", "2025-07-01"}, {"a", "2024-03-01"}, // in the year (and before)
			{"b", "2026-06-30"},                      // last day: in the year
			{"c", "2025-06-30"}, {"c", "2019-01-01"}, // before only
			{"d", "2026-07-01"},                     // after: neither
			{"e", "not a date"}, {"", "2025-09-01"}, // ignored
		},
		Visits: []Visit{
			{ID: "1", School: "s1", Family: "f1", Date: "2025-09-01", Number: 1, Educators: []string{"a", "b", "a"}, Minutes: 90, Status: StatusCompleted},
			{ID: "2", School: "s1", Family: "f2", Date: "2025-09-02", Number: 1, Educators: []string{"a", "c", "x"}, Minutes: 30, Status: StatusCompleted},
			{ID: "3", School: "s1", Family: "f3", Date: "2025-09-03", Number: 1, Educators: []string{"a", "d"}, Minutes: -10, Status: StatusCompleted},
			{ID: "4", School: "s1", Family: "f3", Date: "2025-09-03", Number: 2, Educators: []string{"a", "y"}, Minutes: 600, Status: StatusCancelled},
		}}
	got := ComputeDistrict(in)
	if got.EducatorsTrained != 2 || got.EducatorsTrainedCumulative != 3 {
		t.Errorf("trained %d, cumulative %d; want 2, 3", got.EducatorsTrained, got.EducatorsTrainedCumulative)
	}
	if got.EducatorsVisiting != 5 || got.PerSite[0].EducatorsVisiting != 5 {
		t.Errorf("educators visiting: %+v", got)
	}
	want := map[string]float64{"a": 2, "b": 1.5, "c": 0.5, "x": 0.5, "d": 0}
	if d := cmp.Diff(want, got.HoursPerEducator); d != "" {
		t.Errorf("hours (-want +got):\n%s", d)
	}
}

func TestRollup(t *testing.T) {
	ds := []DistrictMetrics{
		{District: "a", State: "CA", Year: year, Sites: 2, Visits: 30, VisitsFirst: 20, VisitsSecond: 10, FamiliesVisited: 25, StudentsReached: 40, Students: 500, EducatorsTrained: 5, EducatorsTrainedCumulative: 9, EducatorsVisiting: 6, SchoolsAtThreshold: 0},
		{District: "b", State: "CA", Year: year, Sites: 0, EducatorsTrained: 3, EducatorsTrainedCumulative: 4}, // trainings only
		{District: "c", State: "OR", Year: year, Sites: 1, Visits: 3, VisitsFirst: 3, FamiliesVisited: 3, StudentsReached: 4, Students: 20, EducatorsTrained: 2, EducatorsTrainedCumulative: 2, EducatorsVisiting: 2, SchoolsAtThreshold: 1},
		{District: "d", State: "WA", Year: year, EducatorsTrained: 1, EducatorsTrainedCumulative: 1}, // a state without sites
		{District: "e", State: "CA", Year: "2024-2025", Sites: 5, Visits: 500, EducatorsTrained: 50}, // another year
	}
	national, byState := Rollup(year, ds)
	want := Totals{Year: year, States: 2, Districts: 2, Sites: 3, Visits: 33, VisitsFirst: 23, VisitsSecond: 10, FamiliesVisited: 28, StudentsReached: 44, Students: 520, EducatorsTrained: 11, EducatorsTrainedCumulative: 16, EducatorsVisiting: 8, SchoolsAtThreshold: 1}
	if d := cmp.Diff(want, national); d != "" {
		t.Errorf("national (-want +got):\n%s", d)
	}
	if len(byState) != 3 || byState["CA"].Districts != 1 || byState["CA"].EducatorsTrained != 8 || byState["WA"].Sites != 0 || byState["WA"].EducatorsTrained != 1 {
		t.Errorf("by state: %+v", byState)
	}
	assertStatesAddUp(t, national, byState)
	if n, m := Rollup("1999-2000", ds); n.Sites != 0 || len(m) != 0 || n.Year != "1999-2000" {
		t.Errorf("a year without districts: %+v %v", n, m)
	}
}

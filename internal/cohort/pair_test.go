package cohort

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func familyMap(fams []Family) map[string]Family {
	m := make(map[string]Family, len(fams))
	for _, f := range fams {
		m[f.ID] = f
	}
	return m
}

// educatorsFor makes n educators teaching the families' homerooms in turn.
func educatorsFor(fams []Family, n int) []Educator {
	var hrs []string
	for _, f := range fams {
		hrs = append(hrs, f.Homeroom)
	}
	slices.Sort(hrs)
	hrs = slices.Compact(hrs)
	eds := make([]Educator, n)
	for i := range eds {
		eds[i].ID = fmt.Sprintf("edu-%02d", i)
	}
	for i, hr := range hrs {
		if n > 0 {
			eds[i%n].Sections = append(eds[i%n].Sections, hr)
		}
	}
	return eds
}

func checkPairs(t *testing.T, c *Cohort, educators []Educator) map[string]int {
	t.Helper()
	given := map[string]bool{}
	for _, e := range educators {
		given[e.ID] = true
	}
	inPair := map[string]int{}
	for _, p := range c.Pairs {
		if len(p) != 2 || p[0] == p[1] || !given[p[0]] || !given[p[1]] || p[0] > p[1] {
			t.Fatalf("bad pair %v", p)
		}
		inPair[p[0]]++
		inPair[p[1]]++
	}
	for e, n := range inPair {
		if n != 1 {
			t.Fatalf("educator %s in %d pairs", e, n)
		}
	}
	loads := map[string]int{}
	for _, p := range c.Pairs {
		loads[strings.Join(p, "+")] = 0
	}
	for _, m := range c.Members {
		if m.Pair == nil {
			continue
		}
		k := strings.Join(m.Pair, "+")
		if _, ok := loads[k]; !ok {
			t.Fatalf("member %s has pair %v, not one of the cohort's pairs", m.FamilyID, m.Pair)
		}
		loads[k]++
	}
	return loads
}

func spread(loads map[string]int) (lo, hi int) {
	first := true
	for _, n := range loads {
		if first {
			lo, hi, first = n, n, false
		}
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo, hi
}

func TestPairBalancedAndOnlyPairs(t *testing.T) {
	fams := schoolFamilies(t)
	fm := familyMap(fams)
	for _, mode := range []string{ModeCrossSection, ModeAll} {
		for _, n := range []int{2, 3, 4, 7, 10, 31, 200} {
			req := request("sch-fair", uint64(n))
			req.Mode = mode
			c, err := Select(req, fams, nil)
			if err != nil {
				t.Fatal(err)
			}
			eds := educatorsFor(fams, n)
			if err := Pair(c, fm, eds); err != nil {
				t.Fatal(err)
			}
			if c.Status != StatusReady || c.Reason != "" {
				t.Errorf("%s, %d educators: status %s (%s)", mode, n, c.Status, c.Reason)
			}
			if len(c.Pairs) != n/2 || len(c.Reserve) != n%2 {
				t.Errorf("%d educators: %d pairs and %d in reserve", n, len(c.Pairs), len(c.Reserve))
			}
			loads := checkPairs(t, c, eds)
			for _, m := range c.Members {
				if len(m.Pair) != 2 {
					t.Fatalf("member %s unpaired with status ready", m.FamilyID)
				}
			}
			if lo, hi := spread(loads); hi-lo > 1 {
				t.Errorf("%s, %d educators: loads from %d to %d", mode, n, lo, hi)
			}
		}
	}
}

func TestPairPrefersOwnTeacher(t *testing.T) {
	// 12 families in 4 homerooms of 3; 8 educators, each homeroom taught by one of them:
	// 4 pairs of 3 families each, and every family can get its own teacher only if the
	// pairs split the teachers well; Pair must reach the maximum a balanced assignment allows.
	var students []Student
	for h := range 4 {
		for i := range 3 {
			id := fmt.Sprintf("s%d%d", h, i)
			hr := fmt.Sprintf("hr%d", h)
			students = append(students, Student{ID: id, Grade: "02", Homeroom: hr, Sections: []string{hr}, Guardians: []string{"g" + id}})
		}
	}
	fams := BuildFamilies(students, nil)
	eds := []Educator{
		{ID: "e0", Sections: []string{"hr0"}}, {ID: "e1", Sections: []string{"hr1"}},
		{ID: "e2", Sections: []string{"hr2"}}, {ID: "e3", Sections: []string{"hr3"}},
		{ID: "e4"}, {ID: "e5"}, {ID: "e6"}, {ID: "e7"},
	}
	for seed := uint64(1); seed <= 30; seed++ {
		req := request("s", seed)
		req.Mode = ModeAll
		c, err := Select(req, fams, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Pair(c, familyMap(fams), eds); err != nil {
			t.Fatal(err)
		}
		loads := checkPairs(t, c, eds)
		if lo, hi := spread(loads); lo != 3 || hi != 3 {
			t.Fatalf("seed %d: loads %v", seed, loads)
		}
		// The best possible: each pair holds 3 families; a pair with t teachers of distinct
		// homerooms can serve min(3, 3t) own families... and a pair with 2 teachers can still
		// serve only 3. So the optimum is 3 × (pairs with at least one teacher).
		teacherPairs := 0
		for _, p := range c.Pairs {
			if p[0] < "e4" || p[1] < "e4" {
				teacherPairs++
			}
		}
		own := 0
		for _, m := range c.Members {
			if m.OwnTeacher {
				own++
				if !strings.Contains(strings.Join(m.Pair, " "), "e"+m.StudentIDs[0][1:2]) {
					t.Fatalf("family %v marked own teacher with pair %v", m.StudentIDs, m.Pair)
				}
			}
		}
		if own != 3*teacherPairs {
			t.Errorf("seed %d: %d families with their own teacher, the best balanced assignment gives %d", seed, own, 3*teacherPairs)
		}
	}
}

func TestPairPreferenceNeverBreaksBalance(t *testing.T) {
	// One educator teaches every family: preference would put all on one pair; balance wins.
	var students []Student
	for i := range 20 {
		students = append(students, Student{ID: fmt.Sprintf("s%02d", i), Grade: "KG", Homeroom: "hr", Sections: []string{"hr"}, Guardians: []string{fmt.Sprintf("g%02d", i)}})
	}
	fams := BuildFamilies(students, nil)
	eds := []Educator{{ID: "star", Sections: []string{"hr"}}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}, {ID: "f"}}
	req := request("s", 4)
	req.Mode = ModeAll
	c, _ := Select(req, fams, nil)
	if err := Pair(c, familyMap(fams), eds); err != nil {
		t.Fatal(err)
	}
	loads := checkPairs(t, c, eds)
	if lo, hi := spread(loads); lo != 6 || hi != 7 {
		t.Errorf("loads %v, want 6 or 7 each", loads)
	}
	own := 0
	for _, m := range c.Members {
		if m.OwnTeacher {
			own++
		}
	}
	if own != 7 {
		t.Errorf("%d families with the star teacher's pair, want 7 (the most a balanced load allows)", own)
	}
}

func TestPairCap(t *testing.T) {
	var students []Student
	for i := range 15 {
		students = append(students, Student{ID: fmt.Sprintf("s%02d", i), Grade: []string{"KG", "01", "02"}[i%3], Guardians: []string{fmt.Sprintf("g%02d", i)}})
	}
	fams := BuildFamilies(students, nil)
	eds := []Educator{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}
	req := request("s", 8)
	req.Mode = ModeAll
	req.MaxFamiliesPerPair = 5
	c, _ := Select(req, fams, nil)
	if err := Pair(c, familyMap(fams), eds); err != nil {
		t.Fatal(err)
	}
	loads := checkPairs(t, c, eds)
	if lo, hi := spread(loads); lo != 5 || hi != 5 {
		t.Errorf("loads %v, want 5 each", loads)
	}
	unpaired := map[string]int{}
	for _, m := range c.Members {
		if m.Pair == nil {
			unpaired[m.Stratum]++
		}
	}
	if c.Status != StatusNeedsEducators || !strings.Contains(c.Reason, "5 of 15 families") {
		t.Errorf("status %s, reason %q", c.Status, c.Reason)
	}
	// The families left over are spread across the grades (5 per grade, 10 paired).
	for g, n := range unpaired {
		if n > 2 {
			t.Errorf("%d unpaired families in grade %s, want them spread across grades: %v", n, g, unpaired)
		}
	}

	// A cap the balanced loads already respect changes nothing.
	req.MaxFamiliesPerPair = 8
	c, _ = Select(req, fams, nil)
	if err := Pair(c, familyMap(fams), eds); err != nil {
		t.Fatal(err)
	}
	loads = checkPairs(t, c, eds)
	if lo, hi := spread(loads); lo != 7 || hi != 8 || c.Status != StatusReady {
		t.Errorf("cap 8: loads %v, status %s", loads, c.Status)
	}
}

func TestPairNeedsTwoEducators(t *testing.T) {
	fams := schoolFamilies(t)
	for _, eds := range [][]Educator{nil, {{ID: "solo"}}, {{ID: "solo"}, {ID: "solo", Sections: []string{"x"}}}} {
		c, _ := Select(request("sch-fair", 2), fams, nil)
		// Pairing first with enough educators, then with too few, must clear every pair.
		if err := Pair(c, familyMap(fams), educatorsFor(fams, 4)); err != nil {
			t.Fatal(err)
		}
		if err := Pair(c, familyMap(fams), eds); err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusNeedsEducators || !strings.Contains(c.Reason, "two distinct educators") {
			t.Errorf("%d educators: status %s, reason %q", len(eds), c.Status, c.Reason)
		}
		if len(c.Pairs) != 0 {
			t.Errorf("pairs %v with %d educators", c.Pairs, len(eds))
		}
		for _, m := range c.Members {
			if len(m.Pair) != 0 {
				t.Fatalf("member %s assigned %v with too few educators", m.FamilyID, m.Pair)
			}
		}
	}
	c, _ := Select(request("sch-fair", 2), fams, nil)
	if err := Pair(c, familyMap(fams), []Educator{{ID: ""}, {ID: "x"}}); err == nil {
		t.Error("educator without id accepted")
	}
	if err := Pair(c, map[string]Family{}, educatorsFor(fams, 2)); err == nil {
		t.Error("missing family accepted")
	}
}

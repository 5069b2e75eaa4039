package cohort

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every family sits at every position for exactly one start: with a uniform start each
// position has probability exactly 1/N (the equal-inclusion argument of Select).
func TestSystematicOrderIsUniformOverStarts(t *testing.T) {
	for n := 1; n <= 130; n++ {
		l := make([]int, n)
		for i := range l {
			l[i] = i
		}
		seen := make([][]bool, n) // family → position → seen
		for i := range seen {
			seen[i] = make([]bool, n)
		}
		for start := range n {
			order := systematicOrder(l, start)
			if len(order) != n {
				t.Fatalf("n=%d: order of %d", n, len(order))
			}
			for pos, f := range order {
				if seen[f][pos] {
					t.Fatalf("n=%d: family %d at position %d for two starts", n, f, pos)
				}
				seen[f][pos] = true
			}
		}
	}
}

func schoolFamilies(t testing.TB) []Family {
	t.Helper()
	students, other := fairSchool.build(7)
	return BuildFamilies(students, other)
}

func TestCrossSectionCoverage(t *testing.T) {
	fams := schoolFamilies(t)
	for _, cov := range []float64{0.05, 0.10, 0.33, 0.5, 1} {
		req := request("sch-fair", 11)
		req.Coverage = cov
		c, err := Select(req, fams, nil)
		if err != nil {
			t.Fatal(err)
		}
		if float64(c.StudentsCovered) < cov*float64(c.SchoolStudents)-1e-9 {
			t.Errorf("coverage %v: %d of %d students", cov, c.StudentsCovered, c.SchoolStudents)
		}
		for _, st := range c.Strata {
			if st.SampledStudents < st.Target {
				t.Errorf("coverage %v grade %s: %d < target %d", cov, st.Grade, st.SampledStudents, st.Target)
			}
		}
		if cov == 1 && len(c.Members) != len(fams) {
			t.Errorf("coverage 1: %d of %d families", len(c.Members), len(fams))
		}
	}
}

func TestDeclinedNeverSelected(t *testing.T) {
	fams := schoolFamilies(t)
	rng := rand.New(rand.NewPCG(5, 5))
	consent := map[string]Consent{}
	for _, f := range fams {
		switch rng.IntN(4) {
		case 0:
			consent[f.ID] = ConsentDeclined
		case 1:
			consent[f.ID] = ConsentAccepted
		case 2:
			consent[f.ID] = ConsentUnknown
		}
	}
	for _, mode := range []string{ModeAll, ModeCrossSection} {
		for seed := uint64(1); seed <= 50; seed++ {
			req := request("sch-fair", seed)
			req.Mode = mode
			c, err := Select(req, fams, consent)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range c.Members {
				if consent[m.FamilyID] == ConsentDeclined {
					t.Fatalf("%s seed %d: declined family %s selected", mode, seed, m.FamilyID)
				}
			}
			if mode == ModeAll {
				want := 0
				for _, f := range fams {
					if consent[f.ID] != ConsentDeclined {
						want++
					}
				}
				if len(c.Members) != want {
					t.Errorf("all: %d members, want the %d families that did not decline", len(c.Members), want)
				}
			} else if float64(c.StudentsCovered) < 0.10*float64(c.SchoolStudents) {
				t.Errorf("seed %d: declines left %d of %d students covered", seed, c.StudentsCovered, c.SchoolStudents)
			}
		}
	}
}

// A family that declines after selection is replaced by the next families of its stratum
// in the stored order; every other member stays, at the same position.
func TestDeclineReplacement(t *testing.T) {
	fams := schoolFamilies(t)
	byID := map[string]Family{}
	for _, f := range fams {
		byID[f.ID] = f
	}
	for seed := uint64(1); seed <= 200; seed++ {
		req := request("sch-fair", seed)
		consent := map[string]Consent{}
		before, err := Select(req, fams, consent)
		if err != nil {
			t.Fatal(err)
		}
		x := before.Members[int(seed)%len(before.Members)]
		consent[x.FamilyID] = ConsentDeclined
		after, err := Select(req, fams, consent)
		if err != nil {
			t.Fatal(err)
		}
		if before.PopulationHash != after.PopulationHash {
			t.Fatal("consent changed the population hash")
		}

		now := map[string]Member{}
		for _, m := range after.Members {
			now[m.FamilyID] = m
		}
		if _, ok := now[x.FamilyID]; ok {
			t.Fatalf("seed %d: declined family still selected", seed)
		}
		lastOrder := -1
		kept := map[string]bool{x.FamilyID: true}
		for _, m := range before.Members {
			if m.FamilyID == x.FamilyID {
				continue
			}
			kept[m.FamilyID] = true
			if diff := cmp.Diff(m, now[m.FamilyID]); diff != "" {
				t.Fatalf("seed %d: member %s changed after another declined:\n%s", seed, m.FamilyID, diff)
			}
			if m.Stratum == x.Stratum {
				lastOrder = max(lastOrder, m.Order)
			}
		}
		lastOrder = max(lastOrder, x.Order)
		// The additions are the next positions of x's stratum, contiguous, after the old last.
		var added []Member
		for _, m := range after.Members {
			if !kept[m.FamilyID] {
				added = append(added, m)
			}
		}
		for i, m := range added {
			if m.Stratum != x.Stratum {
				t.Fatalf("seed %d: replacement %s from grade %s, declined family was in %s", seed, m.FamilyID, m.Stratum, x.Stratum)
			}
			if m.Order != lastOrder+1+i {
				t.Fatalf("seed %d: replacement at position %d, want %d", seed, m.Order, lastOrder+1+i)
			}
		}
		// And they are just enough: the stratum reaches its target again.
		for i, st := range after.Strata {
			if st.Grade == x.Stratum {
				if st.SampledStudents < st.Target && st.SampledFamilies < st.Families-st.Declined {
					t.Fatalf("seed %d: stratum below target after replacement", seed)
				}
				if len(added) > 0 && st.SampledStudents-len(byID[added[len(added)-1].FamilyID].Students) >= st.Target {
					t.Fatalf("seed %d: one replacement too many", seed)
				}
			} else if diff := cmp.Diff(before.Strata[i], st); diff != "" {
				t.Fatalf("seed %d: another stratum changed:\n%s", seed, diff)
			}
		}
	}
}

func TestDeterminism(t *testing.T) {
	students, other := fairSchool.build(3)
	fams := BuildFamilies(students, other)
	consent := map[string]Consent{fams[0].ID: ConsentDeclined, fams[1].ID: ConsentAccepted}
	educators := educatorsFor(fams, 9)
	run := func(fams []Family) *Cohort {
		c, err := Select(request("sch-fair", 77), fams, consent)
		if err != nil {
			t.Fatal(err)
		}
		if err := Pair(c, familyMap(fams), educators); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := run(fams)
	b := run(fams)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same inputs, other cohort:\n%s", diff)
	}
	// Input order of students and families does not matter.
	rng := rand.New(rand.NewPCG(1, 1))
	rng.Shuffle(len(students), func(i, j int) { students[i], students[j] = students[j], students[i] })
	fams2 := BuildFamilies(students, other)
	rng.Shuffle(len(fams2), func(i, j int) { fams2[i], fams2[j] = fams2[j], fams2[i] })
	if diff := cmp.Diff(a, run(fams2)); diff != "" {
		t.Fatalf("shuffled inputs, other cohort:\n%s", diff)
	}
	// Another seed gives another cohort; another school with the same seed too.
	c, _ := Select(request("sch-fair", 78), fams, consent)
	if cmp.Equal(a.Members, c.Members) {
		t.Error("seeds 77 and 78 gave the same members")
	}
	d, _ := Select(request("sch-other", 77), fams, consent)
	if cmp.Equal(a.Members, d.Members) {
		t.Error("two schools with one seed gave the same order")
	}
}

func TestSelectRefuses(t *testing.T) {
	fams := schoolFamilies(t)
	if _, err := Select(request("s", 0), fams, nil); err == nil {
		t.Error("seed 0 accepted")
	}
	if _, err := Select(Request{School: "s", Year: "2025-2026", Seed: 1}, fams, nil); err == nil {
		t.Error("missing district accepted")
	}
	if _, err := Select(request("s", 1), fams, map[string]Consent{fams[0].ID: "maybe"}); err == nil {
		t.Error("unknown consent value accepted")
	}
	if _, err := Select(request("s", 1), append(slices.Clone(fams), fams[0]), nil); err == nil {
		t.Error("duplicate family accepted")
	}
	twice := slices.Clone(fams)
	twice[1].Students = append(slices.Clone(twice[1].Students), twice[0].Students[0])
	if _, err := Select(request("s", 1), twice, nil); err == nil {
		t.Error("student in two families accepted")
	}
	c, err := Select(request("s", 1), nil, nil)
	if err != nil || len(c.Members) != 0 {
		t.Errorf("empty school: %v, %v", c, err)
	}
}

// The selector's inputs carry nothing but school, grade, class sections, family links and
// consent. A new field on these types must be a deliberate, reviewed change.
func TestInputsCarryNoTargetingData(t *testing.T) {
	fields := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			out = append(out, typ.Field(i).Name)
		}
		return out
	}
	want := map[string][]string{
		"Student":  {"ID", "Grade", "Sections", "Homeroom", "Guardians"},
		"Family":   {"ID", "Students", "Guardians", "Stratum", "Homeroom", "Sections", "OtherSchools"},
		"Educator": {"ID", "Sections"},
		"Request":  {"District", "School", "Year", "Mode", "Coverage", "Seed", "MaxFamiliesPerPair"},
	}
	got := map[string][]string{
		"Student": fields(Student{}), "Family": fields(Family{}), "Educator": fields(Educator{}), "Request": fields(Request{}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("selector input fields changed (-want +got):\n%s", diff)
	}
}

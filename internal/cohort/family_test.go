package cohort

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildFamilies(t *testing.T) {
	students := []Student{
		{ID: "s3", Grade: "3", Homeroom: "hr3", Sections: []string{"hr3", "math3"}, Guardians: []string{"gB"}},
		{ID: "s1", Grade: "KG", Homeroom: "hrK", Sections: []string{"hrK"}, Guardians: []string{"gA", "gB"}},
		{ID: "s5", Grade: "05", Homeroom: "hr5", Sections: []string{"hr5"}, Guardians: []string{"gC"}},
		{ID: "s6", Grade: "04", Homeroom: "hr4", Sections: []string{"hr4"}, Guardians: []string{"gC", "gD"}},
		{ID: "s7", Grade: "02", Homeroom: "hr2", Sections: []string{"hr2"}, Guardians: []string{"gD"}}, // joins s5 through s6 (transitive)
		{ID: "s8", Grade: "01", Homeroom: "hr1", Sections: []string{"hr1"}},                            // no guardian
		{ID: "s9", Grade: "PK", Homeroom: "hrP", Sections: []string{"hrP"}, Guardians: []string{"gE"}},
	}
	other := map[string]bool{"gE": true}
	fams := BuildFamilies(students, other)
	id := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "fam-" + hex.EncodeToString(sum[:])[:12]
	}
	want := []Family{
		{ID: id("gA\ngB"), Students: []string{"s1", "s3"}, Guardians: []string{"gA", "gB"}, Stratum: "KG", Homeroom: "hrK", Sections: []string{"hr3", "hrK", "math3"}},
		{ID: id("gC\ngD"), Students: []string{"s5", "s6", "s7"}, Guardians: []string{"gC", "gD"}, Stratum: "02", Homeroom: "hr2", Sections: []string{"hr2", "hr4", "hr5"}},
		{ID: id("s8"), Students: []string{"s8"}, Stratum: "01", Homeroom: "hr1", Sections: []string{"hr1"}},
		{ID: id("gE"), Students: []string{"s9"}, Guardians: []string{"gE"}, Stratum: "PK", Homeroom: "hrP", Sections: []string{"hrP"}, OtherSchools: true},
	}
	slices.SortFunc(want, func(a, b Family) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(want, fams); diff != "" {
		t.Errorf("families (-want +got):\n%s", diff)
	}

	// Siblings are counted once: 7 students, 4 families, each student in exactly one.
	seen := map[string]int{}
	for _, f := range fams {
		for _, s := range f.Students {
			seen[s]++
		}
	}
	if len(seen) != len(students) {
		t.Errorf("%d students in families, want %d", len(seen), len(students))
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("student %s in %d families", s, n)
		}
	}

	// Input order does not matter.
	shuffled := slices.Clone(students)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if diff := cmp.Diff(fams, BuildFamilies(shuffled, other)); diff != "" {
		t.Errorf("shuffled input gives other families:\n%s", diff)
	}
}

func TestSiblingsCountedOnceInCohort(t *testing.T) {
	students := []Student{
		{ID: "a1", Grade: "KG", Homeroom: "h", Guardians: []string{"g1"}},
		{ID: "a2", Grade: "03", Homeroom: "h3", Guardians: []string{"g1"}},
		{ID: "a3", Grade: "05", Homeroom: "h5", Guardians: []string{"g1"}},
		{ID: "b1", Grade: "KG", Homeroom: "h", Guardians: []string{"g2"}},
	}
	fams := BuildFamilies(students, nil)
	c, err := Select(Request{District: "d", School: "s", Year: "2025-2026", Mode: ModeAll, Seed: 9}, fams, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Members) != 2 || c.SchoolStudents != 4 || c.StudentsCovered != 4 {
		t.Fatalf("members %d, students %d/%d; want 2 families covering 4 of 4", len(c.Members), c.StudentsCovered, c.SchoolStudents)
	}
	if len(c.Strata) != 1 || c.Strata[0].Grade != "KG" || c.Strata[0].Families != 2 || c.Strata[0].Students != 4 {
		t.Errorf("strata %+v, want one KG stratum of 2 families and 4 students", c.Strata)
	}
}

func TestFamilyInTwoSchoolsFlagged(t *testing.T) {
	students := []Student{
		{ID: "s1", Grade: "02", Guardians: []string{"g1", "g2"}},
		{ID: "s2", Grade: "02", Guardians: []string{"g3"}},
	}
	fams := BuildFamilies(students, map[string]bool{"g2": true, "g3": false})
	flag := map[string]bool{}
	for _, f := range fams {
		flag[f.Students[0]] = f.OtherSchools
	}
	if !flag["s1"] || flag["s2"] {
		t.Errorf("other-school flags %v, want s1 only", flag)
	}
	c, err := Select(Request{District: "d", School: "s", Year: "2025-2026", Mode: ModeAll, Seed: 3}, fams, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		if m.OtherSchools != (m.StudentIDs[0] == "s1") {
			t.Errorf("member %v: OtherSchools %v", m.StudentIDs, m.OtherSchools)
		}
	}
}

func TestGradeOrder(t *testing.T) {
	in := []string{"12", "Other", "03", "KG", "", "01", "PK", "10", "UG", "TK", "02"}
	slices.SortFunc(in, CompareGrades)
	want := []string{"PK", "TK", "KG", "01", "02", "03", "10", "12", "", "Other", "UG"}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("grade order (-want +got):\n%s", diff)
	}
	for in, want := range map[string]string{"k": "KG", "1": "01", " 7 ": "07", "pk": "PK", "12": "12", "14": "14", "x": "X"} {
		if got := CanonicalGrade(in); got != want {
			t.Errorf("CanonicalGrade(%q) = %q, want %q", in, got, want)
		}
	}
}

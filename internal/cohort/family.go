package cohort

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Student is a student at the school, with only what selection may use.
type Student struct {
	ID    string
	Grade string
	// Sections are the class sourcedIds the student is enrolled in, the homeroom among them.
	Sections []string
	Homeroom string
	// Guardians are the guardian users' sourcedIds (the family links).
	Guardians []string
}

// Family is the unit of a home visit: the students of the school who share a guardian,
// directly or through a sibling, with their guardians. Siblings are counted once: a family
// is selected, or not, as a whole.
type Family struct {
	// ID is "fam-" and the first 12 hex digits of the SHA-256 of the sorted guardian ids
	// joined by newlines (of the student id when the student has no guardian).
	ID        string   `json:"id"`
	Students  []string `json:"students"`  // student ids at this school, sorted
	Guardians []string `json:"guardians"` // sorted
	// Stratum is the grade of the family's youngest student at the school.
	Stratum string `json:"stratum"`
	// Homeroom is the homeroom of that youngest student.
	Homeroom string `json:"homeroom"`
	// Sections is the sorted union of the students' class sections, used to prefer an
	// educator pair that includes one of the children's teachers.
	Sections []string `json:"sections"`
	// OtherSchools is true when a guardian also has children at another school: the
	// coordinator should coordinate with that school so the family is not visited twice.
	OtherSchools bool `json:"other_schools"`
}

// BuildFamilies groups students into families: students who share a guardian, directly or
// transitively, are one family; a student without guardians is a family alone. otherSchools
// maps a guardian id to true when the guardian has children at another school. A student id
// that appears twice is one student (its guardians and sections are merged; grade and
// homeroom come from the first occurrence). Families are returned sorted by ID.
func BuildFamilies(students []Student, otherSchools map[string]bool) []Family {
	// Merge duplicate student ids.
	idx := make(map[string]int, len(students))
	var studs []Student
	for _, s := range students {
		if i, ok := idx[s.ID]; ok {
			studs[i].Guardians = append(slices.Clip(studs[i].Guardians), s.Guardians...)
			studs[i].Sections = append(slices.Clip(studs[i].Sections), s.Sections...)
			continue
		}
		idx[s.ID] = len(studs)
		studs = append(studs, s)
	}

	// Union-find over students, joined through shared guardians.
	parent := make([]int, len(studs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	byGuardian := make(map[string]int)
	for i, s := range studs {
		for _, g := range s.Guardians {
			if g == "" {
				continue
			}
			if j, ok := byGuardian[g]; ok {
				a, b := find(i), find(j)
				if a != b {
					parent[a] = b
				}
			} else {
				byGuardian[g] = i
			}
		}
	}
	groups := make(map[int][]int)
	for i := range studs {
		r := find(i)
		groups[r] = append(groups[r], i)
	}

	families := make([]Family, 0, len(groups))
	for _, members := range groups {
		var f Family
		youngest := -1
		for _, i := range members {
			s := studs[i]
			f.Students = append(f.Students, s.ID)
			for _, g := range s.Guardians {
				if g != "" {
					f.Guardians = append(f.Guardians, g)
				}
			}
			f.Sections = append(f.Sections, s.Sections...)
			if youngest < 0 || youngerThan(s, studs[youngest]) {
				youngest = i
			}
		}
		slices.Sort(f.Students)
		f.Guardians = sortedUnique(f.Guardians)
		f.Sections = sortedUnique(f.Sections)
		f.Stratum = CanonicalGrade(studs[youngest].Grade)
		f.Homeroom = studs[youngest].Homeroom
		for _, g := range f.Guardians {
			if otherSchools[g] {
				f.OtherSchools = true
			}
		}
		if len(f.Guardians) > 0 {
			f.ID = familyID(strings.Join(f.Guardians, "\n"))
		} else {
			f.ID = familyID(f.Students[0])
		}
		families = append(families, f)
	}
	slices.SortFunc(families, func(a, b Family) int { return strings.Compare(a.ID, b.ID) })
	return families
}

func familyID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "fam-" + hex.EncodeToString(sum[:])[:12]
}

func youngerThan(a, b Student) bool {
	if c := CompareGrades(CanonicalGrade(a.Grade), CanonicalGrade(b.Grade)); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return nil
	}
	return slices.Clip(s)
}

// gradeRank orders the known grades: the pre-kindergarten grades, KG, then 01 … 13.
var gradeRank = func() map[string]int {
	m := map[string]int{"IT": 0, "PR": 1, "PK": 2, "TK": 3, "KG": 4}
	for g := 1; g <= 13; g++ {
		m[twoDigits(g)] = 4 + g
	}
	return m
}()

func twoDigits(g int) string {
	if g < 10 {
		return "0" + strconv.Itoa(g)
	}
	return strconv.Itoa(g)
}

// CanonicalGrade writes a grade the OneRoster way: "K" becomes "KG", "1" becomes "01", and
// letters are upper-cased. Anything else is returned trimmed.
func CanonicalGrade(g string) string {
	g = strings.ToUpper(strings.TrimSpace(g))
	if g == "K" {
		return "KG"
	}
	if n, err := strconv.Atoi(g); err == nil && n >= 1 && n <= 13 {
		return twoDigits(n)
	}
	return g
}

// CompareGrades orders canonical grades from youngest to oldest: IT, PR, PK, TK, KG, 01 …
// 13, then unknown grades in string order.
func CompareGrades(a, b string) int {
	ra, oka := gradeRank[a]
	rb, okb := gradeRank[b]
	switch {
	case oka && okb:
		return cmp.Compare(ra, rb)
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}

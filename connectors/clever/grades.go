package clever

import (
	"fmt"
	"slices"
	"strings"
)

// Grade maps a Clever grade (v3.0's enumeration: InfantToddler, Preschool, PreKindergarten,
// TransitionalKindergarten, Kindergarten, "1"…"13", PostGraduate, Ungraded, Other) to the
// OneRoster/CEDS grade code the roster keeps: IT, PR, PK, TK, KG, 01…13, PS, UG, Other.
// Ungraded becomes UG and Other stays Other (both CEDS codes: the student is kept, with a
// grade that says so). ok is false for a value outside the vocabulary, and "" (no grade)
// maps to "" with ok true. Matching is exact, as Clever's enumeration is.
func Grade(clever string) (code string, ok bool) {
	switch clever {
	case "":
		return "", true
	case "InfantToddler":
		return "IT", true
	case "Preschool":
		return "PR", true
	case "PreKindergarten":
		return "PK", true
	case "TransitionalKindergarten":
		return "TK", true
	case "Kindergarten":
		return "KG", true
	case "PostGraduate":
		return "PS", true
	case "Ungraded":
		return "UG", true
	case "Other":
		return "Other", true
	case "1", "2", "3", "4", "5", "6", "7", "8", "9":
		return "0" + clever, true
	case "10", "11", "12", "13":
		return clever, true
	}
	return "", false
}

// needGrades notes the students who have no grade of their own (none, or one outside the
// vocabulary), so that sections can count their grades for them.
func (m *mapper) needGrades() {
	m.secGrade = map[string]map[string]int{}
	_ = eachOf(m, Students, func(_ int, id string, u *user) error {
		if u.Roles.Student != nil {
			if g, _ := Grade(u.Roles.Student.Grade); g == "" {
				m.secGrade[id] = map[string]int{}
			}
		}
		return nil
	})
}

// sectionGrade is the grade of a student without one of their own: the grade most of their
// sections carry. On a tie the student gets no grade, with a clever.grade_sections warning
// that names the tied grades.
func (m *mapper) sectionGrade(c Collection, page int, id string) string {
	counts := m.secGrade[id]
	best, top := 0, []string(nil)
	for g, n := range counts {
		switch {
		case n > best:
			best, top = n, []string{g}
		case n == best:
			top = append(top, g)
		}
	}
	switch len(top) {
	case 0:
		return ""
	case 1:
		return top[0]
	}
	slices.Sort(top)
	m.rep.add(Finding{Code: CodeGradeSections, Collection: c, Page: page, CleverID: id, Field: "roles.student.grade",
		Message: fmt.Sprintf("the student has no grade and their sections carry %s equally often (%d sections each); no grade is set", strings.Join(top, ", "), best)})
	return ""
}

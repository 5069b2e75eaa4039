package clever

import (
	"slices"
	"strings"
	"testing"
)

// TestSectionGradeFallback: a student without a grade takes the grade most of their sections
// carry; on a tie the student gets no grade and a clever.grade_sections warning names the
// tied grades; a student with a grade keeps their own whatever their sections say.
func TestSectionGradeFallback(t *testing.T) {
	e := newEnv(t, 60)
	students := e.srv.IDs("users:student")
	sections := e.srv.IDs("sections")
	major, tie, own := students[3], students[4], students[5]
	for _, id := range []string{major, tie} {
		e.srv.Edit("users", id, func(o map[string]any) { o["roles"].(map[string]any)["student"].(map[string]any)["grade"] = "" })
	}
	e.srv.Edit("users", own, func(o map[string]any) { o["roles"].(map[string]any)["student"].(map[string]any)["grade"] = "7" })
	// Take the three out of every section, then place them: major in three sections (4, 4,
	// 5), tie in two (4, 5), own in two of grade 2.
	for _, sec := range sections {
		e.srv.Edit("sections", sec, func(o map[string]any) {
			o["students"] = slices.DeleteFunc(o["students"].([]any), func(v any) bool { return v == major || v == tie || v == own })
		})
	}
	place := func(sec, grade string, ids ...string) {
		e.srv.Edit("sections", sec, func(o map[string]any) {
			o["grade"] = grade
			for _, id := range ids {
				o["students"] = append(o["students"].([]any), id)
			}
		})
	}
	place(sections[0], "4", major)
	place(sections[1], "4", major, tie)
	place(sections[2], "5", major, tie)
	place(sections[3], "2", own)
	place(sections[4], "2", own)

	rep, sink, err := pull(t, e.client(t, Options{Limit: 50}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	users := sink.users()
	if g := users[major].Grades; !slices.Equal(g, []string{"04"}) {
		t.Errorf("the student in sections of grades 4, 4 and 5 has grades %v, want [04]", g)
	}
	if g := users[tie].Grades; len(g) != 0 {
		t.Errorf("the student in sections of grades 4 and 5 has grades %v, want none", g)
	}
	if g := users[own].Grades; !slices.Equal(g, []string{"07"}) {
		t.Errorf("the student with grade 7 has grades %v, want their own [07]", g)
	}
	f := finding(rep, Students, CodeGradeSections, tie)
	if f == nil {
		t.Fatalf("no %s warning for the tied student; findings %v", CodeGradeSections, rep.Findings)
	}
	if f.Severity != "warning" || !strings.Contains(f.Message, "04, 05") || f.Field != "roles.student.grade" {
		t.Errorf("the tie's finding: %+v", f)
	}
	if n := rep.Count(Students, CodeGradeSections); n != 1 {
		t.Errorf("%d %s findings, want 1 (only the tie)", n, CodeGradeSections)
	}
}

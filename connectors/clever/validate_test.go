package clever

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
)

func finding(rep *Report, c Collection, code Code, id string) *Finding {
	for i, f := range rep.Findings {
		if f.Collection == c && f.Code == code && f.CleverID == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func TestValidationFindings(t *testing.T) {
	e := newEnv(t, 150)
	sections := e.srv.IDs("sections")
	students := e.srv.IDs("users:student")
	contacts := e.srv.IDs("users:contact")
	badSchool, badTerm := sections[0], sections[1]
	noName, badGrade, badSchoolStudent := students[0], students[1], students[2]
	badLink := contacts[0]
	var secStudents []string
	e.srv.Edit("sections", badSchool, func(o map[string]any) {
		o["school"] = "5f0000000000000000000000"
		for _, st := range o["students"].([]any) {
			secStudents = append(secStudents, st.(string))
		}
	})
	e.srv.Edit("sections", badTerm, func(o map[string]any) { o["term_id"] = "5f0000000000000000000001" })
	e.srv.Edit("users", noName, func(o map[string]any) { o["name"].(map[string]any)["first"] = "" })
	e.srv.Edit("users", badGrade, func(o map[string]any) { o["roles"].(map[string]any)["student"].(map[string]any)["grade"] = "Grade 3" })
	e.srv.Edit("users", badSchoolStudent, func(o map[string]any) {
		o["roles"].(map[string]any)["student"].(map[string]any)["schools"] = []any{"5f0000000000000000000002"}
	})
	e.srv.Edit("users", badLink, func(o map[string]any) {
		c := o["roles"].(map[string]any)["contact"].(map[string]any)
		c["student_relationships"] = append(c["student_relationships"].([]any), map[string]any{"student": "5f0000000000000000000003", "relationship": "Parent"})
	})
	rep, sink, err := pull(t, e.client(t, Options{Limit: 40}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pull.AllComplete() {
		t.Fatalf("%+v", rep.Pull)
	}

	check := func(c Collection, code Code, id, field string) *Finding {
		t.Helper()
		f := finding(rep, c, code, id)
		if f == nil {
			t.Fatalf("no %s finding for %s %s in %v", code, c, id, rep.Findings)
		}
		if f.Page < 1 || f.Field != field {
			t.Errorf("finding %+v: want a page and field %s", f, field)
		}
		return f
	}
	t.Run("a section at an unknown school is rejected with its enrollments", func(t *testing.T) {
		check(Sections, csv.CodeRefDangling, badSchool, "school")
		if len(secStudents) == 0 {
			t.Fatal("the edited section has no students")
		}
		if !sink.rejected[roster.KindClass][badSchool] || sink.records[roster.KindClass][badSchool] != nil {
			t.Error("the class was not rejected")
		}
		for _, st := range secStudents {
			if !sink.rejected[roster.KindEnrollment][badSchool+"#student#"+st] {
				t.Errorf("the enrollment of %s was not rejected", st)
			}
		}
	})
	t.Run("a section in an unknown term is rejected", func(t *testing.T) {
		check(Sections, csv.CodeRefDangling, badTerm, "term_id")
	})
	t.Run("a user without a first name is rejected with their roles, and their enrollments too", func(t *testing.T) {
		check(Students, csv.CodeRequired, noName, "name.first")
		if !sink.rejected[roster.KindUser][noName] || sink.users()[noName] != nil {
			t.Error("the user was not rejected")
		}
		roles := 0
		for id := range sink.rejected[roster.KindRole] {
			if strings.HasPrefix(id, noName+"#") {
				roles++
			}
		}
		if roles == 0 {
			t.Error("their roles were not rejected")
		}
		if rep.Counts[csv.CodeRefRejected] == 0 {
			t.Error("their enrollments were not rejected")
		}
	})
	t.Run("a grade outside the vocabulary is dropped with a warning, the student kept", func(t *testing.T) {
		f := check(Students, CodeGrade, badGrade, "roles.student.grade")
		if f.Severity != csv.SeverityWarning || strings.Contains(f.Message, "Grade 3") {
			t.Errorf("%+v", f)
		}
		if sink.users()[badGrade] == nil {
			t.Error("the student was dropped")
		}
	})
	t.Run("a role at an unknown school is rejected, the user kept", func(t *testing.T) {
		check(Students, csv.CodeRefDangling, badSchoolStudent, "roles.student.school")
		if sink.users()[badSchoolStudent] == nil {
			t.Error("the student was dropped")
		}
	})
	t.Run("a contact's link to an unknown student is dropped, the contact kept", func(t *testing.T) {
		check(Contacts, CodeLinkDropped, badLink, "student_relationships")
		u := sink.users()[badLink]
		if u == nil || len(u.AgentSourcedIDs) == 0 {
			t.Fatalf("contact %+v", u)
		}
		for _, a := range u.AgentSourcedIDs {
			if a == "5f0000000000000000000003" {
				t.Error("the dangling link was kept")
			}
		}
	})
	t.Run("findings carry ids, never names or emails", func(t *testing.T) {
		b, _ := json.Marshal(rep.Findings)
		for _, u := range sink.users() {
			if u.FamilyName != "" && strings.Contains(string(b), u.FamilyName) || u.Email != "" && strings.Contains(string(b), u.Email) {
				t.Fatalf("a finding names %s", u.SourcedID)
			}
		}
	})
}

// pageOf builds a staged page from records.
func pageOf(recs ...string) []byte {
	var parts []string
	for _, r := range recs {
		parts = append(parts, `{"data":`+r+`}`)
	}
	return []byte(`{"data":[` + strings.Join(parts, ",") + `],"links":[]}`)
}

func TestMapLeniencyAndDuplicates(t *testing.T) {
	stage := NewMemStage()
	ctx := context.Background()
	_ = stage.Put(ctx, Districts, 1, pageOf(`{"id":"d1","name":"D"}`), Cursor{})
	_ = stage.Put(ctx, Schools, 1, pageOf(`{"id":"s1","name":"S","district":"d1","unknown":{"x":1}}`, `{"id":"s2","name":"T","district":"other"}`), Cursor{})
	_ = stage.Put(ctx, Schools, 2, []byte(`{"data":[{"data":{"id":"s1","name":"S again"}},{"id":"s3","name":"Bare"},"text",{"data":{"id":"bad id!"}}]}`), Cursor{})
	_ = stage.Put(ctx, Students, 1, []byte(`<html>`), Cursor{})
	pull := &PullResult{Collections: []CollectionResult{
		{Collection: Districts, Complete: true, Pages: 1, Records: 1},
		{Collection: Schools, Complete: true, Pages: 2, Records: 6},
		{Collection: Students, Complete: true, Pages: 1, Records: 5},
	}}
	sink := newSink()
	rep, err := Map(ctx, stage, pull, sink, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orgs := sink.records[roster.KindOrg]
	if orgs["s1"] == nil || orgs["s1"].(*roster.Org).Name != "S" || orgs["s3"] == nil || orgs["s2"] != nil || orgs["d1"] == nil {
		t.Errorf("orgs %v", orgs)
	}
	for _, c := range []struct {
		code Code
		page int
		id   string
	}{{csv.CodeDuplicate, 2, "s1"}, {CodeOtherDistrict, 1, "s2"}, {CodeRecord, 2, ""}, {csv.CodeSourcedID, 2, ""}} {
		found := false
		for _, f := range rep.Findings {
			if f.Collection == Schools && f.Code == c.code && f.Page == c.page && f.CleverID == c.id {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s finding on schools page %d id %q: %v", c.code, c.page, c.id, rep.Findings)
		}
	}
	if f := finding(rep, Students, CodeEnvelope, ""); f == nil || f.Page != 1 {
		t.Errorf("no envelope finding for the HTML page: %v", rep.Findings)
	}
	if sink.modes[roster.KindUser] == roster.ModeBulk || sink.modes[roster.KindOrg] != roster.ModeBulk {
		t.Errorf("modes %v: a broken staged page must keep its kinds out of bulk, and only those", sink.modes)
	}
}

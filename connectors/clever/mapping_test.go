package clever

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	standin "github.com/pthv/reach/internal/standin/clever"
)

// csvRoster reads the same generated district as a OneRoster CSV package with the CSV
// connector: the independent account of what the Clever pull must produce.
func csvRoster(t *testing.T, students int) *memSink {
	t.Helper()
	dir := t.TempDir()
	if _, err := rostergen.Write(dir, rostergen.Options{Students: students, Seed: 7, Version: "1.2"}); err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	rep, err := csv.ReadPath(context.Background(), dir, sink, csv.Options{})
	if err != nil || rep.Fatal() {
		t.Fatalf("csv read: %v %v", err, rep)
	}
	return sink
}

func ids(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = standin.ID(s)
	}
	sort.Strings(out)
	return out
}

func TestPullMapsTheDistrictAsTheCSVExportDoes(t *testing.T) {
	const students = 400
	e := newEnv(t, students)
	rep, got, err := pull(t, e.client(t, Options{Limit: 64}, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := csvRoster(t, students)
	if !rep.Complete || rep.Errors != 0 {
		t.Fatalf("complete=%v errors=%d findings=%v", rep.Complete, rep.Errors, rep.Findings)
	}
	if !slices.Equal(got.order, roster.Kinds) {
		t.Errorf("kinds announced in order %v, want %v", got.order, roster.Kinds)
	}
	for _, k := range roster.Kinds {
		if got.modes[k] != roster.ModeBulk {
			t.Errorf("%s announced %s, want bulk", k, got.modes[k])
		}
	}

	t.Run("schools become orgs of type school under the district org", func(t *testing.T) {
		for id, r := range want.records[roster.KindOrg] {
			w := r.(*roster.Org)
			g, ok := got.records[roster.KindOrg][standin.ID(id)].(*roster.Org)
			if !ok {
				t.Fatalf("org %s missing", id)
			}
			parent := ""
			if w.ParentSourcedID != "" {
				parent = standin.ID(w.ParentSourcedID)
			}
			if g.Name != w.Name || g.Type != w.Type || g.ParentSourcedID != parent || g.Identifier != w.Identifier {
				t.Errorf("org %s: got %+v, want %+v", id, g, w)
			}
		}
		if len(got.records[roster.KindOrg]) != len(want.records[roster.KindOrg]) {
			t.Errorf("%d orgs, want %d", len(got.records[roster.KindOrg]), len(want.records[roster.KindOrg]))
		}
	})

	t.Run("terms become academic sessions with dates and school year", func(t *testing.T) {
		for id, r := range want.records[roster.KindAcademicSession] {
			w := r.(*roster.AcademicSession)
			g := got.records[roster.KindAcademicSession][standin.ID(id)].(*roster.AcademicSession)
			if g.Title != w.Title || g.StartDate != w.StartDate || g.EndDate != w.EndDate || g.SchoolYear != w.SchoolYear || g.Type != "term" {
				t.Errorf("term %s: got %+v, want %+v", id, g, w)
			}
		}
	})

	wantUsers, gotUsers := want.users(), got.users()
	roleOf := map[string]string{}
	for _, r := range want.records[roster.KindRole] {
		rl := r.(*roster.Role)
		roleOf[rl.UserSourcedID] = rl.Role
	}

	t.Run("students keep name, number, school, grade (the section's where Clever has none) and guardians", func(t *testing.T) {
		n := 0
		for id, w := range wantUsers {
			if roleOf[id] != "student" {
				continue
			}
			n++
			g := gotUsers[standin.ID(id)]
			if g == nil {
				t.Fatalf("student %s missing", id)
			}
			wantUser := &roster.User{SourcedID: standin.ID(id), Status: roster.StatusActive, EnabledUser: true,
				Identifier: w.Identifier, GivenName: w.GivenName, FamilyName: w.FamilyName, Email: w.Email,
				AgentSourcedIDs: ids(w.AgentSourcedIDs), Grades: w.Grades, PrimaryOrgSourcedID: standin.ID(w.PrimaryOrgSourcedID)}
			if d := cmp.Diff(wantUser, g); d != "" {
				t.Fatalf("student %s (-want +got):\n%s", id, d)
			}
		}
		if n != students {
			t.Fatalf("compared %d students, want %d", n, students)
		}
	})

	t.Run("contacts become guardians linked to their students, with phone and relationship as role", func(t *testing.T) {
		gotRole := map[string][]string{}
		for _, r := range got.records[roster.KindRole] {
			rl := r.(*roster.Role)
			gotRole[rl.UserSourcedID] = append(gotRole[rl.UserSourcedID], rl.Role)
		}
		for id, w := range wantUsers {
			wr := roleOf[id]
			if wr != "parent" && wr != "guardian" && wr != "relative" {
				continue
			}
			g := gotUsers[standin.ID(id)]
			if g == nil {
				t.Fatalf("guardian %s missing", id)
			}
			if !slices.Equal(g.AgentSourcedIDs, ids(w.AgentSourcedIDs)) || g.Phone != w.Phone || g.Email != w.Email || g.GivenName != w.GivenName {
				t.Fatalf("guardian %s: got %+v, want %+v", id, g, w)
			}
			roles := gotRole[standin.ID(id)]
			if len(roles) != 1 {
				t.Fatalf("guardian %s has roles %v, want one", id, roles)
			}
			if wr == "parent" && roles[0] != "parent" || wr != "parent" && roles[0] != "guardian" && roles[0] != "relative" {
				t.Errorf("guardian %s: role %s for OneRoster role %s", id, roles[0], wr)
			}
		}
	})

	t.Run("teachers keep their teacher role, and a teacher who is also staff keeps both", func(t *testing.T) {
		byUser := map[string][]string{}
		for _, r := range got.records[roster.KindRole] {
			rl := r.(*roster.Role)
			byUser[rl.UserSourcedID] = append(byUser[rl.UserSourcedID], rl.Role)
		}
		both := 0
		for id := range wantUsers {
			if roleOf[id] != "teacher" {
				continue
			}
			rs := byUser[standin.ID(id)]
			if !slices.Contains(rs, "teacher") {
				t.Errorf("teacher %s has roles %v", id, rs)
			}
			if slices.Contains(rs, "aide") {
				both++
			}
		}
		if both == 0 {
			t.Error("no teacher kept a staff role as well")
		}
		counselors := 0
		for _, rs := range byUser {
			if slices.Equal(rs, []string{"counselor"}) {
				counselors++
			}
		}
		if counselors != len(want.records[roster.KindOrg])-1 {
			t.Errorf("%d counselors, want one per school", counselors)
		}
	})

	t.Run("sections become classes and their students and teachers enrollments", func(t *testing.T) {
		type enr struct {
			class, user, role string
			primary           bool
		}
		var w, g []enr
		for _, r := range want.records[roster.KindEnrollment] {
			x := r.(*roster.Enrollment)
			w = append(w, enr{standin.ID(x.ClassSourcedID), standin.ID(x.UserSourcedID), x.Role, x.Primary})
		}
		for _, r := range got.records[roster.KindEnrollment] {
			x := r.(*roster.Enrollment)
			g = append(g, enr{x.ClassSourcedID, x.UserSourcedID, x.Role, x.Primary})
		}
		less := func(a, b enr) int { return strings.Compare(a.class+a.user+a.role, b.class+b.user+b.role) }
		slices.SortFunc(w, less)
		slices.SortFunc(g, less)
		if d := cmp.Diff(w, g, cmp.AllowUnexported(enr{})); d != "" {
			t.Fatalf("enrollments (-want +got):\n%s", d)
		}
		for id, r := range want.records[roster.KindClass] {
			wc := r.(*roster.Class)
			gc := got.records[roster.KindClass][standin.ID(id)].(*roster.Class)
			if gc.Title != wc.Title || gc.ClassType != wc.ClassType || gc.SchoolSourcedID != standin.ID(wc.SchoolSourcedID) ||
				gc.CourseSourcedID != standin.ID(wc.CourseSourcedID) || gc.ClassCode != wc.ClassCode {
				t.Errorf("class %s: got %+v, want %+v", id, gc, wc)
			}
			if len(wc.Grades) == 1 && !slices.Equal(gc.Grades, wc.Grades) {
				t.Errorf("class %s grades %v, want %v", id, gc.Grades, wc.Grades)
			}
		}
	})
}

func TestGradeVocabulary(t *testing.T) {
	cases := map[string]string{"InfantToddler": "IT", "Preschool": "PR", "PreKindergarten": "PK", "TransitionalKindergarten": "TK",
		"Kindergarten": "KG", "1": "01", "9": "09", "10": "10", "12": "12", "13": "13", "PostGraduate": "PS", "Ungraded": "UG",
		"Other": "Other", "": ""}
	for in, want := range cases {
		if got, ok := Grade(in); !ok || got != want {
			t.Errorf("Grade(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"K", "kindergarten", "0", "14", "01", "Grade 3"} {
		if got, ok := Grade(bad); ok {
			t.Errorf("Grade(%q) = %q accepted; want refused", bad, got)
		}
	}
}

func TestGuardianRoles(t *testing.T) {
	cases := []struct{ rel, typ, want string }{
		{"Parent", "Parent/Guardian", "parent"}, {"Parent", "", "parent"}, {"Grandparent", "Family", "relative"},
		{"Aunt/Uncle", "", "relative"}, {"Sibling", "Emergency", "relative"}, {"Other", "Parent/Guardian", "guardian"},
		{"", "Primary", "guardian"}, {"Other", "Emergency", "relative"}, {"Self", "Parent/Guardian", ""},
	}
	for _, c := range cases {
		if got := GuardianRole(c.rel, c.typ); got != c.want {
			t.Errorf("GuardianRole(%q, %q) = %q, want %q", c.rel, c.typ, got, c.want)
		}
	}
}

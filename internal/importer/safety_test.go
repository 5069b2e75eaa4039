package importer

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
)

// exportFiles returns the files of a generated export.
func exportFiles(t *testing.T, o rostergen.Options) map[string][]byte {
	t.Helper()
	data := genZip(t, o)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = b
	}
	return out
}

func zipFiles(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rowsOf(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func kindOf(s pthv.Safety, kind string) pthv.KindSafety {
	for _, k := range s.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	return pthv.KindSafety{}
}

func TestADeltaThatDeletesEveryStudentAsAUserIsHeld(t *testing.T) {
	r := newRig(t)
	o := rostergen.Options{Students: 80, Seed: 41}
	files := exportFiles(t, o)
	if imp := r.drop("drops/d1/rosters/full.zip", zipFiles(t, files)); imp.Status != pthv.StatusApplied {
		t.Fatalf("full import: %s", imp.Status)
	}
	// users.csv as a delta: every student tobedeleted, roles.csv untouched (absent).
	var students []string
	for _, row := range rowsOf(t, files["roles.csv"])[1:] {
		if row[5] == "student" {
			students = append(students, row[3])
		}
	}
	users := "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n"
	for _, s := range students {
		users += s + ",tobedeleted,2026-03-01T00:00:00.000Z,,,,,,,,,,,,,,,,,,,,\n"
	}
	manifest := strings.NewReplacer("file.users,bulk", "file.users,delta").Replace(string(files["manifest.csv"]))
	for _, f := range []string{"orgs", "academicSessions", "courses", "classes", "roles", "enrollments", "demographics"} {
		manifest = strings.Replace(manifest, "file."+f+",bulk", "file."+f+",absent", 1)
	}
	delta := map[string][]byte{"manifest.csv": []byte(manifest), "users.csv": []byte(users)}
	imp := r.drop("drops/d1/rosters/delta.zip", zipFiles(t, delta))
	if imp.Validation.Errors != 0 {
		t.Fatalf("the delta has %d errors: %+v", imp.Validation.Errors, imp.Validation.Codes)
	}
	st := kindOf(imp.Safety, HoldStudents)
	if imp.Status != pthv.StatusHeld || !st.Held || st.Deactivated != len(students) || st.Active != len(students) {
		t.Fatalf("delta deleting every student: %s, students %+v", imp.Status, st)
	}
	if !strings.Contains(imp.Reason, "active students") {
		t.Errorf("the reason does not name the kind that tripped the hold: %q", imp.Reason)
	}
	if got := len(active(r.store, "d1", roster.KindUser)); got == 0 || imp.Safety.DeactivatedStudents != len(students) {
		t.Errorf("students %d/%d; %d active users left", imp.Safety.DeactivatedStudents, imp.Safety.ActiveStudents, got)
	}
}

func TestAUsersFileCutShortIsHeldWithItsReasons(t *testing.T) {
	o := rostergen.Options{Students: 150, Seed: 42}
	full := exportFiles(t, o)
	lines := strings.SplitAfter(string(full["users.csv"]), "\n")
	for _, tc := range []struct {
		name    string
		users   string
		reasons []string
	}{
		{"stopped halfway at a line break", strings.Join(lines[:len(lines)/2], ""),
			[]string{"active teachers and staff", "users.csv has", "fewer, more than"}},
		{"stopped halfway inside a row", strings.Join(lines[:len(lines)/2], "") + lines[len(lines)/2][:5],
			[]string{"ends without a line break", "users.csv has"}},
		{"complete but without its last line break", strings.TrimSuffix(string(full["users.csv"]), "\n"),
			[]string{"ends without a line break"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			if imp := r.drop("drops/d1/rosters/full.zip", zipFiles(t, full)); imp.Status != pthv.StatusApplied {
				t.Fatalf("full import: %s", imp.Status)
			}
			cut := map[string][]byte{}
			for k, v := range full {
				cut[k] = v
			}
			cut["users.csv"] = []byte(tc.users)
			before := len(active(r.store, "d1", roster.KindUser))
			imp := r.drop("drops/d1/rosters/cut.zip", zipFiles(t, cut))
			if imp.Status != pthv.StatusHeld {
				t.Fatalf("%s: %s (%s) safety %+v", tc.name, imp.Status, imp.Reason, imp.Safety)
			}
			for _, want := range tc.reasons {
				if !strings.Contains(imp.Reason, want) {
					t.Errorf("reason %q lacks %q", imp.Reason, want)
				}
			}
			if after := len(active(r.store, "d1", roster.KindUser)); after != before {
				t.Errorf("a held import changed the roster: %d active users, were %d", after, before)
			}
		})
	}
}

func TestAPersonDeactivatedAsUserAndByRoleCountsOnce(t *testing.T) {
	cur := pthv.State{roster.KindRole: {}, roster.KindUser: {}}
	for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
		cur[roster.KindUser][id] = pthv.Current{Hash: "h", Active: true}
		cur[roster.KindRole]["r"+id] = pthv.Current{Hash: "h", Active: true, Role: "student", User: id}
	}
	cur[roster.KindRole]["rs1b"] = pthv.Current{Hash: "h", Active: true, Role: "student", User: "s1"} // a second school
	p := NewPlanner(cur)
	p.File(roster.KindUser, roster.ModeDelta)
	p.File(roster.KindRole, roster.ModeDelta)
	// s1: user deactivated, both roles kept; s2: user and role deactivated.
	for _, id := range []string{"s1", "s2"} {
		if err := p.Record(&roster.User{SourcedID: id, Status: roster.StatusToBeDeleted}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Record(&roster.Role{SourcedID: "rs2", Status: roster.StatusToBeDeleted}); err != nil {
		t.Fatal(err)
	}
	plan := p.FinishWith(map[string]float64{HoldStudents: 0.5})
	if st := kindOf(plan.Safety, HoldStudents); st.Deactivated != 2 || st.Active != 5 || st.Held {
		t.Fatalf("students %+v: want 2 of 5, not held", st)
	}
	// A per-district share below that holds it, and says which kind.
	plan = NewPlanner(cur).FinishWith(nil)
	if plan.Safety.Held {
		t.Fatalf("an empty delta is held: %+v", plan.Safety)
	}
}

func TestTheHoldCountsEveryKindWithItsOwnShare(t *testing.T) {
	cur := pthv.State{roster.KindRole: {}, roster.KindUser: {}, roster.KindEnrollment: {}, roster.KindClass: {}, roster.KindOrg: {}}
	add := func(kind roster.Kind, id string, c pthv.Current) {
		c.Hash, c.Active = "h", true
		cur[kind][id] = c
	}
	for i := range 10 {
		n := string(rune('a' + i))
		add(roster.KindUser, "t"+n, pthv.Current{})
		add(roster.KindRole, "rt"+n, pthv.Current{Role: "teacher", User: "t" + n})
		add(roster.KindUser, "g"+n, pthv.Current{})
		add(roster.KindRole, "rg"+n, pthv.Current{Role: "guardian", User: "g" + n})
		add(roster.KindEnrollment, "e"+n, pthv.Current{})
		add(roster.KindClass, "c"+n, pthv.Current{})
		add(roster.KindOrg, "o"+n, pthv.Current{Role: "school"})
	}
	add(roster.KindOrg, "district", pthv.Current{Role: "district"})
	for _, tc := range []struct {
		kind   string
		file   roster.Kind
		prefix string
	}{
		{HoldStaff, roster.KindUser, "t"}, {HoldGuardians, roster.KindRole, "rg"}, {HoldEnrollments, roster.KindEnrollment, "e"},
		{HoldClasses, roster.KindClass, "c"}, {HoldSchools, roster.KindOrg, "o"},
	} {
		st := pthv.State{}
		for k, m := range cur {
			st[k] = map[string]pthv.Current{}
			for id, c := range m {
				st[k][id] = c
			}
		}
		p := NewPlanner(st)
		p.File(tc.file, roster.ModeBulk)
		for id, c := range st[tc.file] {
			if !strings.HasPrefix(id, tc.prefix) || id[len(id)-1] <= 'g' { // 3 of 10 missing
				c.Seen = true // as the planner marks a record it read
				st[tc.file][id] = c
			}
		}
		plan := p.FinishWith(nil)
		got := kindOf(plan.Safety, tc.kind)
		if got.Active != 10 || got.Deactivated != 3 || !got.Held || !plan.Safety.Held {
			t.Errorf("%s: %+v", tc.kind, got)
		}
		for _, other := range HoldKinds {
			if k := kindOf(plan.Safety, other); other != tc.kind && k.Held {
				t.Errorf("%s tripped %s too: %+v", tc.kind, other, k)
			}
		}
		// The district's own share for the kind lets it through.
		p2 := NewPlanner(st)
		p2.File(tc.file, roster.ModeBulk)
		for id, c := range st[tc.file] {
			if !strings.HasPrefix(id, tc.prefix) || id[len(id)-1] <= 'g' { // the same records read
				c.Seen = true
				st[tc.file][id] = c
			}
		}
		if plan := p2.FinishWith(map[string]float64{tc.kind: 0.5}); plan.Safety.Held {
			t.Errorf("%s with a 50%% share: held %+v", tc.kind, plan.Safety.Reasons)
		}
	}
}

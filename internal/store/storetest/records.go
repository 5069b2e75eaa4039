package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func put(kind roster.Kind, rec any, id, school string) pthv.Op {
	b, _ := json.Marshal(rec)
	op := pthv.Op{Op: pthv.OpPut, Kind: kind, ID: id, Hash: pthv.Hash(b), Data: b, School: school}
	if r, ok := rec.(roster.Role); ok {
		op.Role, op.User = r.Role, r.UserSourcedID
	}
	return op
}

func testRoster(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	u1 := roster.User{SourcedID: "u1", Status: roster.StatusActive, GivenName: "A", FamilyName: "B"}
	u2 := roster.User{SourcedID: "u2", Status: roster.StatusActive}
	role := roster.Role{SourcedID: "r1", Status: roster.StatusActive, UserSourcedID: "u1", OrgSourcedID: "sch1", Role: "student"}
	ws, err := s.Apply(ctx, d, "imp-1", []pthv.Op{put(roster.KindUser, u1, "u1", ""), put(roster.KindUser, u2, "u2", ""), put(roster.KindRole, role, "r1", "sch1")})
	must(t, err)
	if ws.Items != 3 || ws.Updates != 0 {
		t.Errorf("write stats of three puts: %+v", ws)
	}
	ws, err = s.Apply(ctx, d, "imp-2", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "u2"},
		{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "ghost"}})
	must(t, err)
	if ws.Items != 0 || ws.Updates != 2 {
		t.Errorf("write stats of two deactivations: %+v", ws)
	}
	st, err := s.LoadState(ctx, d)
	must(t, err)
	roleOp := put(roster.KindRole, role, "r1", "sch1")
	want := pthv.State{}
	for _, k := range roster.Kinds {
		want[k] = map[string]pthv.Current{}
	}
	want[roster.KindUser]["u1"] = pthv.Current{Hash: put(roster.KindUser, u1, "u1", "").Hash, Active: true}
	want[roster.KindUser]["u2"] = pthv.Current{Hash: put(roster.KindUser, u2, "u2", "").Hash}
	want[roster.KindRole]["r1"] = pthv.Current{Hash: roleOp.Hash, Active: true, Role: "student", User: "u1"}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("state (-want +got); a deactivation of a record never stored must not create it:\n%s", diff)
	}
	raw, active, err := s.GetRecord(ctx, d, roster.KindUser, "u2")
	must(t, err)
	var back roster.User
	must(t, json.Unmarshal(raw, &back))
	if active || back.SourcedID != "u2" {
		t.Errorf("a deactivated record: active %v, %s; want it kept, inactive", active, raw)
	}
	_, _, err = s.GetRecord(ctx, d, roster.KindUser, "ghost")
	wantCode(t, "a record never stored", err, pthv.ErrNotFound)
	_, _, err = s.GetRecord(ctx, uniq("other"), roster.KindUser, "u1")
	wantCode(t, "another district's record", err, pthv.ErrNotFound)
	// A put revives.
	_, err = s.Apply(ctx, d, "imp-3", []pthv.Op{put(roster.KindUser, u2, "u2", "")})
	must(t, err)
	if _, active, _ := s.GetRecord(ctx, d, roster.KindUser, "u2"); !active {
		t.Error("a record put again is still inactive")
	}
	if _, err := s.Apply(ctx, d, "imp-4", []pthv.Op{{Op: "delete", Kind: roster.KindUser, ID: "u1"}}); err == nil {
		t.Error("an unknown op was applied")
	}
}

func testSchoolRoster(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	var ops []pthv.Op
	for i, sch := range []string{"sch1", "sch1", "sch2"} {
		u := fmt.Sprintf("u%d", i)
		ops = append(ops, put(roster.KindUser, roster.User{SourcedID: u, Status: roster.StatusActive, GivenName: u}, u, ""),
			put(roster.KindRole, roster.Role{SourcedID: "r" + u, Status: roster.StatusActive, UserSourcedID: u, OrgSourcedID: sch, Role: "student"}, "r"+u, sch))
	}
	ops = append(ops,
		put(roster.KindRole, roster.Role{SourcedID: "rt", Status: roster.StatusActive, UserSourcedID: "t", OrgSourcedID: "sch1", Role: "teacher"}, "rt", "sch1"),
		put(roster.KindClass, roster.Class{SourcedID: "c1", Status: roster.StatusActive, SchoolSourcedID: "sch1", Title: "Homeroom"}, "c1", "sch1"),
		put(roster.KindEnrollment, roster.Enrollment{SourcedID: "e1", Status: roster.StatusActive, ClassSourcedID: "c1", SchoolSourcedID: "sch1", UserSourcedID: "u0", Role: "student"}, "e1", "sch1"))
	_, err := s.Apply(ctx, d, "imp-1", ops)
	must(t, err)
	_, err = s.Apply(ctx, d, "imp-2", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindRole, ID: "ru1"}, {Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "u2"}})
	must(t, err)
	sr, err := s.SchoolRoster(ctx, d, "sch1")
	must(t, err)
	var roles []string
	for _, r := range sr.Roles {
		roles = append(roles, r.SourcedID)
	}
	slices.Sort(roles)
	if !slices.Equal(roles, []string{"rt", "ru0"}) || len(sr.Classes) != 1 || sr.Classes[0].Title != "Homeroom" ||
		len(sr.Enrollments) != 1 || sr.Enrollments[0].UserSourcedID != "u0" {
		t.Errorf("school roster: roles %v, %d classes, %d enrollments; want the active roles ru0 and rt, c1 and e1", roles, len(sr.Classes), len(sr.Enrollments))
	}
	if n, err := s.SchoolStudents(ctx, d, "sch1"); err != nil || n != 1 {
		t.Errorf("SchoolStudents(sch1) = %d, %v; want 1 (ru1 is inactive, rt a teacher)", n, err)
	}
	if n, err := s.SchoolStudents(ctx, d, "sch2"); err != nil || n != 1 {
		t.Errorf("SchoolStudents(sch2) = %d, %v; want 1", n, err)
	}
	if sr, err := s.SchoolRoster(ctx, uniq("other"), "sch1"); err != nil || len(sr.Roles)+len(sr.Classes)+len(sr.Enrollments) != 0 {
		t.Errorf("another district's school: %+v, %v", sr, err)
	}
	users, err := s.Users(ctx, d, []string{"u0", "u1", "u2", "nobody"})
	must(t, err)
	if len(users) != 2 || users["u0"].GivenName != "u0" || users["u1"] == nil {
		t.Errorf("Users = %v; want the active u0 and u1 only", users)
	}
}

func testSessionYears(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	var ops []pthv.Op
	for _, as := range []roster.AcademicSession{
		{SourcedID: "sy-2027", Status: roster.StatusActive, Type: "schoolYear", StartDate: "2026-08-15"},
		{SourcedID: "term-1", Status: roster.StatusActive, Type: "term", StartDate: "2026-08-15"},
		{SourcedID: "term-2", Status: roster.StatusActive, Type: "term", StartDate: "2027-01-10"},
		{SourcedID: "term-old", Status: roster.StatusActive, Type: "term", StartDate: "2024-08-15"},
		{SourcedID: "term-gone", Status: roster.StatusActive, Type: "term", StartDate: "2022-08-15"},
	} {
		ops = append(ops, put(roster.KindAcademicSession, as, as.SourcedID, ""))
	}
	_, err := s.Apply(ctx, d, "imp-1", ops)
	must(t, err)
	_, err = s.Apply(ctx, d, "imp-2", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindAcademicSession, ID: "term-gone"}})
	must(t, err)
	got, err := s.SessionYears(ctx, d, []string{"term-2", "term-1", "term-old", "term-gone", "term-missing"})
	must(t, err)
	if want := []string{"2024-2025", "2026-2027"}; !slices.Equal(got, want) {
		t.Errorf("SessionYears = %v; want %v (sorted, once each; inactive and unknown sessions left out)", got, want)
	}
	if got, err := s.SessionYears(ctx, uniq("other"), []string{"term-1"}); err != nil || len(got) != 0 {
		t.Errorf("another district's sessions: %v, %v", got, err)
	}
}

func testTrainings(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	tw := func(key, hash string) pthv.TrainingWrite {
		return pthv.TrainingWrite{Key: key, Educator: "e1", SchoolYear: "2026-2027", Hash: hash, Data: json.RawMessage(`{"hours":6}`)}
	}
	_, err := s.PutTrainings(ctx, d, "imp-1", []pthv.TrainingWrite{tw("e1#2026-08-20#introductory", "h1"), tw("e2#2026-08-20#introductory", "h2")})
	must(t, err)
	_, err = s.PutTrainings(ctx, d, "imp-2", []pthv.TrainingWrite{tw("e1#2026-08-20#introductory", "h3")})
	must(t, err)
	got, err := s.LoadTrainings(ctx, d)
	must(t, err)
	if diff := cmp.Diff(map[string]string{"e1#2026-08-20#introductory": "h3", "e2#2026-08-20#introductory": "h2"}, got); diff != "" {
		t.Errorf("trainings (-want +got):\n%s", diff)
	}
	_, err = s.SetOptIns(ctx, d, []pthv.OptIn{{Educator: "e1", SchoolYear: "2026-2027", In: true, Source: "cli"},
		{Educator: "e2", SchoolYear: "2026-2027", In: true, Source: "cli"}, {Educator: "e2", SchoolYear: "2026-2027", In: false, Source: "cli"},
		{Educator: "e1", SchoolYear: "2027-2028", In: false, Source: "cli"}})
	must(t, err)
	opts, err := s.OptIns(ctx, d, "2026-2027")
	must(t, err)
	if diff := cmp.Diff(map[string]bool{"e1": true, "e2": false}, opts); diff != "" {
		t.Errorf("opt-ins of 2026-2027, the last choice of a call winning (-want +got):\n%s", diff)
	}
	if opts, _ := s.OptIns(ctx, d, "2027-2028"); len(opts) != 1 || opts["e1"] {
		t.Errorf("opt-ins of 2027-2028: %v", opts)
	}
}

func testOptInDecisions(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	const year = "2026-2027"
	t0 := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	set := func(what string, want int, opts ...pthv.OptIn) {
		t.Helper()
		ws, err := s.SetOptIns(ctx, d, opts)
		must(t, err)
		if ws.Items != want {
			t.Errorf("%s: %d decisions written, want %d", what, ws.Items, want)
		}
	}
	out := pthv.OptIn{Educator: "e1", SchoolYear: year, In: false, At: t0, Source: "cli"}
	set("a first decision", 1, out)
	older := pthv.OptIn{Educator: "e1", SchoolYear: year, In: true, At: t0.Add(-time.Hour), Source: "csv:imp-1"}
	set("an older decision", 0, older)
	same := out
	same.In, same.Source = true, "csv:imp-2"
	set("a decision as old as the one on record", 0, same)
	got, err := s.OptInDecisions(ctx, d, year)
	must(t, err)
	if diff := cmp.Diff(map[string]pthv.OptIn{"e1": out}, got); diff != "" {
		t.Errorf("the decision on record after older ones (-want +got):\n%s", diff)
	}

	// Within a call the newest decision is the one written, whatever the order.
	newest := pthv.OptIn{Educator: "e1", SchoolYear: year, In: true, At: t0.Add(2 * time.Hour), Source: "csv:imp-3"}
	newer := pthv.OptIn{Educator: "e1", SchoolYear: year, In: false, At: t0.Add(time.Hour), Source: "csv:imp-3"}
	other := pthv.OptIn{Educator: "e2", SchoolYear: year, In: true, At: t0, Source: "cli"}
	set("a call of two newer decisions and another educator's", 2, newest, newer, other)
	got, err = s.OptInDecisions(ctx, d, year)
	must(t, err)
	if diff := cmp.Diff(map[string]pthv.OptIn{"e1": newest, "e2": other}, got); diff != "" {
		t.Errorf("decisions after a newer call (-want +got):\n%s", diff)
	}
	if in, err := s.OptIns(ctx, d, year); err != nil || !in["e1"] || !in["e2"] || len(in) != 2 {
		t.Errorf("OptIns = %v, %v; want e1 and e2 in", in, err)
	}

	// Decision times are kept to the second.
	frac := pthv.OptIn{Educator: "e3", SchoolYear: year, In: true, At: t0.Add(1500 * time.Millisecond), Source: "cli"}
	set("a decision with a fraction of a second", 1, frac)
	got, err = s.OptInDecisions(ctx, d, year)
	must(t, err)
	if want := t0.Add(time.Second); !got["e3"].At.Equal(want) {
		t.Errorf("a decision at %s is on record at %s, want %s", frac.At, got["e3"].At, want)
	}
	if other, _ := s.OptInDecisions(ctx, d, "2027-2028"); len(other) != 0 {
		t.Errorf("another year's decisions: %v", other)
	}
}

func testConsent(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	at := c.now().Add(123456789 * time.Nanosecond)
	must(t, s.SetConsent(ctx, d, []pthv.ConsentEntry{
		{Year: "2026-2027", Subject: pthv.FamilySubject("f1"), Consent: "accepted", Date: "2026-08-01", At: at, Source: "cli"},
		{Year: "2026-2027", Subject: pthv.StudentSubject("s1"), Consent: "accepted", Date: "2026-08-01", At: at, Source: "cli"},
		{Year: "2026-2027", Subject: pthv.StudentSubject("s1"), Consent: "declined", Date: "2026-08-02", At: at, Source: "import:imp-1"},
		{Year: "2027-2028", Subject: pthv.FamilySubject("f1"), Consent: "unknown", Date: "2027-08-01", Source: "cli"},
	}))
	got, err := s.Consent(ctx, d, "2026-2027")
	must(t, err)
	want := map[string]pthv.ConsentEntry{
		"F#f1": {Year: "2026-2027", Subject: "F#f1", Consent: "accepted", Date: "2026-08-01", At: at, Source: "cli"},
		"S#s1": {Year: "2026-2027", Subject: "S#s1", Consent: "declined", Date: "2026-08-02", At: at, Source: "import:imp-1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("consent of 2026-2027 (-want +got):\n%s", diff)
	}
	next, err := s.Consent(ctx, d, "2027-2028")
	must(t, err)
	if e := next["F#f1"]; e.Consent != "unknown" || !e.At.Equal(c.now()) {
		t.Errorf("an answer without a time: %+v; want it stored, recorded at the store's now %s", e, c.now())
	}
}

func testVisits(t *testing.T, s Store, _ *clock) {
	d := uniq("d")
	vw := func(id, date string, n int) pthv.VisitWrite {
		sv := pthv.StoredVisit{Visit: pthv.Visit{ID: id, School: "sch1", Date: date, Number: n, Educators: []string{"e1", "e2"},
			Setting: "home", Minutes: 45, Status: "completed"}, Family: "fam-1", Students: []string{"s1"}, Year: pthv.SchoolYearOfDate(date).String()}
		b, _ := json.Marshal(sv)
		return pthv.VisitWrite{VisitCurrent: pthv.VisitCurrent{Hash: pthv.Hash(b), Year: sv.Year, School: "sch1", Family: "fam-1", Number: n}, ID: id, Data: b}
	}
	a, b, old := vw("v1", "2026-09-10", 1), vw("v2", "2027-01-10", 2), vw("v0", "2025-10-01", 1)
	_, err := s.PutVisits(ctx, d, "imp-1", []pthv.VisitWrite{a, old})
	must(t, err)
	_, err = s.PutVisits(ctx, d, "imp-2", []pthv.VisitWrite{b})
	must(t, err)
	cur, err := s.LoadVisits(ctx, d)
	must(t, err)
	if diff := cmp.Diff(map[string]pthv.VisitCurrent{"v1": a.VisitCurrent, "v2": b.VisitCurrent, "v0": old.VisitCurrent}, cur); diff != "" {
		t.Errorf("visits (-want +got):\n%s", diff)
	}
	vs, read, err := s.VisitsOf(ctx, d, "2026-2027")
	must(t, err)
	slices.SortFunc(vs, func(x, y pthv.StoredVisit) int { return x.Number - y.Number })
	var want []pthv.StoredVisit
	for _, w := range []pthv.VisitWrite{a, b} {
		var sv pthv.StoredVisit
		must(t, json.Unmarshal(w.Data, &sv))
		want = append(want, sv)
	}
	if diff := cmp.Diff(want, vs); diff != "" || read != 3 {
		t.Errorf("visits of 2026-2027, %d items read (want 3: the year is a filter) (-want +got):\n%s", read, diff)
	}
}

func testCohorts(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	rec := &cohort.Record{ID: "coh-1", District: d, School: "sch1", Year: "2026-2027", Revision: 1, Created: c.now(), Updated: c.now(),
		Declined: []string{"fam-9"}, Educators: []cohort.EducatorInput{{ID: "e1", Sections: []string{"c1"}}},
		Summary: cohort.Summary{Mode: "all", Families: 2, Status: "ok"}, CSVKey: "a.csv", PopulationKey: "a.json"}
	m := func(fam string, order int) cohort.MemberItem {
		return cohort.MemberItem{Member: cohort.Member{FamilyID: fam, Stratum: "03", Order: order}, Consent: cohort.ConsentUnknown}
	}
	_, err := s.GetCohort(ctx, d, "coh-1")
	wantCode(t, "an unknown cohort", err, pthv.ErrNotFound)
	wantCode(t, "revision 2 of a cohort not stored", s.PutCohort(ctx, &cohort.Record{ID: "coh-1", District: d, School: "sch1", Revision: 2}, nil), pthv.ErrConflict)
	// The school keys the cohort in the table's school index, which takes no empty key.
	if err := s.PutCohort(ctx, &cohort.Record{ID: "coh-0", District: d, Revision: 1}, nil); err == nil || errors.Is(err, pthv.ErrConflict) {
		t.Errorf("a cohort without a school: %v; want it refused, and not as a conflict", err)
	}
	must(t, s.PutCohort(ctx, rec, []cohort.MemberItem{m("fam-2", 1), m("fam-1", 0)}))
	got, err := s.GetCohort(ctx, d, "coh-1")
	must(t, err)
	if diff := cmp.Diff(rec, got); diff != "" || got.MembersSet == "" {
		t.Errorf("cohort round trip, with the members set the store named (-put +got):\n%s", diff)
	}
	again := *rec
	wantCode(t, "revision 1 again", s.PutCohort(ctx, &again, []cohort.MemberItem{m("fam-x", 0)}), pthv.ErrConflict)
	skip := *rec
	skip.Revision = 3
	wantCode(t, "revision 3 after 1", s.PutCohort(ctx, &skip, nil), pthv.ErrConflict)
	members, err := s.Members(ctx, d, "coh-1")
	must(t, err)
	if len(members) != 2 || members[0].FamilyID != "fam-1" || members[1].FamilyID != "fam-2" {
		t.Errorf("members after lost writes: %v; want revision 1's, in order", members)
	}
	next := *rec
	next.Revision, next.Updated = 2, c.now().Add(time.Hour)
	must(t, s.PutCohort(ctx, &next, []cohort.MemberItem{m("fam-3", 0)}))
	members, err = s.Members(ctx, d, "coh-1")
	must(t, err)
	if len(members) != 1 || members[0].FamilyID != "fam-3" {
		t.Errorf("members of revision 2: %v", members)
	}
	must(t, s.PutCohort(ctx, &cohort.Record{ID: "coh-2", District: d, School: "sch2", Year: "2026-2027", Revision: 1}, nil))
	all, err := s.ListCohorts(ctx, d)
	must(t, err)
	var ids []string
	for _, r := range all {
		ids = append(ids, fmt.Sprintf("%s@%d", r.ID, r.Revision))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"coh-1@2", "coh-2@1"}) {
		t.Errorf("ListCohorts = %v", ids)
	}
}

func testAggregates(t *testing.T, s Store, _ *clock) {
	year := fmt.Sprintf("%d-%d", 3000+time.Now().UnixNano()%5000, 3001+time.Now().UnixNano()%5000)
	for i, c := range []struct {
		name, data string
		wrote      bool
	}{{"D#d1", `{"v":1}`, true}, {"D#d1", `{"v":1}`, false}, {"D#d1", `{"v":2}`, true}, {"ST#CA", `{"v":3}`, true}, {"NATIONAL", `{}`, true}} {
		wrote, err := s.PutAggregate(ctx, year, c.name, []byte(c.data))
		must(t, err)
		if wrote != c.wrote {
			t.Errorf("write %d (%s %s): wrote %v, want %v", i, c.name, c.data, wrote, c.wrote)
		}
	}
	got, err := s.Aggregates(ctx, year, pthv.ItemPrefix("D"))
	must(t, err)
	if len(got) != 1 || string(got["D#d1"]) != `{"v":2}` {
		t.Errorf("aggregates D#: %q", got)
	}
	if all, _ := s.Aggregates(ctx, year, ""); len(all) != 3 {
		t.Errorf("all aggregates: %q", all)
	}
}

package cohortsvc

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store/memstore"
)

const (
	testDistrict = "dist-test"
	testYear     = "2026-2027"
)

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type fixture struct {
	store  *memstore.Store
	roster *rosterView
	blobs  *memBlobs
	svc    *Service
	logs   *bytes.Buffer
}

func newFixture(t testing.TB, students int) *fixture {
	t.Helper()
	m, view := loadGenerated(t, testDistrict, rostergen.Options{Students: students, Seed: 7})
	f := &fixture{store: m, roster: view, blobs: &memBlobs{}, logs: &bytes.Buffer{}}
	seed := uint64(0)
	f.svc = &Service{Store: m, Blobs: f.blobs, ReportsBucket: "reports", Now: func() time.Time { return testNow },
		Log: slog.New(slog.NewJSONHandler(f.logs, nil)), Seed: func() uint64 { seed++; return 1000 + seed }}
	return f
}

// schools returns the district's schools, biggest first.
func (f *fixture) schools() []string {
	n := map[string]int{}
	for _, r := range f.roster.roles {
		if r.Role == "student" && strings.HasPrefix(r.OrgSourcedID, "sch-") {
			n[r.OrgSourcedID]++
		}
	}
	var out []string
	for s := range n {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int { return n[b] - n[a] + strings.Compare(a, b)*0 })
	return out
}

// teachers returns the sorted teachers with a role at the school.
func (f *fixture) teachers(school string) []string {
	var out []string
	for _, r := range f.roster.roles {
		if r.Role == "teacher" && r.OrgSourcedID == school {
			out = append(out, r.UserSourcedID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// enlist opts educators in for the year and gives them an introductory training.
func (f *fixture) enlist(ids ...string) {
	for _, id := range ids {
		f.optIn(id)
		f.train(id, "2026-08-20")
	}
}

// optIn opts an educator in for the year.
func (f *fixture) optIn(id string) {
	if err := f.store.SetOptIns(context.Background(), testDistrict, []pthv.OptIn{{Educator: id, SchoolYear: testYear, In: true, Source: "cli"}}); err != nil {
		panic(err)
	}
}

// train records an introductory training of an educator on date.
func (f *fixture) train(id, date string) {
	key := id + "#" + date + "#introductory"
	if _, err := f.store.PutTrainings(context.Background(), testDistrict, "imp-test", []pthv.TrainingWrite{{Key: key, Educator: id, SchoolYear: testYear, Hash: "h", Data: []byte(`{}`)}}); err != nil {
		panic(err)
	}
}

func (f *fixture) selectCohort(t *testing.T, req cohort.Request) *cohort.Record {
	t.Helper()
	req.District, req.Year = testDistrict, testYear
	rec, err := f.svc.Select(context.Background(), req, "")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (f *fixture) members(t *testing.T, id string) []cohort.MemberItem {
	t.Helper()
	_, ms, err := f.svc.Show(context.Background(), testDistrict, id)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// expectedFamilies computes a school's families straight from the records: students of the
// school joined when they share a guardian (union-find), and whether a guardian has an
// active child elsewhere.
func (f *fixture) expectedFamilies(school string) (families map[string]bool, other map[string]bool) {
	var studs []string
	for _, r := range f.roster.roles {
		if r.Role == "student" && r.OrgSourcedID == school && !f.roster.inactive[r.UserSourcedID] {
			studs = append(studs, r.UserSourcedID)
		}
	}
	at := map[string]bool{}
	for _, s := range studs {
		at[s] = true
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			return x
		}
		r := find(parent[x])
		parent[x] = r
		return r
	}
	byGuardian := map[string]string{}
	for _, s := range studs {
		for _, g := range f.roster.users[s].AgentSourcedIDs {
			if o, ok := byGuardian[g]; ok {
				parent[find(s)] = find(o)
			} else {
				byGuardian[g] = s
			}
		}
	}
	groups := map[string][]string{}
	for _, s := range studs {
		groups[find(s)] = append(groups[find(s)], s)
	}
	families, other = map[string]bool{}, map[string]bool{}
	for _, g := range groups {
		slices.Sort(g)
		key := strings.Join(g, ",")
		families[key] = true
		for _, s := range g {
			for _, gd := range f.roster.users[s].AgentSourcedIDs {
				for _, c := range f.roster.users[gd].AgentSourcedIDs {
					if _, ok := f.roster.users[c]; ok && !at[c] && !f.roster.inactive[c] {
						other[key] = true
					}
				}
			}
		}
	}
	return families, other
}

func TestSelectAllBuildsFamiliesFromTheRoster(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	rec := f.selectCohort(t, cohort.Request{School: school, Mode: cohort.ModeAll})
	want, wantOther := f.expectedFamilies(school)
	got := map[string]bool{}
	siblings, flagged := 0, 0
	for _, m := range f.members(t, rec.ID) {
		key := strings.Join(m.StudentIDs, ",")
		if got[key] {
			t.Errorf("family %s twice", key)
		}
		got[key] = true
		if m.OtherSchools != wantOther[key] {
			t.Errorf("family %s: other_schools %v, want %v", m.FamilyID, m.OtherSchools, wantOther[key])
		}
		if len(m.StudentIDs) > 1 {
			siblings++
		}
		if m.OtherSchools {
			flagged++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d families, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("family of students %s missing", k)
		}
	}
	if siblings == 0 || flagged == 0 {
		t.Fatalf("fixture too simple: %d sibling families, %d flagged for other schools", siblings, flagged)
	}
	if rec.Summary.StudentsCovered != rec.Summary.SchoolStudents || rec.Summary.Share != 1 {
		t.Errorf("mode all covers %d of %d students", rec.Summary.StudentsCovered, rec.Summary.SchoolStudents)
	}
	if rec.Summary.Status != cohort.StatusReady || rec.Summary.Unpaired != 0 {
		t.Errorf("status %s, %d unpaired: %s", rec.Summary.Status, rec.Summary.Unpaired, rec.Summary.Reason)
	}
	t.Logf("%s: %d families (%d with siblings, %d with children elsewhere), %d pairs", school, len(got), siblings, flagged, rec.Summary.Pairs)
}

func TestOnlyOptedInTrainedEducatorsArePaired(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	ts := f.teachers(school)
	if len(ts) < 8 {
		t.Fatalf("school has %d teachers", len(ts))
	}
	eligible := ts[:5]
	f.enlist(eligible...)
	f.optIn(ts[5])               // opted in, never trained
	f.train(ts[6], "2026-08-20") // trained, not opted in
	f.optIn(ts[7])               // opted in, training in the future
	f.train(ts[7], "2027-01-10")
	rec := f.selectCohort(t, cohort.Request{School: school, Mode: cohort.ModeCrossSection})
	if rec.Summary.Pairs != 2 || len(rec.Cohort.Reserve) != 1 {
		t.Fatalf("5 eligible educators: %d pairs, reserve %v", rec.Summary.Pairs, rec.Cohort.Reserve)
	}
	loads := map[string]int{}
	for _, m := range f.members(t, rec.ID) {
		if len(m.Pair) != 2 || m.Pair[0] == m.Pair[1] {
			t.Fatalf("family %s has pair %v", m.FamilyID, m.Pair)
		}
		for _, e := range m.Pair {
			if !slices.Contains(eligible, e) {
				t.Errorf("family %s paired with ineligible educator %s", m.FamilyID, e)
			}
		}
		loads[strings.Join(m.Pair, "+")]++
	}
	var ls []int
	for _, n := range loads {
		ls = append(ls, n)
	}
	if slices.Max(ls)-slices.Min(ls) > 1 {
		t.Errorf("uneven loads %v", loads)
	}
}

func TestTooFewEducatorsNeedsEducators(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)[0])
	rec := f.selectCohort(t, cohort.Request{School: school})
	if rec.Summary.Status != cohort.StatusNeedsEducators || rec.Summary.Reason == "" || rec.Summary.Pairs != 0 {
		t.Fatalf("one educator: status %s (%q), %d pairs", rec.Summary.Status, rec.Summary.Reason, rec.Summary.Pairs)
	}
	for _, m := range f.members(t, rec.ID) {
		if len(m.Pair) != 0 {
			t.Fatalf("family %s has pair %v with one eligible educator", m.FamilyID, m.Pair)
		}
	}
}

func TestDeclineIsReplacedWithoutReshuffling(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	rec := f.selectCohort(t, cohort.Request{School: school, Coverage: 0.2})
	before := f.members(t, rec.ID)
	gone := before[len(before)/2]
	// The family declines through one of its children's ids.
	if err := f.store.SetConsent(context.Background(), testDistrict, []pthv.ConsentEntry{{Year: testYear, Subject: pthv.StudentSubject(gone.StudentIDs[0]), Consent: "declined", Date: "2026-11-20", At: testNow}}); err != nil {
		t.Fatal(err)
	}
	rec2, err := f.svc.Refresh(ctx, testDistrict, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Revision != 2 || !slices.Contains(rec2.Declined, gone.FamilyID) {
		t.Fatalf("revision %d, declined %v", rec2.Revision, rec2.Declined)
	}
	after := f.members(t, rec.ID)
	now := map[string]cohort.MemberItem{}
	for _, m := range after {
		now[m.FamilyID] = m
	}
	if _, ok := now[gone.FamilyID]; ok {
		t.Fatalf("declined family %s still in the cohort", gone.FamilyID)
	}
	was := map[string]bool{}
	for _, m := range before {
		was[m.FamilyID] = true
		if m.FamilyID == gone.FamilyID {
			continue
		}
		n, ok := now[m.FamilyID]
		if !ok || n.Order != m.Order || n.Stratum != m.Stratum {
			t.Errorf("family %s moved: was %s#%d, now %+v (present %v)", m.FamilyID, m.Stratum, m.Order, n, ok)
		}
	}
	added := 0
	for _, m := range after {
		if was[m.FamilyID] {
			continue
		}
		added++
		if m.Stratum != gone.Stratum || m.Order <= gone.Order {
			t.Errorf("replacement %s is %s#%d; the declined family was %s#%d", m.FamilyID, m.Stratum, m.Order, gone.Stratum, gone.Order)
		}
	}
	if added == 0 {
		t.Error("no replacement for the declined family")
	}
	csvRows := readCSV(t, f.blobs, rec.CSVKey)
	for _, r := range csvRows[1:] {
		if r[0] == gone.FamilyID {
			t.Error("the coordinator CSV still lists the declined family")
		}
	}
	if len(csvRows)-1 != len(after) {
		t.Errorf("CSV has %d families, cohort %d", len(csvRows)-1, len(after))
	}
	v, err := f.svc.Verify(ctx, testDistrict, rec.ID)
	if err != nil || !v.Match {
		t.Fatalf("verify after refresh: %+v %v", v, err)
	}
}

func TestConsentNewestAnswerWins(t *testing.T) {
	fams := []cohort.Family{{ID: "fam-a", Students: []string{"s1", "s2"}}, {ID: "fam-b", Students: []string{"s3"}}, {ID: "fam-c", Students: []string{"s4"}}}
	at := testNow
	entries := map[string]consent.Entry{
		pthv.StudentSubject("s1"):   {Consent: "declined", Date: "2026-09-01", At: at},
		pthv.FamilySubject("fam-a"): {Consent: "accepted", Date: "2026-10-01", At: at.Add(-time.Hour)},
		pthv.FamilySubject("fam-b"): {Consent: "accepted", Date: "2026-10-01", At: at},
		pthv.StudentSubject("s3"):   {Consent: "declined", Date: "2026-10-01", At: at.Add(time.Minute)},
	}
	got := familyConsent(fams, entries)
	want := map[string]cohort.Consent{"fam-a": cohort.ConsentAccepted, "fam-b": cohort.ConsentDeclined, "fam-c": cohort.ConsentUnknown}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
}

func TestVerify(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	rec := f.selectCohort(t, cohort.Request{School: school})
	v, err := f.svc.Verify(ctx, testDistrict, rec.ID)
	if err != nil || !v.Match || v.RosterChanged {
		t.Fatalf("fresh cohort: %+v %v", v, err)
	}

	// A student leaves: the cohort still verifies against its stored population, and the
	// drift is reported.
	ms := f.members(t, rec.ID)
	f.deactivate(t, ms[0].StudentIDs[0])
	v, err = f.svc.Verify(ctx, testDistrict, rec.ID)
	if err != nil || !v.Match || !v.RosterChanged {
		t.Fatalf("after a student left: %+v %v", v, err)
	}

	// Someone edits a stored pair.
	var pair []string
	if err := f.store.EditMembers(testDistrict, rec.ID, func(ms []cohort.MemberItem) {
		pair = ms[0].Pair
		ms[0].Pair = []string{"tch-intruder", pair[1]}
	}); err != nil {
		t.Fatal(err)
	}
	v, err = f.svc.Verify(ctx, testDistrict, rec.ID)
	if err != nil || v.Match || len(v.Diffs) == 0 {
		t.Fatalf("edited pair verifies: %+v %v", v, err)
	}
	t.Logf("edited pair: %v", v.Diffs)

	// Someone edits the stored population.
	if err := f.store.EditMembers(testDistrict, rec.ID, func(ms []cohort.MemberItem) { ms[0].Pair = pair }); err != nil {
		t.Fatal(err)
	}
	key := "reports/" + rec.PopulationKey
	var fams []cohort.Family
	_ = json.Unmarshal(f.blobs.objs[key], &fams)
	fams = fams[1:]
	f.blobs.objs[key], _ = json.Marshal(fams)
	v, err = f.svc.Verify(ctx, testDistrict, rec.ID)
	if err != nil || v.Match || !strings.Contains(strings.Join(v.Diffs, " "), "population") {
		t.Fatalf("edited population verifies: %+v %v", v, err)
	}
}

func TestSameSeedSameCohort(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	req := cohort.Request{District: testDistrict, School: school, Year: testYear, Seed: 42}
	a := f.selectCohort(t, req)
	b, err := f.svc.Select(ctx, req, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	req.Seed = 43
	c, err := f.svc.Select(ctx, req, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	ma, mb, mc := f.members(t, a.ID), f.members(t, b.ID), f.members(t, c.ID)
	if a.ID == b.ID {
		t.Fatal("two selections got one id")
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	jc, _ := json.Marshal(mc)
	if !bytes.Equal(ja, jb) {
		t.Error("same seed, different members")
	}
	if bytes.Equal(ja, jc) {
		t.Error("different seeds, same members")
	}
}

func TestHandleRefusals(t *testing.T) {
	f := newFixture(t, 600)
	school := f.schools()[0]
	ctx := context.Background()
	cases := []struct {
		name, payload, code, says string
	}{
		{"targeting", `{"action":"select","request":{"district":"dist-test","school":"` + school + `","year":"2026-2027","attendance":"below 90%"}}`, pthv.CodeTargeting, "not targeted"},
		{"targeting in a nested name", `{"action":"select","request":{"district":"dist-test","school":"` + school + `","year":"2026-2027","englishLearner":true}}`, pthv.CodeTargeting, "not targeted"},
		{"unknown action", `{"action":"delete","district":"dist-test"}`, pthv.CodeInvalid, "unknown action"},
		{"unknown envelope field", `{"action":"list","district":"dist-test","grades":"low"}`, pthv.CodeInvalid, "unknown field"},
		{"bad year", `{"action":"select","request":{"district":"dist-test","school":"` + school + `","year":"2026"}}`, pthv.CodeInvalid, "year"},
		{"unknown district", `{"action":"select","request":{"district":"nope","school":"` + school + `","year":"2026-2027"}}`, pthv.CodeNotFound, "not registered"},
		{"school without students", `{"action":"select","request":{"district":"dist-test","school":"sch-none","year":"2026-2027"}}`, pthv.CodeNoStudents, "no active students"},
		{"unknown cohort", `{"action":"show","district":"dist-test","cohortId":"coh-x"}`, pthv.CodeNotFound, "not found"},
		{"show without id", `{"action":"show","district":"dist-test"}`, pthv.CodeInvalid, "cohortId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := f.svc.Handle(ctx, []byte(c.payload))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Error == nil || resp.Error.Code != c.code || !strings.Contains(resp.Error.Message, c.says) {
				t.Fatalf("got %+v, want code %s saying %q", resp.Error, c.code, c.says)
			}
			if resp.Cohort != nil || resp.Members != nil {
				t.Error("a refused request returned a cohort")
			}
		})
	}
	if stored, _ := f.store.ListCohorts(context.Background(), testDistrict); len(stored) != 0 {
		t.Errorf("%d cohorts stored by refused requests", len(stored))
	}
}

func TestHandleRoundTrip(t *testing.T) {
	f := newFixture(t, 600)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	resp, err := f.svc.Handle(ctx, []byte(`{"action":"select","request":{"district":"dist-test","school":"`+school+`","year":"2026-2027","mode":"all"}}`))
	if err != nil || resp.Error != nil {
		t.Fatal(err, resp.Error)
	}
	id := resp.Cohort.ID
	for _, p := range []string{
		`{"action":"show","district":"dist-test","cohortId":"` + id + `"}`,
		`{"action":"verify","district":"dist-test","cohortId":"` + id + `"}`,
		`{"action":"list","district":"dist-test","school":"` + school + `"}`,
		`{"action":"refresh","district":"dist-test","cohortId":"` + id + `"}`,
	} {
		r, err := f.svc.Handle(ctx, []byte(p))
		if err != nil || r.Error != nil {
			t.Fatalf("%s: %v %+v", p, err, r.Error)
		}
		switch {
		case strings.Contains(p, `"show"`) && len(r.Members) != resp.Cohort.Summary.Families:
			t.Errorf("show: %d members, want %d", len(r.Members), resp.Cohort.Summary.Families)
		case strings.Contains(p, `"verify"`) && !r.Verify.Match:
			t.Errorf("verify: %+v", r.Verify)
		case strings.Contains(p, `"list"`) && (len(r.Cohorts) != 1 || r.Cohorts[0].ID != id):
			t.Errorf("list: %+v", r.Cohorts)
		}
	}
}

func readCSV(t *testing.T, b *memBlobs, key string) [][]string {
	t.Helper()
	body, err := b.Get(context.Background(), "reports", key)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVColumns) {
		t.Fatalf("CSV header %v", rows[0])
	}
	return rows
}

func TestCoordinatorCSV(t *testing.T) {
	f := newFixture(t, 1500)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	rec := f.selectCohort(t, cohort.Request{School: school, Mode: cohort.ModeAll})
	ms := f.members(t, rec.ID)
	// A guardian whose name would run as a spreadsheet formula.
	g := f.roster.users[ms[0].StudentIDs[0]].AgentSourcedIDs[0]
	u := f.roster.users[g]
	u.GivenName = "=HYPERLINK(\"http://x\")"
	f.putUser(t, u)
	rec, err := f.svc.Refresh(context.Background(), testDistrict, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.CSVKey, "reports/"+testDistrict+"/cohorts/"+school+"/"+testYear+"/"+rec.ID) {
		t.Errorf("CSV at %s", rec.CSVKey)
	}
	rows := readCSV(t, f.blobs, rec.CSVKey)
	if len(rows)-1 != len(ms) {
		t.Fatalf("%d rows for %d families", len(rows)-1, len(ms))
	}
	col := func(name string) int { return slices.Index(CSVColumns, name) }
	for i, r := range rows[1:] {
		m := ms[i]
		if r[col("family_id")] != m.FamilyID || r[col("student_ids")] != strings.Join(m.StudentIDs, "; ") || r[col("educator_ids")] != strings.Join(m.Pair, "; ") {
			t.Fatalf("row %d %v does not match member %+v", i+1, r, m)
		}
		if (r[col("other_schools")] == "yes") != m.OtherSchools {
			t.Errorf("row %d: other_schools %s", i+1, r[col("other_schools")])
		}
		if r[col("guardian_emails")] == "" || r[col("student_names")] == "" {
			t.Errorf("row %d lacks contacts: %v", i+1, r)
		}
		if strings.HasPrefix(r[col("guardian_names")], "=") {
			t.Errorf("row %d: formula not defused: %s", i+1, r[col("guardian_names")])
		}
		if len(strings.Split(r[col("student_grades")], "; ")) != len(m.StudentIDs) {
			t.Errorf("row %d: grades %q for %d students", i+1, r[col("student_grades")], len(m.StudentIDs))
		}
	}
	if !strings.HasPrefix(rows[1][col("guardian_names")], "'=HYPERLINK") {
		t.Errorf("first row guardian names %q", rows[1][col("guardian_names")])
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	f := newFixture(t, 600)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	rec := f.selectCohort(t, cohort.Request{School: school, Mode: cohort.ModeAll})
	if _, err := f.svc.Verify(ctx, testDistrict, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Handle(ctx, []byte(`{"action":"select","request":{"district":"dist-test","school":"`+school+`","year":"2026-2027","ethnicity":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, rec.ID) {
		t.Fatal("no log line names the cohort")
	}
	for _, u := range f.roster.users {
		for _, pii := range []string{u.Email, u.Phone, u.GivenName + " " + u.FamilyName} {
			if strings.TrimSpace(pii) != "" && strings.Contains(logs, pii) {
				t.Fatalf("logs contain %q", pii)
			}
		}
	}
}

func TestStoreErrorsAreNotRefusals(t *testing.T) {
	f := newFixture(t, 600)
	f.svc.Store = failingStore{f.store}
	resp, err := f.svc.Handle(context.Background(), []byte(`{"action":"select","request":{"district":"dist-test","school":"`+f.schools()[0]+`","year":"2026-2027"}}`))
	if err == nil || resp != nil {
		t.Fatalf("a store failure came back as %+v, %v", resp, err)
	}
}

type failingStore struct{ *memstore.Store }

func (failingStore) SchoolRoster(context.Context, string, string) (*pthv.SchoolRoster, error) {
	return nil, errors.New("throttled")
}

var _ = pthv.ErrNotFound
var _ = roster.KindUser

func TestOneCurrentCohortPerSchoolAndYear(t *testing.T) {
	f := newFixture(t, 600)
	school := f.schools()[0]
	f.enlist(f.teachers(school)...)
	ctx := context.Background()
	req := cohort.Request{District: testDistrict, School: school, Year: testYear}
	first := f.selectCohort(t, req)
	// Drawing again to get another sample is refused: it names the cohort to refresh or replace.
	_, err := f.svc.Select(ctx, req, "")
	var e *pthv.Error
	if !errors.As(err, &e) || e.Code != pthv.CodeExists || !strings.Contains(e.Message, first.ID) {
		t.Fatalf("second draw: %v", err)
	}
	if _, err := f.svc.Select(ctx, req, "coh-other"); !errors.As(err, &e) || e.Code != pthv.CodeExists {
		t.Fatalf("replacing a cohort that is not current: %v", err)
	}
	second, err := f.svc.Select(ctx, req, first.ID)
	if err != nil || second.Replaces != first.ID {
		t.Fatalf("replacement: %+v %v", second, err)
	}
	if _, err := f.svc.Select(ctx, req, first.ID); !errors.As(err, &e) || e.Code != pthv.CodeExists {
		t.Fatalf("replacing the replaced cohort again: %v", err)
	}
	// Another year, or another school, is a new cohort.
	other := req
	other.Year = "2027-2028"
	if _, err := f.svc.Select(ctx, other, ""); err != nil {
		t.Fatal(err)
	}
	all, _ := f.svc.List(ctx, testDistrict, school, testYear)
	if len(all) != 2 {
		t.Fatalf("%d cohorts on record for the school and year, want both", len(all))
	}
}

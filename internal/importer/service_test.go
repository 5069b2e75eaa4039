package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store/memstore"
	"github.com/pthv/reach/internal/training"
	"github.com/pthv/reach/schemas"
)

type rig struct {
	t     *testing.T
	store *memstore.Store
	blobs *memBlobs
	queue *memQueue
	svc   *Service
}

func newRig(t *testing.T) *rig {
	st, bl, q := memstore.New(), newMemBlobs(), &memQueue{}
	if err := st.PutDistrict(context.Background(), pthv.District{ID: "d1", Name: "Demo", State: "CA", HoldShare: pthv.DefaultHoldShare}); err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, store: st, blobs: bl, queue: q, svc: &Service{Store: st, Blobs: bl, Queue: q,
		DropsBucket: "drops", ReportsBucket: "reports", TempDir: t.TempDir()}}
}

func genZip(t *testing.T, o rostergen.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := rostergen.WriteZip(&buf, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// drop uploads data and delivers its event, returning the import that handled it.
func (r *rig) drop(key string, data []byte) *pthv.Import {
	r.t.Helper()
	obj := r.blobs.upload("drops", key, data)
	if err := r.svc.HandleDrop(context.Background(), obj); err != nil && !errors.Is(err, pthv.ErrRefused) {
		r.t.Fatalf("HandleDrop: %v", err)
	}
	id, err := r.store.ObjectClaim(context.Background(), obj)
	if err != nil {
		return nil
	}
	imp, err := r.store.GetImport(context.Background(), "d1", id)
	if err != nil {
		r.t.Fatal(err)
	}
	return imp
}

func (r *rig) drainQueue() {
	r.t.Helper()
	for i := 0; i < 1000; i++ {
		msgs := r.queue.take()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if err := r.svc.Continue(context.Background(), m); err != nil {
				r.t.Fatalf("Continue: %v", err)
			}
		}
	}
	r.t.Fatal("continuations never ended")
}

func TestAReDropWritesNothingAndARemovalIsHeldUntilApproved(t *testing.T) {
	r := newRig(t)
	full := genZip(t, rostergen.Options{Students: 400, Seed: 5})
	first := r.drop("drops/d1/rosters/a.zip", full)
	if first.Status != pthv.StatusApplied || first.Counts[roster.KindUser].Added == 0 {
		t.Fatalf("first import: %+v", first)
	}
	students := len(active(r.store, "d1", roster.KindUser))

	r.store.ResetCounts()
	again := r.drop("drops/d1/rosters/a.zip", full)
	if again.Status != pthv.StatusApplied || writes(r.store) != 0 || again.Ops != 0 {
		t.Fatalf("re-drop: status %s, %d writes, %d ops", again.Status, writes(r.store), again.Ops)
	}
	if again.Counts[roster.KindUser].Unchanged != first.Counts[roster.KindUser].Added {
		t.Errorf("re-drop unchanged users %d, first added %d", again.Counts[roster.KindUser].Unchanged, first.Counts[roster.KindUser].Added)
	}

	fewer := r.drop("drops/d1/rosters/b.zip", genZip(t, rostergen.Options{Students: 400, Seed: 5, Remove: 0.2}))
	if fewer.Status != pthv.StatusHeld || !fewer.Safety.Held || fewer.Safety.DeactivatedStudents != 80 || fewer.Safety.ActiveStudents != 400 {
		t.Fatalf("20%% removal: status %s safety %+v", fewer.Status, fewer.Safety)
	}
	if got := len(active(r.store, "d1", roster.KindUser)); got != students {
		t.Fatalf("a held import must write nothing: %d active users, had %d", got, students)
	}
	if err := r.svc.Approve(context.Background(), "d1", fewer.ID); err != nil {
		t.Fatal(err)
	}
	r.drainQueue()
	done, _ := r.store.GetImport(context.Background(), "d1", fewer.ID)
	if done.Status != pthv.StatusApplied {
		t.Fatalf("approved import: %s (%s)", done.Status, done.Reason)
	}
	if strings.Contains(done.Reason, "approve it") || !strings.Contains(done.Reason, "approved and applied") || done.Outcome != pthv.OutcomeComplete {
		t.Errorf("an applied import must not ask to be approved: %q (outcome %q)", done.Reason, done.Outcome)
	}
	if got := len(active(r.store, "d1", roster.KindUser)); got != students-done.Counts[roster.KindUser].Deactivated || done.Counts[roster.KindUser].Deactivated < 80 {
		t.Fatalf("after approval %d active users; deactivated %d of %d", got, done.Counts[roster.KindUser].Deactivated, students)
	}

	// The removed families come back: revived, not added.
	back := r.drop("drops/d1/rosters/c.zip", full)
	if back.Status != pthv.StatusApplied || back.Counts[roster.KindUser].Revived != done.Counts[roster.KindUser].Deactivated || back.Counts[roster.KindUser].Added != 0 {
		t.Fatalf("revival: %+v", back.Counts[roster.KindUser])
	}
}

func TestABrokenZipIsRejectedAndWritesNothing(t *testing.T) {
	r := newRig(t)
	imp := r.drop("drops/d1/rosters/broken.zip", []byte("PK\x03\x04 not really a zip"))
	if imp.Status != pthv.StatusRejected || writes(r.store) != 0 {
		t.Fatalf("status %s, %d writes", imp.Status, writes(r.store))
	}
	b, err := r.blobs.Get(context.Background(), "reports", ReportKey("d1", imp.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate("import-report.schema.json", b); err != nil {
		t.Error(err)
	}
	var rep struct {
		ValidationReport struct{ Findings []struct{ Code string } }
	}
	json.Unmarshal(b, &rep)
	if len(rep.ValidationReport.Findings) == 0 || rep.ValidationReport.Findings[0].Code != "package.unreadable" {
		t.Errorf("report findings: %+v", rep.ValidationReport.Findings)
	}
}

func TestARedeliveredEventImportsOnce(t *testing.T) {
	r := newRig(t)
	data := genZip(t, rostergen.Options{Students: 50, Seed: 1})
	obj := r.blobs.upload("drops", "drops/d1/rosters/a.zip", data)
	for i := 0; i < 3; i++ {
		if err := r.svc.HandleDrop(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	imps, _ := r.store.ListImports(context.Background(), "d1", 10)
	if len(imps) != 1 {
		t.Fatalf("%d imports for one object", len(imps))
	}
}

func TestUnknownDistrictsAndStrayKeysAreRefusedAndReported(t *testing.T) {
	r := newRig(t)
	data := genZip(t, rostergen.Options{Students: 10, Seed: 1})
	for _, key := range []string{"drops/nobody/rosters/a.zip", "drops/d1/misc/a.zip", "drops/d1/rosters/deep/a.zip"} {
		obj := r.blobs.upload("drops", key, data)
		err := r.svc.HandleDrop(context.Background(), obj)
		if !errors.Is(err, pthv.ErrRefused) {
			t.Errorf("%s: want pthv.ErrRefused, got %v", key, err)
		}
	}
	if writes(r.store) != 0 {
		t.Errorf("%d roster writes", writes(r.store))
	}
	reports, _ := r.blobs.ListDrops(context.Background(), "reports", "reports/nobody/imports/")
	if len(reports) != 1 {
		t.Errorf("want a report for the unknown district, got %d", len(reports))
	}
	if imps, _ := r.store.ListImports(context.Background(), "d1", 10); len(imps) != 2 {
		t.Errorf("want the two refused d1 drops recorded, got %d", len(imps))
	}
	// A redelivered refusal is not reported twice.
	obj := r.blobs.upload("drops", "drops/nobody/rosters/b.zip", data)
	r.svc.HandleDrop(context.Background(), obj)
	r.svc.HandleDrop(context.Background(), obj)
	if reports, _ := r.blobs.ListDrops(context.Background(), "reports", "reports/nobody/imports/"); len(reports) != 2 {
		t.Errorf("a redelivered refusal wrote %d reports", len(reports))
	}
	if err := r.svc.HandleDrop(context.Background(), pthv.Object{Bucket: "drops", Key: "elsewhere/a.zip"}); !errors.Is(err, pthv.ErrRefused) {
		t.Errorf("a key outside drops/: %v", err)
	}
}

func TestAnImportOverItsTimeBudgetCheckpointsAndContinues(t *testing.T) {
	r := newRig(t)
	r.svc.ChunkOps = 100
	// The budget is always spent: each invocation applies its one guaranteed chunk.
	r.svc.Budget = func(context.Context) time.Duration { return 0 }
	imp := r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 150, Seed: 2}))
	if imp.Status != pthv.StatusApplying || imp.Cursor != 100 || len(r.queue.msgs) != 1 {
		t.Fatalf("first run: status %s cursor %d, %d continuations", imp.Status, imp.Cursor, len(r.queue.msgs))
	}
	// Another drop meanwhile waits for the lock and is imported after.
	second := r.drop("drops/d1/rosters/b.zip", genZip(t, rostergen.Options{Students: 150, Seed: 2}))
	if second != nil {
		t.Fatalf("a second drop must wait while the first is applying, got %s", second.Status)
	}
	// SQS may deliver a continuation twice: the second delivery must not run the import again.
	dup := r.queue.take()
	for _, m := range append(dup, dup...) {
		if err := r.svc.Continue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := r.store.GetImport(context.Background(), "d1", imp.ID)
	if after.Runs != 2 || after.Cursor != 200 {
		t.Fatalf("a duplicated continuation ran twice: runs %d cursor %d", after.Runs, after.Cursor)
	}
	r.drainQueue()
	done, _ := r.store.GetImport(context.Background(), "d1", imp.ID)
	if done.Status != pthv.StatusApplied || done.Cursor != done.Ops || done.Runs < 3 {
		t.Fatalf("continued import: %s cursor %d/%d runs %d", done.Status, done.Cursor, done.Ops, done.Runs)
	}
	// The result equals an import without a budget.
	ref := newRig(t)
	ref.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 150, Seed: 2}))
	for _, k := range roster.Kinds {
		if a, b := active(r.store, "d1", k), active(ref.store, "d1", k); len(a) != len(b) {
			t.Errorf("%s: %d active after continuation, %d in one go", k, len(a), len(b))
		}
	}
	imps, _ := r.store.ListImports(context.Background(), "d1", 10)
	if len(imps) != 2 {
		t.Fatalf("%d imports", len(imps))
	}
	for _, i := range imps {
		if i.ID != imp.ID && (i.Status != pthv.StatusApplied || i.Ops != 0) {
			t.Fatalf("the queued drop should follow with zero writes: %+v", i)
		}
	}
}

func TestAnOlderDropArrivingLateIsSuperseded(t *testing.T) {
	r := newRig(t)
	old := r.blobs.upload("drops", "drops/d1/rosters/monday.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3}))
	newer := r.blobs.upload("drops", "drops/d1/rosters/tuesday.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3, Remove: 0.05}))
	// The newer event arrives first: the pipeline imports both in upload order.
	if err := r.svc.HandleDrop(context.Background(), newer); err != nil {
		t.Fatal(err)
	}
	idOld, _ := r.store.ObjectClaim(context.Background(), old)
	idNew, _ := r.store.ObjectClaim(context.Background(), newer)
	a, _ := r.store.GetImport(context.Background(), "d1", idOld)
	b, _ := r.store.GetImport(context.Background(), "d1", idNew)
	if a == nil || b == nil || !a.Finished.Before(b.Started.Add(time.Second)) || a.Status != pthv.StatusApplied || b.Status != pthv.StatusApplied {
		t.Fatalf("want monday then tuesday applied in order: %+v %+v", a, b)
	}
	// A drop whose upload time is older than the watermark is never applied.
	if err := r.store.SetWatermark(context.Background(), "d1", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	late := r.drop("drops/d1/rosters/late.zip", genZip(t, rostergen.Options{Students: 60, Seed: 9}))
	if late.Status != pthv.StatusSuperseded {
		t.Fatalf("late drop: %s", late.Status)
	}
}

func TestTheRosterIsReadFromTheSnapshotUnlessAnApplyWasInterrupted(t *testing.T) {
	r := newRig(t)
	full := genZip(t, rostergen.Options{Students: 80, Seed: 6})
	first := r.drop("drops/d1/rosters/a.zip", full)
	// A district registered with no roster is known empty: its first import reads nothing.
	if first.StateFrom != "empty" || r.store.Calls("LoadState") != 0 {
		t.Fatalf("first import read the roster from %q (%d loads)", first.StateFrom, r.store.Calls("LoadState"))
	}
	again := r.drop("drops/d1/rosters/a.zip", full)
	if again.StateFrom != "snapshot" || r.store.Calls("LoadState") != 0 || again.Ops != 0 {
		t.Fatalf("second import: from %q, %d loads, %d ops", again.StateFrom, r.store.Calls("LoadState"), again.Ops)
	}
	// The snapshot equals the table.
	d1, _ := r.store.District(context.Background(), "d1")
	snap, _, _ := r.svc.loadState(context.Background(), d1)
	table, _ := r.store.LoadState(context.Background(), "d1")
	for _, k := range roster.Kinds {
		if len(snap[k]) != len(table[k]) {
			t.Fatalf("%s: snapshot %d, table %d", k, len(snap[k]), len(table[k]))
		}
		for id, c := range table[k] {
			if snap[k][id] != c {
				t.Fatalf("%s %s: snapshot %+v, table %+v", k, id, snap[k][id], c)
			}
		}
	}
	// An apply that stops half-way marks the roster dirty: the next import reads the table.
	d1, _ = r.store.District(context.Background(), "d1")
	if err := r.store.SetSnapshot(context.Background(), "d1", d1.Snapshot, true); err != nil {
		t.Fatal(err)
	}
	third := r.drop("drops/d1/rosters/a.zip", full)
	if third.StateFrom != "table" || r.store.Calls("LoadState") != 2 {
		t.Fatalf("after an interrupted apply: from %q, %d loads", third.StateFrom, r.store.Calls("LoadState"))
	}
	if d, _ := r.store.District(context.Background(), "d1"); d.Dirty || d.Snapshot != third.StateKey {
		t.Fatalf("the table read must leave a trusted snapshot: %+v", d)
	}
}

func TestTrainingDropsNeedRosterEducatorsAndAreIdempotent(t *testing.T) {
	r := newRig(t)
	r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3}))
	st, _ := r.store.LoadState(context.Background(), "d1")
	var teacher, student string
	for _, c := range st[roster.KindRole] {
		switch {
		case c.Role == "teacher" && teacher == "":
			teacher = c.User
		case c.Role == "student" && student == "":
			student = c.User
		}
	}
	csv := "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n" +
		teacher + ",2025-08-20,introductory,6,PTHV National,true\n" +
		student + ",2025-08-20,introductory,6,PTHV National,true\n" + // a student is no educator
		"tch-nobody,2025-08-20,introductory,6,PTHV National,\n"
	r.store.ResetCounts()
	imp := r.drop("drops/d1/trainings/fall.csv", []byte(csv))
	if imp.Status != pthv.StatusApplied || imp.Kind != "trainings" || imp.Counts[pthv.KindTraining].Added != 1 || imp.Counts[pthv.KindTraining].Rejected != 2 {
		t.Fatalf("training import: %s %+v", imp.Status, imp.Counts)
	}
	if opts, _ := r.store.OptIns(context.Background(), "d1", "2025-2026"); !opts[teacher] || len(opts) != 1 || r.store.Items("SetOptIns") != 1 {
		t.Errorf("opt-ins: %v (%d written)", opts, r.store.Items("SetOptIns"))
	}
	b, _ := r.blobs.Get(context.Background(), "reports", ReportKey("d1", imp.ID))
	if err := schemas.Validate("import-report.schema.json", b); err != nil {
		t.Error(err)
	}
	var rep struct {
		TrainingFindings []struct{ Code, Message string }
	}
	json.Unmarshal(b, &rep)
	if n := len(rep.TrainingFindings); n != 2 || rep.TrainingFindings[0].Code != "ref.unknown_educator" {
		t.Errorf("findings: %+v", rep.TrainingFindings)
	}

	again := r.drop("drops/d1/trainings/fall-copy.csv", []byte(csv))
	if again.Counts[pthv.KindTraining].Unchanged != 1 || again.Writes.Items != 0 {
		t.Fatalf("the same file again: %+v writes %+v", again.Counts[pthv.KindTraining], again.Writes)
	}
	fixed := strings.Replace(csv, ",6,PTHV National,true", ",6.5,PTHV National,true", 1)
	upd := r.drop("drops/d1/trainings/fall-fixed.csv", []byte(fixed))
	if upd.Counts[pthv.KindTraining].Changed != 1 || upd.Writes.Items != 1 {
		t.Fatalf("a corrected row updates: %+v", upd.Counts[pthv.KindTraining])
	}
	bad := r.drop("drops/d1/trainings/bad.csv", []byte("educatorSourcedId,date\nx,2025-01-01\n"))
	if bad.Status != pthv.StatusRejected {
		t.Fatalf("a file without the required columns: %s", bad.Status)
	}
}

func TestConsentDropsCheckStudentsAndAreIdempotent(t *testing.T) {
	r := newRig(t)
	r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3}))
	st, _ := r.store.LoadState(context.Background(), "d1")
	r.svc.Families = studentFamilies{r.store}
	var student, other, teacher string
	for _, c := range st[roster.KindRole] {
		switch {
		case c.Role == "student" && student == "":
			student = c.User
		case c.Role == "student" && other == "" && c.User != student:
			other = c.User
		case c.Role == "teacher" && teacher == "":
			teacher = c.User
		}
	}
	fam := FamilyOf(other)
	csv := "schoolYear,familyId,studentSourcedId,consent,date\n" +
		"2025-2026,," + student + ",declined,2025-09-02\n" +
		"2025-2026," + fam + ",,accepted,\n" +
		"2025-2026,fam-0123456789ab,,accepted,\n" + // no family of the roster

		"2025-2026,," + teacher + ",accepted,2025-09-02\n" + // a teacher is no student
		"2025-2026,,stu-nobody,accepted,2025-09-02\n" +
		"2025-2026,,,accepted,2025-09-02\n" // no subject: rejected by the reader
	imp := r.drop("drops/d1/consent/fall.csv", []byte(csv))
	if imp.Status != pthv.StatusApplied || imp.Kind != "consent" || imp.Counts[pthv.KindConsent].Added != 2 || imp.Counts[pthv.KindConsent].Rejected != 4 {
		t.Fatalf("consent import: %s %+v", imp.Status, imp.Counts)
	}
	got, _ := r.store.Consent(context.Background(), "d1", "2025-2026")
	if got["S#"+student].Consent != "declined" || got["F#"+fam].Consent != "accepted" || len(got) != 2 {
		t.Fatalf("stored consent: %+v", got)
	}
	if got["F#"+fam].Date == "" || !strings.HasPrefix(got["S#"+student].Source, "import:imp-") {
		t.Errorf("a blank date takes the import's day; the source names the import: %+v", got)
	}
	b, _ := r.blobs.Get(context.Background(), "reports", ReportKey("d1", imp.ID))
	if err := schemas.Validate("import-report.schema.json", b); err != nil {
		t.Error(err)
	}
	var rep struct {
		ConsentFindings []struct {
			Code string
			Line int
		}
	}
	json.Unmarshal(b, &rep)
	var unknown, unknownFam []int
	for _, f := range rep.ConsentFindings {
		switch f.Code {
		case "ref.unknown_student":
			unknown = append(unknown, f.Line)
		case "ref.unknown_family":
			unknownFam = append(unknownFam, f.Line)
		}
	}
	if !slices.Equal(unknown, []int{5, 6}) || !slices.Equal(unknownFam, []int{4}) || len(rep.ConsentFindings) != 4 {
		t.Errorf("findings: %+v", rep.ConsentFindings)
	}

	writes := r.store.Items("SetConsent")
	again := r.drop("drops/d1/consent/fall-copy.csv", []byte(csv))
	if again.Counts[pthv.KindConsent].Unchanged != 2 || r.store.Items("SetConsent") != writes {
		t.Fatalf("the same file again: %+v, %d writes", again.Counts[pthv.KindConsent], r.store.Items("SetConsent")-writes)
	}
	changed := r.drop("drops/d1/consent/change.csv", []byte("schoolYear,studentSourcedId,consent,date\n2025-2026,"+student+",accepted,2025-10-01\n"))
	if changed.Counts[pthv.KindConsent].Changed != 1 {
		t.Fatalf("a new answer: %+v", changed.Counts[pthv.KindConsent])
	}
	bad := r.drop("drops/d1/consent/bad.csv", []byte("familyId,consent\nfam-0123456789ab,accepted\n"))
	if bad.Status != pthv.StatusRejected {
		t.Fatalf("a file without schoolYear: %s", bad.Status)
	}
}

// studentFamilies is a FamilyResolver over the rig's roster: each active student of the
// school is a family of its own.
type studentFamilies struct{ st *memstore.Store }

func (f studentFamilies) SchoolFamilies(ctx context.Context, district, school string) (*pthv.SchoolFamilies, error) {
	cur, err := f.st.LoadState(ctx, district)
	if err != nil {
		return nil, err
	}
	out := &pthv.SchoolFamilies{Students: map[string][]string{}, Family: map[string]string{}}
	for id, r := range cur[roster.KindRole] {
		if !r.Active || r.Role != "student" {
			continue
		}
		raw, _, err := f.st.GetRecord(ctx, district, roster.KindRole, id)
		if err != nil {
			return nil, err
		}
		var role roster.Role
		json.Unmarshal(raw, &role)
		if role.OrgSourcedID == school {
			fam := FamilyOf(r.User)
			out.Students[fam] = []string{r.User}
			out.Family[r.User] = fam
		}
	}
	return out, nil
}

// DistrictFamilies gives every school's families (the test resolver has no cohorts to go by).
func (f studentFamilies) DistrictFamilies(ctx context.Context, district string) (map[string]bool, error) {
	cur, err := f.st.LoadState(ctx, district)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range cur[roster.KindRole] {
		if r.Active && r.Role == "student" {
			out[FamilyOf(r.User)] = true
		}
	}
	return out, nil
}

// FamilyOf is the test resolver's family id of a student.
func FamilyOf(student string) string {
	h := sha256.Sum256([]byte(student))
	return "fam-" + hex.EncodeToString(h[:6])
}

type reachCalls struct {
	mu    sync.Mutex
	calls []string
}

func (r *reachCalls) Touched(_ context.Context, district string, years []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, district+":"+strings.Join(years, ","))
	return nil
}

func TestVisitDropsCheckTheRosterAndAreIdempotent(t *testing.T) {
	r := newRig(t)
	r.svc.Now = func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	r.svc.Families = studentFamilies{r.store}
	notes := &reachCalls{}
	r.svc.Reach = notes
	r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3, SchoolYear: 2027}))
	st, _ := r.store.LoadState(context.Background(), "d1")
	var teachers, students []string
	school := map[string]string{}
	for id, c := range st[roster.KindRole] {
		raw, _, _ := r.store.GetRecord(context.Background(), "d1", roster.KindRole, id)
		var role roster.Role
		json.Unmarshal(raw, &role)
		switch c.Role {
		case "teacher":
			teachers = append(teachers, c.User)
		case "student":
			students = append(students, c.User)
			school[c.User] = role.OrgSourcedID
		}
	}
	slices.Sort(teachers)
	slices.Sort(students)
	s1, s2 := students[0], students[1]
	pair := teachers[0] + ";" + teachers[1]
	trainings := "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n" + teachers[0] + ",2026-08-20,introductory,6,PTHV,true\n"
	r.drop("drops/d1/trainings/t.csv", []byte(trainings))
	notes.calls = nil

	head := "visitId,familyId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\n"
	rows := []string{
		"v1,," + s1 + "," + school[s1] + ",2026-09-10,1," + pair + ",home,60,completed",                   // 2: ok; teachers[1] untrained: warning
		"v2," + FamilyOf(s1) + ",," + school[s1] + ",2026-10-10,2," + pair + ",home,45,completed",         // 3: ok, second after first
		"v3,," + s2 + "," + school[s2] + ",2026-10-11,2," + pair + ",neutral,30,completed",                // 4: second without first: warning
		"v4,,stu-nobody," + school[s1] + ",2026-10-11,1," + pair + ",home,30,completed",                   // 5: unknown student
		"v5,fam-000000000000,," + school[s1] + ",2026-10-11,1," + pair + ",home,30,completed",             // 6: unknown family
		"v6,," + s1 + ",sch-nowhere,2026-10-11,1," + pair + ",home,30,completed",                          // 7: unknown school
		"v7,," + s1 + "," + school[s1] + ",2026-10-11,1," + teachers[0] + ";tch-nobody,home,30,completed", // 8: unknown educator
		"v8,," + s1 + "," + school[s1] + ",2025-10-11,1," + pair + ",home,30,completed",                   // 9: a year the roster does not describe
		"v9,," + s1 + "," + school[s1] + ",2026-10-11,1," + teachers[0] + ",home,30,completed",            // 10: a solo educator (reader)
	}
	file := head + strings.Join(rows, "\n") + "\n"
	imp := r.drop("drops/d1/visits/fall.csv", []byte(file))
	if imp.Status != pthv.StatusApplied || imp.Kind != "visits" || imp.Counts[pthv.KindVisit].Added != 3 || imp.Counts[pthv.KindVisit].Rejected != 6 {
		t.Fatalf("visit import: %s %+v", imp.Status, imp.Counts)
	}
	b, _ := r.blobs.Get(context.Background(), "reports", ReportKey("d1", imp.ID))
	if err := schemas.Validate("import-report.schema.json", b); err != nil {
		t.Error(err)
	}
	got := map[string][]int{}
	for _, f := range imp.VisitFindings {
		got[f.Code] = append(got[f.Code], f.Line)
	}
	want := map[string][]int{
		"visit.untrained_educator": {2, 3, 4}, "visit.second_without_first": {4}, "ref.unknown_student": {5},
		"ref.unknown_family": {6}, "ref.unknown_school": {7}, "ref.unknown_educator": {8}, "visit.outside_school_year": {9}, "visit.pair": {10},
	}
	for code, lines := range want {
		if !slices.Equal(got[code], lines) {
			t.Errorf("%s on lines %v, want %v", code, got[code], lines)
		}
	}
	if imp.Validation.Errors != 6 || imp.Validation.Warnings != 4 {
		t.Errorf("validation %+v", imp.Validation)
	}
	if !slices.Equal(notes.calls, []string{"d1:2026-2027"}) {
		t.Errorf("reach notified %v", notes.calls)
	}
	var sv pthv.StoredVisit
	stored, _, _ := r.store.VisitsOf(context.Background(), "d1", "2026-2027")
	for _, v := range stored {
		if v.ID == "v2" {
			sv = v
		}
	}
	if sv.Family != FamilyOf(s1) || !slices.Equal(sv.Students, []string{s1}) || sv.Year != "2026-2027" || !slices.Equal(sv.Educators, []string{teachers[0], teachers[1]}) {
		t.Errorf("stored visit %+v", sv)
	}

	notes.calls = nil
	again := r.drop("drops/d1/visits/fall-again.csv", []byte(file))
	if again.Counts[pthv.KindVisit].Unchanged != 3 || again.Writes.Items != 0 || len(notes.calls) != 0 {
		t.Fatalf("the same file again: %+v, %d writes, notified %v", again.Counts[pthv.KindVisit], again.Writes.Items, notes.calls)
	}
	// A corrected row updates the visit: a cancelled first visit.
	fixed := strings.Replace(file, "2026-09-10,1,"+pair+",home,60,completed", "2026-09-10,1,"+pair+",home,60,cancelled", 1)
	upd := r.drop("drops/d1/visits/fall-fixed.csv", []byte(fixed))
	if upd.Counts[pthv.KindVisit].Changed != 1 || upd.Writes.Items != 1 {
		t.Fatalf("a corrected row: %+v", upd.Counts[pthv.KindVisit])
	}
}

func TestADrainListsTheDistrictsImportsOncePerImport(t *testing.T) {
	r := newRig(t)
	a := genZip(t, rostergen.Options{Students: 60, Seed: 41})
	b := genZip(t, rostergen.Options{Students: 60, Seed: 41, Remove: 0.05})
	for i, data := range [][]byte{a, b} {
		r.store.ResetCounts()
		imp := r.drop(fmt.Sprintf("drops/d1/rosters/%d.zip", i), data)
		if imp.Status != pthv.StatusApplied {
			t.Fatalf("drop %d: %s (%s)", i, imp.Status, imp.Reason)
		}
		// Under the lock, one listing says that nothing is stranded and is the same-second
		// check's; with no drop left, the drain ends without listing again.
		if n := r.store.Calls("ListImports"); n != 1 {
			t.Errorf("drop %d: the district's imports were listed %d times; want once", i, n)
		}
	}
}

// TestAHeldImportWhosePlanExpiredIsNotApproved: plans/ expire after plan_days (the approval
// window). Approving a held import whose plan is gone is refused with a conflict that says so;
// the import stays held, nothing is queued, nothing is written.
func TestAHeldImportWhosePlanExpiredIsNotApproved(t *testing.T) {
	r := newRig(t)
	if first := r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 300, Seed: 8})); first.Status != pthv.StatusApplied {
		t.Fatalf("first import: %s", first.Status)
	}
	held := r.drop("drops/d1/rosters/b.zip", genZip(t, rostergen.Options{Students: 300, Seed: 8, Remove: 0.3}))
	if held.Status != pthv.StatusHeld || held.PlanKey == "" {
		t.Fatalf("want a held import with a plan: %s %q", held.Status, held.PlanKey)
	}
	r.blobs.mu.Lock()
	for k := range r.blobs.objects {
		if strings.HasPrefix(k, "reports/"+held.PlanKey) {
			delete(r.blobs.objects, k) // the lifecycle rule expired it
		}
	}
	r.blobs.mu.Unlock()
	r.store.ResetCounts()
	err := r.svc.Approve(context.Background(), "d1", held.ID)
	if !errors.Is(err, pthv.ErrConflict) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Approve: %v; want a conflict saying the plan expired", err)
	}
	after, _ := r.store.GetImport(context.Background(), "d1", held.ID)
	if after.Status != pthv.StatusHeld {
		t.Errorf("the import is %s; it must stay held", after.Status)
	}
	if n := len(r.queue.msgs); n != 0 || writes(r.store) != 0 {
		t.Errorf("%d messages queued, %d writes", n, writes(r.store))
	}
}

// TestAnExpiredSnapshotIsReadFromTheTable: state/ expires after state_days. A district whose
// snapshot is gone is read from the table, and the import plans exactly what it would have
// (nothing, for the same export), then leaves a new snapshot.
func TestAnExpiredSnapshotIsReadFromTheTable(t *testing.T) {
	r := newRig(t)
	full := genZip(t, rostergen.Options{Students: 80, Seed: 9})
	r.drop("drops/d1/rosters/a.zip", full)
	d, _ := r.store.District(context.Background(), "d1")
	if d.Snapshot == "" || d.Snapshot == pthv.EmptySnapshot {
		t.Fatalf("no snapshot after the first import: %q", d.Snapshot)
	}
	r.blobs.mu.Lock()
	delete(r.blobs.objects, "reports/"+d.Snapshot) // the lifecycle rule expired it
	r.blobs.mu.Unlock()
	again := r.drop("drops/d1/rosters/a.zip", full)
	if again.Status != pthv.StatusApplied || again.StateFrom != "table" || again.Ops != 0 || r.store.Calls("LoadState") != 1 {
		t.Fatalf("after the snapshot expired: %s from %q, %d ops, %d loads", again.Status, again.StateFrom, again.Ops, r.store.Calls("LoadState"))
	}
	if d, _ := r.store.District(context.Background(), "d1"); d.Snapshot != again.StateKey {
		t.Errorf("the table read leaves no new snapshot: %q", d.Snapshot)
	}
}

// TestATrainingDropOverItsLimitIsRejectedWhole: a training file over 32 MiB is rejected as a
// whole (training.too_large), nothing of it is written, and the import holds no more of it
// than the limit and a byte (capped).
func TestATrainingDropOverItsLimitIsRejectedWhole(t *testing.T) {
	r := newRig(t)
	r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 20, Seed: 3}))
	row := "tch-000001,2025-08-20,introductory,6," + strings.Repeat("P", training.MaxTrainer) + ",\n"
	var big strings.Builder
	big.WriteString("educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n")
	for big.Len() <= training.MaxBytes+4<<20 {
		big.WriteString(row)
	}
	r.store.ResetCounts()
	imp := r.drop("drops/d1/trainings/big.csv", []byte(big.String()))
	if imp.Status != pthv.StatusRejected || writes(r.store) != 0 {
		t.Fatalf("a %d-byte training file: %s (%s), %d writes", big.Len(), imp.Status, imp.Reason, writes(r.store))
	}
	b, _ := r.blobs.Get(context.Background(), "reports", ReportKey("d1", imp.ID))
	if !strings.Contains(string(b), `"training.too_large"`) {
		t.Errorf("the report names no training.too_large:\n%.500s", b)
	}
	var w bytes.Buffer
	n, _ := capped{&w, maxCSVBytes + 1}.Write([]byte(big.String()))
	if n != big.Len() || w.Len() != maxCSVBytes+1 {
		t.Errorf("capped kept %d bytes of %d (reported %d)", w.Len(), big.Len(), n)
	}
}

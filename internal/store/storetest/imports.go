package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func testDistricts(t *testing.T, s Store, c *clock) {
	id := uniq("d")
	_, err := s.District(ctx, id)
	wantCode(t, "an unknown district", err, pthv.ErrNotFound)
	wantCode(t, "the watermark of an unknown district", s.SetWatermark(ctx, id, c.now()), pthv.ErrNotFound)
	wantCode(t, "the snapshot of an unknown district", s.SetSnapshot(ctx, id, "k", false), pthv.ErrNotFound)

	must(t, s.PutDistrict(ctx, pthv.District{ID: id, Name: "Test", State: "CA"}))
	d, err := s.District(ctx, id)
	must(t, err)
	if d.Name != "Test" || d.State != "CA" || d.HoldShare != pthv.DefaultHoldShare || d.Created.IsZero() {
		t.Errorf("registered district: %+v (want the default hold share and a creation time)", d)
	}
	if d.Snapshot != pthv.EmptySnapshot || d.Dirty {
		t.Errorf("a new district: snapshot %q dirty %v; want it known empty (%q)", d.Snapshot, d.Dirty, pthv.EmptySnapshot)
	}
	mark := c.now().Add(-time.Hour)
	must(t, s.SetWatermark(ctx, id, mark))
	must(t, s.SetWatermark(ctx, id, mark.Add(-time.Hour))) // never lowered
	must(t, s.SetSnapshot(ctx, id, "states/"+id+"/a.gz", true))
	must(t, s.PutDistrict(ctx, pthv.District{ID: id, Name: "Renamed", State: "OR", HoldShare: 0.2}))
	got, err := s.District(ctx, id)
	must(t, err)
	if !got.Watermark.Equal(mark) || !got.Created.Equal(d.Created) || got.Name != "Renamed" || got.HoldShare != 0.2 {
		t.Errorf("after a lower watermark and a re-registration: %+v; want watermark %s kept, creation %s kept", got, mark, d.Created)
	}
	if got.Snapshot != "states/"+id+"/a.gz" || !got.Dirty {
		t.Errorf("a re-registration changed the roster's bookkeeping: snapshot %q dirty %v", got.Snapshot, got.Dirty)
	}
	all, err := s.ListDistricts(ctx)
	must(t, err)
	if !slices.ContainsFunc(all, func(x pthv.District) bool { return x.ID == id && x.Name == "Renamed" }) {
		t.Errorf("ListDistricts does not hold %s: %v", id, all)
	}
}

func testCreateDistrict(t *testing.T, s Store, _ *clock) {
	id := uniq("d")
	must(t, s.CreateDistrict(ctx, pthv.District{ID: id, Name: "One", State: "CA"}))
	d, err := s.District(ctx, id)
	must(t, err)
	if d.Name != "One" || d.State != "CA" || d.HoldShare != pthv.DefaultHoldShare || d.Created.IsZero() {
		t.Errorf("created district: %+v (want the default hold share and a creation time)", d)
	}
	if d.Snapshot != pthv.EmptySnapshot || d.Dirty {
		t.Errorf("a created district: snapshot %q dirty %v; want it known empty (%q)", d.Snapshot, d.Dirty, pthv.EmptySnapshot)
	}
	wantCode(t, "a second registration of the id", s.CreateDistrict(ctx, pthv.District{ID: id, Name: "Other", State: "OR", HoldShare: 0.3}), pthv.ErrConflict)
	// The same registration again (also what a retried write that succeeded finds) is no
	// conflict, and changes nothing.
	must(t, s.CreateDistrict(ctx, pthv.District{ID: id, Name: "One", State: "CA"}))
	got, err := s.District(ctx, id)
	must(t, err)
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("the registered district was changed by a refused registration (-before +after):\n%s", diff)
	}
}

func testLocks(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	must(t, s.Lock(ctx, d, "a", time.Minute))
	wantCode(t, "a lock another owner holds", s.Lock(ctx, d, "b", time.Minute), pthv.ErrConflict)
	must(t, s.Lock(ctx, d, "a", time.Minute)) // renewal
	must(t, s.Unlock(ctx, d, "b"))            // not b's: nothing happens
	wantCode(t, "a lock after another owner's unlock", s.Lock(ctx, d, "b", time.Minute), pthv.ErrConflict)
	c.advance(time.Minute)
	wantCode(t, "a lock at the very end of its lease", s.Lock(ctx, d, "b", time.Minute), pthv.ErrConflict)
	c.advance(time.Millisecond)
	must(t, s.Lock(ctx, d, "b", time.Minute)) // the lease has passed
	wantCode(t, "the former owner after an expiry", s.Lock(ctx, d, "a", time.Minute), pthv.ErrConflict)
	must(t, s.Unlock(ctx, d, "b"))
	must(t, s.Lock(ctx, d, "a", time.Minute))
	must(t, s.Lock(ctx, uniq("other"), "b", time.Minute)) // locks are per district
}

func testObjectClaims(t *testing.T, s Store, _ *clock) {
	obj := pthv.Object{Bucket: "drops", Key: pthv.Key("drops", uniq("d"), "rosters", "a.zip"), VersionID: "v1", ETag: "e1"}
	_, err := s.ObjectClaim(ctx, obj)
	wantCode(t, "an unclaimed object", err, pthv.ErrNotFound)
	must(t, s.ClaimObject(ctx, obj, "imp-1"))
	wantCode(t, "a second claim", s.ClaimObject(ctx, obj, "imp-2"), pthv.ErrConflict)
	must(t, s.ClaimObject(ctx, obj, "imp-1")) // the same claim again: no conflict
	if id, err := s.ObjectClaim(ctx, obj); err != nil || id != "imp-1" {
		t.Errorf("claim: %q, %v; want the first claimant imp-1", id, err)
	}
	v2 := obj
	v2.VersionID = "v2"
	must(t, s.ClaimObject(ctx, v2, "imp-3")) // another version is another object
	unversioned := obj
	unversioned.VersionID = "null"
	must(t, s.ClaimObject(ctx, unversioned, "imp-4"))
	noVersion := unversioned
	noVersion.VersionID = ""
	wantCode(t, "the same ETag without a version id", s.ClaimObject(ctx, noVersion, "imp-5"), pthv.ErrConflict)
}

// fullImport is an import record with every field set.
func fullImport(district, id string, at time.Time) *pthv.Import {
	return &pthv.Import{ID: id, District: district, Kind: pthv.ImportVisits, Status: pthv.StatusHeld, Reason: "held",
		Source: pthv.Object{Bucket: "drops", Key: pthv.Key("drops", district, "visits", "a.csv"), VersionID: "v1", ETag: "e", Size: 10, UploadedAt: at},
		Counts: map[roster.Kind]pthv.Counts{roster.KindUser: {Added: 1, Changed: 2, Revived: 3, Unchanged: 4, Deactivated: 5, Rejected: 6}},
		Safety: pthv.Safety{ActiveStudents: 10, DeactivatedStudents: 2, Share: 0.2, Threshold: 0.1, Held: true},
		Validation: pthv.ValidationSummary{Version: "1.1", Errors: 1, Warnings: 2,
			Codes: []pthv.CodeStat{{File: "users.csv", Code: "x", Count: 3}}},
		TrainingFindings: []pthv.Finding{{Severity: "error", Code: "t", File: "t.csv", Line: 2, Column: "date", Message: "m"}},
		ConsentFindings:  []pthv.Finding{{Severity: "warning", Code: "c", File: "c.csv", Line: 3, Message: "m"}},
		VisitFindings:    []pthv.Finding{{Severity: "error", Code: "v", File: "v.csv", Line: 1, Message: "m"}},
		Writes:           pthv.WriteStats{Items: 1, Batches: 1, Retries: 1, Updates: 1},
		TimingsMS:        map[string]int64{"apply": 12}, Ops: 7, Cursor: 3, PlanKey: "p", StateKey: "s", StateFrom: "table",
		ReportKey: "r", Runs: 1, Started: at, Finished: at.Add(time.Second)}
}

func testImports(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	_, err := s.GetImport(ctx, d, "imp-x")
	wantCode(t, "an unknown import", err, pthv.ErrNotFound)
	want := fullImport(d, "imp-20260901T080000.000Z-00000001", c.now())
	must(t, s.PutImport(ctx, want))
	got, err := s.GetImport(ctx, d, want.ID)
	must(t, err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("import round trip (-put +got):\n%s", diff)
	}
	later := fullImport(d, "imp-20260901T080001.000Z-00000002", c.now())
	latest := fullImport(d, "imp-20260901T080002.000Z-00000003", c.now())
	must(t, s.PutImport(ctx, latest))
	must(t, s.PutImport(ctx, later))
	list, err := s.ListImports(ctx, d, 2)
	must(t, err)
	if len(list) != 2 || list[0].ID != latest.ID || list[1].ID != later.ID {
		t.Errorf("ListImports(limit 2) = %v; want the two newest, newest first", ids(list))
	}
	if all, _ := s.ListImports(ctx, d, 0); len(all) != 3 {
		t.Errorf("ListImports(0) = %v; want all three", ids(all))
	}
	if other, _ := s.ListImports(ctx, uniq("other"), 10); len(other) != 0 {
		t.Errorf("another district lists %v", ids(other))
	}
}

func ids(imps []*pthv.Import) []string {
	var out []string
	for _, i := range imps {
		out = append(out, i.ID)
	}
	return out
}

func testRunClaims(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	imp := fullImport(d, "imp-run", c.now())
	wantCode(t, "a run of an import not stored", s.ClaimRun(ctx, d, imp.ID, 0), pthv.ErrConflict)
	must(t, s.PutImport(ctx, imp)) // Runs: 1
	wantCode(t, "a run claimed with a stale count", s.ClaimRun(ctx, d, imp.ID, 0), pthv.ErrConflict)
	must(t, s.ClaimRun(ctx, d, imp.ID, 1))
	wantCode(t, "the same run claimed twice", s.ClaimRun(ctx, d, imp.ID, 1), pthv.ErrConflict)
	must(t, s.ClaimRun(ctx, d, imp.ID, 2))
	// The count is the store's: the record keeps the Runs it was put with until the pipeline
	// writes it again.
	got, err := s.GetImport(ctx, d, imp.ID)
	must(t, err)
	if got.Runs != 1 {
		t.Errorf("record after two claimed runs: Runs %d, want 1 (as put)", got.Runs)
	}
	// A run that was taken over (its count is behind the store's) cannot write the record.
	wantCode(t, "a record put by a run that was taken over", s.PutImport(ctx, imp), pthv.ErrConflict)
	imp.Runs = 3
	must(t, s.PutImport(ctx, imp))
	must(t, s.ClaimRun(ctx, d, imp.ID, 3))
}

func testTransitions(t *testing.T, s Store, c *clock) {
	d := uniq("d")
	wantCode(t, "a transition of an unknown import", s.TransitionImport(ctx, d, "imp-none", pthv.StatusHeld, pthv.StatusApproved), pthv.ErrNotFound)
	imp := fullImport(d, "imp-t", c.now())
	must(t, s.PutImport(ctx, imp))
	must(t, s.TransitionImport(ctx, d, imp.ID, pthv.StatusHeld, pthv.StatusApproved))
	wantCode(t, "approving twice", s.TransitionImport(ctx, d, imp.ID, pthv.StatusHeld, pthv.StatusApproved), pthv.ErrConflict)
	got, err := s.GetImport(ctx, d, imp.ID)
	must(t, err)
	imp.Status = pthv.StatusApproved
	if diff := cmp.Diff(imp, got); diff != "" {
		t.Errorf("after the transition (-want +got):\n%s", diff)
	}
	must(t, s.TransitionImport(ctx, d, imp.ID, pthv.StatusApproved, pthv.StatusApplying))
}

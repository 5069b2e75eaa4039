package importer

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func user(id, name string, st roster.Status) *roster.User {
	if st == "" {
		st = roster.StatusActive
	}
	return &roster.User{SourcedID: id, Status: st, GivenName: name, FamilyName: "X", EnabledUser: true}
}

func currentOf(t *testing.T, recs ...roster.Record) pthv.State {
	t.Helper()
	st := pthv.State{roster.KindUser: {}, roster.KindRole: {}}
	for _, r := range recs {
		_, h, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		st[r.RecordKind()][r.ID()] = pthv.Current{Hash: h, Active: true}
	}
	return st
}

func opsOf(p Plan) map[string]pthv.OpKind {
	m := map[string]pthv.OpKind{}
	for _, op := range p.Ops {
		m[op.ID] = op.Op
	}
	return m
}

func TestBulkPlans(t *testing.T) {
	cur := currentOf(t, user("a", "Ann", ""), user("b", "Ben", ""), user("c", "Cy", ""))
	cur[roster.KindUser]["d"] = pthv.Current{Hash: "old", Active: false}
	p := NewPlanner(cur)
	p.File(roster.KindUser, roster.ModeBulk)
	p.Record(user("a", "Ann", roster.StatusActive))      // unchanged
	p.Record(user("b", "Benjamin", roster.StatusActive)) // changed
	p.Record(user("d", "Dee", roster.StatusActive))      // back: revived
	p.Record(user("e", "Eve", roster.StatusActive))      // new
	p.Reject(roster.KindUser, "c")                       // a bad row: c stays as it is
	plan := p.Finish(0.5)
	want := map[string]pthv.OpKind{"b": pthv.OpPut, "d": pthv.OpPut, "e": pthv.OpPut}
	if diff := cmp.Diff(want, opsOf(plan)); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pthv.Counts{Added: 1, Changed: 1, Revived: 1, Unchanged: 1, Rejected: 1}, plan.Counts[roster.KindUser]); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestBulkDeactivatesWhatIsMissing(t *testing.T) {
	cur := currentOf(t, user("a", "Ann", ""), user("b", "Ben", ""))
	p := NewPlanner(cur)
	p.File(roster.KindUser, roster.ModeBulk)
	p.Record(user("a", "Ann", roster.StatusActive))
	plan := p.Finish(0.5)
	if diff := cmp.Diff(map[string]pthv.OpKind{"b": pthv.OpDeactivate}, opsOf(plan)); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}

func TestDeltaTouchesOnlyWhatItNames(t *testing.T) {
	cur := currentOf(t, user("a", "Ann", ""), user("b", "Ben", ""), user("c", "Cy", ""))
	p := NewPlanner(cur)
	p.File(roster.KindUser, roster.ModeDelta)
	p.Record(user("a", "", roster.StatusToBeDeleted)) // deactivated
	p.Record(user("z", "", roster.StatusToBeDeleted)) // not there: nothing
	p.Record(user("b", "Benny", roster.StatusActive)) // upserted
	plan := p.Finish(0.5)                             // c is absent from the delta: untouched
	if diff := cmp.Diff(map[string]pthv.OpKind{"a": pthv.OpDeactivate, "b": pthv.OpPut}, opsOf(plan)); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}

func TestARejectWithdrawsAnEarlierRecordAndItsSynthesisedRoles(t *testing.T) {
	p := NewPlanner(nil)
	p.File(roster.KindUser, roster.ModeBulk)
	p.File(roster.KindRole, roster.ModeBulk)
	p.Record(user("s1", "Sam", roster.StatusActive))
	p.Record(&roster.Role{SourcedID: "s1#sch", Status: roster.StatusActive, UserSourcedID: "s1", Role: "student", OrgSourcedID: "sch"})
	p.Record(user("s2", "Sue", roster.StatusActive))
	p.Reject(roster.KindUser, "s1")
	plan := p.Finish(0.5)
	if diff := cmp.Diff(map[string]pthv.OpKind{"s2": pthv.OpPut}, opsOf(plan)); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	if c := plan.Counts[roster.KindUser]; c.Added != 1 || c.Rejected != 1 {
		t.Errorf("user counts %+v", c)
	}
}

func TestTheHoldCountsStudentsByTheirRoles(t *testing.T) {
	cur := pthv.State{roster.KindRole: {}}
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		cur[roster.KindRole]["r"+id] = pthv.Current{Hash: "h", Active: true, Role: "student", User: id}
	}
	cur[roster.KindRole]["rt"] = pthv.Current{Hash: "h", Active: true, Role: "teacher", User: "t"}
	for _, tc := range []struct {
		keep []string
		held bool
		off  int
	}{{[]string{"rs1", "rs2", "rs3", "rs4", "rt"}, false, 0}, {[]string{"rs1", "rs2", "rs3"}, false, 1}, {[]string{"rs1", "rs2", "rt"}, true, 2}} {
		st := pthv.State{roster.KindRole: map[string]pthv.Current{}}
		for k, v := range cur[roster.KindRole] {
			st[roster.KindRole][k] = v
		}
		for _, id := range tc.keep {
			c := st[roster.KindRole][id]
			c.Seen = true // present and unchanged: as the planner marks a record it read
			st[roster.KindRole][id] = c
		}
		p := NewPlanner(st)
		p.File(roster.KindRole, roster.ModeBulk)
		plan := p.FinishWith(map[string]float64{HoldStudents: 0.25, HoldStaff: 1})
		if plan.Safety.Held != tc.held || plan.Safety.DeactivatedStudents != tc.off || plan.Safety.ActiveStudents != 4 {
			t.Errorf("keep %v: %+v", tc.keep, plan.Safety)
		}
	}
}

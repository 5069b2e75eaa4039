package clever

import (
	"context"
	"testing"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	standin "github.com/pthv/reach/internal/standin/clever"
)

// applied returns the roster state after a plan's ops, as the store would hold it.
func applied(st pthv.State, plan importer.Plan) pthv.State {
	if st == nil {
		st = pthv.State{}
	}
	for _, op := range plan.Ops {
		if st[op.Kind] == nil {
			st[op.Kind] = map[string]pthv.Current{}
		}
		switch op.Op {
		case pthv.OpPut:
			st[op.Kind][op.ID] = pthv.Current{Hash: op.Hash, Active: true, Role: op.Role, User: op.User}
		case pthv.OpDeactivate:
			c := st[op.Kind][op.ID]
			c.Active = false
			st[op.Kind][op.ID] = c
		}
	}
	return st
}

func planPull(t *testing.T, e *env, st pthv.State) (importer.Plan, *Report) {
	t.Helper()
	p := importer.NewPlanner(st)
	rep, err := (&Connector{Client: e.client(t, Options{Limit: 50}, false)}).Pull(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return p.Finish(0.2), rep
}

// The importer's planner is the frame's consumer: these tests show what reaches the store.
func TestThroughThePlanner(t *testing.T) {
	e := newEnv(t, 200)
	first, rep := planPull(t, e, nil)
	if !rep.Complete || first.Counts[roster.KindUser].Added != rep.Records[roster.KindUser] {
		t.Fatalf("first pull: %+v", first.Counts)
	}
	st := applied(nil, first)

	t.Run("an unchanged pull writes nothing", func(t *testing.T) {
		plan, _ := planPull(t, e, st)
		for k, c := range plan.Counts {
			if c.Writes() != 0 {
				t.Errorf("%s: %+v", k, c)
			}
		}
		if len(plan.Ops) != 0 {
			t.Errorf("%d ops", len(plan.Ops))
		}
	})

	t.Run("an empty students collection (the summer pause emptied it) deactivates no one", func(t *testing.T) {
		e2 := newEnv(t, 200)
		e2.srv.Remove("student")
		plan, rep := planPull(t, e2, st)
		if rep.Complete {
			t.Fatal("an empty pull reported complete")
		}
		for k, c := range plan.Counts {
			if c.Deactivated != 0 {
				t.Errorf("%s: %d deactivated", k, c.Deactivated)
			}
		}
	})

	t.Run("a pull that fails half way deactivates no one", func(t *testing.T) {
		e2 := newEnv(t, 200)
		e2.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "users", Role: "student", Page: 2, Status: 500}}})
		plan, rep := planPull(t, e2, st)
		if rep.Complete || result(t, rep, Students).Complete {
			t.Fatal("an interrupted pull reported complete")
		}
		for k, c := range plan.Counts {
			if c.Deactivated != 0 {
				t.Errorf("%s: %d deactivated", k, c.Deactivated)
			}
		}
		if plan.Counts[roster.KindUser].Unchanged == 0 {
			t.Error("the records pulled before the failure were not compared")
		}
	})

	t.Run("a complete pull deactivates a student who left, and only them", func(t *testing.T) {
		e2 := newEnv(t, 200)
		gone := e2.srv.IDs("users:student")[3]
		if !e2.srv.Delete("users", gone) {
			t.Fatal("not deleted")
		}
		plan, rep := planPull(t, e2, st)
		if !rep.Complete {
			t.Fatalf("%+v", rep.Findings)
		}
		off := map[string]bool{}
		for _, op := range plan.Ops {
			if op.Op == pthv.OpDeactivate && op.Kind == roster.KindUser {
				off[op.ID] = true
			}
		}
		if !off[gone] || len(off) != 1 {
			t.Errorf("deactivated users %v; want only %s", off, gone)
		}
	})
}

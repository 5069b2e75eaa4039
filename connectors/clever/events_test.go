package clever

import (
	"context"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func TestApplyEvents(t *testing.T) {
	e := newEnv(t, 120)
	first, _ := planPull(t, e, nil)
	st := applied(nil, first)
	district := e.srv.IDs("districts")[0]
	ch := e.srv.Change()
	c := e.client(t, Options{Limit: 2}, false)

	p := importer.NewPlanner(st)
	ev, err := c.ApplyEvents(context.Background(), "", p, EventsOptions{District: district})
	if err != nil {
		t.Fatal(err)
	}
	plan := p.Finish(0.2)
	if !ev.Pull.Complete || ev.Pull.Pages < 2 || ev.ByType["users.deleted"] != 1 || ev.ByType["users.created"] != 1 || ev.ByType["sections.updated"] == 0 {
		t.Fatalf("events %+v", ev)
	}
	if ev.Deferred != 2 {
		t.Errorf("%d students deferred; want the created and the renamed one", ev.Deferred)
	}
	for k, m := range ev.Modes {
		if m != roster.ModeDelta {
			t.Errorf("%s announced %s", k, m)
		}
	}
	off := map[roster.Kind]int{}
	for _, op := range plan.Ops {
		if op.Op == pthv.OpDeactivate {
			off[op.Kind]++
			if op.Kind == roster.KindUser && op.ID != ch.Removed {
				t.Errorf("deactivated user %s", op.ID)
			}
			if op.Kind == roster.KindRole && !strings.HasPrefix(op.ID, ch.Removed+"#") {
				t.Errorf("deactivated role %s", op.ID)
			}
		}
	}
	if off[roster.KindUser] != 1 || off[roster.KindRole] == 0 {
		t.Errorf("deactivations %v; want the deleted student and their roles", off)
	}
	if plan.Counts[roster.KindClass].Unchanged == 0 {
		t.Error("the updated sections were not compared")
	}

	t.Run("the next run continues after the last event and finds none", func(t *testing.T) {
		ev2, err := c.ApplyEvents(context.Background(), ev.Last, newSink(), EventsOptions{District: district})
		if err != nil || !ev2.Pull.Complete || ev2.Pull.Records != 0 || ev2.Last != ev.Last {
			t.Fatalf("%v %+v", err, ev2)
		}
	})
}

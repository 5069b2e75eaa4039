package sissync_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/standin/clever"
)

func (f *fixture) writes(r *sis.Run) int {
	f.t.Helper()
	imp, err := f.imp.GetImport(context.Background(), "d1", r.ImportID)
	if err != nil {
		f.t.Fatalf("run %s (%s: %s) has no import: %v", r.ID, r.Status, r.Reason, err)
	}
	return imp.Writes.Items + imp.Writes.Updates
}

func (f *fixture) connection() *sis.Connection {
	f.t.Helper()
	c, err := f.st.Connection(context.Background(), "d1", "clever")
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestCleverEvents runs a clever connection with events on through the frame, on moto, night
// by night, next to a twin connection without events fed the same changes: the first run is
// a full pull that reads the newest event id and, approved, becomes the snapshot; a quiet
// night is an events run that writes 0; a night with events imports exactly what a full pull
// of the same district imports (the same counts per kind); and each reason to fall back runs
// a full pull with that reason in the run record: the events pull does not complete, too
// many events, Clever answers 404 for the id, the snapshot's pages cannot be read, the id was
// read more than 30 days ago, the weekly full pull is due, and no snapshot.
func TestCleverEvents(t *testing.T) {
	ctx := context.Background()
	// The clock is read by the stand-in's handlers too: behind a lock.
	var mu sync.Mutex
	at := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); at = at.Add(d) }
	ev, evSrv, data := cleverFixture(t, "d1", 25, true)
	twin, twinSrv, _ := cleverFixture(t, "d1", 25, false)
	for _, f := range []*fixture{ev, twin} {
		f.svc.Now = clock
	}
	evSrv.SetClock(clock)
	twinSrv.SetClock(clock)
	night := func() { advance(24 * time.Hour) }

	first := ev.run(false)
	if first.Mode != "full" || first.Status != sis.RunHeld || first.EventsAt.IsZero() || first.EventID != "" {
		t.Fatalf("first run: %s %s (%s), event id %q read at %v", first.Mode, first.Status, first.ModeReason, first.EventID, first.EventsAt)
	}
	ev.approve(first)
	twin.approve(twin.run(false))

	t.Run("a quiet night is an events run that writes 0", func(t *testing.T) {
		night()
		r := ev.run(false)
		if r.Mode != "events" || r.Status != sis.RunApplied || r.Snapshot != first.ID || r.Events == nil || r.Events.Events != 0 {
			t.Fatalf("quiet night: %s %s (%s), snapshot %q, events %+v", r.Mode, r.Status, r.ModeReason, r.Snapshot, r.Events)
		}
		if w := ev.writes(r); w != 0 {
			t.Errorf("a quiet night wrote %d items", w)
		}
		if s := ev.connection().Snapshot; s == nil || s.Run != r.ID {
			t.Errorf("the applied events run is not the snapshot: %+v", s)
		}
	})

	t.Run("a night with events imports exactly what a full pull imports", func(t *testing.T) {
		contact, section := evSrv.IDs("users:contact")[2], evSrv.IDs("sections")[3]
		var ch clever.Changed
		for _, s := range []*clever.Server{evSrv, twinSrv} {
			ch = s.Change()
			s.Delete("users", contact)
			s.Edit("sections", section, func(o map[string]any) { o["name"] = "Renamed section" })
		}
		night()
		r, full := ev.run(false), twin.run(false)
		if r.Mode != "events" || r.Status != sis.RunApplied || full.Mode != "full" || full.Status != sis.RunApplied {
			t.Fatalf("events run %s %s (%s: %s); full run %s %s (%s)", r.Mode, r.Status, r.ModeReason, r.Reason, full.Mode, full.Status, full.Reason)
		}
		if r.Events.ByType["users.deleted"] != 2 || r.Events.ByType["users.created"] != 1 || r.Events.Last == "" || r.EventID != r.Events.Last {
			t.Errorf("events applied: %+v, run event id %q", r.Events, r.EventID)
		}
		if d := cmp.Diff(full.Counts, r.Counts); d != "" {
			t.Errorf("counts (-full pull +events run):\n%s", d)
		}
		if u := r.Counts["user"]; u.Added != 1 || u.Deactivated != 2 || u.Changed < 1 {
			t.Errorf("user counts %+v; want the created student added, the deleted student and contact deactivated, the renamed one changed", u)
		}
		if c := r.Counts["class"]; c.Changed != 1 {
			t.Errorf("class counts %+v; want the renamed section changed", c)
		}
		if w, fw := ev.writes(r), twin.writes(full); w != fw || w == 0 {
			t.Errorf("the events run wrote %d items, the full pull %d", w, fw)
		}
		_ = ch
		night()
		again := ev.run(false)
		if again.Mode != "events" || again.Events.Events != 0 || ev.writes(again) != 0 {
			t.Errorf("the next quiet night: %s, %+v, %d writes", again.Mode, again.Events, ev.writes(again))
		}
	})

	fallback := func(name, want string, prep func(t *testing.T), undo func()) {
		t.Run(name, func(t *testing.T) {
			prep(t)
			night()
			r := ev.run(false)
			undo()
			if r.Mode != "full" || !strings.Contains(r.ModeReason, want) {
				t.Fatalf("run %s: %s (%s); want a full pull because %s", r.ID, r.Mode, r.ModeReason, want)
			}
			if r.Status != sis.RunApplied || r.EventsAt.IsZero() {
				t.Fatalf("fallback run %s (%s), event id read at %v", r.Status, r.Reason, r.EventsAt)
			}
			if s := ev.connection().Snapshot; s == nil || s.Run != r.ID {
				t.Errorf("the applied full pull is not the snapshot: %+v", s)
			}
		})
	}
	none := func() {}
	fallback("the events pull does not complete", "the events pull did not complete", func(*testing.T) {
		evSrv.SetFaults(clever.Faults{Fails: []clever.Fail{{Collection: "events", Page: 1, Status: 400}, {Collection: "events", Page: 2, Status: 400}}})
	}, func() { evSrv.SetFaults(clever.Faults{}) })
	fallback("more events than the cap", "more than 2 events since the snapshot", func(*testing.T) {
		ev.svc.MaxEvents = 2
		for _, id := range evSrv.IDs("users:student")[:3] {
			evSrv.Edit("users", id, func(o map[string]any) { o["name"].(map[string]any)["first"] = "Edited" })
		}
	}, func() { ev.svc.MaxEvents = 0 })
	fallback("Clever answers 404 for the id", "no longer keeps event id", func(t *testing.T) {
		if ev.connection().Snapshot.EventID == "" {
			t.Fatal("the snapshot has no event id to lose")
		}
		evSrv.SetClock(func() time.Time { return clock().Add(31 * 24 * time.Hour) }) // its events age out
	}, func() { evSrv.SetClock(clock) })
	fallback("the snapshot's pages cannot be read", "the snapshot's pages cannot be read", func(t *testing.T) {
		key := sissync.RunKey("d1", "clever", ev.connection().Snapshot.Run, "pages", "students", "000001.json.gz")
		cl := ev.svc.Blobs.(*blob.S3).Client
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(ev.names.ReportsBucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}, none)
	fallback("the id was read more than 30 days ago", "read more than 30 days ago", func(t *testing.T) {
		c := ev.connection()
		c.Snapshot.ReadAt = clock().Add(-31 * 24 * time.Hour)
		if err := ev.st.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}, none)
	fallback("the weekly full pull is due", "the last full pull is 7 or more days old", func(*testing.T) { advance(6 * 24 * time.Hour) }, none)

	t.Run("after a fallback the nights are events runs again", func(t *testing.T) {
		night()
		r := ev.run(false)
		if r.Mode != "events" || r.Status != sis.RunApplied || ev.writes(r) != 0 {
			t.Fatalf("%s %s (%s), %d writes", r.Mode, r.Status, r.ModeReason, ev.writes(r))
		}
	})

	t.Run("a revoked token fails an events run with the message, and nothing is imported", func(t *testing.T) {
		evSrv.SetFaults(clever.Faults{Revoked: true})
		defer evSrv.SetFaults(clever.Faults{})
		night()
		r := ev.run(false)
		if r.Mode != "events" || r.Status != sis.RunFailed || !strings.Contains(r.Reason, "revoked or the district unshared the app") || r.ImportID != "" {
			t.Fatalf("%s %s (%s), import %q", r.Mode, r.Status, r.Reason, r.ImportID)
		}
	})

	t.Run("turning events on without a snapshot runs a full pull", func(t *testing.T) {
		night()
		if r := twin.run(false); r.Status != sis.RunApplied || r.Mode != "full" {
			t.Fatalf("the twin's full pull: %s %s", r.Mode, r.Status)
		}
		c := twin.connection()
		c.Events = true
		if err := twin.st.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		night()
		r := twin.run(false)
		if r.Mode != "full" || !strings.Contains(r.ModeReason, "no snapshot yet") || r.Status != sis.RunApplied {
			t.Fatalf("%s %s (%s)", r.Mode, r.Status, r.ModeReason)
		}
		night()
		if r := twin.run(false); r.Mode != "events" || twin.writes(r) != 0 {
			t.Errorf("the night after: %s (%s), %d writes", r.Mode, r.ModeReason, twin.writes(r))
		}
	})
	_ = data
}

// TestCleverWithoutEvents: a clever connection without events pulls in full every night and
// reads no event id.
func TestCleverWithoutEvents(t *testing.T) {
	f, srv, _ := cleverFixture(t, "d1", 10, false)
	first := f.run(false)
	f.approve(first)
	r := f.run(false)
	if r.Mode != "full" || !strings.Contains(r.ModeReason, "every run is a full pull") || !r.EventsAt.IsZero() || r.Events != nil {
		t.Fatalf("%s (%s), events read at %v", r.Mode, r.ModeReason, r.EventsAt)
	}
	if _, paths := srv.Requests(); paths["/v3.0/events"] != 0 {
		t.Errorf("%d requests for /events", paths["/v3.0/events"])
	}
	if c := f.connection(); c.Snapshot != nil {
		t.Errorf("a snapshot without events: %+v", c.Snapshot)
	}
}

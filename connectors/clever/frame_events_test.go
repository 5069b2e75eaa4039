package clever

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/sis"
	standin "github.com/pthv/reach/internal/standin/clever"
)

// frameSource is the frame's source of the stand-in, its sleeps skipped.
func (e *env) frameSource(t testing.TB, limit int) *Source {
	t.Helper()
	c := e.client(t, Options{Limit: limit}, false)
	src, err := NewSource(c.opt, nil, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// pages keeps staged pages in memory, as the frame keeps them in S3.
type pages struct {
	order []string
	by    map[string][]*sis.Page
}

func newPages() *pages { return &pages{by: map[string][]*sis.Page{}} }

func (p *pages) add(pg *sis.Page) error {
	if _, ok := p.by[pg.Collection]; !ok {
		p.order = append(p.order, pg.Collection)
	}
	p.by[pg.Collection] = append(p.by[pg.Collection], pg)
	return nil
}

func (p *pages) staged(name string) sis.Staged {
	list := p.by[name]
	n := 0
	for _, pg := range list {
		n += pg.Received
	}
	return sis.Staged{Collection: name, Complete: true, Pages: len(list), Received: n,
		Page: func(_ context.Context, k int) (*sis.Page, error) { return list[k-1], nil }}
}

func (p *pages) all(except ...string) []sis.Staged {
	var out []sis.Staged
	for _, name := range p.order {
		if !slices.Contains(except, name) {
			out = append(out, p.staged(name))
		}
	}
	return out
}

// framePull pulls every collection as the frame does.
func framePull(t *testing.T, src *Source) *pages {
	t.Helper()
	out := newPages()
	for _, c := range src.Collections() {
		if err := src.Pull(context.Background(), c, sis.Query{}, sis.Cursor{}, out.add); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
	return out
}

// mapStaged maps staged collections as Assemble does, into a memSink.
func mapStaged(t *testing.T, staged []sis.Staged) (*memSink, *Report) {
	t.Helper()
	pull := &PullResult{}
	sp := stagedPages{}
	for _, st := range staged {
		sp[st.Collection] = st
		pull.Collections = append(pull.Collections, CollectionResult{Collection: Collection(st.Collection), Complete: true, Pages: st.Pages, Records: st.Received})
	}
	sink := newSink()
	rep, err := Map(context.Background(), sp, pull, sink, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sink, rep
}

// TestApplyEventsEqualsAFullPull: a snapshot (a full pull staged as the frame stages it) with
// Clever's events applied maps to the same roster, record by record, as a full pull of the
// district after the same changes: users created, renamed, deleted (with their places in
// sections and contacts), given a role; sections renamed, regraded and deleted; a contact's
// relationship dropped; a school renamed.
func TestApplyEventsEqualsAFullPull(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 120)
	src := e.frameSource(t, 40)
	first, err := src.LatestEvent(ctx)
	if err != nil || first != "" {
		t.Fatalf("newest event of an empty log: %q, %v", first, err)
	}
	snapshot := framePull(t, src)
	students, teachers, contacts := e.srv.IDs("users:student"), e.srv.IDs("users:teacher"), e.srv.IDs("users:contact")
	sections, schools := e.srv.IDs("sections"), e.srv.IDs("schools")

	ch := e.srv.Change() // a student created, one deleted (their sections updated), one renamed
	e.srv.Edit("sections", sections[2], func(o map[string]any) { o["name"], o["grade"] = "Renamed section", "6" })
	e.srv.Edit("users", students[10], func(o map[string]any) { o["name"].(map[string]any)["first"] = "Renamed" })
	e.srv.Edit("users", students[10], func(o map[string]any) { o["name"].(map[string]any)["last"] = "Twice" }) // the last state wins
	e.srv.Edit("users", teachers[1], func(o map[string]any) {
		o["roles"].(map[string]any)["staff"] = map[string]any{"staff_id": "S-new", "title": "Principal", "schools": []any{schools[0]}}
	})
	e.srv.Edit("users", contacts[3], func(o map[string]any) {
		c := o["roles"].(map[string]any)["contact"].(map[string]any)
		c["student_relationships"] = c["student_relationships"].([]any)[:0]
	})
	e.srv.Edit("schools", schools[1], func(o map[string]any) { o["name"] = "Renamed School" })
	goneTeacher, goneContact, goneStudent := teachers[4], contacts[5], students[20]
	for _, id := range []string{goneTeacher, goneContact, goneStudent} {
		if !e.srv.Delete("users", id) {
			t.Fatalf("%s not deleted", id)
		}
	}
	if !e.srv.Delete("sections", sections[7]) {
		t.Fatal("section not deleted")
	}

	events := newPages()
	if err := src.PullEvents(ctx, first, events.add); err != nil {
		t.Fatal(err)
	}
	after := newPages()
	applied, err := src.ApplyEvents(ctx, snapshot.all(), events.staged("events"), after.add)
	if err != nil {
		t.Fatal(err)
	}
	kept := e.srv.EventIDs()
	if applied.Events != len(kept) || applied.Last != kept[len(kept)-1] || applied.ByType["users.deleted"] != 4 || applied.ByType["sections.deleted"] != 1 {
		t.Fatalf("applied %+v; the stand-in logged %d events", applied, len(kept))
	}
	full := framePull(t, src)

	for _, name := range full.order {
		if got, want := after.staged(name).Received, full.staged(name).Received; got != want {
			t.Errorf("%s: %d records after the events, %d in the full pull", name, got, want)
		}
	}
	got, gotRep := mapStaged(t, after.all())
	want, wantRep := mapStaged(t, full.all())
	if gotRep.Errors != wantRep.Errors || gotRep.Warnings != wantRep.Warnings || gotRep.Errors != 0 {
		t.Errorf("after the events %d errors and %d warnings, the full pull %d and %d; want 0 errors: %v",
			gotRep.Errors, gotRep.Warnings, wantRep.Errors, wantRep.Warnings, gotRep.Findings)
	}
	for _, k := range roster.Kinds {
		if d := cmp.Diff(want.rejected[k], got.rejected[k]); d != "" {
			t.Errorf("%s rejected (-full pull +events):\n%s", k, d)
		}
		if got.modes[k] != want.modes[k] {
			t.Errorf("%s announced %s, the full pull %s", k, got.modes[k], want.modes[k])
		}
		if len(got.records[k]) != len(want.records[k]) {
			t.Errorf("%s: %d records after the events, %d in the full pull", k, len(got.records[k]), len(want.records[k]))
		}
		for id, w := range want.records[k] {
			if d := cmp.Diff(w, got.records[k][id]); d != "" {
				t.Errorf("%s %s (-full pull +events):\n%s", k, id, d)
			}
		}
		for id := range got.records[k] {
			if _, ok := want.records[k][id]; !ok {
				t.Errorf("%s %s is there after the events, not in the full pull", k, id)
			}
		}
	}
	users := got.users()
	for _, id := range []string{goneTeacher, goneContact, goneStudent, ch.Removed} {
		if users[id] != nil {
			t.Errorf("deleted user %s is still there", id)
		}
	}
	if users[ch.Added] == nil || users[students[10]].FamilyName != "Twice" || users[students[10]].GivenName != "Renamed" {
		t.Errorf("created or edited users missing: %v %+v", users[ch.Added] != nil, users[students[10]])
	}
	for _, r := range got.records[roster.KindEnrollment] {
		if en := r.(*roster.Enrollment); en.UserSourcedID == goneStudent || en.UserSourcedID == goneTeacher || en.ClassSourcedID == sections[7] {
			t.Errorf("enrollment %s of a deleted user or section is still there", en.SourcedID)
		}
	}

	t.Run("the next pull after the last event finds none and changes nothing", func(t *testing.T) {
		none := newPages()
		if err := src.PullEvents(ctx, applied.Last, none.add); err != nil {
			t.Fatal(err)
		}
		again := newPages()
		res, err := src.ApplyEvents(ctx, after.all(), none.staged("events"), again.add)
		if err != nil || res.Events != 0 {
			t.Fatalf("%+v %v", res, err)
		}
		for _, name := range after.order {
			a, b := after.by[name], again.by[name]
			if len(a) != len(b) {
				t.Fatalf("%s: %d pages, then %d", name, len(a), len(b))
			}
			for i := range a {
				if d := cmp.Diff(a[i].Rows, b[i].Rows); d != "" {
					t.Fatalf("%s page %d changed with no events:\n%s", name, i+1, d)
				}
			}
		}
	})

	t.Run("an id the source no longer keeps is ErrEventsGone", func(t *testing.T) {
		err := src.PullEvents(ctx, "0000000000000000000000ff", func(*sis.Page) error { return nil })
		if !errors.Is(err, sis.ErrEventsGone) {
			t.Fatalf("%v; want ErrEventsGone", err)
		}
	})

	t.Run("an events pull that fails is a collection error, not a run error", func(t *testing.T) {
		e.srv.SetFaults(standin.Faults{Fails: []standin.Fail{{Collection: "events", Page: 1, Status: http.StatusBadGateway}}})
		defer e.srv.SetFaults(standin.Faults{})
		var ce *sis.CollectionError
		if err := src.PullEvents(ctx, first, func(*sis.Page) error { return nil }); !errors.As(err, &ce) {
			t.Fatalf("%v; want a *sis.CollectionError", err)
		}
	})

	t.Run("an unreadable snapshot page is ErrSnapshotUnreadable", func(t *testing.T) {
		broken := snapshot.all()
		broken[4].Page = func(context.Context, int) (*sis.Page, error) { return nil, errors.New("NoSuchKey") }
		_, err := src.ApplyEvents(ctx, broken, events.staged("events"), func(*sis.Page) error { return nil })
		if !errors.Is(err, sis.ErrSnapshotUnreadable) {
			t.Fatalf("%v", err)
		}
	})
}

// FuzzApplyEvents applies an arbitrary events page to a small snapshot: it never panics, and
// when it succeeds every collection's ids ascend without repeats, no deleted user is left in
// a user collection, a section or a contact's relationships, and every other record of the
// snapshot is still there.
func FuzzApplyEvents(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","type":"users.deleted","data":{"object":{"id":"a","roles":{"student":{}}}}}`,
		`{"id":"e2","type":"users.created","data":{"object":{"id":"b0","name":{"first":"N","last":"M"},"roles":{"student":{"school":"s"},"contact":{}}}}}`,
		`{"id":"e3","type":"sections.updated","data":{"object":{"id":"c","school":"s","students":["a","z"],"teacher":"t"}}}`,
		`{"id":"e4","type":"sections.deleted","data":{"object":{"id":"c"}}}`,
		`{"id":"e5","type":"users.updated","data":{"object":{"id":"t","roles":{"staff":{}}}}}`,
		`{"id":"e6","type":"schools.updated","data":{"object":{"id":"s","name":"S2"}}}`,
		`{"id":"e7","type":"districts.nothing","data":{}}`, `{"id":"e8","type":"users.deleted","data":{"object":{"id":"t"}}}`,
		`{"id":"e9"}`, `null`, `{"id":"e10","type":"users.updated","data":{"object":[1]}}`,
	} {
		f.Add([]byte(s), []byte(`{"id":"f","type":"users.deleted","data":{"object":{"id":"g","roles":{"contact":{}}}}}`))
	}
	row := func(file, id, raw string) sis.Row { return sis.Row{File: file, Cells: []string{id, "", "", raw}} }
	snap := newPages()
	snap.add(&sis.Page{Collection: "schools", Number: 1, Received: 1, Rows: []sis.Row{row("clever-schools", "s", `{"data":{"id":"s","name":"S"}}`)}})
	snap.add(&sis.Page{Collection: "sections", Number: 1, Received: 1, Rows: []sis.Row{row("clever-sections", "c", `{"data":{"id":"c","school":"s","students":["a","b"],"teachers":["t"],"teacher":"t"}}`)}})
	snap.add(&sis.Page{Collection: "contacts", Number: 1, Received: 1, Rows: []sis.Row{row("clever-contacts", "g", `{"data":{"id":"g","roles":{"contact":{"student_relationships":[{"student":"a"},{"student":"b"}]}}}}`)}})
	snap.add(&sis.Page{Collection: "students", Number: 1, Received: 2, Rows: []sis.Row{
		row("clever-students", "a", `{"data":{"id":"a","roles":{"student":{"school":"s"}}}}`), row("clever-students", "b", `{"data":{"id":"b","roles":{"student":{"school":"s"}}}}`)}})
	snap.add(&sis.Page{Collection: "teachers", Number: 1, Received: 1, Rows: []sis.Row{row("clever-teachers", "t", `{"data":{"id":"t","roles":{"teacher":{"school":"s"}}}}`)}})
	snap.add(&sis.Page{Collection: "staff", Number: 1})
	f.Fuzz(func(t *testing.T, ev1, ev2 []byte) {
		var rows []sis.Row
		for i, ev := range [][]byte{ev1, ev2} {
			rows = append(rows, row("clever-events", string(rune('a'+i)), `{"data":`+string(ev)+`}`))
		}
		events := sis.Staged{Collection: "events", Complete: true, Pages: 1, Received: 2,
			Page: func(context.Context, int) (*sis.Page, error) {
				return &sis.Page{Collection: "events", Number: 1, Rows: rows}, nil
			}}
		out := newPages()
		res, err := applyEvents(context.Background(), snap.all(), events, out.add)
		if err != nil {
			var ce *sis.CollectionError
			if !errors.As(err, &ce) {
				t.Fatalf("an unreadable event is not a collection error: %v", err)
			}
			return
		}
		gone, touched := map[string]bool{}, map[string]bool{}
		for _, r := range rows {
			rec, _ := rowRecord(r)
			var ev eventRow
			_ = json.Unmarshal(rec, &ev)
			var id pageID
			_ = json.Unmarshal(ev.Data.Object, &id)
			touched[id.ID] = true
			if ev.Type == "users.deleted" {
				gone[id.ID] = true
			} else if len(ev.Type) > 6 && ev.Type[:6] == "users." {
				delete(gone, id.ID)
			}
		}
		if res.Events != 2 {
			t.Fatalf("%d events applied, want 2", res.Events)
		}
		for _, name := range snap.order {
			var ids []string
			for _, pg := range out.by[name] {
				for _, r := range pg.Rows {
					ids = append(ids, r.ID())
					rec, err := rowRecord(r)
					if err != nil {
						t.Fatalf("%s: a row that is not a record: %v", name, err)
					}
					var s section
					var u user
					_ = json.Unmarshal(rec, &s)
					_ = json.Unmarshal(rec, &u)
					for _, st := range append(append(s.Students, s.Teachers...), s.Teacher) {
						if gone[st] {
							t.Fatalf("section %s still names deleted user %s", r.ID(), st)
						}
					}
					if u.Roles.Contact != nil {
						for _, rel := range u.Roles.Contact.Relationships {
							if gone[rel.Student] {
								t.Fatalf("contact %s still names deleted user %s", r.ID(), rel.Student)
							}
						}
					}
				}
			}
			if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Fatalf("%s: ids %v do not ascend without repeats", name, ids)
			}
			for _, pg := range snap.by[name] {
				for _, r := range pg.Rows {
					if !touched[r.ID()] && !slices.Contains(ids, r.ID()) {
						t.Fatalf("%s: untouched record %s was lost", name, r.ID())
					}
				}
			}
			for _, id := range ids {
				if gone[id] && (name == "students" || name == "teachers" || name == "staff" || name == "contacts") {
					t.Fatalf("%s: deleted user %s is still there", name, id)
				}
			}
		}
	})
}

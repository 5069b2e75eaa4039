package importer

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
)

// editZip rewrites one CSV file of a package: edit gets its rows (header first).
func editZip(t *testing.T, data []byte, file string, edit func(rows [][]string)) []byte {
	t.Helper()
	return editZipFiles(t, data, func(name string) bool { return name == file }, func(_ string, rows [][]string) { edit(rows) })
}

// editZipFiles rewrites the CSV files of a package that match: edit gets each one's name and
// rows (header first) and changes the rows in place; the other files are copied as they are.
func editZipFiles(t *testing.T, data []byte, match func(name string) bool, edit func(name string, rows [][]string)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if match(f.Name) {
			rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			edit(f.Name, rows)
			var buf bytes.Buffer
			cw := csv.NewWriter(&buf)
			if err := cw.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			b = buf.Bytes()
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// setColumn sets column col of every n-th data row whose first cell starts with prefix.
func setColumn(rows [][]string, col, prefix, value string, every int) int {
	c := -1
	for i, h := range rows[0] {
		if h == col {
			c = i
		}
	}
	n := 0
	for i, r := range rows[1:] {
		if c >= 0 && strings.HasPrefix(r[0], prefix) && i%every == 0 {
			r[c] = value
			n++
		}
	}
	return n
}

// afterOps is the snapshot's state as the importer computed it before plans were spilled:
// every op applied to the state in turn.
func afterOps(st pthv.State, ops []pthv.Op) pthv.State {
	for _, op := range ops {
		m := st[op.Kind]
		if m == nil {
			m = map[string]pthv.Current{}
			st[op.Kind] = m
		}
		switch op.Op {
		case pthv.OpPut:
			m[op.ID] = pthv.Current{Hash: op.Hash, Active: true, Role: op.Role, User: op.User}
		case pthv.OpDeactivate:
			c := m[op.ID]
			c.Active = false
			m[op.ID] = c
		}
	}
	return st
}

func cloneState(st pthv.State) pthv.State {
	out := pthv.State{}
	for k, m := range st {
		out[k] = map[string]pthv.Current{}
		for id, c := range m {
			out[k][id] = c
		}
	}
	return out
}

type planned2 struct {
	plan     Plan
	ops      []pthv.Op
	snapshot pthv.State
}

// planWith reads data against a copy of cur with planner p and returns the plan, its ops and
// the state the importer's snapshot would hold.
func planWith(t *testing.T, data []byte, cur pthv.State, spill bool) planned2 {
	t.Helper()
	st := cloneState(cur)
	p := testPlanner(t, st, spill)
	rep, err := orcsv.Read(context.Background(), orcsv.OpenZip(bytes.NewReader(data), int64(len(data)), "x.zip", orcsv.Limits{}), p, orcsv.Options{Resolver: st})
	if err != nil || rep.Fatal() {
		t.Fatalf("read: %v %+v", err, rep)
	}
	shares := holdShares(&pthv.District{HoldShare: 0.1})
	plan := p.FinishWith(shares)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	p.checkFiles(&plan.Safety, fileChecks(rep), shares)
	var ops []pthv.Op
	if err := plan.Each(func(op *pthv.Op) error { ops = append(ops, *op); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ops) != plan.Len() {
		t.Fatalf("Each gave %d ops, Len %d", len(ops), plan.Len())
	}
	b, err := snapshotAfter(st, plan)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Close(); err != nil {
		t.Fatal(err)
	}
	return planned2{plan: plan, ops: ops, snapshot: snap}
}

func TestSpillingPlannerPlansWhatTheInMemoryPlannerPlans(t *testing.T) {
	first := genZip(t, rostergen.Options{Students: 600, Seed: 41})
	empty := pthv.State{}
	base := planWith(t, first, empty, false)
	cur := afterOps(cloneState(empty), base.ops)
	for _, k := range roster.Kinds {
		if cur[k] == nil {
			cur[k] = map[string]pthv.Current{}
		}
	}
	// Rows rejected after they were read: students naming a guardian the file does not have
	// (the reader resolves forward references at the end of the file).
	ghosts := func(data []byte) []byte {
		return editZip(t, data, "users.csv", func(rows [][]string) {
			if setColumn(rows, "agentSourcedIds", "stu-", "gdn-404", 37) == 0 {
				t.Fatal("no student row to edit")
			}
		})
	}
	changed := editZip(t, genZip(t, rostergen.Options{Students: 600, Seed: 41, Remove: 0.3}), "users.csv", func(rows [][]string) {
		setColumn(rows, "givenName", "stu-", "Renamed", 11)
	})
	for _, tc := range []struct {
		name string
		data []byte
		cur  pthv.State
		held bool
	}{
		{"first import", first, empty, false},
		{"rows rejected after they were read", ghosts(first), empty, false},
		{"OneRoster 1.1: synthesised roles withdrawn with their user", ghosts(genZip(t, rostergen.Options{Students: 600, Seed: 43, Version: "1.1"})), empty, false},
		{"unchanged re-import", first, cur, false},
		{"30% removed and some renamed: held", changed, cur, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, sp := planWith(t, tc.data, tc.cur, false), planWith(t, tc.data, tc.cur, true)
			if mem.plan.Ops == nil && len(mem.ops) > 0 || sp.plan.Ops != nil {
				t.Fatalf("the in-memory plan keeps Ops (%d), the spilled one does not (%d)", len(mem.plan.Ops), len(sp.plan.Ops))
			}
			if !reflect.DeepEqual(mem.ops, sp.ops) {
				t.Errorf("ops (-in memory +spilled):\n%s", cmp.Diff(mem.ops, sp.ops))
			}
			if !reflect.DeepEqual(mem.plan.Counts, sp.plan.Counts) {
				t.Errorf("counts (-in memory +spilled):\n%s", cmp.Diff(mem.plan.Counts, sp.plan.Counts))
			}
			if !reflect.DeepEqual(mem.plan.Safety, sp.plan.Safety) {
				t.Errorf("safety (-in memory +spilled):\n%s", cmp.Diff(mem.plan.Safety, sp.plan.Safety))
			}
			if sp.plan.Safety.Held != tc.held {
				t.Errorf("held %v, want %v: %v", sp.plan.Safety.Held, tc.held, sp.plan.Safety.Reasons)
			}
			// The snapshot streamed from the spill is the state the ops leave, as the
			// importer computed it before plans were spilled.
			want := afterOps(cloneState(tc.cur), mem.ops)
			for _, k := range roster.Kinds {
				if len(want[k]) == 0 {
					delete(want, k)
				}
				if len(sp.snapshot[k]) == 0 {
					delete(sp.snapshot, k)
				}
			}
			if !reflect.DeepEqual(want, sp.snapshot) {
				t.Errorf("snapshot (-ops applied +streamed):\n%s", cmp.Diff(want, sp.snapshot))
			}
			t.Logf("%d ops; counts users %+v roles %+v", len(sp.ops), sp.plan.Counts[roster.KindUser], sp.plan.Counts[roster.KindRole])
		})
	}
	// The cases above exercise what they name.
	rej := planWith(t, ghosts(first), empty, true)
	if rej.plan.Counts[roster.KindUser].Rejected == 0 {
		t.Error("no user row was rejected after it was read")
	}
	v11 := planWith(t, ghosts(genZip(t, rostergen.Options{Students: 600, Seed: 43, Version: "1.1"})), empty, true)
	plain := planWith(t, genZip(t, rostergen.Options{Students: 600, Seed: 43, Version: "1.1"}), empty, true)
	if v11.plan.Counts[roster.KindRole].Added >= plain.plan.Counts[roster.KindRole].Added {
		t.Errorf("1.1: rejected users kept their synthesised roles: %d roles added, %d without rejections",
			v11.plan.Counts[roster.KindRole].Added, plain.plan.Counts[roster.KindRole].Added)
	}
}

// continueAll delivers the queued continuations until none is left, returning the first error.
func (r *rig) continueAll() error {
	for i := 0; i < 1000; i++ {
		msgs := r.queue.take()
		if len(msgs) == 0 {
			return nil
		}
		for _, m := range msgs {
			if err := r.svc.Continue(context.Background(), m); err != nil {
				return err
			}
		}
	}
	return errors.New("continuations never ended")
}

// chunkRig applies 300 writes per invocation of plans saved in chunks of 1,000 ops.
func chunkRig(t *testing.T) (*rig, []byte, *pthv.Import) {
	r := newRig(t)
	r.svc.ChunkOps, r.svc.PlanChunkOps = 300, 1000
	r.svc.Budget = func(context.Context) time.Duration { return 0 }
	data := genZip(t, rostergen.Options{Students: 300, Seed: 8})
	imp := r.drop("drops/d1/rosters/a.zip", data)
	if imp.Status != pthv.StatusApplying || imp.Cursor != 300 || imp.PlanChunkOps != 1000 || !strings.HasSuffix(imp.PlanKey, "/") || imp.Ops < 3000 {
		t.Fatalf("first run: status %s cursor %d of %d, plan %s in chunks of %d", imp.Status, imp.Cursor, imp.Ops, imp.PlanKey, imp.PlanChunkOps)
	}
	return r, data, imp
}

func TestAPlanSavedInChunksIsAppliedAcrossThem(t *testing.T) {
	r, data, imp := chunkRig(t)
	chunks := 0
	for n := 0; ; n++ {
		b, err := r.blobs.Get(context.Background(), "reports", planChunkKey(imp.PlanKey, n))
		if errors.Is(err, pthv.ErrNotFound) {
			break
		}
		ops, err := readPlanObject(context.Background(), r.svc, planChunkKey(imp.PlanKey, n))
		if err != nil || len(b) == 0 {
			t.Fatal(err)
		}
		if want := min(1000, imp.Ops-n*1000); len(ops) != want {
			t.Fatalf("chunk %d holds %d ops, want %d", n, len(ops), want)
		}
		chunks++
	}
	if want := (imp.Ops + 999) / 1000; chunks != want {
		t.Fatalf("%d chunks saved for %d ops, want %d", chunks, imp.Ops, want)
	}
	if err := r.continueAll(); err != nil {
		t.Fatal(err)
	}
	done, _ := r.store.GetImport(context.Background(), "d1", imp.ID)
	if done.Status != pthv.StatusApplied || done.Cursor != done.Ops {
		t.Fatalf("applied across %d chunks: %s, cursor %d of %d", chunks, done.Status, done.Cursor, done.Ops)
	}
	if compared, differ := sameRoster(t, r.store, reference(t, data)); differ != 0 || compared == 0 {
		t.Fatalf("%d of %d records differ from an import in one go", differ, compared)
	}

	// A chunk one op short fails the apply when it is reached, and names itself; nothing of
	// it is written.
	r2, _, imp2 := chunkRig(t)
	short := planChunkKey(imp2.PlanKey, 2)
	ops, err := readPlanObject(context.Background(), r2.svc, short)
	if err != nil {
		t.Fatal(err)
	}
	r2.blobs.Put(context.Background(), "reports", short, "", planObject(t, ops[:len(ops)-1]))
	err = r2.continueAll()
	if err == nil || !strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), "has 999 ops, 1000 expected") {
		t.Fatalf("a short chunk: %v", err)
	}
	stopped, _ := r2.store.GetImport(context.Background(), "d1", imp2.ID)
	if stopped.Status == pthv.StatusApplied || stopped.Cursor != 2000 {
		t.Fatalf("after the short chunk: %s, cursor %d (chunk 2 starts at 2000)", stopped.Status, stopped.Cursor)
	}
}

// planObject is a plan as earlier versions saved it: one gzipped JSON line per op.
func planObject(t *testing.T, ops []pthv.Op) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for i := range ops {
		if err := enc.Encode(&ops[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAPlanSavedWholeByAnEarlierVersionIsStillApplied(t *testing.T) {
	r, data, imp := chunkRig(t)
	// The import as an earlier version left it: the whole plan in one object, no chunk size.
	var all []pthv.Op
	for n := 0; n*1000 < imp.Ops; n++ {
		key := planChunkKey(imp.PlanKey, n)
		ops, err := readPlanObject(context.Background(), r.svc, key)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ops...)
		r.blobs.mu.Lock()
		delete(r.blobs.objects, "reports/"+key)
		r.blobs.mu.Unlock()
	}
	old := "plans/d1/" + imp.ID + ".jsonl.gz"
	r.blobs.Put(context.Background(), "reports", old, "", planObject(t, all))
	imp.PlanKey, imp.PlanChunkOps = old, 0
	if err := r.store.PutImport(context.Background(), imp); err != nil {
		t.Fatal(err)
	}
	if err := r.continueAll(); err != nil {
		t.Fatal(err)
	}
	done, _ := r.store.GetImport(context.Background(), "d1", imp.ID)
	if done.Status != pthv.StatusApplied || done.Cursor != done.Ops || done.PlanKey != old {
		t.Fatalf("whole plan: %s, cursor %d of %d, plan %s", done.Status, done.Cursor, done.Ops, done.PlanKey)
	}
	if compared, differ := sameRoster(t, r.store, reference(t, data)); differ != 0 || compared == 0 {
		t.Fatalf("%d of %d records differ from an import in one go", differ, compared)
	}
}

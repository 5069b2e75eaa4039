package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store/memstore"
)

// failStore is a Store that fails chosen calls: the n-th call of method fails, and when
// dead, every call from then on fails too (a process killed at that point: nothing it
// would still have written reaches the store).
type failStore struct {
	*memstore.Store
	mu     sync.Mutex
	method string
	n      int
	dead   bool
	calls  map[string]int
	killed bool
}

var errInjected = errors.New("injected failure")

func (f *failStore) hit(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.killed {
		return fmt.Errorf("%s after the crash: %w", method, errInjected)
	}
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[method]++
	if method == f.method && f.calls[method] == f.n {
		f.killed = f.dead
		return fmt.Errorf("%s call %d: %w", method, f.n, errInjected)
	}
	return nil
}

// revive makes the store work again (a new process after the crash).
func (f *failStore) revive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.killed, f.method = false, ""
}

func (f *failStore) LoadState(ctx context.Context, d string) (pthv.State, error) {
	if err := f.hit("LoadState"); err != nil {
		return nil, err
	}
	return f.Store.LoadState(ctx, d)
}

func (f *failStore) Apply(ctx context.Context, d, id string, ops []pthv.Op) (pthv.WriteStats, error) {
	if err := f.hit("Apply"); err != nil {
		return pthv.WriteStats{}, err
	}
	return f.Store.Apply(ctx, d, id, ops)
}

func (f *failStore) PutImport(ctx context.Context, imp *pthv.Import) error {
	if err := f.hit("PutImport"); err != nil {
		return err
	}
	return f.Store.PutImport(ctx, imp)
}

func (f *failStore) ClaimObject(ctx context.Context, obj pthv.Object, id string) error {
	if err := f.hit("ClaimObject"); err != nil {
		return err
	}
	return f.Store.ClaimObject(ctx, obj, id)
}

func (f *failStore) Lock(ctx context.Context, d, owner string, lease time.Duration) error {
	if err := f.hit("Lock"); err != nil {
		return err
	}
	return f.Store.Lock(ctx, d, owner, lease)
}

func (f *failStore) Unlock(ctx context.Context, d, owner string) error {
	if err := f.hit("Unlock"); err != nil {
		return err
	}
	return f.Store.Unlock(ctx, d, owner)
}

func (f *failStore) SetSnapshot(ctx context.Context, d, key string, dirty bool) error {
	if err := f.hit("SetSnapshot"); err != nil {
		return err
	}
	return f.Store.SetSnapshot(ctx, d, key, dirty)
}

func (f *failStore) SetConsent(ctx context.Context, d string, es []pthv.ConsentEntry) error {
	if err := f.hit("SetConsent"); err != nil {
		return err
	}
	return f.Store.SetConsent(ctx, d, es)
}

// failingBlobs fails the n-th Download.
type failingBlobs struct {
	*memBlobs
	n, calls int
}

func (b *failingBlobs) Download(ctx context.Context, obj pthv.Object, w io.Writer) error {
	b.calls++
	if b.calls == b.n {
		return fmt.Errorf("download: %w", errInjected)
	}
	return b.memBlobs.Download(ctx, obj, w)
}

// crashRig is a rig whose store fails as told, with a clock the test moves.
type crashRig struct {
	*rig
	fs    *failStore
	clock time.Time
	mu    sync.Mutex
}

func newCrashRig(t *testing.T) *crashRig {
	r := newRig(t)
	c := &crashRig{rig: r, fs: &failStore{Store: r.store}, clock: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	now := func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.clock }
	r.store.Now, r.svc.Now, r.svc.Store = now, now, c.fs
	r.svc.ChunkOps = 100
	r.svc.LockLease = time.Minute
	// Not known empty: the first import reads the roster (LoadState), so that the failures
	// injected while planning fire there.
	if err := r.store.SetSnapshot(context.Background(), "d1", "", false); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *crashRig) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = c.clock.Add(d)
}

func (c *crashRig) importOf(obj pthv.Object) *pthv.Import {
	c.t.Helper()
	imp, err := c.store.GetImport(context.Background(), "d1", ImportID(obj))
	if err != nil {
		c.t.Fatalf("no import record for %s: %v", obj.Key, err)
	}
	return imp
}

// sameRoster compares every record of two stores' district d1: hash, active flag, data.
func sameRoster(t *testing.T, got, want *memstore.Store) (compared, differ int) {
	t.Helper()
	ctx := context.Background()
	g, err := got.LoadState(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.LoadState(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	for kind, recs := range w {
		for id, wc := range recs {
			compared++
			gc, ok := g[kind][id]
			gj, _, _ := got.GetRecord(ctx, "d1", kind, id)
			wj, _, _ := want.GetRecord(ctx, "d1", kind, id)
			if !ok || gc != wc || string(gj) != string(wj) {
				differ++
			}
		}
	}
	for kind, recs := range g {
		for id := range recs {
			if _, ok := w[kind][id]; !ok {
				compared++
				differ++
			}
		}
	}
	return compared, differ
}

func reference(t *testing.T, exports ...[]byte) *memstore.Store {
	ref := newRig(t)
	for i, e := range exports {
		ref.drop(fmt.Sprintf("drops/d1/rosters/ref-%d.zip", i), e)
	}
	return ref.store
}

func TestATransientFailureWhilePlanningIsRetriedByTheRedelivery(t *testing.T) {
	c := newCrashRig(t)
	c.fs.method, c.fs.n = "LoadState", 1
	data := genZip(t, rostergen.Options{Students: 120, Seed: 21})
	obj := c.blobs.upload("drops", "drops/d1/rosters/a.zip", data)
	if err := c.svc.HandleDrop(context.Background(), obj); !errors.Is(err, errInjected) {
		t.Fatalf("the failure must reach the queue, so that the message is retried: %v", err)
	}
	imp := c.importOf(obj)
	if imp.Status != pthv.StatusPlanning || imp.Attempts != 1 || !imp.Heartbeat.IsZero() {
		t.Fatalf("after a transient failure: %s attempts %d heartbeat %v", imp.Status, imp.Attempts, imp.Heartbeat)
	}
	if err := c.store.Lock(context.Background(), "d1", "another-import", time.Minute); err != nil {
		t.Fatalf("the district lock is still held after the run stopped: %v", err)
	}
	c.store.Unlock(context.Background(), "d1", "another-import")
	// The redelivery (no clock change: a failed run leaves no live heartbeat) takes over.
	if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if imp = c.importOf(obj); imp.Status != pthv.StatusApplied || imp.Runs != 2 {
		t.Fatalf("redelivery: %s runs %d (%s)", imp.Status, imp.Runs, imp.Reason)
	}
	if n, d := sameRoster(t, c.store, reference(t, data)); d != 0 {
		t.Fatalf("%d of %d records differ from a clean import", d, n)
	}
}

func TestATransientFailureWhileApplyingResumesFromItsCheckpoint(t *testing.T) {
	c := newCrashRig(t)
	c.fs.method, c.fs.n = "Apply", 3
	data := genZip(t, rostergen.Options{Students: 120, Seed: 22})
	obj := c.blobs.upload("drops", "drops/d1/rosters/a.zip", data)
	if err := c.svc.HandleDrop(context.Background(), obj); !errors.Is(err, errInjected) {
		t.Fatalf("HandleDrop: %v", err)
	}
	imp := c.importOf(obj)
	if imp.Status != pthv.StatusApplying || imp.Cursor != 200 || !strings.Contains(imp.Reason, "retried") {
		t.Fatalf("after the failed chunk: %s cursor %d reason %q", imp.Status, imp.Cursor, imp.Reason)
	}
	applies := c.fs.calls["Apply"]
	if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	imp = c.importOf(obj)
	if imp.Status != pthv.StatusApplied {
		t.Fatalf("redelivery: %s (%s)", imp.Status, imp.Reason)
	}
	if got, want := c.fs.calls["Apply"]-applies, (imp.Ops+99)/100-2; got != want {
		t.Errorf("the resumed run applied %d chunks, want %d (from the checkpoint on)", got, want)
	}
	if n, d := sameRoster(t, c.store, reference(t, data)); d != 0 {
		t.Fatalf("%d of %d records differ", d, n)
	}
}

func TestAnImportFailingEveryTimeIsFailedAfterMaxAttempts(t *testing.T) {
	c := newCrashRig(t)
	data := genZip(t, rostergen.Options{Students: 30, Seed: 23})
	obj := c.blobs.upload("drops", "drops/d1/rosters/a.zip", data)
	for i := 1; i <= MaxAttempts; i++ {
		c.fs.method, c.fs.n, c.fs.calls = "LoadState", 1, nil
		if err := c.svc.HandleDrop(context.Background(), obj); err == nil {
			t.Fatalf("attempt %d succeeded", i)
		}
	}
	if imp := c.importOf(obj); imp.Status != pthv.StatusFailed || imp.Attempts != MaxAttempts {
		t.Fatalf("after %d failures: %s attempts %d", MaxAttempts, imp.Status, imp.Attempts)
	}
	if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
		t.Fatalf("a failed import is final: %v", err)
	}
}

// crash runs a drop until the store dies on the n-th call of method: what a SIGKILL at
// that point leaves.
func (c *crashRig) crash(key string, data []byte, method string, n int) pthv.Object {
	c.t.Helper()
	c.fs.method, c.fs.n, c.fs.dead, c.fs.calls = method, n, true, nil
	obj := c.blobs.upload("drops", key, data)
	if err := c.svc.HandleDrop(context.Background(), obj); !errors.Is(err, errInjected) {
		c.t.Fatalf("HandleDrop: %v", err)
	}
	c.fs.revive()
	return obj
}

func TestACrashedImportIsTakenOverByWhoeverSeesItAfterItsLease(t *testing.T) {
	first := genZip(t, rostergen.Options{Students: 120, Seed: 24})
	second := genZip(t, rostergen.Options{Students: 120, Seed: 24, Remove: 0.05})
	for _, tc := range []struct {
		name, method string
		n            int
		status       pthv.Status
	}{
		{"killed while planning", "PutImport", 3, pthv.StatusPlanning},
		{"killed while applying", "Apply", 4, pthv.StatusApplying},
	} {
		t.Run(tc.name+", then the redelivered event", func(t *testing.T) {
			c := newCrashRig(t)
			obj := c.crash("drops/d1/rosters/a.zip", first, tc.method, tc.n)
			if imp := c.importOf(obj); imp.Status != tc.status {
				t.Fatalf("after the crash: %s", imp.Status)
			}
			// At once, the run might still be alive: the redelivery leaves it alone.
			if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
				t.Fatal(err)
			}
			if imp := c.importOf(obj); imp.Status != tc.status || imp.Runs != 1 {
				t.Fatalf("a redelivery within the lease took over: %s runs %d", imp.Status, imp.Runs)
			}
			c.advance(2 * time.Minute)
			if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
				t.Fatal(err)
			}
			if imp := c.importOf(obj); imp.Status != pthv.StatusApplied || imp.Runs != 2 {
				t.Fatalf("after the lease: %s runs %d", imp.Status, imp.Runs)
			}
			if n, d := sameRoster(t, c.store, reference(t, first)); d != 0 {
				t.Fatalf("%d of %d records differ", d, n)
			}
		})
		t.Run(tc.name+", then a later drop, deferred and recorded meanwhile", func(t *testing.T) {
			c := newCrashRig(t)
			obj := c.crash("drops/d1/rosters/a.zip", first, tc.method, tc.n)
			// A drop within the lease waits: it is recorded as queued, and its event may be deleted.
			later := c.blobs.upload("drops", "drops/d1/rosters/b.zip", second)
			if err := c.svc.HandleDrop(context.Background(), later); err != nil {
				t.Fatal(err)
			}
			if imp := c.importOf(later); imp.Status != pthv.StatusQueued {
				t.Fatalf("the deferred drop is %s, want queued", imp.Status)
			}
			c.advance(2 * time.Minute)
			third := c.blobs.upload("drops", "drops/d1/rosters/c.zip", second)
			if err := c.svc.HandleDrop(context.Background(), third); err != nil {
				t.Fatal(err)
			}
			for _, o := range []pthv.Object{obj, later, third} {
				if imp := c.importOf(o); imp.Status != pthv.StatusApplied {
					t.Fatalf("%s: %s (%s)", o.Key, imp.Status, imp.Reason)
				}
			}
			if n, d := sameRoster(t, c.store, reference(t, first, second)); d != 0 {
				t.Fatalf("%d of %d records differ", d, n)
			}
		})
		t.Run(tc.name+", then the sweep", func(t *testing.T) {
			c := newCrashRig(t)
			obj := c.crash("drops/d1/rosters/a.zip", first, tc.method, tc.n)
			later := c.blobs.upload("drops", "drops/d1/rosters/b.zip", second)
			if err := c.svc.HandleDrop(context.Background(), later); err != nil {
				t.Fatal(err)
			}
			if n, err := c.svc.Sweep(context.Background()); err != nil || n != 1 {
				t.Fatalf("sweep within the lease: %d drains (%v), want 1 for the queued drop", n, err)
			}
			c.queue.take()
			c.advance(2 * time.Minute)
			if n, err := c.svc.Sweep(context.Background()); err != nil || n != 1 {
				t.Fatalf("sweep: %d drains (%v)", n, err)
			}
			c.drainQueue()
			for _, o := range []pthv.Object{obj, later} {
				if imp := c.importOf(o); imp.Status != pthv.StatusApplied {
					t.Fatalf("%s: %s (%s)", o.Key, imp.Status, imp.Reason)
				}
			}
			if n, d := sameRoster(t, c.store, reference(t, first, second)); d != 0 {
				t.Fatalf("%d of %d records differ", d, n)
			}
			if n, _ := c.svc.Sweep(context.Background()); n != 0 {
				t.Fatalf("a sweep with nothing to do queued %d drains", n)
			}
		})
	}
}

func TestAContinuationWhoseRunDiedIsTakenOver(t *testing.T) {
	c := newCrashRig(t)
	c.svc.Budget = func(context.Context) time.Duration { return 0 }
	data := genZip(t, rostergen.Options{Students: 120, Seed: 25})
	obj := c.blobs.upload("drops", "drops/d1/rosters/a.zip", data)
	if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	msg := c.queue.take()[0]
	// The second run dies in its chunk; SQS redelivers the same continuation.
	c.fs.method, c.fs.n, c.fs.dead, c.fs.calls = "Apply", 1, true, nil
	if err := c.svc.Continue(context.Background(), msg); !errors.Is(err, errInjected) {
		t.Fatalf("Continue: %v", err)
	}
	c.fs.revive()
	if err := c.svc.Continue(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if imp := c.importOf(obj); imp.Runs != 2 {
		t.Fatalf("a live run's continuation was taken over: runs %d", imp.Runs)
	}
	c.advance(2 * time.Minute)
	if err := c.svc.Continue(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	c.svc.Budget = nil
	c.drainQueue()
	if imp := c.importOf(obj); imp.Status != pthv.StatusApplied {
		t.Fatalf("%s (%s)", imp.Status, imp.Reason)
	}
	if n, d := sameRoster(t, c.store, reference(t, data)); d != 0 {
		t.Fatalf("%d of %d records differ", d, n)
	}
}

func TestACSVDropIsNeverClaimedWithoutARecord(t *testing.T) {
	c := newCrashRig(t)
	c.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 20, Seed: 26}))
	student := active(c.store, "d1", "user")[0]
	fb := &failingBlobs{memBlobs: c.blobs, n: 1}
	c.svc.Blobs = fb
	csv := "schoolYear,studentSourcedId,consent,date\n2026-2027," + student + ",accepted,2026-09-01\n"
	obj := c.blobs.upload("drops", "drops/d1/consent/a.csv", []byte(csv))
	if err := c.svc.HandleDrop(context.Background(), obj); !errors.Is(err, errInjected) {
		t.Fatalf("HandleDrop: %v", err)
	}
	if _, err := c.store.ObjectClaim(context.Background(), obj); err == nil {
		imp := c.importOf(obj)
		if imp.Status != pthv.StatusPlanning || imp.Attempts != 1 {
			t.Fatalf("the claimed drop's record: %s attempts %d", imp.Status, imp.Attempts)
		}
	}
	if err := c.svc.HandleDrop(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if imp := c.importOf(obj); imp.Status != pthv.StatusApplied {
		t.Fatalf("redelivered consent drop: %s (%s)", imp.Status, imp.Reason)
	}
}

func TestANewerDropNeverOvertakesAnUnfinishedImport(t *testing.T) {
	c := newCrashRig(t)
	first := genZip(t, rostergen.Options{Students: 120, Seed: 27})
	second := genZip(t, rostergen.Options{Students: 120, Seed: 27, Remove: 0.05})
	a := c.crash("drops/d1/rosters/a.zip", first, "Apply", 3)
	// The lock's lease has run out a moment before the import's heartbeat: the district is
	// free, yet the import is not stale yet. The newer drop must wait for it.
	c.store.Unlock(context.Background(), "d1", ImportID(a))
	b := c.blobs.upload("drops", "drops/d1/rosters/b.zip", second)
	if err := c.svc.HandleDrop(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if imp := c.importOf(b); imp.Status != pthv.StatusQueued {
		t.Fatalf("the newer drop is %s while the older import is unfinished, want queued", imp.Status)
	}
	c.advance(2 * time.Minute)
	if err := c.svc.HandleDrop(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for _, o := range []pthv.Object{a, b} {
		if imp := c.importOf(o); imp.Status != pthv.StatusApplied {
			t.Fatalf("%s: %s", o.Key, imp.Status)
		}
	}
	if n, d := sameRoster(t, c.store, reference(t, first, second)); d != 0 {
		t.Fatalf("%d of %d records differ: the older import's writes landed over the newer export", d, n)
	}
}

func TestAFirstImportKilledMidApplyIsReadBackFromTheTable(t *testing.T) {
	first := genZip(t, rostergen.Options{Students: 120, Seed: 31})
	second := genZip(t, rostergen.Options{Students: 120, Seed: 31, Remove: 0.05})
	c := newCrashRig(t)
	ctx := context.Background()
	// A district as registered: known empty.
	if err := c.store.SetSnapshot(ctx, "d1", pthv.EmptySnapshot, false); err != nil {
		t.Fatal(err)
	}
	obj := c.crash("drops/d1/rosters/a.zip", first, "Apply", 2)
	if imp := c.importOf(obj); imp.Status != pthv.StatusApplying || imp.StateFrom != "empty" || imp.Cursor == 0 {
		t.Fatalf("after the crash: %s from %q cursor %d; want applying, read from nowhere, part written", imp.Status, imp.StateFrom, imp.Cursor)
	}
	if c.store.Calls("LoadState") != 0 {
		t.Fatalf("a district known empty read its roster %d times", c.store.Calls("LoadState"))
	}
	// The first write cleared the mark: the part written is in the table only.
	d, _ := c.store.District(ctx, "d1")
	if d.Snapshot == pthv.EmptySnapshot || !d.Dirty {
		t.Fatalf("after a first write: snapshot %q dirty %v; want the known-empty mark cleared", d.Snapshot, d.Dirty)
	}
	st, from, err := c.svc.loadState(ctx, d)
	n := 0
	for _, recs := range st {
		n += len(recs)
	}
	if err != nil || from != "table" || n == 0 {
		t.Fatalf("the roster after the crash is read from %q (%d records, %v); want the table with the part written", from, n, err)
	}
	c.advance(2 * time.Minute)
	later := c.blobs.upload("drops", "drops/d1/rosters/b.zip", second)
	if err := c.svc.HandleDrop(ctx, later); err != nil {
		t.Fatal(err)
	}
	if imp := c.importOf(obj); imp.Status != pthv.StatusApplied || imp.Runs != 2 {
		t.Fatalf("the crashed import: %s runs %d; want taken over and applied", imp.Status, imp.Runs)
	}
	if imp := c.importOf(later); imp.Status != pthv.StatusApplied || imp.StateFrom != "snapshot" {
		t.Fatalf("the later import: %s from %q; want applied over the first import's snapshot", imp.Status, imp.StateFrom)
	}
	if n, d := sameRoster(t, c.store, reference(t, first, second)); d != 0 {
		t.Fatalf("%d of %d records differ", d, n)
	}
}

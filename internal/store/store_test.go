package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

var moto *devstack.Moto

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		moto.Stop()
	}
	os.Exit(code)
}

// newStore provisions a fresh table on the package's moto_server.
func newStore(t *testing.T) *Store {
	t.Helper()
	if moto == nil {
		m, err := devstack.StartMoto(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		moto = m
	}
	b := make([]byte, 4)
	rand.Read(b)
	names := deploy.NamesFor("pthv-store-" + hex.EncodeToString(b))
	cfg := devstack.AWSConfig(moto.URL)
	spec := deploy.Resources(names)
	spec.Buckets, spec.Queues, spec.Notifications = nil, nil, nil
	if _, err := devstack.Provision(context.Background(), cfg, spec); err != nil {
		t.Fatal(err)
	}
	return &Store{DB: dynamodb.NewFromConfig(cfg), Table: names.Table}
}

func TestApplyAndLoadStateRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var ops []pthv.Op
	for i := 0; i < 130; i++ { // 6 batches, the last one partial
		id := fmt.Sprintf("stu-%03d", i)
		ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindUser, ID: id, Hash: "h" + id, Data: json.RawMessage(`{"SourcedID":"` + id + `"}`)},
			pthv.Op{Op: pthv.OpPut, Kind: roster.KindRole, ID: "r" + id, Hash: "x", Data: json.RawMessage(`{}`), Role: "student", User: id})
	}
	ws, err := s.Apply(ctx, "d1", "imp-1", ops)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Items != 260 || ws.Batches < 11 || ws.FullBatches != 10 {
		t.Errorf("write stats %+v", ws)
	}
	st, err := s.LoadState(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st[roster.KindUser]) != 130 || st[roster.KindUser]["stu-007"] != (pthv.Current{Hash: "hstu-007", Active: true}) {
		t.Fatalf("users: %d, stu-007 %+v", len(st[roster.KindUser]), st[roster.KindUser]["stu-007"])
	}
	if c := st[roster.KindRole]["rstu-007"]; c.Role != "student" || c.User != "stu-007" {
		t.Errorf("role state %+v", c)
	}
	// Deactivate one; a deactivation of a record that does not exist writes nothing.
	if _, err := s.Apply(ctx, "d1", "imp-2", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "stu-007"},
		{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "stu-999"}}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.LoadState(ctx, "d1")
	if st[roster.KindUser]["stu-007"].Active || len(st[roster.KindUser]) != 130 {
		t.Errorf("after deactivation: %+v, %d users", st[roster.KindUser]["stu-007"], len(st[roster.KindUser]))
	}
	data, active, err := s.GetRecord(ctx, "d1", roster.KindUser, "stu-007")
	if err != nil || active || string(data) != `{"SourcedID":"stu-007"}` {
		t.Errorf("GetRecord: %s %v %v", data, active, err)
	}
	// Another district sees nothing.
	other, _ := s.LoadState(ctx, "d2")
	if len(other[roster.KindUser]) != 0 {
		t.Error("district d2 sees d1's records")
	}
}

func TestObjectClaimsAreConditional(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	obj := pthv.Object{Bucket: "b", Key: "drops/d1/rosters/a.zip", VersionID: "v1"}
	if _, err := s.ObjectClaim(ctx, obj); !errors.Is(err, pthv.ErrNotFound) {
		t.Fatalf("unclaimed: %v", err)
	}
	if err := s.ClaimObject(ctx, obj, "imp-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimObject(ctx, obj, "imp-2"); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("second claim: %v", err)
	}
	if id, _ := s.ObjectClaim(ctx, obj); id != "imp-1" {
		t.Errorf("claimed by %q", id)
	}
	obj.VersionID = "v2"
	if err := s.ClaimObject(ctx, obj, "imp-3"); err != nil {
		t.Errorf("a new version is a new object: %v", err)
	}
}

func TestTheDistrictLockHasOneOwnerUntilItsLeaseEnds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	if err := s.Lock(ctx, "d1", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, "d1", "b", time.Minute); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("b took a held lock: %v", err)
	}
	if err := s.Lock(ctx, "d1", "a", time.Minute); err != nil {
		t.Fatalf("the owner renews: %v", err)
	}
	if err := s.Unlock(ctx, "d1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, "d1", "b", time.Minute); !errors.Is(err, pthv.ErrConflict) {
		t.Fatal("unlock by a non-owner must not release the lock")
	}
	now = now.Add(2 * time.Minute)
	if err := s.Lock(ctx, "d1", "b", time.Minute); err != nil {
		t.Fatalf("an expired lease can be taken: %v", err)
	}
	s.Unlock(ctx, "d1", "b")
	if err := s.Lock(ctx, "d1", "c", time.Minute); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestImportsAndDistricts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.District(ctx, "d1"); !errors.Is(err, pthv.ErrNotFound) {
		t.Fatalf("unregistered: %v", err)
	}
	if err := s.PutDistrict(ctx, pthv.District{ID: "d1", Name: "Demo", State: "CA"}); err != nil {
		t.Fatal(err)
	}
	wm := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s.SetWatermark(ctx, "d1", wm)
	s.SetWatermark(ctx, "d1", wm.Add(-time.Hour)) // never lowered
	s.PutDistrict(ctx, pthv.District{ID: "d1", Name: "Demo USD", State: "CA"})
	d, _ := s.District(ctx, "d1")
	if d.Name != "Demo USD" || !d.Watermark.Equal(wm) || d.HoldShare != pthv.DefaultHoldShare {
		t.Errorf("district %+v", d)
	}
	for i, st := range []pthv.Status{pthv.StatusApplied, pthv.StatusHeld} {
		s.PutImport(ctx, &pthv.Import{ID: fmt.Sprintf("imp-2026010%dT000000Z-00000000", i+1), District: "d1", Status: st})
	}
	list, _ := s.ListImports(ctx, "d1", 10)
	if len(list) != 2 || list[0].Status != pthv.StatusHeld {
		t.Fatalf("newest first: %+v", list)
	}
	held := list[0].ID
	if err := s.TransitionImport(ctx, "d1", held, pthv.StatusHeld, pthv.StatusApproved); err != nil {
		t.Fatal(err)
	}
	if err := s.TransitionImport(ctx, "d1", held, pthv.StatusHeld, pthv.StatusApproved); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("approving twice: %v", err)
	}
	if imp, _ := s.GetImport(ctx, "d1", held); imp.Status != pthv.StatusApproved {
		t.Errorf("status %s", imp.Status)
	}
}

func TestEachRunOfAnImportIsTakenOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	imp := &pthv.Import{ID: "imp-20260101T000000.000Z-00000000", District: "d1", Status: pthv.StatusApplying, Runs: 1}
	if err := s.PutImport(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimRun(ctx, "d1", imp.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimRun(ctx, "d1", imp.ID, 1); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("the same run taken twice: %v", err)
	}
	if err := s.ClaimRun(ctx, "d1", imp.ID, 2); err != nil {
		t.Fatalf("the next run: %v", err)
	}
}

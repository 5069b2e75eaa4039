package importer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
)

// uploadInSecond uploads a new version whose upload time is the second of an earlier one, as
// S3 reports two puts within one second.
func (r *rig) uploadInSecond(key string, data []byte, t time.Time) pthv.Object {
	r.t.Helper()
	o := r.blobs.upload("drops", key, data)
	r.blobs.mu.Lock()
	defer r.blobs.mu.Unlock()
	vs := r.blobs.objects["drops/"+key]
	vs[len(vs)-1].UploadedAt = t
	o.UploadedAt = t
	return o
}

func TestTwoExportsOfOneSecondAreNeverOrderedByGuess(t *testing.T) {
	older := genZip(t, rostergen.Options{Students: 80, Seed: 51})
	newer := genZip(t, rostergen.Options{Students: 80, Seed: 51, Remove: 0.05})
	t.Run("different keys: the second is held with the reason", func(t *testing.T) {
		r := newRig(t)
		a := r.blobs.upload("drops", "drops/d1/rosters/monday.zip", older)
		b := r.uploadInSecond("drops/d1/rosters/tuesday.zip", newer, a.UploadedAt)
		// Tuesday's event first: the drain imports both, and does not pick an order.
		if err := r.svc.HandleDrop(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var applied, held []*pthv.Import
		for _, o := range []pthv.Object{a, b} {
			imp, err := r.store.GetImport(context.Background(), "d1", ImportID(o))
			if err != nil {
				t.Fatal(err)
			}
			switch imp.Status {
			case pthv.StatusApplied:
				applied = append(applied, imp)
			case pthv.StatusHeld:
				held = append(held, imp)
			}
		}
		if len(applied) != 1 || len(held) != 1 {
			t.Fatalf("%d applied, %d held; want one of each", len(applied), len(held))
		}
		if !strings.Contains(held[0].Reason, "same second") || !strings.Contains(held[0].Reason, name(applied[0].Source.Key)) {
			t.Errorf("reason %q", held[0].Reason)
		}
	})
	t.Run("versions of one key: S3's version order is used", func(t *testing.T) {
		r := newRig(t)
		a := r.blobs.upload("drops", "drops/d1/rosters/export.zip", older)
		b := r.uploadInSecond("drops/d1/rosters/export.zip", newer, a.UploadedAt)
		if err := r.svc.HandleDrop(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		for _, o := range []pthv.Object{a, b} {
			if imp, _ := r.store.GetImport(context.Background(), "d1", ImportID(o)); imp == nil || imp.Status != pthv.StatusApplied {
				t.Fatalf("%s: %+v", o.VersionID, imp)
			}
		}
		ref := reference(t, older, newer)
		if n, d := sameRoster(t, r.store, ref); d != 0 {
			t.Fatalf("%d of %d records differ from the versions applied in order", d, n)
		}
		// An older version of the key turning up after the newer one was imported is superseded.
		r2 := newRig(t)
		a2 := r2.blobs.upload("drops", "drops/d1/rosters/export.zip", older)
		b2 := r2.uploadInSecond("drops/d1/rosters/export.zip", newer, a2.UploadedAt)
		// a2 is not in the bucket yet when b2 is imported; it turns up after (as a late listing would show it).
		r2.blobs.mu.Lock()
		vs := r2.blobs.objects["drops/drops/d1/rosters/export.zip"]
		r2.blobs.objects["drops/drops/d1/rosters/export.zip"] = vs[1:]
		r2.blobs.mu.Unlock()
		if err := r2.svc.HandleDrop(context.Background(), b2); err != nil {
			t.Fatal(err)
		}
		r2.blobs.mu.Lock()
		r2.blobs.objects["drops/drops/d1/rosters/export.zip"] = vs
		r2.blobs.mu.Unlock()
		if err := r2.svc.HandleDrop(context.Background(), a2); err != nil {
			t.Fatal(err)
		}
		if imp, _ := r2.store.GetImport(context.Background(), "d1", ImportID(a2)); imp == nil || imp.Status != pthv.StatusSuperseded {
			t.Fatalf("the older version: %+v", imp)
		}
	})
}

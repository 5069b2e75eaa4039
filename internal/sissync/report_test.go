package sissync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/standin/oneroster"
)

// reportFirst is the run store, checking at every write of a final run record that the run's
// report is already in place with the same status: whoever sees the record final ('pthv sync
// run --wait', a test's await) must find the report.
type reportFirst struct {
	sissync.Store
	blobs  *blob.S3
	bucket string
	mu     sync.Mutex
	final  int
	errs   []string
}

func (r *reportFirst) PutRun(ctx context.Context, run *sis.Run) error {
	if run.Status != sis.RunPulling && run.Status != sis.RunImporting {
		r.mu.Lock()
		r.final++
		b, err := r.blobs.Get(ctx, r.bucket, sissync.RunKey(run.District, run.Connection, run.ID, "run.json"))
		var rep sis.Run
		switch {
		case err != nil:
			r.errs = append(r.errs, fmt.Sprintf("run %s turned %s before its report was written: %v", run.ID, run.Status, err))
		case json.Unmarshal(b, &rep) != nil || rep.Status != run.Status:
			r.errs = append(r.errs, fmt.Sprintf("run %s turned %s; its report says %q", run.ID, run.Status, rep.Status))
		}
		r.mu.Unlock()
	}
	return r.Store.PutRun(ctx, run)
}

func TestARunTurnsFinalOnlyOnceItsReportIsWritten(t *testing.T) {
	f := setup(t, "1.2")
	check := &reportFirst{Store: f.svc.Store, blobs: blob.New(devstack.AWSConfig(moto.URL)), bucket: f.names.ReportsBucket}
	f.svc.Store = check
	if r := f.run(false); r.Status != sis.RunHeld { // a first run is held
		t.Fatalf("first run %s (%s)", r.Status, r.Reason)
	} else {
		f.approve(r)
	}
	if r := f.run(false); r.Status != sis.RunApplied {
		t.Fatalf("second run %s (%s)", r.Status, r.Reason)
	}
	f.srv.SetFaults(oneroster.Faults{Forbidden: []string{"users"}})
	if r := f.run(false); r.Status != sis.RunFailed { // users incomplete: nothing imported
		t.Fatalf("run without users %s (%s)", r.Status, r.Reason)
	}
	if check.final != 4 || len(check.errs) > 0 { // held, then applied once approved; applied; failed
		t.Fatalf("%d final run records; %v", check.final, check.errs)
	}
}

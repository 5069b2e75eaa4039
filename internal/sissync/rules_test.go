package sissync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/standin/oneroster"
)

func TestPullThatOutlastsAnInvocationContinues(t *testing.T) {
	f := setup(t, "1.2")
	calls := 0
	f.svc.Budget = func(context.Context) time.Duration {
		calls++
		if calls%7 == 0 {
			return 0 // out of time every seventh page
		}
		return time.Minute
	}
	r := f.run(false)
	invocations := 1
	for r.Status == sis.RunPulling {
		if len(f.cont.reqs) != invocations {
			t.Fatalf("%d continuations for %d checkpoints", len(f.cont.reqs), invocations)
		}
		req := f.cont.reqs[len(f.cont.reqs)-1]
		var err error
		if r, err = f.svc.Handle(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		invocations++
		if invocations > 50 {
			t.Fatal("the run never finished")
		}
	}
	if invocations < 3 || r.Invocations != invocations {
		t.Fatalf("%d invocations (run says %d): the budget never ran out", invocations, r.Invocations)
	}
	st := f.srv.Stats()
	for _, c := range r.Collections {
		if !c.Complete {
			t.Errorf("%s: %s", c.Name, c.Verdict)
		}
		if c.Proof.Unique != f.srv.District().Count(c.Name) {
			t.Errorf("%s: %d records, the server has %d", c.Name, c.Proof.Unique, f.srv.District().Count(c.Name))
		}
		if st.FirstPages[c.Name] != 1 {
			t.Errorf("%s: the first page was asked %d times: a continuation restarted the pull", c.Name, st.FirstPages[c.Name])
		}
	}
	if r.Status != sis.RunHeld || r.Counts["user"].Added != f.srv.District().Count("users") {
		t.Errorf("run %s (%s), %+v", r.Status, r.Reason, r.Counts["user"])
	}
}

func TestFindingsNameCollectionPageAndSourcedID(t *testing.T) {
	f := setup(t, "1.2")
	d := f.srv.District()
	ids := d.IDs("enrollments")
	bad := ids[45] // page 3 at 20 a page
	if err := d.Update("enrollments", bad, "role", "pupil", time.Now()); err != nil {
		t.Fatal(err)
	}
	r := f.run(false)
	var got *sis.Finding
	for i, fd := range r.Findings {
		if fd.Code == "value.enum" {
			got = &r.Findings[i]
		}
	}
	if got == nil || got.Collection != "enrollments" || got.Page != 3 || got.SourcedID != bad || got.Field != "role" {
		t.Fatalf("finding %+v; want enrollments page 3 %s role", got, bad)
	}
	if r.Counts["enrollment"].Rejected != 1 {
		t.Errorf("rejected %d enrollments", r.Counts["enrollment"].Rejected)
	}
}

// TestATooLongValueOnASyncedRecordIsNamedByCollectionPageAndSourcedID: a synced user whose
// givenName is over its 512-byte cap is rejected with value.too_long, named by collection,
// page and sourcedId (never by the package's file and line), and the value is not echoed.
func TestATooLongValueOnASyncedRecordIsNamedByCollectionPageAndSourcedID(t *testing.T) {
	f := setup(t, "1.2")
	d := f.srv.District()
	bad := d.IDs("users")[45] // page 3 at 20 a page
	if err := d.Update("users", bad, "givenName", strings.Repeat("<", 513), time.Now()); err != nil {
		t.Fatal(err)
	}
	r := f.run(false)
	var got *sis.Finding
	for i, fd := range r.Findings {
		if fd.Code == "value.too_long" {
			if got != nil {
				t.Fatalf("two value.too_long findings: %+v and %+v", *got, fd)
			}
			got = &r.Findings[i]
		}
	}
	if got == nil || got.Collection != "users" || got.Page != 3 || got.SourcedID != bad || got.Field != "givenName" || got.Severity != "error" {
		t.Fatalf("finding %+v; want users page 3 %s givenName", got, bad)
	}
	if strings.Contains(got.Message, "<<") {
		t.Errorf("the finding echoes the value: %s", got.Message)
	}
	if r.Counts["user"].Rejected == 0 { // the guardian, and the children whose agents name it
		t.Error("the user is not rejected")
	}
}

func TestChangedSettingsAreHeld(t *testing.T) {
	f := setup(t, "1.2")
	first := f.run(false)
	f.approve(first)
	if r := f.run(false); r.Status != sis.RunApplied {
		t.Fatalf("second run %s (%s)", r.Status, r.Reason)
	}
	ctx := context.Background()
	conn, err := f.st.Connection(ctx, "d1", f.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn.ClientAuth = "body"
	if err := f.st.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	r := f.run(false)
	if r.Status != sis.RunHeld || !strings.Contains(r.Reason, "settings changed") || r.Mode != "full" {
		t.Fatalf("run after a settings change: %s (%s) %s", r.Status, r.Reason, r.Mode)
	}
}

func TestRetriesAndProofsAreInTheRunRecord(t *testing.T) {
	f := setup(t, "1.2")
	f.srv.SetFaults(oneroster.Faults{PageClamp: 7, RateLimitEvery: 9, RetryAfter: "0", FailCollection: "users", FailPage: 2, FailTimes: 1})
	r := f.run(false)
	if r.Status != sis.RunHeld || !strings.Contains(r.Reason, "first run") || strings.Contains(r.Reason, "incomplete") {
		t.Fatalf("%s (%s)", r.Status, r.Reason)
	}
	if r.Retries == 0 || r.Requests <= r.Retries || r.Bytes == 0 {
		t.Errorf("requests %d, retries %d, bytes %d", r.Requests, r.Retries, r.Bytes)
	}
	stored, err := f.st.Run(context.Background(), "d1", f.conn.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stored.Collections {
		if !c.Complete || (c.Proof.Unique > 7 && c.Proof.Pages < 2) {
			t.Errorf("%s: complete %v, %d pages", c.Name, c.Complete, c.Proof.Pages)
		}
	}
}

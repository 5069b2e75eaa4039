package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

func put(t *testing.T, rec roster.Record, school string) pthv.Op {
	t.Helper()
	data, hash, err := importer.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	op := pthv.Op{Op: pthv.OpPut, Kind: rec.RecordKind(), ID: rec.ID(), Hash: hash, Data: data, School: school}
	if r, ok := rec.(*roster.Role); ok {
		op.Role, op.User = r.Role, r.UserSourcedID
	}
	return op
}

func TestSchoolRosterReadsOneSchoolThroughTheIndex(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := roster.StatusActive
	var ops []pthv.Op
	for _, sch := range []string{"sch-1", "sch-2"} {
		ops = append(ops, put(t, &roster.Class{SourcedID: "cls-" + sch, Status: a, ClassType: "homeroom", SchoolSourcedID: sch}, sch))
		for i := range 60 { // 60 students a school: more than one BatchGetItem
			u := fmt.Sprintf("stu-%s-%02d", sch, i)
			ops = append(ops,
				put(t, &roster.User{SourcedID: u, Status: a, GivenName: "N", Grades: []string{"03"}}, ""),
				put(t, &roster.Role{SourcedID: "rol-" + u, Status: a, UserSourcedID: u, Role: "student", OrgSourcedID: sch}, sch),
				put(t, &roster.Enrollment{SourcedID: "enr-" + u, Status: a, ClassSourcedID: "cls-" + sch, SchoolSourcedID: sch, UserSourcedID: u, Role: "student"}, sch))
		}
	}
	if _, err := s.Apply(ctx, "d1", "imp-1", ops); err != nil {
		t.Fatal(err)
	}
	// One enrollment of sch-1 is deactivated: the index must not return it.
	if _, err := s.Apply(ctx, "d1", "imp-2", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindEnrollment, ID: "enr-stu-sch-1-00"}}); err != nil {
		t.Fatal(err)
	}
	sr, err := s.SchoolRoster(ctx, "d1", "sch-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Roles) != 60 || len(sr.Classes) != 1 || len(sr.Enrollments) != 59 {
		t.Fatalf("sch-1: %d roles, %d classes, %d enrollments", len(sr.Roles), len(sr.Classes), len(sr.Enrollments))
	}
	for _, r := range sr.Roles {
		if r.OrgSourcedID != "sch-1" {
			t.Fatalf("role of %s at %s", r.UserSourcedID, r.OrgSourcedID)
		}
	}
	if other, _ := s.SchoolRoster(ctx, "d2", "sch-1"); len(other.Roles)+len(other.Classes)+len(other.Enrollments) != 0 {
		t.Fatal("another district's school index returned d1's records")
	}

	var ids []string
	for i := range 60 {
		ids = append(ids, fmt.Sprintf("stu-sch-1-%02d", i), fmt.Sprintf("stu-sch-2-%02d", i))
	}
	ids = append(ids, "stu-nobody")
	if _, err := s.Apply(ctx, "d1", "imp-3", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: "stu-sch-2-59"}}); err != nil {
		t.Fatal(err)
	}
	users, err := s.Users(ctx, "d1", ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 119 || users["stu-sch-2-59"] != nil || users["stu-sch-1-07"].Grades[0] != "03" {
		t.Fatalf("%d users (want the 119 active ones)", len(users))
	}
}

func TestConsentRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 9, 1, 10, 0, 0, 123, time.UTC)
	err := s.SetConsent(ctx, "d1", []consent.Entry{
		{Year: "2026-2027", Subject: "F#fam-aaaaaaaaaaaa", Consent: "accepted", Date: "2026-08-30", At: at, Source: "cli"},
		{Year: "2026-2027", Subject: "S#stu-1", Consent: "accepted", Date: "2026-08-30", At: at, Source: "cli"},
		{Year: "2026-2027", Subject: "S#stu-1", Consent: "declined", Date: "2026-08-31", At: at, Source: "cli"}, // last wins
		{Year: "2025-2026", Subject: "S#stu-1", Consent: "accepted", Date: "2025-09-01", At: at, Source: "cli"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, "d1", "2026-2027")
	if err != nil {
		t.Fatal(err)
	}
	want := consent.Entry{Year: "2026-2027", Subject: "S#stu-1", Consent: "declined", Date: "2026-08-31", At: at, Source: "cli"}
	if len(got) != 2 || got["S#stu-1"] != want {
		t.Fatalf("got %+v", got)
	}
}

func TestPutCohortRevisions(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	rec := &cohort.Record{ID: "coh-1", District: "d1", School: "sch-1", Year: "2026-2027", Revision: 1,
		Cohort: cohort.Cohort{PopulationHash: "abc", Status: cohort.StatusReady}}
	member := func(id, stratum string, order int) cohort.MemberItem {
		return cohort.MemberItem{Member: cohort.Member{FamilyID: id, StudentIDs: []string{"s-" + id}, Stratum: stratum, Order: order,
			Pair: []string{"t1", "t2"}}, Consent: cohort.ConsentUnknown}
	}
	var first []cohort.MemberItem
	for i := range 40 {
		first = append(first, member(fmt.Sprintf("fam-%02d", i), []string{"KG", "01", "02"}[i%3], i/3))
	}
	if err := s.PutCohort(ctx, rec, first); err != nil {
		t.Fatal(err)
	}
	// Revision 2 drops fam-05 and fam-06 and adds fam-99.
	second := slices.Concat(first[:5], first[7:], []cohort.MemberItem{member("fam-99", "02", 20)})
	rec2 := *rec
	rec2.Revision = 2
	if err := s.PutCohort(ctx, &rec2, second); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCohort(ctx, &rec2, second); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("revision 2 twice: %v", err)
	}
	if err := s.PutCohort(ctx, rec, first); !errors.Is(err, pthv.ErrConflict) {
		t.Fatalf("revision 1 again: %v", err)
	}
	got, err := s.GetCohort(ctx, "d1", "coh-1")
	if err != nil || got.Revision != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	ms, err := s.Members(ctx, "d1", "coh-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 39 {
		t.Fatalf("%d members, want 39", len(ms))
	}
	want := slices.Clone(second)
	cohort.SortMembers(want)
	a, _ := json.Marshal(ms)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("members differ:\n%s\n%s", a, b)
	}
	if _, err := s.GetCohort(ctx, "d1", "coh-2"); !errors.Is(err, pthv.ErrNotFound) {
		t.Fatalf("unknown cohort: %v", err)
	}
	list, err := s.ListCohorts(ctx, "d1")
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
}

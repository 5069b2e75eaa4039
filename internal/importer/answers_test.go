package importer

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
)

func TestSetConsentChecksTheSubjectAgainstTheRoster(t *testing.T) {
	r := newRig(t)
	r.svc.Families = studentFamilies{r.store}
	teacher, student := rosterPeople(t, r)
	cases := []struct {
		name string
		rec  consent.Record
		code string
	}{
		{"a student who is not in the roster", consent.Record{StudentID: "stu-999999"}, "ref.unknown_student"},
		{"a teacher's id given as a student's", consent.Record{StudentID: teacher}, "ref.unknown_student"},
		{"a family id that is no family of the roster", consent.Record{FamilyID: "fam-0123456789ab"}, "ref.unknown_family"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused with "+tc.code, func(t *testing.T) {
			tc.rec.SchoolYear, tc.rec.Consent = "2025-2026", "declined"
			_, err := r.svc.SetConsent(context.Background(), "d1", tc.rec)
			var re *RuleError
			if !errors.As(err, &re) || re.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	if n := r.store.Items("SetConsent"); n != 0 {
		t.Fatalf("%d refused answers were written", n)
	}
	for _, rec := range []consent.Record{{StudentID: student}, {FamilyID: FamilyOf(student)}} {
		rec.SchoolYear, rec.Consent = "2025-2026", "declined"
		if c, err := r.svc.SetConsent(context.Background(), "d1", rec); err != nil || c.Added != 1 {
			t.Fatalf("%+v: %+v %v", rec, c, err)
		}
	}
}

func TestAnOlderConsentAnswerNeverReplacesANewerOne(t *testing.T) {
	r := newRig(t)
	_, student := rosterPeople(t, r)
	r.svc.Now = func() time.Time { return time.Date(2025, 10, 5, 9, 0, 0, 0, time.UTC) }
	if _, err := r.svc.SetConsent(context.Background(), "d1", consent.Record{SchoolYear: "2025-2026", StudentID: student, Consent: "declined", Date: "2025-10-01"}); err != nil {
		t.Fatal(err)
	}
	imp := r.drop("drops/d1/consent/old.csv", []byte("schoolYear,studentSourcedId,consent,date\n2025-2026,"+student+",accepted,2025-09-02\n"))
	got, _ := r.store.Consent(context.Background(), "d1", "2025-2026")
	if got["S#"+student].Consent != "declined" || imp.Counts[pthv.KindConsent] != (pthv.Counts{Unchanged: 1}) {
		t.Fatalf("an answer dated before the decline replaced it: %+v, counts %+v", got["S#"+student], imp.Counts[pthv.KindConsent])
	}
	imp = r.drop("drops/d1/consent/new.csv", []byte("schoolYear,studentSourcedId,consent,date\n2025-2026,"+student+",accepted,2025-10-03\n"))
	got, _ = r.store.Consent(context.Background(), "d1", "2025-2026")
	if got["S#"+student].Consent != "accepted" || imp.Counts[pthv.KindConsent] != (pthv.Counts{Changed: 1}) {
		t.Fatalf("a newer answer: %+v, counts %+v", got["S#"+student], imp.Counts[pthv.KindConsent])
	}
}

func TestAnImportWhoseRowsAreAllRejectedSaysSo(t *testing.T) {
	r := newRig(t)
	teacher, student := rosterPeople(t, r)
	all := r.drop("drops/d1/trainings/all-bad.csv", []byte(trainingHeader+
		student+",2025-08-20,introductory,6,PTHV,true\n"+
		"tch-nobody,2025-08-20,introductory,6,PTHV,true\n"))
	if all.Status != pthv.StatusApplied || all.Outcome != pthv.OutcomeAllRejected || all.Landed() {
		t.Fatalf("every row rejected: status %s, outcome %q", all.Status, all.Outcome)
	}
	some := r.drop("drops/d1/trainings/some-bad.csv", []byte(trainingHeader+
		teacher+",2025-08-20,introductory,6,PTHV,true\n"+
		"tch-nobody,2025-08-20,introductory,6,PTHV,true\n"))
	if some.Outcome != pthv.OutcomePartial || !some.Landed() {
		t.Fatalf("some rows rejected: outcome %q", some.Outcome)
	}
	again := r.drop("drops/d1/trainings/again.csv", []byte(trainingHeader+teacher+",2025-08-20,introductory,6,PTHV,true\n"))
	if again.Outcome != pthv.OutcomeComplete || !again.Landed() {
		t.Fatalf("an unchanged row is no rejection: outcome %q", again.Outcome)
	}
	b, _ := r.blobs.Get(context.Background(), "reports", ReportKey("d1", all.ID))
	var rep struct{ Outcome string }
	if json.Unmarshal(b, &rep); rep.Outcome != pthv.OutcomeAllRejected {
		t.Errorf("the report lacks the outcome: %s", b)
	}
}

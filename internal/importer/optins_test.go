package importer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
)

// rosterPeople drops a roster into r and returns a teacher's and a student's sourcedId.
func rosterPeople(t *testing.T, r *rig) (teacher, student string) {
	t.Helper()
	r.drop("drops/d1/rosters/a.zip", genZip(t, rostergen.Options{Students: 60, Seed: 3}))
	st, _ := r.store.LoadState(context.Background(), "d1")
	for _, c := range st[roster.KindRole] {
		switch {
		case c.Role == "teacher" && teacher == "":
			teacher = c.User
		case c.Role == "student" && student == "":
			student = c.User
		}
	}
	return teacher, student
}

const trainingHeader = "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n"

func TestAnOptOutSurvivesARedroppedTrainingFile(t *testing.T) {
	r := newRig(t)
	teacher, _ := rosterPeople(t, r)
	clock := time.Date(2025, 9, 1, 10, 0, 0, 0, time.UTC)
	r.svc.Now = func() time.Time { return clock }
	csv := trainingHeader + teacher + ",2025-08-20,introductory,6,PTHV National,true\n"

	first := r.drop("drops/d1/trainings/fall.csv", []byte(csv))
	if c := first.Counts[pthv.KindOptIn]; c != (pthv.Counts{Added: 1}) {
		t.Fatalf("a first opt-in is added, not changed: %+v", c)
	}
	clock = clock.Add(24 * time.Hour)
	c, err := r.svc.SetOptIn(context.Background(), "d1", teacher, "2025-2026", false)
	if err != nil || c != (pthv.Counts{Changed: 1}) {
		t.Fatalf("opt-out: %+v %v", c, err)
	}
	clock = clock.Add(24 * time.Hour)
	r.store.ResetCounts()
	again := r.drop("drops/d1/trainings/fall-again.csv", []byte(csv))
	if optedIn(r.store, "d1", "2025-2026", teacher) {
		t.Fatal("re-dropping the unchanged training file opted the educator back in")
	}
	if c := again.Counts[pthv.KindOptIn]; c != (pthv.Counts{Unchanged: 1}) || again.Writes.Items != 0 || writes(r.store) != 0 {
		t.Fatalf("the unchanged file: opt-ins %+v, report writes %d, store writes %d", c, again.Writes.Items, writes(r.store))
	}

	// A new row dated before the opt-out does not undo it either; one dated after it does.
	older := r.drop("drops/d1/trainings/older.csv", []byte(trainingHeader+teacher+",2025-08-25,follow-up,2,PTHV National,true\n"))
	if optedIn(r.store, "d1", "2025-2026", teacher) || older.Counts[pthv.KindOptIn] != (pthv.Counts{Unchanged: 1}) {
		t.Fatalf("a row older than the opt-out changed it: %+v", older.Counts[pthv.KindOptIn])
	}
	newer := r.drop("drops/d1/trainings/newer.csv", []byte(trainingHeader+teacher+",2025-09-03,follow-up,2,PTHV National,true\n"))
	if !optedIn(r.store, "d1", "2025-2026", teacher) || newer.Counts[pthv.KindOptIn] != (pthv.Counts{Changed: 1}) {
		t.Fatalf("a row newer than the opt-out must change it: %+v", newer.Counts[pthv.KindOptIn])
	}
}

func TestTheNewestRowOfAFileDecides(t *testing.T) {
	r := newRig(t)
	teacher, _ := rosterPeople(t, r)
	r.svc.Now = func() time.Time { return time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC) }
	imp := r.drop("drops/d1/trainings/f.csv", []byte(trainingHeader+
		teacher+",2025-10-02,follow-up,2,PTHV,false\n"+
		teacher+",2025-08-20,introductory,6,PTHV,true\n"))
	if optedIn(r.store, "d1", "2025-2026", teacher) {
		t.Fatal("the older row of the file won")
	}
	if c := imp.Counts[pthv.KindOptIn]; c != (pthv.Counts{Added: 1, Unchanged: 1}) {
		t.Fatalf("counts %+v", c)
	}
}

func TestSetOptInChecksTheEducatorAgainstTheRoster(t *testing.T) {
	r := newRig(t)
	teacher, student := rosterPeople(t, r)
	for _, id := range []string{"tch-99999", student} {
		_, err := r.svc.SetOptIn(context.Background(), "d1", id, "2025-2026", true)
		var re *RuleError
		if !errors.As(err, &re) || re.Code != "ref.unknown_educator" {
			t.Errorf("%s: got %v, want ref.unknown_educator", id, err)
		}
	}
	if opts, _ := r.store.OptIns(context.Background(), "d1", "2025-2026"); len(opts) != 0 || r.store.Items("SetOptIns") != 0 {
		t.Fatalf("a refused id was recorded: %v", opts)
	}
	if _, err := r.svc.SetOptIn(context.Background(), "d1", teacher, "2025-2026", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.SetOptIn(context.Background(), "nope", teacher, "2025-2026", true); !errors.Is(err, pthv.ErrNotFound) {
		t.Fatalf("an unregistered district: %v", err)
	}
}

func TestUnknownEducatorFindingsHaveALineAndTheErrorCountIsTheFindings(t *testing.T) {
	r := newRig(t)
	teacher, student := rosterPeople(t, r)
	imp := r.drop("drops/d1/trainings/f.csv", []byte(trainingHeader+
		teacher+",2025-08-20,introductory,6,PTHV,true\n"+
		student+",2025-08-20,introductory,6,PTHV,true\n"+
		teacher+",not-a-date,introductory,6,PTHV,true\n"))
	errs := 0
	for _, f := range imp.TrainingFindings {
		if f.Code == "ref.unknown_educator" && f.Line != 3 {
			t.Errorf("ref.unknown_educator on line %d, want 3", f.Line)
		}
		if f.Severity == "error" {
			errs++
		}
	}
	if errs != 2 || imp.Validation.Errors != errs {
		t.Fatalf("%d error findings, report says %d errors: %+v", errs, imp.Validation.Errors, imp.TrainingFindings)
	}
	if imp.TrainingFindings[0].Line > imp.TrainingFindings[1].Line {
		t.Errorf("findings are not in line order: %+v", imp.TrainingFindings)
	}
}

func TestARejectedTrainingFileCountsItsErrors(t *testing.T) {
	r := newRig(t)
	rosterPeople(t, r)
	imp := r.drop("drops/d1/trainings/bad.csv", []byte("educatorSourcedId,date\nx,2025-01-01\n"))
	errs := 0
	for _, f := range imp.TrainingFindings {
		if f.Severity == "error" {
			errs++
		}
	}
	if imp.Status != pthv.StatusRejected || errs == 0 || imp.Validation.Errors != errs {
		t.Fatalf("%s: %d error findings, report says %d", imp.Status, errs, imp.Validation.Errors)
	}
}

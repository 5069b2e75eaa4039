package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
)

func init() {
	register("gen trainings", "generate a training CSV for a share of a roster's teachers, opting them in", cmdGenTrainings)
}

// teacherSink collects the active teachers of a roster, by school, and the starts of its
// school years.
type teacherSink struct {
	bySchool map[string][]string
	starts   []time.Time
}

func (t *teacherSink) File(roster.Kind, roster.Mode) error { return nil }
func (t *teacherSink) Reject(roster.Kind, string) error    { return nil }
func (t *teacherSink) Record(rec roster.Record) error {
	if r, ok := rec.(*roster.Role); ok && r.Role == "teacher" && r.Status == roster.StatusActive {
		t.bySchool[r.OrgSourcedID] = append(t.bySchool[r.OrgSourcedID], r.UserSourcedID)
	}
	if s, ok := rec.(*roster.AcademicSession); ok && s.Type == "schoolYear" {
		if d, err := time.Parse(time.DateOnly, s.StartDate); err == nil {
			t.starts = append(t.starts, d)
		}
	}
	return nil
}

func cmdGenTrainings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen trainings", stderr)
	rosterPath := fs.String("roster", "", "the roster export (zip or folder) whose teachers are trained (required)")
	out := fs.String("out", "", "output CSV `FILE` (- for standard output) (required)")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	share := floatFlag(fs, "share", 0.5, 0, 1, true, false, "`SHARE` of each school's teachers trained and opted in")
	date := fs.String("date", "", "training `DATE` YYYY-MM-DD (default: 20 August of the roster's school year, or today if that is later)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed trains the same teachers")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *rosterPath == "":
		return usageErr("--roster is required")
	case *out == "":
		return usageErr("--out is required")
	}
	if *date != "" {
		if _, err := time.Parse(time.DateOnly, *date); err != nil {
			return usageErr("--date must be YYYY-MM-DD")
		}
	}
	if err := refuseExisting(*out, *force); err != nil {
		return err
	}
	sink := &teacherSink{bySchool: map[string][]string{}}
	if _, err := orcsv.ReadPath(ctx, *rosterPath, sink, orcsv.Options{}); err != nil {
		return pathErr(err)
	}
	if *date == "" {
		d, err := defaultTrainingDate(sink.starts, time.Now())
		if err != nil {
			return err
		}
		*date = d
	}
	rows := 0
	err := writeWhole(*out, *force, 0o644, stdout, func(f io.Writer) error {
		w := csv.NewWriter(f)
		w.Write(training.Columns)
		rng := rand.New(rand.NewPCG(*seed, 0x7ea))
		for _, school := range slices.Sorted(maps.Keys(sink.bySchool)) {
			ts := slices.Compact(slices.Sorted(slices.Values(sink.bySchool[school])))
			rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
			n := max(2, int(float64(len(ts))**share+0.5))
			for _, t := range ts[:min(n, len(ts))] {
				w.Write([]string{t, *date, "introductory", "6", "PTHV National", "true"})
				rows++
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(summaryTo(*out, stdout, stderr), "wrote %s (teachers of %d schools, opted in) to %s\n", plural(rows, "training"), len(sink.bySchool), describeOut(*out))
	return nil
}

// defaultTrainingDate is 20 August of the school year the roster describes (its latest
// schoolYear session), so that the trainings opt teachers in for the roster's year: the year
// its cohorts are drawn for. A date after today is today, when today is in that school year;
// a roster whose school year has not begun needs --date (no training is dated in the future).
// Without a schoolYear session it is 20 August of the current school year.
func defaultTrainingDate(starts []time.Time, now time.Time) (string, error) {
	now = now.UTC()
	year := pthv.SchoolYearOf(now).String()
	if len(starts) > 0 {
		year = pthv.SchoolYearOf(slices.MaxFunc(starts, time.Time.Compare)).String()
	}
	var y int
	fmt.Sscanf(year, "%d-", &y)
	d := time.Date(y, time.August, 20, 0, 0, 0, 0, time.UTC)
	if d.After(now) {
		if pthv.SchoolYearOf(now).String() != year {
			return "", usageErr("the roster describes school year %s, which has not begun: give --date (a training cannot be dated in the future)", year)
		}
		d = now
	}
	return d.Format(time.DateOnly), nil
}

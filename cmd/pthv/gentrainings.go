package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
)

func init() {
	register("gen trainings", "generate a training CSV for a share of a roster's teachers, opting them in", cmdGenTrainings)
}

// teacherSink collects the active teachers of a roster, by school.
type teacherSink struct{ bySchool map[string][]string }

func (t *teacherSink) File(roster.Kind, roster.Mode) error { return nil }
func (t *teacherSink) Reject(roster.Kind, string) error    { return nil }
func (t *teacherSink) Record(rec roster.Record) error {
	if r, ok := rec.(*roster.Role); ok && r.Role == "teacher" && r.Status == roster.StatusActive {
		t.bySchool[r.OrgSourcedID] = append(t.bySchool[r.OrgSourcedID], r.UserSourcedID)
	}
	return nil
}

func cmdGenTrainings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen trainings", stderr)
	rosterPath := fs.String("roster", "", "the roster export (zip or folder) whose teachers are trained (required)")
	out := fs.String("out", "", "output CSV file (required)")
	share := floatFlag(fs, "share", 0.5, 0, 1, true, false, "`SHARE` of each school's teachers trained and opted in")
	date := fs.String("date", "", "training date YYYY-MM-DD (default: 20 August of the current school year)")
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
	if *date == "" {
		now := time.Now().UTC()
		y := now.Year()
		if now.Month() < time.August || (now.Month() == time.August && now.Day() < 20) {
			y--
		}
		*date = fmt.Sprintf("%d-08-20", y)
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return usageErr("--date must be YYYY-MM-DD")
	}
	sink := &teacherSink{bySchool: map[string][]string{}}
	if _, err := orcsv.ReadPath(ctx, *rosterPath, sink, orcsv.Options{}); err != nil {
		return pathErr(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.Write(training.Columns)
	rng := rand.New(rand.NewPCG(*seed, 0x7ea))
	rows := 0
	for _, school := range slices.Sorted(func(yield func(string) bool) {
		for s := range sink.bySchool {
			if !yield(s) {
				return
			}
		}
	}) {
		ts := slices.Compact(slices.Sorted(slices.Values(sink.bySchool[school])))
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		n := max(2, int(float64(len(ts))**share+0.5))
		for _, t := range ts[:min(n, len(ts))] {
			w.Write([]string{t, *date, "introductory", "6", "PTHV National", "true"})
			rows++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d trainings (teachers of %d schools, opted in) to %s\n", rows, len(sink.bySchool), *out)
	return f.Close()
}

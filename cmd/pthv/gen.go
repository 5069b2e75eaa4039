package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/pthv/reach/internal/rostergen"
)

func init() {
	register("gen roster", "generate a synthetic district export (deterministic for a seed)", cmdGenRoster)
}

func cmdGenRoster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen roster", stderr)
	_, endYear := currentSchoolYear(time.Now())
	students := intFlag(fs, "students", 2000, 1, math.MaxInt, "number of students `N`")
	seed := fs.Uint64("seed", 1, "random `SEED`; the same flags give the same export")
	out := fs.String("out", "", "output folder, or zip file with --zip (- for standard output) (required): `PATH`")
	zipped := fs.Bool("zip", false, "write a zip file at --out instead of a folder")
	force := fs.Bool("force", false, "overwrite the zip file, or write into a folder that is not empty")
	version := choiceFlag(fs, "oneroster", "1.2", []string{"1.2", "1.1"}, "OneRoster `VERSION`")
	district := fs.String("district", "", "sourcedId of the district org (default district-1): `ID`")
	remove := floatFlag(fs, "remove", 0, 0, 1, false, true, "`SHARE` of students (whole families) to leave out, for re-import demos")
	schoolYear := intFlag(fs, "school-year", endYear, 1990, 2200, "the `YEAR` in which the export's school year ends (2027 for 2026-2027; default: the current school year)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	if *out == "" {
		return usageErr("--out is required")
	}
	o := rostergen.Options{Students: *students, Seed: *seed, Version: *version, DistrictID: *district, Remove: *remove, SchoolYear: *schoolYear}
	if err := o.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if *out == "-" && !*zipped {
		return usageErr("--out - needs --zip: a folder cannot go to standard output")
	}
	var st rostergen.Stats
	if *zipped {
		if err := writeWhole(*out, *force, 0o644, stdout, func(w io.Writer) error {
			st, err = rostergen.WriteZip(w, o)
			return err
		}); err != nil {
			return err
		}
	} else if st, err = writeFolder(*out, *force, o); err != nil {
		return err
	}
	stdout = summaryTo(*out, stdout, stderr)
	where := *out
	if where == "-" {
		where = "the export to standard output"
	}
	fmt.Fprintf(stdout, "wrote %s: %d schools, %d students, %d guardians (%d families), %d teachers, %d classes, %d enrollments\n",
		where, st.Schools, st.Students, st.Guardians, st.Families, st.Teachers, st.Classes, st.Enrollments)
	return nil
}

// writeFolder generates the export into a new folder next to out and puts it at out once
// complete: renamed to out when out is missing or an empty folder; into a folder that is
// not empty only with force, file by file (files of other names stay).
func writeFolder(out string, force bool, o rostergen.Options) (rostergen.Stats, error) {
	if fi, err := os.Stat(out); err == nil {
		if !fi.IsDir() {
			return rostergen.Stats{}, usageErr("%s exists and is not a folder (give --zip to write a zip file)", out)
		}
		if names, _ := os.ReadDir(out); len(names) > 0 && !force {
			return rostergen.Stats{}, usageErr("%s is a folder that is not empty: give --force to overwrite its files", out)
		}
	}
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return rostergen.Stats{}, usageErr("%v", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return rostergen.Stats{}, usageErr("cannot write %s: %v", out, err)
	}
	defer os.RemoveAll(tmp)
	st, err := rostergen.Write(tmp, o)
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err != nil {
		return rostergen.Stats{}, err
	}
	if names, _ := os.ReadDir(out); len(names) == 0 {
		os.Remove(out) // an empty folder: the new one takes its place
		return st, place(tmp, out, false)
	}
	files, err := os.ReadDir(tmp)
	if err != nil {
		return rostergen.Stats{}, err
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(tmp, f.Name()), filepath.Join(out, f.Name())); err != nil {
			return rostergen.Stats{}, err
		}
	}
	return st, nil
}

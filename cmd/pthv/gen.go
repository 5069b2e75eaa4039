package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pthv/reach/internal/rostergen"
)

func init() {
	register("gen roster", "generate a synthetic district export (deterministic for a seed)", cmdGenRoster)
}

func cmdGenRoster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen roster", stderr)
	students := fs.Int("students", 2000, "number of students")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same export")
	out := fs.String("out", "", "output folder, or zip file with --zip (required)")
	zipped := fs.Bool("zip", false, "write a zip file at --out instead of a folder")
	version := fs.String("oneroster", "1.2", "OneRoster version: 1.2 or 1.1")
	district := fs.String("district", "", "sourcedId of the district org (default district-1)")
	remove := fs.Float64("remove", 0, "share of students (whole families) to leave out, 0 to <1, for re-import demos")
	schoolYear := fs.Int("school-year", rostergen.DefaultSchoolYear, "the year in which the export's school year ends (2027 for 2026-2027)")
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
	var st rostergen.Stats
	if *zipped {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		f, err := os.Create(*out)
		if err != nil {
			return usageErr("cannot create %s: %v", *out, err)
		}
		st, err = rostergen.WriteZip(f, o)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
			return err
		}
	} else {
		if st, err = rostergen.Write(*out, o); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %d schools, %d students, %d guardians (%d families), %d teachers, %d classes, %d enrollments\n",
		*out, st.Schools, st.Students, st.Guardians, st.Families, st.Teachers, st.Classes, st.Enrollments)
	return nil
}

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
	out := fs.String("out", "", "output folder, or zip file with --zip (required): `PATH`")
	zipped := fs.Bool("zip", false, "write a zip file at --out instead of a folder")
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

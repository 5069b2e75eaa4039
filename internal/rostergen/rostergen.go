// Package rostergen generates a deterministic, synthetic OneRoster CSV export
// of a school district, for demos, tests and benchmarks.
//
// The export is a valid OneRoster 1.2 (or 1.1) bulk package: manifest.csv
// plus academicSessions, orgs, courses, classes, users, roles (1.2 only) and
// enrollments. Every other catalogue file is marked absent in the manifest
// and not written. All files are UTF-8 without BOM with LF line endings;
// every row is bulk, so status and dateLastModified are blank.
//
// The district has one school year (2025-2026) with two semesters, about one
// school per 450 students (elementary KG–05, middle 06–08, high 09–12),
// homerooms of about 25, elementary specials and secondary course sections,
// about one teacher per 16 students, and families of one to three children
// sharing one or two guardians; siblings may attend different schools. Names
// include non-ASCII UTF-8 on purpose.
//
// Output depends only on Options: the same Options always produce
// byte-identical files, and nothing depends on the clock or map order.
package rostergen

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// maxStudents bounds Options.Students so that memory stays reasonable and
// all internal indices fit in int32.
const maxStudents = 5_000_000

// Options selects the district to generate. The zero value is not valid:
// Students must be set.
type Options struct {
	// Students is the number of students in the full population, at least 1
	// and at most 5,000,000.
	Students int
	// Seed selects the population. The same Seed with the same other options
	// yields byte-identical output; a different Seed yields a different
	// district of the same shape.
	Seed uint64
	// Version is the OneRoster version to write: "1.2" (the default when
	// empty) or "1.1". 1.1 has no roles.csv, uses the 1.1 users.csv header
	// (orgSourcedIds and role instead of primaryOrgSourcedId) and the 1.1
	// manifest catalogue of 13 files.
	Version string
	// SchoolYear is the year in which the generated school year ends (2027 for 2026-2027);
	// 0 means DefaultSchoolYear. It must be 2000 to 2100.
	SchoolYear int
	// DistrictID is the sourcedId of the district org; "district-1" when
	// empty. It must match ^[0-9A-Za-z./@_-]{1,255}$ and must not start
	// with "sch-" (reserved for schools).
	DistrictID string
	// Remove drops this share (0 <= Remove < 1) of students, chosen
	// deterministically from Seed, from the otherwise identical population:
	// every remaining record (ids, names, classes, …) is byte-identical to
	// the Remove=0 output; removed students' enrollments disappear, and
	// guardians left with no child disappear. Students are removed a whole
	// family at a time (so that no remaining guardian's list of children
	// changes) until exactly round(Remove*Students) students are gone, or as
	// close as the family sizes allow. Schools, courses, classes and teachers
	// are never removed.
	Remove float64
}

// Stats counts what was written. Every count equals the number of data rows
// in the corresponding file: Schools counts the school rows of orgs.csv (the
// district row is not included); Students, Guardians and Teachers count rows
// of users.csv; Classes, Enrollments and Roles count rows of classes.csv,
// enrollments.csv (teacher and student enrollments) and roles.csv (0 for
// version 1.1, which has no roles.csv). Families counts families that still
// have at least one student after Remove.
type Stats struct {
	Schools, Students, Guardians, Teachers, Classes, Enrollments, Roles, Families int
}

var sourcedIDPattern = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)

// Validate reports the first problem with o, or nil. It rejects Students
// below 1 or above 5,000,000, a Version other than "", "1.2" or "1.1", a
// Remove outside [0, 1) (including NaN), and a non-empty DistrictID that is
// not a valid OneRoster sourcedId or that starts with "sch-". Errors are
// prefixed "rostergen: ".
func (o Options) Validate() error {
	if o.Students < 1 {
		return fmt.Errorf("rostergen: Students must be at least 1, got %d", o.Students)
	}
	if o.Students > maxStudents {
		return fmt.Errorf("rostergen: Students must be at most %d, got %d", maxStudents, o.Students)
	}
	switch o.Version {
	case "", "1.2", "1.1":
	default:
		return fmt.Errorf("rostergen: Version must be \"1.2\" or \"1.1\" (empty means \"1.2\"), got %q", o.Version)
	}
	if !(o.Remove >= 0 && o.Remove < 1) {
		return fmt.Errorf("rostergen: Remove must be in [0, 1), got %v", o.Remove)
	}
	if o.DistrictID != "" {
		if !sourcedIDPattern.MatchString(o.DistrictID) {
			return fmt.Errorf("rostergen: DistrictID %q is not a valid sourcedId (want ^[0-9A-Za-z./@_-]{1,255}$)", o.DistrictID)
		}
		if strings.HasPrefix(o.DistrictID, "sch-") {
			return fmt.Errorf("rostergen: DistrictID %q must not start with \"sch-\", which is used for schools", o.DistrictID)
		}
	}
	if o.SchoolYear != 0 && (o.SchoolYear < 2000 || o.SchoolYear > 2100) {
		return fmt.Errorf("rostergen: SchoolYear must be 2000 to 2100, got %d", o.SchoolYear)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Version == "" {
		o.Version = "1.2"
	}
	if o.DistrictID == "" {
		o.DistrictID = "district-1"
	}
	return o
}

// Write generates the district described by o and writes manifest.csv and
// the data files into dir, creating dir (and parents) if missing. Files of
// the same name are overwritten; other files in dir are left alone, so write
// into an empty directory to get a clean package. It returns the Validate
// error for invalid options, or the first file-system error, in which case
// the Stats are zero and dir may hold partial files.
func Write(dir string, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("rostergen: %w", err)
	}
	return generate(o, func(name string) (io.Writer, func() error, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	})
}

// zipTime is the fixed modification time of every zip entry, so that zip
// output is deterministic too.
var zipTime = time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC)

// WriteZip generates the same files as Write and writes them to w as one zip
// archive (Deflate, fast compression level), every entry at the root of the
// archive, manifest.csv first, each with a fixed modification time. The
// archive bytes are as deterministic as Write's files. It returns the
// Validate error for invalid options, or the first error from w, in which
// case the Stats are zero and w holds a truncated archive.
func WriteZip(w io.Writer, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, err
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	st, err := generate(o, func(name string) (io.Writer, func() error, error) {
		fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
		fh.SetMode(0o644)
		ew, err := zw.CreateHeader(fh)
		if err != nil {
			return nil, nil, err
		}
		return ew, func() error { return nil }, nil
	})
	if err != nil {
		return Stats{}, err
	}
	if err := zw.Close(); err != nil {
		return Stats{}, fmt.Errorf("rostergen: %w", err)
	}
	return st, nil
}

type opener func(name string) (w io.Writer, done func() error, err error)

type outFile struct {
	name  string
	write func(*csvWriter, *Stats)
}

// generate builds the population for valid options and writes each file
// through open.
func generate(o Options, open opener) (Stats, error) {
	o = o.withDefaults()
	v11 := o.Version == "1.1"
	p := build(o)
	files := []outFile{
		{"manifest.csv", func(c *csvWriter, _ *Stats) { writeManifest(c, v11) }},
		{"academicSessions.csv", func(c *csvWriter, _ *Stats) { p.writeSessions(c) }},
		{"orgs.csv", p.writeOrgs},
		{"courses.csv", func(c *csvWriter, _ *Stats) { p.writeCourses(c) }},
		{"classes.csv", p.writeClasses},
		{"users.csv", func(c *csvWriter, st *Stats) { p.writeUsers(c, st, v11) }},
	}
	if !v11 {
		files = append(files, outFile{"roles.csv", p.writeRoles})
	}
	files = append(files, outFile{"enrollments.csv", p.writeEnrollments})

	var st Stats
	bw := bufio.NewWriterSize(nil, 256<<10)
	cw := &csvWriter{w: bw, buf: make([]byte, 0, 1024)}
	for _, f := range files {
		w, done, err := open(f.name)
		if err != nil {
			return Stats{}, fmt.Errorf("rostergen: %w", err)
		}
		bw.Reset(w)
		f.write(cw, &st)
		err = bw.Flush()
		if cerr := done(); err == nil {
			err = cerr
		}
		if err != nil {
			return Stats{}, fmt.Errorf("rostergen: writing %s: %w", f.name, err)
		}
	}
	for _, removed := range p.removedFam {
		if !removed {
			st.Families++
		}
	}
	return st, nil
}

package csv

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pthv/reach/internal/roster"
)

// checkInvariants holds for any input whatsoever.
func checkInvariants(t *testing.T, rep *Report, rec *recorder) {
	t.Helper()
	for _, s := range rep.Summary {
		if s.Accepted+s.Rejected != s.Rows || s.Accepted < 0 {
			t.Fatalf("%s: accepted %d + rejected %d != rows %d", s.File, s.Accepted, s.Rejected, s.Rows)
		}
	}
	for _, f := range rep.Findings {
		if _, ok := ruleByCode[f.Code]; !ok || f.Message == "" {
			t.Fatalf("finding with unknown code or no message: %+v", f)
		}
		if f.SourcedID != "" && !validID([]byte(f.SourcedID)) {
			t.Fatalf("finding carries an invalid sourcedId: %+v", f)
		}
	}
	if rec != nil && !rep.Fatal() {
		live := 0
		for _, k := range []roster.Kind{roster.KindOrg, roster.KindAcademicSession, roster.KindCourse, roster.KindClass, roster.KindUser, roster.KindEnrollment} {
			live += len(rec.live(k))
		}
		acc := 0
		for _, s := range rep.Summary {
			if s.Imported && s.File != "roles.csv" {
				acc += s.Accepted
			}
		}
		if live != acc {
			t.Fatalf("sink holds %d live records, report accepted %d", live, acc)
		}
	}
}

// FuzzReadCSV feeds arbitrary bytes as users.csv (the file with self-references) and as
// enrollments.csv of an otherwise valid export.
func FuzzReadCSV(f *testing.F) {
	base := validPackage()
	f.Add([]byte(base["users.csv"]), []byte(base["enrollments.csv"]))
	f.Add([]byte("\ufeff"+base["users.csv"]), []byte("sourcedId,classSourcedId\r\nx,\"a\"\"b\"\n\"unclosed\n"))
	f.Add([]byte("sourcedId,status,dateLastModified,enabledUser\nstu-1,,,TRUE\nstu-1,,,true\n"), []byte{0xff, 0xfe, ',', '\n'})
	f.Add([]byte(""), []byte(",,,,\n\n\r\n"))
	if dir, err := filepath.Abs("../../../../shared/oneroster/samples/moodle-enrol_oneroster/_extracted"); err == nil {
		for _, pkg := range []string{"VRd118", "test01", "v1p2_full_dataset"} {
			u, err1 := os.ReadFile(filepath.Join(dir, pkg, "users.csv"))
			e, err2 := os.ReadFile(filepath.Join(dir, pkg, "enrollments.csv"))
			if err1 == nil && err2 == nil {
				f.Add(u, e)
			}
		}
	}
	f.Fuzz(func(t *testing.T, users, enrollments []byte) {
		p := validPackage()
		p["users.csv"], p["enrollments.csv"] = string(users), string(enrollments)
		rep, rec := readZip(t, zipOf(t, p), Options{MaxFindingsPerRule: 50})
		checkInvariants(t, rep, rec)
	})
}

// FuzzScanner checks that the line scanner never panics, never loses a line and keeps
// every field within the line it came from.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("a,b,c\n\"x\"\"y\",,z\r\n"))
	f.Add([]byte("\"open\nnext,line\n"))
	f.Add([]byte("a\rb\n\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := newScanner(bytes.NewReader(data))
		lines := 0
		for {
			fields, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			lines++
			if sc.line != lines {
				t.Fatalf("line %d reported as %d", lines, sc.line)
			}
			for _, fl := range fields {
				if len(fl) > MaxFieldBytes {
					t.Fatalf("field of %d bytes passed the cap", len(fl))
				}
			}
		}
		want := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if lines != want {
			t.Fatalf("read %d lines, input has %d", lines, want)
		}
	})
}

// FuzzSplitPaths checks that the plain-line path of split cuts every line exactly as the
// general path does: the same fields and the same problems.
func FuzzSplitPaths(f *testing.F) {
	f.Add([]byte("stu-1,,,true,a.b,,Ana,Lee,,1001,,,,gdn-1,KG,,,,,,sch-1,"))
	f.Add([]byte(",,"))
	f.Add([]byte(""))
	f.Add([]byte("a,\"b,c\",d"))
	f.Add([]byte("x\ry,\xff"))
	f.Add(bytes.Repeat([]byte("z"), MaxFieldBytes+1))
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return // split sees one line at a time
		}
		a, b := &scanner{}, &scanner{}
		a.split(line)
		b.splitGeneral(line)
		if len(a.fields) != len(b.fields) {
			t.Fatalf("%d fields, the general path cuts %d", len(a.fields), len(b.fields))
		}
		for i := range a.fields {
			if !bytes.Equal(a.fields[i], b.fields[i]) {
				t.Fatalf("field %d = %q, the general path gives %q", i, a.fields[i], b.fields[i])
			}
		}
		if !slices.Equal(a.prob, b.prob) {
			t.Fatalf("problems %v, the general path finds %v", a.prob, b.prob)
		}
	})
}

// FuzzOpenZip feeds arbitrary bytes as the export itself.
func FuzzOpenZip(f *testing.F) {
	f.Add(zipOf(f, validPackage()))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	if dir, err := filepath.Abs("../../../../shared/oneroster/samples/moodle-enrol_oneroster/tests/fixtures"); err == nil {
		for _, z := range []string{"csv_data/VRd118.zip", "csvs/test01.zip"} {
			if b, err := os.ReadFile(filepath.Join(dir, z)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxTotalBytes: 8 << 20, MaxRatio: 50}
		pkg := OpenZip(bytes.NewReader(data), int64(len(data)), "fuzz.zip", lim)
		rec := &recorder{modes: map[roster.Kind]roster.Mode{}}
		rep, err := Read(context.Background(), pkg, rec, Options{Limits: lim, MaxFindingsPerRule: 20})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, rep, rec)
	})
}

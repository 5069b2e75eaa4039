package csv

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/roster"
)

// files is an export under construction: file name → content.
type files map[string]string

// validPackage returns a small, fully valid OneRoster 1.2 bulk export. Every test case
// starts from it and breaks one thing. The student's guardian comes after the student in
// users.csv, so the forward-reference path is exercised by the clean case too.
func validPackage() files {
	var m strings.Builder
	m.WriteString("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n")
	present := map[string]bool{"academicSessions": true, "classes": true, "courses": true, "enrollments": true,
		"orgs": true, "roles": true, "users": true}
	for _, f := range catalogue("1.2") {
		mode := "absent"
		if present[f] {
			mode = "bulk"
		}
		fmt.Fprintf(&m, "file.%s,%s\n", f, mode)
	}
	m.WriteString("source.systemName,Test SIS\nsource.systemCode,TEST\n")
	return files{
		"manifest.csv": m.String(),
		"orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" +
			"dist-1,,,Demo District,district,D1,\n" +
			"sch-1,,,Lincoln Elementary,school,S1,dist-1\n",
		"academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n" +
			"sy-2026,,,2025-2026,schoolYear,2025-08-15,2026-06-15,,2026\n" +
			"term-1,,,Fall,term,2025-08-15,2025-12-20,sy-2026,2026\n",
		"courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n" +
			"crs-1,,,sy-2026,Homeroom,HR,\"KG,01\",sch-1,,\n",
		"classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" +
			"cls-1,,,Homeroom KG,KG,crs-1,HR-KG,homeroom,Room 1,sch-1,term-1,,,\n",
		"users.csv": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n" +
			"stu-1,,,true,stu1,,José,Nguyễn,,1001,,,,gdn-1,KG,,,,,,sch-1,\n" +
			"gdn-1,,,true,gdn1,,Zoë,Nguyễn,,,zoe@example.org,,555-0100,stu-1,,,,,,,,\n" +
			"tch-1,,,true,tch1,,Ann,O'Brien,,,ann@example.org,555-0199,,,,,,,,,sch-1,\n",
		"roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n" +
			"rol-1,,,stu-1,primary,student,,,sch-1,\n" +
			"rol-2,,,gdn-1,primary,guardian,,,dist-1,\n" +
			"rol-3,,,tch-1,primary,teacher,,,sch-1,\n",
		"enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" +
			"enr-1,,,cls-1,sch-1,stu-1,student,false,,\n" +
			"enr-2,,,cls-1,sch-1,tch-1,teacher,true,,\n",
	}
}

// clone copies the export so a case can change it.
func (f files) clone() files {
	c := files{}
	for k, v := range f {
		c[k] = v
	}
	return c
}

// set replaces the cell in column col of physical line line (1 = header) of file.
func (f files) set(file string, line int, col, value string) files {
	lines := strings.Split(f[file], "\n")
	header := strings.Split(lines[0], ",")
	ci := slices.Index(header, col)
	if ci < 0 {
		panic("no column " + col + " in " + file)
	}
	cells := splitCells(lines[line-1])
	cells[ci] = value
	lines[line-1] = strings.Join(cells, ",")
	f[file] = strings.Join(lines, "\n")
	return f
}

// splitCells splits a fixture line on commas outside quotes, keeping the quotes.
func splitCells(line string) []string {
	var cells []string
	var cur strings.Builder
	q := false
	for _, r := range line {
		switch {
		case r == '"':
			q = !q
			cur.WriteRune(r)
		case r == ',' && !q:
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(cells, cur.String())
}

// line replaces physical line n of file (1 = header) with s.
func (f files) line(file string, n int, s string) files {
	lines := strings.Split(f[file], "\n")
	lines[n-1] = s
	f[file] = strings.Join(lines, "\n")
	return f
}

// appendRow adds a line at the end of file.
func (f files) appendRow(file, s string) files {
	f[file] += s + "\n"
	return f
}

// manifest sets a manifest property.
func (f files) manifest(prop, value string) files {
	lines := strings.Split(f["manifest.csv"], "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prop+",") {
			lines[i] = prop + "," + value
			f["manifest.csv"] = strings.Join(lines, "\n")
			return f
		}
	}
	f["manifest.csv"] += prop + "," + value + "\n"
	return f
}

// zipOf builds a zip of the export, files in sorted order.
func zipOf(t testing.TB, f files) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeDir writes the export into a new temporary folder.
func writeDir(t testing.TB, f files) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range f {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readZip validates zip bytes with a recording sink.
func readZip(t testing.TB, b []byte, opt Options) (*Report, *recorder) {
	t.Helper()
	rec := &recorder{modes: map[roster.Kind]roster.Mode{}}
	rep, err := Read(context.Background(), OpenZip(bytes.NewReader(b), int64(len(b)), "export.zip", opt.Limits), rec, opt)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return rep, rec
}

// recorder is a Sink that keeps what it is given.
type recorder struct {
	modes     map[roster.Kind]roster.Mode
	records   []roster.Record
	retracted []string
}

func (r *recorder) File(k roster.Kind, m roster.Mode) error {
	if _, dup := r.modes[k]; dup {
		return fmt.Errorf("File(%s) announced twice", k)
	}
	r.modes[k] = m
	return nil
}
func (r *recorder) Record(rec roster.Record) error {
	if _, ok := r.modes[rec.RecordKind()]; !ok {
		return fmt.Errorf("record of %s before File", rec.RecordKind())
	}
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) Reject(k roster.Kind, id string) error {
	r.retracted = append(r.retracted, string(k)+"/"+id)
	return nil
}

// live returns the ids of the records of a kind that were passed and not retracted.
func (r *recorder) live(k roster.Kind) []string {
	var ids []string
	for _, rec := range r.records {
		if rec.RecordKind() == k && !slices.Contains(r.retracted, string(k)+"/"+rec.ID()) {
			ids = append(ids, rec.ID())
		}
	}
	return ids
}

func (r *recorder) find(k roster.Kind, id string) roster.Record {
	for _, rec := range r.records {
		if rec.RecordKind() == k && rec.ID() == id {
			return rec
		}
	}
	return nil
}

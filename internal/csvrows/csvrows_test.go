package csvrows_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/csvrows/csvrowstest"
)

// format is a small format like the consent and visit files.
var format = csvrows.Format{
	Name:     "test",
	Columns:  []string{"id", "familyId", "studentSourcedId", "note", "list"},
	Required: []string{"id"},
	Subject:  true,
	Codes:    csvrows.Prefixed("t."),
	MaxBytes: 1 << 14, // more than a csv.Reader buffers, so that it reads the header first
	MaxField: 16,
	Limits:   map[string]int{"note": 9, "list": 20},
	Unknown: func(c csvrows.Column, warn func(code, col, msg string)) bool {
		if !strings.HasPrefix(c.Header, "secret") {
			return false
		}
		warn("t.secret", c.Name, "column "+strconv.Itoa(c.Index+1)+" is secret")
		return true
	},
}

// legacy is a format with the training reader's rules.
var legacy = csvrows.Format{
	Name:     "old",
	Columns:  []string{"id", "name"},
	Required: []string{"id"},
	Codes: csvrows.Codes{NoHeader: "no_header", HeaderMissing: "missing", HeaderDuplicate: "duplicate", HeaderUnknown: "unknown",
		Encoding: "utf8", CSV: "csv", FieldCount: "count", Required: "required", NoRows: "no_rows"},
	Legacy: true,
}

// row is what the test's row function saw of a row.
type row struct {
	line   int
	values []string
}

// read reads in with f; each row's values are Get of the columns in order, or
// Value in a Legacy format.
func read(t testing.TB, f *csvrows.Format, in string) (*csvrows.Result, []row) {
	t.Helper()
	res, rows, err := readFrom(f, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	return res, rows
}

func readFrom(f *csvrows.Format, r io.Reader) (*csvrows.Result, []row, error) {
	var rows []row
	res, err := f.Read(r, "x.csv", func(r *csvrows.Row) {
		var vs []string
		for _, c := range f.Columns {
			if f.Legacy {
				vs = append(vs, r.Value(c))
				continue
			}
			v, ok := r.Get(c)
			if !ok {
				v = "!"
			}
			vs = append(vs, v)
		}
		rows = append(rows, row{r.Line, vs})
	})
	return res, rows, err
}

// codes renders findings as code@line:column.
func codes(res *csvrows.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, fmt.Sprintf("%s@%d:%s", f.Code, f.Line, f.Column))
	}
	return out
}

func TestHeader(t *testing.T) {
	cases := []struct {
		name, in   string
		f          *csvrows.Format
		want       []string
		fileReject bool
	}{
		{"empty", "", &format, []string{"t.no_header@1:"}, true},
		{"a bad quote", "id,\"familyId\n", &format, []string{"t.csv@1:"}, true},
		{"a bad quote on a later line", "id,\"a\nb\"c\n", &format, []string{"t.csv@1:"}, true},
		{"a BOM and spaces", "\ufeff id ,familyId\n", &format, []string{"t.no_rows@1:"}, false},
		{"UTF-16 LE", "\xff\xfei\x00d\x00\n\x00", &format, []string{"t.encoding@1:"}, true},
		{"UTF-16 BE", "\xfe\xff\x00i\x00d\n", &format, []string{"t.encoding@1:"}, true},
		{"no subject column", "id\n", &format, []string{"t.header_missing@1:familyId"}, true},
		{"a missing column", "familyId\n", &format, []string{"t.header_missing@1:id"}, true},
		{"a repeated column", "id,familyId,id\n", &format, []string{"t.header_duplicate@1:id"}, true},
		{"no known column", "a,b@c.d\n", &format, []string{"t.header_missing@1:"}, true},
		{"unknown columns after repeated ones", "x,id,,a@b.c,studentSourcedId,id,\x01y\x02\n", &format,
			[]string{"t.header_duplicate@1:id", "t.header_unknown@1:x", "t.header_unknown@1:", "t.header_unknown@1:",
				"t.header_unknown@1:y"}, true},
		{"a long unknown column", "id,familyId," + strings.Repeat("é", 40) + "\n", &format,
			[]string{"t.header_unknown@1:" + strings.Repeat("é", 32) + "…", "t.no_rows@1:"}, false},
		{"an unknown column that is not UTF-8", "id,familyId,a\xffb\n", &format, []string{"t.header_unknown@1:ab", "t.no_rows@1:"}, false},
		{"a column the format claims", "id,familyId,secret1,secret@x\n", &format,
			[]string{"t.secret@1:secret1", "t.secret@1:", "t.no_rows@1:"}, false},
		{"legacy: empty", "", &legacy, []string{"no_header@1:"}, true},
		{"legacy: a bad quote on a later line", "id,\"a\nb\"c\n", &legacy, []string{"csv@2:"}, false},
		{"legacy: UTF-16", "\xff\xfei\x00d\x00\n\x00", &legacy, []string{"unknown@1:\ufffd\ufffdid", "missing@1:id"}, true},
		{"legacy: unknown columns as they come", "x,id,id,a@b\n", &legacy,
			[]string{"unknown@1:x", "duplicate@1:id", "unknown@1:a@b"}, true},
		{"legacy: no known column", "a\n", &legacy, []string{"unknown@1:a", "missing@1:id"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, rows := read(t, tc.f, tc.in)
			if got := codes(res); !slices.Equal(got, tc.want) {
				t.Errorf("findings\n got %q\nwant %q", got, tc.want)
			}
			if res.FileError() != tc.fileReject {
				t.Errorf("FileError() = %v", res.FileError())
			}
			if len(rows) != 0 || res.Rows != 0 {
				t.Errorf("rows %d %+v", res.Rows, rows)
			}
		})
	}
}

func TestTheMessagesNameTheFormat(t *testing.T) {
	res, _ := read(t, &format, "id,familyId,,x,a@b\n1,fam\n")
	want := []string{
		"column 3 has no name and is ignored",
		"the column is not part of the test file and is ignored",
		"column 5 is named [a value that looks like an email address], which is not part of the test file; it is ignored",
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Message)
	}
	if !slices.Equal(got[:3], want) {
		t.Errorf("messages\n got %q\nwant %q", got, want)
	}
}

func TestTheCap(t *testing.T) {
	header := "id,familyId,unknown\n"
	exact := header + strings.Repeat("a,fam-1,\n", (format.MaxBytes-len(header))/9)
	exact += strings.Repeat(" ", format.MaxBytes-len(exact))
	if len(exact) != format.MaxBytes {
		t.Fatal(len(exact))
	}
	res, rows := read(t, &format, exact)
	if res.FileError() || len(rows) == 0 {
		t.Fatalf("a file of MaxBytes is read: %v", codes(res))
	}
	for _, in := range []io.Reader{strings.NewReader(exact + "\n"), csvrowstest.Big(header, "a,,,\n", format.MaxBytes)} {
		res, _, err := readFrom(&format, in)
		if err != nil {
			t.Fatal(err)
		}
		// The header's warning stays; the rows' findings (subject) go.
		if got := codes(res); !slices.Equal(got, []string{"t.header_unknown@1:unknown", "t.too_large@0:"}) || res.Rows != 0 || res.Rejected != 0 || !res.FileError() {
			t.Errorf("findings %v rows %d rejected %d", got, res.Rows, res.Rejected)
		}
		if m := res.Findings[1].Message; m != "the file is larger than 0 MB; split it into smaller files" {
			t.Error(m)
		}
	}
	res, _, err := readFrom(&format, csvrowstest.Big("", "x", format.MaxBytes))
	if err != nil || !slices.Equal(codes(res), []string{"t.too_large@0:"}) {
		t.Errorf("a header over the limit: %v %v", codes(res), err)
	}
	// No limit.
	res, rows, err = readFrom(&legacy, csvrowstest.Big("id\n", "a\n", 1<<16))
	if err != nil || len(res.Findings) != 0 || len(rows) != 1<<15+1 {
		t.Errorf("without a limit: %v %d %v", codes(res), len(rows), err)
	}
}

func TestRows(t *testing.T) {
	in := "id,familyId,note\r\n" +
		"a,fam-1,\"two\r\nlines\"\r\n" + // lines 2-3
		"\r\n" + // 4: blank
		" , ,\r\n" + // 5: empty cells
		"b,fam-1,x,extra\r\n" + // 6
		"c,\"fam\"-1,x\r\n" + // 7: a bad quote
		"d,\"fam\n\nx\"y,z\n" + // 8-10: a bad quote on line 10
		"e\n" // 11
	res, rows := read(t, &format, in)
	want := []string{"t.field_count@6:", "t.csv@7:", "t.csv@8:", "t.field_count@11:"}
	if got := codes(res); !slices.Equal(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	var lines []int
	for _, r := range rows {
		lines = append(lines, r.line)
	}
	if !slices.Equal(lines, []int{2, 6, 11}) || rows[0].values[3] != "two\r\nlines" && rows[0].values[3] != "two\nlines" {
		t.Errorf("rows %+v", rows)
	}
	if res.Rows != 5 || res.Rejected != 4 {
		t.Errorf("rows %d rejected %d", res.Rows, res.Rejected)
	}

	// A Legacy format counts a row of empty cells and reports a CSV error where it occurs.
	res, rows = read(t, &legacy, "id,name\n\n,\n\"a\n\nb\"c,d\n")
	if got := codes(res); !slices.Equal(got, []string{"csv@6:"}) || len(rows) != 1 || rows[0].line != 3 || res.Rows != 2 || res.Rejected != 1 {
		t.Errorf("legacy: findings %v rows %d %+v", got, res.Rows, rows)
	}
}

func TestARowFunctionThatDoesNothing(t *testing.T) {
	res, err := legacy.Read(strings.NewReader("id\n\n"), "x.csv", func(*csvrows.Row) {})
	if err != nil || !slices.Equal(codes(res), []string{"no_rows@1:"}) || res.FileError() {
		t.Errorf("a header only: %v %v", codes(res), err)
	}
}

func TestCells(t *testing.T) {
	res, rows := read(t, &format, "id,familyId,note,list,studentSourcedId\n"+
		" a ,fam-0123456789ab, 123456789 ,"+strings.Repeat("x", 20)+",\n"+
		"b\xff,,1234567890,"+strings.Repeat("x", 21)+",s-1\n")
	want := []string{"t.encoding@3:id", "t.too_long@3:note", "t.too_long@3:list"}
	if got := codes(res); !slices.Equal(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(rows[0].values, []string{"a", "fam-0123456789ab", "", "123456789", strings.Repeat("x", 20)}) ||
		!slices.Equal(rows[1].values, []string{"!", "", "s-1", "!", "!"}) {
		t.Errorf("values %+v", rows)
	}
	if m := res.Findings[0].Message; m != "id has bytes that are not UTF-8; save the file as UTF-8 (CSV UTF-8)" {
		t.Error(m)
	}
	if m := res.Findings[1].Message; m != "note is longer than 9 characters" {
		t.Error(m)
	}

	// A Legacy format checks every known cell for UTF-8 before the field count.
	res, _ = read(t, &legacy, "id,name\na\xff,b\xff,c\n")
	if got := codes(res); !slices.Equal(got, []string{"utf8@2:id", "utf8@2:name", "count@2:"}) ||
		res.Findings[0].Message != "id has bytes that are not UTF-8; save the file as UTF-8" {
		t.Errorf("legacy: %v %q", got, res.Findings[0].Message)
	}
}

func TestRowChecks(t *testing.T) {
	var got []string
	res, err := format.Read(strings.NewReader("id,familyId,studentSourcedId,note\n"+
		",,,n\n"+
		"a,fam-0123456789ab,s,n\n"+
		"b,FAM-1,a b,n\n"+
		"c,fam-0123456789ab,,n\n"+
		"c,,s-1@x.org,n\n"), "x.csv", func(r *csvrows.Row) {
		id, ok := r.Get("id")
		if r.Required("id", id, ok) && r.Failed() {
			t.Error("a valid id fails the row")
		}
		fam, okFam := r.Get("familyId")
		stu, okStu := r.Get("studentSourcedId")
		r.Subject(fam, stu, okFam, okStu)
		if !r.Failed() {
			r.Warn("t.ok", "", "row "+id)
		}
		got = append(got, fmt.Sprint(r.Line, r.Failed()))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"t.required@2:id", "t.subject@2:familyId", "t.subject@3:familyId",
		"t.subject@4:familyId", "t.family_id@4:familyId", "t.sourced_id@4:studentSourcedId", "t.ok@5:", "t.ok@6:"}
	if g := codes(res); !slices.Equal(g, want) {
		t.Errorf("findings\n got %v\nwant %v", g, want)
	}
	if !slices.Equal(got, []string{"2 true", "3 true", "4 true", "5 false", "6 false"}) || res.Rows != 5 || res.Rejected != 3 {
		t.Errorf("rows %v %d %d", got, res.Rows, res.Rejected)
	}
	for _, f := range res.Findings {
		if f.File != "x.csv" || f.Severity != map[bool]string{true: "warning", false: "error"}[f.Code == "t.ok"] {
			t.Errorf("finding %+v", f)
		}
	}
}

func TestAReaderErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	for _, f := range []*csvrows.Format{&format, &legacy} {
		for _, in := range []io.Reader{
			io.MultiReader(strings.NewReader("id,fam"), &failing{boom}),
			io.MultiReader(strings.NewReader("id,familyId\na,fam\n"), &failing{boom}),
		} {
			if _, _, err := readFrom(f, in); !errors.Is(err, boom) {
				t.Errorf("err %v", err)
			}
		}
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

func TestPrefixedAndAs(t *testing.T) {
	c := csvrows.Prefixed("visit.")
	if c.NoHeader != "visit.no_header" || c.SourcedID != "visit.sourced_id" || c.FieldCount != "visit.field_count" {
		t.Errorf("%+v", c)
	}
	type mine csvrows.Finding
	if csvrows.As[mine](nil) != nil {
		t.Error("no findings convert to nil")
	}
	fs := csvrows.As[mine]([]csvrows.Finding{{Severity: "warning", Line: 1}, {Severity: "error", Line: 2}})
	if len(fs) != 2 || fs[1].Line != 2 || csvrows.FileError(fs) {
		t.Errorf("%+v", fs)
	}
	if !csvrows.FileError(append(fs, mine{Severity: "error", Line: 0})) {
		t.Error("an error on line 0 rejects the file")
	}
}

// FuzzReader reads anything with a strict and a Legacy format.
func FuzzReader(f *testing.F) {
	f.Add([]byte("id,familyId,note,list\n a ,fam-0123456789ab,\"x\ny\",l\n,,,\n\n"))
	f.Add([]byte("\ufeffid,studentSourcedId,secret,a@b.c,\nb,s@x.org,1,2,3\nc,\"x\n"))
	f.Add([]byte("id,name\n\"a\n\nb\"c\n"))
	f.Add([]byte("\xff\xfei\x00d\x00"))
	f.Add([]byte(strings.Repeat("id,familyId\n", 100)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fm := range []*csvrows.Format{&format, &legacy} {
			c := fm.Codes
			codes := []string{"t.secret", c.NoHeader, c.HeaderMissing, c.HeaderDuplicate, c.HeaderUnknown, c.TooLarge, c.Encoding,
				c.CSV, c.FieldCount, c.TooLong, c.Required, c.NoRows, c.Subject, c.FamilyID, c.SourcedID}
			last, accepted := 1, 0
			res, err := fm.Read(bytes.NewReader(b), "f.csv", func(r *csvrows.Row) {
				if r.Line <= last {
					t.Fatalf("line %d after %d", r.Line, last)
				}
				last = r.Line
				for _, c := range fm.Columns {
					v, ok := r.Get(c)
					limit := fm.MaxField
					if l, ok := fm.Limits[c]; ok {
						limit = l
					}
					if !ok && v != "" || ok && (!utf8.ValidString(v) || limit > 0 && len(v) > limit || v != strings.TrimSpace(v)) {
						t.Fatalf("Get(%s) = %q, %v", c, v, ok)
					}
				}
				if !r.Failed() {
					accepted++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, fd := range res.Findings {
				if fd.File != "f.csv" || (fd.Severity != "error" && fd.Severity != "warning") || !slices.Contains(codes, fd.Code) || fd.Code == "" || fd.Message == "" {
					t.Fatalf("a malformed finding: %+v", fd)
				}
				if fd.Line < 1 && fd.Code != fm.Codes.TooLarge {
					t.Fatalf("a finding without a line: %+v", fd)
				}
				if !fm.Legacy && (!utf8.ValidString(fd.Message) || !utf8.ValidString(fd.Column)) {
					t.Fatalf("a finding that is not UTF-8: %+v", fd)
				}
			}
			if res.FileError() {
				if slices.ContainsFunc(res.Findings, func(f csvrows.Finding) bool { return f.Line > 1 }) && fm.MaxBytes > 0 && len(b) > fm.MaxBytes {
					t.Fatalf("a file over the limit has row findings: %+v", res.Findings)
				}
			} else if res.Rows != accepted+res.Rejected {
				t.Fatalf("rows %d != accepted %d + rejected %d", res.Rows, accepted, res.Rejected)
			}
			if fm.Legacy {
				continue
			}
			for _, v := range csvrowstest.EmailLike(b) {
				if strings.Contains(csvrows.SourcedIDText, v) {
					continue // the message may describe the pattern
				}
				if i := slices.IndexFunc(res.Findings, func(f csvrows.Finding) bool {
					return strings.Contains(f.Message, v) || strings.Contains(f.Column, v)
				}); i >= 0 {
					t.Fatalf("finding %+v repeats %q", res.Findings[i], v)
				}
			}
		}
	})
}

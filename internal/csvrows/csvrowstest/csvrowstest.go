// Package csvrowstest holds test helpers for the CSV readers built on csvrows.
package csvrowstest

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/csvrows"
)

// RowObjects turns a CSV file into the row objects its column schema describes: one a data
// row, from the header's names to the row's cells. A BOM is dropped.
func RowObjects(t testing.TB, in string) []map[string]string {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(in, "\ufeff")))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("fixture is not CSV: %v", err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		obj := map[string]string{}
		for i, c := range rows[0] {
			if i < len(row) {
				obj[c] = row[i]
			}
		}
		out = append(out, obj)
	}
	return out
}

// Big returns a file of header and then row again and again, larger than limit bytes,
// without holding it in memory.
func Big(header, row string, limit int) io.Reader {
	n := limit/len(row) + 1
	return io.MultiReader(strings.NewReader(header), io.LimitReader(&repeat{b: []byte(row)}, int64(n*len(row))))
}

type repeat struct {
	b []byte
	i int
}

func (r *repeat) Read(p []byte) (int, error) {
	for n := range p {
		p[n] = r.b[r.i]
		r.i = (r.i + 1) % len(r.b)
	}
	return len(p), nil
}

// EmailLike returns the cells of a CSV file, read leniently and without surrounding space,
// that look like email addresses: 3 bytes or more with an '@'. No finding may repeat them.
func EmailLike(b []byte) []string {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord, cr.LazyQuotes = -1, true
	var out []string
	for {
		rec, err := cr.Read()
		if err != nil && rec == nil {
			return out
		}
		for _, v := range rec {
			if v = strings.TrimSpace(v); len(v) >= 3 && strings.Contains(v, "@") {
				out = append(out, v)
			}
		}
	}
}

// Count returns how many of the findings have the code.
func Count[F ~csvrows.Fields](fs []F, code string) int {
	n := 0
	for _, f := range fs {
		if csvrows.Fields(f).Code == code {
			n++
		}
	}
	return n
}

// RuleCase is one case of a reader's rule table: an input and the finding it must produce.
type RuleCase struct {
	Name, In   string
	Big        bool // the input is larger than the reader's MaxBytes (Run passes BigIn instead)
	Code, Col  string
	Line       int
	FileReject bool
	Leak       string // a value no finding may repeat
	Schema     bool   // the column schema rejects the row too
}

// Outcome is what a reader made of one case, in the shared shapes.
type Outcome struct {
	Findings   []csvrows.Finding
	FileError  bool
	Records    int
	Rows       int
	Rejected   int
	Duplicates int // findings of the duplicate rule (the later row replaced an earlier one)
}

// Rules describes one reader for Run.
type Rules struct {
	File  string   // the file name the reader is given, as findings name it
	Codes []string // every rule code of the reader
	// Read reads in (BigIn for Big cases) as the package's Read does.
	Read  func(t *testing.T, in io.Reader) Outcome
	BigIn func() io.Reader
	// SchemaRejects reports whether the column schema rejects the first row of in.
	SchemaRejects func(t *testing.T, in string) bool
	// Extra runs the package's own checks on a case (optional).
	Extra func(t *testing.T, tc RuleCase, o Outcome)
}

// Run checks every case: the expected finding at its file, line and column; no finding
// repeats the case's leak value or has an unlisted code; FileError as expected, and no
// records from a rejected file; rows = records + rejected + duplicates; the schema rejects
// the row when it can express the rule.
func (r Rules) Run(t *testing.T, cases []RuleCase) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			in := io.Reader(strings.NewReader(tc.In))
			if tc.Big {
				in = r.BigIn()
			}
			o := r.Read(t, in)
			found := false
			for _, f := range o.Findings {
				if f.Code == tc.Code && f.Column == tc.Col && f.Line == tc.Line && f.File == r.File {
					found = true
				}
				if tc.Leak != "" && (strings.Contains(f.Message, tc.Leak) || strings.Contains(f.Column, tc.Leak)) {
					t.Errorf("a finding repeats a row value: %+v", f)
				}
				if !slices.Contains(r.Codes, f.Code) {
					t.Errorf("finding with an unlisted code: %+v", f)
				}
			}
			if !found {
				t.Errorf("no %s at line %d column %q: %+v", tc.Code, tc.Line, tc.Col, o.Findings)
			}
			if o.FileError != tc.FileReject {
				t.Errorf("FileError() = %v", o.FileError)
			}
			if tc.FileReject && o.Records != 0 {
				t.Errorf("a rejected file yields %d records", o.Records)
			}
			if o.Rows != o.Records+o.Rejected+o.Duplicates {
				t.Errorf("rows %d != records %d + rejected %d + duplicates %d", o.Rows, o.Records, o.Rejected, o.Duplicates)
			}
			if tc.Schema && !r.SchemaRejects(t, tc.In) {
				t.Errorf("the schema accepts the row of %q", tc.In)
			}
			if r.Extra != nil {
				r.Extra(t, tc, o)
			}
		})
	}
}

// CodesHaveCases checks that the rule codes written in the reader's source (string literals
// with the prefix, like "visit.pair") are exactly codes, and that each has a case.
func CodesHaveCases(t *testing.T, source, prefix string, codes []string, cases []RuleCase) {
	t.Helper()
	src, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	inSource := regexp.MustCompile(`"`+regexp.QuoteMeta(prefix)+`[a-z_]+"`).FindAllString(string(src), -1)
	for _, c := range inSource {
		if !slices.Contains(codes, strings.Trim(c, `"`)) {
			t.Errorf("rule code %s is not in Codes", c)
		}
	}
	for _, c := range codes {
		if !slices.ContainsFunc(cases, func(tc RuleCase) bool { return tc.Code == c }) {
			t.Errorf("rule code %s has no case", c)
		}
	}
	if len(inSource) != len(codes) {
		t.Errorf("%d codes in the source, %d in Codes", len(inSource), len(codes))
	}
}

// Seed adds a reader's fuzz corpus: its testdata/*.csv files and its rule cases' inputs.
func Seed(f *testing.F, cases []RuleCase) {
	f.Helper()
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range cases {
		if !tc.Big {
			f.Add([]byte(tc.In))
		}
	}
}

// CheckFindings fails on a malformed finding: another file name, an unknown severity or
// code, no message, or no line (except for the file-size rule, tooLarge).
func CheckFindings(t *testing.T, fs []csvrows.Finding, file string, codes []string, tooLarge string) {
	t.Helper()
	for _, fd := range fs {
		if fd.File != file || (fd.Severity != "error" && fd.Severity != "warning") || !slices.Contains(codes, fd.Code) || fd.Message == "" {
			t.Fatalf("a malformed finding: %+v", fd)
		}
		if fd.Line < 1 && fd.Code != tooLarge {
			t.Fatalf("a finding without a line: %+v", fd)
		}
	}
}

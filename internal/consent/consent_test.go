package consent

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/csvrows/csvrowstest"
	"github.com/pthv/reach/schemas"
)

var today = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

const header = "schoolYear,familyId,studentSourcedId,consent,date\n"

const schemaName = "consent-csv.schema.json"

func read(t testing.TB, in string) *Result {
	t.Helper()
	res, err := Read(strings.NewReader(in), "c.csv", today)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rowObjects turns a CSV file into the row objects the column schema describes.
var rowObjects = csvrowstest.RowObjects

func validRow(obj map[string]string) error {
	b, _ := json.Marshal(obj)
	return schemas.Validate(schemaName, b)
}

func TestAValidFileReadsEveryRow(t *testing.T) {
	b, err := os.ReadFile("testdata/consent.csv")
	if err != nil {
		t.Fatal(err)
	}
	res := read(t, string(b))
	if len(res.Findings) != 0 || len(res.Records) != 5 || res.Rows != 5 || res.Rejected != 0 || res.FileError() {
		t.Fatalf("findings %+v records %d rows %d rejected %d", res.Findings, len(res.Records), res.Rows, res.Rejected)
	}
	want := Record{SchoolYear: "2025-2026", FamilyID: "fam-0123456789ab", Consent: "accepted", Date: "2025-09-02", Line: 2}
	if res.Records[0] != want {
		t.Errorf("first record %+v, want %+v", res.Records[0], want)
	}
	if s := res.Records[0].Subject(); s != "F#fam-0123456789ab" {
		t.Errorf("family subject %q", s)
	}
	if s := res.Records[1].Subject(); s != "S#stu-1001" {
		t.Errorf("student subject %q", s)
	}
	if r := res.Records[2]; r.Consent != "unknown" || r.Date != "" {
		t.Errorf("unknown withdraws, a blank date stays blank: %+v", r)
	}
	if r := res.Records[3]; r.SchoolYear != "2026-2027" || r.Subject() != res.Records[0].Subject() {
		t.Errorf("the same family answers for next year separately: %+v", r)
	}
	// Every row of the file conforms to the column schema, and so does every record.
	for i, obj := range rowObjects(t, string(b)) {
		if err := validRow(obj); err != nil {
			t.Errorf("row %d: %v", i+2, err)
		}
	}
	for _, r := range res.Records {
		b, _ := json.Marshal(r)
		if err := schemas.Validate(schemaName, b); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
		if strings.Contains(string(b), "Line") || strings.Contains(string(b), `"line"`) {
			t.Errorf("the line is not part of the record's JSON: %s", b)
		}
	}
}

func TestABOMAndCRLFFileReads(t *testing.T) {
	b, err := os.ReadFile("testdata/bom-crlf.csv")
	if err != nil {
		t.Fatal(err)
	}
	res := read(t, string(b))
	if len(res.Findings) != 0 || len(res.Records) != 2 {
		t.Fatalf("findings %+v records %+v", res.Findings, res.Records)
	}
	if r := res.Records[1]; r.StudentID != "s2" || r.Consent != "declined" || r.Line != 3 {
		t.Errorf("second record %+v", r)
	}
}

func TestColumnsInAnyOrderExtraColumnsAndDuplicates(t *testing.T) {
	b, err := os.ReadFile("testdata/mixed.csv")
	if err != nil {
		t.Fatal(err)
	}
	res := read(t, string(b))
	if res.FileError() {
		t.Fatalf("file error: %+v", res.Findings)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Code+"@"+strconv.Itoa(f.Line)+":"+f.Column)
	}
	want := []string{
		"consent.header_unknown@1:notes",
		"consent.value@3:consent",
		"consent.duplicate@4:",
		"consent.family_id@5:familyId",
		"consent.year@7:schoolYear",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	// The row of empty cells on line 6 is not a row.
	if res.Rows != 5 || res.Rejected != 3 || len(res.Records) != 1 {
		t.Fatalf("rows %d rejected %d records %+v", res.Rows, res.Rejected, res.Records)
	}
	if r := res.Records[0]; r.FamilyID != "fam-aaaaaaaaaaaa" || r.Consent != "declined" || r.Line != 4 || r.Date != "" {
		t.Errorf("the later row wins: %+v", r)
	}
	for _, f := range res.Findings {
		for _, v := range []string{"called twice", "changed their mind", "maybe", "CCCC"} {
			if strings.Contains(f.Message, v) {
				t.Errorf("a finding repeats a row value: %s", f.Message)
			}
		}
		if f.Code == CodeDuplicate && (!strings.Contains(f.Message, "line 2") || !strings.Contains(f.Message, "line 4")) {
			t.Errorf("the duplicate warning names both lines: %s", f.Message)
		}
	}
}

func TestTheLaterDuplicateKeepsFileOrder(t *testing.T) {
	res := read(t, header+
		"2025-2026,fam-aaaaaaaaaaaa,,accepted,\n"+
		"2025-2026,fam-bbbbbbbbbbbb,,accepted,\n"+
		"2025-2026,fam-aaaaaaaaaaaa,,declined,\n"+
		"2025-2026,fam-aaaaaaaaaaaa,,unknown,\n"+
		"2025-2026,,fam-aaaaaaaaaaaa,accepted,\n")
	var lines []int
	for _, r := range res.Records {
		lines = append(lines, r.Line)
	}
	// A studentSourcedId that happens to look like a family id is another subject.
	if !slices.Equal(lines, []int{3, 5, 6}) || res.Records[1].Consent != "unknown" {
		t.Fatalf("records %+v", res.Records)
	}
	if n := count(res, CodeDuplicate); n != 2 || res.Rows != len(res.Records)+res.Rejected+n {
		t.Errorf("%d duplicate warnings, rows %d: %+v", n, res.Rows, res.Findings)
	}
}

func TestAStudentThatLooksLikeAnEmailIsNeverRepeated(t *testing.T) {
	res := read(t, header+
		"2025-2026,,jane.doe@example.org,accepted,\n"+
		"2025-2026,,jane.doe@example.org,declined,\n"+
		"2025-2026,fam-aaaaaaaaaaaa,jane.doe@example.org,declined,\n")
	if count(res, CodeDuplicate) != 1 || count(res, CodeSubject) != 1 {
		t.Fatalf("findings %+v", res.Findings)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Message, "jane") || strings.Contains(f.Column, "jane") {
			t.Errorf("a finding repeats an email-like id: %+v", f)
		}
	}
}

func count(res *Result, code string) int { return csvrowstest.Count(res.Findings, code) }

type ruleCase = csvrowstest.RuleCase

// ruleCases has at least one case for every rule code (TestEveryRuleCodeHasACase).
var ruleCases = []ruleCase{
	{Name: "an empty file", In: "", Code: CodeNoHeader, Line: 1, FileReject: true},
	{Name: "a missing required column", In: "familyId,consent\nfam-aaaaaaaaaaaa,accepted\n", Code: CodeHeaderMissing, Col: "schoolYear", Line: 1, FileReject: true},
	{Name: "a missing consent column", In: "schoolYear,familyId\n2025-2026,fam-aaaaaaaaaaaa\n", Code: CodeHeaderMissing, Col: "consent", Line: 1, FileReject: true},
	{Name: "no subject column", In: "schoolYear,consent,date\n2025-2026,accepted,\n", Code: CodeHeaderMissing, Col: "familyId", Line: 1, FileReject: true},
	{Name: "no header row", In: "2025-2026,fam-aaaaaaaaaaaa,jane@example.org,accepted,\n", Code: CodeHeaderMissing, Line: 1, FileReject: true, Leak: "fam-aaaa"},
	{Name: "a repeated column", In: "schoolYear,familyId,consent,familyId\n2025-2026,fam-aaaaaaaaaaaa,accepted,fam-aaaaaaaaaaaa\n", Code: CodeHeaderDuplicate, Col: "familyId", Line: 1, FileReject: true},
	{Name: "an unknown column", In: "schoolYear,familyId,consent,notes\n2025-2026,fam-aaaaaaaaaaaa,accepted,busy weekdays\n", Code: CodeHeaderUnknown, Col: "notes", Line: 1, Leak: "busy"},
	{Name: "an email-like column name", In: "schoolYear,familyId,consent,jane@example.org\n2025-2026,fam-aaaaaaaaaaaa,accepted,x\n", Code: CodeHeaderUnknown, Line: 1, Leak: "jane"},
	{Name: "a nameless column", In: "schoolYear,familyId,consent,\n2025-2026,fam-aaaaaaaaaaaa,accepted,\n", Code: CodeHeaderUnknown, Line: 1},
	{Name: "a file over the limit", Big: true, Code: CodeTooLarge, Line: 0, FileReject: true},
	{Name: "a UTF-16 file", In: "\xff\xfes\x00c\x00h\x00\n\x00", Code: CodeEncoding, Line: 1, FileReject: true},
	{Name: "not UTF-8", In: header + "2025-2026,,Jos\xe9,accepted,\n", Code: CodeEncoding, Col: "studentSourcedId", Line: 2, Leak: "Jos"},
	{Name: "a bad quote", In: header + "2025-2026,\"fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeCSV, Line: 2},
	{Name: "a bad quote in the header", In: "schoolYear,\"familyId,consent\n", Code: CodeCSV, Line: 1, FileReject: true},
	{Name: "a short row", In: header + "2025-2026,fam-aaaaaaaaaaaa,,accepted\n", Code: CodeFieldCount, Line: 2},
	{Name: "a long sourcedId", In: header + "2025-2026,," + strings.Repeat("s", 256) + ",accepted,\n", Code: CodeTooLong, Col: "studentSourcedId", Line: 2, Leak: "sss", Schema: true},
	{Name: "a blank school year", In: header + ",fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeRequired, Col: "schoolYear", Line: 2, Schema: true},
	{Name: "a blank consent", In: header + "2025-2026,fam-aaaaaaaaaaaa,,,\n", Code: CodeRequired, Col: "consent", Line: 2, Schema: true},
	{Name: "a one-year school year", In: header + "2025,fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeYear, Col: "schoolYear", Line: 2, Schema: true},
	{Name: "a short school year", In: header + "2025-26,fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeYear, Col: "schoolYear", Line: 2, Schema: true},
	{Name: "years not consecutive", In: header + "2025-2027,fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeYear, Col: "schoolYear", Line: 2},
	{Name: "a year before 2000", In: header + "1025-1026,fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeYear, Col: "schoolYear", Line: 2},
	{Name: "a year after next", In: header + "2027-2028,fam-aaaaaaaaaaaa,,accepted,\n", Code: CodeYear, Col: "schoolYear", Line: 2},
	{Name: "no subject", In: header + "2025-2026,,,accepted,\n", Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "two subjects", In: header + "2025-2026,fam-aaaaaaaaaaaa,stu-1,accepted,\n", Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "no subject in a student-only file", In: "schoolYear,studentSourcedId,consent\n2025-2026,,accepted\n", Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "an uppercase family id", In: header + "2025-2026,FAM-AAAAAAAAAAAA,,accepted,\n", Code: CodeFamilyID, Col: "familyId", Line: 2, Leak: "FAM-", Schema: true},
	{Name: "a short family id", In: header + "2025-2026,fam-abc,,accepted,\n", Code: CodeFamilyID, Col: "familyId", Line: 2, Leak: "fam-abc", Schema: true},
	{Name: "a bad sourcedId", In: header + "2025-2026,,Jose Garcia,accepted,\n", Code: CodeSourcedID, Col: "studentSourcedId", Line: 2, Leak: "Jose", Schema: true},
	{Name: "a capitalised answer", In: header + "2025-2026,fam-aaaaaaaaaaaa,,Accepted,\n", Code: CodeValue, Col: "consent", Line: 2, Leak: "Accepted", Schema: true},
	{Name: "a yes", In: header + "2025-2026,fam-aaaaaaaaaaaa,,yes,\n", Code: CodeValue, Col: "consent", Line: 2, Leak: "yes", Schema: true},
	{Name: "a day-first date", In: header + "2025-2026,fam-aaaaaaaaaaaa,,accepted,02/09/2025\n", Code: CodeDate, Col: "date", Line: 2, Leak: "02/09", Schema: true},
	{Name: "a date that does not exist", In: header + "2025-2026,fam-aaaaaaaaaaaa,,accepted,2025-02-30\n", Code: CodeDate, Col: "date", Line: 2, Leak: "02-30"},
	{Name: "a future date", In: header + "2025-2026,fam-aaaaaaaaaaaa,,accepted,2026-03-16\n", Code: CodeDateFuture, Col: "date", Line: 2, Leak: "2026-03-16"},
	{Name: "the same family twice", In: header + "2025-2026,fam-aaaaaaaaaaaa,,accepted,\n2025-2026,fam-aaaaaaaaaaaa,,declined,\n", Code: CodeDuplicate, Line: 3},
	{Name: "a header only", In: header, Code: CodeNoRows, Line: 1},
}

// bigReader yields a valid consent file larger than MaxBytes without holding it in memory.
func bigReader() io.Reader {
	return csvrowstest.Big(header, "2025-2026,fam-aaaaaaaaaaaa,,accepted,2025-09-01\n", MaxBytes)
}

func TestEveryRuleRejectsWhatItShould(t *testing.T) {
	csvrowstest.Rules{
		File:  "c.csv",
		Codes: Codes,
		BigIn: bigReader,
		Read: func(t *testing.T, in io.Reader) csvrowstest.Outcome {
			res, err := Read(in, "c.csv", today)
			if err != nil {
				t.Fatal(err)
			}
			o := csvrowstest.Outcome{FileError: res.FileError(), Records: len(res.Records), Rows: res.Rows, Rejected: res.Rejected,
				Duplicates: count(res, CodeDuplicate)}
			for _, f := range res.Findings {
				o.Findings = append(o.Findings, csvrows.Finding(f))
			}
			return o
		},
		SchemaRejects: func(t *testing.T, in string) bool { return validRow(rowObjects(t, in)[0]) != nil },
	}.Run(t, ruleCases)
}

func TestEveryRuleCodeHasACase(t *testing.T) {
	csvrowstest.CodesHaveCases(t, "consent.go", "consent.", Codes, ruleCases)
}

func TestValuesAreTheCohortSelectorsValues(t *testing.T) {
	want := []string{string(cohort.ConsentAccepted), string(cohort.ConsentDeclined), string(cohort.ConsentUnknown)}
	if !slices.Equal(Values, want) {
		t.Errorf("Values %v, cohort has %v", Values, want)
	}
}

func TestTheSchemaListsTheColumnsAndValues(t *testing.T) {
	raw, err := schemas.Raw(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	for _, c := range Columns {
		if _, ok := s.Properties[c]; !ok {
			t.Errorf("the schema has no column %s", c)
		}
	}
	if len(s.Properties) != len(Columns) {
		t.Errorf("the schema has %d columns, the reader %d", len(s.Properties), len(Columns))
	}
	if !slices.Equal(s.Required, []string{"schoolYear", "consent"}) {
		t.Errorf("required %v", s.Required)
	}
	if !slices.Equal(s.Properties["consent"].Enum, Values) {
		t.Errorf("consent enum %v, Values %v", s.Properties["consent"].Enum, Values)
	}
}

// fixedText is message text that may contain '@' without repeating a value.
const fixedText = "studentSourcedId must be 1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -"

func FuzzRead(f *testing.F) {
	csvrowstest.Seed(f, ruleCases)
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Read(bytes.NewReader(b), "f.csv", today)
		if err != nil {
			t.Fatal(err)
		}
		var fs []csvrows.Finding
		for _, fd := range res.Findings {
			fs = append(fs, csvrows.Finding(fd))
		}
		csvrowstest.CheckFindings(t, fs, "f.csv", Codes, CodeTooLarge)
		if res.FileError() {
			if len(res.Records) != 0 {
				t.Fatalf("a rejected file yields %d records", len(res.Records))
			}
		} else if d := count(res, CodeDuplicate); res.Rows != len(res.Records)+res.Rejected+d || res.Rejected < 0 {
			t.Fatalf("rows %d != records %d + rejected %d + duplicates %d", res.Rows, len(res.Records), res.Rejected, d)
		}
		current := 2025 // the school year containing today
		keys := map[string]bool{}
		last := 1
		for _, r := range res.Records {
			if msg := invalid(r, current); msg != "" {
				t.Fatalf("an invalid record was accepted (%s): %+v", msg, r)
			}
			if keys[r.key()] {
				t.Fatalf("two records for %s", r.key())
			}
			keys[r.key()] = true
			if r.Line <= last {
				t.Fatalf("records out of file order: line %d after %d", r.Line, last)
			}
			last = r.Line
			j, _ := json.Marshal(r)
			if err := schemas.Validate(schemaName, j); err != nil {
				t.Fatalf("record %s: %v", j, err)
			}
		}
		// No finding repeats a value that looks like an email address.
		cr := csv.NewReader(bytes.NewReader(b))
		cr.FieldsPerRecord, cr.LazyQuotes = -1, true
		for {
			rec, err := cr.Read()
			if err != nil && rec == nil {
				break
			}
			for _, v := range rec {
				v = strings.TrimSpace(v)
				if len(v) < 3 || !strings.Contains(v, "@") || strings.Contains(fixedText, v) {
					continue
				}
				for _, fd := range res.Findings {
					if strings.Contains(fd.Message, v) || strings.Contains(fd.Column, v) {
						t.Fatalf("finding %+v repeats %q", fd, v)
					}
				}
			}
		}
	})
}

var (
	testFamilyRE = regexp.MustCompile(`^fam-[0-9a-f]{12}$`)
	testIDRE     = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)
)

// invalid checks a record against the rules, written apart from Read.
func invalid(r Record, current int) string {
	y := r.SchoolYear
	if len(y) != 9 || y[4] != '-' || strings.Trim(y[:4]+y[5:], "0123456789") != "" {
		return "year shape"
	}
	a, _ := strconv.Atoi(y[:4])
	b, _ := strconv.Atoi(y[5:])
	if b != a+1 || a < FirstYear || a > current+1 {
		return "year"
	}
	if (r.FamilyID == "") == (r.StudentID == "") {
		return "subject"
	}
	if r.FamilyID != "" && !testFamilyRE.MatchString(r.FamilyID) {
		return "family id"
	}
	if r.StudentID != "" && !testIDRE.MatchString(r.StudentID) {
		return "sourced id"
	}
	if !slices.Contains(Values, r.Consent) {
		return "consent"
	}
	if r.Date != "" {
		d, err := time.Parse(time.DateOnly, r.Date)
		if err != nil || d.After(today) {
			return "date"
		}
	}
	if r.Line < 2 {
		return "line"
	}
	return ""
}

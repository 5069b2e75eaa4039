package visits

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

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/csvrows/csvrowstest"
	"github.com/pthv/reach/schemas"
)

// The importer converts findings between the readers with a struct conversion.
var _ = consent.Finding(Finding{})

var today = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

const header = "visitId,familyId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\n"

// row is a valid data row for header; cases change one cell of it.
const row = "v-1,fam-aaaaaaaaaaaa,,sch-1,2025-10-01,1,tch-01;tch-02,home,45,completed\n"

const schemaName = "visit-csv.schema.json"

func read(t testing.TB, in string) *Result {
	t.Helper()
	res, err := Read(strings.NewReader(in), "v.csv", today)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// with returns header and row with the named column set to v.
func with(col, v string) string {
	cells := strings.Split(strings.TrimSuffix(row, "\n"), ",")
	cells[slices.Index(Columns, col)] = v
	return header + strings.Join(cells, ",") + "\n"
}

// rowObjects turns a CSV file into the row objects the column schema describes.
var rowObjects = csvrowstest.RowObjects

// rowOf renders a record as the CSV row object the column schema describes.
func rowOf(r Record) map[string]string {
	obj := map[string]string{
		"visitId":            r.ID,
		"schoolSourcedId":    r.School,
		"date":               r.Date,
		"visitNumber":        strconv.Itoa(r.Number),
		"educatorSourcedIds": strings.Join(r.Educators, ";"),
		"setting":            r.Setting,
		"durationMinutes":    strconv.Itoa(r.Minutes),
		"status":             r.Status,
	}
	if r.FamilyID != "" {
		obj["familyId"] = r.FamilyID
	} else {
		obj["studentSourcedId"] = r.StudentID
	}
	return obj
}

func validRow(obj map[string]string) error {
	b, _ := json.Marshal(obj)
	return schemas.Validate(schemaName, b)
}

func TestAValidFileReadsEveryRow(t *testing.T) {
	b, err := os.ReadFile("testdata/visits.csv")
	if err != nil {
		t.Fatal(err)
	}
	res := read(t, string(b))
	if len(res.Findings) != 0 || len(res.Records) != 5 || res.Rows != 5 || res.Rejected != 0 || res.FileError() {
		t.Fatalf("findings %+v records %d rows %d rejected %d", res.Findings, len(res.Records), res.Rows, res.Rejected)
	}
	want := Record{ID: "v-0001", FamilyID: "fam-0123456789ab", School: "sch-01", Date: "2025-09-10", Number: 1,
		Educators: []string{"tch-01", "tch-02"}, Setting: "home", Minutes: 45, Status: "completed", Line: 2}
	if got := res.Records[0]; !equal(got, want) {
		t.Errorf("first record %+v, want %+v", got, want)
	}
	if r := res.Records[1]; r.StudentID != "stu-1001" || r.FamilyID != "" || !slices.Equal(r.Educators, []string{"tch-01", "tch-03"}) || r.Setting != "neutral" {
		t.Errorf("a student's visit, educators trimmed and sorted: %+v", r)
	}
	if r := res.Records[2]; r.Number != 2 || len(r.Educators) != 3 {
		t.Errorf("a second visit by three educators: %+v", r)
	}
	if r := res.Records[3]; r.Status != "cancelled" || r.Minutes != 1 || r.SchoolYear() != "2024-2025" {
		t.Errorf("a cancelled visit on 30 June is in the year before: %+v %s", r, r.SchoolYear())
	}
	if r := res.Records[4]; r.Date != "2026-03-15" || r.Minutes != 600 || r.SchoolYear() != "2025-2026" {
		t.Errorf("a visit today, the longest: %+v", r)
	}
	// Every row of the file conforms to the column schema, and so does every record rendered
	// as a row.
	for i, obj := range rowObjects(t, string(b)) {
		if err := validRow(obj); err != nil {
			t.Errorf("row %d: %v", i+2, err)
		}
	}
	for _, r := range res.Records {
		if err := validRow(rowOf(r)); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
	}
	j, _ := json.Marshal(res.Records[0])
	if string(j) != `{"visitId":"v-0001","familyId":"fam-0123456789ab","schoolSourcedId":"sch-01","date":"2025-09-10","visitNumber":1,`+
		`"educatorSourcedIds":["tch-01","tch-02"],"setting":"home","durationMinutes":45,"status":"completed"}` {
		t.Errorf("JSON %s", j)
	}
}

func equal(a, b Record) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) && a.Line == b.Line
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
	if r := res.Records[1]; r.ID != "v2" || r.StudentID != "s2" || !slices.Equal(r.Educators, []string{"e1", "e2"}) || r.Line != 3 || r.Status != "cancelled" {
		t.Errorf("second record %+v", r)
	}
	for _, r := range res.Records {
		if err := validRow(rowOf(r)); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
	}
}

func TestAMessyFile(t *testing.T) {
	b, err := os.ReadFile("testdata/messy.csv")
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
		"visit.content_column@1:Conversation Notes",
		"visit.header_unknown@1:coordinator",
		"visit.pair@3:educatorSourcedIds",
		"visit.duplicate@4:",
		"visit.status@6:status",
		"visit.date_future@7:date",
		"visit.number@8:visitNumber",
		"visit.pair@8:educatorSourcedIds",
		"visit.duration@8:durationMinutes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	// The row of empty cells on line 5 is not a row.
	if res.Rows != 6 || res.Rejected != 4 || len(res.Records) != 1 {
		t.Fatalf("rows %d rejected %d records %+v", res.Rows, res.Rejected, res.Records)
	}
	if r := res.Records[0]; r.ID != "v-1" || r.Setting != "neutral" || r.Line != 4 || !slices.Equal(r.Educators, []string{"tch-01", "tch-03"}) {
		t.Errorf("the later row wins: %+v", r)
	}
	for _, f := range res.Findings {
		for _, v := range []string{"hope she", "nurse", "Rivera", "reading", "Completed", "2026-04-01"} {
			if strings.Contains(f.Message, v) || strings.Contains(f.Column, v) {
				t.Errorf("a finding repeats a row value: %+v", f)
			}
		}
		if f.Code == CodeDuplicate && (!strings.Contains(f.Message, "line 2") || !strings.Contains(f.Message, "line 4") || !strings.Contains(f.Message, "v-1")) {
			t.Errorf("the duplicate warning names the visit and both lines: %s", f.Message)
		}
		if f.Code == CodeContentColumn && (!strings.Contains(f.Message, "no conversation content") || !strings.Contains(f.Message, "ignored") || !strings.Contains(f.Message, "nothing in it was stored")) {
			t.Errorf("the content warning says nothing is stored: %s", f.Message)
		}
		if f.Code == CodePair && !strings.Contains(f.Message, "pairs") {
			t.Errorf("the pair error says why: %s", f.Message)
		}
	}
}

func TestNoRecordHoldsContent(t *testing.T) {
	b, _ := os.ReadFile("testdata/messy.csv")
	res := read(t, string(b))
	j, _ := json.Marshal(res.Records)
	for _, v := range []string{"hope", "reading", "Rivera", "Notes"} {
		if strings.Contains(string(j), v) {
			t.Errorf("a record holds content %q: %s", v, j)
		}
	}
	for _, name := range []string{"notes", "Comments", "visit_summary", "Content", "Hopes", "dreams", "conversation", "teacherNote"} {
		res := read(t, strings.TrimSuffix(header, "\n")+","+name+"\n"+strings.TrimSuffix(row, "\n")+",she wants to be a pilot\n")
		if count(res, CodeContentColumn) != 1 || count(res, CodeHeaderUnknown) != 0 || len(res.Records) != 1 {
			t.Errorf("column %s: findings %+v", name, res.Findings)
		}
	}
}

func TestTheLaterDuplicateKeepsFileOrder(t *testing.T) {
	res := read(t, header+
		"a,fam-aaaaaaaaaaaa,,s,2025-10-01,1,e1;e2,home,45,completed\n"+
		"b,fam-aaaaaaaaaaaa,,s,2025-10-01,1,e1;e2,home,45,completed\n"+
		"a,fam-aaaaaaaaaaaa,,s,2025-10-01,1,e1;e2,home,45,cancelled\n"+
		"a,fam-aaaaaaaaaaaa,,s,2025-11-01,2,e1;e2,home,45,completed\n"+
		"A,fam-aaaaaaaaaaaa,,s,2025-10-01,1,e1;e2,home,45,completed\n")
	var lines []int
	for _, r := range res.Records {
		lines = append(lines, r.Line)
	}
	// Ids are case-sensitive, as sourcedIds are.
	if !slices.Equal(lines, []int{3, 5, 6}) || res.Records[1].Number != 2 {
		t.Fatalf("records %+v", res.Records)
	}
	if n := count(res, CodeDuplicate); n != 2 || res.Rows != len(res.Records)+res.Rejected+n {
		t.Errorf("%d duplicate warnings, rows %d: %+v", n, res.Rows, res.Findings)
	}
}

func TestARepeatedEducatorCountsOnce(t *testing.T) {
	res := read(t, with("educatorSourcedIds", "e2 ; e1;e2"))
	if len(res.Records) != 1 || !slices.Equal(res.Records[0].Educators, []string{"e1", "e2"}) {
		t.Fatalf("records %+v findings %+v", res.Records, res.Findings)
	}
}

func TestAnIDThatLooksLikeAnEmailIsNeverRepeated(t *testing.T) {
	res := read(t, header+
		"jane.doe@example.org,,jane.doe@example.org,sch,2025-10-01,1,ann@example.org;bob@example.org,home,45,completed\n"+
		"jane.doe@example.org,,jane.doe@example.org,sch,2025-10-01,2,ann@example.org;bob@example.org,home,45,completed\n"+
		"x,fam-aaaaaaaaaaaa,jane.doe@example.org,sch,2025-10-01,1,ann@example.org;ann@example.org,home,45,completed\n"+
		"y,,jane doe@example.org,jane@example,2025-10-01,1,ann@example.org;bob doe@example.org,home,45,completed\n")
	if count(res, CodeDuplicate) != 1 || count(res, CodeSubject) != 1 || count(res, CodePair) != 1 || count(res, CodeSourcedID) != 2 {
		t.Fatalf("findings %+v", res.Findings)
	}
	for _, f := range res.Findings {
		for _, v := range []string{"jane", "ann", "bob", "example"} {
			if strings.Contains(f.Message, v) || strings.Contains(f.Column, v) {
				t.Errorf("a finding repeats an email-like id: %+v", f)
			}
		}
	}
}

func TestSchoolYear(t *testing.T) {
	for d, want := range map[string]string{"2025-07-01": "2025-2026", "2025-06-30": "2024-2025", "2026-01-01": "2025-2026", "x": ""} {
		if got := (Record{Date: d}).SchoolYear(); got != want {
			t.Errorf("SchoolYear(%s) = %q, want %q", d, got, want)
		}
	}
}

func count(res *Result, code string) int { return csvrowstest.Count(res.Findings, code) }

type ruleCase = csvrowstest.RuleCase

// ruleCases has at least one case for every rule code (TestEveryRuleCodeHasACase).
var ruleCases = []ruleCase{
	{Name: "an empty file", In: "", Code: CodeNoHeader, Line: 1, FileReject: true},
	{Name: "a missing educators column", In: "visitId,familyId,schoolSourcedId,date,visitNumber,setting,durationMinutes,status\nv,fam-aaaaaaaaaaaa,s,2025-10-01,1,home,45,completed\n",
		Code: CodeHeaderMissing, Col: "educatorSourcedIds", Line: 1, FileReject: true},
	{Name: "a missing visitId column", In: "familyId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\nfam-aaaaaaaaaaaa,s,2025-10-01,1,a;b,home,45,completed\n",
		Code: CodeHeaderMissing, Col: "visitId", Line: 1, FileReject: true},
	{Name: "no subject column", In: "visitId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\nv,s,2025-10-01,1,a;b,home,45,completed\n",
		Code: CodeHeaderMissing, Col: "familyId", Line: 1, FileReject: true},
	{Name: "no header row", In: "v-1,fam-aaaaaaaaaaaa,jane@example.org,sch-1,2025-10-01,1,tch-01;tch-02,home,45,completed\n", Code: CodeHeaderMissing, Line: 1, FileReject: true, Leak: "fam-aaaa"},
	{Name: "a repeated column", In: strings.TrimSuffix(header, "\n") + ",date\n" + strings.TrimSuffix(row, "\n") + ",2025-10-01\n", Code: CodeHeaderDuplicate, Col: "date", Line: 1, FileReject: true},
	{Name: "an unknown column", In: strings.TrimSuffix(header, "\n") + ",coordinator\n" + strings.TrimSuffix(row, "\n") + ",Ms Rivera\n", Code: CodeHeaderUnknown, Col: "coordinator", Line: 1, Leak: "Rivera"},
	{Name: "an email-like column name", In: strings.TrimSuffix(header, "\n") + ",jane@example.org\n" + strings.TrimSuffix(row, "\n") + ",x\n", Code: CodeHeaderUnknown, Line: 1, Leak: "jane"},
	{Name: "a nameless column", In: strings.TrimSuffix(header, "\n") + ",\n" + strings.TrimSuffix(row, "\n") + ",\n", Code: CodeHeaderUnknown, Line: 1},
	{Name: "a notes column", In: strings.TrimSuffix(header, "\n") + ",notes\n" + strings.TrimSuffix(row, "\n") + ",wants to be a vet\n", Code: CodeContentColumn, Col: "notes", Line: 1, Leak: "vet"},
	{Name: "a hopes and dreams column", In: strings.TrimSuffix(header, "\n") + ",Hopes and Dreams\n" + strings.TrimSuffix(row, "\n") + ",college\n", Code: CodeContentColumn, Col: "Hopes and Dreams", Line: 1, Leak: "college"},
	{Name: "an email-like content column", In: strings.TrimSuffix(header, "\n") + ",notes@example.org\n" + strings.TrimSuffix(row, "\n") + ",x\n", Code: CodeContentColumn, Line: 1, Leak: "notes@"},
	{Name: "a file over the limit", Big: true, Code: CodeTooLarge, Line: 0, FileReject: true},
	{Name: "a UTF-16 file", In: "\xff\xfev\x00i\x00s\x00\n\x00", Code: CodeEncoding, Line: 1, FileReject: true},
	{Name: "not UTF-8", In: with("studentSourcedId", "Jos\xe9"), Code: CodeEncoding, Col: "studentSourcedId", Line: 2, Leak: "Jos"},
	{Name: "a bad quote", In: header + "v-1,\"fam-aaaaaaaaaaaa,,sch-1,2025-10-01,1,tch-01;tch-02,home,45,completed\n", Code: CodeCSV, Line: 2},
	{Name: "a bad quote in the header", In: "visitId,\"familyId,date\n", Code: CodeCSV, Line: 1, FileReject: true},
	{Name: "a short row", In: header + "v-1,fam-aaaaaaaaaaaa,,sch-1,2025-10-01,1,tch-01;tch-02,home,45\n", Code: CodeFieldCount, Line: 2},
	{Name: "a long visitId", In: with("visitId", strings.Repeat("v", 256)), Code: CodeTooLong, Col: "visitId", Line: 2, Leak: "vvv", Schema: true},
	{Name: "a long educator list", In: with("educatorSourcedIds", strings.Repeat("tch-0001;", 500)+"tch-0002"), Code: CodeTooLong, Col: "educatorSourcedIds", Line: 2, Leak: "tch-0001", Schema: true},
	{Name: "a blank visitId", In: with("visitId", ""), Code: CodeRequired, Col: "visitId", Line: 2, Schema: true},
	{Name: "a blank school", In: with("schoolSourcedId", " "), Code: CodeRequired, Col: "schoolSourcedId", Line: 2, Schema: true},
	{Name: "a blank date", In: with("date", ""), Code: CodeRequired, Col: "date", Line: 2, Schema: true},
	{Name: "a blank visit number", In: with("visitNumber", ""), Code: CodeRequired, Col: "visitNumber", Line: 2, Schema: true},
	{Name: "no educators", In: with("educatorSourcedIds", ""), Code: CodeRequired, Col: "educatorSourcedIds", Line: 2, Schema: true},
	{Name: "a blank setting", In: with("setting", ""), Code: CodeRequired, Col: "setting", Line: 2, Schema: true},
	{Name: "a blank duration", In: with("durationMinutes", ""), Code: CodeRequired, Col: "durationMinutes", Line: 2, Schema: true},
	{Name: "a blank status", In: with("status", ""), Code: CodeRequired, Col: "status", Line: 2, Schema: true},
	{Name: "a visitId with a space", In: with("visitId", "visit 1"), Code: CodeVisitID, Col: "visitId", Line: 2, Leak: "visit 1", Schema: true},
	{Name: "a visitId with a hash", In: with("visitId", "v#1"), Code: CodeVisitID, Col: "visitId", Line: 2, Leak: "v#1", Schema: true},
	{Name: "no subject", In: with("familyId", ""), Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "two subjects", In: with("studentSourcedId", "stu-1"), Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "no subject in a student-only file", In: "visitId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\nv,,s,2025-10-01,1,a;b,home,45,completed\n",
		Code: CodeSubject, Col: "familyId", Line: 2, Schema: true},
	{Name: "an uppercase family id", In: with("familyId", "FAM-AAAAAAAAAAAA"), Code: CodeFamilyID, Col: "familyId", Line: 2, Leak: "FAM-", Schema: true},
	{Name: "a short family id", In: with("familyId", "fam-abc"), Code: CodeFamilyID, Col: "familyId", Line: 2, Leak: "fam-abc", Schema: true},
	{Name: "a student's name", In: "visitId,studentSourcedId,schoolSourcedId,date,visitNumber,educatorSourcedIds,setting,durationMinutes,status\nv,Jose Garcia,s,2025-10-01,1,a;b,home,45,completed\n",
		Code: CodeSourcedID, Col: "studentSourcedId", Line: 2, Leak: "Jose", Schema: true},
	{Name: "a school's name", In: with("schoolSourcedId", "Lincoln Elementary"), Code: CodeSourcedID, Col: "schoolSourcedId", Line: 2, Leak: "Lincoln", Schema: true},
	{Name: "an educator's name", In: with("educatorSourcedIds", "Ms Rivera;tch-02"), Code: CodeSourcedID, Col: "educatorSourcedIds", Line: 2, Leak: "Rivera", Schema: true},
	{Name: "educators separated by commas", In: with("educatorSourcedIds", "\"tch-01, tch-02\""), Code: CodeSourcedID, Col: "educatorSourcedIds", Line: 2, Leak: "tch-01", Schema: true},
	{Name: "an empty educator entry", In: with("educatorSourcedIds", "tch-01;;tch-02"), Code: CodeSourcedID, Col: "educatorSourcedIds", Line: 2, Schema: true},
	{Name: "a trailing semicolon", In: with("educatorSourcedIds", "tch-01;tch-02;"), Code: CodeSourcedID, Col: "educatorSourcedIds", Line: 2, Schema: true},
	{Name: "a long educator id", In: with("educatorSourcedIds", "tch-01;"+strings.Repeat("t", 256)), Code: CodeSourcedID, Col: "educatorSourcedIds", Line: 2, Leak: "ttt", Schema: true},
	{Name: "a day-first date", In: with("date", "01/10/2025"), Code: CodeDate, Col: "date", Line: 2, Leak: "01/10", Schema: true},
	{Name: "month 13", In: with("date", "2025-13-01"), Code: CodeDate, Col: "date", Line: 2, Leak: "2025-13", Schema: true},
	{Name: "a date that does not exist", In: with("date", "2025-02-30"), Code: CodeDate, Col: "date", Line: 2, Leak: "02-30"},
	{Name: "a date before 2000", In: with("date", "1999-09-01"), Code: CodeDate, Col: "date", Line: 2, Leak: "1999"},
	{Name: "a future date", In: with("date", "2026-03-16"), Code: CodeDateFuture, Col: "date", Line: 2, Leak: "2026-03-16"},
	{Name: "a third visit", In: with("visitNumber", "3"), Code: CodeNumber, Col: "visitNumber", Line: 2, Schema: true},
	{Name: "a zero-padded visit number", In: with("visitNumber", "01"), Code: CodeNumber, Col: "visitNumber", Line: 2, Schema: true},
	{Name: "a visit number in words", In: with("visitNumber", "one"), Code: CodeNumber, Col: "visitNumber", Line: 2, Leak: "one", Schema: true},
	{Name: "one educator", In: with("educatorSourcedIds", "tch-01"), Code: CodePair, Col: "educatorSourcedIds", Line: 2, Leak: "tch-01", Schema: true},
	{Name: "the same educator twice", In: with("educatorSourcedIds", "tch-01;tch-01"), Code: CodePair, Col: "educatorSourcedIds", Line: 2, Leak: "tch-01"},
	{Name: "the same educator twice with spaces", In: with("educatorSourcedIds", " tch-01 ; tch-01 "), Code: CodePair, Col: "educatorSourcedIds", Line: 2},
	{Name: "a capitalised setting", In: with("setting", "Home"), Code: CodeSetting, Col: "setting", Line: 2, Leak: "Home", Schema: true},
	{Name: "a school setting", In: with("setting", "school"), Code: CodeSetting, Col: "setting", Line: 2, Schema: true},
	{Name: "no minutes", In: with("durationMinutes", "0"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Schema: true},
	{Name: "too many minutes", In: with("durationMinutes", "601"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Leak: "601", Schema: true},
	{Name: "a fraction of minutes", In: with("durationMinutes", "1.5"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Leak: "1.5", Schema: true},
	{Name: "a zero-padded duration", In: with("durationMinutes", "045"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Leak: "045", Schema: true},
	{Name: "a negative duration", In: with("durationMinutes", "-5"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Schema: true},
	{Name: "a duration in words", In: with("durationMinutes", "ninety"), Code: CodeDuration, Col: "durationMinutes", Line: 2, Leak: "ninety", Schema: true},
	{Name: "a capitalised status", In: with("status", "Completed"), Code: CodeStatus, Col: "status", Line: 2, Leak: "Completed", Schema: true},
	{Name: "a one-l cancelled", In: with("status", "canceled"), Code: CodeStatus, Col: "status", Line: 2, Leak: "canceled", Schema: true},
	{Name: "a no-show", In: with("status", "no-show"), Code: CodeStatus, Col: "status", Line: 2, Leak: "no-show", Schema: true},
	{Name: "the same visit twice", In: header + row + row, Code: CodeDuplicate, Line: 3},
	{Name: "a header only", In: header, Code: CodeNoRows, Line: 1},
}

// bigReader yields a valid visit file larger than MaxBytes without holding it in memory.
func bigReader() io.Reader { return csvrowstest.Big(header, row, MaxBytes) }

func TestTheBaseRowIsValid(t *testing.T) {
	res := read(t, header+row)
	if len(res.Findings) != 0 || len(res.Records) != 1 {
		t.Fatalf("findings %+v", res.Findings)
	}
	if err := validRow(rowObjects(t, header+row)[0]); err != nil {
		t.Fatal(err)
	}
}

func TestEveryRuleRejectsWhatItShould(t *testing.T) {
	csvrowstest.Rules{
		File:  "v.csv",
		Codes: Codes,
		BigIn: bigReader,
		Read: func(t *testing.T, in io.Reader) csvrowstest.Outcome {
			res, err := Read(in, "v.csv", today)
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
		Extra: func(t *testing.T, tc ruleCase, o csvrowstest.Outcome) {
			if tc.Line >= 2 && tc.Code != CodeDuplicate && (o.Records != 0 || o.Rejected != 1) {
				t.Errorf("the row is not rejected: %d records, %d rejected", o.Records, o.Rejected)
			}
		},
	}.Run(t, ruleCases)
}

func TestEveryRuleCodeHasACase(t *testing.T) {
	csvrowstest.CodesHaveCases(t, "visits.go", "visit.", Codes, ruleCases)
}

func TestTheSchemaListsTheColumnsAndValues(t *testing.T) {
	raw, err := schemas.Raw(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum      []string `json:"enum"`
			MaxLength int      `json:"maxLength"`
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
	var required []string
	for _, c := range Columns {
		if c != "familyId" && c != "studentSourcedId" {
			required = append(required, c)
		}
	}
	if !slices.Equal(s.Required, required) {
		t.Errorf("required %v, want %v", s.Required, required)
	}
	if !slices.Equal(s.Properties["setting"].Enum, Settings) {
		t.Errorf("setting enum %v, Settings %v", s.Properties["setting"].Enum, Settings)
	}
	if !slices.Equal(s.Properties["status"].Enum, Statuses) {
		t.Errorf("status enum %v, Statuses %v", s.Properties["status"].Enum, Statuses)
	}
	if !slices.Equal(s.Properties["visitNumber"].Enum, []string{"1", "2"}) {
		t.Errorf("visitNumber enum %v", s.Properties["visitNumber"].Enum)
	}
	if s.Properties["educatorSourcedIds"].MaxLength != MaxListField {
		t.Errorf("educatorSourcedIds maxLength %d, MaxListField %d", s.Properties["educatorSourcedIds"].MaxLength, MaxListField)
	}
	// Every duration the reader accepts the schema accepts, and no other.
	for n := -1; n <= 1000; n++ {
		v := strconv.Itoa(n)
		if readerOK, schemaOK := len(read(t, with("durationMinutes", v)).Records) == 1, validRow(rowObjects(t, with("durationMinutes", v))[0]) == nil; readerOK != schemaOK {
			t.Errorf("duration %s: reader %v, schema %v", v, readerOK, schemaOK)
		}
	}
}

// fixedTexts are message texts that may contain '@' without repeating a value.
var fixedTexts = []string{idText}

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
		for _, fd := range res.Findings {
			if !utf8Valid(fd.Message) || !utf8Valid(fd.Column) {
				t.Fatalf("a finding that is not UTF-8: %+v", fd)
			}
		}
		if res.FileError() {
			if len(res.Records) != 0 {
				t.Fatalf("a rejected file yields %d records", len(res.Records))
			}
		} else if d := count(res, CodeDuplicate); res.Rows != len(res.Records)+res.Rejected+d || res.Rejected < 0 {
			t.Fatalf("rows %d != records %d + rejected %d + duplicates %d", res.Rows, len(res.Records), res.Rejected, d)
		}
		ids := map[string]bool{}
		last := 1
		for _, r := range res.Records {
			if msg := invalid(r); msg != "" {
				t.Fatalf("an invalid record was accepted (%s): %+v", msg, r)
			}
			if ids[r.ID] {
				t.Fatalf("two records for visit %s", r.ID)
			}
			ids[r.ID] = true
			if r.Line <= last {
				t.Fatalf("records out of file order: line %d after %d", r.Line, last)
			}
			last = r.Line
			if err := validRow(rowOf(r)); err != nil {
				t.Fatalf("record %+v: %v", r, err)
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
			for _, cell := range rec {
				for _, v := range append(strings.Split(cell, ";"), cell) {
					v = strings.TrimSpace(v)
					if len(v) < 3 || !strings.Contains(v, "@") || slices.ContainsFunc(fixedTexts, func(s string) bool { return strings.Contains(s, v) }) {
						continue
					}
					for _, fd := range res.Findings {
						if strings.Contains(fd.Message, v) || strings.Contains(fd.Column, v) {
							t.Fatalf("finding %+v repeats %q", fd, v)
						}
					}
				}
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

var (
	testFamilyRE = regexp.MustCompile(`^fam-[0-9a-f]{12}$`)
	testIDRE     = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)
)

// invalid checks a record against the rules, written apart from Read.
func invalid(r Record) string {
	if !testIDRE.MatchString(r.ID) {
		return "visit id"
	}
	if (r.FamilyID == "") == (r.StudentID == "") {
		return "subject"
	}
	if r.FamilyID != "" && !testFamilyRE.MatchString(r.FamilyID) {
		return "family id"
	}
	if r.StudentID != "" && !testIDRE.MatchString(r.StudentID) {
		return "student id"
	}
	if !testIDRE.MatchString(r.School) {
		return "school"
	}
	d, err := time.Parse(time.DateOnly, r.Date)
	if err != nil || d.After(today) || d.Before(time.Date(FirstYear, time.July, 1, 0, 0, 0, 0, time.UTC)) || d.Format(time.DateOnly) != r.Date {
		return "date"
	}
	if r.Number != 1 && r.Number != 2 {
		return "number"
	}
	if len(r.Educators) < 2 {
		return "pair"
	}
	for i, e := range r.Educators {
		if !testIDRE.MatchString(e) {
			return "educator id"
		}
		if i > 0 && r.Educators[i-1] >= e {
			return "educators not distinct and sorted"
		}
	}
	if r.Setting != "home" && r.Setting != "neutral" {
		return "setting"
	}
	if r.Minutes < 1 || r.Minutes > 600 {
		return "minutes"
	}
	if r.Status != "completed" && r.Status != "cancelled" {
		return "status"
	}
	if r.Line < 2 {
		return "line"
	}
	return ""
}

package training

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/csvrows/csvrowstest"
	"github.com/pthv/reach/schemas"
)

var today = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

const header = "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n"

func TestAValidFileReadsEveryRow(t *testing.T) {
	in := header +
		"tch-001,2025-08-20,introductory,6,PTHV National,true\n" +
		"tch-002,2026-01-10,follow-up,2.5,Sacramento City USD,\n" +
		"tch-001,2025-06-30,refresher,1,PTHV National,false\n"
	res, err := Read(strings.NewReader(in), "t.csv", today)
	if err != nil || len(res.Findings) != 0 || len(res.Records) != 3 {
		t.Fatalf("err %v findings %+v records %d", err, res.Findings, len(res.Records))
	}
	r := res.Records[0]
	if r.SchoolYear != "2025-2026" || r.OptIn == nil || !*r.OptIn || r.Hours != 6 {
		t.Errorf("first record %+v", r)
	}
	if res.Records[2].SchoolYear != "2024-2025" {
		t.Errorf("30 June belongs to the school year that ends then: %s", res.Records[2].SchoolYear)
	}
	if res.Records[1].OptIn != nil {
		t.Error("a blank optIn changes nothing")
	}
	// Every row of the valid file conforms to the column schema.
	rows, _ := csv.NewReader(strings.NewReader(in)).ReadAll()
	for _, row := range rows[1:] {
		obj := map[string]string{}
		for i, c := range rows[0] {
			obj[c] = row[i]
		}
		b, _ := json.Marshal(obj)
		if err := schemas.Validate("training-csv.schema.json", b); err != nil {
			t.Errorf("row %v: %v", row, err)
		}
	}
}

func TestEveryRuleRejectsWhatItShould(t *testing.T) {
	cases := []struct {
		name, in   string
		code, col  string
		line       int
		fileReject bool
	}{
		{"an empty file", "", "training.no_header", "", 1, true},
		{"a missing required column", "educatorSourcedId,date,hours,trainerOrganization\nt1,2025-09-01,2,X\n", "training.header_missing", "trainingType", 1, true},
		{"a repeated column", "educatorSourcedId,date,trainingType,hours,trainerOrganization,date\nt1,2025-09-01,introductory,2,X,2025-09-01\n", "training.header_duplicate", "date", 1, true},
		{"an unknown column", "educatorSourcedId,date,trainingType,hours,trainerOrganization,notes\nt1,2025-09-01,introductory,2,X,hi\n", "training.header_unknown", "notes", 1, false},
		{"a blank educator", header + ",2025-09-01,introductory,2,X,\n", "training.required", "educatorSourcedId", 2, false},
		{"a bad sourcedId", header + "t 1,2025-09-01,introductory,2,X,\n", "training.sourced_id", "educatorSourcedId", 2, false},
		{"a day-first date", header + "t1,01/09/2025,introductory,2,X,\n", "training.date", "date", 2, false},
		{"a future date", header + "t1,2026-03-16,introductory,2,X,\n", "training.date_future", "date", 2, false},
		{"an unknown type", header + "t1,2025-09-01,webinar,2,X,\n", "training.type", "trainingType", 2, false},
		{"zero hours", header + "t1,2025-09-01,introductory,0,X,\n", "training.hours", "hours", 2, false},
		{"too many hours", header + "t1,2025-09-01,introductory,41,X,\n", "training.hours", "hours", 2, false},
		{"a yes opt-in", header + "t1,2025-09-01,introductory,2,X,yes\n", "training.opt_in", "optIn", 2, false},
		{"a long trainer", header + "t1,2025-09-01,introductory,2," + strings.Repeat("x", 201) + ",\n", "training.too_long", "trainerOrganization", 2, false},
		{"a long ext: type", header + "t1,2025-09-01,ext:" + strings.Repeat("x", MaxType-3) + ",2,X,\n", "training.too_long", "trainingType", 2, false},
		{"not UTF-8", header + "t1,2025-09-01,introductory,2,Caf\xe9,\n", "training.encoding", "trainerOrganization", 2, false},
		{"a short row", header + "t1,2025-09-01,introductory\n", "training.field_count", "", 2, false},
		{"a bad quote", header + "t1,2025-09-01,\"introductory,2,X,\n", "training.csv", "", 2, false},
		{"the same training twice", header + "t1,2025-09-01,introductory,2,X,\nt1,2025-09-01,introductory,3,X,\n", "training.duplicate", "", 3, false},
		{"a header only", header, "training.no_rows", "", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(strings.NewReader(tc.in), "t.csv", today)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range res.Findings {
				if f.Code == tc.code && f.Column == tc.col && f.Line == tc.line && f.File == "t.csv" {
					found = true
				}
				if strings.Contains(f.Message, "Caf") || strings.Contains(f.Message, "webinar") {
					t.Errorf("a finding repeats a row value: %s", f.Message)
				}
			}
			if !found {
				t.Errorf("no %s at line %d column %q: %+v", tc.code, tc.line, tc.col, res.Findings)
			}
			if res.FileError() != tc.fileReject {
				t.Errorf("FileError() = %v", res.FileError())
			}
			if res.Rejected+len(res.Records) != res.Rows {
				t.Errorf("rejected %d + records %d != rows %d", res.Rejected, len(res.Records), res.Rows)
			}
		})
	}
}

func TestATypeAtItsCapIsKept(t *testing.T) {
	res, err := Read(strings.NewReader(header+"t1,2025-09-01,ext:"+strings.Repeat("x", MaxType-4)+",2,X,\n"), "t.csv", today)
	if err != nil || len(res.Findings) != 0 || len(res.Records) != 1 {
		t.Fatalf("err %v findings %+v", err, res.Findings)
	}
}

func TestAFileOverTheLimitIsRejectedWhole(t *testing.T) {
	row := "t1,2025-09-01,introductory,2," + strings.Repeat("P", MaxTrainer) + ",\n" // long rows: fewer to check
	big := csvrowstest.Big(header, row, MaxBytes)
	res, err := Read(big, "t.csv", today)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Code != CodeTooLarge || !res.FileError() || len(res.Records) != 0 {
		t.Fatalf("findings %+v, %d records", res.Findings, len(res.Records))
	}
	res, err = Read(csvrowstest.Big(header, row, MaxBytes-len(header)-len(row)), "t.csv", today)
	if err != nil || res.FileError() {
		t.Fatalf("a file just under the limit: %v %+v", err, res.Findings[:1])
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(header + "tch-001,2025-08-20,introductory,6,PTHV National,true\n"))
	f.Add([]byte("\ufeff" + header + "t1,2025-09-01,\"x\"\"y\",2,X,\n\n"))
	f.Add([]byte("a,b\n\"open\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Read(strings.NewReader(string(b)), "f.csv", today)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rejected+len(res.Records) != res.Rows {
			t.Fatalf("rejected %d + records %d != rows %d", res.Rejected, len(res.Records), res.Rows)
		}
		for _, r := range res.Records {
			if r.Hours <= 0 || r.Hours > MaxHours || r.SchoolYear == "" || !idRE.MatchString(r.Educator) {
				t.Fatalf("an invalid record was accepted: %+v", r)
			}
		}
	})
}

package csv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/roster"
)

// capCase is one kept column filled to its cap and one byte past it.
type capCase struct {
	file string
	line int
	col  string
	kind roster.Kind
	id   string
	fill func(n int) string // a valid value of n bytes
}

func text(n int) string { return strings.Repeat("<", n) }
func ext(n int) string  { return "ext:" + strings.Repeat("x", n-4) }

// list is a list value of n bytes: first and then empty items (which the reader drops), quoted.
func list(first string) func(int) string {
	return func(n int) string { return `"` + first + strings.Repeat(",", n-len(first)) + `"` }
}

var capCases = []capCase{
	{"orgs.csv", 3, "name", roster.KindOrg, "sch-1", text},
	{"orgs.csv", 3, "identifier", roster.KindOrg, "sch-1", text},
	{"orgs.csv", 3, "type", roster.KindOrg, "sch-1", ext},
	{"academicSessions.csv", 3, "title", roster.KindAcademicSession, "term-1", text},
	{"courses.csv", 2, "title", roster.KindCourse, "crs-1", text},
	{"courses.csv", 2, "courseCode", roster.KindCourse, "crs-1", text},
	{"courses.csv", 2, "grades", roster.KindCourse, "crs-1", list("KG")},
	{"classes.csv", 2, "title", roster.KindClass, "cls-1", text},
	{"classes.csv", 2, "classCode", roster.KindClass, "cls-1", text},
	{"classes.csv", 2, "classType", roster.KindClass, "cls-1", ext},
	{"classes.csv", 2, "grades", roster.KindClass, "cls-1", list("KG")},
	{"classes.csv", 2, "termSourcedIds", roster.KindClass, "cls-1", list("term-1")},
	{"users.csv", 2, "givenName", roster.KindUser, "stu-1", text},
	{"users.csv", 2, "familyName", roster.KindUser, "stu-1", text},
	{"users.csv", 2, "identifier", roster.KindUser, "stu-1", text},
	{"users.csv", 2, "grades", roster.KindUser, "stu-1", list("KG")},
	{"users.csv", 2, "agentSourcedIds", roster.KindUser, "stu-1", list("gdn-1")},
	{"users.csv", 3, "email", roster.KindUser, "gdn-1", text},
	{"users.csv", 3, "phone", roster.KindUser, "gdn-1", text},
	{"users.csv", 4, "sms", roster.KindUser, "tch-1", text},
	{"roles.csv", 2, "role", roster.KindRole, "rol-1", ext},
	{"enrollments.csv", 2, "role", roster.KindEnrollment, "enr-1", ext},
}

// TestAKeptValueOverItsCapRejectsTheRow: every kept column takes a value of its cap and
// rejects one a byte longer with value.too_long (file, line, column; no value in the
// message), before its record is built: the sink never sees the record.
func TestAKeptValueOverItsCapRejectsTheRow(t *testing.T) {
	for _, tc := range capCases {
		limit := ValueCap(tc.col)
		if limit == 0 {
			t.Fatalf("%s has no cap", tc.col)
		}
		t.Run(fmt.Sprintf("%s %s at %d", tc.file, tc.col, limit), func(t *testing.T) {
			rep, rec := readZip(t, zipOf(t, validPackage().set(tc.file, tc.line, tc.col, tc.fill(limit))), Options{})
			if n := rep.Count("", CodeValueTooLong); n != 0 || rec.find(tc.kind, tc.id) == nil {
				t.Fatalf("a value at its cap is refused (%d findings):\n%s", n, dump(rep))
			}
			rep, rec = readZip(t, zipOf(t, validPackage().set(tc.file, tc.line, tc.col, tc.fill(limit+1))), Options{})
			var got *Finding
			for i, f := range rep.Findings {
				if f.Code == CodeValueTooLong {
					got = &rep.Findings[i]
				}
			}
			if got == nil || got.File != tc.file || got.Line != tc.line || got.Column != tc.col || got.Severity != SeverityError {
				t.Fatalf("want value.too_long at %s:%d [%s]:\n%s", tc.file, tc.line, tc.col, dump(rep))
			}
			if strings.Contains(got.Message, "<<") || strings.Contains(got.Message, "xxx") || strings.Contains(got.Message, ",,") {
				t.Errorf("the finding echoes the value: %s", got.Message)
			}
			if r := rec.find(tc.kind, tc.id); r != nil {
				t.Errorf("the record of a row over a cap was built and passed on: %+v", r)
			}
		})
	}
}

// TestAnUnkeptColumnKeepsTheFieldLimit: a column that is not kept takes up to MaxFieldBytes.
func TestAnUnkeptColumnKeepsTheFieldLimit(t *testing.T) {
	for _, c := range []struct{ file, col string }{{"classes.csv", "location"}, {"users.csv", "username"}, {"users.csv", "password"}, {"courses.csv", "subjects"}} {
		if ValueCap(c.col) != 0 {
			t.Errorf("%s is capped", c.col)
		}
		rep, _ := readZip(t, zipOf(t, validPackage().set(c.file, 2, c.col, text(MaxFieldBytes))), Options{})
		if rep.Errors != 0 {
			t.Errorf("%s of %d bytes:\n%s", c.col, MaxFieldBytes, dump(rep))
		}
	}
}

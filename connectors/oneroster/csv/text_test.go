package csv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestTheTextReportListsCausesBeforeConsequences(t *testing.T) {
	// The guardian (line 3) names a student who is not there: rejected, and with it the
	// student on line 2 who names that guardian. The student's finding is the consequence.
	f := validPackage().set("users.csv", 3, "agentSourcedIds", "stu-404")
	rep, _ := readZip(t, zipOf(t, f), Options{})
	var out bytes.Buffer
	if err := rep.WriteText(&out, 10); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	cause, effect := strings.Index(text, "error ref.dangling"), strings.Index(text, "error ref.rejected")
	if cause < 0 || effect < 0 || effect < cause {
		t.Fatalf("ref.rejected (at %d) must come after its cause ref.dangling (at %d):\n%s", effect, cause, text)
	}
	if !strings.Contains(text, "1 error,") && !strings.Contains(text, "errors,") {
		t.Errorf("no error count:\n%s", text)
	}
}

func TestTheVerdictSaysPlainlyWhenMostOfAKindWouldBeDropped(t *testing.T) {
	f := validPackage()
	for i := 0; i < 30; i++ {
		f.appendRow("enrollments.csv", fmt.Sprintf("enr-x%d,,,cls-404,sch-1,stu-1,student,false,,", i))
	}
	rep, _ := readZip(t, zipOf(t, f), Options{})
	var out bytes.Buffer
	rep.WriteText(&out, 3)
	first := strings.SplitN(out.String(), "\n", 3)[1]
	if strings.Contains(first, "IMPORTABLE WITH ERRORS") || !strings.Contains(first, "enrollments.csv") || !strings.Contains(first, "would be rejected") {
		t.Fatalf("verdict: %s", first)
	}

	one := validPackage().set("enrollments.csv", 2, "classSourcedId", "cls-404")
	for i := 0; i < 30; i++ {
		one.appendRow("enrollments.csv", fmt.Sprintf("enr-ok%d,,,cls-1,sch-1,stu-1,student,false,,", i))
	}
	rep, _ = readZip(t, zipOf(t, one), Options{})
	if v := rep.Verdict(); !strings.HasPrefix(v, "IMPORTABLE WITH ERRORS") {
		t.Fatalf("a few rejected rows: %s", v)
	}
}

func TestCountsAreSingularForOne(t *testing.T) {
	rep, _ := readZip(t, zipOf(t, validPackage().set("enrollments.csv", 2, "classSourcedId", "cls-404")), Options{})
	var out bytes.Buffer
	rep.WriteText(&out, 3)
	if strings.Contains(out.String(), "1 errors") || !strings.Contains(out.String(), "1 error") {
		t.Fatalf("%s", out.String())
	}
}

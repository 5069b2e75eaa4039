package csv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestAZipOfManyEntriesIsRefusedWithoutReadingItsDirectory(t *testing.T) {
	// 100,000 empty entries: Go's zip reader would hold every one of them.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 100000 {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pkg := OpenZip(bytes.NewReader(b), int64(len(b)), "many.zip", Limits{})
	runtime.ReadMemStats(&after)
	if len(pkg.findings) != 1 || pkg.findings[0].Code != CodePackageTooManyEntries {
		t.Fatalf("findings %+v", pkg.findings)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("opening the zip allocated %d bytes; the entry count is read from its last 64 KiB", alloc)
	}
}

func TestEveryRuleIsCappedAndTheReportIsBounded(t *testing.T) {
	f := validPackage()
	// users.csv with 30,000 rows that each break several rules.
	var users strings.Builder
	lines := strings.SplitAfter(f["users.csv"], "\n")
	users.WriteString(lines[0])
	for i := range 30000 {
		row := strings.Replace(lines[1], lines[1][:strings.Index(lines[1], ",")], fmt.Sprintf("bad id %d", i), 1)
		users.WriteString(strings.Replace(row, "true", "maybe", 1))
	}
	f["users.csv"] = users.String()
	for i := range 900 { // and 900 files that are not OneRoster
		f[fmt.Sprintf("notes-%d.csv", i)] = "x\n"
	}
	rep, err := Read(context.Background(), OpenZip(bytes.NewReader(zipOf(t, f)), int64(len(zipOf(t, f))), "x.zip", Limits{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[Code]int{}
	total := 0
	for _, c := range rep.Counts {
		total += c.Count
	}
	for _, fd := range rep.Findings {
		byCode[fd.Code]++
	}
	for code, n := range byCode {
		if code != CodeTooManyFindings && n > 1000 {
			t.Errorf("%s: %d findings listed, more than the cap of 1000", code, n)
		}
	}
	if total < 30000 || len(rep.Findings) > MaxListedFindings+len(rep.Counts)+len(byCode) {
		t.Errorf("%d findings counted, %d listed", total, len(rep.Findings))
	}
	b, _ := json.Marshal(rep)
	if bound := MaxListedFindings*1024 + len(rep.Counts)*256; len(b) > bound {
		t.Errorf("the report is %d bytes, over its bound of %d", len(b), bound)
	}
	t.Logf("%d findings counted, %d listed, report %d bytes", total, len(rep.Findings), len(b))
}

func TestAUsersFileWithoutItsHeaderNeverEchoesTheFirstRow(t *testing.T) {
	f := validPackage()
	lines := strings.SplitAfter(f["users.csv"], "\n")
	f["users.csv"] = strings.Join(lines[1:], "") // the header row is lost
	b := zipOf(t, f)
	rep, err := Read(context.Background(), OpenZip(bytes.NewReader(b), int64(len(b)), "x.zip", Limits{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(rep)
	var text strings.Builder
	rep.WriteText(&text, 10)
	for _, cell := range strings.Split(strings.TrimSpace(lines[1]), ",") {
		if len(cell) < 3 || knownColumn[strings.ToLower(cell)] || cell == "true" || cell == "false" {
			continue
		}
		if strings.Contains(string(out), cell) && !strings.Contains(string(out), `"sourcedId":"`+cell+`"`) {
			t.Errorf("the report repeats %q from the first row", cell)
		}
		if strings.Contains(text.String(), ","+cell) || strings.Contains(text.String(), " "+cell+" ") {
			t.Errorf("the text report repeats %q", cell)
		}
	}
	if !strings.Contains(string(out), "header cell") {
		t.Errorf("no finding says which header cells are unknown:\n%s", out)
	}
	// A real column name of another file or an extension is still named.
	for _, n := range []string{"givenName", "sourcedId", "metadata.district", "ext_pthv", "GivenName"} {
		if !looksLikeColumn(n) {
			t.Errorf("%s does not look like a column name", n)
		}
	}
	for _, n := range []string{"Maria", "mgarcia", "maria.garcia@example.org", "555-0100", "Ana María", "metadata.Ana María"} {
		if looksLikeColumn(n) {
			t.Errorf("%q looks like a column name", n)
		}
	}
}

func TestTerminalOutputNeutralisesControlAndBidiCharacters(t *testing.T) {
	f := validPackage()
	f["evil\u202egnp.csv"] = "x\n"
	f["bell\a.csv"] = "x\n"
	b := zipOf(t, f)
	rep, err := Read(context.Background(), OpenZip(bytes.NewReader(b), int64(len(b)), "x.zip", Limits{}), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rep.WriteText(&text, 10); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text.String(), "\u202e\a") {
		t.Errorf("the text output holds a bidi override or a control character:\n%q", text.String())
	}
	if !strings.Contains(text.String(), `\u202e`) {
		t.Errorf("the override is not shown escaped:\n%s", text.String())
	}
}

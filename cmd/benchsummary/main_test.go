package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkValidateVsEncodingCSV-2   	       5	9009163529 ns/op	      3392 baseline-ms/op	         1.309 cpu-ratio	         1.40 ratio	   1346160 rows	      5617 validate-ms/op
BenchmarkImport-2   	       1	44661215831 ns/op	      1467 baseline-items/s	      1076 batches	     23381 first-import-ms	0.9991 full-batch-share	      1438 items/s	         0.8803 ratio	         0 second-import-writes	       762.0 second-import-ms
PASS
`

func TestRowsComeFromTheBenchmarksAndTheLoadTest(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.txt")
	os.WriteFile(in, []byte(sample), 0o644)
	load := filepath.Join(dir, "load.json")
	os.WriteFile(load, []byte(`{"districts":4,"studentsPerDistrict":300,"drops":10,"imports":10,"held":1,"expectedHeld":1,"mismatches":0,"recordsCompared":900,"processedDropsPerMinute":5,"offeredDropsPerMinute":100}`), 0o644)
	out := filepath.Join(dir, "bench.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--load", load, "--json", out, in}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rows []Row
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	byFig := map[string]Row{}
	for _, r := range rows {
		byFig[r.Figure] = r
	}
	v := byFig["validation time (100k-student zip) vs bare encoding/csv read"]
	if v.Value != 5617 || *v.Baseline != 3392 || *v.Ratio != 1.40 || !*v.Meets {
		t.Errorf("validation row: %+v", v)
	}
	imp := byFig["import write rate vs raw BatchWriteItem loop"]
	if *imp.Ratio != 0.8803 || *imp.Meets {
		t.Errorf("an import at 0.88 of the baseline must miss its 0.9 target: %+v", imp)
	}
	re := byFig["unchanged re-import time vs first import"]
	if re.Ratio == nil || *re.Ratio != 762.0/23381 {
		t.Errorf("re-import ratio: %+v", re)
	}
	if h := byFig["load: imports held"]; !*h.Meets {
		t.Errorf("load held row: %+v", h)
	}
	if !strings.Contains(stdout.String(), "1 with a target missed") {
		t.Errorf("summary line missing:\n%s", stdout.String())
	}
}

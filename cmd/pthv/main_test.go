package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/schemas"
)

// TestMain lets the test binary act as the pthv command when PTHV_AS_MAIN is set, so that
// tests and benchmarks can run the real command line in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("PTHV_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// runCLI runs the command line in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func genDistrict(t *testing.T, students int, zipped bool) string {
	t.Helper()
	dir := t.TempDir()
	if !zipped {
		if _, err := rostergen.Write(dir, rostergen.Options{Students: students, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	p := filepath.Join(dir, "district.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := rostergen.WriteZip(f, rostergen.Options{Students: students, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExitCodes(t *testing.T) {
	good := genDistrict(t, 300, true)
	broken := t.TempDir()
	if _, err := rostergen.Write(broken, rostergen.Options{Students: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	enr, _ := os.ReadFile(filepath.Join(broken, "enrollments.csv"))
	enr = append(enr, []byte("enr-broken,,,cls-missing,sch-missing,stu-missing,student,false,,\n")...)
	os.WriteFile(filepath.Join(broken, "enrollments.csv"), enr, 0o644)
	notZip := filepath.Join(t.TempDir(), "export.zip")
	os.WriteFile(notZip, []byte("this is not a zip"), 0o644)

	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"a valid export exits 0", []string{"validate", good}, 0, "OK: the export would import"},
		{"an export with row errors exits 1", []string{"validate", broken}, 1, "ref.dangling"},
		{"a file that is not a zip exits 1 with a finding", []string{"validate", notZip}, 1, "package.unreadable"},
		{"a missing path exits 2", []string{"validate", filepath.Join(t.TempDir(), "nope.zip")}, 2, ""},
		{"no path exits 2", []string{"validate"}, 2, ""},
		{"an unknown format exits 2", []string{"validate", good, "--format", "xml"}, 2, ""},
		{"an unknown flag exits 2", []string{"validate", good, "--frobnicate"}, 2, ""},
		{"an unknown command exits 2", []string{"frobnicate"}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out)
			}
			if tc.code == 2 && errOut == "" {
				t.Error("a usage error must say what is wrong on stderr")
			}
		})
	}
}

func TestValidateJSONConformsToTheSchema(t *testing.T) {
	dir := genDistrict(t, 300, false)
	os.WriteFile(filepath.Join(dir, "users.csv"), append([]byte("\ufeff"), must(os.ReadFile(filepath.Join(dir, "users.csv")))...), 0o644)
	code, out, _ := runCLI(t, "validate", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if err := schemas.Validate("validation-report.schema.json", []byte(out)); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Version  string
		Warnings int
		Summary  []struct {
			File string
			Rows int
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != "1.2" || rep.Warnings != 1 || len(rep.Summary) != 7 {
		t.Errorf("got %+v", rep)
	}
}

func TestTextReportListsTheFirstFindingsOfARuleAndCountsTheRest(t *testing.T) {
	dir := genDistrict(t, 300, false)
	p := filepath.Join(dir, "enrollments.csv")
	enr := must(os.ReadFile(p))
	// Copy a real row, pointing it at a class that does not exist.
	row := strings.Split(strings.Split(string(enr), "\n")[1], ",")
	for i := 0; i < 15; i++ {
		row[0], row[3] = "enr-x"+string(rune('a'+i)), "cls-missing"
		enr = append(enr, []byte(strings.Join(row, ",")+"\n")...)
	}
	os.WriteFile(p, enr, 0o644)
	code, out, _ := runCLI(t, "validate", dir, "--show", "4")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(out, "classSourcedId refers to cls-missing") != 4 || !strings.Contains(out, "… and 11 more") {
		t.Errorf("want 4 listed and 11 counted:\n%s", out)
	}
}

func TestGenRosterIsDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a.zip"), filepath.Join(t.TempDir(), "b.zip")
	for _, p := range []string{a, b} {
		if code, _, errOut := runCLI(t, "gen", "roster", "--students", "500", "--seed", "3", "--zip", "--out", p); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	if !bytes.Equal(must(os.ReadFile(a)), must(os.ReadFile(b))) {
		t.Error("the same seed gave different zips")
	}
	if code, _, _ := runCLI(t, "validate", a); code != 0 {
		t.Errorf("the generated export does not validate (exit %d)", code)
	}
	if code, _, _ := runCLI(t, "gen", "roster", "--students", "0", "--out", a); code != 2 {
		t.Errorf("--students 0 should be a usage error, got exit %d", code)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkValidateCLI runs `pthv validate` on a generated district (PTHV_BENCH_STUDENTS,
// default 100,000) as a child process and reports its peak resident memory.
//
// The district is generated by a child process too: Go starts children with vfork, and
// Linux carries the parent's high-water RSS into the child's ru_maxrss at exec, so a
// benchmark process that had built the district itself would report its own peak as the
// child's. bench-process-RSS-MiB is that floor (the benchmark process's own peak): the
// child's figure means something only above it.
func BenchmarkValidateCLI(b *testing.B) {
	n := 100_000
	if s := os.Getenv("PTHV_BENCH_STUDENTS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			n = v
		}
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "district.zip")
	gen := exec.Command(os.Args[0], "gen", "roster", "--students", strconv.Itoa(n), "--seed", "1", "--zip", "--out", path)
	gen.Env = append(os.Environ(), "PTHV_AS_MAIN=1")
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("pthv gen roster: %v\n%s", err, out)
	}
	var peak int64
	var wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "validate", path, "--format", "json")
		cmd.Env = append(os.Environ(), "PTHV_AS_MAIN=1")
		cmd.Stdout, cmd.Stderr = nil, nil
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("pthv validate: %v", err)
		}
		wall += time.Since(t0)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		peak = max(peak, ru.Maxrss*1024)
	}
	var self syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err == nil {
		b.ReportMetric(float64(self.Maxrss*1024)/(1<<20), "bench-process-RSS-MiB")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/op")
}

// TestTheREADMERuleTableIsCurrent keeps the README's rule table equal to `pthv rules --markdown`.
func TestTheREADMERuleTableIsCurrent(t *testing.T) {
	readme := string(must(os.ReadFile("../../README.md")))
	_, table, _ := runCLI(t, "rules", "--markdown")
	if !strings.Contains(readme, table) {
		t.Errorf("README.md does not contain the current rule table; paste the output of `pthv rules --markdown`:\n%s", table)
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/visits"
	"time"
)

// positional are the commands that take positional arguments, with the synopsis their help
// must show.
var positional = map[string]string{
	"validate":        "PATH",
	"upload":          "PATH",
	"imports show":    "IMPORT",
	"imports approve": "IMPORT",
	"cohort refresh":  "COHORT",
	"cohort show":     "COHORT",
	"cohort verify":   "COHORT",
	"gen visits":      "COHORT...",
}

// TestEveryCommandHasHelp walks every registered command: -h exits 0 and prints the usage
// line with its positional arguments, its summary, and every flag it defines as --name.
func TestEveryCommandHasHelp(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(strings.Fields(n), "-h")...)
			if code != 0 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			want := "usage: pthv " + n
			if a := positional[n]; a != "" {
				want += " " + a
			}
			if first := strings.SplitN(errOut, "\n", 2)[0]; first != want && first != want+" [flags]" {
				t.Errorf("usage line %q, want %q", first, want)
			}
			if !strings.Contains(errOut, commands[n].summary) {
				t.Errorf("help lacks the summary %q:\n%s", commands[n].summary, errOut)
			}
			for _, f := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(errOut, -1) {
				if strings.Contains(f[1], "_") {
					t.Errorf("flag --%s: flags are written with dashes", f[1])
				}
			}
			if strings.Contains(errOut, "\n  -") && !strings.Contains(errOut, "\n  --") {
				t.Errorf("flags are shown as --name:\n%s", errOut)
			}
		})
	}
}

func TestGroupsListTheirVerbs(t *testing.T) {
	for _, g := range []string{"cohort", "imports", "districts", "educators", "gen", "local", "consent"} {
		code, _, errOut := runCLI(t, g)
		if code != 2 || !strings.Contains(errOut, "verbs:") || strings.Contains(errOut, "unknown command") {
			t.Errorf("pthv %s: exit %d\n%s", g, code, errOut)
		}
		for _, v := range groupVerbs(g) {
			if !strings.Contains(errOut, strings.TrimPrefix(v, g+" ")) {
				t.Errorf("pthv %s does not list %s", g, v)
			}
		}
		if code, _, _ := runCLI(t, g, "-h"); code != 0 {
			t.Errorf("pthv %s -h: exit %d", g, code)
		}
		if code, _, errOut := runCLI(t, g, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown verb") {
			t.Errorf("pthv %s frobnicate: exit %d %s", g, code, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, out, _ := runCLI(t, arg)
		if code != 0 || !strings.HasPrefix(out, "pthv ") {
			t.Errorf("pthv %s: exit %d %q", arg, code, out)
		}
	}
}

// TestOutOfRangeValuesAreRefused: a value out of range is a usage error, never a default.
func TestOutOfRangeValuesAreRefused(t *testing.T) {
	cases := [][]string{
		{"cohort", "select", "--district", "d", "--school", "s", "--year", "2026-2027", "--coverage", "0"},
		{"cohort", "select", "--district", "d", "--school", "s", "--year", "2026-2027", "--coverage", "1.5"},
		{"cohort", "select", "--district", "d", "--school", "s", "--year", "2026-2027", "--coverage", "NaN"},
		{"cohort", "select", "--district", "d", "--school", "s", "--year", "2026-2027", "--max-per-pair", "-1"},
		{"cohort", "select", "--district", "d", "--school", "s", "--year", "2026-2027", "--mode", "some"},
		{"cohort", "show", "c", "--district", "d", "--format", "xml"},
		{"cohort", "list", "--district", "d", "--format", "csv"},
		{"districts", "add", "--id", "d", "--name", "D", "--state", "CA", "--hold-share", "0"},
		{"districts", "add", "--id", "d", "--name", "D", "--state", "CA", "--hold-share", "1"},
		{"gen", "roster", "--out", "x", "--students", "0"},
		{"gen", "roster", "--out", "x", "--remove", "1"},
		{"gen", "roster", "--out", "x", "--oneroster", "1.0"},
		{"gen", "trainings", "--roster", "r", "--out", "x", "--share", "0"},
		{"gen", "visits", "--district", "d", "--out", "x", "--visited", "0", "c"},
		{"gen", "visits", "--district", "d", "--out", "x", "--cancelled", "1", "c"},
		{"validate", "x.zip", "--show", "0"},
		{"validate", "x.zip", "--max-ratio", "0"},
		{"upload", "x.zip", "--district", "d", "--timeout", "0s"},
		{"upload", "x.zip", "--district", "d", "--kind", "roster"},
		{"reach", "--year", "2026-2027", "--by", "school"},
		{"reach", "--year", "2026-2027", "--format", "xml"},
		{"consent", "set", "--district", "d", "--year", "2026-2027", "--student", "s", "--consent", "maybe"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			if code != 2 || !strings.Contains(errOut, "invalid value") {
				t.Fatalf("exit %d, want 2 with the reason\n%s\n%s", code, out, errOut)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 errors", 1: "1 error", 2: "2 errors"} {
		if got := plural(n, "error"); got != want {
			t.Errorf("plural(%d) = %q", n, got)
		}
	}
	if got := plural(2, "family"); got != "2 families" {
		t.Errorf("%q", got)
	}
}

func TestFormatIsOneVocabulary(t *testing.T) {
	// Every --format of every command accepts text and json.
	for _, n := range []string{"validate", "cohort select", "cohort show", "cohort list", "reach"} {
		_, _, errOut := runCLI(t, append(strings.Fields(n), "-h")...)
		if !regexp.MustCompile(`--format FORMAT\s+output FORMAT: text, json`).MatchString(errOut) {
			t.Errorf("%s --format:\n%s", n, errOut)
		}
	}
}

func TestAnUnknownStateCodeIsRefused(t *testing.T) {
	for _, st := range []string{"ZZ", "XX", "C1"} {
		if code, _, errOut := runCLI(t, "districts", "add", "--id", "d", "--name", "D", "--state", st); code != 2 || !strings.Contains(errOut, "--state") {
			t.Errorf("--state %s: exit %d %s", st, code, errOut)
		}
	}
	if code, _, _ := runCLI(t, "districts", "update", "--id", "d"); code != 2 {
		t.Error("districts update with nothing to change must be a usage error")
	}
}

func TestGeneratedTrainingsAreForTheRostersSchoolYear(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	year, end := currentSchoolYear(now)
	roster := filepath.Join(dir, "roster")
	if code, _, errOut := runCLI(t, "gen", "roster", "--students", "200", "--out", roster); code != 0 {
		t.Fatal(errOut)
	}
	b, _ := os.ReadFile(filepath.Join(roster, "academicSessions.csv"))
	if !strings.Contains(string(b), fmt.Sprintf(",%d", end)) {
		t.Fatalf("gen roster's default school year is not the current one (%s):\n%s", year, b)
	}
	out := filepath.Join(dir, "t.csv")
	if code, _, errOut := runCLI(t, "gen", "trainings", "--roster", roster, "--out", out); code != 0 {
		t.Fatal(errOut)
	}
	rows, _ := os.ReadFile(out)
	date := strings.Split(strings.Split(string(rows), "\n")[1], ",")[1]
	d, _ := time.Parse(time.DateOnly, date)
	if got, _ := currentSchoolYear(d); got != year || d.After(now) {
		t.Fatalf("training dated %s, not in the roster's school year %s", date, year)
	}
	// A roster of an earlier year gets trainings of that year.
	old := filepath.Join(dir, "old")
	runCLI(t, "gen", "roster", "--students", "200", "--out", old, "--school-year", strconv.Itoa(end-2))
	out = filepath.Join(dir, "old.csv")
	if code, _, errOut := runCLI(t, "gen", "trainings", "--roster", old, "--out", out); code != 0 {
		t.Fatal(errOut)
	}
	rows, _ = os.ReadFile(out)
	if date := strings.Split(strings.Split(string(rows), "\n")[1], ",")[1]; date != fmt.Sprintf("%d-08-20", end-3) {
		t.Fatalf("trainings for a %d-%d roster dated %s", end-3, end-2, date)
	}
}

// TestRulesListEveryCodeOfEveryFile: pthv rules lists every code the readers and the import
// give, and the codes of the CSV files share one scheme: {file}.{rule}, or ref.{rule} for a
// check against the roster.
func TestRulesListEveryCodeOfEveryFile(t *testing.T) {
	_, out, _ := runCLI(t, "rules", "--format", "json")
	var rules []fileRule
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	scheme := regexp.MustCompile(`^(training|consent|visit|ref)\.[a-z_]+$`)
	for _, r := range rules {
		listed[r.Code] = true
		if r.File != "oneroster" && !scheme.MatchString(r.Code) {
			t.Errorf("%s rule %s: codes are {file}.{rule} or ref.{rule}", r.File, r.Code)
		}
		if r.Summary == "" || (r.Severity != "error" && r.Severity != "warning" && r.Severity != "info") {
			t.Errorf("rule %+v", r)
		}
	}
	var want []string
	want = append(want, consent.Codes...)
	want = append(want, visits.Codes...)
	want = append(want, "ref.unknown_educator", "ref.unknown_student", "ref.unknown_family", "ref.unknown_school",
		"visit.outside_school_year", "visit.untrained_educator", "visit.second_without_first", "training.date_future", "training.hours")
	for _, c := range want {
		if !listed[c] {
			t.Errorf("pthv rules does not list %s", c)
		}
	}
}

// TestGeneratedFilesAreNotOverwritten: no command overwrites a file without --force (exit
// 2, the file as it was): gen roster (a zip, or a folder that is not empty), gen trainings,
// gen visits and cohort show --csv. "-" is standard output (never a file named "-"), with
// the summary on standard error; a file is written whole once complete, so a command that
// fails midway leaves no file, and an old file as it was even with --force.
func TestGeneratedFilesAreNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	at := func(name string) string { return filepath.Join(dir, name) }
	keep := func(path string) { os.WriteFile(path, []byte("keep me"), 0o600) }
	kept := func(what, path string) {
		t.Helper()
		if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
			t.Errorf("%s: the existing file now holds %q (%v)", what, b, err)
		}
	}
	refused := func(what string, args ...string) {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "--force") {
			t.Errorf("%s: exit %d, %q %q; want 2 and a word about --force", what, code, out, errOut)
		}
	}
	ok := func(what string, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", what, code, errOut)
		}
		return out, errOut
	}

	// gen roster: a folder, then into it again, then with --force.
	roster := at("roster")
	ok("gen roster", "gen", "roster", "--students", "40", "--out", roster)
	keep(filepath.Join(roster, "users.csv"))
	refused("gen roster into a folder that is not empty", "gen", "roster", "--students", "40", "--out", roster)
	kept("gen roster into a folder that is not empty", filepath.Join(roster, "users.csv"))
	os.WriteFile(filepath.Join(roster, "notes.txt"), []byte("mine"), 0o600)
	ok("gen roster --force", "gen", "roster", "--students", "40", "--out", roster, "--force")
	if b, _ := os.ReadFile(filepath.Join(roster, "users.csv")); !strings.HasPrefix(string(b), "sourcedId,") {
		t.Errorf("with --force, users.csv holds %.40q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(roster, "notes.txt")); string(b) != "mine" {
		t.Error("gen roster --force removed a file of another name")
	}
	os.Mkdir(at("empty"), 0o755)
	ok("gen roster into an empty folder", "gen", "roster", "--students", "40", "--out", at("empty"))
	keep(at("x.zip"))
	refused("gen roster --zip onto a file", "gen", "roster", "--students", "40", "--zip", "--out", at("x.zip"))
	kept("gen roster --zip", at("x.zip"))
	ok("gen roster --zip --force", "gen", "roster", "--students", "40", "--zip", "--out", at("x.zip"), "--force")
	if b, _ := os.ReadFile(at("x.zip")); !strings.HasPrefix(string(b), "PK") {
		t.Error("gen roster --zip --force wrote no zip")
	}
	out, errOut := ok("gen roster --zip --out -", "gen", "roster", "--students", "40", "--zip", "--out", "-")
	if !strings.HasPrefix(out, "PK") || !strings.Contains(errOut, "wrote the export to standard output: 3 schools") {
		t.Errorf("gen roster --zip --out -: stdout %.10q, stderr %q", out, errOut)
	}
	if code, _, errOut := runCLI(t, "gen", "roster", "--out", "-"); code != 2 || !strings.Contains(errOut, "needs --zip") {
		t.Errorf("gen roster --out - without --zip: exit %d, %s", code, errOut)
	}

	// gen trainings.
	keep(at("trainings.csv"))
	refused("gen trainings", "gen", "trainings", "--roster", roster, "--out", at("trainings.csv"))
	kept("gen trainings", at("trainings.csv"))
	ok("gen trainings --force", "gen", "trainings", "--roster", roster, "--out", at("trainings.csv"), "--force", "--date", "2025-08-20")
	if b, _ := os.ReadFile(at("trainings.csv")); !strings.HasPrefix(string(b), "educatorSourcedId,") {
		t.Errorf("gen trainings --force wrote %.40q", b)
	}
	out, errOut = ok("gen trainings --out -", "gen", "trainings", "--roster", roster, "--out", "-", "--date", "2025-08-20")
	if !strings.HasPrefix(out, "educatorSourcedId,") || strings.Contains(out, "wrote") || !strings.Contains(errOut, "to standard output") {
		t.Errorf("gen trainings --out -: stdout %.40q, stderr %q", out, errOut)
	}

	// gen visits: refused before any cohort is read; a cohort that cannot be read leaves no
	// file, and an old file as it was.
	keep(at("visits.csv"))
	refused("gen visits", "gen", "visits", "coh-1", "--district", "d", "--out", at("visits.csv"))
	kept("gen visits", at("visits.csv"))
	for k, v := range map[string]string{deploy.EnvTable: "t", deploy.EnvDropsBucket: "d", deploy.EnvReportsBucket: "r", deploy.EnvCohortFunction: "f",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_MAX_ATTEMPTS": "1"} {
		t.Setenv(k, v)
	}
	if code, _, _ := runCLI(t, "gen", "visits", "coh-1", "--district", "d", "--out", at("new.csv")); code == 0 {
		t.Error("gen visits without a cohort service succeeded")
	}
	if _, err := os.Stat(at("new.csv")); err == nil {
		t.Error("gen visits left a file behind when the cohort could not be read")
	}
	runCLI(t, "gen", "visits", "coh-1", "--district", "d", "--out", at("visits.csv"), "--force")
	kept("gen visits --force that failed midway", at("visits.csv"))

	// cohort show --csv.
	keep(at("cohort.csv"))
	refused("cohort show --csv", "cohort", "show", "coh-1", "--district", "d", "--csv", at("cohort.csv"))
	kept("cohort show --csv", at("cohort.csv"))

	// "-" is never a file; nothing but the files above is left in the folder.
	if _, err := os.Stat(at("-")); err == nil {
		t.Error("a file named - was created")
	}
	names, _ := os.ReadDir(dir)
	var left []string
	for _, n := range names {
		left = append(left, n.Name())
	}
	if d := strings.Join(left, " "); d != "cohort.csv empty roster trainings.csv visits.csv x.zip" {
		t.Errorf("the folder holds %s", d)
	}
}

// TestWriteWhole: the helper behind every output file.
func TestWriteWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	var stdout strings.Builder
	if err := writeWhole("-", false, 0o600, &stdout, func(w io.Writer) error { _, err := io.WriteString(w, "a\n"); return err }); err != nil || stdout.String() != "a\n" {
		t.Fatalf("- : %q %v", stdout.String(), err)
	}
	fail := errors.New("midway")
	if err := writeWhole(path, false, 0o600, &stdout, func(w io.Writer) error { io.WriteString(w, "half"); return fail }); !errors.Is(err, fail) {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a failed write left a file")
	}
	if err := writeWhole(path, false, 0o640, &stdout, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	if err := writeWhole(path, false, 0o600, &stdout, func(w io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("without force: %v", err)
	}
	if err := writeWhole(path, true, 0o600, &stdout, func(w io.Writer) error { _, err := io.WriteString(w, "two"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("with force: %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/app"
)

// walkthroughBlock returns the shell block that follows "<!-- walkthrough -->" in the README.
func walkthroughBlock(t *testing.T, readme string) string {
	t.Helper()
	_, after, ok := strings.Cut(readme, "<!-- walkthrough -->\n```bash\n")
	block, _, closed := strings.Cut(after, "\n```\n")
	if !ok || !closed || strings.TrimSpace(block) == "" {
		t.Fatal("the README has no <!-- walkthrough --> block followed by a ```bash fence")
	}
	return block + "\n"
}

// TestTheREADMEWalkthrough runs the README's cohort examples as written, in order: the very
// block of the README, with bash -euo pipefail and the real CLI binary on PATH, against the
// local stack. The refresh names exactly the family the CSV's first row declined and the
// families that came in (the next of its grade in the stored order: one for a family of one
// child); every other family keeps its educator pair; verify matches.
func TestTheREADMEWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := walkthroughBlock(t, string(readme))
	withStack(t)
	bin := t.TempDir()
	if b, err := exec.Command("go", "build", "-o", filepath.Join(bin, "pthv"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	tmp := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walkthrough failed (%v):\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()

	// The cohort, the CSV the script saved, and its first family.
	id := regexp.MustCompile(`(?m)^cohort (coh-\S+) \(revision 1\)`).FindStringSubmatch(out)
	csvs, _ := filepath.Glob(filepath.Join(tmp, "*", "cohort.csv"))
	if id == nil || len(csvs) != 1 {
		t.Fatalf("no cohort id in the output, or %d CSVs:\n%s", len(csvs), out)
	}
	f, err := os.Open(csvs[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 3 || rows[0][0] != "family_id" {
		t.Fatalf("coordinator CSV: %v, %d rows", err, len(rows))
	}
	pairCol, stratumCol, orderCol, studentsCol := slices.Index(rows[0], "educator_ids"), slices.Index(rows[0], "grade_stratum"),
		slices.Index(rows[0], "order"), slices.Index(rows[0], "student_ids")
	before := map[string][]string{}
	last := map[string]int{} // per grade: the last place in the stored order taken before (the CSV counts from 1)
	for _, r := range rows[1:] {
		p := strings.Split(r[pairCol], "; ")
		slices.Sort(p)
		before[r[0]] = p
		n, _ := strconv.Atoi(r[orderCol])
		last[r[stratumCol]] = max(last[r[stratumCol]], n)
	}
	declined, grade, children := rows[1][0], rows[1][stratumCol], len(strings.Split(rows[1][studentsCol], "; "))

	// The refresh: revision 2 names the decline and one family in, and says nobody else moved.
	_, refresh, ok := strings.Cut(out, "cohort "+id[1]+" (revision 2)")
	if !ok {
		t.Fatalf("no revision 2 in the output:\n%s", out)
	}
	field := func(label string) []string {
		m := regexp.MustCompile(`(?m)^  ` + label + `\s+(.+)$`).FindStringSubmatch(refresh)
		if m == nil {
			return nil
		}
		return strings.Split(m[1], ", ")
	}
	cameIn := field("came in")
	if d := field("declined"); !slices.Equal(d, []string{declined}) {
		t.Errorf("the refresh says declined %q, want exactly the CSV's first family %s", d, declined)
	}
	// The next families of the declined family's grade in the stored order replace it, until
	// the grade's students reach the coverage again: one family for a family of one child.
	if len(cameIn) == 0 || (children == 1 && len(cameIn) != 1) {
		t.Errorf("the refresh says came in %q for a family of %d children", cameIn, children)
	}
	if field("new pair") != nil || field("not enrolled") != nil || !strings.Contains(refresh, "every other family keeps its place and its educator pair") {
		t.Errorf("the refresh moved other families:\n%s", refresh)
	}
	if !strings.Contains(out, "cohort "+id[1]+" revision 2: matches a recomputation") {
		t.Errorf("verify:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id[1]) + `\s+sch-001\s+2026-2027\s+2\s`).MatchString(out) {
		t.Errorf("cohort list does not show revision 2 of %s:\n%s", id[1], out)
	}

	// What is stored: every remaining family with the pair it had, the replacement added.
	env, err := app.LoadEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	members, err := env.Store().Members(context.Background(), "walk-usd", id[1])
	if err != nil {
		t.Fatal(err)
	}
	after := map[string][]string{}
	for _, m := range members {
		p := slices.Clone(m.Pair)
		slices.Sort(p)
		after[m.FamilyID] = p
	}
	for fam, pair := range before {
		switch {
		case fam == declined:
			if _, in := after[fam]; in {
				t.Errorf("the declined family %s is still in the cohort", fam)
			}
		case !slices.Equal(after[fam], pair):
			t.Errorf("family %s had the pair %v, now %v", fam, pair, after[fam])
		}
	}
	for _, m := range members {
		if !slices.Contains(cameIn, m.FamilyID) {
			continue
		}
		if before[m.FamilyID] != nil || m.Stratum != grade || m.Order+1 <= last[grade] || len(m.Pair) != 2 {
			t.Errorf("family %s came in: grade %s, place %d, pair %v; want a new family of grade %s after place %d, paired",
				m.FamilyID, m.Stratum, m.Order+1, m.Pair, grade, last[grade])
		}
	}
	if len(after) != len(before)-1+len(cameIn) {
		t.Errorf("%d families after the refresh, %d before, %d came in", len(after), len(before), len(cameIn))
	}
	t.Logf("declined %s (grade %s, students at the school: %d); came in %v", declined, grade, children, cameIn)
}

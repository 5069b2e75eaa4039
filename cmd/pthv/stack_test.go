package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/rostergen"
)

// withStack starts a local stack with the real ingest bootstrap and points the CLI at it
// through the environment, as 'source .pthv-local/env' does.
func withStack(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	fns, err := devstack.BuildFunctions(ctx, "../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: "pthv-cli-" + hex.EncodeToString(b), Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for k, v := range st.Env() {
		t.Setenv(k, v)
	}
}

func TestTheCLIDrivesRosterDrops(t *testing.T) {
	withStack(t)
	dir := t.TempDir()
	full, fewer := filepath.Join(dir, "full.zip"), filepath.Join(dir, "fewer.zip")
	for p, rm := range map[string]float64{full: 0, fewer: 0.3} {
		f, _ := os.Create(p)
		if _, err := rostergen.WriteZip(f, rostergen.Options{Students: 120, Seed: 8, Remove: rm}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}

	// The district is not registered yet: the drop is refused, and the wait says so.
	code, out, errOut := runCLI(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 1 || !strings.Contains(out, ": rejected") || !strings.Contains(out, "not registered") {
		t.Fatalf("upload for an unregistered district (exit %d): %s %s", code, out, errOut)
	}

	// The registration's answer is lost on the way back (under load moto once sent one the
	// SDK could not check): the SDK retries the conditional put, which meets its own write.
	// That is a registration, not "registered already".
	lost, back := loseAnAnswer(t, "DynamoDB_20120810.PutItem")
	code, _, errOut = runCLI(t, "districts", "add", "--id", "cli-usd", "--name", "CLI Unified", "--state", "or")
	back()
	if code != 0 || lost() != 1 {
		t.Fatalf("districts add whose answer was lost (%d answers lost): exit %d, %s", lost(), code, errOut)
	}
	if code, out, _ := runCLI(t, "districts", "list"); code != 0 || !strings.Contains(out, "cli-usd") || !strings.Contains(out, "OR") {
		t.Fatalf("districts list: %s", out)
	}
	if code, _, _ := runCLI(t, "districts", "add", "--id", "x", "--name", "X", "--state", "California"); code != 2 {
		t.Error("a bad state code must be a usage error")
	}
	// The same registration again is no conflict (it is also what an SDK retry of an add
	// that succeeded finds); another one is refused below.
	if code, out, errOut := runCLI(t, "districts", "add", "--id", "cli-usd", "--name", "CLI Unified", "--state", "or"); code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("the same registration again (exit %d): %s %s", code, out, errOut)
	}
	// A second add never overwrites: update changes what it is given, nothing else.
	if code, _, errOut := runCLI(t, "districts", "add", "--id", "cli-usd", "--name", "Other", "--state", "CA"); code != 1 || !strings.Contains(errOut, "registered already") {
		t.Fatalf("a second add (exit %d): %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "districts", "update", "--id", "cli-usd", "--hold-share", "0.15"); code != 0 {
		t.Fatalf("districts update: %s", errOut)
	}
	if _, out, _ := runCLI(t, "districts", "list"); !regexp.MustCompile(`cli-usd\s+CLI Unified\s+OR\s+15%`).MatchString(out) {
		t.Fatalf("after update:\n%s", out)
	}
	if code, _, _ := runCLI(t, "districts", "update", "--id", "nope", "--name", "N"); code != 1 {
		t.Error("updating an unregistered district must exit 1")
	}

	code, out, errOut = runCLI(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 0 || !regexp.MustCompile(`user\s+\d+\s+0\s+0\s+0\s+0\s+0`).MatchString(out) || !strings.Contains(out, ": applied") {
		t.Fatalf("first upload (exit %d):\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 0 || !strings.Contains(out, "writes   0 items") {
		t.Fatalf("unchanged upload:\n%s", out)
	}
	code, out, _ = runCLI(t, "upload", fewer, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 1 || !strings.Contains(out, ": held") {
		t.Fatalf("30%% removal should be held, and --wait exit 1 (nothing landed) (exit %d):\n%s", code, out)
	}
	id := regexp.MustCompile(`imp-[0-9T.Z]+-[0-9a-f]{8}`).FindString(out)

	if code, out, _ := runCLI(t, "imports", "show", id, "--district", "cli-usd"); code != 0 || !strings.Contains(out, "safety") {
		t.Fatalf("imports show:\n%s", out)
	}
	if code, _, _ := runCLI(t, "imports", "show", "imp-nope", "--district", "cli-usd"); code != 1 {
		t.Error("an unknown import must exit 1")
	}
	if code, out, errOut := runCLI(t, "imports", "approve", id, "--district", "cli-usd"); code != 0 {
		t.Fatalf("approve: %s %s", out, errOut)
	}
	if code, _, _ := runCLI(t, "imports", "approve", id, "--district", "cli-usd"); code != 1 {
		t.Error("approving twice must fail")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, out, _ := runCLI(t, "imports", "show", id, "--district", "cli-usd")
		if strings.Contains(out, ": applied") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved import was not applied:\n%s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Educators opt in and out by hand as well as through the training CSV.
	if code, _, errOut := runCLI(t, "educators", "opt-in", "--district", "cli-usd", "--educator", "tch-00001", "--year", "2025-2026"); code != 0 {
		t.Fatalf("opt-in: %s", errOut)
	}
	runCLI(t, "educators", "opt-out", "--district", "cli-usd", "--educator", "tch-00002", "--year", "2025-2026")
	if code, out, _ := runCLI(t, "educators", "list", "--district", "cli-usd", "--year", "2025-2026"); code != 0 ||
		!regexp.MustCompile(`tch-00001\s+opted in`).MatchString(out) || !regexp.MustCompile(`tch-00002\s+opted out`).MatchString(out) {
		t.Fatalf("educators list:\n%s", out)
	}
	if code, _, _ := runCLI(t, "educators", "opt-in", "--district", "cli-usd", "--educator", "tch-00001", "--year", "2025-2027"); code != 2 {
		t.Error("a year that is not two consecutive years must be a usage error")
	}
	// Ids are checked against the roster as a training file's rows are: refused, nothing recorded.
	for _, id := range []string{"tch-99999", "stu-000001"} {
		code, out, errOut := runCLI(t, "educators", "opt-in", "--district", "cli-usd", "--educator", id, "--year", "2025-2026")
		if code != 1 || !strings.Contains(errOut, "ref.unknown_educator") || out != "" {
			t.Errorf("opt-in of %s (exit %d): %s %s", id, code, out, errOut)
		}
	}
	if _, out, _ := runCLI(t, "educators", "list", "--district", "cli-usd", "--year", "2025-2026"); strings.Contains(out, "tch-99999") || strings.Contains(out, "stu-000001") {
		t.Errorf("a refused id was recorded:\n%s", out)
	}

	// An export with errors is refused before upload unless --force.
	broken := filepath.Join(dir, "broken")
	rostergen.Write(broken, rostergen.Options{Students: 20, Seed: 1})
	os.WriteFile(filepath.Join(broken, "orgs.csv"), []byte("sourcedId,status\n"), 0o644)
	if code, _, errOut := runCLI(t, "upload", broken, "--district", "cli-usd"); code != 1 || !strings.Contains(errOut, "--force") {
		t.Fatalf("a broken export must be refused (exit %d): %s", code, errOut)
	}
	code, out, _ = runCLI(t, "upload", broken, "--district", "cli-usd", "--force", "--wait", "--timeout", "60s")
	if code != 1 || !strings.Contains(out, ": rejected") {
		t.Fatalf("a forced broken export is rejected by the pipeline (exit %d):\n%s", code, out)
	}
}

func TestTheCLIDrawsCohorts(t *testing.T) {
	withStack(t)
	ctx := context.Background()
	dir := t.TempDir()
	rosterDir := filepath.Join(dir, "roster")
	if _, err := rostergen.Write(rosterDir, rostergen.Options{Students: 900, Seed: 11, SchoolYear: 2027}); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		if code != want {
			t.Fatalf("pthv %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	run(0, "districts", "add", "--id", "coh-usd", "--name", "Cohort Unified", "--state", "CA")
	run(0, "upload", rosterDir, "--district", "coh-usd", "--wait", "--timeout", "90s", "--quiet")

	// Trainings: half of each school's teachers trained and opted in, through the ingest path.
	trainings := filepath.Join(dir, "trainings.csv")
	run(0, "gen", "trainings", "--roster", rosterDir, "--out", trainings, "--share", "0.5", "--date", "2026-08-20")
	out := run(0, "upload", trainings, "--kind", "trainings", "--district", "coh-usd", "--wait", "--timeout", "60s", "--quiet")
	if !strings.Contains(out, ": applied") {
		t.Fatalf("training upload:\n%s", out)
	}
	rows, _ := os.ReadFile(trainings)
	firstTrained := strings.Split(strings.Split(string(rows), "\n")[1], ",")[0]
	// One trained teacher opts out again by hand: never paired.
	run(0, "educators", "opt-out", "--district", "coh-usd", "--educator", firstTrained, "--year", "2026-2027")

	schools := schoolsOf(t, rosterDir)
	out = run(0, "cohort", "select", "--district", "coh-usd", "--school", schools[0], "--year", "2026-2027", "--coverage", "0.15", "--seed", "5")
	cross := regexp.MustCompile(`coh-[0-9T.Z]+-[0-9a-f]{8}`).FindString(out)
	if cross == "" || !strings.Contains(out, "status         ready") || !strings.Contains(out, "cross-section, coverage 15%") {
		t.Fatalf("cohort select:\n%s", out)
	}
	out = run(0, "cohort", "select", "--district", "coh-usd", "--school", schools[1], "--year", "2026-2027", "--mode", "all")
	all := regexp.MustCompile(`coh-[0-9T.Z]+-[0-9a-f]{8}`).FindString(out)
	if !regexp.MustCompile(`students\s+(\d+) of (\d+): 100.0% of the school`).MatchString(out) {
		t.Fatalf("cohort select --mode all:\n%s", out)
	}

	// What is stored: the cohort item and its members in DynamoDB, the CSV in S3.
	env, err := app.LoadEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := env.Store()
	rec, err := st.GetCohort(ctx, "coh-usd", cross)
	if err != nil {
		t.Fatal(err)
	}
	members, err := st.Members(ctx, "coh-usd", cross)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != rec.Summary.Families || rec.Summary.Share < 0.15 || rec.Cohort.Request.Seed != 5 {
		t.Fatalf("stored cohort: %d members, summary %+v", len(members), rec.Summary)
	}
	for _, m := range members {
		if len(m.Pair) != 2 || slices.Contains(m.Pair, firstTrained) {
			t.Fatalf("family %s paired with %v (%s opted out)", m.FamilyID, m.Pair, firstTrained)
		}
	}
	csvFile := filepath.Join(dir, "cohort.csv")
	out = run(0, "cohort", "show", cross, "--district", "coh-usd", "--csv", csvFile)
	for _, m := range members {
		if !strings.Contains(out, m.FamilyID) {
			t.Fatalf("cohort show lacks family %s:\n%s", m.FamilyID, out)
		}
	}
	body, _ := os.ReadFile(csvFile)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != len(members)+1 || !strings.HasPrefix(lines[0], "family_id,") || !strings.Contains(lines[1], "@") {
		t.Fatalf("coordinator CSV: %d lines for %d families\n%s", len(lines), len(members), lines[0])
	}
	// "-" is standard output: the CSV alone, the summary on stderr; an existing file needs --force.
	code, stdout, stderr := runCLI(t, "cohort", "show", cross, "--district", "coh-usd", "--csv", "-")
	if code != 0 || !strings.HasPrefix(stdout, "family_id,") || strings.Contains(stdout, "cohort "+cross) || !strings.Contains(stderr, cross) {
		t.Fatalf("cohort show --csv - (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("--csv - wrote a file named -")
	}
	run(2, "cohort", "show", cross, "--district", "coh-usd", "--csv", csvFile)
	run(0, "cohort", "show", cross, "--district", "coh-usd", "--csv", csvFile, "--force")
	if !strings.HasPrefix(rec.CSVKey, "reports/coh-usd/cohorts/"+schools[0]+"/2026-2027/"+cross) {
		t.Errorf("CSV key %s", rec.CSVKey)
	}

	// Ids the roster does not know are refused, as a consent file's rows are.
	for _, tc := range [][]string{{"--student", "stu-999999"}, {"--student", firstTrained}, {"--family", "fam-0123456789ab"}} {
		code, out, errOut := runCLI(t, append([]string{"consent", "set", "--district", "coh-usd", "--year", "2026-2027", "--consent", "declined"}, tc...)...)
		want := "ref.unknown_student"
		if tc[0] == "--family" {
			want = "ref.unknown_family"
		}
		if code != 1 || !strings.Contains(errOut, want) || strings.Contains(out, "declined") {
			t.Errorf("consent set %v (exit %d): %s %s", tc, code, out, errOut)
		}
	}
	// A selected family declines through a child's id: refresh replaces it, verify matches.
	gone := members[0]
	run(0, "consent", "set", "--district", "coh-usd", "--year", "2026-2027", "--student", gone.StudentIDs[0], "--consent", "declined")
	run(2, "consent", "set", "--district", "coh-usd", "--year", "2026-2027", "--student", gone.StudentIDs[0], "--consent", "maybe")
	out = run(0, "cohort", "refresh", cross, "--district", "coh-usd")
	if !strings.Contains(out, "(revision 2)") {
		t.Fatalf("refresh:\n%s", out)
	}
	after, _ := st.Members(ctx, "coh-usd", cross)
	for _, m := range after {
		if m.FamilyID == gone.FamilyID {
			t.Fatal("the declined family is still in the cohort")
		}
	}
	out = run(0, "cohort", "verify", cross, "--district", "coh-usd")
	if !strings.Contains(out, "matches a recomputation") {
		t.Fatalf("verify:\n%s", out)
	}
	out = run(0, "cohort", "list", "--district", "coh-usd")
	if !strings.Contains(out, cross) || !strings.Contains(out, all) {
		t.Fatalf("cohort list:\n%s", out)
	}
	run(1, "cohort", "show", "coh-nope", "--district", "coh-usd")
	// A second draw for the school and year is refused; --replace draws anew, on record.
	run(1, "cohort", "select", "--district", "coh-usd", "--school", schools[1], "--year", "2026-2027", "--mode", "all")
	out = run(0, "cohort", "select", "--district", "coh-usd", "--school", schools[1], "--year", "2026-2027", "--mode", "all", "--replace", all)
	if !strings.Contains(out, "replaces       "+all) {
		t.Fatalf("replacement:\n%s", out)
	}

	// The function itself refuses a targeting criterion, whoever calls it.
	client := lambdasdk.NewFromConfig(env.AWS)
	res, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String(os.Getenv("COHORT_FUNCTION")),
		Payload: []byte(`{"action":"select","request":{"district":"coh-usd","school":"` + schools[0] + `","year":"2026-2027","iep":true}}`)})
	if err != nil || !strings.Contains(string(res.Payload), "targeting_refused") {
		t.Fatalf("targeting request: %v %s", err, res.Payload)
	}
}

// schoolsOf returns the schools of a generated roster folder.
func schoolsOf(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ","); len(f) > 4 && f[4] == "school" {
			out = append(out, f[0])
		}
	}
	if len(out) < 2 {
		t.Fatalf("the roster has %d schools", len(out))
	}
	return out
}

// TestServiceSideUsageErrorsExit2: a request the service finds malformed is a usage error
// (exit 2) with the service's own message, through the local API Gateway front and the real
// api bootstrap; a well-formed request for what the service does not have (404) exits 1.
func TestServiceSideUsageErrorsExit2(t *testing.T) {
	withStack(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"reach", "--year", "2025-2026", "--state", "california"}, 2, `reach API: 400 state must be a two-letter code like CA, not "california"`},
		{[]string{"reach", "--year", "2025-2026", "--district", "Bad District!"}, 2, "reach API: 400 the district id must be"},
		{[]string{"reach", "--year", "2031-2032"}, 1, "reach API: 404 no reach figures for 2031-2032"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("pthv %s: exit %d, %q %q; want exit %d and %q", strings.Join(c.args, " "), code, out, errOut, c.code, c.msg)
		}
	}
}

// loseAnAnswer points the CLI's AWS endpoint at a proxy in front of the stack's, which sends
// the next request with the X-Amz-Target target on and answers it with a 500 (the SDK
// retries a 500) instead of the real answer. It returns how many answers it lost, and back,
// which points the CLI at the stack's endpoint again.
func loseAnAnswer(t *testing.T, target string) (lost func() int, back func()) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		t.Fatalf("AWS_ENDPOINT_URL %q", os.Getenv("AWS_ENDPOINT_URL"))
	}
	var mu sync.Mutex
	n := 0
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		mu.Lock()
		defer mu.Unlock()
		if n > 0 || resp.Request.Header.Get("X-Amz-Target") != target || resp.StatusCode != http.StatusOK {
			return nil
		}
		n++
		resp.Body.Close()
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"the answer was lost (injected by the test)"}`
		resp.StatusCode, resp.Status = http.StatusInternalServerError, "500 Internal Server Error"
		resp.Header = http.Header{"Content-Type": {"application/x-amz-json-1.0"}}
		resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	return func() int {
			mu.Lock()
			defer mu.Unlock()
			return n
		}, func() {
			os.Setenv("AWS_ENDPOINT_URL", endpoint)
		}
}

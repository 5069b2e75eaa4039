package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
	code, out, errOut := pthv(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 1 || !strings.Contains(out, ": rejected") || !strings.Contains(out, "not registered") {
		t.Fatalf("upload for an unregistered district (exit %d): %s %s", code, out, errOut)
	}

	if code, _, errOut := pthv(t, "districts", "add", "--id", "cli-usd", "--name", "CLI Unified", "--state", "or"); code != 0 {
		t.Fatalf("districts add: %s", errOut)
	}
	if code, out, _ := pthv(t, "districts", "list"); code != 0 || !strings.Contains(out, "cli-usd") || !strings.Contains(out, "OR") {
		t.Fatalf("districts list: %s", out)
	}
	if code, _, _ := pthv(t, "districts", "add", "--id", "x", "--name", "X", "--state", "California"); code != 2 {
		t.Error("a bad state code must be a usage error")
	}

	code, out, errOut = pthv(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 0 || !regexp.MustCompile(`user\s+\d+\s+0\s+0\s+0\s+0\s+0`).MatchString(out) || !strings.Contains(out, ": applied") {
		t.Fatalf("first upload (exit %d):\n%s\n%s", code, out, errOut)
	}
	code, out, _ = pthv(t, "upload", full, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 0 || !strings.Contains(out, "writes   0 items") {
		t.Fatalf("unchanged upload:\n%s", out)
	}
	code, out, _ = pthv(t, "upload", fewer, "--district", "cli-usd", "--wait", "--timeout", "60s")
	if code != 0 || !strings.Contains(out, ": held") {
		t.Fatalf("30%% removal should be held:\n%s", out)
	}
	id := regexp.MustCompile(`imp-[0-9T.Z]+-[0-9a-f]{8}`).FindString(out)

	if code, out, _ := pthv(t, "imports", "show", id, "--district", "cli-usd"); code != 0 || !strings.Contains(out, "safety") {
		t.Fatalf("imports show:\n%s", out)
	}
	if code, _, _ := pthv(t, "imports", "show", "imp-nope", "--district", "cli-usd"); code != 1 {
		t.Error("an unknown import must exit 1")
	}
	if code, out, errOut := pthv(t, "imports", "approve", id, "--district", "cli-usd"); code != 0 {
		t.Fatalf("approve: %s %s", out, errOut)
	}
	if code, _, _ := pthv(t, "imports", "approve", id, "--district", "cli-usd"); code != 1 {
		t.Error("approving twice must fail")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, out, _ := pthv(t, "imports", "show", id, "--district", "cli-usd")
		if strings.Contains(out, ": applied") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved import was not applied:\n%s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}

	// Educators opt in and out by hand as well as through the training CSV.
	if code, _, errOut := pthv(t, "educators", "opt-in", "--district", "cli-usd", "--educator", "tch-1", "--year", "2025-2026"); code != 0 {
		t.Fatalf("opt-in: %s", errOut)
	}
	pthv(t, "educators", "opt-out", "--district", "cli-usd", "--educator", "tch-2", "--year", "2025-2026")
	if code, out, _ := pthv(t, "educators", "list", "--district", "cli-usd", "--year", "2025-2026"); code != 0 ||
		!strings.Contains(out, "tch-1\topted in") || !strings.Contains(out, "tch-2\topted out") {
		t.Fatalf("educators list:\n%s", out)
	}
	if code, _, _ := pthv(t, "educators", "opt-in", "--district", "cli-usd", "--educator", "tch-1", "--year", "2025-2027"); code != 2 {
		t.Error("a year that is not two consecutive years must be a usage error")
	}

	// An export with errors is refused before upload unless --force.
	broken := filepath.Join(dir, "broken")
	rostergen.Write(broken, rostergen.Options{Students: 20, Seed: 1})
	os.WriteFile(filepath.Join(broken, "orgs.csv"), []byte("sourcedId,status\n"), 0o644)
	if code, _, errOut := pthv(t, "upload", broken, "--district", "cli-usd"); code != 1 || !strings.Contains(errOut, "--force") {
		t.Fatalf("a broken export must be refused (exit %d): %s", code, errOut)
	}
	code, out, _ = pthv(t, "upload", broken, "--district", "cli-usd", "--force", "--wait", "--timeout", "60s")
	if code != 1 || !strings.Contains(out, ": rejected") {
		t.Fatalf("a forced broken export is rejected by the pipeline (exit %d):\n%s", code, out)
	}
}

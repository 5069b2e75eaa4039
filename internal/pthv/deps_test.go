package pthv_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/pthv/reach/"

// TestDependencyRules keeps the dependency rules of ARCHITECTURE.md ("dependencies point
// inward") and of README's Layout true, from `go list`'s transitive dependencies of every
// package of the module (tests excluded).
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	aws := func(d string) bool { return strings.HasPrefix(d, "github.com/aws/") }
	is := func(pkg string) func(string) bool { return func(d string) bool { return d == mod+pkg } }
	under := func(pkg string) func(string) bool {
		return func(d string) bool { return d == mod+pkg || strings.HasPrefix(d, mod+pkg+"/") }
	}
	rules := []struct {
		why  string
		pkgs []string
		bad  func(string) bool
	}{
		{"adapters and services import the domain root, never the import pipeline",
			[]string{"internal/store", "internal/blob", "internal/queue", "internal/api", "internal/reachsvc", "internal/cohortsvc", "internal/ingest"},
			is("internal/importer")},
		{"domain packages import no AWS package",
			[]string{"internal/pthv", "internal/roster", "internal/cohort", "internal/reach", "internal/consent", "internal/visits",
				"internal/training", "internal/csvrows", "internal/importer", "internal/cohortsvc", "internal/reachsvc",
				"internal/store/memstore", "internal/store/storetest",
				"connectors/oneroster/csv"},
			aws},
		{"the pipeline imports connectors and the domain, never an adapter",
			[]string{"internal/importer"},
			func(d string) bool {
				return is("internal/store")(d) || is("internal/blob")(d) || is("internal/queue")(d)
			}},
		{"functions/api links neither the OneRoster validator nor the import pipeline",
			[]string{"functions/api"},
			func(d string) bool { return under("connectors/oneroster")(d) || is("internal/importer")(d) }},
		{"the store takes its records from the domain, not from the cohort service",
			[]string{"internal/store"}, is("internal/cohortsvc")},
		{"visits take the school year from the domain, not from training",
			[]string{"internal/visits"}, is("internal/training")},
	}
	for _, r := range rules {
		for _, p := range r.pkgs {
			d, ok := deps[p]
			if !ok {
				t.Errorf("%s: package %s not found by go list", r.why, p)
				continue
			}
			if i := slices.IndexFunc(d, r.bad); i >= 0 {
				t.Errorf("%s: %s depends on %s", r.why, p, d[i])
			}
		}
	}
	// The domain root imports the standard library and the OneRoster model only.
	for _, d := range deps["internal/pthv"] {
		first, _, _ := strings.Cut(d, "/")
		if strings.Contains(first, ".") && d != mod+"internal/roster" {
			t.Errorf("internal/pthv depends on %s; it holds types, rules and coded errors only", d)
		}
	}
}

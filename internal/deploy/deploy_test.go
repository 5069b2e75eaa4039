package deploy

import (
	"os"
	"slices"
	"testing"
)

// TestEveryFunctionHasASpec keeps Functions and the folders under functions/ in step.
func TestEveryFunctionHasASpec(t *testing.T) {
	ents, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	var dirs, specs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, f := range Functions {
		specs = append(specs, f.Base)
		if f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900 || f.MemoryMB < 128 || f.MemoryMB > 10240 {
			t.Errorf("%s: timeout %d s, memory %d MB outside Lambda's limits", f.Base, f.TimeoutSeconds, f.MemoryMB)
		}
	}
	if !slices.Equal(dirs, specs) {
		t.Fatalf("functions/ has %v, deploy.Functions %v", dirs, specs)
	}
}

// TestFunctionsMatchTheFile keeps Functions (used by the local stack) equal to
// infra/functions.json (used by Terraform).
func TestFunctionsMatchTheFile(t *testing.T) {
	f, err := LoadFunctionsFile("../../infra/functions.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Functions) != len(Functions) {
		t.Fatalf("infra/functions.json has %d functions, deploy.Functions %d", len(f.Functions), len(Functions))
	}
	for _, fn := range Functions {
		spec, ok := f.Functions[fn.Base]
		if !ok {
			t.Fatalf("%s is not in infra/functions.json", fn.Base)
		}
		if spec.Timeout != fn.TimeoutSeconds || spec.Memory != fn.MemoryMB || spec.ReservedConcurrency != fn.ReservedConcurrency {
			t.Errorf("%s: file %+v, Go %+v", fn.Base, spec, fn)
		}
	}
}

package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestTheLimitIsAShareOfTheFunctionsMemory(t *testing.T) {
	for _, tc := range []struct {
		mb   string
		want int64
	}{{"512", 456340275}, {"3008", 2680999116}, {"", 0}, {"-1", 0}, {"lots", 0}} {
		if got := Limit(tc.mb); got != tc.want {
			t.Errorf("Limit(%q) = %d, want %d", tc.mb, got, tc.want)
		}
	}
	defer debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
	if n := Set(); n != 456340275 || debug.SetMemoryLimit(-1) != n {
		t.Errorf("Set() = %d, runtime limit %d", n, debug.SetMemoryLimit(-1))
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	if n := Set(); n != 0 {
		t.Errorf("with GOMEMLIMIT set, Set() = %d, want 0 (the environment wins)", n)
	}
}

// Every function sets the limit first thing.
func TestEveryFunctionSetsTheLimit(t *testing.T) {
	mains, err := filepath.Glob("../../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions: %v", err)
	}
	for _, m := range mains {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "func main() {\n\tmemlimit.Set()") {
			t.Errorf("%s: main does not start with memlimit.Set()", m)
		}
	}
}

package infra

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/deploy"
)

const module = "github.com/pthv/reach"

// goPackage is what `go list -deps -json` says of one package.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

// moduleDeps lists the module's packages a function's main package depends on.
func moduleDeps(t *testing.T, fn string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./functions/"+fn)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./functions/%s: %v", fn, err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// envReads returns the environment variables a function's code reads: the arguments of
// os.Getenv and os.LookupEnv, and every string constant named Env… passed to any call (the
// code names its variables as constants such as deploy.EnvTable and hands them to helpers).
// Variables the Lambda runtime sets (AWS_…) are not the deployment's to set.
func envReads(t *testing.T, fn string) []string {
	t.Helper()
	pkgs := moduleDeps(t, fn)
	consts := map[string]string{} // Env… constant name → value
	var files []*ast.File
	fset := token.NewFileSet()
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, af)
			for _, d := range af.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) && strings.HasPrefix(n.Name, "Env") {
							if bl, ok := vs.Values[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
								consts[n.Name], _ = strconv.Unquote(bl.Value)
							}
						}
					}
				}
			}
		}
	}
	name := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			return x.Sel.Name
		}
		return ""
	}
	seen := map[string]bool{}
	for _, af := range files {
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			isGetenv := false
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
					isGetenv = true
				}
			}
			for i, a := range call.Args {
				if bl, ok := a.(*ast.BasicLit); ok && isGetenv && i == 0 && bl.Kind == token.STRING {
					v, _ := strconv.Unquote(bl.Value)
					seen[v] = true
				}
				if v, ok := consts[name(a)]; ok && (isGetenv || strings.HasPrefix(name(a), "Env")) {
					seen[v] = true
				}
			}
			return true
		})
	}
	var out []string
	for v := range seen {
		// AWS_* come from the Lambda runtime; GOMEMLIMIT is the Go runtime's own (memlimit
		// reads it only to leave a limit given by hand alone), set by no one in Terraform.
		if !strings.HasPrefix(v, "AWS_") && v != "GOMEMLIMIT" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// TestEnvironmentIsWhatTheCodeReads: each function's "env" in functions.json (the variables
// Terraform sets, and only those) is exactly what its code reads.
func TestEnvironmentIsWhatTheCodeReads(t *testing.T) {
	file, err := deploy.LoadFunctionsFile("functions.json")
	if err != nil {
		t.Fatal(err)
	}
	for fn, spec := range file.Functions {
		got := envReads(t, fn)
		want := slices.Sorted(slices.Values(spec.Env))
		if !slices.Equal(got, want) {
			t.Errorf("%s reads %v; infra/functions.json sets %v", fn, got, want)
		}
	}
}

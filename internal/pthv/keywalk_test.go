package pthv

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// keyLiteral is a string literal that reads as a piece of a key: letters, digits and
// "._-~" with a '/' (S3) or '#' (DynamoDB) — "reports/", "/imports/", "I#", "#".
var keyLiteral = regexp.MustCompile(`^[A-Za-z0-9_.~-]*[/#][A-Za-z0-9_.~/#-]*$`)

// keyFormat is a fmt format that puts a value next to a '/' or '#'.
var keyFormat = regexp.MustCompile(`[/#]%|%[-+ #0-9.]*[sdvqx][/#]`)

// Key positions: where a string is used as a key. The blob layer's key argument (Put, Get,
// ListDrops: the third), the DynamoDB store's key and value helpers (key, str), a struct field
// that holds a key, the result of a function that makes one, and a variable named for one.
var (
	keyCalls  = map[string]bool{"Put": true, "Get": true, "ListDrops": true}
	itemCalls = map[string]bool{"key": true, "str": true}
	keyFields = map[string]bool{"Key": true, "Prefix": true, "StateKey": true, "PlanKey": true, "Snapshot": true, "CSVKey": true}
	keyFunc   = regexp.MustCompile(`(?i)(key|prefix|pk|item|subject)$`)
	keyVar    = regexp.MustCompile(`(?i)^(key|prefix|pk|sk|dir|[a-z]+Key|[a-z]+Prefix)$`)
)

// handBuiltKeys returns where a Go file builds a key by hand in a key position: a '+' with a
// key literal in its chain, fmt.Sprintf with a key format, or path.Join. A line marked
// pthv:own-key (a key that is not built from data by the service: S3's own name of an object,
// a file path of the site) is not reported, nor is the builder itself (keys.go).
func handBuiltKeys(fset *token.FileSet, f *ast.File) []string {
	own := map[int]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.Contains(c.Text, "pthv:own-key") {
				line := fset.Position(c.Pos()).Line
				own[line], own[line+1] = true, true
			}
		}
	}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	var out []string
	seen := map[token.Pos]bool{}
	report := func(n ast.Node, what string) {
		if p := fset.Position(n.Pos()); !own[p.Line] && !seen[n.Pos()] {
			seen[n.Pos()] = true
			out = append(out, fmt.Sprintf("%s:%d: %s", p.Filename, p.Line, what))
		}
	}
	// check reports a key built by hand in e: a '+' chain, fmt.Sprintf or path.Join.
	var check func(e ast.Expr)
	check = func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.ParenExpr:
			check(e.X)
		case *ast.BinaryExpr:
			if e.Op != token.ADD {
				return
			}
			var hand bool
			var chain func(x ast.Expr)
			chain = func(x ast.Expr) {
				if b, ok := x.(*ast.BinaryExpr); ok && b.Op == token.ADD {
					chain(b.X)
					chain(b.Y)
				} else if s, ok := lit(x); ok && keyLiteral.MatchString(s) {
					hand = true
				} else {
					check(x)
				}
			}
			chain(e)
			if hand {
				report(e, "a key built with + (use pthv.Key, KeyPrefix, ItemKey, JoinItem or ItemPrefix)")
			}
		case *ast.CallExpr:
			sel, ok := e.Fun.(*ast.SelectorExpr)
			if !ok {
				return
			}
			if pkg, ok := sel.X.(*ast.Ident); ok {
				switch {
				case pkg.Name == "path" && sel.Sel.Name == "Join":
					report(e, "a key built with path.Join")
				case pkg.Name == "fmt" && sel.Sel.Name == "Sprintf" && len(e.Args) > 1:
					if format, ok := lit(e.Args[0]); ok && keyFormat.MatchString(format) {
						report(e, "a key built with fmt.Sprintf")
					}
				}
			}
		}
	}
	name := func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name
		case *ast.SelectorExpr:
			return e.Sel.Name
		}
		return ""
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			switch fn := name(n.Fun); {
			case keyCalls[fn] && len(n.Args) >= 3:
				check(n.Args[2])
			case itemCalls[fn]:
				for _, a := range n.Args {
					check(a)
				}
			}
		case *ast.KeyValueExpr:
			if keyFields[name(n.Key)] {
				check(n.Value)
			}
		case *ast.FuncDecl:
			if n.Body != nil && keyFunc.MatchString(n.Name.Name) {
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if r, ok := m.(*ast.ReturnStmt); ok {
						for _, e := range r.Results {
							check(e)
						}
					}
					_, lit := m.(*ast.FuncLit)
					return !lit
				})
			}
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if keyVar.MatchString(name(l)) && i < len(n.Rhs) {
					check(n.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, l := range n.Names {
				if keyVar.MatchString(l.Name) && i < len(n.Values) {
					check(n.Values[i])
				}
			}
		}
		return true
	})
	return out
}

// moduleRoot is the repository root: the folder of go.mod above this package.
func moduleRoot(t *testing.T) string {
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
		} else {
			t.Fatal("no go.mod above the package")
		}
	}
}

// TestNoKeyIsBuiltByHand walks every Go file of the module but tests and finds no key built by
// hand: every S3 key and DynamoDB key made of data goes through the checked builders.
func TestNoKeyIsBuiltByHand(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	files := 0
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "bin" || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || rel == filepath.Join("internal", "pthv", "keys.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, rel, src, parser.ParseComments)
		if err != nil {
			return err
		}
		files++
		found = append(found, handBuiltKeys(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("walked %d Go files: the walk missed the module", files)
	}
	for _, f := range found {
		t.Error(f)
	}
	t.Logf("%d Go files walked, %d keys built by hand", files, len(found))
}

// TestTheKeyWalkCatchesAPlantedFile: the walk finds each way of building a key by hand in a
// planted file, and lets a marked line and the builders pass.
func TestTheKeyWalkCatchesAPlantedFile(t *testing.T) {
	src := `package planted

import (
	"fmt"
	"path"

	"github.com/pthv/reach/internal/pthv"
)

func keys(b blobs, district, school, id string) {
	b.Put(ctx, bucket, "reports/"+district+"/cohorts/"+school, "text/csv", nil)
	b.Get(ctx, bucket, fmt.Sprintf("plans/%s/%s.jsonl.gz", district, id))
	b.ListDrops(ctx, bucket, path.Join("state", district, id))
	_ = pthv.Object{Key: "drops/" + district + "/x.zip"}
	key := "I#" + district
	b.Put(ctx, bucket, pthv.Key("reports", district, "imports", id+".json"), "", nil)
	b.Put(ctx, bucket, "public/"+id, "", nil) // pthv:own-key (a site path)
	msg := fmt.Sprintf("%d records in %s/%s", 3, district, id)
	url := "https://example.org/" + id
	other := district + "#" + id
	_, _, _, _ = key, msg, url, other
}

func claimKey(o pthv.Object) string { return "O#" + o.Bucket + "/" + o.Key }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "planted.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	got := handBuiltKeys(fset, f)
	var lines []int
	for _, g := range got {
		var line int
		fmt.Sscanf(strings.TrimPrefix(g, "planted.go:"), "%d", &line)
		lines = append(lines, line)
	}
	if want := []int{11, 12, 13, 14, 15, 24}; !slices.Equal(lines, want) {
		t.Errorf("flagged lines %v, want %v:\n%s", lines, want, strings.Join(got, "\n"))
	}
}

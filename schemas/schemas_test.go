package schemas

import (
	"io/fs"
	"strings"
	"testing"
)

func TestEverySchemaCompiles(t *testing.T) {
	names, err := fs.Glob(files, "*.schema.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no schemas embedded: %v", err)
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			if _, err := schema(n); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateRejectsANonConformingDocument(t *testing.T) {
	err := Validate("validation-report.schema.json", []byte(`{"reportVersion":"1"}`))
	if err == nil || !strings.Contains(err.Error(), "does not conform") {
		t.Fatalf("want a conformance error, got %v", err)
	}
	if err := Validate("nope.schema.json", []byte(`{}`)); err == nil {
		t.Fatal("want an error for a missing schema")
	}
}

func TestEverySchemaIDMatchesItsFileName(t *testing.T) {
	names, _ := fs.Glob(files, "*.schema.json")
	for _, n := range names {
		raw, _ := files.ReadFile(n)
		if !strings.Contains(string(raw), `"$id": "`+BaseURL+n+`"`) {
			t.Errorf("%s: $id must be %s%s", n, BaseURL, n)
		}
	}
}

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

// TestReachCountsNullable: a state's suppressed count is null in both reach schemas; a
// national count may be null only when a single state has sites (the national totals are
// then that state's and follow its suppression).
func TestReachCountsNullable(t *testing.T) {
	row := func(state, visits string) string {
		s := ""
		switch {
		case state == "":
			s = `"states":2,`
		case len(state) == 1:
			s = `"states":` + state + `,`
		default:
			s = `"state":"` + state + `",`
		}
		return `{"year":"2025-2026",` + s + `"districts":1,"sites":1,"visits":` + visits + `,"visitsFirst":null,"visitsSecond":null,` +
			`"familiesVisited":null,"studentsReached":null,"students":30,"educatorsTrained":3,"educatorsTrainedCumulative":5,"educatorsVisiting":2,"schoolsAtThreshold":1}`
	}
	public := func(national, state string) []byte {
		return []byte(`{"year":"2025-2026","generated":"2026-07-02T03:00:00Z","national":` + national + `,"states":[` + state + `],"note":""}`)
	}
	api := func(totals string) []byte {
		return []byte(`{"year":"2025-2026","totals":` + totals + `}`)
	}
	full := strings.NewReplacer("null", "12").Replace
	if err := Validate("reach.schema.json", public(full(row("", "24")), row("WY", "null"))); err != nil {
		t.Errorf("a suppressed state count: %v", err)
	}
	if err := Validate("reach.schema.json", public(row("", "null"), full(row("WY", "24")))); err == nil {
		t.Error("a null national count validates with two states with sites")
	}
	if err := Validate("reach.schema.json", public(row("1", "null"), row("WY", "null"))); err != nil {
		t.Errorf("a null national count with a single state with sites: %v", err)
	}
	if err := Validate("reach.schema.json", public(strings.Replace(full(row("", "24")), `"states":2,`, "", 1), full(row("WY", "24")))); err == nil {
		t.Error("national totals without states validate")
	}
	if err := Validate("reach-api.schema.json", api(row("WY", "null"))); err != nil {
		t.Errorf("a suppressed state count in the API: %v", err)
	}
	if err := Validate("reach-api.schema.json", api(row("", "null"))); err == nil {
		t.Error("a null national count validates in the API with two states with sites")
	}
	if err := Validate("reach-api.schema.json", api(row("1", "null"))); err != nil {
		t.Errorf("a null national count in the API with a single state with sites: %v", err)
	}
}

package cohort

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRequestRefusesTargeting(t *testing.T) {
	base := `"district":"d1","school":"s1","year":"2025-2026"`
	fields := []string{
		"gpa", "attendance", "behavior", "iep", "ell", "language", "race", "program",
		"grade_filter", "ethnicity", "gender", "free_lunch", "frl", "sped", "test_scores",
		"suspensions", "absences", "zip", "income", "homeroom_filter", "families", "students",
		"exclude", "include", "filter", "priority", "weights",
	}
	for _, f := range fields {
		t.Run(f, func(t *testing.T) {
			for _, v := range []string{`true`, `"low"`, `[1,2]`, `{"lt":2.0}`, `null`} {
				_, err := ParseRequest([]byte(`{` + base + `,"` + f + `":` + v + `}`))
				var te *TargetingError
				if !errors.As(err, &te) {
					t.Fatalf("%s=%s: got %v, want a *TargetingError", f, v, err)
				}
				if te.Field != f {
					t.Errorf("refused field %q, want %q", te.Field, f)
				}
				msg := err.Error()
				for _, want := range []string{"not targeted", "school, grade, class sections, family links and consent", `"` + f + `"`} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
			}
		})
	}
	t.Run("several", func(t *testing.T) {
		_, err := ParseRequest([]byte(`{` + base + `,"race":"x","gpa":3}`))
		var te *TargetingError
		if !errors.As(err, &te) || !cmp.Equal(te.Fields, []string{"gpa", "race"}) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestParseRequestValid(t *testing.T) {
	tests := []struct {
		in   string
		want Request
	}{
		{`{"district":"d1","school":"s1","year":"2025-2026"}`,
			Request{District: "d1", School: "s1", Year: "2025-2026", Mode: ModeCrossSection, Coverage: 0.10}},
		{`{"district":"d1","school":"s1","year":"2025-2026","mode":"all","seed":42}`,
			Request{District: "d1", School: "s1", Year: "2025-2026", Mode: ModeAll, Coverage: 0.10, Seed: 42}},
		{`{"district":"d1","school":"s1","year":"1999-2000","mode":"cross-section","coverage":1,"seed":18446744073709551615,"max_families_per_pair":12}`,
			Request{District: "d1", School: "s1", Year: "1999-2000", Mode: ModeCrossSection, Coverage: 1, Seed: 18446744073709551615, MaxFamiliesPerPair: 12}},
		{`{"district":"d1","school":"s1","year":"2025-2026","coverage":0.25}`,
			Request{District: "d1", School: "s1", Year: "2025-2026", Mode: ModeCrossSection, Coverage: 0.25}},
	}
	for _, tt := range tests {
		got, err := ParseRequest([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseRequestInvalid(t *testing.T) {
	tests := map[string]string{
		`{"school":"s1","year":"2025-2026"}`:                                            "district",
		`{"district":"d1","year":"2025-2026"}`:                                          "school",
		`{"district":"d1","school":"s1"}`:                                               "year",
		`{"district":"d1","school":"s1","year":"2025-2027"}`:                            "consecutive",
		`{"district":"d1","school":"s1","year":"2025/2026"}`:                            "year",
		`{"district":"d1","school":"s1","year":"25-26"}`:                                "year",
		`{"district":"d1","school":"s1","year":"2025-2026","mode":"some"}`:              "mode",
		`{"district":"d1","school":"s1","year":"2025-2026","coverage":1.5}`:             "coverage",
		`{"district":"d1","school":"s1","year":"2025-2026","coverage":-0.1}`:            "coverage",
		`{"district":"d1","school":"s1","year":"2025-2026","seed":-1}`:                  "seed",
		`{"district":"d1","school":"s1","year":"2025-2026","coverage":"all"}`:           "coverage",
		`{"district":"d1","school":"s1","year":"2025-2026"} {}`:                         "after",
		`{"district":"d1","school":"s1","year":"2025-2026","max_families_per_pair":-2}`: "max_families_per_pair",
		`[]`:   "cohort request",
		`null`: "district",
	}
	for in, want := range tests {
		_, err := ParseRequest([]byte(in))
		if err == nil {
			t.Errorf("%s: accepted", in)
			continue
		}
		var te *TargetingError
		if errors.As(err, &te) {
			t.Errorf("%s: a validation error came back as a targeting error: %v", in, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not mention %q", in, err, want)
		}
	}
}

func TestNewSeed(t *testing.T) {
	a, b := NewSeed(), NewSeed()
	if a == 0 || b == 0 || a == b {
		t.Errorf("NewSeed gave %d and %d", a, b)
	}
}

func TestAGivenFieldIsNeverDefaulted(t *testing.T) {
	for _, body := range []string{
		`{"district":"d","school":"s","year":"2026-2027","coverage":0}`,
		`{"district":"d","school":"s","year":"2026-2027","mode":""}`,
		`{"district":"d","school":"s","year":"2026-2027","coverage":null}`,
	} {
		if _, err := ParseRequest([]byte(body)); err == nil {
			t.Errorf("%s was accepted", body)
		}
	}
	r, err := ParseRequest([]byte(`{"district":"d","school":"s","year":"2026-2027"}`))
	if err != nil || r.Coverage != DefaultCoverage || r.Mode != ModeCrossSection {
		t.Fatalf("omitted fields take the defaults: %+v %v", r, err)
	}
}

package cohort

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParseRequest: any input either parses into a request that validates, or is refused;
// a refused field is always one the request does not have.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"district":"d1","school":"s1","year":"2025-2026","mode":"cross-section","coverage":0.1,"seed":7}`))
	f.Add([]byte(`{"district":"d1","school":"s1","year":"2025-2026","gpa":"<2.0"}`))
	f.Add([]byte(`{"District":"d1","SCHOOL":"s1","year":"2025-2026","mode":"all"}`))
	f.Add([]byte(`{"district":"d1"} {}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		var te *TargetingError
		switch {
		case err == nil:
			if verr := r.Validate(); verr != nil {
				t.Fatalf("parsed request does not validate: %v", verr)
			}
		case errors.As(err, &te):
			var raw map[string]json.RawMessage
			if json.Unmarshal(b, &raw) != nil {
				t.Fatalf("a targeting error for input that is not a JSON object: %v", err)
			}
			if _, ok := raw[te.Field]; !ok || isRequestField(te.Field) {
				t.Fatalf("refused field %q is not an unknown field of the input", te.Field)
			}
		}
	})
}

func isRequestField(k string) bool {
	for _, f := range requestFields {
		if strings.EqualFold(f, k) {
			return true
		}
	}
	return false
}

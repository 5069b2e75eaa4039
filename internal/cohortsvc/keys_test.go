package cohortsvc

import (
	"path"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
)

func TestACohortsKeysStayUnderItsDistrictWhateverTheSchoolID(t *testing.T) {
	for _, school := range []string{"sch-001", "../../dist-crash/cohorts/sch-001", "..", "-rf", "a/./b"} {
		pop, csv := cohortKeys(&cohort.Record{ID: "coh-1", District: "dist-m", School: school, Year: "2026-2027"})
		for _, k := range []string{pop, csv} {
			if err := pthv.CheckKey(k); err != nil {
				t.Errorf("school %q: %v", school, err)
			}
			if clean := path.Clean(k); !strings.HasPrefix(clean, "reports/dist-m/cohorts/") || strings.Count(clean, "/") != 5 {
				t.Errorf("school %q: %s resolves to %s", school, k, clean)
			}
		}
	}
}

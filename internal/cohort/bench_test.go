package cohort

import (
	"fmt"
	"testing"
)

// BenchmarkSelectDistrict selects and pairs the cohorts of a district of 222 schools of
// about 450 students each (grades KG–05, three homerooms a grade, 24 eligible educators a
// school). One op is the whole district.
func BenchmarkSelectDistrict(b *testing.B) {
	type school struct {
		req  Request
		fams []Family
		byID map[string]Family
		eds  []Educator
	}
	schools := make([]school, 222)
	students := 0
	for i := range schools {
		sp := schoolSpec{
			name:   fmt.Sprintf("sch-%03d", i),
			grades: []string{"KG", "01", "02", "03", "04", "05"},
			homerooms: map[string][]int{
				"KG": {28, 26, 25}, "01": {27, 26, 24}, "02": {26, 25, 24},
				"03": {27, 25, 23}, "04": {26, 24, 22}, "05": {25, 24, 23},
			},
			siblingP: 0.12, orphanP: 0.03, otherP: 0.05,
		}
		st, other := sp.build(uint64(i + 1))
		students += len(st)
		fams := BuildFamilies(st, other)
		schools[i] = school{req: request(sp.name, uint64(1000+i)), fams: fams, byID: familyMap(fams), eds: educatorsFor(fams, 24)}
	}
	b.ReportMetric(float64(students)/float64(len(schools)), "students/school")
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range schools {
			c, err := Select(s.req, s.fams, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := Pair(c, s.byID, s.eds); err != nil {
				b.Fatal(err)
			}
		}
	}
}

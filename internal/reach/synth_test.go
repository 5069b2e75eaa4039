package reach

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/pthv"
)

// synthShapes are the option sets the known-answer and property tests run over.
var synthShapes = map[string]SynthOptions{
	"default":      {},
	"out of year":  {OutOfYear: true},
	"small cells":  {States: 4, DistrictsPerState: [2]int{1, 4}, SitesPerDistrict: [2]int{1, 5}, FamiliesPerSite: [2]int{1, 14}, EducatorsPerDistrict: [2]int{2, 8}, OutOfYear: true},
	"tiny":         {States: 2, DistrictsPerState: [2]int{1, 2}, SitesPerDistrict: [2]int{1, 2}, FamiliesPerSite: [2]int{1, 4}, EducatorsPerDistrict: [2]int{2, 3}},
	"large":        {States: 6, DistrictsPerState: [2]int{3, 6}, SitesPerDistrict: [2]int{2, 8}, FamiliesPerSite: [2]int{20, 90}},
	"other year":   {Year: "2023-2024", OutOfYear: true}, // contains 29 February 2024
	"many states":  {States: 60, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{1, 1}, FamiliesPerSite: [2]int{1, 3}},
	"one district": {States: 1, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{3, 3}},
	// A nation of one state: its counts are the national totals.
	"single state":       {States: 1, DistrictsPerState: [2]int{1, 3}, SitesPerDistrict: [2]int{1, 3}, FamiliesPerSite: [2]int{1, 12}, EducatorsPerDistrict: [2]int{2, 6}},
	"small single state": {States: 1, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{1, 3}, FamiliesPerSite: [2]int{1, 4}, EducatorsPerDistrict: [2]int{2, 3}},
}

// TestKnownAnswers drives Synth's records through ComputeDistrict and Rollup and compares
// every level with the figures Synth decided while designing them.
func TestKnownAnswers(t *testing.T) {
	for name, opts := range synthShapes {
		for seed := range uint64(12) {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				inputs, want := Synth(seed, opts)
				year := inputs[0].Year
				var ds []DistrictMetrics
				for i, in := range inputs {
					got := ComputeDistrict(in)
					if d := cmp.Diff(want.Districts[i], got); d != "" {
						t.Fatalf("district %s (-want +got):\n%s", in.District, d)
					}
					ds = append(ds, got)
				}
				national, byState := Rollup(year, ds)
				if d := cmp.Diff(want.National, national); d != "" {
					t.Errorf("national (-want +got):\n%s", d)
				}
				if d := cmp.Diff(want.ByState, byState); d != "" {
					t.Errorf("states (-want +got):\n%s", d)
				}
				assertStatesAddUp(t, national, byState)
			})
		}
	}
}

// assertStatesAddUp checks field by field, by reflection, that the state totals add up
// to the national ones, and that national states counts the states with a site.
func assertStatesAddUp(t *testing.T, national Totals, byState map[string]Totals) {
	t.Helper()
	nv := reflect.ValueOf(national)
	withSites := 0
	sums := make([]int64, nv.NumField())
	for code, st := range byState {
		if st.State != code || st.Year != national.Year || st.States != 0 {
			t.Errorf("state %s totals: %+v", code, st)
		}
		if st.Sites > 0 {
			withSites++
		}
		sv := reflect.ValueOf(st)
		for i := range sv.NumField() {
			if sv.Field(i).Kind() == reflect.Int {
				sums[i] += sv.Field(i).Int()
			}
		}
	}
	for i := range nv.NumField() {
		f := nv.Type().Field(i)
		if f.Type.Kind() != reflect.Int || f.Name == "States" {
			continue
		}
		if sums[i] != nv.Field(i).Int() {
			t.Errorf("%s: states add up to %d, national is %d", f.Name, sums[i], nv.Field(i).Int())
		}
	}
	if national.States != withSites {
		t.Errorf("national states %d, states with a site %d", national.States, withSites)
	}
}

// TestSynthIsDeterministic: the same seed makes the same data; another seed other data.
func TestSynthIsDeterministic(t *testing.T) {
	a, at := Synth(7, SynthOptions{OutOfYear: true})
	b, bt := Synth(7, SynthOptions{OutOfYear: true})
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(at, bt) {
		t.Fatal("Synth is not deterministic")
	}
	c, _ := Synth(8, SynthOptions{OutOfYear: true})
	if reflect.DeepEqual(a, c) {
		t.Fatal("two seeds made the same data")
	}
}

// TestSynthCoversTheCases makes sure the known-answer test means something: over a few
// seeds, the records contain every case the metrics must handle.
func TestSynthCoversTheCases(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(20) {
		inputs, want := Synth(seed, SynthOptions{OutOfYear: true})
		for i, in := range inputs {
			sy, _ := pthv.ParseSchoolYear(in.Year)
			first, last := sy.FirstDay(), sy.LastDay()
			completedBy := map[string]map[int]int{} // school/family → number → count
			datesBy := map[string]map[string]bool{}
			familiesOf := map[string]map[string]string{} // school → student → family
			for _, v := range in.Visits {
				key := v.School + "/" + v.Family
				if v.Status == StatusCancelled {
					seen["cancelled"]++
					if completedBy[key] == nil {
						seen["cancelled, maybe never completed"]++
					}
					continue
				}
				if v.Date < first || v.Date > last {
					seen["completed outside the year"]++
					continue
				}
				if completedBy[key] == nil {
					completedBy[key] = map[int]int{}
					datesBy[key] = map[string]bool{}
				}
				completedBy[key][v.Number]++
				datesBy[key][v.Date] = true
				if len(v.Educators) > 2 {
					seen["three educators"]++
				}
				if familiesOf[v.School] == nil {
					familiesOf[v.School] = map[string]string{}
				}
				for _, s := range v.Students {
					if f, ok := familiesOf[v.School][s]; ok && f != v.Family {
						seen["a student in two families"]++
					}
					familiesOf[v.School][s] = v.Family
				}
			}
			for key, n := range completedBy {
				if n[1] > 0 && n[2] > 0 && len(datesBy[key]) == 2 {
					seen["a family visited twice, on two dates"]++
				}
				if n[1] == 0 {
					seen["a second visit only"]++
				}
			}
			schoolsOf := map[string]int{}
			for _, fams := range familiesOf {
				for s := range fams {
					schoolsOf[s]++
				}
			}
			for _, n := range schoolsOf {
				if n > 1 {
					seen["a student at two schools"]++
				}
			}
			for _, tr := range in.Trainings {
				switch {
				case tr.Date == first:
					seen["training on the first day"]++
				case tr.Date == last:
					seen["training on the last day"]++
				case tr.Date < first:
					seen["training before the year"]++
				case tr.Date > last:
					seen["training after the year"]++
				}
			}
			d := want.Districts[i]
			if d.Sites == 0 {
				seen["a district without sites"]++
			}
			if len(in.Schools) > d.Sites {
				seen["a school that is not a site"]++
			}
			for _, s := range d.PerSite {
				switch {
				case s.StudentsReached*10 == s.Students:
					seen["share exactly 10 %"]++
				case s.StudentsReached*10 == s.Students-1:
					seen["share just under 10 %"]++
				}
				if s.Visits < MinCell {
					seen["a site with under 10 visits"]++
				}
			}
			if d.IgnoredVisits > 0 {
				seen["ignored visits"]++
			}
		}
	}
	for _, c := range []string{"cancelled", "cancelled, maybe never completed", "completed outside the year", "three educators",
		"a student in two families", "a family visited twice, on two dates", "a second visit only", "a student at two schools",
		"training on the first day", "training on the last day", "training before the year", "training after the year",
		"a district without sites", "a school that is not a site", "share exactly 10 %", "share just under 10 %",
		"a site with under 10 visits", "ignored visits"} {
		if seen[c] == 0 {
			t.Errorf("no %s in 20 seeds", c)
		}
	}
	if t.Failed() {
		t.Logf("seen: %v", seen)
	}
}

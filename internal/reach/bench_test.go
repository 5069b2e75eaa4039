package reach

import "testing"

// nationalShape is twice PTHV's 2022-23 reach: about 800 sites in 40 states, 66,000
// completed visits and 5,500 educators trained in the year.
var nationalShape = SynthOptions{
	States: 40, DistrictsPerState: [2]int{5, 5}, SitesPerDistrict: [2]int{4, 4},
	FamiliesPerSite: [2]int{55, 67}, EducatorsPerDistrict: [2]int{40, 52},
}

// BenchmarkComputeNational computes every district, rolls up, publishes and checks. One op
// is the whole nation's year.
func BenchmarkComputeNational(b *testing.B) {
	inputs, want := Synth(2023, nationalShape)
	b.ReportAllocs()
	for b.Loop() {
		ds := make([]DistrictMetrics, len(inputs))
		for i, in := range inputs {
			ds[i] = ComputeDistrict(in)
		}
		national, byState := Rollup(inputs[0].Year, ds)
		p := Publish(inputs[0].Year, national, byState, ds)
		if err := p.Check(); err != nil {
			b.Fatal(err)
		}
		if p.National.Visits != CountOf(want.National.Visits) && p.National.States > 1 {
			b.Fatal("wrong national visits")
		}
	}
	b.ReportMetric(float64(want.National.Sites), "sites")
	b.ReportMetric(float64(want.National.States), "states")
	b.ReportMetric(float64(want.National.Visits), "visits")
	b.ReportMetric(float64(want.National.EducatorsTrained), "trained")
}

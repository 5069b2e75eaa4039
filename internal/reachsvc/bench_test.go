package reachsvc

import (
	"context"
	"testing"
	"time"

	"github.com/pthv/reach/internal/reach"
)

// BenchmarkFullNational recomputes a national year at twice PTHV's 2022-23 reach (about
// 800 sites in 40 states, 66,000 visits, 5,500 educators trained) through the service on an
// in-memory store, then one district's incremental update. It reports the items each reads
// and writes, and the incremental update's time as a share of the full run's, measured in
// the same run. integration-tests' BenchmarkReach measures the same on moto, on fewer states.
func BenchmarkFullNational(b *testing.B) {
	shape := reach.SynthOptions{Year: year, States: 40, DistrictsPerState: [2]int{5, 5}, SitesPerDistrict: [2]int{4, 4},
		FamiliesPerSite: [2]int{55, 67}, EducatorsPerDistrict: [2]int{40, 52}}
	ins, truth := reach.Synth(2023, shape)
	ctx := context.Background()
	var full, inc *Result
	var fullTime, incTime time.Duration
	for b.Loop() {
		st := newStore(b, ins)
		svc, _, _ := newService(st)
		svc.Metrics = nil
		t0 := time.Now()
		var err error
		if full, err = svc.Full(ctx); err != nil {
			b.Fatal(err)
		}
		fullTime += time.Since(t0)
		v := ins[0].Visits[0]
		v.ID, v.Status, v.Number, v.Family, v.Students = "bench-extra", "completed", 1, "fam-extra", []string{"stu-extra"}
		putVisit(b, st, ins[0].District, v)
		t1 := time.Now()
		if inc, err = svc.Recompute(ctx, []DistrictYear{{District: ins[0].District, Year: year}}); err != nil {
			b.Fatal(err)
		}
		incTime += time.Since(t1)
	}
	b.ReportMetric(float64(truth.National.Sites), "sites")
	b.ReportMetric(float64(truth.National.Visits), "visits")
	b.ReportMetric(float64(full.ItemsRead), "full-items-read")
	b.ReportMetric(float64(full.ItemsWritten), "full-items-written")
	b.ReportMetric(float64(inc.ItemsRead), "incremental-items-read")
	b.ReportMetric(float64(inc.ItemsWritten), "incremental-items-written")
	b.ReportMetric(float64(incTime)/float64(fullTime), "incremental/full")
}

package cohortsvc

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pthv/reach/internal/cohort"
)

// sizeBlobs keeps only the size of what is written, so that the benchmark's memory is the
// service's, not the outputs'.
type sizeBlobs struct{ bytes atomic.Int64 }

func (b *sizeBlobs) Put(_ context.Context, _, _, _ string, body []byte) error {
	b.bytes.Add(int64(len(body)))
	return nil
}
func (b *sizeBlobs) Get(context.Context, string, string) ([]byte, error) { return nil, nil }

// heapPeak samples the live heap every millisecond until stop is called, and returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return peak.Load() }
}

// BenchmarkSelectEverySchool draws a cross-section cohort, paired, with its coordinator CSV,
// for every school of a generated district (PTHV_BENCH_STUDENTS, default 100,000), through the
// service with an in-memory store: reading each school's roster, building families, selecting,
// pairing, rendering the CSV. One op is the whole district. The baseline, in the same run, is
// reading every school's population alone (loadPopulation); "x-read" is the ratio. Peak heap
// is sampled every millisecond; "peak-MiB" is above the heap held before the loop (the
// in-memory roster).
func BenchmarkSelectEverySchool(b *testing.B) {
	students := benchStudents(b, 100_000)
	f := newFixture(b, students)
	svc := f.svc
	blobs := &sizeBlobs{}
	svc.Blobs = blobs
	svc.Log = nil
	schools := f.schools()
	for _, s := range schools {
		f.enlist(f.teachers(s)...)
	}
	ctx := context.Background()
	var readNS, selectNS time.Duration
	families := 0
	for b.Loop() {
		t0 := time.Now()
		for _, s := range schools {
			if _, err := svc.loadPopulation(ctx, testDistrict, s); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		families = 0
		for _, s := range schools {
			rec, err := svc.Select(ctx, cohort.Request{District: testDistrict, School: s, Year: testYear}, "")
			if err != nil {
				b.Fatal(err)
			}
			if rec.Summary.Status != cohort.StatusReady {
				b.Fatalf("%s: %s", s, rec.Summary.Reason)
			}
			families += rec.Summary.Families
		}
		selectNS += time.Since(t1)
		readNS += t1.Sub(t0)
		f.store.ForgetCohorts()
	}
	b.StopTimer()
	// Peak memory of one invocation: each school alone, after a full GC, the highest heap
	// (live and not yet collected) above the level before it. The largest of these is what
	// the cohort function needs beyond its runtime.
	var schoolPeak uint64
	f.store.ForgetCohorts()
	level := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for _, s := range schools {
		runtime.GC()
		metrics.Read(level)
		stop := heapPeak()
		if _, err := svc.Select(ctx, cohort.Request{District: testDistrict, School: s, Year: testYear}, ""); err != nil {
			b.Fatal(err)
		}
		if p := stop(); p > level[0].Value.Uint64() {
			schoolPeak = max(schoolPeak, p-level[0].Value.Uint64())
		}
	}
	b.ReportMetric(float64(len(schools)), "schools")
	b.ReportMetric(float64(families), "families")
	b.ReportMetric(float64(selectNS.Milliseconds())/float64(b.N), "ms/district")
	b.ReportMetric(float64(selectNS)/float64(readNS), "x-read")
	b.ReportMetric(float64(schoolPeak)/(1<<20), "school-peak-MiB")
	b.ReportMetric(float64(blobs.bytes.Load())/float64(b.N+1)/(1<<20), "output-MiB") // population files and CSVs of one pass
}

// benchStudents is PTHV_BENCH_STUDENTS, or def.
func benchStudents(b *testing.B, def int) int {
	if v, err := strconv.Atoi(os.Getenv("PTHV_BENCH_STUDENTS")); err == nil && v > 0 {
		return v
	}
	return def
}

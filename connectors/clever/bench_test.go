package clever

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	standin "github.com/pthv/reach/internal/standin/clever"
)

// benchStudents is the district size: PTHV_BENCH_STUDENTS, default 100,000.
func benchStudents(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("PTHV_BENCH_STUDENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

// heapPeak samples the heap every 5 ms until stop is called and returns two peaks above
// the heap at start (after a GC), so the stand-in's district (same process) is excluded:
// allocated (live plus garbage not yet collected, what the process must have room for at
// GOGC=100) and live (the heap marked live by the last GC).
func heapPeak() (stop func() (alloc, live uint64)) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	metrics.Read(sample)
	baseAlloc, baseLive := ms.HeapAlloc, sample[0].Value.Uint64()
	var peakAlloc, peakLive atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			metrics.Read(sample)
			if m.HeapAlloc > baseAlloc && m.HeapAlloc-baseAlloc > peakAlloc.Load() {
				peakAlloc.Store(m.HeapAlloc - baseAlloc)
			}
			if l := sample[0].Value.Uint64(); l > baseLive && l-baseLive > peakLive.Load() {
				peakLive.Store(l - baseLive)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) { close(done); <-finished; return peakAlloc.Load(), peakLive.Load() }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingSink counts records and keeps none: the benchmark measures the connector, not
// a consumer.
type countingSink struct{ records, rejected int }

func newCountingSink() *countingSink { return &countingSink{} }

func (s *countingSink) File(roster.Kind, roster.Mode) error { return nil }
func (s *countingSink) Record(roster.Record) error          { s.records++; return nil }
func (s *countingSink) Reject(roster.Kind, string) error    { s.rejected++; return nil }

// BenchmarkPull pulls the whole district from the stand-in over loopback with limit
// 10,000 and maps it: wall time per pull, requests, bytes received, peak heap of the pull
// (staged pages in memory, as Connector.Pull keeps them, plus the mapping). The capped run
// goes through the stand-in's fixed window of 1,200 requests a minute (and the client's
// own), against the floor that cap sets for a smoothed rate: requests ÷ 20 per second.
func BenchmarkPull(b *testing.B) {
	students := benchStudents(b)
	data, err := standin.Generate(rostergen.Options{Students: students, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		capped bool
	}{{"limit10000", false}, {"limit10000-capped1200perMin", true}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := standin.NewServer(data, testToken)
			if bc.capped {
				srv.SetFaults(standin.Faults{RateLimit: 1200, RateWindow: time.Minute})
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			rpm := -1
			if bc.capped {
				rpm = DefaultRequestsPerMinute
			}
			var reqs, records int
			var bytes int64
			var peak, live uint64
			var wall, cpu time.Duration
			b.ResetTimer()
			for range b.N {
				c, err := New(Options{BaseURL: hs.URL + "/v3.0", Token: testToken, Limit: MaxLimit, RequestsPerMinute: rpm,
					Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				stop := heapPeak()
				start, cpu0 := time.Now(), cpuTime()
				sink := newCountingSink()
				rep, err := (&Connector{Client: c}).Pull(context.Background(), sink)
				wall, cpu = wall+time.Since(start), cpu+cpuTime()-cpu0
				p, l := stop()
				peak, live = max(peak, p), max(live, l)
				if err != nil || !rep.Complete {
					b.Fatalf("%v %+v", err, rep.Findings)
				}
				reqs, bytes, records = rep.Pull.Requests, rep.Pull.Bytes, sink.records
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(reqs), "requests")
			b.ReportMetric(float64(bytes)/1e6, "MB-received")
			b.ReportMetric(float64(records), "records")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
			b.ReportMetric(wall.Seconds()/n, "s/pull")
			b.ReportMetric(cpu.Seconds()/n, "cpu-s/pull")
			if bc.capped {
				floor := float64(reqs) / 20
				b.ReportMetric(floor, "floor-s")
				b.ReportMetric(wall.Seconds()/n/floor, "x-floor")
			}
		})
	}
}

// BenchmarkMap maps a district already staged (as the frame maps pages it staged in S3):
// time, and the heap the mapping itself holds above the staged pages — what a sync
// invocation needs for the mapping phase when its pages come from S3 one at a time.
func BenchmarkMap(b *testing.B) {
	stage, pull := stagedDistrict(b)
	var peak, live uint64
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		stop := heapPeak()
		cpu0 := cpuTime()
		rep, err := Map(context.Background(), stage, pull, newCountingSink(), MapOptions{})
		cpu += cpuTime() - cpu0
		p, l := stop()
		peak, live = max(peak, p), max(live, l)
		if err != nil || !rep.Complete {
			b.Fatalf("%v %+v", err, rep.Findings)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(stage.Bytes())/1e6, "MB-staged")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/map")
}

// stagedDistrict pulls the generated district into memory; the stand-in is gone when it
// returns, so that the heap left is the staged pages.
func stagedDistrict(b *testing.B) (*MemStage, *PullResult) {
	data, err := standin.Generate(rostergen.Options{Students: benchStudents(b), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(standin.NewServer(data, testToken))
	defer hs.Close()
	c, err := New(Options{BaseURL: hs.URL + "/v3.0", Token: testToken, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	stage := NewMemStage()
	pull, err := c.PullAll(context.Background(), AllCollections, stage, nil)
	if err != nil || !pull.AllComplete() {
		b.Fatalf("%v %+v", err, pull)
	}
	return stage, pull
}

// BenchmarkPullCappedManyPages shows the cap biting: a district pulled in small pages, so
// that the pull needs more than one minute's 1,200 requests, through the stand-in's fixed
// window and the client's. It takes over a minute, so it runs only when
// PTHV_BENCH_CLEVER_MANY_PAGES is set (students: PTHV_BENCH_CLEVER_MANY_PAGES_STUDENTS,
// default 20,000; limit 25).
func BenchmarkPullCappedManyPages(b *testing.B) {
	if os.Getenv("PTHV_BENCH_CLEVER_MANY_PAGES") == "" {
		b.Skip("set PTHV_BENCH_CLEVER_MANY_PAGES=1 to run (over a minute of mostly waiting)")
	}
	students := 20_000
	if v := os.Getenv("PTHV_BENCH_CLEVER_MANY_PAGES_STUDENTS"); v != "" {
		var err error
		if students, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	data, err := standin.Generate(rostergen.Options{Students: students, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv := standin.NewServer(data, testToken)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var wall time.Duration
	var reqs, limited int
	b.ResetTimer()
	for range b.N {
		srv.SetFaults(standin.Faults{RateLimit: 1200, RateWindow: time.Minute})
		c, err := New(Options{BaseURL: hs.URL + "/v3.0", Token: testToken, Limit: 25, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rep, err := (&Connector{Client: c}).Pull(context.Background(), newCountingSink())
		wall += time.Since(start)
		if err != nil || !rep.Complete {
			b.Fatalf("%v %+v", err, rep.Findings)
		}
		reqs, limited = rep.Pull.Requests, rep.Pull.RateLimited
	}
	b.StopTimer()
	floor := float64(reqs) / 20
	b.ReportMetric(float64(reqs), "requests")
	b.ReportMetric(float64(limited), "429s")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/pull")
	b.ReportMetric(floor, "floor-s")
	b.ReportMetric(wall.Seconds()/float64(b.N)/floor, "x-floor")
}

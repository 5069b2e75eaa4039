package clever

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
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

// heapPeak samples the live heap every 5 ms until stop is called and returns the peak
// above the heap at start (after a GC): what the pull itself holds, the stand-in's
// district (same process) excluded.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
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
			var peak uint64
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				c, err := New(Options{BaseURL: hs.URL + "/v3.0", Token: testToken, Limit: MaxLimit, RequestsPerMinute: rpm,
					Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				stop := heapPeak()
				start := time.Now()
				sink := newCountingSink()
				rep, err := (&Connector{Client: c}).Pull(context.Background(), sink)
				wall += time.Since(start)
				if p := stop(); p > peak {
					peak = p
				}
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
			b.ReportMetric(wall.Seconds()/n, "s/pull")
			if bc.capped {
				floor := float64(reqs) / 20
				b.ReportMetric(floor, "floor-s")
				b.ReportMetric(wall.Seconds()/n/floor, "x-floor")
			}
		})
	}
}

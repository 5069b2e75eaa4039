package integration

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/standin/clever"
)

const cleverBenchToken = "bench-clever-token"

// cleverBench serves a generated district of env students (default def) from the Clever
// stand-in over loopback.
func cleverBench(b *testing.B, env string, def int) (*clever.Server, string) {
	b.Helper()
	students := def
	if v := os.Getenv(env); v != "" {
		students, _ = strconv.Atoi(v)
	}
	data, err := clever.Generate(rostergen.Options{Students: students, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv := clever.NewServer(data, cleverBenchToken)
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	return srv, hs.URL + srv.Prefix
}

// BenchmarkCleverSyncFirstRun pulls a district of PTHV_BENCH_CLEVER_STUDENTS students
// (default 100,000) from the Clever stand-in at limit 10,000 through the sync frame and the
// import pipeline into moto, as a child process with the sync function's 512 MB (GOMEMLIMIT
// 85% of it): the first run, held for approval. Metrics (childSync): wall, pull, assemble
// and plan seconds, requests, MB received, peak RSS (VmHWM) and peak heap. "uncapped" runs
// without a request cap; "capped" under Clever's 1,200 requests a minute, both in the client
// and in the stand-in (a fixed window), and reports the floor requests ÷ 20 per second and
// the pull's multiple of it.
func BenchmarkCleverSyncFirstRun(b *testing.B) {
	srv, url := cleverBench(b, "PTHV_BENCH_CLEVER_STUDENTS", 100000)
	for _, c := range []struct {
		name string
		rate int
	}{{"uncapped", 1 << 20}, {"capped", 1200}} {
		b.Run(c.name, func(b *testing.B) {
			f := clever.Faults{}
			if c.rate == 1200 {
				f.RateLimit = 1200
			}
			srv.SetFaults(f)
			defer srv.SetFaults(clever.Faults{})
			for i := 0; i < b.N; i++ {
				prefix, cfg, names, st := benchDistrict(b, "cf", i)
				conn := &sis.Connection{District: "d1", Provider: sis.ProviderClever, BaseURL: url, PageSize: 10000, RatePerMinute: c.rate,
					SecretID: names.SyncSecret("d1", "sis")}
				benchConnection(b, cfg, st, conn, cleverBenchToken)
				r := childSync(b, prefix, "first")
				if r.Status != sis.RunHeld {
					b.Fatalf("first run %s (%s)", r.Status, r.Reason)
				}
				floor := float64(r.Requests) / 20
				b.ReportMetric(floor, "floor-s")
				b.ReportMetric(float64(r.PullMS)/1e3/floor, "pull-x-floor")
			}
		})
	}
}

// BenchmarkCleverSync is the full cycle of a district of PTHV_BENCH_CLEVER_CYCLE_STUDENTS
// students (default 10,000) from the Clever stand-in at limit 10,000: the first run (a child
// process, held), the held import applied in this process (apply-s, apply-writes), then an
// unchanged re-run (a child process), whose writes must be 0 (rerun-writes).
func BenchmarkCleverSync(b *testing.B) {
	_, url := cleverBench(b, "PTHV_BENCH_CLEVER_CYCLE_STUDENTS", 10000)
	for i := 0; i < b.N; i++ {
		prefix, cfg, names, st := benchDistrict(b, "cc", i)
		conn := &sis.Connection{District: "d1", Provider: sis.ProviderClever, BaseURL: url, PageSize: 10000, RatePerMinute: 1 << 20,
			SecretID: names.SyncSecret("d1", "sis")}
		benchConnection(b, cfg, st, conn, cleverBenchToken)
		first := childSync(b, prefix, "first")
		if first.Status != sis.RunHeld {
			b.Fatalf("first run %s (%s)", first.Status, first.Reason)
		}
		took, writes := applyHeld(b, cfg, names, st, first.ImportID)
		b.Logf("apply: %d writes in %.1f s", writes, took.Seconds())
		b.ReportMetric(took.Seconds(), "apply-s")
		b.ReportMetric(float64(writes), "apply-writes")
		again := childSync(b, prefix, "rerun")
		if again.Status != sis.RunApplied {
			b.Fatalf("re-run %s (%s)", again.Status, again.Reason)
		}
		done, err := st.GetImport(context.Background(), "d1", again.ImportID)
		if err != nil {
			b.Fatal(err)
		}
		rw := done.Writes.Items + done.Writes.Updates
		b.ReportMetric(float64(rw), "rerun-writes")
		if rw != 0 {
			b.Errorf("the unchanged re-run wrote %d items", rw)
		}
	}
}

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/memlimit"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/secrets"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/standin/oneroster"
	"github.com/pthv/reach/internal/store"
)

// syncChild runs one sync run in this process (the sync function's code, without the Lambda
// runtime shim, with the function's memory limit) when the benchmark starts the test binary
// as its child, so that the run's peak memory is measured alone. It prints the run and its
// own peak RSS as JSON.
func syncChild() int {
	memlimit.Set()
	ctx := context.Background()
	cfg := devstack.AWSConfig(os.Getenv("PTHV_SYNC_BENCH_ENDPOINT"))
	names := deploy.NamesFor(os.Getenv("PTHV_SYNC_BENCH_PREFIX"))
	st := &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: names.Table}
	imp := &importer.Service{Store: st, Blobs: blob.New(cfg), Queue: noQueue{}, DropsBucket: names.DropsBucket, ReportsBucket: names.ReportsBucket}
	svc := &sissync.Service{Store: st, Secrets: &secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}, Blobs: blob.New(cfg),
		Importer: imp, Continuer: noQueue{}, Sources: pipeline.Sources(), ReportsBucket: names.ReportsBucket}
	heap := sampleHeap()
	t0 := time.Now()
	r, err := svc.Handle(ctx, sissync.Request{District: "d1", Connection: "sis", Trigger: "bench"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hwm, err := vmHWM()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The import starts after the pull and the package (and a few small requests between).
	pulled, planned := heap(t0.Add(time.Duration(r.PullMS+r.ConvertMS) * time.Millisecond))
	_ = json.NewEncoder(os.Stdout).Encode(childRun{Run: r, VmHWMBytes: hwm, PeakHeapBytes: max(pulled, planned), PeakHeapImportBytes: planned})
	return 0
}

// sampleHeap samples the heap's live and unswept objects every 20 ms; the returned function
// stops sampling and gives the peak before and after a point in time (the start of the
// import, to tell the connector's peak from the planner's).
func sampleHeap() func(split time.Time) (before, after int64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	type sample struct {
		at time.Time
		n  int64
	}
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			samples = append(samples, sample{time.Now(), int64(s[0].Value.Uint64())})
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func(split time.Time) (before, after int64) {
		close(stop)
		<-done
		for _, x := range samples {
			if x.at.Before(split) {
				before = max(before, x.n)
			} else {
				after = max(after, x.n)
			}
		}
		return before, after
	}
}

// childRun is what the benchmark's child prints.
type childRun struct {
	Run *sis.Run `json:"run"`
	// VmHWMBytes is the child's own peak RSS. (A child's rusage peak starts at its parent's,
	// and the parent holds the stand-in's district, so getrusage cannot tell.)
	VmHWMBytes int64 `json:"vmHWMBytes"`
	// PeakHeapBytes is the most heap its objects took, sampled every 20 ms;
	// PeakHeapImportBytes the most while the import pipeline ran.
	PeakHeapBytes       int64 `json:"peakHeapBytes"`
	PeakHeapImportBytes int64 `json:"peakHeapImportBytes"`
}

// vmHWM reads this process's peak RSS from /proc/self/status.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// syncMemoryMB is the sync function's memory (deploy.Functions).
func syncMemoryMB() int {
	for _, f := range deploy.Functions {
		if f.Base == "sync" {
			return f.MemoryMB
		}
	}
	return 512
}

type noQueue struct{}

func (noQueue) Continue(context.Context, pthv.Continuation) error {
	return fmt.Errorf("the benchmark applies in one invocation")
}
func (noQueue) ContinueRun(context.Context, sissync.Request) error {
	return fmt.Errorf("the benchmark pulls in one invocation")
}

// BenchmarkSync pulls a district of PTHV_BENCH_SYNC_STUDENTS students (default 100,000) from
// the OneRoster stand-in over loopback at page size 1,000 into moto, through the sync frame
// and the import pipeline, run as a child process: the first run (held for approval, as
// every first run is), then, after the held import is applied, an unchanged re-run. Metrics
// per run: wall seconds, requests, MB received, the child's own peak RSS (VmHWM; the sync
// function has 512 MB, and the run fails over it), and the shares of the run spent waiting
// on the server, decoding and staging pages, converting (writing the package) and
// importing; the re-run's writes must be 0.
func BenchmarkSync(b *testing.B) {
	students := 100000
	if v := os.Getenv("PTHV_BENCH_SYNC_STUDENTS"); v != "" {
		students, _ = strconv.Atoi(v)
	}
	d, err := oneroster.Generate(rostergen.Options{Students: students, Seed: 1}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	srv := oneroster.New(d, oneroster.Config{ClientID: "bench", ClientSecret: "bench-secret"})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for i := 0; i < b.N; i++ {
		prefix, cfg, names, st := benchDistrict(b, "sb", i)
		conn := &sis.Connection{District: "d1", Provider: sis.ProviderOneRoster12, BaseURL: hs.URL + srv.BasePath(),
			TokenURL: hs.URL + srv.TokenPath(), ClientID: "bench", PageSize: 1000, RatePerMinute: 1 << 20, SecretID: names.SyncSecret("d1", "sis")}
		benchConnection(b, cfg, st, conn, "bench-secret")
		run := func(label string) *sis.Run { return childSync(b, prefix, label) }
		first := run("first")
		if first.Status != sis.RunHeld {
			b.Fatalf("first run %s (%s)", first.Status, first.Reason)
		}
		// Apply the held import (the ingest function's job; not timed here).
		applyHeld(b, cfg, names, st, first.ImportID)
		again := run("rerun")
		if again.Status != sis.RunApplied {
			b.Fatalf("re-run %s (%s)", again.Status, again.Reason)
		}
		done, _ := st.GetImport(context.Background(), "d1", again.ImportID)
		b.ReportMetric(float64(done.Writes.Items+done.Writes.Updates), "rerun-writes")
	}
}

// benchDistrict provisions a fresh table and buckets on moto (no queues) and registers
// district d1; it returns the resource prefix, for the child runs.
func benchDistrict(b *testing.B, tag string, i int) (string, aws.Config, deploy.Names, *store.Store) {
	b.Helper()
	ctx := context.Background()
	prefix := fmt.Sprintf("pthv-%s-%d-%d", tag, time.Now().UnixNano()%1e6, i)
	names := deploy.NamesFor(prefix)
	cfg := devstack.AWSConfig(moto.URL)
	spec := deploy.Resources(names)
	spec.Queues, spec.Notifications = nil, nil
	if _, err := devstack.Provision(ctx, cfg, spec); err != nil {
		b.Fatal(err)
	}
	st := &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: names.Table}
	if err := st.PutDistrict(ctx, pthv.District{ID: "d1", Name: "Bench", State: "CA"}); err != nil {
		b.Fatal(err)
	}
	return prefix, cfg, names, st
}

// benchConnection stores conn (with its defaults) and its secret.
func benchConnection(b *testing.B, cfg aws.Config, st *store.Store, conn *sis.Connection, secret string) {
	b.Helper()
	ctx := context.Background()
	conn.Defaults()
	if err := (&secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}).Put(ctx, conn.SecretID, secret, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := st.PutConnection(ctx, conn); err != nil {
		b.Fatal(err)
	}
}

// childSync runs one sync run of connection d1/sis as a child process with the sync
// function's memory (memlimit: GOMEMLIMIT 85% of it) and reports, under label: wall, pull,
// assemble (convert) and plan (import) seconds, requests, MB received, the child's own peak
// RSS (VmHWM) and peak heap, and the shares of the run spent waiting on the server, decoding
// and staging pages, converting and importing. A peak RSS over the function's memory fails
// the benchmark.
func childSync(b *testing.B, prefix, label string) *sis.Run {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "PTHV_SYNC_BENCH_CHILD=1", "PTHV_SYNC_BENCH_ENDPOINT="+moto.URL, "PTHV_SYNC_BENCH_PREFIX="+prefix,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(syncMemoryMB()), "GOMEMLIMIT=")
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v", label, err)
	}
	wall := time.Since(t0)
	var cr childRun
	if err := json.Unmarshal(out, &cr); err != nil || cr.Run == nil {
		b.Fatalf("%s: %v", label, err)
	}
	r, rss := *cr.Run, cr.VmHWMBytes
	total := float64(r.PullMS + r.ConvertMS + r.ImportMS)
	b.ReportMetric(wall.Seconds(), label+"-s")
	b.ReportMetric(float64(r.PullMS)/1e3, label+"-pull-s")
	b.ReportMetric(float64(r.ConvertMS)/1e3, label+"-assemble-s")
	b.ReportMetric(float64(r.ImportMS)/1e3, label+"-plan-s")
	b.ReportMetric(float64(r.Requests), label+"-requests")
	b.ReportMetric(float64(r.Bytes)/1e6, label+"-MB")
	b.ReportMetric(float64(rss)/(1<<20), label+"-peak-RSS-MiB")
	b.ReportMetric(float64(cr.PeakHeapBytes)/(1<<20), label+"-peak-heap-MiB")
	b.ReportMetric(float64(cr.PeakHeapImportBytes)/(1<<20), label+"-import-peak-heap-MiB")
	b.Logf("%s: %s in %.1f s (pull %.1f s, assemble %.1f s, plan %.1f s), %d requests, %.1f MB, peak RSS %.1f MiB, peak heap %.1f MiB (%.1f MiB while importing)",
		label, r.Status, wall.Seconds(), float64(r.PullMS)/1e3, float64(r.ConvertMS)/1e3, float64(r.ImportMS)/1e3, r.Requests, float64(r.Bytes)/1e6,
		float64(rss)/(1<<20), float64(cr.PeakHeapBytes)/(1<<20), float64(cr.PeakHeapImportBytes)/(1<<20))
	if mb := syncMemoryMB(); rss > int64(mb)<<20 {
		b.Errorf("%s: peak RSS %.1f MiB, over the sync function's %d MB", label, float64(rss)/(1<<20), mb)
	}
	b.ReportMetric(float64(r.WaitMS)/total, label+"-wait-share")
	b.ReportMetric(float64(r.PullMS-r.WaitMS)/total, label+"-decode-stage-share")
	b.ReportMetric(float64(r.ConvertMS)/total, label+"-convert-share")
	b.ReportMetric(float64(r.ImportMS)/total, label+"-import-share")
	return &r
}

// applyHeld approves and applies a held import in this process (the ingest function's job)
// and returns how long the apply took and what it wrote.
func applyHeld(b *testing.B, cfg aws.Config, names deploy.Names, st *store.Store, importID string) (time.Duration, int) {
	b.Helper()
	ctx := context.Background()
	imp := &importer.Service{Store: st, Blobs: blob.New(cfg), Queue: noQueue{}, DropsBucket: names.DropsBucket, ReportsBucket: names.ReportsBucket}
	if err := st.TransitionImport(ctx, "d1", importID, pthv.StatusHeld, pthv.StatusApproved); err != nil {
		b.Fatal(err)
	}
	held, _ := st.GetImport(ctx, "d1", importID)
	t0 := time.Now()
	if err := imp.Continue(ctx, pthv.Continuation{Kind: pthv.ContinuationKind, District: "d1", ImportID: importID, Run: held.Runs + 1}); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	done, err := st.GetImport(ctx, "d1", importID)
	if err != nil || done.Status != pthv.StatusApplied {
		b.Fatalf("the held import was not applied: %v %+v", err, done)
	}
	return took, done.Writes.Items + done.Writes.Updates
}

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

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
	_ = json.NewEncoder(os.Stdout).Encode(childRun{Run: r, VmHWMBytes: hwm})
	return 0
}

// childRun is what the benchmark's child prints.
type childRun struct {
	Run *sis.Run `json:"run"`
	// VmHWMBytes is the child's own peak RSS. (A child's rusage peak starts at its parent's,
	// and the parent holds the stand-in's district, so getrusage cannot tell.)
	VmHWMBytes int64 `json:"vmHWMBytes"`
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
	ctx := context.Background()
	d, err := oneroster.Generate(rostergen.Options{Students: students, Seed: 1}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	srv := oneroster.New(d, oneroster.Config{ClientID: "bench", ClientSecret: "bench-secret"})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("pthv-sb-%d-%d", time.Now().UnixNano()%1e6, i)
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
		conn := &sis.Connection{District: "d1", Provider: sis.ProviderOneRoster12, BaseURL: hs.URL + srv.BasePath(),
			TokenURL: hs.URL + srv.TokenPath(), ClientID: "bench", PageSize: 1000, RatePerMinute: 1 << 20, SecretID: names.SyncSecret("d1", "sis")}
		conn.Defaults()
		if err := (&secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}).Put(ctx, conn.SecretID, "bench-secret", "bench"); err != nil {
			b.Fatal(err)
		}
		if err := st.PutConnection(ctx, conn); err != nil {
			b.Fatal(err)
		}
		run := func(label string) *sis.Run {
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "PTHV_SYNC_BENCH_CHILD=1", "PTHV_SYNC_BENCH_ENDPOINT="+moto.URL, "PTHV_SYNC_BENCH_PREFIX="+prefix,
				"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(syncMemoryMB()))
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
			b.ReportMetric(float64(r.Requests), label+"-requests")
			b.ReportMetric(float64(r.Bytes)/1e6, label+"-MB")
			b.ReportMetric(float64(rss)/(1<<20), label+"-peak-RSS-MiB")
			if mb := syncMemoryMB(); rss > int64(mb)<<20 {
				b.Errorf("%s: peak RSS %.1f MiB, over the sync function's %d MB", label, float64(rss)/(1<<20), mb)
			}
			b.ReportMetric(float64(r.WaitMS)/total, label+"-wait-share")
			b.ReportMetric(float64(r.PullMS-r.WaitMS)/total, label+"-decode-stage-share")
			b.ReportMetric(float64(r.ConvertMS)/total, label+"-convert-share")
			b.ReportMetric(float64(r.ImportMS)/total, label+"-import-share")
			return &r
		}
		first := run("first")
		if first.Status != sis.RunHeld {
			b.Fatalf("first run %s (%s)", first.Status, first.Reason)
		}
		// Apply the held import (the ingest function's job; not timed here).
		imp := &importer.Service{Store: st, Blobs: blob.New(cfg), Queue: noQueue{}, DropsBucket: names.DropsBucket, ReportsBucket: names.ReportsBucket}
		if err := st.TransitionImport(ctx, "d1", first.ImportID, pthv.StatusHeld, pthv.StatusApproved); err != nil {
			b.Fatal(err)
		}
		held, _ := st.GetImport(ctx, "d1", first.ImportID)
		if err := imp.Continue(ctx, pthv.Continuation{Kind: pthv.ContinuationKind, District: "d1", ImportID: first.ImportID, Run: held.Runs + 1}); err != nil {
			b.Fatal(err)
		}
		again := run("rerun")
		if again.Status != sis.RunApplied {
			b.Fatalf("re-run %s (%s)", again.Status, again.Reason)
		}
		done, _ := st.GetImport(ctx, "d1", again.ImportID)
		b.ReportMetric(float64(done.Writes.Items+done.Writes.Updates), "rerun-writes")
	}
}

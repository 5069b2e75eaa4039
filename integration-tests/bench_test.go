package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store"
)

func benchStudents() int {
	if n, err := strconv.Atoi(os.Getenv("PTHV_BENCH_STUDENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkImport imports a generated district (PTHV_BENCH_STUDENTS, default 100,000) into
// DynamoDB and S3 on moto through the pipeline, then imports it again unchanged.
//
// The baseline is what the README names: a minimal loop of 25-item BatchWriteItem calls on
// the same items (the pipeline's own plan of the same export, built into items exactly as
// the store builds them), on the same number of workers, against the same moto, into a
// second table of the same schema (so that neither side's items slow the other's calls).
// It runs interleaved with the pipeline: half of the items before the import, half after,
// so that a drift of moto or of the machine during the run weighs on both sides alike.
//
// Metrics: items/s of the first import's apply phase; baseline-items/s and their ratio; the
// import's batches and full-batch share, retries; the second import's writes (must be 0)
// and its time; and the measured inputs of the capacity model (pipeline CPU per record,
// bytes staged per record, DynamoDB requests per import), also written to the file named by
// PTHV_BENCH_INPUTS when set.
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	zipPath := filepath.Join(dir, "district.zip")
	var zipBuf bytes.Buffer
	stats, err := rostergen.WriteZip(&zipBuf, rostergen.Options{Students: benchStudents(), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(zipPath, zipBuf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	// The plan the pipeline will make for an empty district: the baseline's items.
	planner := importer.NewPlanner(nil)
	if _, err := orcsv.ReadPath(ctx, zipPath, planner, orcsv.Options{}); err != nil {
		b.Fatal(err)
	}
	ops := planner.Finish(pthv.DefaultHoldShare).Ops
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := benchStack(ctx, b, "pthv-bench-")
		base := benchStack(ctx, b, "pthv-benchbase-")
		cfg := devstack.AWSConfig(st.Endpoint)
		calls := &countingDB{API: dynamodb.NewFromConfig(cfg)}
		db := &store.Store{DB: calls, Table: st.Names.Table}
		if err := db.PutDistrict(ctx, pthv.District{ID: "bench", Name: "Bench", State: "CA"}); err != nil {
			b.Fatal(err)
		}
		bl := blob.New(cfg)
		svc := &importer.Service{Store: db, Blobs: bl, DropsBucket: st.Names.DropsBucket,
			ReportsBucket: st.Names.ReportsBucket, TempDir: b.TempDir()}
		s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
		drop := func(name string) (*pthv.Import, time.Duration, time.Duration) {
			key := "drops/bench/rosters/" + name
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Names.DropsBucket, Key: &key, Body: bytes.NewReader(zipBuf.Bytes())}); err != nil {
				b.Fatal(err)
			}
			obj, err := bl.Stat(ctx, pthv.Object{Bucket: st.Names.DropsBucket, Key: key})
			if err != nil {
				b.Fatal(err)
			}
			c0, t0 := cpuTime(), time.Now()
			if err := svc.HandleDrop(ctx, obj); err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime()-c0
			id, _ := db.ObjectClaim(ctx, obj)
			imp, err := db.GetImport(ctx, "bench", id)
			if err != nil || imp.Status != pthv.StatusApplied {
				b.Fatalf("import: %v %+v", err, imp)
			}
			return imp, wall, cpu
		}

		baseDB := dynamodb.NewFromConfig(devstack.AWSConfig(base.Endpoint))
		items := baselineItems(ops)
		half := len(items) / 2 / 25 * 25
		baseT1 := rawBatchWrites(ctx, b, baseDB, base.Names.Table, items[:half], db.Workers)
		calls.reset()
		first, firstWall, firstCPU := drop("first.zip")
		firstCalls := calls.snapshot()
		baseT2 := rawBatchWrites(ctx, b, baseDB, base.Names.Table, items[half:], db.Workers)
		calls.reset()
		second, secondWall, _ := drop("second.zip")
		secondCalls := calls.snapshot()

		applySec := float64(first.TimingsMS["apply"]) / 1000
		rate := float64(first.Writes.Items) / applySec
		baseRate := float64(len(items)) / (baseT1 + baseT2).Seconds()
		records := float64(first.Ops)
		planB, snapB, repB := stagedBytes(ctx, b, s3c, st.Names.ReportsBucket, first)
		staged := planB + snapB + repB
		var itemBytes, indexed float64
		for _, it := range items {
			itemBytes += float64(itemSize(it))
			if _, ok := it[store.SchoolAttr]; ok {
				indexed++
			}
		}
		itemBytes /= float64(len(items))
		indexed /= float64(len(items))

		b.ReportMetric(rate, "items/s")
		b.ReportMetric(baseRate, "baseline-items/s")
		b.ReportMetric(rate/baseRate, "ratio")
		b.ReportMetric(float64(first.Writes.Items), "items")
		b.ReportMetric(float64(first.Writes.Batches), "batches")
		b.ReportMetric(float64(first.Writes.FullBatches)/float64(max(1, first.Writes.Batches)), "full-batch-share")
		b.ReportMetric(float64(first.Writes.Retries), "retries")
		b.ReportMetric(float64(second.Writes.Items+second.Writes.Updates), "second-import-writes")
		b.ReportMetric(float64(secondWall.Milliseconds()), "second-import-ms")
		b.ReportMetric(float64(first.TimingsMS["readAndPlan"]), "plan-ms")
		b.ReportMetric(float64(firstWall.Milliseconds()), "first-import-ms")
		b.ReportMetric(float64(firstCPU.Microseconds())/records, "pipeline-cpu-us/record")
		b.ReportMetric(float64(staged)/records, "staged-bytes/record")
		b.ReportMetric(itemBytes, "item-bytes")
		b.ReportMetric(indexed, "school-indexed-share")
		b.ReportMetric(float64(firstCalls.reads), "first-import-read-requests")
		b.ReportMetric(float64(secondCalls.reads), "second-import-read-requests")
		b.ReportMetric(float64(secondCalls.writes), "second-import-write-requests")
		if second.Writes.Items+second.Writes.Updates != 0 {
			b.Errorf("the unchanged import wrote %d items", second.Writes.Items+second.Writes.Updates)
		}
		writeInputs(b, map[string]float64{
			"measured_students":          float64(stats.Students),
			"records_per_student":        records / float64(stats.Students),
			"pipeline_cpu_us_per_record": float64(firstCPU.Microseconds()) / records,
			"item_bytes":                 itemBytes,
			"school_indexed_share":       indexed,
			"plan_bytes_per_op":          float64(planB) / records,
			"snapshot_bytes_per_record":  float64(snapB) / records,
			"report_bytes":               float64(repB),
			"drop_bytes_per_record":      float64(zipBuf.Len()) / records,
			"unchanged_import_reads":     float64(secondCalls.reads),
			"unchanged_import_writes":    float64(secondCalls.writes),
			"import_ratio_to_baseline":   rate / baseRate,
			"import_items_per_second":    rate,
			"baseline_items_per_second":  baseRate,
		})
		st.Close()
		base.Close()
	}
}

func benchStack(ctx context.Context, b *testing.B, prefix string) *devstack.Stack {
	rb := make([]byte, 4)
	rand.Read(rb)
	st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: prefix + hex.EncodeToString(rb), Endpoint: moto.URL})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// baselineItems builds the items the store writes for the plan's puts.
func baselineItems(ops []pthv.Op) []map[string]types.AttributeValue {
	now := time.Now().UTC().Format(time.RFC3339)
	var items []map[string]types.AttributeValue
	for _, op := range ops {
		if op.Op == pthv.OpPut {
			items = append(items, store.PutItem("bench", "baseline", now, op))
		}
	}
	return items
}

// rawBatchWrites is the baseline: 25 items a call on workers goroutines, UnprocessedItems
// sent again at once, nothing else. It returns the time the writes took.
func rawBatchWrites(ctx context.Context, b *testing.B, db *dynamodb.Client, table string, items []map[string]types.AttributeValue, workers int) time.Duration {
	if workers <= 0 {
		workers = 8 // the store's default
	}
	batches := make(chan []types.WriteRequest, workers)
	var wg sync.WaitGroup
	var failed atomic.Value
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reqs := range batches {
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						failed.Store(err)
						break
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		}()
	}
	for len(items) > 0 {
		n := min(25, len(items))
		reqs := make([]types.WriteRequest, n)
		for i, it := range items[:n] {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		}
		batches <- reqs
		items = items[n:]
	}
	close(batches)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// stagedBytes is what the import left in S3 besides the drop: its plan, its snapshot and
// its report, in bytes.
func stagedBytes(ctx context.Context, b *testing.B, s3c *s3.Client, bucket string, imp *pthv.Import) (plan, snapshot, report int64) {
	size := func(key string) int64 {
		if key == "" {
			return 0
		}
		out, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		if err != nil || out.ContentLength == nil {
			b.Logf("staged object %s: %v", key, err)
			return 0
		}
		return *out.ContentLength
	}
	return size(imp.PlanKey), size(imp.StateKey), size(importer.ReportKey(imp.District, imp.ID))
}

// itemSize is an item's size as DynamoDB counts it: attribute names plus values.
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for k, v := range it {
		n += len(k)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		case *types.AttributeValueMemberBOOL:
			n++
		}
	}
	return n
}

// writeInputs merges measured capacity-model inputs into the JSON file PTHV_BENCH_INPUTS.
func writeInputs(b *testing.B, m map[string]float64) {
	path := os.Getenv("PTHV_BENCH_INPUTS")
	if path == "" {
		return
	}
	if err := mergeInputs(path, m); err != nil {
		b.Logf("capacity inputs: %v", err)
	}
}

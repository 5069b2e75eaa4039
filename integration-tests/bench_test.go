package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
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
// DynamoDB and S3 on moto through the pipeline, then imports it again unchanged. Metrics:
// items/s of the first import; baseline-items/s of plain 25-item BatchWriteItem calls of
// items of the same size on the same moto in the same run, and their ratio; the share of
// full batches; and the writes of the second import (must be 0).
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	var zipBuf bytes.Buffer
	stats, err := rostergen.WriteZip(&zipBuf, rostergen.Options{Students: benchStudents(), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		rb := make([]byte, 4)
		rand.Read(rb)
		st, err := devstack.StartStack(ctx, devstack.StackOptions{Prefix: "pthv-bench-" + hex.EncodeToString(rb), Endpoint: moto.URL})
		if err != nil {
			b.Fatal(err)
		}
		cfg := devstack.AWSConfig(st.Endpoint)
		db := &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: st.Names.Table}
		db.PutDistrict(ctx, pthv.District{ID: "bench", Name: "Bench", State: "CA"})
		bl := blob.New(cfg)
		svc := &importer.Service{Store: db, Blobs: bl, DropsBucket: st.Names.DropsBucket,
			ReportsBucket: st.Names.ReportsBucket, TempDir: b.TempDir()}
		s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
		drop := func(name string) *pthv.Import {
			key := "drops/bench/rosters/" + name
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.Names.DropsBucket, Key: &key, Body: bytes.NewReader(zipBuf.Bytes())}); err != nil {
				b.Fatal(err)
			}
			obj, err := bl.Stat(ctx, pthv.Object{Bucket: st.Names.DropsBucket, Key: key})
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.HandleDrop(ctx, obj); err != nil {
				b.Fatal(err)
			}
			id, _ := db.ObjectClaim(ctx, obj)
			imp, err := db.GetImport(ctx, "bench", id)
			if err != nil || imp.Status != pthv.StatusApplied {
				b.Fatalf("import: %v %+v", err, imp)
			}
			return imp
		}

		first := drop("first.zip")
		applySec := float64(first.TimingsMS["apply"]) / 1000
		rate := float64(first.Writes.Items) / applySec
		second := drop("second.zip")

		// After the imports (moto's queries slow down as its table grows):
		// baseline: the same number of items per batch and workers, no pipeline.
		baseItems := min(50_000, stats.Enrollments)
		var ops []pthv.Op
		payload, _ := json.Marshal(roster.Enrollment{SourcedID: "enr-0000000", ClassSourcedID: "cls-00000", SchoolSourcedID: "sch-000",
			UserSourcedID: "stu-000000", Role: "student"})
		for j := 0; j < baseItems; j++ {
			ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindEnrollment, ID: fmt.Sprintf("base-%07d", j), Hash: "0123456789abcdef0123456789abcdef", Data: payload})
		}
		t0 := time.Now()
		if _, err := db.Apply(ctx, "baseline", "base", ops); err != nil {
			b.Fatal(err)
		}
		baseRate := float64(baseItems) / time.Since(t0).Seconds()

		b.ReportMetric(rate, "items/s")
		b.ReportMetric(baseRate, "baseline-items/s")
		b.ReportMetric(rate/baseRate, "ratio")
		b.ReportMetric(float64(first.Writes.Items), "items")
		b.ReportMetric(float64(first.Writes.Batches), "batches")
		b.ReportMetric(float64(first.Writes.FullBatches)/float64(max(1, first.Writes.Batches)), "full-batch-share")
		b.ReportMetric(float64(first.Writes.Retries), "retries")
		b.ReportMetric(float64(second.Writes.Items+second.Writes.Updates), "second-import-writes")
		b.ReportMetric(float64(first.TimingsMS["readAndPlan"]), "plan-ms")
		b.ReportMetric(float64(second.TimingsMS["loadRoster"]+second.TimingsMS["readAndPlan"]), "second-import-ms")
		if second.Writes.Items+second.Writes.Updates != 0 {
			b.Errorf("the unchanged import wrote %d items", second.Writes.Items+second.Writes.Updates)
		}
		st.Close()
	}
}

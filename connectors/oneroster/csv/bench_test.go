package csv

import (
	"archive/zip"
	"context"
	stdcsv "encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pthv/reach/internal/rostergen"
)

var (
	benchOnce sync.Once
	benchZip  string
	benchErr  error
)

// benchStudents is the district size of the benchmarks: PTHV_BENCH_STUDENTS, default 100,000.
func benchStudents() int {
	if n, err := strconv.Atoi(os.Getenv("PTHV_BENCH_STUDENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchExport generates the benchmark district once per process, zipped, in a temp folder.
func benchExport(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pthv-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchZip = filepath.Join(dir, "district.zip")
		f, err := os.Create(benchZip)
		if err != nil {
			benchErr = err
			return
		}
		defer f.Close()
		_, benchErr = rostergen.WriteZip(f, rostergen.Options{Students: benchStudents(), Seed: 1})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchZip
}

// baselineRead reads every CSV file of the zip with encoding/csv and does nothing else:
// the floor any validator of the same files has to stand on.
func baselineRead(path string) (rows int, err error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return 0, err
		}
		r := stdcsv.NewReader(rc)
		r.ReuseRecord = true
		r.FieldsPerRecord = -1
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return 0, err
			}
			rows++
		}
		rc.Close()
	}
	return rows, nil
}

func validateOnce(b *testing.B, path string) *Report {
	rep, err := ReadPath(context.Background(), path, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Errors != 0 {
		b.Fatalf("the generated district should validate clean: %d errors", rep.Errors)
	}
	return rep
}

// BenchmarkValidateVsEncodingCSV times pthv's validation of a generated district against a
// bare encoding/csv read of the same zip, alternating the two in every iteration so that
// both see the same machine load. The metric "ratio" is validate time / baseline time.
func BenchmarkValidateVsEncodingCSV(b *testing.B) {
	path := benchExport(b)
	var base, val time.Duration
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		n, err := baselineRead(path)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rep := validateOnce(b, path)
		t2 := time.Now()
		base += t1.Sub(t0)
		val += t2.Sub(t1)
		rows = n
		_ = rep
	}
	b.ReportMetric(float64(val)/float64(base), "ratio")
	b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "baseline-ms/op")
	b.ReportMetric(float64(val.Milliseconds())/float64(b.N), "validate-ms/op")
	b.ReportMetric(float64(rows), "rows")
}

// BenchmarkValidate measures validation alone, with allocations.
func BenchmarkValidate(b *testing.B) {
	path := benchExport(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		validateOnce(b, path)
	}
}

// BenchmarkBaselineEncodingCSV measures the encoding/csv read alone.
func BenchmarkBaselineEncodingCSV(b *testing.B) {
	path := benchExport(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := baselineRead(path); err != nil {
			b.Fatal(err)
		}
	}
}

package csv

import (
	"archive/zip"
	"context"
	stdcsv "encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pthv/reach/internal/rostergen"
)

var (
	benchOnce sync.Once
	benchZip  string
	benchErr  error
)

// TestMain removes the benchmark district once the package's tests and benchmarks are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchZip != "" {
		os.RemoveAll(filepath.Dir(benchZip))
	}
	os.Exit(code)
}

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
// bare encoding/csv read of the same zip, the two alternating in every iteration (and which
// goes first alternating too) so that both see the same machine load. The metric "ratio" is
// the median over the iterations of validate time / baseline time (wall clock);
// "cpu-ratio" is the same for the process's CPU time (user + system, every thread: the
// read-ahead goroutine and the garbage collector included), which says what the validation
// costs, not only how long it takes.
func BenchmarkValidateVsEncodingCSV(b *testing.B) {
	path := benchExport(b)
	var base, val time.Duration
	var ratios, cpuRatios, vcpus []float64
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var bt, vt, bc, vc time.Duration
		runBase := func() {
			c0, t0 := cpuTime(), time.Now()
			n, err := baselineRead(path)
			if err != nil {
				b.Fatal(err)
			}
			bt, bc, rows = time.Since(t0), cpuTime()-c0, n
		}
		runVal := func() {
			c0, t0 := cpuTime(), time.Now()
			validateOnce(b, path)
			vt, vc = time.Since(t0), cpuTime()-c0
		}
		if i%2 == 0 {
			runBase()
			runVal()
		} else {
			runVal()
			runBase()
		}
		base += bt
		val += vt
		ratios = append(ratios, float64(vt)/float64(bt))
		cpuRatios = append(cpuRatios, float64(vc)/float64(max(bc, time.Millisecond)))
		vcpus = append(vcpus, float64(vc))
	}
	if rows > 0 {
		b.ReportMetric(median(vcpus)/float64(rows), "validate-cpu-ns/row")
		writeInputs(b, map[string]float64{"validation_cpu_ns_per_row": median(vcpus) / float64(rows),
			"validation_ratio": median(ratios), "validation_cpu_ratio": median(cpuRatios)})
	}
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(cpuRatios), "cpu-ratio")
	b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "baseline-ms/op")
	b.ReportMetric(float64(val.Milliseconds())/float64(b.N), "validate-ms/op")
	b.ReportMetric(float64(rows), "rows")
}

// cpuTime is the CPU time (user + system) the process has used so far, every thread.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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

// writeInputs merges measured capacity-model inputs into the JSON file PTHV_BENCH_INPUTS
// (see cmd/capacity).
func writeInputs(b *testing.B, m map[string]float64) {
	path := os.Getenv("PTHV_BENCH_INPUTS")
	if path == "" {
		return
	}
	cur := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &cur); err != nil {
			b.Logf("capacity inputs: %v", err)
			return
		}
	}
	for k, v := range m {
		cur[k] = v
	}
	out, _ := json.MarshalIndent(cur, "", "  ")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		b.Logf("capacity inputs: %v", err)
	}
}

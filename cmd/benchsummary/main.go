// Command benchsummary ends make bench: it reads the benchmarks' output (go test -bench
// text, which benchstat reads too) and the load test's result when make load has written
// one, and prints one table (each figure, its baseline measured in the same run, the
// ratio, the target and whether it meets it), and writes the same rows as JSON:
//
//	go run ./cmd/benchsummary [--load load.json] [--json bench.json] bench.txt
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one line of the summary.
type Row struct {
	Figure   string   `json:"figure"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Target   string   `json:"target,omitempty"`
	Meets    *bool    `json:"meets,omitempty"`
	Source   string   `json:"source"`
}

// spec says how one row is read from a benchmark's metrics.
type spec struct {
	figure, bench, metric, unit string
	baseline                    string // metric of the baseline, "" when none
	ratio                       string // metric of the ratio, "" to compute value/baseline
	check                       func(v float64) bool
	target                      string
	targetOn                    string // "ratio" or "value"
	noRatio                     bool   // the baseline is context, not a denominator
}

func atMost(x float64) func(float64) bool  { return func(v float64) bool { return v <= x } }
func atLeast(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
func under(x float64) func(float64) bool   { return func(v float64) bool { return v < x } }

var specs = []spec{
	{figure: "validation time (100k-student zip) vs bare encoding/csv read", bench: "BenchmarkValidateVsEncodingCSV", metric: "validate-ms/op", unit: "ms",
		baseline: "baseline-ms/op", ratio: "ratio", check: atMost(1.5), target: "ratio ≤ 1.5 (median)", targetOn: "ratio"},
	{figure: "validation CPU vs bare encoding/csv CPU", bench: "BenchmarkValidateVsEncodingCSV", metric: "cpu-ratio", unit: "×", targetOn: "value"},
	{figure: "pthv validate peak RSS", bench: "BenchmarkValidateCLI", metric: "peak-RSS-MiB", unit: "MiB",
		baseline: "bench-process-RSS-MiB", check: under(128), target: "< 128 MiB", targetOn: "value", noRatio: true},
	{figure: "import write rate vs raw BatchWriteItem loop", bench: "BenchmarkImport", metric: "items/s", unit: "items/s",
		baseline: "baseline-items/s", ratio: "ratio", check: atLeast(0.9), target: "ratio ≥ 0.9", targetOn: "ratio"},
	{figure: "import full-batch share", bench: "BenchmarkImport", metric: "full-batch-share", unit: "", check: atLeast(0.99), target: "≥ 0.99", targetOn: "value"},
	{figure: "unchanged re-import writes", bench: "BenchmarkImport", metric: "second-import-writes", unit: "items", check: atMost(0), target: "0", targetOn: "value"},
	{figure: "unchanged re-import time vs first import", bench: "BenchmarkImport", metric: "second-import-ms", unit: "ms", baseline: "first-import-ms", targetOn: "ratio"},
	{figure: "cohorts for every school vs reading every school", bench: "BenchmarkSelectEverySchool", metric: "ms/district", unit: "ms", ratio: "x-read", targetOn: "ratio"},
	{figure: "reach: incremental update vs full recomputation (in memory)", bench: "BenchmarkFullNational", metric: "incremental/full", unit: "×", targetOn: "value"},
	{figure: "reach API p50 vs bare S3 GET p50", bench: "BenchmarkReach", metric: "api-p50-ms", unit: "ms", ratio: "api/s3-p50", targetOn: "ratio"},
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("benchsummary", flag.ContinueOnError)
	fl.SetOutput(stderr)
	loadPath := fl.String("load", "load.json", "the load test's result (skipped when missing)")
	jsonPath := fl.String("json", "bench.json", "where to write the rows as JSON")
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: benchsummary [--load load.json] [--json bench.json] bench.txt")
		return 2
	}
	f, err := os.Open(fl.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	defer f.Close()
	metrics, err := parse(f)
	if err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	rows := summarize(metrics)
	load, err := loadRows(*loadPath)
	if err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	rows = append(rows, load...)
	write(stdout, rows)
	b, _ := json.MarshalIndent(rows, "", "  ")
	if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	missed := 0
	for _, r := range rows {
		if r.Meets != nil && !*r.Meets {
			missed++
		}
	}
	fmt.Fprintf(stdout, "\n%d figures, %d with a target missed; rows in %s\n", len(rows), missed, *jsonPath)
	return 0
}

// parse reads go test -bench output: benchmark name (without the -N suffix) → metric → value
// (the last line of a benchmark wins).
func parse(r io.Reader) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			m[fields[i+1]] = v
		}
		out[name] = m
	}
	return out, sc.Err()
}

func summarize(metrics map[string]map[string]float64) []Row {
	var rows []Row
	for _, s := range specs {
		m, ok := metrics[s.bench]
		if !ok {
			continue
		}
		v, ok := m[s.metric]
		if !ok {
			continue
		}
		r := Row{Figure: s.figure, Value: v, Unit: s.unit, Target: s.target, Source: s.bench + " " + s.metric}
		if s.baseline != "" {
			if b, ok := m[s.baseline]; ok {
				r.Baseline = &b
				if s.ratio == "" && !s.noRatio && b != 0 {
					x := v / b
					r.Ratio = &x
				}
			}
		}
		if s.ratio != "" {
			if x, ok := m[s.ratio]; ok {
				r.Ratio = &x
			}
		}
		if s.check != nil {
			on := v
			if s.targetOn == "ratio" && r.Ratio != nil {
				on = *r.Ratio
			}
			meets := s.check(on)
			r.Meets = &meets
		}
		rows = append(rows, r)
	}
	return rows
}

// loadRows turns the load test's result into rows; none when the file is missing.
func loadRows(path string) ([]Row, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l map[string]any
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := func(k string) float64 { v, _ := l[k].(float64); return v }
	src := fmt.Sprintf("make load (%v districts × %v students, %v)", l["districts"], l["studentsPerDistrict"], l["generatedAt"])
	if c, ok := l["ingestConcurrency"]; ok {
		src = fmt.Sprintf("make load (%v districts × %v students, %v ingest invocations at once, %v)", l["districts"], l["studentsPerDistrict"], c, l["generatedAt"])
	}
	yes := func(b bool) *bool { return &b }
	f := func(x float64) *float64 { return &x }
	offered := n("offeredDropsPerMinute")
	return []Row{
		{Figure: "load: drops processed per minute", Value: n("processedDropsPerMinute"), Unit: "drops/min", Baseline: f(offered),
			Ratio: f(n("processedDropsPerMinute") / max(offered, 1e-9)), Source: src + "; baseline: drops offered per minute"},
		{Figure: "load: slowest district, drop to report", Value: n("slowestDropToReportSeconds"), Unit: "s",
			Baseline: f(n("medianDropToReportSeconds")), Ratio: f(n("slowestDropToReportSeconds") / max(n("medianDropToReportSeconds"), 1e-9)), Source: src + "; baseline: the median drop"},
		{Figure: "load: age of the oldest queued message", Value: n("oldestMessageAgeSeconds"), Unit: "s", Source: src},
		{Figure: "load: records differing from the last applied export", Value: n("mismatches"), Unit: "records",
			Baseline: f(n("recordsCompared")), Target: "0", Meets: yes(n("mismatches") == 0), Source: src},
		{Figure: "load: imports held", Value: n("held"), Unit: "imports", Baseline: f(n("expectedHeld")),
			Target: "= expected", Meets: yes(n("held") == n("expectedHeld")), Source: src + "; baseline: held expected"},
		{Figure: "load: imports for drops", Value: n("imports"), Unit: "imports", Baseline: f(n("drops")),
			Target: "= drops", Meets: yes(n("imports") == n("drops")), Source: src + "; baseline: drops (duplicate notifications excluded)"},
		{Figure: "load: errors and message retries", Value: n("errors") + n("retries"), Unit: "log lines", Source: src},
	}, nil
}

func write(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tbaseline (same run)\tratio\ttarget\tmeets")
	for _, r := range rows {
		base, ratio, meets := "—", "—", "—"
		if r.Baseline != nil {
			base = short(*r.Baseline)
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.3g", *r.Ratio)
		}
		if r.Meets != nil {
			meets = map[bool]string{true: "yes", false: "NO"}[*r.Meets]
		}
		target := r.Target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", r.Figure, short(r.Value), r.Unit, base, ratio, target, meets)
	}
	tw.Flush()
}

// short writes a figure with four significant digits, or whole when it is larger.
func short(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

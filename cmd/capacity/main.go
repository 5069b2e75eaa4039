// Command capacity computes the capacity and cost model of the README's "Every US district"
// section from measured per-record costs, so that the model is re-run, not retyped, when
// the code changes:
//
//	go run ./cmd/capacity [--inputs bench-inputs.json] [--format markdown|json]
//
// The defaults (population, limits, list prices and the figures last measured) are
// inputs.json beside this file; the measured figures in --inputs (written by make bench)
// replace the defaults' measured ones.
package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

//go:embed inputs.json
var defaultInputs []byte

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	inputs := fs.String("inputs", "bench-inputs.json", "measured inputs written by make bench (skipped when missing)")
	format := fs.String("format", "markdown", "markdown or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in, src, err := load(*inputs)
	if err != nil {
		fmt.Fprintln(stderr, "capacity:", err)
		return 1
	}
	res := Compute(in)
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, "capacity:", err)
			return 1
		}
	case "markdown":
		writeMarkdown(stdout, res, src)
	default:
		fmt.Fprintln(stderr, "capacity: --format must be markdown or json")
		return 2
	}
	return 0
}

// load reads the defaults and overlays the measured inputs of path when it exists.
func load(path string) (Inputs, string, error) {
	var in Inputs
	if err := json.Unmarshal(defaultInputs, &in); err != nil {
		return in, "", fmt.Errorf("inputs.json: %w", err)
	}
	src := "the defaults in cmd/capacity/inputs.json"
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return in, src, nil
	case err != nil:
		return in, "", err
	}
	// Only the measured figures are taken from the file: the population, limits and prices
	// stay the defaults' whatever else a benchmark wrote there.
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return in, "", fmt.Errorf("%s: %w", path, err)
	}
	measured := map[string]json.RawMessage{}
	for _, k := range measuredKeys {
		if v, ok := all[k]; ok {
			measured[k] = v
		}
	}
	mb, _ := json.Marshal(measured)
	if err := json.Unmarshal(mb, &in); err != nil {
		return in, "", fmt.Errorf("%s: %w", path, err)
	}
	return in, "the measured figures in " + path + " over the defaults", nil
}

// measuredKeys are the inputs a benchmark measures.
var measuredKeys = []string{"validation_cpu_ns_per_row", "pipeline_cpu_us_per_record", "records_per_student", "item_bytes",
	"school_indexed_share", "plan_bytes_per_op", "snapshot_bytes_per_record", "report_bytes", "drop_bytes_per_record",
	"unchanged_import_writes", "unchanged_import_reads"}

func writeMarkdown(w io.Writer, r Result, src string) {
	in := r.In
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("Inputs: %s. %.0f districts, %.1f million students, %.1f records a student: %.0f million records.\n\n",
		src, in.Districts, in.Students/1e6, in.RecordsPerStudent, r.Records/1e6)
	p("| district size | districts | records each | OneRoster requests (page %.0f) | at %.0f/min | Clever requests (page %.0f) | at %.0f/min | Lambda GB-s at 1%% changed |\n",
		in.OneRosterPage, in.OneRosterPerMin, in.CleverPage, in.CleverPerMin)
	p("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Classes {
		p("| %s | %s | %s | %s | %.1f min | %s | %.1f min | %.0f |\n", c.Class.Name, num(c.Class.Districts), num(c.Records),
			num(c.OneRosterReqs), c.OneRosterMin, num(c.CleverReqs), c.CleverMin, c.GBSeconds[0.01])
	}
	p("\n| nightly, all districts | ")
	shares := slices.Clone(in.ChangedShares)
	slices.Sort(shares)
	var hdr, sep []string
	for _, s := range shares {
		hdr = append(hdr, fmt.Sprintf("%g%% changed", 100*s))
		sep = append(sep, "---:")
	}
	p("%s |\n|---|%s|\n", strings.Join(hdr, " | "), strings.Join(sep, "|"))
	row := func(name string, f func(s float64) string) {
		var cells []string
		for _, s := range shares {
			cells = append(cells, f(s))
		}
		p("| %s | %s |\n", name, strings.Join(cells, " | "))
	}
	row("DynamoDB write units", func(s float64) string { return num(r.WriteUnits[s]) })
	row("DynamoDB read units", func(float64) string { return num(r.ReadUnits) })
	row("Lambda GB-seconds", func(s float64) string { return num(r.GBSeconds[s]) })
	row(fmt.Sprintf("Lambda concurrency for a %.0f-hour window", in.WindowHours), func(s float64) string { return fmt.Sprintf("%.0f", r.Concurrency[s]) })
	row("$ DynamoDB a night", func(s float64) string { return fmt.Sprintf("%.2f", r.NightDollars[s].DynamoDB) })
	row("$ Lambda a night", func(s float64) string { return fmt.Sprintf("%.2f", r.NightDollars[s].Lambda) })
	row("$ Secrets Manager a night", func(s float64) string { return fmt.Sprintf("%.2f", r.NightDollars[s].Secrets) })
	row("$ S3, SQS, Scheduler a night", func(s float64) string {
		return fmt.Sprintf("%.2f", r.NightDollars[s].S3+r.NightDollars[s].Other)
	})
	row("$ a night", func(s float64) string { return fmt.Sprintf("%.2f", r.NightDollars[s].Total) })
	row("$ a year", func(s float64) string { return num(365 * r.NightDollars[s].Total) })
	p("\nS3 after one year (at 1%% changed a night, reports kept %.0f days, plans %s, snapshots %s): %.0f GB; %.0f GB-months on average over the year.\n",
		in.ReportDays, keepText(in.PlanExpires), keepText(in.StateExpires), r.S3GBYear, r.S3GBMonthAvg)
	p("With plans/ and state/ expired after 30 days it would be %.0f GB.\n", r.S3GBYear30)
	p("The largest district (%s students) read in full: %.1f h at the OneRoster limit, %.2f h at Clever's.\n",
		num(in.Largest), r.LargestHours["oneroster"], r.LargestHours["clever"])
	p("SIS requests a night: OneRoster %s in full, %s as deltas at 1%% changed (%.0f h if one %.0f/min limit served every district); Clever %s in full, %s as deltas (%.1f h at one %.0f/min limit).\n",
		num(r.SISFull["oneroster"]), num(r.SISDelta["oneroster"]), r.SISSharedHours["oneroster"], in.OneRosterPerMin,
		num(r.SISFull["clever"]), num(r.SISDelta["clever"]), r.SISSharedHours["clever"], in.CleverPerMin)
	p("Started all at once, the syncs would ask for %s concurrent executions against an account limit of %s.\n",
		num(r.PeakConcurrencyIfSimultaneous), num(in.AccountLambda))
	p("A full load of a 2,500-student school's index partition at %.0f WCU/s: %.0f s.\n", in.PartitionWCU, r.PartitionSecs)
	p("Prices: %s list prices as of %s (re-check before use).\n", in.Prices.Region, in.Prices.AsOf)
	if len(in.Sources) > 0 {
		p("\nSources:\n\n")
		for _, s := range in.Sources {
			p("- %s: %s, <%s> (%s).\n", s.Figures, s.Title, s.URL, s.Date)
		}
	}
}

func keepText(days float64) string {
	if days <= 0 {
		return "never expired"
	}
	return fmt.Sprintf("kept %.0f days", days)
}

// num writes a count with thousands separators.
func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/training"
	"github.com/pthv/reach/internal/visits"
)

func init() {
	register("rules", "list every rule of every file the service reads (OneRoster, training, consent, visit) with its code, severity and meaning", cmdRules)
}

// fileRule is one rule of one kind of file, as `pthv rules` lists it.
type fileRule struct {
	File string `json:"file"`
	csvrows.Rule
}

// allRules returns the rules of every file the service reads: the OneRoster export's, then
// the training, consent and visit files' own (training.*, consent.*, visit.*), then the
// checks of their rows against the roster (ref.*, visit.*).
func allRules() []fileRule {
	var out []fileRule
	for _, r := range orcsv.Rules {
		rejects := r.Scope
		if r.Severity != orcsv.SeverityError {
			rejects = ""
		}
		out = append(out, fileRule{"oneroster", csvrows.Rule{Code: string(r.Code), Severity: string(r.Severity), Rejects: rejects, Summary: r.Summary}})
	}
	for _, set := range []struct {
		file  string
		rules []csvrows.Rule
	}{{"training", training.Rules}, {"consent", consent.Rules}, {"visit", visits.Rules}} {
		for _, r := range set.rules {
			out = append(out, fileRule{set.file, r})
		}
	}
	for _, r := range importer.RosterRules {
		out = append(out, fileRule{r.File, r.Rule})
	}
	return out
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules", stderr)
	markdown := fs.Bool("markdown", false, "print Markdown tables (as in the README)")
	format := formatFlag(fs, false)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	rules := allRules()
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rules)
	}
	dash := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	if *markdown {
		// The OneRoster table, then one table of the CSV files the service reads.
		fmt.Fprintln(stdout, "| code | severity | rejects | meaning |\n|---|---|---|---|")
		for _, r := range rules {
			if r.File == "oneroster" {
				fmt.Fprintf(stdout, "| `%s` | %s | %s | %s |\n", r.Code, r.Severity, dash(r.Rejects), r.Summary)
			}
		}
		fmt.Fprintln(stdout, "\n| file | code | severity | rejects | meaning |\n|---|---|---|---|---|")
		for _, r := range rules {
			if r.File != "oneroster" {
				fmt.Fprintf(stdout, "| %s | `%s` | %s | %s | %s |\n", r.File, r.Code, r.Severity, dash(r.Rejects), r.Summary)
			}
		}
		return nil
	}
	tb := newTable(stdout, "file", "code", "severity", "rejects", "meaning")
	for _, r := range rules {
		tb.row(r.File, r.Code, r.Severity, dash(r.Rejects), r.Summary)
	}
	return tb.flush()
}

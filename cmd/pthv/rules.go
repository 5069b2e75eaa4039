package main

import (
	"context"
	"fmt"
	"io"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
)

func init() {
	register("rules", "list every validation rule code with its severity and meaning", cmdRules)
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules", stderr)
	markdown := fs.Bool("markdown", false, "print a Markdown table (as in the README)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *markdown {
		fmt.Fprintln(stdout, "| code | severity | rejects | meaning |\n|---|---|---|---|")
	}
	for _, r := range orcsv.Rules {
		rejects := r.Scope
		if r.Severity != orcsv.SeverityError {
			rejects = "—"
		}
		if *markdown {
			fmt.Fprintf(stdout, "| `%s` | %s | %s | %s |\n", r.Code, r.Severity, rejects, r.Summary)
		} else {
			fmt.Fprintf(stdout, "%-32s %-8s %-8s %s\n", r.Code, r.Severity, rejects, r.Summary)
		}
	}
	return nil
}

package csv

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// RejectedShareAlarm is the share of a file's rows above which the verdict says plainly that
// most of that kind would be dropped, instead of "importable with errors".
const RejectedShareAlarm = 0.10

// Verdict is the report's one-line judgement for people: rejected, the kinds of which more than
// RejectedShareAlarm of the rows would be skipped, importable with errors, or OK.
func (r *Report) Verdict() string {
	if r.Fatal() {
		return "REJECTED: nothing would be imported"
	}
	if r.Errors == 0 {
		return "OK: the export would import"
	}
	var worst []string
	for _, s := range r.Summary {
		if s.Imported && s.Rows > 0 && float64(s.Rejected) > RejectedShareAlarm*float64(s.Rows) {
			worst = append(worst, fmt.Sprintf("%.0f%% of %s (%d of %d rows)", 100*float64(s.Rejected)/float64(s.Rows), s.File, s.Rejected, s.Rows))
		}
	}
	if len(worst) > 0 {
		return "NOT FIT TO IMPORT AS IT IS: " + strings.Join(worst, ", ") + " would be rejected, with the rows that depend on them; fix the export first"
	}
	return "IMPORTABLE WITH ERRORS: the rows with errors (and the rows that depend on them) would be skipped"
}

// consequence ranks a rule that reports the effect of another finding (a reference to a
// rejected record) after the findings that are causes.
func consequence(c Code) int {
	if c == CodeRefRejected {
		return 1
	}
	return 0
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteText writes the report for people: the verdict, a table of files, then the findings
// grouped by file in reading order, most severe first and causes before consequences (a
// ref.rejected after the errors that rejected its target), at most perRule of each rule with
// a count of the rest.
func (r *Report) WriteText(w io.Writer, perRule int) error {
	ew := &errWriter{w: printableWriter{w}}
	version := r.Version
	if version == "" {
		version = "unknown"
	}
	ew.printf("%s (OneRoster %s)\n%s — %s, %s\n", r.Source, version, r.Verdict(), count(r.Errors, "error"), count(r.Warnings, "warning"))
	if len(r.Summary) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "FILE\tMODE\tROWS\tACCEPTED\tREJECTED\t\n")
		for _, s := range r.Summary {
			note := ""
			switch {
			case s.Failed:
				note = "  file rejected"
			case !s.Imported:
				note = "  not imported"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", s.File, s.Mode, s.Rows, s.Accepted, s.Rejected, note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	// Group by file in report order, then severity, then code.
	type group struct {
		file string
		code Code
		sev  Severity
		list []Finding
		cnt  int
	}
	var groups []*group
	byKey := map[fileCode]*group{}
	fileRank := map[string]int{"": -1} // package findings first, then files in reading order
	for _, s := range r.Summary {
		if _, ok := fileRank[s.File]; !ok {
			fileRank[s.File] = len(fileRank)
		}
	}
	for _, f := range r.Findings {
		if _, ok := fileRank[f.File]; !ok {
			fileRank[f.File] = len(fileRank)
		}
		k := fileCode{f.File, f.Code}
		g := byKey[k]
		if g == nil {
			g = &group{file: f.File, code: f.Code, sev: f.Severity}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.list = append(g.list, f)
	}
	for _, c := range r.Counts {
		if g := byKey[fileCode{c.File, c.Code}]; g != nil {
			g.cnt = c.Count
		}
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(fileRank[a.file], fileRank[b.file]), cmp.Compare(a.sev.rank(), b.sev.rank()),
			cmp.Compare(consequence(a.code), consequence(b.code)))
	})
	cur := "\x00"
	for _, g := range groups {
		if g.file != cur {
			cur = g.file
			name := g.file
			if name == "" {
				name = "package"
			}
			ew.printf("\n%s\n", name)
		}
		ew.printf("  %s %s (%d)\n", g.sev, g.code, g.cnt)
		for i, f := range g.list {
			if perRule > 0 && i == perRule {
				break
			}
			loc := ""
			if f.Line > 0 {
				loc = fmt.Sprintf("line %d", f.Line)
			}
			if f.Column != "" {
				if loc != "" {
					loc += ", "
				}
				loc += "column " + f.Column
			}
			if f.SourcedID != "" {
				loc += " (" + f.SourcedID + ")"
			}
			if loc != "" {
				loc += ": "
			}
			ew.printf("    %s%s\n", loc, f.Message)
		}
		if shown := min(len(g.list), max(perRule, 0)); perRule > 0 && g.cnt > shown {
			ew.printf("    … and %d more\n", g.cnt-shown)
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

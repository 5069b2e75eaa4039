package csv

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// WriteText writes the report for people: the verdict, a table of files, then the findings
// grouped by file, most severe first, at most perRule of each rule with a count of the rest.
func (r *Report) WriteText(w io.Writer, perRule int) error {
	ew := &errWriter{w: printableWriter{w}}
	verdict := "OK: the export would import"
	switch {
	case r.Fatal():
		verdict = "REJECTED: nothing would be imported"
	case r.Errors > 0:
		verdict = "IMPORTABLE WITH ERRORS: the rows with errors (and the rows that depend on them) would be skipped"
	}
	version := r.Version
	if version == "" {
		version = "unknown"
	}
	ew.printf("%s (OneRoster %s)\n%s — %d errors, %d warnings\n", r.Source, version, verdict, r.Errors, r.Warnings)
	if len(r.Summary) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "file\tmode\trows\taccepted\trejected\t\n")
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
	fileRank := map[string]int{}
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
		return cmp.Or(cmp.Compare(fileRank[a.file], fileRank[b.file]), cmp.Compare(a.sev.rank(), b.sev.rank()))
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

package csv

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pthv/reach/internal/roster"
)

// readHeader maps the header to the spec. It returns false on a file-level error.
func (rd *reader) readHeader(fields [][]byte, sc *scanner) bool {
	spec, file := rd.spec, rd.spec.file
	if len(sc.prob) > 0 {
		rd.add(Finding{Code: CodeFileNoHeader, File: file, Line: 1,
			Message: "the header row of " + file + " cannot be read: " + string(sc.prob[0].code)})
		return false
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = string(f)
	}
	// Blank cells at the end of the header are a common export slip.
	for len(names) > 0 && strings.TrimSpace(names[len(names)-1]) == "" {
		names = names[:len(names)-1]
		rd.add(Finding{Code: CodeHeaderBlank, File: file, Line: 1,
			Message: "the header ends with a blank cell; it is ignored"})
	}
	want := map[string]*colSpec{}
	for i := range spec.cols {
		want[spec.cols[i].name] = &spec.cols[i]
	}
	rd.hdr = make([]string, len(names))
	rd.idx = map[string]int{}
	ok := true
	for i, n := range names {
		name := n
		switch {
		case strings.TrimSpace(n) == "":
			rd.add(Finding{Code: CodeHeaderBlank, File: file, Line: 1, Message: fmt.Sprintf("header cell %d is blank; the column is ignored", i+1)})
			continue
		case (strings.HasPrefix(n, "metadata.") || strings.HasPrefix(n, "ext_")) && looksLikeColumn(n):
			rd.add(Finding{Code: CodeHeaderExtension, File: file, Line: 1, Column: safeProp(n),
				Message: "the extension column " + safeProp(n) + " is ignored"})
			continue
		}
		if cur, ok := spec.legacy[n]; ok {
			if _, has := want[cur]; has && !slices.Contains(names, cur) {
				rd.add(Finding{Code: CodeHeaderLegacy, File: file, Line: 1, Column: n,
					Message: fmt.Sprintf("the OneRoster 1.0 column %s is read as %s", n, cur)})
				name = cur
			}
		}
		if _, known := want[name]; !known {
			if !looksLikeColumn(n) {
				// Most likely a data row where the header should be: never repeat its content.
				rd.add(Finding{Code: CodeHeaderUnknown, File: file, Line: 1,
					Message: fmt.Sprintf("header cell %d of %s is not a column name and is ignored (is the header row missing?)", i+1, file)})
				continue
			}
			msg := "the column " + safeProp(n) + " is not part of " + file + " and is ignored"
			for k := range want {
				if strings.EqualFold(k, n) {
					msg += " (column names are case-sensitive: did you mean " + k + "?)"
				}
			}
			rd.add(Finding{Code: CodeHeaderUnknown, File: file, Line: 1, Column: safeProp(n), Message: msg})
			continue
		}
		if _, dup := rd.idx[name]; dup {
			rd.add(Finding{Code: CodeHeaderDuplicate, File: file, Line: 1, Column: name,
				Message: "the column " + name + " appears twice in the header"})
			ok = false
			continue
		}
		rd.idx[name] = i
		rd.hdr[i] = name
	}
	if spec.kind == roster.KindUser {
		other, otherCols := "1.1", users11Only
		if rd.version == "1.1" {
			other, otherCols = "1.2", users12Only
		}
		hits := 0
		for _, c := range otherCols {
			if slices.Contains(names, c) {
				hits++
			}
		}
		if hits > 0 && (rd.version == "1.2" && hits == len(otherCols) || rd.version == "1.1") {
			rd.add(Finding{Code: CodeFileVersion, File: file, Line: 1,
				Message: fmt.Sprintf("users.csv has the OneRoster %s layout (columns %s), but manifest.csv says %s", other, strings.Join(otherCols, ", "), rd.version)})
			return false
		}
	}
	prev := -1
	inOrder := true
	rd.cidx = make([]int, len(spec.cols))
	for ci, c := range spec.cols {
		i, present := rd.idx[c.name]
		rd.cidx[ci] = -1
		if present {
			rd.cidx[ci] = i
		}
		if !present {
			if c.req {
				rd.add(Finding{Code: CodeHeaderMissing, File: file, Line: 1, Column: c.name,
					Message: "the required column " + c.name + " is missing from the header"})
				ok = false
			} else {
				rd.add(Finding{Code: CodeHeaderOptional, File: file, Line: 1, Column: c.name,
					Message: "the column " + c.name + " is missing from the header; it is read as blank"})
			}
			continue
		}
		if i < prev {
			inOrder = false
		}
		prev = i
	}
	if !inOrder {
		rd.add(Finding{Code: CodeHeaderOrder, File: file, Line: 1,
			Message: "the columns are not in the order OneRoster gives; they are read by name"})
	}
	return ok
}

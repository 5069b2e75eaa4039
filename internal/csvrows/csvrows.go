// Package csvrows reads the small CSV files districts drop next to their roster (trainings,
// consent, visits): it caps the size, checks the header (a BOM, UTF-16, missing, repeated and
// unknown columns), hands each data row with its line number to the caller, checks cells and
// collects findings with a file, line, column and rule code. Each reader names its columns
// and rule codes in a Format and checks its rows' values itself.
//
// No finding repeats a cell of a data row, and (unless the format is Legacy) a column name
// that looks like an email address is left out of findings (roster.FindingID).
package csvrows

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Fields are a finding's fields, with the JSON names reports use (pthv.FindingFields, so
// that every reader's findings convert to the import record's pthv.Finding).
type Fields = pthv.FindingFields

// Finding is a problem with the file or a row. Each reader defines its own Finding type on it
// (type Finding csvrows.Finding), so findings convert between readers.
type Finding Fields

// As converts findings to a reader's own Finding type; nil when there are none.
func As[F ~Fields](fs []Finding) []F {
	if len(fs) == 0 {
		return nil
	}
	out := make([]F, len(fs))
	for i, f := range fs {
		out[i] = F(f)
	}
	return out
}

// FileError reports whether one of the findings rejects the whole file (an error on line 0
// or 1): then nothing of it may be imported.
func FileError[F ~Fields](fs []F) bool {
	return slices.ContainsFunc(fs, func(f F) bool { return Fields(f).Severity == "error" && Fields(f).Line <= 1 })
}

// Codes are a format's rule codes for what Read and Row check. A code a format never reports
// may be blank.
type Codes struct {
	NoHeader        string // the file is empty
	HeaderMissing   string // a required column is missing, or the header names no column (file error)
	HeaderDuplicate string // a column appears twice (file error)
	HeaderUnknown   string // a column is not part of the format (warning, ignored)
	TooLarge        string // the file is larger than MaxBytes (file error)
	Encoding        string // not UTF-8 (a cell, or the whole file when UTF-16)
	CSV             string // the row (or the header) is not valid CSV
	FieldCount      string // the row has more or fewer cells than the header
	TooLong         string // a value is longer than its limit (Get)
	Required        string // a required value is blank (Required)
	NoRows          string // a header but no rows (warning)
	Subject         string // not exactly one of familyId and studentSourcedId (Subject)
	FamilyID        string // familyId is not fam- and 12 lowercase hex digits (Subject)
	SourcedID       string // studentSourcedId is not a sourcedId (Subject)
}

// Prefixed returns the codes prefix+"no_header", prefix+"header_missing" and so on: the
// codes of a format named by prefix ("consent.", "visit.").
func Prefixed(prefix string) Codes {
	return Codes{
		NoHeader:        prefix + "no_header",
		HeaderMissing:   prefix + "header_missing",
		HeaderDuplicate: prefix + "header_duplicate",
		HeaderUnknown:   prefix + "header_unknown",
		TooLarge:        prefix + "too_large",
		Encoding:        prefix + "encoding",
		CSV:             prefix + "csv",
		FieldCount:      prefix + "field_count",
		TooLong:         prefix + "too_long",
		Required:        prefix + "required",
		NoRows:          prefix + "no_rows",
		Subject:         prefix + "subject",
		FamilyID:        prefix + "family_id",
		SourcedID:       prefix + "sourced_id",
	}
}

// Format describes one kind of file.
type Format struct {
	// Name names the kind of file in messages: "the column is not part of the {Name} file".
	Name string
	// Columns are the known columns; Required those the header must name.
	Columns, Required []string
	// Subject: rows name a family by exactly one of the columns familyId and
	// studentSourcedId, so the header needs one of them at least (Row.Subject checks rows).
	Subject bool
	Codes   Codes
	// MaxBytes is the largest file Read accepts; a larger one is rejected as a whole, with
	// no other finding on its rows. 0 means no limit.
	MaxBytes int
	// MaxField is the longest value Get accepts, in bytes, unless Limits has the column; 0
	// means no limit.
	MaxField int
	Limits   map[string]int
	// Unknown, when set, sees each column that is not part of the format before it is
	// reported as unknown; it returns whether it reported the column itself, with warn (a
	// warning on line 1).
	Unknown func(c Column, warn func(code, column, message string)) bool
	// Legacy keeps the rules the training reader was written with, before the consent and
	// visit readers: a UTF-16 file and a header that names none of the columns get no
	// finding of their own; unknown columns are reported as they come, named as they are;
	// a CSV error is reported on the line where it occurs (not on the line its row starts);
	// only a line with nothing on it is blank (not a row of empty cells); and every known
	// cell of a row is checked for UTF-8 before the field count, with a shorter message.
	Legacy bool
}

// Column is a header cell that names none of a format's columns.
type Column struct {
	Index int // from 0
	// Header is the cell without a BOM and surrounding space. It may be anything, so no
	// finding repeats it; Name is what a finding may carry: "" when the cell is blank or
	// looks like an email address, else without control characters and cut after 64 bytes.
	Header, Name string
}

// Result is what Read found apart from the records: the findings, and the data rows read
// and rejected (a row with an error is rejected).
type Result struct {
	Findings []Finding
	Rows     int
	Rejected int
}

// FileError reports whether a finding rejects the whole file: then nothing may be imported.
func (r *Result) FileError() bool { return FileError(r.Findings) }

func (r *Result) add(sev, code, file string, line int, col, msg string) {
	r.Findings = append(r.Findings, Finding{Severity: sev, Code: code, File: file, Line: line, Column: col, Message: msg})
}

var errTooLarge = errors.New("csvrows: file too large")

// capReader fails with errTooLarge once more than left bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

// Read reads a file of the format, streaming, and calls row for each data row that is not
// blank, after the row's CSV checks (field count, and in a Legacy format UTF-8). A row that
// has an error when row returns is counted as rejected. Read reports the file's problems as
// findings and returns an error only when r fails; row is not called once the header has a
// file error.
func (f *Format) Read(r io.Reader, file string, row func(*Row)) (*Result, error) {
	res := &Result{}
	add := func(sev, code string, line int, col, msg string) { res.add(sev, code, file, line, col, msg) }
	// tooLarge rejects the whole file: nothing of a file cut off at the limit is imported, and
	// its rows are not reported.
	tooLarge := func() (*Result, error) {
		res.Rows, res.Rejected = 0, 0
		res.Findings = slices.DeleteFunc(res.Findings, func(f Finding) bool { return f.Line > 1 })
		add("error", f.Codes.TooLarge, 0, "", fmt.Sprintf("the file is larger than %d MB; split it into smaller files", f.MaxBytes>>20))
		return res, nil
	}
	if f.MaxBytes > 0 {
		r = &capReader{r: r, left: int64(f.MaxBytes)}
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		add("error", f.Codes.NoHeader, 1, "", "the file is empty: it needs a header row naming the columns")
		return res, nil
	case errors.Is(err, errTooLarge):
		return tooLarge()
	case err != nil:
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return res, err
		}
		add("error", f.Codes.CSV, f.pick(pe.Line, 1), "", "the header is not valid CSV: "+pe.Err.Error())
		return res, nil
	}
	idx, ok := f.header(header, add)
	if !ok || res.FileError() {
		return res, nil
	}

	width := len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errTooLarge) {
			return tooLarge()
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return res, err
			}
			res.Rows++
			res.Rejected++
			add("error", f.Codes.CSV, f.pick(pe.Line, max(pe.StartLine, 2)), "", "the row is not valid CSV: "+pe.Err.Error())
			continue
		}
		if f.blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0) // a record always has at least one field
		res.Rows++
		rw := &Row{Line: line, f: f, idx: idx, cells: rec, add: add}
		if f.Legacy {
			for _, c := range f.Columns {
				if !utf8.ValidString(rw.Value(c)) {
					rw.Error(f.Codes.Encoding, c, c+" has bytes that are not UTF-8; save the file as UTF-8")
				}
			}
		}
		if len(rec) != width {
			rw.Error(f.Codes.FieldCount, "", fmt.Sprintf("the row has %d cells but the header has %d", len(rec), width))
		}
		row(rw)
		if rw.errs > 0 {
			res.Rejected++
		}
	}
	if res.Rows == 0 {
		add("warning", f.Codes.NoRows, 1, "", "the file has a header but no rows")
	}
	return res, nil
}

// pick returns legacy in a Legacy format, else current.
func (f *Format) pick(legacy, current int) int {
	if f.Legacy {
		return legacy
	}
	return current
}

// blank reports whether a record is a blank line, or (unless Legacy) a row of empty cells as
// spreadsheets write them.
func (f *Format) blank(rec []string) bool {
	if f.Legacy {
		return len(rec) == 1 && rec[0] == ""
	}
	return !slices.ContainsFunc(rec, func(s string) bool { return strings.TrimSpace(s) != "" })
}

// header maps the known columns to their index and reports the header's problems; ok false
// means the file is rejected and nothing more is reported.
func (f *Format) header(header []string, add func(sev, code string, line int, col, msg string)) (idx map[string]int, ok bool) {
	if h := header[0]; !f.Legacy && (strings.HasPrefix(h, "\xff\xfe") || strings.HasPrefix(h, "\xfe\xff")) {
		add("error", f.Codes.Encoding, 1, "", "the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
		return nil, false
	}
	idx = map[string]int{}
	var unknown []int
	for i, h := range header {
		h = clean(h)
		switch _, dup := idx[h]; {
		case !slices.Contains(f.Columns, h) && f.Legacy:
			add("warning", f.Codes.HeaderUnknown, 1, legacySafe(h), "the column is not part of the "+f.Name+" file and is ignored")
		case !slices.Contains(f.Columns, h):
			unknown = append(unknown, i)
		case dup:
			add("error", f.Codes.HeaderDuplicate, 1, h, "the column "+h+" appears twice")
		default:
			idx[h] = i
		}
	}
	if len(idx) == 0 && !f.Legacy {
		// Most likely the header row is missing and the first row is data: its cells are not
		// repeated in the finding.
		add("error", f.Codes.HeaderMissing, 1, "", "the first row names none of the columns "+strings.Join(f.Columns, ", ")+
			"; the file needs a header row naming its columns")
		return nil, false
	}
	warn := func(code, col, msg string) { add("warning", code, 1, col, msg) }
	for _, i := range unknown {
		h := clean(header[i])
		c := Column{Index: i, Header: h, Name: roster.FindingID(safe(h))}
		if f.Unknown != nil && f.Unknown(c, warn) {
			continue
		}
		switch {
		case h == "":
			warn(f.Codes.HeaderUnknown, "", fmt.Sprintf("column %d has no name and is ignored", i+1))
		case c.Name == "":
			warn(f.Codes.HeaderUnknown, "", fmt.Sprintf("column %d is named %s, which is not part of the %s file; it is ignored", i+1, roster.EmailLikePlaceholder, f.Name))
		default:
			warn(f.Codes.HeaderUnknown, c.Name, "the column is not part of the "+f.Name+" file and is ignored")
		}
	}
	for _, c := range f.Required {
		if _, ok := idx[c]; !ok {
			add("error", f.Codes.HeaderMissing, 1, c, "the required column "+c+" is missing")
		}
	}
	_, fam := idx["familyId"]
	_, stu := idx["studentSourcedId"]
	if f.Subject && !fam && !stu {
		add("error", f.Codes.HeaderMissing, 1, "familyId", "the file needs a familyId or a studentSourcedId column (or both)")
	}
	return idx, true
}

// clean returns a header cell without a BOM and surrounding space.
func clean(h string) string { return strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) }

// safe shortens an unknown header for a finding, without control characters or bytes that
// are not UTF-8.
func safe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) > 64 {
		i := 64
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// legacySafe shortens an unknown header for a finding in a Legacy format: without control
// characters, cut after 64 bytes.
func legacySafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}

// SourcedID matches a OneRoster sourcedId as the files take it; SourcedIDText describes it in
// messages.
var SourcedID = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)

// SourcedIDText describes SourcedID in messages.
const SourcedIDText = "1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -"

var familyRE = regexp.MustCompile(`^fam-[0-9a-f]{12}$`)

// Row is one data row of a file, valid while Read's row function runs.
type Row struct {
	Line int // the line the row starts on
	f    *Format
	idx  map[string]int
	// cells is the record, reused by the next row.
	cells []string
	add   func(sev, code string, line int, col, msg string)
	errs  int
}

// Error reports an error on the row's line; the row is rejected.
func (r *Row) Error(code, col, msg string) {
	r.errs++
	r.add("error", code, r.Line, col, msg)
}

// Warn reports a warning on the row's line.
func (r *Row) Warn(code, col, msg string) { r.add("warning", code, r.Line, col, msg) }

// Failed reports whether the row has an error.
func (r *Row) Failed() bool { return r.errs > 0 }

// Value returns the column's value without surrounding space, unchecked; "" when the header
// or the row has no such cell.
func (r *Row) Value(col string) string {
	if i, ok := r.idx[col]; ok && i < len(r.cells) {
		return strings.TrimSpace(r.cells[i])
	}
	return ""
}

// Get returns the column's value without surrounding space, or ok false when it is not
// UTF-8 or longer than the format's limit for the column (reported).
func (r *Row) Get(col string) (v string, ok bool) {
	i, ok := r.idx[col]
	if !ok || i >= len(r.cells) {
		return "", true
	}
	limit, ok := r.f.Limits[col]
	if !ok {
		limit = r.f.MaxField
	}
	v = strings.TrimSpace(r.cells[i])
	switch {
	case !utf8.ValidString(v):
		r.Error(r.f.Codes.Encoding, col, col+" has bytes that are not UTF-8; save the file as UTF-8 (CSV UTF-8)")
		return "", false
	case limit > 0 && len(v) > limit:
		r.Error(r.f.Codes.TooLong, col, fmt.Sprintf("%s is longer than %d characters", col, limit))
		return "", false
	}
	return v, true
}

// Required reports a blank value of a required column; it returns whether v is usable (ok,
// from Get) and not blank.
func (r *Row) Required(col, v string, ok bool) bool {
	if ok && v == "" {
		r.Error(r.f.Codes.Required, col, col+" is required but blank")
	}
	return ok && v != ""
}

// Subject checks a row's family, named by exactly one of a familyId (fam- and 12 lowercase
// hex digits, as printed in the cohort CSV) and a studentSourcedId: fam and stu are their
// values and okFam and okStu whether they are usable (from Get).
func (r *Row) Subject(fam, stu string, okFam, okStu bool) {
	c := r.f.Codes
	if okFam && okStu {
		switch {
		case fam == "" && stu == "":
			r.Error(c.Subject, "familyId", "the row needs a familyId or a studentSourcedId; both are blank")
		case fam != "" && stu != "":
			r.Error(c.Subject, "familyId", "the row has both a familyId and a studentSourcedId; give exactly one of them")
		}
	}
	if okFam && fam != "" && !familyRE.MatchString(fam) {
		r.Error(c.FamilyID, "familyId", "familyId must be fam- and 12 lowercase hex digits, as printed in the cohort CSV")
	}
	if okStu && stu != "" && !SourcedID.MatchString(stu) {
		r.Error(c.SourcedID, "studentSourcedId", "studentSourcedId must be "+SourcedIDText)
	}
}

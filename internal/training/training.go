// Package training reads educator training CSV files (drops/{districtId}/trainings/*.csv;
// columns in schemas/training-csv.schema.json). Training records are first-class data: only
// trained educators who opted in for the school year are paired for visits.
//
// A row with an error is not imported and is reported with its file, line, column and rule;
// no finding repeats a value from the row other than the educator's sourcedId.
package training

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pthv/reach/internal/roster"
)

// Columns are the file's columns; the first five are required.
var Columns = []string{"educatorSourcedId", "date", "trainingType", "hours", "trainerOrganization", "optIn"}

// Types are the training types; "ext:<name>" extends them.
var Types = []string{"introductory", "follow-up", "leadership", "refresher"}

// MaxHours is the most one training record may count.
const MaxHours = 40

// Record is one training of one educator.
type Record struct {
	Educator string  `json:"educatorSourcedId"`
	Date     string  `json:"date"`
	Type     string  `json:"trainingType"`
	Hours    float64 `json:"hours"`
	Trainer  string  `json:"trainerOrganization"`
	// OptIn, when set, opts the educator in or out for SchoolYear.
	OptIn      *bool  `json:"optIn,omitempty"`
	SchoolYear string `json:"schoolYear"` // "2025-2026": the year (1 July – 30 June) containing Date
}

// Key identifies a record: the same educator, date and type is the same training.
func (r Record) Key() string { return r.Educator + "#" + r.Date + "#" + r.Type }

// Finding is a problem with the file or a row.
type Finding struct {
	Severity string `json:"severity"` // error or warning
	Code     string `json:"code"`
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   string `json:"column,omitempty"`
	Message  string `json:"message"`
}

// Result is what Read found.
type Result struct {
	Records  []Record
	Findings []Finding
	Rows     int
	Rejected int
}

// FileError reports whether a finding rejects the whole file.
func (r *Result) FileError() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == "error" && f.Line <= 1 })
}

var idRE = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)

// SchoolYear returns the school year (1 July – 30 June) containing t, e.g. "2025-2026".
func SchoolYear(t time.Time) string {
	y := t.Year()
	if t.Month() < time.July {
		y--
	}
	return fmt.Sprintf("%d-%d", y, y+1)
}

// Read reads one training file. today bounds the dates (no training in the future). It
// returns an error only when r fails; every problem of the file is a finding.
func Read(r io.Reader, file string, today time.Time) (*Result, error) {
	res := &Result{}
	add := func(sev, code string, line int, col, msg string) {
		res.Findings = append(res.Findings, Finding{Severity: sev, Code: code, File: file, Line: line, Column: col, Message: msg})
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		add("error", "file.no_header", 1, "", "the file is empty: it needs a header row naming the columns")
		return res, nil
	}
	if err != nil {
		return res, csvErr(err, file, add)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(Columns, h) {
			add("warning", "header.unknown_column", 1, safe(h), "the column is not part of the training file and is ignored")
			continue
		}
		if _, dup := idx[h]; dup {
			add("error", "header.duplicate_column", 1, h, "the column "+h+" appears twice")
			continue
		}
		idx[h] = i
	}
	for _, c := range Columns[:5] {
		if _, ok := idx[c]; !ok {
			add("error", "header.missing_column", 1, c, "the required column "+c+" is missing")
		}
	}
	if res.FileError() {
		return res, nil
	}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return res, err
			}
			res.Rows++
			res.Rejected++
			add("error", "csv.malformed", pe.Line, "", "the row is not valid CSV: "+pe.Err.Error())
			continue
		}
		line, _ := cr.FieldPos(0) // a record always has at least one field
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		res.Rows++
		get := func(c string) string {
			if i, ok := idx[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		errs := 0
		bad := func(code, col, msg string) {
			errs++
			add("error", code, line, col, msg)
		}
		for _, c := range Columns {
			if !utf8.ValidString(get(c)) {
				bad("encoding.not_utf8", c, c+" has bytes that are not UTF-8; save the file as UTF-8")
			}
		}
		if len(rec) != len(header) {
			bad("csv.field_count", "", fmt.Sprintf("the row has %d cells but the header has %d", len(rec), len(header)))
		}
		out := Record{Educator: get("educatorSourcedId"), Date: get("date"), Type: get("trainingType"), Trainer: get("trainerOrganization")}
		for _, c := range Columns[:5] {
			if get(c) == "" {
				bad("value.required", c, c+" is required but blank")
			}
		}
		if out.Educator != "" && !idRE.MatchString(out.Educator) {
			bad("value.sourced_id", "educatorSourcedId", "educatorSourcedId must be 1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -")
		}
		if out.Date != "" {
			d, err := time.Parse("2006-01-02", out.Date)
			switch {
			case err != nil:
				bad("value.date", "date", "date must be a real date written YYYY-MM-DD")
			case d.After(today):
				bad("value.future_date", "date", "the training date is in the future")
			default:
				out.SchoolYear = SchoolYear(d)
			}
		}
		if out.Type != "" && !slices.Contains(Types, out.Type) && !(strings.HasPrefix(out.Type, "ext:") && len(out.Type) > 4) {
			bad("value.enum", "trainingType", "trainingType must be one of "+strings.Join(Types, ", ")+" or ext:<name>")
		}
		if h := get("hours"); h != "" {
			v, err := strconv.ParseFloat(h, 64)
			if err != nil || v <= 0 || v > MaxHours {
				bad("value.hours", "hours", fmt.Sprintf("hours must be a number more than 0 and at most %d", MaxHours))
			}
			out.Hours = v
		}
		if len(out.Trainer) > 200 {
			bad("value.too_long", "trainerOrganization", "trainerOrganization is longer than 200 characters")
		}
		switch o := strings.ToLower(get("optIn")); o {
		case "":
		case "true", "false":
			v := o == "true"
			out.OptIn = &v
		default:
			bad("value.boolean", "optIn", "optIn must be true, false or blank")
		}
		if errs == 0 {
			if first, dup := seen[out.Key()]; dup {
				bad("id.duplicate", "", fmt.Sprintf("educator %s has a %s training on this date already on line %d", roster.MessageID(out.Educator), out.Type, first))
			}
		}
		if errs > 0 {
			res.Rejected++
			continue
		}
		seen[out.Key()] = line
		res.Records = append(res.Records, out)
	}
	if res.Rows == 0 {
		add("warning", "file.no_rows", 1, "", "the file has a header but no rows")
	}
	return res, nil
}

func csvErr(err error, file string, add func(string, string, int, string, string)) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		add("error", "csv.malformed", pe.Line, "", "the header is not valid CSV: "+pe.Err.Error())
		return nil
	}
	return err
}

// safe shortens an unknown header for a message.
func safe(s string) string {
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

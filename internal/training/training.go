// Package training reads educator training CSV files (drops/{districtId}/trainings/*.csv;
// columns in schemas/training-csv.schema.json). Training records are first-class data: only
// trained educators who opted in for the school year are paired for visits.
//
// A row with an error is not imported and is reported with its file, line, column and rule;
// no finding repeats a value from the row other than the educator's sourcedId.
package training

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pthv/reach/internal/csvrows"
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
	Line       int    `json:"-"`          // the row's line in the file
}

// Key identifies a record: the same educator, date and type is the same training.
func (r Record) Key() string { return r.Educator + "#" + r.Date + "#" + r.Type }

// Finding is a problem with the file or a row: its fields are csvrows.Fields (Severity,
// Code, File, Line, Column, Message).
type Finding csvrows.Finding

// Result is what Read found.
type Result struct {
	Records  []Record
	Findings []Finding
	Rows     int
	Rejected int
}

// FileError reports whether a finding rejects the whole file.
func (r *Result) FileError() bool { return csvrows.FileError(r.Findings) }

var idRE = csvrows.SourcedID

// format is the training file for csvrows; it keeps the rules the training reader was first
// written with (csvrows.Format.Legacy).
var format = csvrows.Format{
	Name:     "training",
	Columns:  Columns,
	Required: Columns[:5],
	Codes: csvrows.Codes{
		NoHeader:        "file.no_header",
		HeaderMissing:   "header.missing_column",
		HeaderDuplicate: "header.duplicate_column",
		HeaderUnknown:   "header.unknown_column",
		Encoding:        "encoding.not_utf8",
		CSV:             "csv.malformed",
		FieldCount:      "csv.field_count",
		Required:        "value.required",
		NoRows:          "file.no_rows",
	},
	Legacy: true,
}

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
	seen := map[string]int{}
	t, err := format.Read(r, file, func(row *csvrows.Row) {
		get, bad := row.Value, row.Error
		out := Record{Line: row.Line, Educator: get("educatorSourcedId"), Date: get("date"), Type: get("trainingType"), Trainer: get("trainerOrganization")}
		for _, c := range Columns[:5] {
			row.Required(c, get(c), true)
		}
		if out.Educator != "" && !idRE.MatchString(out.Educator) {
			bad("value.sourced_id", "educatorSourcedId", "educatorSourcedId must be "+csvrows.SourcedIDText)
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
		if !row.Failed() {
			if first, dup := seen[out.Key()]; dup {
				bad("id.duplicate", "", fmt.Sprintf("educator %s has a %s training on this date already on line %d", roster.MessageID(out.Educator), out.Type, first))
			}
		}
		if row.Failed() {
			return
		}
		seen[out.Key()] = row.Line
		res.Records = append(res.Records, out)
	})
	res.Findings, res.Rows, res.Rejected = csvrows.As[Finding](t.Findings), t.Rows, t.Rejected
	return res, err
}

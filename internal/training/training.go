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
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Columns are the file's columns; the first five are required.
var Columns = []string{"educatorSourcedId", "date", "trainingType", "hours", "trainerOrganization", "optIn"}

// Types are the training types; "ext:<name>" extends them.
var Types = []string{"introductory", "follow-up", "leadership", "refresher"}

// MaxHours is the most one training record may count.
const MaxHours = 40

// Limits of a file, as the consent and visit files have theirs.
const (
	// MaxBytes is the largest file Read accepts (a training row is about 60 bytes); a larger
	// file is rejected as a whole (training.too_large).
	MaxBytes = 32 << 20
	// MaxType is the longest trainingType (an ext:<name> value), in bytes, as the roster's
	// ext: vocabulary values; MaxTrainer the longest trainerOrganization (training.too_long).
	MaxType    = 255
	MaxTrainer = 200
)

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
func (r Record) Key() string { return pthv.JoinItem(r.Educator, r.Date, r.Type) }

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

// The rule codes of a training file: the format's own (training.*), as the consent and visit
// files have theirs (consent.*, visit.*). Rows that name an educator the district's roster
// does not know get ref.unknown_educator at import.
const (
	CodeNoHeader        = "training.no_header"        // the file is empty
	CodeHeaderMissing   = "training.header_missing"   // a required column is missing (file error)
	CodeHeaderDuplicate = "training.header_duplicate" // a column appears twice (file error)
	CodeHeaderUnknown   = "training.header_unknown"   // a column is not part of the format (warning, ignored)
	CodeEncoding        = "training.encoding"         // a row is not UTF-8
	CodeCSV             = "training.csv"              // the row is not valid CSV
	CodeFieldCount      = "training.field_count"      // the row has more or fewer cells than the header
	CodeRequired        = "training.required"         // a required value is blank
	CodeNoRows          = "training.no_rows"          // a header but no rows (warning)
	CodeSourcedID       = "training.sourced_id"       // educatorSourcedId is not a sourcedId
	CodeDate            = "training.date"             // date is not a real YYYY-MM-DD date
	CodeDateFuture      = "training.date_future"      // date is after today
	CodeType            = "training.type"             // trainingType is not one of Types or ext:<name>
	CodeHours           = "training.hours"            // hours is not a number in (0, MaxHours]
	CodeTooLong         = "training.too_long"         // trainerOrganization or trainingType is longer than its cap
	CodeTooLarge        = "training.too_large"        // the file is larger than MaxBytes (file error)
	CodeOptIn           = "training.opt_in"           // optIn is not true, false or blank
	CodeDuplicate       = "training.duplicate"        // the same educator, date and type again
)

// Rules are the training file's rules with their severity, what an error rejects and
// their meaning, for `pthv rules`.
var Rules = []csvrows.Rule{
	{Code: CodeNoHeader, Severity: "error", Rejects: "file", Summary: "the file is empty: it has no header row"},
	{Code: CodeHeaderMissing, Severity: "error", Rejects: "file", Summary: "a required column (educatorSourcedId, date, trainingType, hours, trainerOrganization) is missing"},
	{Code: CodeHeaderDuplicate, Severity: "error", Rejects: "file", Summary: "a column name appears twice in the header"},
	{Code: CodeHeaderUnknown, Severity: "warning", Summary: "a column that is not part of the format is ignored"},
	{Code: CodeTooLarge, Severity: "error", Rejects: "file", Summary: "the file is larger than 32 MiB"},
	{Code: CodeEncoding, Severity: "error", Rejects: "row", Summary: "the row has bytes that are not UTF-8"},
	{Code: CodeCSV, Severity: "error", Rejects: "row", Summary: "the row is not valid CSV (RFC 4180)"},
	{Code: CodeFieldCount, Severity: "error", Rejects: "row", Summary: "the row has a different number of cells than the header"},
	{Code: CodeRequired, Severity: "error", Rejects: "row", Summary: "a required value is blank"},
	{Code: CodeNoRows, Severity: "warning", Summary: "the file has a header but no rows"},
	{Code: CodeSourcedID, Severity: "error", Rejects: "row", Summary: "educatorSourcedId is not a sourcedId"},
	{Code: CodeDate, Severity: "error", Rejects: "row", Summary: "date is not a real calendar date written YYYY-MM-DD"},
	{Code: CodeDateFuture, Severity: "error", Rejects: "row", Summary: "date is in the future"},
	{Code: CodeType, Severity: "error", Rejects: "row", Summary: "trainingType is not introductory, follow-up, leadership, refresher or ext:<name>"},
	{Code: CodeHours, Severity: "error", Rejects: "row", Summary: "hours is not a number more than 0 and at most 40"},
	{Code: CodeTooLong, Severity: "error", Rejects: "row", Summary: "trainerOrganization is longer than 200 bytes, or trainingType longer than 255"},
	{Code: CodeOptIn, Severity: "error", Rejects: "row", Summary: "optIn is not true, false or blank"},
	{Code: CodeDuplicate, Severity: "error", Rejects: "row", Summary: "the same educator, date and training type appears twice; the later row is rejected"},
}

// format is the training file for csvrows; it keeps the rules the training reader was first
// written with (csvrows.Format.Legacy), under the training.* codes.
var format = csvrows.Format{
	Name:     "training",
	Columns:  Columns,
	Required: Columns[:5],
	Codes: csvrows.Codes{
		NoHeader:        CodeNoHeader,
		TooLarge:        CodeTooLarge,
		HeaderMissing:   CodeHeaderMissing,
		HeaderDuplicate: CodeHeaderDuplicate,
		HeaderUnknown:   CodeHeaderUnknown,
		Encoding:        CodeEncoding,
		CSV:             CodeCSV,
		FieldCount:      CodeFieldCount,
		Required:        CodeRequired,
		NoRows:          CodeNoRows,
	},
	MaxBytes: MaxBytes,
	Legacy:   true,
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
			bad(CodeSourcedID, "educatorSourcedId", "educatorSourcedId must be "+csvrows.SourcedIDText)
		}
		if out.Date != "" {
			d, err := time.Parse("2006-01-02", out.Date)
			switch {
			case err != nil:
				bad(CodeDate, "date", "date must be a real date written YYYY-MM-DD")
			case d.After(today):
				bad(CodeDateFuture, "date", "the training date is in the future")
			default:
				out.SchoolYear = pthv.SchoolYearOf(d).String()
			}
		}
		switch {
		case len(out.Type) > MaxType:
			bad(CodeTooLong, "trainingType", fmt.Sprintf("trainingType is %d bytes long; at most %d are kept", len(out.Type), MaxType))
		case out.Type != "" && !slices.Contains(Types, out.Type) && !(strings.HasPrefix(out.Type, "ext:") && len(out.Type) > 4):
			bad(CodeType, "trainingType", "trainingType must be one of "+strings.Join(Types, ", ")+" or ext:<name>")
		}
		if h := get("hours"); h != "" {
			v, err := strconv.ParseFloat(h, 64)
			if err != nil || v <= 0 || v > MaxHours {
				bad(CodeHours, "hours", fmt.Sprintf("hours must be a number more than 0 and at most %d", MaxHours))
			}
			out.Hours = v
		}
		if len(out.Trainer) > MaxTrainer {
			bad(CodeTooLong, "trainerOrganization", fmt.Sprintf("trainerOrganization is longer than %d bytes", MaxTrainer))
		}
		switch o := strings.ToLower(get("optIn")); o {
		case "":
		case "true", "false":
			v := o == "true"
			out.OptIn = &v
		default:
			bad(CodeOptIn, "optIn", "optIn must be true, false or blank")
		}
		if !row.Failed() {
			if first, dup := seen[out.Key()]; dup {
				bad(CodeDuplicate, "", fmt.Sprintf("educator %s has a %s training on this date already on line %d", roster.MessageID(out.Educator), out.Type, first))
			}
		}
		if row.Failed() {
			return
		}
		seen[out.Key()] = row.Line
		res.Records = append(res.Records, out)
	})
	res.Findings, res.Rows, res.Rejected = csvrows.As[Finding](t.Findings), t.Rows, t.Rejected
	if t.FileError() {
		res.Records = nil // a file cut off at MaxBytes: nothing of it is imported
	}
	return res, err
}

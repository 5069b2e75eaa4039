// Package consent reads families' consent files for Parent Teacher Home Visits
// (drops/{districtId}/consent/*.csv; columns in schemas/consent-csv.schema.json). Home visits
// are voluntary for all: a family's answer, per school year, is recorded so that a family
// that declined never appears in a cohort or an outreach list for that year.
//
// A row names its subject by exactly one of familyId (the id printed in the coordinator's
// cohort CSV) or studentSourcedId. A row with an error is not imported and is reported with
// its file, line, column and rule; no finding repeats a value from the row other than a
// family id or a student sourcedId that does not look like an email address.
package consent

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Columns are the file's columns. schoolYear and consent are required, and one of familyId
// and studentSourcedId.
var Columns = []string{"schoolYear", "familyId", "studentSourcedId", "consent", "date"}

// Values are the consent values; unknown withdraws an earlier answer.
var Values = []string{"accepted", "declined", "unknown"}

// Limits of a file.
const (
	// MaxBytes is the largest file Read accepts (a consent row is about 50 bytes, so this is
	// far more than any district needs); a larger file is rejected as a whole.
	MaxBytes = 32 << 20
	// MaxField is the longest value of a known column, in bytes.
	MaxField = 255
	// FirstYear is the first year a schoolYear may start in.
	FirstYear = 2000
)

// Rule codes. Each finding carries one; they are stable, so reports and dashboards may
// count them.
const (
	CodeNoHeader        = "consent.no_header"        // the file is empty
	CodeHeaderMissing   = "consent.header_missing"   // a required column is missing (file error)
	CodeHeaderDuplicate = "consent.header_duplicate" // a column appears twice (file error)
	CodeHeaderUnknown   = "consent.header_unknown"   // a column is not part of the format (warning, ignored)
	CodeTooLarge        = "consent.too_large"        // the file is larger than MaxBytes (file error)
	CodeEncoding        = "consent.encoding"         // not UTF-8 (a cell, or the whole file when UTF-16)
	CodeCSV             = "consent.csv"              // the row is not valid CSV
	CodeFieldCount      = "consent.field_count"      // the row has more or fewer cells than the header
	CodeTooLong         = "consent.too_long"         // a value is longer than MaxField
	CodeRequired        = "consent.required"         // schoolYear or consent is blank
	CodeYear            = "consent.year"             // schoolYear is not YYYY-YYYY, consecutive, in range
	CodeSubject         = "consent.subject"          // not exactly one of familyId and studentSourcedId
	CodeFamilyID        = "consent.family_id"        // familyId is not fam- and 12 lowercase hex digits
	CodeSourcedID       = "consent.sourced_id"       // studentSourcedId is not a sourcedId
	CodeValue           = "consent.value"            // consent is not one of Values
	CodeDate            = "consent.date"             // date is not a real YYYY-MM-DD date
	CodeDateFuture      = "consent.date_future"      // date is after today
	CodeDuplicate       = "consent.duplicate"        // the same subject and year again: the later row wins (warning)
	CodeNoRows          = "consent.no_rows"          // a header but no rows (warning)
)

// Codes lists every rule code.
var Codes = []string{CodeNoHeader, CodeHeaderMissing, CodeHeaderDuplicate, CodeHeaderUnknown, CodeTooLarge,
	CodeEncoding, CodeCSV, CodeFieldCount, CodeTooLong, CodeRequired, CodeYear, CodeSubject, CodeFamilyID,
	CodeSourcedID, CodeValue, CodeDate, CodeDateFuture, CodeDuplicate, CodeNoRows}

// Record is one family's (or one student's family's) answer for a school year.
type Record struct {
	SchoolYear string `json:"schoolYear"`
	FamilyID   string `json:"familyId,omitempty"`
	StudentID  string `json:"studentSourcedId,omitempty"`
	Consent    string `json:"consent"`
	// Date is the day the family answered; blank means the caller uses the import time.
	Date string `json:"date,omitempty"`
	Line int    `json:"-"` // the row's line in the file
}

// Subject is "F#"+FamilyID or "S#"+StudentID: the key consent is stored under.
func (r Record) Subject() string {
	if r.FamilyID != "" {
		return pthv.FamilySubject(r.FamilyID)
	}
	return pthv.StudentSubject(r.StudentID)
}

// key identifies a record in a file: one answer per subject and school year.
func (r Record) key() string { return pthv.JoinItem(r.Subject(), r.SchoolYear) }

// subject names the record's subject in a message.
func (r Record) subject() string {
	if r.FamilyID != "" {
		return "family " + r.FamilyID
	}
	return "student " + roster.MessageID(r.StudentID)
}

// Finding is a problem with the file or a row: its fields are csvrows.Fields (Severity,
// Code, File, Line, Column, Message).
type Finding csvrows.Finding

// Result is what Read found. Records hold the valid rows in file order, one per subject and
// school year (the later row of a duplicate wins); Rows counts the data rows read, so
// Rows = len(Records) + Rejected + the consent.duplicate warnings.
type Result struct {
	Records  []Record
	Findings []Finding
	Rows     int
	Rejected int
}

// FileError reports whether a finding rejects the whole file: then nothing may be imported.
func (r *Result) FileError() bool { return csvrows.FileError(r.Findings) }

var (
	dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// format is the consent file for csvrows.
var format = csvrows.Format{
	Name:     "consent",
	Columns:  Columns,
	Required: []string{"schoolYear", "consent"},
	Subject:  true,
	// Prefixed gives the Code constants above (CodeNoHeader, CodeTooLarge, …).
	Codes:    csvrows.Prefixed("consent."),
	MaxBytes: MaxBytes,
	MaxField: MaxField,
}

// Read reads one consent file, streaming. today bounds the dates (no answer in the future)
// and the school years (none after the next one). It returns an error only when r fails;
// every problem of the file is a finding.
func Read(r io.Reader, file string, today time.Time) (*Result, error) {
	res := &Result{}
	currentYear := pthv.SchoolYearOf(today)
	todayDate := today.Format("2006-01-02")
	seen := map[string]int{} // key → index in res.Records
	dropped := 0             // records superseded by a later row, zeroed in place
	t, err := format.Read(r, file, func(row *csvrows.Row) {
		var out Record
		var okYear, okFam, okStu, okConsent, okDate bool
		out.SchoolYear, okYear = row.Get("schoolYear")
		out.FamilyID, okFam = row.Get("familyId")
		out.StudentID, okStu = row.Get("studentSourcedId")
		out.Consent, okConsent = row.Get("consent")
		out.Date, okDate = row.Get("date")
		out.Line = row.Line

		if row.Required("schoolYear", out.SchoolYear, okYear) {
			if msg := checkYear(out.SchoolYear, currentYear); msg != "" {
				row.Error(CodeYear, "schoolYear", msg)
			}
		}
		row.Subject(out.FamilyID, out.StudentID, okFam, okStu)
		if row.Required("consent", out.Consent, okConsent) && !slices.Contains(Values, out.Consent) {
			row.Error(CodeValue, "consent", "consent must be one of "+strings.Join(Values, ", ")+" (lowercase)")
		}
		if okDate && out.Date != "" {
			_, err := time.Parse("2006-01-02", out.Date)
			switch {
			case err != nil || !dateRE.MatchString(out.Date):
				row.Error(CodeDate, "date", "date must be a real date written YYYY-MM-DD")
			case out.Date > todayDate:
				row.Error(CodeDateFuture, "date", "the date the family answered is in the future")
			}
		}
		if row.Failed() {
			return
		}
		if i, dup := seen[out.key()]; dup {
			prev := res.Records[i]
			row.Warn(CodeDuplicate, "", fmt.Sprintf("%s has an answer for %s on line %d and again on line %d; the later row (line %d) is used",
				out.subject(), out.SchoolYear, prev.Line, row.Line, row.Line))
			res.Records[i] = Record{}
			dropped++
		}
		seen[out.key()] = len(res.Records)
		res.Records = append(res.Records, out)
	})
	res.Findings, res.Rows, res.Rejected = csvrows.As[Finding](t.Findings), t.Rows, t.Rejected
	switch {
	case err != nil:
	case t.FileError():
		res.Records = nil
	case dropped > 0:
		res.Records = slices.DeleteFunc(res.Records, func(r Record) bool { return r.Line == 0 })
	}
	return res, err
}

// checkYear returns why y is not a valid school year, or "".
func checkYear(y string, current pthv.SchoolYear) string {
	sy, err := pthv.ParseSchoolYear(y)
	switch {
	case errors.Is(err, pthv.ErrYearNotConsecutive):
		return "schoolYear must be two consecutive years, e.g. 2025-2026"
	case err != nil:
		return "schoolYear must be two years written YYYY-YYYY, e.g. 2025-2026"
	case sy.Start() < FirstYear:
		return fmt.Sprintf("schoolYear must start in %d or later", FirstYear)
	case current.Next().Before(sy):
		return fmt.Sprintf("schoolYear is after the next school year (%s)", current.Next())
	}
	return ""
}

// Package visits reads home-visit logs of Parent Teacher Home Visits
// (drops/{districtId}/visits/*.csv; columns in schemas/visit-csv.schema.json).
//
// A visit record holds who, when, where (home or a neutral place) and which visit (first or
// second), and nothing more: the service stores no conversation content (PTHV core practice
// 3, hopes and dreams). A column that looks like notes or conversation content is ignored,
// never read into a record, and reported. Educators go in pairs (core practice 5): a visit
// with fewer than two distinct educators is rejected.
//
// A row names the visited family by exactly one of familyId (the id printed in the
// coordinator's cohort CSV) or studentSourcedId. A row with an error is not imported and is
// reported with its file, line, column and rule; no finding repeats a value from the row
// other than a visit id that does not look like an email address.
package visits

import (
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

// Columns are the file's columns. All are required except familyId and studentSourcedId,
// of which the file needs at least one column and each row exactly one value.
var Columns = []string{"visitId", "familyId", "studentSourcedId", "schoolSourcedId", "date", "visitNumber",
	"educatorSourcedIds", "setting", "durationMinutes", "status"}

// Settings are where a visit takes place: the family's home or a neutral place the family
// chose.
var Settings = []string{"home", "neutral"}

// Statuses are a visit's outcomes.
var Statuses = []string{"completed", "cancelled"}

// Limits of a file and of a visit.
const (
	// MaxBytes is the largest file Read accepts (a visit row is about 120 bytes, so this is
	// far more than any district needs); a larger file is rejected as a whole.
	MaxBytes = 32 << 20
	// MaxField is the longest value of a known column, in bytes, other than
	// educatorSourcedIds; it is also the longest educator sourcedId.
	MaxField = 255
	// MaxListField is the longest educatorSourcedIds value, in bytes: a list of ids, each up
	// to MaxField long.
	MaxListField = 4096
	// FirstYear is the first year of the first school year a visit may be in: no visit
	// before 1 July FirstYear.
	FirstYear = 2000
	// MaxMinutes is the longest a visit may last.
	MaxMinutes = 600
)

// Rule codes. Each finding carries one; they are stable, so reports and dashboards may
// count them.
const (
	CodeNoHeader        = "visit.no_header"        // the file is empty
	CodeHeaderMissing   = "visit.header_missing"   // a required column is missing (file error)
	CodeHeaderDuplicate = "visit.header_duplicate" // a column appears twice (file error)
	CodeHeaderUnknown   = "visit.header_unknown"   // a column is not part of the format (warning, ignored)
	CodeContentColumn   = "visit.content_column"   // a column looks like notes or conversation content (warning, ignored, never stored)
	CodeTooLarge        = "visit.too_large"        // the file is larger than MaxBytes (file error)
	CodeEncoding        = "visit.encoding"         // not UTF-8 (a cell, or the whole file when UTF-16)
	CodeCSV             = "visit.csv"              // the row is not valid CSV
	CodeFieldCount      = "visit.field_count"      // the row has more or fewer cells than the header
	CodeTooLong         = "visit.too_long"         // a value is longer than MaxField (MaxListField for educatorSourcedIds)
	CodeRequired        = "visit.required"         // a required value is blank
	CodeVisitID         = "visit.visit_id"         // visitId is not an id
	CodeSubject         = "visit.subject"          // not exactly one of familyId and studentSourcedId
	CodeFamilyID        = "visit.family_id"        // familyId is not fam- and 12 lowercase hex digits
	CodeSourcedID       = "visit.sourced_id"       // studentSourcedId, schoolSourcedId or an educator id is not a sourcedId
	CodeDate            = "visit.date"             // date is not a real YYYY-MM-DD date from 1 July FirstYear
	CodeDateFuture      = "visit.date_future"      // date is after today
	CodeNumber          = "visit.number"           // visitNumber is not 1 or 2
	CodePair            = "visit.pair"             // fewer than two distinct educators
	CodeSetting         = "visit.setting"          // setting is not one of Settings
	CodeDuration        = "visit.duration"         // durationMinutes is not a whole number from 1 to MaxMinutes
	CodeStatus          = "visit.status"           // status is not one of Statuses
	CodeDuplicate       = "visit.duplicate"        // the same visitId again: the later row wins (warning)
	CodeNoRows          = "visit.no_rows"          // a header but no rows (warning)
)

// Codes lists every rule code.
var Codes = []string{CodeNoHeader, CodeHeaderMissing, CodeHeaderDuplicate, CodeHeaderUnknown, CodeContentColumn,
	CodeTooLarge, CodeEncoding, CodeCSV, CodeFieldCount, CodeTooLong, CodeRequired, CodeVisitID, CodeSubject,
	CodeFamilyID, CodeSourcedID, CodeDate, CodeDateFuture, CodeNumber, CodePair, CodeSetting, CodeDuration,
	CodeStatus, CodeDuplicate, CodeNoRows}

// Record is one home visit as read from a visit file (pthv.Visit, whose SchoolYear method
// gives the school year of its date).
type Record = pthv.Visit

// Finding is a problem with the file or a row: its fields are csvrows.Fields (Severity,
// Code, File, Line, Column, Message).
type Finding csvrows.Finding

// Result is what Read found. Records hold the valid rows in file order, one per visitId
// (the later row of a duplicate wins); Rows counts the data rows read, so
// Rows = len(Records) + Rejected + the visit.duplicate warnings.
type Result struct {
	Records  []Record
	Findings []Finding
	Rows     int
	Rejected int
}

// FileError reports whether a finding rejects the whole file: then nothing may be imported.
func (r *Result) FileError() bool { return csvrows.FileError(r.Findings) }

// idText describes the sourcedId pattern in messages.
const idText = csvrows.SourcedIDText

var (
	idRE       = csvrows.SourcedID
	dateRE     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	durationRE = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
	// contentRE matches column names that look like notes or conversation content.
	contentRE = regexp.MustCompile(`(?i)note|comment|summary|content|hopes|dream|conversation`)
)

// format is the visit file for csvrows.
var format = csvrows.Format{
	Name:    "visit",
	Columns: Columns,
	Required: slices.DeleteFunc(slices.Clone(Columns), func(c string) bool {
		return c == "familyId" || c == "studentSourcedId"
	}),
	Subject: true,
	// Prefixed gives the Code constants above (CodeNoHeader, CodeTooLarge, …).
	Codes:    csvrows.Prefixed("visit."),
	MaxBytes: MaxBytes,
	MaxField: MaxField,
	Limits:   map[string]int{"educatorSourcedIds": MaxListField},
	Unknown:  contentColumn,
}

// contentColumn reports a column that looks like notes or conversation content.
func contentColumn(c csvrows.Column, warn func(code, col, msg string)) bool {
	if c.Header == "" || !contentRE.MatchString(c.Header) {
		return false
	}
	const why = "PTHV Reach stores no conversation content (what families share stays with them and their educators), " +
		"so the column was ignored and nothing in it was stored"
	if c.Name == "" {
		warn(CodeContentColumn, "", fmt.Sprintf("column %d, named %s, looks like visit notes or conversation content; %s",
			c.Index+1, roster.EmailLikePlaceholder, why))
	} else {
		warn(CodeContentColumn, c.Name, "the column looks like visit notes or conversation content; "+why)
	}
	return true
}

// Read reads one visit file, streaming. today bounds the dates (no visit in the future). It
// returns an error only when r fails; every problem of the file is a finding. Cells of
// columns that are not part of the format are never read into a record or a finding.
func Read(r io.Reader, file string, today time.Time) (*Result, error) {
	res := &Result{}
	todayDate := today.Format(time.DateOnly)
	firstDate := fmt.Sprintf("%04d-07-01", FirstYear)
	seen := map[string]int{} // visitId → index in res.Records
	dropped := 0             // records superseded by a later row, zeroed in place
	t, err := format.Read(r, file, func(row *csvrows.Row) {
		bad, get, required := row.Error, row.Get, row.Required
		var out Record
		out.Line = row.Line

		id, ok := get("visitId")
		if required("visitId", id, ok) && !idRE.MatchString(id) {
			bad(CodeVisitID, "visitId", "visitId must be "+idText)
		}
		out.ID = id

		var okFam, okStu bool
		out.FamilyID, okFam = get("familyId")
		out.StudentID, okStu = get("studentSourcedId")
		row.Subject(out.FamilyID, out.StudentID, okFam, okStu)

		school, ok := get("schoolSourcedId")
		if required("schoolSourcedId", school, ok) && !idRE.MatchString(school) {
			bad(CodeSourcedID, "schoolSourcedId", "schoolSourcedId must be "+idText)
		}
		out.School = school

		date, ok := get("date")
		if required("date", date, ok) {
			_, err := time.Parse(time.DateOnly, date)
			switch {
			case err != nil || !dateRE.MatchString(date):
				bad(CodeDate, "date", "date must be a real date written YYYY-MM-DD")
			case date < firstDate:
				bad(CodeDate, "date", fmt.Sprintf("date is before 1 July %d", FirstYear))
			case date > todayDate:
				bad(CodeDateFuture, "date", "the date of the visit is in the future")
			}
		}
		out.Date = date

		num, ok := get("visitNumber")
		if required("visitNumber", num, ok) {
			switch num {
			case "1":
				out.Number = 1
			case "2":
				out.Number = 2
			default:
				bad(CodeNumber, "visitNumber", "visitNumber must be 1 (the first visit) or 2 (the second visit)")
			}
		}

		eds, ok := get("educatorSourcedIds")
		if required("educatorSourcedIds", eds, ok) {
			out.Educators, ok = educators(eds, bad)
			if ok && len(out.Educators) < 2 {
				bad(CodePair, "educatorSourcedIds", "a visit needs two or more distinct educators: PTHV educators visit in pairs; "+
					"list their sourcedIds separated by ;")
			}
		}

		setting, ok := get("setting")
		if required("setting", setting, ok) && !slices.Contains(Settings, setting) {
			bad(CodeSetting, "setting", "setting must be one of "+strings.Join(Settings, ", ")+" (lowercase)")
		}
		out.Setting = setting

		mins, ok := get("durationMinutes")
		if required("durationMinutes", mins, ok) {
			n := 0
			if durationRE.MatchString(mins) {
				for _, c := range mins {
					n = n*10 + int(c-'0')
				}
			}
			if n < 1 || n > MaxMinutes {
				bad(CodeDuration, "durationMinutes", fmt.Sprintf("durationMinutes must be a whole number of minutes from 1 to %d, without leading zeros", MaxMinutes))
			}
			out.Minutes = n
		}

		status, ok := get("status")
		if required("status", status, ok) && !slices.Contains(Statuses, status) {
			bad(CodeStatus, "status", "status must be one of "+strings.Join(Statuses, ", ")+" (lowercase)")
		}
		out.Status = status

		if row.Failed() {
			return
		}
		if i, dup := seen[out.ID]; dup {
			prev := res.Records[i]
			row.Warn(CodeDuplicate, "", fmt.Sprintf("visit %s is on line %d and again on line %d; the later row (line %d) is used",
				roster.MessageID(out.ID), prev.Line, row.Line, row.Line))
			res.Records[i] = Record{}
			dropped++
		}
		seen[out.ID] = len(res.Records)
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

// educators splits an educatorSourcedIds value into its distinct ids, sorted. It reports
// the first entry that is not a sourcedId through bad and returns ok false.
func educators(v string, bad func(code, col, msg string)) (ids []string, ok bool) {
	for e := range strings.SplitSeq(v, ";") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			bad(CodeSourcedID, "educatorSourcedIds", "educatorSourcedIds has an empty entry; separate the educators' sourcedIds with a single ;")
			return nil, false
		case !idRE.MatchString(e):
			bad(CodeSourcedID, "educatorSourcedIds", "each educator sourcedId in educatorSourcedIds must be "+idText+"; separate them with ;")
			return nil, false
		}
		ids = append(ids, e)
	}
	slices.Sort(ids)
	return slices.Compact(ids), true
}

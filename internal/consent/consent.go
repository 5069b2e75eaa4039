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
		return FamilySubject(r.FamilyID)
	}
	return StudentSubject(r.StudentID)
}

// key identifies a record in a file: one answer per subject and school year.
func (r Record) key() string { return r.Subject() + "#" + r.SchoolYear }

// subject names the record's subject in a message.
func (r Record) subject() string {
	if r.FamilyID != "" {
		return "family " + r.FamilyID
	}
	return "student " + roster.MessageID(r.StudentID)
}

// Finding is a problem with the file or a row.
type Finding struct {
	Severity string `json:"severity"` // error or warning
	Code     string `json:"code"`
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   string `json:"column,omitempty"`
	Message  string `json:"message"`
}

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
func (r *Result) FileError() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == "error" && f.Line <= 1 })
}

var (
	idRE     = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)
	familyRE = regexp.MustCompile(`^fam-[0-9a-f]{12}$`)
	yearRE   = regexp.MustCompile(`^([0-9]{4})-([0-9]{4})$`)
	dateRE   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

var errTooLarge = errors.New("consent file too large")

// capReader fails with errTooLarge once more than MaxBytes have been read.
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

// Read reads one consent file, streaming. today bounds the dates (no answer in the future)
// and the school years (none after the next one). It returns an error only when r fails;
// every problem of the file is a finding.
func Read(r io.Reader, file string, today time.Time) (*Result, error) {
	res := &Result{}
	add := func(sev, code string, line int, col, msg string) {
		res.Findings = append(res.Findings, Finding{Severity: sev, Code: code, File: file, Line: line, Column: col, Message: msg})
	}
	// tooLarge rejects the whole file: nothing of a file cut off at the limit is imported, and
	// its rows are not reported.
	tooLarge := func() (*Result, error) {
		res.Records, res.Rows, res.Rejected = nil, 0, 0
		res.Findings = slices.DeleteFunc(res.Findings, func(f Finding) bool { return f.Line > 1 })
		add("error", CodeTooLarge, 0, "", fmt.Sprintf("the file is larger than %d MB; split it into smaller files", MaxBytes>>20))
		return res, nil
	}
	cr := csv.NewReader(&capReader{r: r, left: MaxBytes})
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		add("error", CodeNoHeader, 1, "", "the file is empty: it needs a header row naming the columns")
		return res, nil
	case errors.Is(err, errTooLarge):
		return tooLarge()
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			add("error", CodeCSV, 1, "", "the header is not valid CSV: "+pe.Err.Error())
			return res, nil
		}
		return res, err
	}
	if h := header[0]; strings.HasPrefix(h, "\xff\xfe") || strings.HasPrefix(h, "\xfe\xff") {
		add("error", CodeEncoding, 1, "", "the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
		return res, nil
	}
	width := len(header)
	idx := map[string]int{}
	var unknown []int
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(Columns, h) {
			unknown = append(unknown, i)
			continue
		}
		if _, dup := idx[h]; dup {
			add("error", CodeHeaderDuplicate, 1, h, "the column "+h+" appears twice")
			continue
		}
		idx[h] = i
	}
	if len(idx) == 0 {
		// Most likely the header row is missing and the first row is data: its cells are not
		// repeated in the finding.
		add("error", CodeHeaderMissing, 1, "", "the first row names none of the columns "+strings.Join(Columns, ", ")+
			"; the file needs a header row naming its columns")
		return res, nil
	}
	for _, i := range unknown {
		h := strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
		switch name := roster.FindingID(safe(h)); {
		case h == "":
			add("warning", CodeHeaderUnknown, 1, "", fmt.Sprintf("column %d has no name and is ignored", i+1))
		case name == "":
			add("warning", CodeHeaderUnknown, 1, "", fmt.Sprintf("column %d is named %s, which is not part of the consent file; it is ignored", i+1, roster.EmailLikePlaceholder))
		default:
			add("warning", CodeHeaderUnknown, 1, name, "the column is not part of the consent file and is ignored")
		}
	}
	for _, c := range []string{"schoolYear", "consent"} {
		if _, ok := idx[c]; !ok {
			add("error", CodeHeaderMissing, 1, c, "the required column "+c+" is missing")
		}
	}
	_, fam := idx["familyId"]
	_, stu := idx["studentSourcedId"]
	if !fam && !stu {
		add("error", CodeHeaderMissing, 1, "familyId", "the file needs a familyId or a studentSourcedId column (or both)")
	}
	if res.FileError() {
		return res, nil
	}

	currentYear := today.Year()
	if today.Month() < time.July {
		currentYear--
	}
	todayDate := today.Format("2006-01-02")
	seen := map[string]int{} // key → index in res.Records
	dropped := 0             // records superseded by a later row, zeroed in place
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
			add("error", CodeCSV, max(pe.StartLine, 2), "", "the row is not valid CSV: "+pe.Err.Error())
			continue
		}
		if !slices.ContainsFunc(rec, func(s string) bool { return strings.TrimSpace(s) != "" }) {
			continue // a blank line, or a row of empty cells as spreadsheets write them
		}
		line, _ := cr.FieldPos(0) // a record always has at least one field
		res.Rows++
		errs := 0
		bad := func(code, col, msg string) {
			errs++
			add("error", code, line, col, msg)
		}
		if len(rec) != width {
			bad(CodeFieldCount, "", fmt.Sprintf("the row has %d cells but the header has %d", len(rec), width))
		}
		// get returns a column's trimmed value, or ok false when it is unusable (already reported).
		get := func(c string) (string, bool) {
			i, ok := idx[c]
			if !ok || i >= len(rec) {
				return "", true
			}
			v := strings.TrimSpace(rec[i])
			switch {
			case !utf8.ValidString(v):
				bad(CodeEncoding, c, c+" has bytes that are not UTF-8; save the file as UTF-8 (CSV UTF-8)")
				return "", false
			case len(v) > MaxField:
				bad(CodeTooLong, c, fmt.Sprintf("%s is longer than %d characters", c, MaxField))
				return "", false
			}
			return v, true
		}
		var out Record
		var okYear, okFam, okStu, okConsent, okDate bool
		out.SchoolYear, okYear = get("schoolYear")
		out.FamilyID, okFam = get("familyId")
		out.StudentID, okStu = get("studentSourcedId")
		out.Consent, okConsent = get("consent")
		out.Date, okDate = get("date")
		out.Line = line

		switch {
		case !okYear:
		case out.SchoolYear == "":
			bad(CodeRequired, "schoolYear", "schoolYear is required but blank")
		default:
			if msg := checkYear(out.SchoolYear, currentYear); msg != "" {
				bad(CodeYear, "schoolYear", msg)
			}
		}
		if okFam && okStu {
			switch {
			case out.FamilyID == "" && out.StudentID == "":
				bad(CodeSubject, "familyId", "the row needs a familyId or a studentSourcedId; both are blank")
			case out.FamilyID != "" && out.StudentID != "":
				bad(CodeSubject, "familyId", "the row has both a familyId and a studentSourcedId; give exactly one of them")
			}
		}
		if okFam && out.FamilyID != "" && !familyRE.MatchString(out.FamilyID) {
			bad(CodeFamilyID, "familyId", "familyId must be fam- and 12 lowercase hex digits, as printed in the cohort CSV")
		}
		if okStu && out.StudentID != "" && !idRE.MatchString(out.StudentID) {
			bad(CodeSourcedID, "studentSourcedId", "studentSourcedId must be 1 to 255 characters of A-Z, a-z, 0-9 and . / @ _ -")
		}
		switch {
		case !okConsent:
		case out.Consent == "":
			bad(CodeRequired, "consent", "consent is required but blank")
		case !slices.Contains(Values, out.Consent):
			bad(CodeValue, "consent", "consent must be one of "+strings.Join(Values, ", ")+" (lowercase)")
		}
		if okDate && out.Date != "" {
			_, err := time.Parse("2006-01-02", out.Date)
			switch {
			case err != nil || !dateRE.MatchString(out.Date):
				bad(CodeDate, "date", "date must be a real date written YYYY-MM-DD")
			case out.Date > todayDate:
				bad(CodeDateFuture, "date", "the date the family answered is in the future")
			}
		}
		if errs > 0 {
			res.Rejected++
			continue
		}
		if i, dup := seen[out.key()]; dup {
			prev := res.Records[i]
			add("warning", CodeDuplicate, line, "", fmt.Sprintf("%s has an answer for %s on line %d and again on line %d; the later row (line %d) is used",
				out.subject(), out.SchoolYear, prev.Line, line, line))
			res.Records[i] = Record{}
			dropped++
		}
		seen[out.key()] = len(res.Records)
		res.Records = append(res.Records, out)
	}
	if dropped > 0 {
		res.Records = slices.DeleteFunc(res.Records, func(r Record) bool { return r.Line == 0 })
	}
	if res.Rows == 0 {
		add("warning", CodeNoRows, 1, "", "the file has a header but no rows")
	}
	return res, nil
}

// checkYear returns why y is not a valid school year, or "".
func checkYear(y string, current int) string {
	m := yearRE.FindStringSubmatch(y)
	if m == nil {
		return "schoolYear must be two years written YYYY-YYYY, e.g. 2025-2026"
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	switch {
	case b != a+1:
		return "schoolYear must be two consecutive years, e.g. 2025-2026"
	case a < FirstYear:
		return fmt.Sprintf("schoolYear must start in %d or later", FirstYear)
	case a > current+1:
		return fmt.Sprintf("schoolYear is after the next school year (%d-%d)", current+1, current+2)
	}
	return ""
}

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

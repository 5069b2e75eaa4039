package csv

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity says what a finding does to the import.
type Severity string

const (
	// SeverityError means the row, the file or the package is not imported.
	SeverityError Severity = "error"
	// SeverityWarning means the data is imported as its sender meant it, but deviates
	// from the OneRoster specification and should be fixed at the source.
	SeverityWarning Severity = "warning"
	// SeverityInfo is a note: nothing is wrong with the data.
	SeverityInfo Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Code is a stable rule code. Codes never change meaning; new rules get new codes.
type Code string

// Rule describes one rule code: its fixed severity and what it checks.
type Rule struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Scope    string   `json:"scope"` // package, file or row: what an error rejects
	Summary  string   `json:"summary"`
}

// The rule codes. Package- and file-scoped errors reject the whole export; row-scoped
// errors reject the row and the rows that depend on it.
const (
	CodePackageUnreadable   Code = "package.unreadable"
	CodePackageEmpty        Code = "package.empty"
	CodePackageUnsafePath   Code = "package.unsafe_path"
	CodePackageTooLarge     Code = "package.too_large"
	CodePackageRatio        Code = "package.compression_ratio"
	CodePackageDuplicate    Code = "package.duplicate_entry"
	CodePackageSubfolder    Code = "package.subfolder"
	CodePackageUnknownFile  Code = "package.unknown_file"
	CodePackageUsersMissing Code = "package.users_missing"
	// CodePackageTooManyEntries: the zip has more entries than Limits.MaxEntries.
	CodePackageTooManyEntries Code = "package.too_many_entries"

	CodeManifestMissing      Code = "manifest.missing"
	CodeManifestHeader       Code = "manifest.header"
	CodeManifestRow          Code = "manifest.row"
	CodeManifestVersion      Code = "manifest.version"
	CodeManifestFormat       Code = "manifest.manifest_version"
	CodeManifestMode         Code = "manifest.mode"
	CodeManifestModeBlank    Code = "manifest.mode_blank"
	CodeManifestFileMissing  Code = "manifest.file_missing"
	CodeManifestFileAbsent   Code = "manifest.file_unexpected"
	CodeManifestFileUnlisted Code = "manifest.file_unlisted"
	CodeManifestUnknownProp  Code = "manifest.unknown_property"

	CodeFileUnreadable  Code = "file.unreadable"
	CodeFileNoHeader    Code = "file.no_header"
	CodeFileEmptyBulk   Code = "file.empty_bulk"
	CodeFileEmptyDelta  Code = "file.empty_delta"
	CodeFileNotImported Code = "file.not_imported"
	CodeFileVersion     Code = "file.version_mismatch"

	CodeHeaderMissing   Code = "header.missing_column"
	CodeHeaderOptional  Code = "header.missing_optional_column"
	CodeHeaderDuplicate Code = "header.duplicate_column"
	CodeHeaderOrder     Code = "header.column_order"
	CodeHeaderUnknown   Code = "header.unknown_column"
	CodeHeaderExtension Code = "header.extension_column"
	CodeHeaderLegacy    Code = "header.legacy_name"
	CodeHeaderBlank     Code = "header.blank_column"
	CodeBOM             Code = "encoding.bom"
	CodeLineEndings     Code = "encoding.mixed_line_endings"
	// CodeNoFinalLineBreak: the file's last row has no line break, as a transfer cut short
	// leaves a file (the import holds a large bulk file like that).
	CodeNoFinalLineBreak Code = "file.no_final_line_break"
	CodeNotUTF8          Code = "encoding.not_utf8"
	// CodeControlChar: a value holds a control or bidirectional override character.
	CodeControlChar Code = "value.control_character"
	// CodeValueTooLong: a kept value is longer than its column's cap (ValueCap).
	CodeValueTooLong    Code = "value.too_long"
	CodeQuote           Code = "csv.quote"
	CodeLineBreak       Code = "csv.line_break"
	CodeFieldCount      Code = "csv.field_count"
	CodeFieldTooLong    Code = "csv.field_too_long"
	CodeRequired        Code = "value.required"
	CodeSourcedID       Code = "value.sourced_id"
	CodeDate            Code = "value.date"
	CodeDateTime        Code = "value.datetime"
	CodeDateTimeFormat  Code = "value.datetime_format"
	CodeYear            Code = "value.year"
	CodeBoolean         Code = "value.boolean"
	CodeBooleanCase     Code = "value.boolean_case"
	CodeEnum            Code = "value.enum"
	CodeEnumCase        Code = "value.enum_case"
	CodeStatus          Code = "value.status"
	CodeBulkStatus      Code = "value.bulk_status"
	CodeDuplicate       Code = "id.duplicate"
	CodeRefDangling     Code = "ref.dangling"
	CodeRefRejected     Code = "ref.rejected"
	CodeRefType         Code = "ref.wrong_type"
	CodeRefTargetAbsent Code = "ref.target_file_absent"
	CodeRefUnverified   Code = "ref.unverified"
	CodeUserNoRole      Code = "user.no_role"
	CodeTooManyFindings Code = "report.truncated"
)

// Rules lists every rule the reader applies, in a stable order, for documentation and
// for the validation report schema.
var Rules = []Rule{
	{CodePackageUnreadable, SeverityError, "package", "the path is not a readable zip file or folder"},
	{CodePackageEmpty, SeverityError, "package", "the zip or folder holds no files"},
	{CodePackageUnsafePath, SeverityError, "package", "a zip entry has an absolute path or a .. component"},
	{CodePackageTooLarge, SeverityError, "package", "the files uncompress to more than the allowed total size"},
	{CodePackageRatio, SeverityError, "package", "a zip entry compresses better than the allowed ratio (a zip bomb)"},
	{CodePackageDuplicate, SeverityError, "package", "the same file name appears twice in the zip"},
	{CodePackageSubfolder, SeverityWarning, "package", "the files sit in one folder inside the zip instead of at its root"},
	{CodePackageUnknownFile, SeverityWarning, "package", "a file that is not part of OneRoster is ignored"},
	{CodePackageUsersMissing, SeverityError, "package", "users.csv is missing from a package with bulk files"},
	{CodePackageTooManyEntries, SeverityError, "package", "the zip has more than 1,000 entries (a OneRoster export holds about twenty files)"},
	{CodeManifestMissing, SeverityError, "package", "manifest.csv is missing"},
	{CodeManifestHeader, SeverityError, "package", "manifest.csv does not start with the header propertyName,value"},
	{CodeManifestRow, SeverityError, "package", "a manifest row does not have exactly two cells, or repeats a property"},
	{CodeManifestVersion, SeverityError, "package", "oneroster.version is missing or is not 1.1 or 1.2"},
	{CodeManifestFormat, SeverityWarning, "package", "manifest.version is missing or is not 1.0"},
	{CodeManifestMode, SeverityError, "package", "a file.* value is not absent, bulk or delta"},
	{CodeManifestModeBlank, SeverityWarning, "package", "a file.* value is blank and is read as absent"},
	{CodeManifestFileMissing, SeverityError, "package", "the manifest lists a file as bulk or delta but it is not in the package"},
	{CodeManifestFileAbsent, SeverityWarning, "file", "a file marked absent is in the package; it is ignored"},
	{CodeManifestFileUnlisted, SeverityWarning, "file", "a file has no file.* row in the manifest; it is ignored"},
	{CodeManifestUnknownProp, SeverityWarning, "package", "the manifest has a property OneRoster does not define"},
	{CodeFileUnreadable, SeverityError, "file", "the file could not be read to its end"},
	{CodeFileNoHeader, SeverityError, "file", "the file is empty: it has no header row"},
	{CodeFileEmptyBulk, SeverityError, "file", "a bulk file has a header but no rows, which would remove every record"},
	{CodeFileEmptyDelta, SeverityWarning, "file", "a delta file has a header but no rows"},
	{CodeFileNotImported, SeverityInfo, "file", "the file is valid OneRoster but PTHV Reach does not import it"},
	{CodeFileVersion, SeverityError, "file", "the file has the layout of the other OneRoster version than the manifest says"},
	{CodeHeaderMissing, SeverityError, "file", "a required column is missing from the header"},
	{CodeHeaderOptional, SeverityWarning, "file", "an optional column is missing from the header; it is read as blank"},
	{CodeHeaderDuplicate, SeverityError, "file", "a column name appears twice in the header"},
	{CodeHeaderOrder, SeverityWarning, "file", "the columns are not in the order the specification gives; they are read by name"},
	{CodeHeaderUnknown, SeverityWarning, "file", "a column OneRoster does not define is ignored"},
	{CodeHeaderExtension, SeverityWarning, "file", "an extension column (metadata.* or ext_*) is ignored"},
	{CodeHeaderLegacy, SeverityWarning, "file", "a OneRoster 1.0 column name is read under its current name"},
	{CodeHeaderBlank, SeverityWarning, "file", "a header cell is blank; the column is ignored"},
	{CodeBOM, SeverityWarning, "file", "the file starts with a UTF-8 byte order mark, which is ignored"},
	{CodeLineEndings, SeverityWarning, "file", "the file mixes CRLF and LF line endings"},
	{CodeNoFinalLineBreak, SeverityWarning, "file", "the last row does not end with a line break, as a transfer cut short leaves a file; an import holds such a bulk file of a large district"},
	{CodeNotUTF8, SeverityError, "row", "the line has bytes that are not UTF-8; the encoding is never guessed"},
	{CodeQuote, SeverityError, "row", "a field is not quoted as RFC 4180 requires"},
	{CodeLineBreak, SeverityError, "row", "a field contains a line break"},
	{CodeFieldCount, SeverityError, "row", "the row has a different number of cells than the header"},
	{CodeFieldTooLong, SeverityError, "row", "a field is longer than 64 KiB"},
	{CodeRequired, SeverityError, "row", "a required value is blank"},
	{CodeValueTooLong, SeverityError, "row", "a kept value is longer than its cap: names and titles 512 bytes, email 320, phone and sms 64, identifier, courseCode, classCode and ext: values 255, grades 1 KiB, lists of sourcedIds 4 KiB"},
	{CodeControlChar, SeverityError, "row", "a value holds a control character (NUL, …) or a bidirectional override (U+202E, …)"},
	{CodeSourcedID, SeverityError, "row", "a sourcedId is not 1 to 255 characters of A-Z a-z 0-9 . / @ _ -"},
	{CodeDate, SeverityError, "row", "a date is not a real calendar date written YYYY-MM-DD"},
	{CodeDateTime, SeverityError, "row", "dateLastModified is not a date and time"},
	{CodeDateTimeFormat, SeverityWarning, "row", "dateLastModified is a valid RFC 3339 time but not in the form YYYY-MM-DDTHH:MM:SS.sssZ"},
	{CodeYear, SeverityError, "row", "a school year is not four digits"},
	{CodeBoolean, SeverityError, "row", "a boolean is not true or false"},
	{CodeBooleanCase, SeverityWarning, "row", "a boolean is written in upper or mixed case (TRUE, True)"},
	{CodeEnum, SeverityError, "row", "a value is not in the field's vocabulary"},
	{CodeEnumCase, SeverityWarning, "row", "a vocabulary value is written in another case (Scheduled for scheduled)"},
	{CodeStatus, SeverityError, "row", "a status is not active or tobedeleted"},
	{CodeBulkStatus, SeverityWarning, "row", "status or dateLastModified is filled in a bulk file, where it must be blank"},
	{CodeDuplicate, SeverityError, "row", "a sourcedId appears twice in one file; the later row is rejected"},
	{CodeRefDangling, SeverityError, "row", "a reference names a record that is in neither the package nor the roster"},
	{CodeRefRejected, SeverityError, "row", "a reference names a record that was rejected"},
	{CodeRefType, SeverityError, "row", "a reference names a record of the wrong type (a class's school must be an org of type school)"},
	{CodeRefTargetAbsent, SeverityError, "row", "a reference points into a file the manifest marks absent"},
	{CodeRefUnverified, SeverityInfo, "row", "a delta row refers to a record sent earlier; it is checked against the roster on import"},
	{CodeUserNoRole, SeverityWarning, "row", "a user has no role in roles.csv; it is kept but is no student, teacher or guardian"},
	{CodeTooManyFindings, SeverityInfo, "file", "more findings of one rule than the report lists; the rest are counted"},
}

var ruleByCode = func() map[Code]Rule {
	m := make(map[Code]Rule, len(Rules))
	for _, r := range Rules {
		m[r.Code] = r
	}
	return m
}()

// RuleFor returns the rule for a code.
func RuleFor(c Code) (Rule, bool) {
	r, ok := ruleByCode[c]
	return r, ok
}

// Finding is one problem or note about an export. It never carries a value from a row other
// than sourcedIds: no names, emails or other personal data.
type Finding struct {
	Severity  Severity `json:"severity"`
	Code      Code     `json:"code"`
	File      string   `json:"file,omitempty"`
	Line      int      `json:"line,omitempty"`
	Column    string   `json:"column,omitempty"`
	SourcedID string   `json:"sourcedId,omitempty"`
	Message   string   `json:"message"`
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc += fmt.Sprintf(":%d", f.Line)
	}
	if f.Column != "" {
		loc += " [" + f.Column + "]"
	}
	if loc == "" {
		loc = "package"
	}
	return fmt.Sprintf("%s: %s %s: %s", loc, f.Severity, f.Code, f.Message)
}

// FileSummary counts what happened to one file of the package.
type FileSummary struct {
	File     string    `json:"file"`
	Mode     string    `json:"mode"` // bulk, delta, absent, or unlisted
	Imported bool      `json:"imported"`
	Failed   bool      `json:"failed"` // a file-level error: none of its rows are imported
	Rows     int       `json:"rows"`
	Accepted int       `json:"accepted"`
	Rejected int       `json:"rejected"`
	Counts   []CodeCnt `json:"-"`
}

// CodeCnt is a count of findings with one code in one file.
type CodeCnt struct {
	File     string   `json:"file,omitempty"`
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Count    int      `json:"count"`
	Listed   int      `json:"listed"`
}

// Report is the outcome of reading one export.
type Report struct {
	ReportVersion string        `json:"reportVersion"`
	Source        string        `json:"source"`
	Version       string        `json:"version"`    // OneRoster version from the manifest: 1.1, 1.2 or "" when unknown
	Importable    bool          `json:"importable"` // no package- or file-level error: an import would apply, skipping rejected rows
	Errors        int           `json:"errors"`
	Warnings      int           `json:"warnings"`
	Summary       []FileSummary `json:"summary"`
	Findings      []Finding     `json:"findings"`
	Counts        []CodeCnt     `json:"counts"` // every (file, code) with its total and how many are listed

	maxPerRule   int
	counts       map[fileCode]*CodeCnt
	listedByCode map[Code]int
}

// MaxListedFindings is the most findings a report lists; past it, findings are only counted
// (Counts, and report.truncated findings). With file names of at most 80 characters and
// sourcedIds of at most 255, a report's JSON stays under MaxListedFindings × 1 KiB plus its
// counts.
const MaxListedFindings = 10000

type fileCode struct {
	file string
	code Code
}

func newReport(source string, maxPerRule int) *Report {
	return &Report{ReportVersion: "1", Source: source, Findings: []Finding{}, Summary: []FileSummary{}, Counts: []CodeCnt{},
		maxPerRule: maxPerRule, counts: map[fileCode]*CodeCnt{}, listedByCode: map[Code]int{}}
}

// add records a finding; past the per-rule cap it is only counted.
func (r *Report) add(f Finding) {
	rule, ok := ruleByCode[f.Code]
	if !ok {
		panic("unknown rule code " + string(f.Code))
	}
	f.Severity = rule.Severity
	if f.Message == "" {
		f.Message = rule.Summary
	}
	k := fileCode{f.File, f.Code}
	c := r.counts[k]
	if c == nil {
		c = &CodeCnt{File: f.File, Code: f.Code, Severity: f.Severity}
		r.counts[k] = c
	}
	c.Count++
	switch f.Severity {
	case SeverityError:
		r.Errors++
	case SeverityWarning:
		r.Warnings++
	}
	// Per rule in one file, per rule across files (a zip of many unknown files), and in all.
	if r.maxPerRule > 0 && (c.Listed >= r.maxPerRule || r.listedByCode[f.Code] >= r.maxPerRule) || len(r.Findings) >= MaxListedFindings {
		return
	}
	c.Listed++
	r.listedByCode[f.Code]++
	r.Findings = append(r.Findings, f)
}

// finish sorts the findings (package first, then files in read order, by line) and fills
// the derived fields.
func (r *Report) finish(fileOrder map[string]int) {
	order := func(file string) int {
		if file == "" {
			return -1
		}
		if o, ok := fileOrder[file]; ok {
			return o
		}
		return len(fileOrder)
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(order(a.File), order(b.File)),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Severity.rank(), b.Severity.rank()),
			cmp.Compare(a.Code, b.Code),
		)
	})
	r.Counts = r.Counts[:0]
	for _, c := range r.counts {
		r.Counts = append(r.Counts, *c)
	}
	// Say in the findings themselves where a list was cut short (not counted again).
	unlisted := map[Code][2]int{} // findings and files of a rule with none listed
	for _, c := range r.Counts {
		switch {
		case c.Count > c.Listed && c.Listed > 0:
			r.Findings = append(r.Findings, Finding{Severity: SeverityInfo, Code: CodeTooManyFindings, File: c.File,
				Message: fmt.Sprintf("%d more %s findings are not listed (%d in all)", c.Count-c.Listed, c.Code, c.Count)})
		case c.Count > 0 && c.Listed == 0:
			u := unlisted[c.Code]
			unlisted[c.Code] = [2]int{u[0] + c.Count, u[1] + 1}
		}
	}
	codes := make([]Code, 0, len(unlisted))
	for code := range unlisted {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		u := unlisted[code]
		r.Findings = append(r.Findings, Finding{Severity: SeverityInfo, Code: CodeTooManyFindings,
			Message: fmt.Sprintf("%d more %s findings in %d more files are not listed", u[0], code, u[1])})
	}
	slices.SortFunc(r.Counts, func(a, b CodeCnt) int {
		return cmp.Or(cmp.Compare(order(a.File), order(b.File)), cmp.Compare(a.File, b.File),
			cmp.Compare(a.Severity.rank(), b.Severity.rank()), cmp.Compare(a.Code, b.Code))
	})
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(order(a.File), order(b.File)), cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	r.Importable = !r.hasFatal()
}

// hasFatal reports whether an error rejects the package or a whole file.
func (r *Report) hasFatal() bool {
	for _, c := range r.counts {
		if c.Severity == SeverityError && ruleByCode[c.Code].Scope != "row" {
			return true
		}
	}
	return false
}

// Fatal reports whether the export as a whole is rejected: a package- or file-level error.
func (r *Report) Fatal() bool { return r.hasFatal() }

// Count returns how many findings with the code were found in the file ("" for any file).
func (r *Report) Count(file string, code Code) int {
	n := 0
	for k, c := range r.counts {
		if k.code == code && (file == "" || k.file == file) {
			n += c.Count
		}
	}
	return n
}

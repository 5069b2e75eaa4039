package visits

import "github.com/pthv/reach/internal/csvrows"

// Rules are the visit file's rules with their severity, what an error rejects and their
// meaning, for `pthv rules`; every code the reader gives has one. (The import checks rows
// against the roster too: see importer.RosterRules.)
var Rules = []csvrows.Rule{
	{Code: CodeNoHeader, Severity: "error", Rejects: "file", Summary: "the file is empty: it has no header row"},
	{Code: CodeHeaderMissing, Severity: "error", Rejects: "file", Summary: "a required column is missing"},
	{Code: CodeHeaderDuplicate, Severity: "error", Rejects: "file", Summary: "a column name appears twice in the header"},
	{Code: CodeHeaderUnknown, Severity: "warning", Summary: "a column that is not part of the format is ignored"},
	{Code: CodeContentColumn, Severity: "warning", Summary: "a column that looks like notes or conversation content is ignored and never stored"},
	{Code: CodeTooLarge, Severity: "error", Rejects: "file", Summary: "the file is larger than 32 MiB"},
	{Code: CodeEncoding, Severity: "error", Rejects: "row", Summary: "a cell is not UTF-8 (the whole file, when it is UTF-16)"},
	{Code: CodeCSV, Severity: "error", Rejects: "row", Summary: "the row is not valid CSV (RFC 4180)"},
	{Code: CodeFieldCount, Severity: "error", Rejects: "row", Summary: "the row has a different number of cells than the header"},
	{Code: CodeTooLong, Severity: "error", Rejects: "row", Summary: "a value is longer than its limit"},
	{Code: CodeRequired, Severity: "error", Rejects: "row", Summary: "a required value is blank"},
	{Code: CodeVisitID, Severity: "error", Rejects: "row", Summary: "visitId is not an id"},
	{Code: CodeSubject, Severity: "error", Rejects: "row", Summary: "the row does not name exactly one of familyId and studentSourcedId"},
	{Code: CodeFamilyID, Severity: "error", Rejects: "row", Summary: "familyId is not fam- and 12 lowercase hex digits"},
	{Code: CodeSourcedID, Severity: "error", Rejects: "row", Summary: "studentSourcedId, schoolSourcedId or an educator id is not a sourcedId"},
	{Code: CodeDate, Severity: "error", Rejects: "row", Summary: "date is not a real calendar date written YYYY-MM-DD, from 1 July 2000"},
	{Code: CodeDateFuture, Severity: "error", Rejects: "row", Summary: "date is in the future"},
	{Code: CodeNumber, Severity: "error", Rejects: "row", Summary: "visitNumber is not 1 or 2"},
	{Code: CodePair, Severity: "error", Rejects: "row", Summary: "fewer than two distinct educators: every visit is made by a pair"},
	{Code: CodeSetting, Severity: "error", Rejects: "row", Summary: "setting is not home or neutral"},
	{Code: CodeDuration, Severity: "error", Rejects: "row", Summary: "durationMinutes is not a whole number from 1 to 600"},
	{Code: CodeStatus, Severity: "error", Rejects: "row", Summary: "status is not completed or cancelled"},
	{Code: CodeDuplicate, Severity: "warning", Summary: "the same visitId appears again; the later row wins"},
	{Code: CodeNoRows, Severity: "warning", Summary: "the file has a header but no rows"},
}

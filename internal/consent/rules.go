package consent

import "github.com/pthv/reach/internal/csvrows"

// Rules are the consent file's rules with their severity, what an error rejects and their
// meaning, for `pthv rules`; every code of Codes has one.
var Rules = []csvrows.Rule{
	{Code: CodeNoHeader, Severity: "error", Rejects: "file", Summary: "the file is empty: it has no header row"},
	{Code: CodeHeaderMissing, Severity: "error", Rejects: "file", Summary: "a required column (schoolYear, consent) is missing"},
	{Code: CodeHeaderDuplicate, Severity: "error", Rejects: "file", Summary: "a column name appears twice in the header"},
	{Code: CodeHeaderUnknown, Severity: "warning", Summary: "a column that is not part of the format is ignored"},
	{Code: CodeTooLarge, Severity: "error", Rejects: "file", Summary: "the file is larger than 32 MiB"},
	{Code: CodeEncoding, Severity: "error", Rejects: "row", Summary: "a cell is not UTF-8 (the whole file, when it is UTF-16)"},
	{Code: CodeCSV, Severity: "error", Rejects: "row", Summary: "the row is not valid CSV (RFC 4180)"},
	{Code: CodeFieldCount, Severity: "error", Rejects: "row", Summary: "the row has a different number of cells than the header"},
	{Code: CodeTooLong, Severity: "error", Rejects: "row", Summary: "a value is longer than 255 characters"},
	{Code: CodeRequired, Severity: "error", Rejects: "row", Summary: "schoolYear or consent is blank"},
	{Code: CodeYear, Severity: "error", Rejects: "row", Summary: "schoolYear is not two consecutive years written YYYY-YYYY, from 2000 to the next school year"},
	{Code: CodeSubject, Severity: "error", Rejects: "row", Summary: "the row does not name exactly one of familyId and studentSourcedId"},
	{Code: CodeFamilyID, Severity: "error", Rejects: "row", Summary: "familyId is not fam- and 12 lowercase hex digits"},
	{Code: CodeSourcedID, Severity: "error", Rejects: "row", Summary: "studentSourcedId is not a sourcedId"},
	{Code: CodeValue, Severity: "error", Rejects: "row", Summary: "consent is not accepted, declined or unknown"},
	{Code: CodeDate, Severity: "error", Rejects: "row", Summary: "date is not a real calendar date written YYYY-MM-DD"},
	{Code: CodeDateFuture, Severity: "error", Rejects: "row", Summary: "date is in the future"},
	{Code: CodeDuplicate, Severity: "warning", Summary: "the same family or student and year appears again; the later row wins"},
	{Code: CodeNoRows, Severity: "warning", Summary: "the file has a header but no rows"},
}

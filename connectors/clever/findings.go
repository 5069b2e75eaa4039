package clever

import (
	"fmt"

	"github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
)

// Severity is the OneRoster reader's severity: error, warning or info.
type Severity = csv.Severity

// Code is a stable rule code. Where a rule is the OneRoster reader's, the code is the same
// (value.required, value.sourced_id, value.date, id.duplicate, ref.dangling); rules that
// only Clever has are prefixed "clever.".
type Code = csv.Code

// The rule codes the Clever connector adds.
const (
	CodeIncomplete    Code = "clever.incomplete"          // a collection was not enumerated to its end
	CodeEnvelope      Code = "clever.envelope"            // a staged page is not a Clever list page
	CodeRecord        Code = "clever.record"              // a data element is not a record object
	CodeGrade         Code = "clever.grade"               // a grade outside Clever's vocabulary is dropped
	CodeGradeSections Code = "clever.grade_sections"      // a student without a grade whose sections' grades tie
	CodeLinkDropped   Code = "clever.link_dropped"        // a contact's relationship names no pulled student
	CodeNoStudents    Code = "clever.no_students"         // the students collection is empty
	CodeChanged       Code = "clever.changed_during_pull" // records changed while the pull ran
	CodeOtherDistrict Code = "clever.other_district"      // a record belongs to another district than the token's
)

// Rule describes one rule the connector applies.
type Rule struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Scope    string   `json:"scope"` // collection or record: what an error withholds
	Summary  string   `json:"summary"`
}

// Rules lists every rule, in a stable order, for documentation.
var Rules = []Rule{
	{CodeIncomplete, csv.SeverityError, "collection", "the collection was not pulled to its end; its records are unknown, not missing, and nothing is deactivated for them"},
	{CodeEnvelope, csv.SeverityError, "collection", "a staged page is not a Clever list page ({\"data\":[…],\"links\":[…]})"},
	{CodeNoStudents, csv.SeverityError, "collection", "the students collection is empty: users, roles and enrollments are not treated as complete"},
	{CodeRecord, csv.SeverityError, "record", "a data element is not a record object; it is skipped"},
	{csv.CodeSourcedID, csv.SeverityError, "record", "a Clever id is blank or not 1 to 255 characters of A-Z a-z 0-9 . / @ _ -"},
	{csv.CodeRequired, csv.SeverityError, "record", "a required value is blank"},
	{csv.CodeDate, csv.SeverityError, "record", "a term date is not a date"},
	{csv.CodeDuplicate, csv.SeverityWarning, "record", "a Clever id appears twice in one collection; the later record is dropped"},
	{csv.CodeRefDangling, csv.SeverityError, "record", "a reference names a record that is not in the pulled collection; the referring record is not imported"},
	{csv.CodeRefRejected, csv.SeverityError, "record", "a reference names a record that was not imported; the referring record is not imported either"},
	{CodeOtherDistrict, csv.SeverityError, "record", "a record names another district than the token's; it is not imported"},
	{CodeGrade, csv.SeverityWarning, "record", "a grade outside Clever's vocabulary is dropped; the record is kept"},
	{CodeGradeSections, csv.SeverityWarning, "record", "a student without a grade takes the grade most of their sections carry; on a tie the student gets no grade"},
	{CodeLinkDropped, csv.SeverityWarning, "record", "a contact's student relationship names a student who was not pulled (or is the contact); the link is dropped"},
	{CodeChanged, csv.SeverityInfo, "collection", "records changed while the pull ran (cursor paging keeps the pull consistent; the next run picks the changes up)"},
}

var ruleFor = func() map[Code]Rule {
	m := map[Code]Rule{}
	for _, r := range Rules {
		m[r.Code] = r
	}
	return m
}()

// Finding is one problem or note. It names collection, page (1-based, 0 when it concerns
// the whole collection) and Clever id; it never carries a value from a record other than
// ids.
type Finding struct {
	Severity   Severity   `json:"severity"`
	Code       Code       `json:"code"`
	Collection Collection `json:"collection"`
	Page       int        `json:"page,omitempty"`
	CleverID   string     `json:"cleverId,omitempty"`
	Field      string     `json:"field,omitempty"`
	Message    string     `json:"message"`
}

func (f Finding) String() string {
	loc := string(f.Collection)
	if f.Page > 0 {
		loc += fmt.Sprintf(" page %d", f.Page)
	}
	if f.CleverID != "" {
		loc += " id " + f.CleverID
	}
	if f.Field != "" {
		loc += " [" + f.Field + "]"
	}
	return fmt.Sprintf("%s: %s %s: %s", loc, f.Severity, f.Code, f.Message)
}

// Report is the outcome of mapping a pull into roster records.
type Report struct {
	// Pull is the pull's verdicts and counters.
	Pull *PullResult `json:"pull"`
	// Modes is how each kind was announced to the sink: bulk when every collection that
	// feeds it completed (and, for users, roles and enrollments, students is not empty),
	// delta otherwise (records are upserts; nothing is deactivated as missing).
	Modes map[roster.Kind]roster.Mode `json:"modes"`
	// Records and Rejected count what reached the sink, by kind.
	Records  map[roster.Kind]int `json:"records"`
	Rejected map[roster.Kind]int `json:"rejected"`
	// Complete is true when every kind is bulk: the frame may apply the snapshot as a
	// complete roster (subject to its own safety hold).
	Complete bool      `json:"complete"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Findings []Finding `json:"findings"`
	// Counts has every code's total, listed or not.
	Counts map[Code]int `json:"counts"`

	maxPerRule int
	listed     map[[2]string]int
}

func newReport(pull *PullResult, maxPerRule int) *Report {
	if maxPerRule == 0 {
		maxPerRule = 1000
	}
	return &Report{Pull: pull, Modes: map[roster.Kind]roster.Mode{}, Records: map[roster.Kind]int{},
		Rejected: map[roster.Kind]int{}, Findings: []Finding{}, Counts: map[Code]int{},
		maxPerRule: maxPerRule, listed: map[[2]string]int{}}
}

func (r *Report) add(f Finding) {
	rule, ok := ruleFor[f.Code]
	if !ok {
		panic("clever: unknown rule code " + string(f.Code))
	}
	f.Severity = rule.Severity
	if f.Message == "" {
		f.Message = rule.Summary
	}
	f.CleverID = roster.FindingID(f.CleverID)
	r.Counts[f.Code]++
	switch f.Severity {
	case csv.SeverityError:
		r.Errors++
	case csv.SeverityWarning:
		r.Warnings++
	}
	k := [2]string{string(f.Collection), string(f.Code)}
	if r.maxPerRule > 0 && r.listed[k] >= r.maxPerRule {
		return
	}
	r.listed[k]++
	r.Findings = append(r.Findings, f)
}

// Count returns how many findings of code were found in collection ("" for any).
func (r *Report) Count(c Collection, code Code) int {
	if c == "" {
		return r.Counts[code]
	}
	n := 0
	for _, f := range r.Findings {
		if f.Code == code && f.Collection == c {
			n++
		}
	}
	return n
}

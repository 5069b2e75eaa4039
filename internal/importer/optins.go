package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// RuleError is a refusal of one answer given on the command line, under the rule code a
// drop file's row would get for it (ref.unknown_student, ref.unknown_educator, …).
type RuleError struct {
	Code    string
	Column  string
	Message string
}

func (e *RuleError) Error() string { return e.Code + ": " + e.Message }

// decideOptIns records opt-in decisions: per educator and year the newest decision of opts
// (the later one on a tie) is compared with the decision on record. It is added when none is
// on record, changed when it is newer and decides otherwise, and unchanged (nothing written)
// when it is not newer or decides the same. Only added and changed decisions are written,
// and the store writes each only if no newer decision reached it meanwhile.
func (s *Service) decideOptIns(ctx context.Context, district string, opts []pthv.OptIn) (pthv.Counts, pthv.WriteStats, error) {
	var c pthv.Counts
	newest := map[string]pthv.OptIn{}
	var order []string
	for _, o := range opts {
		k := o.SchoolYear + "/" + o.Educator
		prev, ok := newest[k]
		if !ok {
			order = append(order, k)
		} else {
			c.Unchanged++ // an older decision of the same file: superseded by the newer row
		}
		if !ok || !o.At.Before(prev.At) {
			newest[k] = o
		}
	}
	onRecord := map[string]map[string]pthv.OptIn{}
	var writes []pthv.OptIn
	for _, k := range order {
		o := newest[k]
		if onRecord[o.SchoolYear] == nil {
			rec, err := s.Store.OptInDecisions(ctx, district, o.SchoolYear)
			if err != nil {
				return c, pthv.WriteStats{}, err
			}
			onRecord[o.SchoolYear] = rec
		}
		switch old, ok := onRecord[o.SchoolYear][o.Educator]; {
		case !ok:
			c.Added++
		case o.At.After(old.At) && o.In != old.In:
			c.Changed++
		default:
			c.Unchanged++
			continue
		}
		writes = append(writes, o)
	}
	if len(writes) == 0 {
		return c, pthv.WriteStats{}, nil
	}
	ws, err := s.Store.SetOptIns(ctx, district, writes)
	return c, ws, err
}

// rowTime is the decision time of a file's row dated date (YYYY-MM-DD): midnight UTC.
func rowTime(date string) time.Time {
	t, _ := time.Parse(time.DateOnly, date)
	return t
}

// SetOptIn records an educator's decision given on the command line, at the service's
// clock. The educator is checked against the district's roster as a training file's row
// is: one who is not an active educator of the roster is refused with a *RuleError
// (ref.unknown_educator), and nothing is written. It reports whether the decision was
// added, changed or unchanged (a newer decision, or the same one, on record).
func (s *Service) SetOptIn(ctx context.Context, district, educator, year string, in bool) (pthv.Counts, error) {
	d, err := s.Store.District(ctx, district)
	if errors.Is(err, pthv.ErrNotFound) {
		return pthv.Counts{}, fmt.Errorf("district %s is not registered: %w", district, pthv.ErrNotFound)
	}
	if err != nil {
		return pthv.Counts{}, err
	}
	st, _, err := s.loadState(ctx, d)
	if err != nil {
		return pthv.Counts{}, err
	}
	if !educators(st)[educator] {
		return pthv.Counts{}, &RuleError{Code: CodeUnknownEducator, Column: "educatorSourcedId", Message: unknownEducator(educator)}
	}
	c, _, err := s.decideOptIns(ctx, district, []pthv.OptIn{{Educator: educator, SchoolYear: year, In: in, At: s.now(), Source: "cli"}})
	return c, err
}

// Rule codes the importer gives rows (and command-line answers) it checks against the roster.
const (
	CodeUnknownEducator = "ref.unknown_educator"
	CodeUnknownStudent  = "ref.unknown_student"
	CodeUnknownFamily   = "ref.unknown_family"
)

func unknownEducator(id string) string {
	return fmt.Sprintf("educator %s is not an active teacher or staff member in the district's roster", roster.MessageID(id))
}

// activeStudents returns the active users of the roster who hold an active student role.
func activeStudents(st pthv.State) map[string]bool {
	out := map[string]bool{}
	for _, c := range st[roster.KindRole] {
		if c.Active && c.Role == "student" && st[roster.KindUser][c.User].Active {
			out[c.User] = true
		}
	}
	return out
}

// Codes of the rows the import checks against the roster, beyond the readers' own.
const (
	CodeUnknownSchool      = "ref.unknown_school"
	CodeOutsideSchoolYear  = "visit.outside_school_year"
	CodeUntrainedEducator  = "visit.untrained_educator"
	CodeSecondWithoutFirst = "visit.second_without_first"
)

// RosterRules are the rules the import applies to training, consent and visit rows against
// the district's roster (and to the same answers given on the command line), for `pthv
// rules`. File is the kind of file they apply to.
var RosterRules = []struct {
	File string
	csvrows.Rule
}{
	{"training, visit", csvrows.Rule{Code: CodeUnknownEducator, Severity: "error", Rejects: "row", Summary: "an educator is not an active teacher or staff member of the district's roster"}},
	{"consent, visit", csvrows.Rule{Code: CodeUnknownStudent, Severity: "error", Rejects: "row", Summary: "a student is not an active student of the district's roster (of the school, for a visit)"}},
	{"consent, visit", csvrows.Rule{Code: CodeUnknownFamily, Severity: "error", Rejects: "row", Summary: "a family id is not a family of the roster (of the school, for a visit)"}},
	{"visit", csvrows.Rule{Code: CodeUnknownSchool, Severity: "error", Rejects: "row", Summary: "the school has no active students in the district's roster"}},
	{"visit", csvrows.Rule{Code: CodeOutsideSchoolYear, Severity: "error", Rejects: "row", Summary: "the date is in a school year the district's roster does not describe"}},
	{"visit", csvrows.Rule{Code: CodeUntrainedEducator, Severity: "warning", Summary: "an educator has no training dated on or before the visit"}},
	{"visit", csvrows.Rule{Code: CodeSecondWithoutFirst, Severity: "warning", Summary: "a second visit has no first visit recorded for the family, school and year"}},
}

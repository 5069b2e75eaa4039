package importer

import (
	"context"
	"fmt"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/roster"
)

// KindConsent counts the answers of a consent import.
const KindConsent roster.Kind = "consent"

// importConsent imports one consent file. Answers for a student who is not an active
// student of the district are rejected; family ids cannot be checked against the roster
// (they are derived from guardian links when a cohort is drawn) and are taken as given. An
// answer equal to the stored one (same consent, same date) is not rewritten, so the same
// file twice changes nothing. Consent items are the district's own: no district lock is
// needed.
func (s *Service) importConsent(ctx context.Context, d *District, obj Object, id string) error {
	c, err := s.startCSV(ctx, d, obj, id, "consent")
	if c == nil || err != nil {
		return err
	}
	imp, log, file := c.imp, c.log, c.file
	res, err := consent.Read(c.body, file, s.now())
	if err != nil {
		return err
	}
	imp.ConsentFindings = res.Findings
	cc := Counts{Rejected: res.Rejected}
	if res.FileError() {
		imp.Counts[KindConsent] = cc
		imp.Validation = csvSummary(res.Findings)
		return s.rejectCSV(ctx, c)
	}
	st, from, err := s.loadState(ctx, d)
	if err != nil {
		return err
	}
	imp.StateFrom = from
	students := map[string]bool{}
	for _, c := range st[roster.KindRole] {
		if c.Active && c.Role == "student" && st[roster.KindUser][c.User].Active {
			students[c.User] = true
		}
	}
	current := map[string]map[string]consent.Entry{}
	now := s.now()
	var writes []consent.Entry
	for _, r := range res.Records {
		if r.StudentID != "" && !students[r.StudentID] {
			cc.Rejected++
			imp.ConsentFindings = append(imp.ConsentFindings, consent.Finding{Severity: "error", Code: "ref.unknown_student",
				File: file, Line: r.Line, Column: "studentSourcedId",
				Message: fmt.Sprintf("student %s is not an active student in the district's roster", roster.MessageID(r.StudentID))})
			continue
		}
		if current[r.SchoolYear] == nil {
			if current[r.SchoolYear], err = s.Store.Consent(ctx, d.ID, r.SchoolYear); err != nil {
				return err
			}
		}
		e := r.Entry(now, "import:"+id)
		switch old, ok := current[r.SchoolYear][e.Subject]; {
		case !ok:
			cc.Added++
		case old.Consent != e.Consent || (r.Date != "" && old.Date != e.Date):
			cc.Changed++
		default:
			cc.Unchanged++
			continue
		}
		writes = append(writes, e)
	}
	if err := s.Store.SetConsent(ctx, d.ID, writes); err != nil {
		return err
	}
	imp.Writes.Items += len(writes)
	imp.Counts[KindConsent] = cc
	imp.Validation = csvSummary(imp.ConsentFindings)
	imp.Status, imp.Finished = StatusApplied, s.now()
	log.Info("consent import applied", "decision", "applied", "written", len(writes), "rejected", cc.Rejected)
	return s.finish(ctx, imp, nil)
}

package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// importConsent imports one consent file. Answers for a student who is not an active
// student of the district, or for a family id that is not a family of the roster (see
// consentCheck), are rejected. An
// answer equal to the stored one (same consent, same date) is not rewritten, so the same
// file twice changes nothing. Consent items are the district's own: no district lock is
// needed.
func (s *Service) importConsent(ctx context.Context, d *pthv.District, obj pthv.Object, id string) error {
	c, err := s.startCSV(ctx, d, obj, id, "consent")
	if c == nil || err != nil {
		return err
	}
	imp, log, file := c.imp, c.log, c.file
	res, err := consent.Read(c.body, file, s.now())
	if err != nil {
		return err
	}
	imp.ConsentFindings = findings(res.Findings)
	cc := pthv.Counts{Rejected: res.Rejected}
	if res.FileError() {
		imp.Counts[pthv.KindConsent] = cc
		imp.Validation = csvSummary(res.Findings)
		return s.rejectCSV(ctx, c)
	}
	st, from, err := s.loadState(ctx, d)
	if err != nil {
		return err
	}
	imp.StateFrom = from
	check := s.consentCheck(d.ID, st)
	current := map[string]map[string]consent.Entry{}
	now := s.now()
	var writes []consent.Entry
	for _, r := range res.Records {
		if re, err := check(ctx, r); err != nil {
			return err
		} else if re != nil {
			cc.Rejected++
			imp.ConsentFindings = append(imp.ConsentFindings, pthv.Finding{Severity: "error", Code: re.Code,
				File: file, Line: r.Line, Column: re.Column, Message: re.Message})
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
		case newerAnswer(e, old) && (old.Consent != e.Consent || (r.Date != "" && old.Date != e.Date)):
			cc.Changed++
		default:
			cc.Unchanged++ // the same answer, or one older than the answer on record
			continue
		}
		current[r.SchoolYear][e.Subject] = e
		writes = append(writes, e)
	}
	if err := s.Store.SetConsent(ctx, d.ID, writes); err != nil {
		return err
	}
	imp.Writes.Items += len(writes)
	imp.Counts[pthv.KindConsent] = cc
	slices.SortStableFunc(imp.ConsentFindings, func(a, b pthv.Finding) int { return a.Line - b.Line })
	imp.Validation = csvSummary(imp.ConsentFindings)
	imp.Status, imp.Finished = pthv.StatusApplied, s.now()
	log.Info("consent import applied", "decision", "applied", "written", len(writes), "rejected", cc.Rejected)
	return s.finish(ctx, imp, nil)
}

// consentCheck returns the check of one answer's subject against the district's roster st,
// the same for a drop file's row and for `pthv consent set`: a student must be an active
// student (ref.unknown_student: a teacher's id is no student's), a family id must be one of
// Families.DistrictFamilies (ref.unknown_family). The district's families are read once, at
// the first answer that names a family.
func (s *Service) consentCheck(district string, st pthv.State) func(context.Context, consent.Record) (*RuleError, error) {
	students := activeStudents(st)
	var families map[string]bool
	return func(ctx context.Context, r consent.Record) (*RuleError, error) {
		if r.FamilyID == "" {
			if !students[r.StudentID] {
				return &RuleError{Code: CodeUnknownStudent, Column: "studentSourcedId",
					Message: fmt.Sprintf("student %s is not an active student in the district's roster", roster.MessageID(r.StudentID))}, nil
			}
			return nil, nil
		}
		if families == nil {
			if s.Families == nil {
				return nil, errors.New("consent answers by family need a family resolver (Service.Families)")
			}
			fs, err := s.Families.DistrictFamilies(ctx, district)
			if err != nil {
				return nil, err
			}
			families = fs
			if families == nil {
				families = map[string]bool{}
			}
		}
		if !families[r.FamilyID] {
			return &RuleError{Code: CodeUnknownFamily, Column: "familyId",
				Message: fmt.Sprintf("family %s is not a family of the district's roster (family ids come from a cohort's coordinator CSV)", r.FamilyID)}, nil
		}
		return nil, nil
	}
}

// SetConsent records one answer given on the command line (already read by the consent
// reader's rules), at the service's clock. Its subject is checked against the district's
// roster exactly as a consent file's row is: an unknown student or family is refused with a
// *RuleError and nothing is written. It reports whether the answer was added, changed or
// unchanged.
func (s *Service) SetConsent(ctx context.Context, district string, r consent.Record) (pthv.Counts, error) {
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
	if re, err := s.consentCheck(d.ID, st)(ctx, r); err != nil {
		return pthv.Counts{}, err
	} else if re != nil {
		return pthv.Counts{}, re
	}
	current, err := s.Store.Consent(ctx, d.ID, r.SchoolYear)
	if err != nil {
		return pthv.Counts{}, err
	}
	e := r.Entry(s.now(), "cli")
	var c pthv.Counts
	switch old, ok := current[e.Subject]; {
	case !ok:
		c.Added++
	case newerAnswer(e, old) && (old.Consent != e.Consent || old.Date != e.Date):
		c.Changed++
	default:
		c.Unchanged++
		return c, nil
	}
	return c, s.Store.SetConsent(ctx, d.ID, []consent.Entry{e})
}

// newerAnswer reports whether answer e is newer than old: by the day the family answered,
// then by when it was recorded. Only a newer answer replaces the one on record.
func newerAnswer(e, old consent.Entry) bool {
	return e.Date > old.Date || (e.Date == old.Date && e.At.After(old.At))
}

package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/visits"
)

// importVisits imports one visit log. Rows are checked against the roster: the school must
// have active students, the family (or the student's family) must be one of the school's,
// every educator must be an active educator of the district, and the date must fall in a
// school year the roster describes (when it has school-year sessions). Those are errors: the row
// is not imported. An educator with no training dated on or before the visit, and a second
// visit with no first visit recorded for the family, school and year, are warnings: the row
// is imported (logs arrive out of order). The visit id is the row's identity: the same file
// twice writes nothing, a corrected row updates.
func (s *Service) importVisits(ctx context.Context, d *pthv.District, obj pthv.Object, id string) error {
	c, err := s.startCSV(ctx, d, obj, id, "visits")
	if c == nil || err != nil {
		return err
	}
	imp, log, file := c.imp, c.log, c.file
	res, err := visits.Read(c.body, file, s.now())
	if err != nil {
		return err
	}
	imp.VisitFindings = findings(res.Findings)
	vc := pthv.Counts{Rejected: res.Rejected}
	summary := func() {
		imp.Counts[pthv.KindVisit] = vc
		imp.Validation = pthv.ValidationSummary{}
		for _, f := range imp.VisitFindings {
			if f.Severity == "error" {
				imp.Validation.Errors++
			} else {
				imp.Validation.Warnings++
			}
		}
	}
	if res.FileError() {
		summary()
		return s.rejectCSV(ctx, c)
	}
	if s.Families == nil {
		return errors.New("visit drops need a family resolver (Service.Families)")
	}
	st, from, err := s.loadState(ctx, d)
	if err != nil {
		return err
	}
	imp.StateFrom = from
	known := educators(st)
	years, err := s.schoolYears(ctx, d.ID, st)
	if err != nil {
		return err
	}
	trainings, err := s.Store.LoadTrainings(ctx, d.ID)
	if err != nil {
		return err
	}
	firstTrained := map[string]string{} // educator → earliest training date
	for k := range trainings {
		if p := strings.SplitN(k, "#", 3); len(p) == 3 && (firstTrained[p[0]] == "" || p[1] < firstTrained[p[0]]) {
			firstTrained[p[0]] = p[1]
		}
	}
	current, err := s.Store.LoadVisits(ctx, d.ID)
	if err != nil {
		return err
	}
	schools := map[string]*pthv.SchoolFamilies{}
	finding := func(r visits.Record, sev, code, column, msg string) {
		imp.VisitFindings = append(imp.VisitFindings, pthv.Finding{Severity: sev, Code: code, File: file, Line: r.Line, Column: column, Message: msg})
	}
	firsts := map[string]bool{} // school#family#year with a first visit, stored or in this file
	for _, c := range current {
		if c.Number == 1 {
			firsts[c.School+"#"+c.Family+"#"+c.Year] = true
		}
	}
	type accepted struct {
		r  visits.Record
		sv pthv.StoredVisit
	}
	var ok []accepted
	for _, r := range res.Records {
		sf, seen := schools[r.School]
		if !seen {
			if sf, err = s.Families.SchoolFamilies(ctx, d.ID, r.School); err != nil {
				return err
			}
			schools[r.School] = sf
		}
		sv := pthv.StoredVisit{Visit: r, Year: r.SchoolYear()}
		var bad []string
		switch {
		case sf == nil || len(sf.Family) == 0:
			finding(r, "error", CodeUnknownSchool, "schoolSourcedId", fmt.Sprintf("school %s has no active students in the district's roster", roster.MessageID(r.School)))
			bad = append(bad, "school")
		case r.FamilyID != "":
			if sv.Students = sf.Students[r.FamilyID]; sv.Students == nil {
				finding(r, "error", CodeUnknownFamily, "familyId", fmt.Sprintf("family %s is not a family of school %s", r.FamilyID, roster.MessageID(r.School)))
				bad = append(bad, "family")
			}
			sv.Family = r.FamilyID
		default:
			if sv.Family = sf.Family[r.StudentID]; sv.Family == "" {
				finding(r, "error", CodeUnknownStudent, "studentSourcedId", fmt.Sprintf("student %s is not an active student of school %s", roster.MessageID(r.StudentID), roster.MessageID(r.School)))
				bad = append(bad, "student")
			}
			sv.Students = sf.Students[sv.Family]
		}
		for _, e := range r.Educators {
			if !known[e] {
				finding(r, "error", CodeUnknownEducator, "educatorSourcedIds", fmt.Sprintf("educator %s is not an active teacher or staff member in the district's roster", roster.MessageID(e)))
				bad = append(bad, "educator")
			}
		}
		if len(years) > 0 && !slices.Contains(years, sv.Year) {
			finding(r, "error", CodeOutsideSchoolYear, "date", fmt.Sprintf("%s is in school year %s, which the district's roster does not describe (it has %s): families are resolved against the roster",
				r.Date, sv.Year, strings.Join(years, ", ")))
			bad = append(bad, "date")
		}
		if len(bad) > 0 {
			vc.Rejected++
			continue
		}
		for _, e := range r.Educators {
			if t := firstTrained[e]; t == "" || t > r.Date {
				finding(r, "warning", CodeUntrainedEducator, "educatorSourcedIds", fmt.Sprintf("educator %s has no training record dated on or before %s", roster.MessageID(e), r.Date))
			}
		}
		if r.Number == 1 {
			firsts[r.School+"#"+sv.Family+"#"+sv.Year] = true
		}
		ok = append(ok, accepted{r, sv})
	}
	var writes []pthv.VisitWrite
	var touched []string
	for _, a := range ok {
		if a.r.Number == 2 && !firsts[a.r.School+"#"+a.sv.Family+"#"+a.sv.Year] {
			finding(a.r, "warning", CodeSecondWithoutFirst, "visitNumber", fmt.Sprintf("a second visit with no first visit recorded for family %s at school %s in %s", a.sv.Family, roster.MessageID(a.r.School), a.sv.Year))
		}
		data, err := json.Marshal(a.sv)
		if err != nil {
			return err
		}
		w := pthv.VisitWrite{ID: a.r.ID, Data: data, VisitCurrent: pthv.VisitCurrent{Hash: pthv.Hash(data), Year: a.sv.Year, School: a.r.School, Family: a.sv.Family, Number: a.r.Number}}
		switch old, exists := current[a.r.ID]; {
		case !exists:
			vc.Added++
		case old.Hash != w.Hash:
			vc.Changed++
			touched = append(touched, old.Year) // a corrected date may move the visit to another year
		default:
			vc.Unchanged++
			continue
		}
		touched = append(touched, w.Year)
		writes = append(writes, w)
	}
	slices.SortStableFunc(imp.VisitFindings, func(a, b pthv.Finding) int { return a.Line - b.Line })
	ws, err := s.Store.PutVisits(ctx, d.ID, id, writes)
	imp.Writes.Add(ws)
	if err != nil {
		return err
	}
	summary()
	imp.Status, imp.Finished = pthv.StatusApplied, s.now()
	log.Info("visit import applied", "decision", "applied", "written", len(writes), "rejected", vc.Rejected, "warnings", imp.Validation.Warnings)
	if err := s.finish(ctx, imp, nil); err != nil {
		return err
	}
	s.touched(ctx, d.ID, touched)
	return nil
}

// schoolYears returns the school years (1 July – 30 June, like "2026-2027") of the district's
// active school-year sessions: visits are resolved against this roster, so they must fall in
// one of its years (summer visits before the first day of school included).
func (s *Service) schoolYears(ctx context.Context, district string, st pthv.State) ([]string, error) {
	var out []string
	for id, c := range st[roster.KindAcademicSession] {
		if !c.Active {
			continue
		}
		raw, active, err := s.Store.GetRecord(ctx, district, roster.KindAcademicSession, id)
		if err != nil || !active {
			continue
		}
		var as roster.AcademicSession
		if json.Unmarshal(raw, &as) == nil && as.Type == "schoolYear" && as.StartDate != "" {
			if y := pthv.SchoolYearOfDate(as.StartDate); !y.IsZero() {
				out = append(out, y.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

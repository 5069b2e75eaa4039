package cohortsvc

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Ungraded is the stratum of students whose grade the roster does not give (neither the
// student record nor the homeroom class has one).
const Ungraded = "ungraded"

// population is one school's roster as selection sees it, plus what the coordinator CSV
// needs (people's records, never passed to the selector).
type population struct {
	families  []cohort.Family
	byID      map[string]cohort.Family
	educators []cohort.Educator // every active educator of the school, with sections
	users     map[string]*roster.User
	grades    map[string]string // student id → grade
	terms     []string          // the academic sessions of the school's active classes
}

// loadPopulation reads a school's roster: its roles, classes and enrollments through the
// school index, then the users involved by id. Only active records count. Selection input
// is built from school, grade, class sections and family links; nothing else is read.
func (s *Service) loadPopulation(ctx context.Context, district, school string) (*population, error) {
	sr, err := s.Store.SchoolRoster(ctx, district, school)
	if err != nil {
		return nil, err
	}
	classes := make(map[string]roster.Class, len(sr.Classes))
	for _, c := range sr.Classes {
		classes[c.SourcedID] = c
	}
	var studentIDs, educatorIDs []string
	for _, r := range sr.Roles {
		switch {
		case r.Role == "student":
			studentIDs = append(studentIDs, r.UserSourcedID)
		case slices.Contains(pthv.EducatorRoles, r.Role):
			educatorIDs = append(educatorIDs, r.UserSourcedID)
		}
	}
	sections := map[string][]string{}
	for _, e := range sr.Enrollments {
		if _, ok := classes[e.ClassSourcedID]; !ok {
			continue // the class is inactive or at another school
		}
		sections[e.UserSourcedID] = append(sections[e.UserSourcedID], e.ClassSourcedID)
		if e.Role != "student" && !slices.Contains(educatorIDs, e.UserSourcedID) {
			educatorIDs = append(educatorIDs, e.UserSourcedID)
		}
	}
	studentIDs, educatorIDs = sortedUnique(studentIDs), sortedUnique(educatorIDs)
	users, err := s.Store.Users(ctx, district, append(slices.Clone(studentIDs), educatorIDs...))
	if err != nil {
		return nil, err
	}

	// Guardians: the students' agents that are active users.
	var agentIDs []string
	for _, id := range studentIDs {
		if u := users[id]; u != nil {
			agentIDs = append(agentIDs, u.AgentSourcedIDs...)
		}
	}
	guardians, err := s.Store.Users(ctx, district, sortedUnique(agentIDs))
	if err != nil {
		return nil, err
	}
	atSchool := make(map[string]bool, len(studentIDs))
	for _, id := range studentIDs {
		if users[id] != nil {
			atSchool[id] = true
		}
	}
	// A guardian with an active child who is not at this school has children elsewhere.
	var elsewhere []string
	for _, g := range guardians {
		for _, c := range g.AgentSourcedIDs {
			if !atSchool[c] {
				elsewhere = append(elsewhere, c)
			}
		}
	}
	others, err := s.Store.Users(ctx, district, sortedUnique(elsewhere))
	if err != nil {
		return nil, err
	}
	otherSchools := map[string]bool{}
	for id, g := range guardians {
		for _, c := range g.AgentSourcedIDs {
			if others[c] != nil {
				otherSchools[id] = true
			}
		}
	}

	p := &population{users: users, grades: map[string]string{}}
	for _, c := range sr.Classes {
		p.terms = append(p.terms, c.TermSourcedIDs...)
	}
	p.terms = sortedUnique(p.terms)
	var students []cohort.Student
	for _, id := range studentIDs {
		u := users[id]
		if u == nil {
			continue
		}
		st := cohort.Student{ID: id, Sections: sortedUnique(sections[id])}
		for _, sec := range st.Sections {
			if classes[sec].ClassType == "homeroom" {
				st.Homeroom = sec
				break
			}
		}
		switch {
		case len(u.Grades) > 0:
			st.Grade = cohort.CanonicalGrade(u.Grades[0])
		case st.Homeroom != "" && len(classes[st.Homeroom].Grades) > 0:
			st.Grade = cohort.CanonicalGrade(classes[st.Homeroom].Grades[0])
		}
		if st.Grade == "" {
			st.Grade = Ungraded
		}
		for _, a := range u.AgentSourcedIDs {
			if guardians[a] != nil {
				st.Guardians = append(st.Guardians, a)
				p.users[a] = guardians[a]
			}
		}
		p.grades[id] = st.Grade
		students = append(students, st)
	}
	p.families = cohort.BuildFamilies(students, otherSchools)
	p.byID = make(map[string]cohort.Family, len(p.families))
	for _, f := range p.families {
		p.byID[f.ID] = f
	}
	for _, id := range educatorIDs {
		if users[id] != nil {
			p.educators = append(p.educators, cohort.Educator{ID: id, Sections: sortedUnique(sections[id])})
		}
	}
	return p, nil
}

// eligible keeps the educators who opted in for the year and have a training record dated
// on or before today.
func (s *Service) eligible(ctx context.Context, district, year string, all []cohort.Educator) ([]cohort.Educator, error) {
	opted, err := s.Store.OptIns(ctx, district, year)
	if err != nil {
		return nil, err
	}
	trainings, err := s.Store.LoadTrainings(ctx, district)
	if err != nil {
		return nil, err
	}
	today := s.now().Format(time.DateOnly)
	trained := map[string]bool{}
	for key := range trainings {
		// Training keys are educator#date#type.
		parts := strings.SplitN(key, "#", 3)
		if len(parts) == 3 && parts[1] <= today {
			trained[parts[0]] = true
		}
	}
	var out []cohort.Educator
	for _, e := range all {
		if opted[e.ID] && trained[e.ID] {
			out = append(out, e)
		}
	}
	return out, nil
}

// familyConsent resolves each family's consent: the newest answer (by date, then by the
// time it was recorded) given for the family or for any of its students.
func familyConsent(families []cohort.Family, entries map[string]pthv.ConsentEntry) map[string]cohort.Consent {
	out := make(map[string]cohort.Consent, len(families))
	for _, f := range families {
		var best *pthv.ConsentEntry
		try := func(subject string) {
			if e, ok := entries[subject]; ok {
				if best == nil || cmp.Or(cmp.Compare(e.Date, best.Date), e.At.Compare(best.At)) > 0 {
					best = &e
				}
			}
		}
		try(pthv.FamilySubject(f.ID))
		for _, st := range f.Students {
			try(pthv.StudentSubject(st))
		}
		if best != nil {
			out[f.ID] = cohort.Consent(best.Consent)
		} else {
			out[f.ID] = cohort.ConsentUnknown
		}
	}
	return out
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// SchoolFamilies implements importer.FamilyResolver: the school's families as a cohort
// would build them today.
func (s *Service) SchoolFamilies(ctx context.Context, district, school string) (*pthv.SchoolFamilies, error) {
	pop, err := s.loadPopulation(ctx, district, school)
	if err != nil {
		return nil, err
	}
	out := &pthv.SchoolFamilies{Students: map[string][]string{}, Family: map[string]string{}}
	for _, f := range pop.families {
		out.Students[f.ID] = f.Students
		for _, st := range f.Students {
			out.Family[st] = f.ID
		}
	}
	return out, nil
}

// DistrictFamilies implements importer.FamilyResolver: the families, as the roster builds
// them today, of every school of the district that has a cohort (family ids reach
// coordinators only through cohorts' CSVs).
func (s *Service) DistrictFamilies(ctx context.Context, district string) (map[string]bool, error) {
	recs, err := s.Store.ListCohorts(ctx, district)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.School] {
			continue
		}
		seen[r.School] = true
		sf, err := s.SchoolFamilies(ctx, district, r.School)
		if err != nil {
			return nil, err
		}
		for id := range sf.Students {
			out[id] = true
		}
	}
	return out, nil
}

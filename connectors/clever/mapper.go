package clever

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
)

// Sink consumes roster records, as the OneRoster CSV reader's Sink does (the importer's
// Planner implements it): File announces a kind and its mode once, before that kind's
// records; Record receives an accepted record; Reject names a record this pull says nothing
// usable about, so the consumer keeps the existing one (it is not "missing"). Kinds arrive
// in roster.Kinds order. An error from any method stops the mapping.
type Sink interface {
	File(kind roster.Kind, mode roster.Mode) error
	Record(rec roster.Record) error
	Reject(kind roster.Kind, id string) error
}

// MapOptions configure Map.
type MapOptions struct {
	// MaxFindingsPerRule caps the findings listed per collection and rule (the rest are
	// counted); 0 means 1000, negative no cap.
	MaxFindingsPerRule int
}

var idPattern = regexp.MustCompile(`^[0-9A-Za-z./@_-]{1,255}$`)

// mapper holds what mapping needs across collections: id sets and the links between
// students, contacts and sections. Nothing in it is a demographic.
type mapper struct {
	ctx   context.Context
	pages Pages
	pull  *PullResult
	sink  Sink
	rep   *Report

	district string
	valid    map[Collection]map[string]bool // accepted ids per collection
	secGrade map[string]map[string]int      // student without a grade of their own → their sections' grades, counted
	agents   map[string][]string            // student id → contact ids
	children map[string][]string            // contact id → student ids
	rejected map[string]bool                // users not imported
	broken   map[Collection]bool
	cache    map[Collection]any // []item[T] per collection
}

// Map reads the staged pages of a pull and passes roster records to sink, in roster.Kinds
// order, validating strictly: a record that breaks a rule is rejected (Reject) and named in a
// finding with collection, page and Clever id. It returns an error only when pages cannot be
// read or the sink fails; every problem of the data is a finding.
func Map(ctx context.Context, pages Pages, pull *PullResult, sink Sink, opt MapOptions) (*Report, error) {
	m := &mapper{ctx: ctx, pages: pages, pull: pull, sink: sink, rep: newReport(pull, opt.MaxFindingsPerRule),
		valid:  map[Collection]map[string]bool{},
		agents: map[string][]string{}, children: map[string][]string{}}
	for _, cr := range pull.Collections {
		if !cr.Complete {
			m.rep.add(Finding{Code: CodeIncomplete, Collection: cr.Collection, Message: cr.Reason})
		}
		if cr.ChangedDuringPull > 0 {
			m.rep.add(Finding{Code: CodeChanged, Collection: cr.Collection,
				Message: fmt.Sprintf("%d records changed while the pull ran; the next run picks the changes up", cr.ChangedDuringPull)})
		}
	}
	if cr, ok := pull.Result(Students); ok && cr.Complete && cr.Records == 0 {
		m.rep.add(Finding{Code: CodeNoStudents, Collection: Students,
			Message: "Clever returned no students (a summer pause, an unshared app or a wrong district?): users, roles and enrollments are read as changes only and nothing is deactivated"})
	}
	if err := m.prescan(); err != nil {
		return nil, err
	}
	m.setModes()
	return m.run()
}

// run emits every kind from the decoded collections.
func (m *mapper) run() (*Report, error) {
	dropUsers := func() error {
		for _, c := range userCollections {
			delete(m.cache, c)
		}
		return nil
	}
	steps := []func() error{m.orgs, m.terms, m.courses, m.sections, m.users, m.emitRoles, dropUsers, m.enrollments}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	m.rep.Complete = true
	for _, k := range roster.Kinds {
		if m.rep.Modes[k] != roster.ModeBulk {
			m.rep.Complete = false
		}
	}
	return m.rep, nil
}

// prescan reads and decodes every staged page exactly once, before anything is emitted: a page
// that is not a Clever list page (a corrupted stage) makes its collection incomplete, so
// that no kind it feeds is announced as bulk.
func (m *mapper) prescan() error {
	m.broken = map[Collection]bool{}
	m.cache = map[Collection]any{}
	for _, cr := range m.pull.Collections {
		var err error
		c := cr.Collection
		switch c {
		case Districts:
			m.cache[c], err = load[district](m, c, cr.Pages)
		case Schools:
			m.cache[c], err = load[school](m, c, cr.Pages)
		case Terms:
			m.cache[c], err = load[term](m, c, cr.Pages)
		case Courses:
			m.cache[c], err = load[course](m, c, cr.Pages)
		case Sections:
			m.cache[c], err = load[section](m, c, cr.Pages)
		default:
			m.cache[c], err = load[user](m, c, cr.Pages)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setModes decides bulk or delta per kind from the collections that feed it.
func (m *mapper) setModes() {
	ok := map[roster.Kind]bool{}
	for _, k := range roster.Kinds {
		ok[k] = true
	}
	pulled := map[roster.Kind]bool{}
	for _, cr := range m.pull.Collections {
		for _, k := range cr.Collection.Kinds() {
			pulled[k] = true
			ok[k] = ok[k] && cr.Complete && !m.broken[cr.Collection]
		}
	}
	if cr, found := m.pull.Result(Students); !found || cr.Records == 0 {
		ok[roster.KindUser], ok[roster.KindRole], ok[roster.KindEnrollment] = false, false, false
	}
	for _, k := range roster.Kinds {
		switch {
		case !pulled[k]:
			m.rep.Modes[k] = roster.ModeAbsent
		case ok[k]:
			m.rep.Modes[k] = roster.ModeBulk
		default:
			m.rep.Modes[k] = roster.ModeDelta
		}
	}
}

// complete reports whether references into c can be checked: c was pulled to its end.
func (m *mapper) complete(c Collection) bool { return m.pull.Complete(c) && !m.broken[c] }

func (m *mapper) file(k roster.Kind) error {
	if m.rep.Modes[k] == roster.ModeAbsent {
		return nil
	}
	return m.sink.File(k, m.rep.Modes[k])
}

func (m *mapper) record(rec roster.Record) error {
	m.rep.Records[rec.RecordKind()]++
	return m.sink.Record(rec)
}

func (m *mapper) reject(k roster.Kind, id string) error {
	m.rep.Rejected[k]++
	return m.sink.Reject(k, id)
}

func (m *mapper) accept(c Collection, id string) {
	if m.valid[c] == nil {
		m.valid[c] = map[string]bool{}
	}
	m.valid[c][id] = true
}

// known reports whether id is an accepted record of c, or c cannot be checked.
func (m *mapper) known(c Collection, id string) bool {
	return !m.complete(c) || m.valid[c][id]
}

// ownDistrict reports a record of another district (only when the district is known).
func (m *mapper) ownDistrict(c Collection, page int, id, d string) bool {
	if m.district == "" || d == "" || d == m.district {
		return true
	}
	m.rep.add(Finding{Code: CodeOtherDistrict, Collection: c, Page: page, CleverID: id, Field: "district"})
	return false
}

func (m *mapper) orgs() error {
	if err := m.file(roster.KindOrg); err != nil {
		return err
	}
	err := eachOf(m, Districts, func(page int, id string, d *district) error {
		if m.district != "" {
			return nil // one district only: PullCollection already failed the collection
		}
		m.district = id
		if strings.TrimSpace(d.Name) == "" {
			m.rep.add(Finding{Code: csv.CodeRequired, Collection: Districts, Page: page, CleverID: id, Field: "name"})
			return m.reject(roster.KindOrg, id)
		}
		m.accept(Districts, id)
		return m.record(&roster.Org{SourcedID: id, Status: roster.StatusActive, Name: d.Name, Type: "district", Identifier: d.NCESID})
	})
	if err != nil {
		return err
	}
	return eachOf(m, Schools, func(page int, id string, s *school) error {
		if id == m.district {
			// Clever's ids are unique across collections; a school with the district's id
			// is a duplicate org, and rejecting it would withdraw the district.
			m.rep.add(Finding{Code: csv.CodeDuplicate, Collection: Schools, Page: page, CleverID: id,
				Message: "a school has the district's id; it is dropped"})
			return nil
		}
		switch {
		case !m.ownDistrict(Schools, page, id, s.District):
		case strings.TrimSpace(s.Name) == "":
			m.rep.add(Finding{Code: csv.CodeRequired, Collection: Schools, Page: page, CleverID: id, Field: "name"})
		default:
			m.accept(Schools, id)
			return m.record(&roster.Org{SourcedID: id, Status: roster.StatusActive, Name: s.Name, Type: "school",
				Identifier: cmpOr(s.SchoolNumber, s.SISID), ParentSourcedID: m.district})
		}
		return m.reject(roster.KindOrg, id)
	})
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// day returns the YYYY-MM-DD of a Clever datetime ("" stays ""); ok is false for a value
// that is neither an RFC 3339 time nor a date.
func day(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC().Format(time.DateOnly), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.Format(time.DateOnly), true
	}
	return "", false
}

func (m *mapper) terms() error {
	if err := m.file(roster.KindAcademicSession); err != nil {
		return err
	}
	return eachOf(m, Terms, func(page int, id string, t *term) error {
		start, ok1 := day(t.StartDate)
		end, ok2 := day(t.EndDate)
		switch {
		case !m.ownDistrict(Terms, page, id, t.District):
		case !ok1 || !ok2:
			f := "start_date"
			if ok1 {
				f = "end_date"
			}
			m.rep.add(Finding{Code: csv.CodeDate, Collection: Terms, Page: page, CleverID: id, Field: f})
		default:
			year := ""
			if end != "" {
				year = end[:4]
			}
			m.accept(Terms, id)
			return m.record(&roster.AcademicSession{SourcedID: id, Status: roster.StatusActive, Title: cmpOr(t.Name, id),
				Type: "term", StartDate: start, EndDate: end, SchoolYear: year})
		}
		return m.reject(roster.KindAcademicSession, id)
	})
}

func (m *mapper) courses() error {
	if err := m.file(roster.KindCourse); err != nil {
		return err
	}
	return eachOf(m, Courses, func(page int, id string, c *course) error {
		if !m.ownDistrict(Courses, page, id, c.District) {
			return m.reject(roster.KindCourse, id)
		}
		m.accept(Courses, id)
		return m.record(&roster.Course{SourcedID: id, Status: roster.StatusActive, Title: cmpOr(c.Name, c.Number, id),
			CourseCode: c.Number, OrgSourcedID: m.district})
	})
}

func (m *mapper) sections() error {
	if err := m.file(roster.KindClass); err != nil {
		return err
	}
	m.needGrades()
	return eachOf(m, Sections, func(page int, id string, s *section) error {
		grade, gradeOK := Grade(s.Grade)
		if !gradeOK {
			m.rep.add(Finding{Code: CodeGrade, Collection: Sections, Page: page, CleverID: id, Field: "grade"})
		}
		bad := func(code Code, field string) error {
			m.rep.add(Finding{Code: code, Collection: Sections, Page: page, CleverID: id, Field: field})
			return m.reject(roster.KindClass, id)
		}
		switch {
		case !m.ownDistrict(Sections, page, id, s.District):
			return m.reject(roster.KindClass, id)
		case s.School == "":
			return bad(csv.CodeRequired, "school")
		case !m.known(Schools, s.School):
			return bad(csv.CodeRefDangling, "school")
		case s.TermID != "" && !m.known(Terms, s.TermID):
			return bad(csv.CodeRefDangling, "term_id")
		case s.Course != "" && !m.known(Courses, s.Course):
			return bad(csv.CodeRefDangling, "course")
		}
		m.accept(Sections, id)
		cls := &roster.Class{SourcedID: id, Status: roster.StatusActive, Title: cmpOr(s.Name, s.SectionNumber, id),
			ClassCode: s.SectionNumber, ClassType: "scheduled", CourseSourcedID: s.Course, SchoolSourcedID: s.School}
		if s.Subject == "homeroom/advisory" {
			cls.ClassType = "homeroom"
		}
		if s.TermID != "" {
			cls.TermSourcedIDs = []string{s.TermID}
		}
		if grade != "" {
			cls.Grades = []string{grade}
			for _, st := range s.Students {
				if counts, ok := m.secGrade[st]; ok {
					counts[grade]++
				}
			}
		}
		return m.record(cls)
	})
}

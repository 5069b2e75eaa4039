package clever

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
)

// userCollections is the order in which a user is emitted: a Clever user with several roles
// is listed in each role's collection with all its roles, and is emitted once, from the first.
var userCollections = []Collection{Students, Teachers, Staff, Contacts}

// GuardianRole maps a Clever student relationship to the roster's guardian role: Parent →
// parent; Grandparent, Aunt/Uncle, Sibling → relative; Other or blank → guardian when the
// contact type is Parent/Guardian or Primary, relative otherwise; Self → "" (no link: an
// adult student is not their own guardian).
func GuardianRole(relationship, typ string) string {
	switch relationship {
	case "Parent":
		return "parent"
	case "Grandparent", "Aunt/Uncle", "Sibling":
		return "relative"
	case "Self":
		return ""
	}
	if typ == "Parent/Guardian" || typ == "Primary" {
		return "guardian"
	}
	return "relative"
}

// StaffRole maps a staff member's title to a roster educator role: principal or counselor
// when the title says so, aide otherwise (every staff role is an educator role, so staff who
// visit can be paired).
func StaffRole(title string) string {
	t := strings.ToLower(title)
	switch {
	case strings.Contains(t, "principal"):
		return "principal"
	case strings.Contains(t, "counsel"):
		return "counselor"
	}
	return "aide"
}

func (m *mapper) checkUser(c Collection, page int, id string, u *user) bool {
	if !m.ownDistrict(c, page, id, u.District) {
		return false
	}
	for _, f := range []struct{ v, name string }{{u.Name.First, "name.first"}, {u.Name.Last, "name.last"}} {
		if strings.TrimSpace(f.v) == "" {
			m.rep.add(Finding{Code: csv.CodeRequired, Collection: c, Page: page, CleverID: id, Field: f.name})
			return false
		}
	}
	return true
}

func (m *mapper) users() error {
	rejected := map[string]bool{}
	// Pass 1: which users are acceptable, per collection.
	for _, c := range userCollections[:3] {
		err := eachOf(m, c, func(page int, id string, u *user) error {
			if m.checkUser(c, page, id, u) {
				m.accept(c, id)
			} else {
				rejected[id] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// Pass 2: contacts and their links to students.
	err := eachOf(m, Contacts, func(page int, id string, u *user) error {
		if !m.checkUser(Contacts, page, id, u) {
			rejected[id] = true
			return nil
		}
		m.accept(Contacts, id)
		if u.Roles.Contact == nil {
			return nil
		}
		for _, r := range u.Roles.Contact.Relationships {
			st := r.Student
			switch {
			case st == "" || st == id || GuardianRole(r.Relationship, r.Type) == "":
				m.rep.add(Finding{Code: CodeLinkDropped, Collection: Contacts, Page: page, CleverID: id, Field: "student_relationships",
					Message: "a relationship names no student, or the contact themself; the link is dropped"})
				continue
			case !m.known(Students, st):
				m.rep.add(Finding{Code: CodeLinkDropped, Collection: Contacts, Page: page, CleverID: id, Field: "student_relationships",
					Message: fmt.Sprintf("the relationship names student %s, who was not pulled; the link is dropped", roster.MessageID(st))})
				continue
			}
			if !slices.Contains(m.children[id], st) {
				m.children[id] = append(m.children[id], st)
				m.agents[st] = append(m.agents[st], id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.rejected = rejected
	// Pass 3: emit each user once.
	if err := m.file(roster.KindUser); err != nil {
		return err
	}
	emitted := map[string]bool{}
	for _, c := range userCollections {
		err := eachOf(m, c, func(page int, id string, u *user) error {
			if emitted[id] {
				return nil
			}
			emitted[id] = true
			if !m.valid[c][id] {
				return m.reject(roster.KindUser, id)
			}
			return m.record(m.toUser(c, page, id, u))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) toUser(c Collection, page int, id string, u *user) *roster.User {
	out := &roster.User{SourcedID: id, Status: roster.StatusActive, EnabledUser: true, GivenName: strings.TrimSpace(u.Name.First),
		FamilyName: strings.TrimSpace(u.Name.Last), Email: strings.TrimSpace(u.Email)}
	r := u.Roles
	var agents []string
	if s := r.Student; s != nil {
		out.Identifier = cmpOr(s.StudentNumber, s.SISID)
		out.PrimaryOrgSourcedID = s.School
		grade, ok := Grade(s.Grade)
		if !ok {
			m.rep.add(Finding{Code: CodeGrade, Collection: c, Page: page, CleverID: id, Field: "roles.student.grade"})
		}
		if grade == "" {
			grade = m.sectionGrade(c, page, id)
		}
		if grade != "" {
			out.Grades = []string{grade}
		}
		agents = append(agents, m.agents[id]...)
	}
	if t := r.Teacher; t != nil {
		out.Identifier = cmpOr(out.Identifier, t.TeacherNumber, t.SISID)
		out.PrimaryOrgSourcedID = cmpOr(out.PrimaryOrgSourcedID, t.School)
	}
	if s := r.Staff; s != nil {
		out.Identifier = cmpOr(out.Identifier, s.StaffID)
		if len(s.Schools) > 0 {
			out.PrimaryOrgSourcedID = cmpOr(out.PrimaryOrgSourcedID, s.Schools[0])
		}
	}
	if ct := r.Contact; ct != nil {
		out.Identifier = cmpOr(out.Identifier, ct.SISID)
		out.Phone = strings.TrimSpace(ct.Phone)
		agents = append(agents, m.children[id]...)
	}
	if len(agents) > 0 {
		slices.Sort(agents)
		out.AgentSourcedIDs = slices.Compact(agents)
	}
	return out
}

// userRoles returns the roles of a user: one per school for student, teacher and staff, and
// one per guardian role at the district for a contact. Roles at schools that were not pulled
// are rejected with a finding.
func (m *mapper) userRoles(c Collection, page int, id string, u *user) (out []*roster.Role, rejected []string) {
	atSchools := func(role, field, primary string, schools []string) {
		all := schools
		if primary != "" {
			all = append([]string{primary}, schools...)
		}
		done := map[string]bool{}
		for i, s := range all {
			if s == "" || done[s] {
				continue
			}
			done[s] = true
			rid := id + "#" + s + "#" + role
			if !m.known(Schools, s) {
				m.rep.add(Finding{Code: csv.CodeRefDangling, Collection: c, Page: page, CleverID: id, Field: field,
					Message: fmt.Sprintf("the %s role names school %s, which was not pulled; the role is not imported", role, roster.MessageID(s))})
				rejected = append(rejected, rid)
				continue
			}
			rt := "secondary"
			if i == 0 {
				rt = "primary"
			}
			out = append(out, &roster.Role{SourcedID: rid, Status: roster.StatusActive, UserSourcedID: id, RoleType: rt, Role: role, OrgSourcedID: s})
		}
	}
	r := u.Roles
	if s := r.Student; s != nil {
		atSchools("student", "roles.student.school", s.School, s.Schools)
	}
	if t := r.Teacher; t != nil {
		atSchools("teacher", "roles.teacher.school", t.School, t.Schools)
	}
	if s := r.Staff; s != nil {
		atSchools(StaffRole(s.Title), "roles.staff.schools", "", s.Schools)
	}
	if ct := r.Contact; ct != nil && m.district != "" {
		seen := map[string]bool{}
		for _, rel := range ct.Relationships {
			g := GuardianRole(rel.Relationship, rel.Type)
			if g == "" || seen[g] || !slices.Contains(m.children[id], rel.Student) {
				continue
			}
			seen[g] = true
			rt := "secondary"
			if len(out) == 0 {
				rt = "primary"
			}
			out = append(out, &roster.Role{SourcedID: id + "#" + m.district + "#" + g, Status: roster.StatusActive,
				UserSourcedID: id, RoleType: rt, Role: g, OrgSourcedID: m.district})
		}
	}
	return out, rejected
}

// emitRoles passes each user's roles, once per user, from the collection the user was
// emitted from; the roles of a rejected user, and roles at schools that were not pulled,
// are rejected.
func (m *mapper) emitRoles() error {
	if err := m.file(roster.KindRole); err != nil {
		return err
	}
	emitted := map[string]bool{}
	for _, c := range userCollections {
		err := eachOf(m, c, func(page int, id string, u *user) error {
			if emitted[id] {
				return nil
			}
			emitted[id] = true
			roles, rejected := m.userRoles(c, page, id, u)
			if !m.valid[c][id] {
				rejected = append(rejected, roleIDs(roles)...)
				roles = nil
			}
			for _, r := range roles {
				if err := m.record(r); err != nil {
					return err
				}
			}
			for _, rid := range rejected {
				if err := m.reject(roster.KindRole, rid); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func roleIDs(roles []*roster.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.SourcedID
	}
	return out
}

func (m *mapper) enrollments() error {
	if err := m.file(roster.KindEnrollment); err != nil {
		return err
	}
	return eachOf(m, Sections, func(page int, id string, s *section) error {
		ok := m.valid[Sections][id]
		teachers := s.Teachers
		if s.Teacher != "" && !slices.Contains(teachers, s.Teacher) {
			teachers = append([]string{s.Teacher}, teachers...)
		}
		for _, e := range []struct {
			role  string
			users []string
		}{{"student", s.Students}, {"teacher", teachers}} {
			done := map[string]bool{}
			for _, uid := range e.users {
				if uid == "" || done[uid] {
					continue
				}
				done[uid] = true
				eid := id + "#" + e.role + "#" + uid
				if !ok {
					if err := m.reject(roster.KindEnrollment, eid); err != nil {
						return err
					}
					continue
				}
				if code, bad := m.enrolledUser(e.role, uid); bad {
					m.rep.add(Finding{Code: code, Collection: Sections, Page: page, CleverID: id, Field: e.role + "s",
						Message: fmt.Sprintf("the section lists %s %s, who is not an imported user; the enrollment is not imported", e.role, roster.MessageID(uid))})
					if err := m.reject(roster.KindEnrollment, eid); err != nil {
						return err
					}
					continue
				}
				err := m.record(&roster.Enrollment{SourcedID: eid, Status: roster.StatusActive, ClassSourcedID: id,
					SchoolSourcedID: s.School, UserSourcedID: uid, Role: e.role, Primary: e.role == "teacher" && uid == s.Teacher})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// enrolledUser checks a section's student or teacher against the pulled users.
func (m *mapper) enrolledUser(role, uid string) (Code, bool) {
	if m.rejected[uid] {
		return csv.CodeRefRejected, true
	}
	if role == "student" {
		if m.known(Students, uid) {
			return "", false
		}
		return csv.CodeRefDangling, true
	}
	if m.valid[Teachers][uid] || m.valid[Staff][uid] || !m.complete(Teachers) {
		return "", false
	}
	return csv.CodeRefDangling, true
}

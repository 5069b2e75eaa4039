package rostergen

import (
	"bufio"
	"strconv"
)

// Catalogues in canonical manifest order (RULES.md §2).
var (
	catalog12 = []string{
		"academicSessions", "categories", "classes", "classResources", "courseResources", "courses",
		"demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems", "lineItemScoreScales",
		"orgs", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales", "roles",
		"scoreScales", "userProfiles", "userResources", "users",
	}
	catalog11 = []string{
		"academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
		"demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users",
	}
)

// Headers (RULES.md §4 and §5).
const (
	hdrSessions    = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
	hdrOrgs        = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
	hdrCourses     = "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes"
	hdrClasses     = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
	hdrUsers12     = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns"
	hdrUsers11     = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password"
	hdrRoles       = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId"
	hdrEnrollments = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"
)

// written reports whether a catalogue file is written (bulk) by this package.
func written(name string, v11 bool) bool {
	switch name {
	case "academicSessions", "orgs", "courses", "classes", "users", "enrollments":
		return true
	case "roles":
		return !v11
	}
	return false
}

// csvWriter builds one row at a time in buf and hands it to w. Write errors
// are sticky in the bufio.Writer and reported by its Flush.
type csvWriter struct {
	w    *bufio.Writer
	buf  []byte
	cols int
	rows int // data rows written since the last header
}

func (c *csvWriter) header(h string) {
	c.w.WriteString(h)
	c.w.WriteByte('\n')
	c.rows = 0
}

func (c *csvWriter) sep() {
	if c.cols > 0 {
		c.buf = append(c.buf, ',')
	}
	c.cols++
}

// f appends one field, quoted per RFC 4180 when it holds a comma, a quote or
// a line break.
func (c *csvWriter) f(v string) {
	c.sep()
	c.buf = appendField(c.buf, v)
}

func (c *csvWriter) fb(v []byte) {
	c.sep()
	c.buf = appendField(c.buf, v)
}

// blank appends n empty fields.
func (c *csvWriter) blank(n int) {
	for range n {
		c.sep()
	}
}

func (c *csvWriter) end() {
	c.buf = append(c.buf, '\n')
	c.w.Write(c.buf)
	c.buf = c.buf[:0]
	c.cols = 0
	c.rows++
}

func appendField[T string | []byte](dst []byte, v T) []byte {
	quote := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, v[i])
	}
	return append(dst, '"')
}

func writeManifest(c *csvWriter, v11 bool) {
	c.header("propertyName,value")
	row := func(k, v string) { c.f(k); c.f(v); c.end() }
	row("manifest.version", "1.0")
	cat := catalog12
	if v11 {
		row("oneroster.version", "1.1")
		cat = catalog11
	} else {
		row("oneroster.version", "1.2")
	}
	for _, name := range cat {
		mode := "absent"
		if written(name, v11) {
			mode = "bulk"
		}
		row("file."+name, mode)
	}
	row("source.systemName", "PTHV Reach rostergen")
	row("source.systemCode", "rostergen")
}

func (p *population) writeSessions(c *csvWriter) {
	c.header(hdrSessions)
	row := func(id, title, typ, start, end, parent string) {
		c.f(id)
		c.blank(2)
		c.f(title)
		c.f(typ)
		c.f(start)
		c.f(end)
		c.f(parent)
		c.f(p.sess.schoolYear)
		c.end()
	}
	ss := p.sess
	row(ss.yearID, ss.yearTitle, "schoolYear", ss.yearStart, ss.yearEnd, "")
	row(ss.fallID, ss.fallTitle, "semester", ss.yearStart, ss.fallEnd, ss.yearID)
	row(ss.springID, ss.springTitle, "semester", ss.springStart, ss.yearEnd, ss.yearID)
}

func (p *population) writeOrgs(c *csvWriter, st *Stats) {
	c.header(hdrOrgs)
	c.f(p.districtID)
	c.blank(2)
	c.f("Reach Valley Unified School District")
	c.f("district")
	c.f("0600001")
	c.blank(1)
	c.end()
	for _, s := range p.schools {
		c.f(s.id)
		c.blank(2)
		c.f(s.name)
		c.f("school")
		c.f(s.identifier)
		c.f(p.districtID)
		c.end()
		st.Schools++
	}
}

func (p *population) writeCourses(c *csvWriter) {
	c.header(hdrCourses)
	for _, k := range p.courses {
		c.f(k.id)
		c.blank(2)
		c.f(p.sess.yearID)
		c.f(k.title)
		c.f(k.code)
		c.f(k.grades)
		c.f(p.schools[k.school].id)
		c.f(k.subject)
		c.f(k.subjectCode)
		c.end()
	}
}

func (ss sessions) termList(t uint8) string {
	switch t {
	case termFall:
		return ss.fallID
	case termSpring:
		return ss.springID
	}
	return ss.fallID + "," + ss.springID
}

func (ss sessions) termDates(t uint8) (string, string) {
	switch t {
	case termFall:
		return ss.yearStart, ss.fallEnd
	case termSpring:
		return ss.springStart, ss.yearEnd
	}
	return ss.yearStart, ss.yearEnd
}

func (p *population) writeClasses(c *csvWriter, st *Stats) {
	c.header(hdrClasses)
	for _, k := range p.classes {
		crs := &p.courses[k.course]
		c.f(k.id)
		c.blank(2)
		c.f(k.title)
		c.f(k.grades)
		c.f(crs.id)
		c.f(k.code)
		if k.homeroom {
			c.f("homeroom")
		} else {
			c.f("scheduled")
		}
		c.f(k.location)
		c.f(p.schools[k.school].id)
		c.f(p.sess.termList(k.terms))
		c.f(crs.subject)
		c.f(crs.subjectCode)
		c.f(k.period)
		c.end()
		st.Classes++
	}
}

// userRow holds one users.csv row. The []byte fields point into scratch
// buffers owned by writeUsers and are only valid until the next row.
type userRow struct {
	id                          string
	given, family, middle       string
	sms, phone, grades          string
	org                         string // primaryOrgSourcedId (1.2), orgSourcedIds (1.1)
	role                        string // 1.1 users.role
	username, identifier, email []byte
	agents                      []byte
}

func (c *csvWriter) user(u *userRow, v11 bool) {
	c.f(u.id)
	c.blank(2)
	c.f("true")
	if v11 {
		c.f(u.org)
		c.f(u.role)
	}
	c.fb(u.username)
	c.blank(1) // userIds
	c.f(u.given)
	c.f(u.family)
	c.f(u.middle)
	c.fb(u.identifier)
	c.fb(u.email)
	c.f(u.sms)
	c.f(u.phone)
	c.fb(u.agents)
	c.f(u.grades)
	c.blank(1) // password
	if !v11 {
		c.blank(4) // userMasterIdentifier, preferredGiven/Middle/FamilyName
		c.f(u.org)
		c.blank(1) // pronouns
	}
	c.end()
}

func guardianRole(g *guardian) string {
	if g.guardianRole {
		return "guardian"
	}
	return "parent"
}

func (p *population) writeUsers(c *csvWriter, st *Stats, v11 bool) {
	if v11 {
		c.header(hdrUsers11)
	} else {
		c.header(hdrUsers12)
	}
	var uname, ident, email, agents []byte

	for i := range p.students {
		if p.studentRemoved(int32(i)) {
			continue
		}
		s := &p.students[i]
		g, f := &givenNames[s.given], &familyNames[s.family]
		num := int64(i + 1)
		uname = append(append(append(uname[:0], g.ascii...), '.'), f.ascii...)
		uname = strconv.AppendInt(uname, num, 10)
		ident = strconv.AppendInt(ident[:0], 1_000_000+num, 10)
		fam := &p.families[s.fam]
		agents = agents[:0]
		for k := fam.guardStart; k < fam.guardStart+fam.guardN; k++ {
			if k > fam.guardStart {
				agents = append(agents, ',')
			}
			agents = append(agents, p.guardianIDs[k]...)
		}
		u := userRow{id: p.studentIDs[i], given: g.display, family: f.display,
			grades: gradeLabels[s.grade], org: p.schools[s.school].id, role: "student",
			username: uname, identifier: ident, agents: agents}
		if s.middle >= 0 {
			u.middle = givenNames[s.middle].display
		}
		c.user(&u, v11)
		st.Students++
	}

	for i := range p.guardians {
		gd := &p.guardians[i]
		if p.removedFam[gd.fam] {
			continue
		}
		g, f := &givenNames[gd.given], &familyNames[gd.family]
		uname = append(append(append(append(uname[:0], g.ascii...), '.'), f.ascii...), '.')
		uname = strconv.AppendInt(uname, int64(i+1), 10)
		email = append(append(email[:0], uname...), "@example.com"...)
		fam := &p.families[gd.fam]
		agents = agents[:0]
		for k := fam.childStart; k < fam.childStart+fam.childN; k++ {
			if k > fam.childStart {
				agents = append(agents, ',')
			}
			agents = append(agents, p.studentIDs[p.children[k]]...)
		}
		u := userRow{id: p.guardianIDs[i], given: g.display, family: f.display,
			sms: gd.sms, phone: gd.phone, role: guardianRole(gd),
			username: uname, email: email, agents: agents}
		if v11 {
			u.org = p.districtID // 1.1 requires orgSourcedIds; 1.2 leaves primaryOrg blank
		}
		c.user(&u, v11)
		st.Guardians++
	}

	for i := range p.teachers {
		t := &p.teachers[i]
		g, f := &givenNames[t.given], &familyNames[t.family]
		uname = append(append(uname[:0], g.ascii[0]), f.ascii...)
		uname = strconv.AppendInt(uname, int64(i+1), 10)
		email = append(append(email[:0], uname...), "@staff.example.org"...)
		ident = strconv.AppendInt(append(ident[:0], 'E'), int64(10_000+i+1), 10)
		u := userRow{id: p.teacherIDs[i], given: g.display, family: f.display, phone: t.phone,
			org: p.schools[t.school].id, role: "teacher",
			username: uname, identifier: ident, email: email}
		c.user(&u, v11)
		st.Teachers++
	}
}

func (p *population) writeRoles(c *csvWriter, st *Stats) {
	c.header(hdrRoles)
	var id []byte
	row := func(userID, role, org string) {
		id = append(append(id[:0], "rol-"...), userID...)
		c.fb(id)
		c.blank(2)
		c.f(userID)
		c.f("primary")
		c.f(role)
		c.blank(2)
		c.f(org)
		c.blank(1)
		c.end()
		st.Roles++
	}
	for i := range p.students {
		if !p.studentRemoved(int32(i)) {
			row(p.studentIDs[i], "student", p.schools[p.students[i].school].id)
		}
	}
	for i := range p.guardians {
		if gd := &p.guardians[i]; !p.removedFam[gd.fam] {
			row(p.guardianIDs[i], guardianRole(gd), p.districtID)
		}
	}
	for i := range p.teachers {
		row(p.teacherIDs[i], "teacher", p.schools[p.teachers[i].school].id)
	}
}

func (p *population) writeEnrollments(c *csvWriter, st *Stats) {
	c.header(hdrEnrollments)
	var id, num []byte
	n := 0 // enrollment number in the full (Remove=0) population
	row := func(k *class, user, role, primary string) {
		n++
		id = append(id[:0], "enr-"...)
		num = strconv.AppendInt(num[:0], int64(n), 10)
		for i := len(num); i < p.enrWidth; i++ {
			id = append(id, '0')
		}
		id = append(id, num...)
		begin, end := p.sess.termDates(k.terms)
		c.fb(id)
		c.blank(2)
		c.f(k.id)
		c.f(p.schools[k.school].id)
		c.f(user)
		c.f(role)
		c.f(primary)
		c.f(begin)
		c.f(end)
		c.end()
		st.Enrollments++
	}
	for ci := range p.classes {
		k := &p.classes[ci]
		row(k, p.teacherIDs[k.teacher], "teacher", "true")
		for _, s := range p.members[p.memberStart[ci]:p.memberStart[ci+1]] {
			if p.studentRemoved(s) {
				n++ // keep the numbering of the full population
				continue
			}
			row(k, p.studentIDs[s], "student", "false")
		}
	}
}

package csv

import (
	"strings"

	"github.com/pthv/reach/internal/roster"
)

// ftype is how a column's values are checked.
type ftype uint8

const (
	tText     ftype = iota // free text, not checked
	tID                    // the row's own sourcedId
	tStatus                // status, handled by mode
	tModified              // dateLastModified, handled by mode
	tRef                   // one sourcedId of another record
	tRefList               // a comma-separated list of sourcedIds
	tDate                  // YYYY-MM-DD
	tYear                  // YYYY
	tBool                  // true or false
	tEnum                  // a value from a vocabulary
	tList                  // a comma-separated list, not checked item by item
	tSkip                  // read past: never checked, never kept
)

// Flags recorded for a record so that references can require a type of target.
const (
	flagSchool     uint8 = 1 << iota // an org of type school
	flagSchoolYear                   // an academic session of type schoolYear
	flagHasRole                      // a user named by an accepted roles.csv row
)

type vocab struct {
	name   string
	values []string
	ext    bool // accepts ext:<token>
}

func newVocab(name string, ext bool, values ...string) *vocab {
	return &vocab{name: name, values: values, ext: ext}
}

// lookup returns the canonical value for v and whether it matched exactly. Vocabularies are
// short, so a linear scan beats hashing.
func (v *vocab) lookup(b []byte) (canon string, exact, ok bool) {
	for _, s := range v.values {
		if string(b) == s {
			return s, true, true
		}
	}
	for _, s := range v.values {
		if len(b) == len(s) && strings.EqualFold(string(b), s) {
			return s, false, true
		}
	}
	return "", false, false
}

func (v *vocab) list() string {
	s := strings.Join(v.values, ", ")
	if v.ext {
		s += " or ext:<name>"
	}
	return s
}

var (
	vocabOrgType     = newVocab("org type", true, "department", "school", "district", "local", "state", "national")
	vocabSessionType = newVocab("session type", true, "gradingPeriod", "semester", "schoolYear", "term")
	vocabClassType   = newVocab("class type", true, "homeroom", "scheduled")
	vocabRoleType    = newVocab("role type", false, "primary", "secondary")
	vocabRole12      = newVocab("role", true, "aide", "counselor", "districtAdministrator", "guardian", "parent",
		"principal", "proctor", "relative", "siteAdministrator", "student", "systemAdministrator", "teacher")
	vocabRole11 = newVocab("role", true, "administrator", "aide", "guardian", "parent", "proctor", "relative",
		"student", "teacher")
	vocabEnrollRole = newVocab("enrollment role", true, "administrator", "proctor", "student", "teacher")
)

type colSpec struct {
	name  string
	req   bool
	typ   ftype
	vocab *vocab
	ref   roster.Kind // target of tRef/tRefList
	refK  int         // index of ref in roster.Kinds
	need  uint8       // flag the target must carry
	max   int         // the most bytes a kept value may have (ValueCap); 0: not kept, MaxFieldBytes
}

type fileSpec struct {
	file   string      // file name in the package
	kind   roster.Kind // "" for a file that is read past
	cols   []colSpec
	legacy map[string]string // OneRoster 1.0 column name → current name
}

func common() []colSpec {
	return []colSpec{
		{name: "sourcedId", req: true, typ: tID},
		{name: "status", typ: tStatus},
		{name: "dateLastModified", typ: tModified},
	}
}

func cols(extra ...colSpec) []colSpec { return append(common(), extra...) }

var (
	specOrgs = &fileSpec{file: "orgs.csv", kind: roster.KindOrg, cols: cols(
		colSpec{name: "name", req: true},
		colSpec{name: "type", req: true, typ: tEnum, vocab: vocabOrgType},
		colSpec{name: "identifier"},
		colSpec{name: "parentSourcedId", typ: tRef, ref: roster.KindOrg},
	)}
	specSessions = &fileSpec{file: "academicSessions.csv", kind: roster.KindAcademicSession, cols: cols(
		colSpec{name: "title", req: true},
		colSpec{name: "type", req: true, typ: tEnum, vocab: vocabSessionType},
		colSpec{name: "startDate", req: true, typ: tDate},
		colSpec{name: "endDate", req: true, typ: tDate},
		colSpec{name: "parentSourcedId", typ: tRef, ref: roster.KindAcademicSession},
		colSpec{name: "schoolYear", req: true, typ: tYear},
	)}
	specCourses = &fileSpec{file: "courses.csv", kind: roster.KindCourse, cols: cols(
		colSpec{name: "schoolYearSourcedId", typ: tRef, ref: roster.KindAcademicSession, need: flagSchoolYear},
		colSpec{name: "title", req: true},
		colSpec{name: "courseCode"},
		colSpec{name: "grades", typ: tList},
		colSpec{name: "orgSourcedId", req: true, typ: tRef, ref: roster.KindOrg},
		colSpec{name: "subjects", typ: tList},
		colSpec{name: "subjectCodes", typ: tList},
	), legacy: map[string]string{"schoolYearId": "schoolYearSourcedId", "grade": "grades"}}
	specClasses = &fileSpec{file: "classes.csv", kind: roster.KindClass, cols: cols(
		colSpec{name: "title", req: true},
		colSpec{name: "grades", typ: tList},
		colSpec{name: "courseSourcedId", req: true, typ: tRef, ref: roster.KindCourse},
		colSpec{name: "classCode"},
		colSpec{name: "classType", req: true, typ: tEnum, vocab: vocabClassType},
		colSpec{name: "location"},
		colSpec{name: "schoolSourcedId", req: true, typ: tRef, ref: roster.KindOrg, need: flagSchool},
		colSpec{name: "termSourcedIds", req: true, typ: tRefList, ref: roster.KindAcademicSession},
		colSpec{name: "subjects", typ: tList},
		colSpec{name: "subjectCodes", typ: tList},
		colSpec{name: "periods", typ: tList},
	), legacy: map[string]string{"grade": "grades"}}
	specUsers12 = &fileSpec{file: "users.csv", kind: roster.KindUser, cols: cols(append(
		[]colSpec{{name: "enabledUser", req: true, typ: tBool}}, append(usersMiddle(),
			colSpec{name: "userMasterIdentifier", typ: tSkip},
			colSpec{name: "preferredGivenName", typ: tSkip},
			colSpec{name: "preferredMiddleName", typ: tSkip},
			colSpec{name: "preferredFamilyName", typ: tSkip},
			colSpec{name: "primaryOrgSourcedId", typ: tRef, ref: roster.KindOrg},
			colSpec{name: "pronouns", typ: tSkip},
		)...)...), legacy: usersLegacy}
	specUsers11 = &fileSpec{file: "users.csv", kind: roster.KindUser, cols: cols(append([]colSpec{
		{name: "enabledUser", req: true, typ: tBool},
		{name: "orgSourcedIds", req: true, typ: tRefList, ref: roster.KindOrg},
		{name: "role", req: true, typ: tEnum, vocab: vocabRole11},
	}, usersMiddle()...)...), legacy: usersLegacy}
	specRoles = &fileSpec{file: "roles.csv", kind: roster.KindRole, cols: cols(
		colSpec{name: "userSourcedId", req: true, typ: tRef, ref: roster.KindUser},
		colSpec{name: "roleType", req: true, typ: tEnum, vocab: vocabRoleType},
		colSpec{name: "role", req: true, typ: tEnum, vocab: vocabRole12},
		colSpec{name: "beginDate", typ: tDate},
		colSpec{name: "endDate", typ: tDate},
		colSpec{name: "orgSourcedId", req: true, typ: tRef, ref: roster.KindOrg},
		colSpec{name: "userProfileSourcedId", typ: tSkip},
	)}
	specEnrollments = &fileSpec{file: "enrollments.csv", kind: roster.KindEnrollment, cols: cols(
		colSpec{name: "classSourcedId", req: true, typ: tRef, ref: roster.KindClass},
		colSpec{name: "schoolSourcedId", req: true, typ: tRef, ref: roster.KindOrg, need: flagSchool},
		colSpec{name: "userSourcedId", req: true, typ: tRef, ref: roster.KindUser},
		colSpec{name: "role", req: true, typ: tEnum, vocab: vocabEnrollRole},
		colSpec{name: "primary", typ: tBool},
		colSpec{name: "beginDate", typ: tDate},
		colSpec{name: "endDate", typ: tDate},
	)}
)

// usersMiddle returns the users.csv columns from username to password, the same in 1.1 and 1.2.
func usersMiddle() []colSpec {
	return []colSpec{
		{name: "username", req: true},
		{name: "userIds", typ: tSkip},
		{name: "givenName", req: true},
		{name: "familyName", req: true},
		{name: "middleName", typ: tSkip},
		{name: "identifier"},
		{name: "email"},
		{name: "sms"},
		{name: "phone"},
		{name: "agentSourcedIds", typ: tRefList, ref: roster.KindUser},
		{name: "grades", typ: tList},
		{name: "password", typ: tSkip},
	}
}

var usersLegacy = map[string]string{"userId": "userIds", "agents": "agentSourcedIds", "grade": "grades"}

// users11Only and users12Only are the columns that tell a 1.1 users.csv from a 1.2 one.
var (
	users11Only = []string{"orgSourcedIds", "role"}
	users12Only = []string{"userMasterIdentifier", "preferredGivenName", "preferredMiddleName",
		"preferredFamilyName", "primaryOrgSourcedId", "pronouns"}
)

// catalogue returns the data files of a OneRoster version, in the manifest's canonical order.
func catalogue(version string) []string {
	if version == "1.1" {
		return []string{"academicSessions", "categories", "classes", "classResources", "courses",
			"courseResources", "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users"}
	}
	return []string{"academicSessions", "categories", "classes", "classResources", "courseResources", "courses",
		"demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems", "lineItemScoreScales", "orgs",
		"resources", "resultLearningObjectiveIds", "results", "resultScoreScales", "roles", "scoreScales",
		"userProfiles", "userResources", "users"}
}

// readOrder is the order files are read in: every reference points to an earlier file or
// to the same file.
func readOrder(version string) []*fileSpec {
	users := specUsers12
	if version == "1.1" {
		users = specUsers11
	}
	specs := []*fileSpec{specOrgs, specSessions, specCourses, specClasses, users}
	if version != "1.1" {
		specs = append(specs, specRoles)
	}
	return append(specs, specEnrollments)
}

var kindIndex = func() map[roster.Kind]int {
	m := map[roster.Kind]int{}
	for i, k := range roster.Kinds {
		m[k] = i
	}
	return m
}()

// The caps on kept values, in bytes (value.too_long): a row with a longer value is rejected
// before its record is built, so that no record an import holds is larger than these allow
// (README, "Bounded work"). sourcedIds and references are capped at 255 by their own rule;
// columns that are not kept keep only the MaxFieldBytes limit of every field.
const (
	CapName    = 512     // name, title, givenName, familyName
	CapEmail   = 320     // email: RFC 5321's 64 + 1 + 255
	CapPhone   = 64      // phone, sms
	CapCode    = 255     // identifier, courseCode, classCode, and ext: vocabulary values
	CapGrades  = 1 << 10 // grades, a list
	CapRefList = 4 << 10 // a list of sourcedIds (termSourcedIds, agentSourcedIds, orgSourcedIds)
)

// ValueCap returns the cap on a kept column's values, or 0 for a column that is not kept
// (or is checked by a rule of its own: sourcedIds, references, dates, booleans).
func ValueCap(column string) int { return valueCap(colSpec{name: column, typ: typeOf(column)}) }

func typeOf(column string) ftype {
	for _, spec := range []*fileSpec{specOrgs, specSessions, specCourses, specClasses, specUsers11, specUsers12, specRoles, specEnrollments} {
		for _, c := range spec.cols {
			if c.name == column {
				return c.typ
			}
		}
	}
	return tSkip
}

func valueCap(c colSpec) int {
	switch c.name {
	case "name", "title", "givenName", "familyName":
		return CapName
	case "email":
		return CapEmail
	case "phone", "sms":
		return CapPhone
	case "identifier", "courseCode", "classCode":
		return CapCode
	case "grades":
		return CapGrades
	}
	switch c.typ {
	case tEnum:
		return CapCode
	case tRefList:
		return CapRefList
	}
	return 0
}

func init() {
	for _, spec := range []*fileSpec{specOrgs, specSessions, specCourses, specClasses, specUsers11, specUsers12, specRoles, specEnrollments} {
		for i := range spec.cols {
			c := &spec.cols[i]
			if c.ref != "" {
				c.refK = kindIndex[c.ref]
			}
			c.max = valueCap(*c)
		}
	}
}

var fileOfKind = map[roster.Kind]string{
	roster.KindOrg: "orgs.csv", roster.KindAcademicSession: "academicSessions.csv", roster.KindCourse: "courses.csv",
	roster.KindClass: "classes.csv", roster.KindUser: "users.csv", roster.KindRole: "roles.csv",
	roster.KindEnrollment: "enrollments.csv",
}

// idByte marks the bytes a sourcedId may contain.
var idByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "./@_-" {
		t[c] = true
	}
	return t
}()

func validID(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if !idByte[c] {
			return false
		}
	}
	return true
}

func validDate(b []byte) bool {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return false
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		days = 29
	}
	return d <= days
}

// validDateTime reports whether b is exactly YYYY-MM-DDTHH:MM:SS.sssZ with real values.
func validDateTime(b []byte) bool {
	if len(b) != 24 || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[23] != 'Z' {
		return false
	}
	if !validDate(b[:10]) {
		return false
	}
	h, ok1 := digits(b[11:13])
	mi, ok2 := digits(b[14:16])
	s, ok3 := digits(b[17:19])
	_, ok4 := digits(b[20:23])
	return ok1 && ok2 && ok3 && ok4 && h < 24 && mi < 60 && s < 60
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// Package roster is the domain model of a district roster: the normalised records every
// connector produces (OneRoster CSV, OneRoster REST, Clever) and every later stage consumes.
//
// The model keeps only what PTHV Reach needs (see the README, "What we keep and why"):
// identifiers, the school/class/guardian structure, enrollment status, and the names and
// contacts a coordinator needs to reach a family. It has no field for demographics,
// passwords, birth dates or anything a selector could use to target a family.
//
// The package imports nothing outside the standard library.
package roster

// Kind names a roster entity type.
type Kind string

// The entity kinds a connector can produce.
const (
	KindOrg             Kind = "org"
	KindAcademicSession Kind = "academicSession"
	KindCourse          Kind = "course"
	KindClass           Kind = "class"
	KindUser            Kind = "user"
	KindRole            Kind = "role"
	KindEnrollment      Kind = "enrollment"
)

// Kinds lists every kind in the order a package is read: each kind's references point only
// to kinds before it or to itself.
var Kinds = []Kind{KindOrg, KindAcademicSession, KindCourse, KindClass, KindUser, KindRole, KindEnrollment}

// Mode says how a source delivers one kind: as a complete snapshot or as changes.
type Mode string

const (
	// ModeBulk is a complete snapshot: a record missing from it has gone away.
	ModeBulk Mode = "bulk"
	// ModeDelta carries changes only: records not in it are left as they are.
	ModeDelta Mode = "delta"
	// ModeAbsent means the source sends nothing for the kind: nothing changes.
	ModeAbsent Mode = "absent"
)

// Status is a record's lifecycle state as sent by the source.
type Status string

const (
	// StatusActive creates or updates the record.
	StatusActive Status = "active"
	// StatusToBeDeleted deactivates the record if it exists.
	StatusToBeDeleted Status = "tobedeleted"
)

// Record is one normalised roster record.
type Record interface {
	// RecordKind tells which entity the record is.
	RecordKind() Kind
	// ID is the source's sourcedId, unique within the kind and district.
	ID() string
	// RecordStatus tells whether the record is to be kept or deactivated.
	RecordStatus() Status
}

// Org is a district, school or other organisation.
type Org struct {
	SourcedID       string
	Status          Status
	Name            string
	Type            string // district, school, department, local, state, national or ext:*
	Identifier      string
	ParentSourcedID string
}

// AcademicSession is a school year, term, semester or grading period.
type AcademicSession struct {
	SourcedID       string
	Status          Status
	Title           string
	Type            string // schoolYear, term, semester, gradingPeriod or ext:*
	StartDate       string // YYYY-MM-DD
	EndDate         string // YYYY-MM-DD
	ParentSourcedID string
	SchoolYear      string // YYYY, the year in which the school year ends
}

// Course is a course offered by an org.
type Course struct {
	SourcedID           string
	Status              Status
	Title               string
	CourseCode          string
	SchoolYearSourcedID string
	OrgSourcedID        string
	Grades              []string
}

// Class is a section of a course at a school: a homeroom or a scheduled class.
type Class struct {
	SourcedID       string
	Status          Status
	Title           string
	ClassCode       string
	ClassType       string // homeroom, scheduled or ext:*
	CourseSourcedID string
	SchoolSourcedID string
	TermSourcedIDs  []string
	Grades          []string
}

// User is a student, guardian, teacher or other person. Only the fields listed here are
// kept; a connector drops everything else it reads (passwords, demographics, user ids of
// other systems, pronouns, middle names).
type User struct {
	SourcedID           string
	Status              Status
	EnabledUser         bool
	Identifier          string // the district's own number for the person, if sent
	GivenName           string
	FamilyName          string
	Email               string
	Phone               string // phone, or sms when phone is blank
	AgentSourcedIDs     []string
	Grades              []string
	PrimaryOrgSourcedID string
}

// Role places a user at an org with a role (student, teacher, guardian, parent, …).
// OneRoster 1.1 has no roles file; the CSV connector synthesises roles from users.csv, with
// ids of the form "{userSourcedId}#{orgSourcedId}", which cannot collide with a sourcedId.
type Role struct {
	SourcedID     string
	Status        Status
	UserSourcedID string
	RoleType      string // primary or secondary
	Role          string
	OrgSourcedID  string
	BeginDate     string
	EndDate       string
}

// Enrollment puts a user in a class with a role.
type Enrollment struct {
	SourcedID       string
	Status          Status
	ClassSourcedID  string
	SchoolSourcedID string
	UserSourcedID   string
	Role            string // student, teacher, administrator, proctor or ext:*
	Primary         bool
	BeginDate       string
	EndDate         string
}

// RecordKind implements Record.
func (*Org) RecordKind() Kind { return KindOrg }

// RecordKind implements Record.
func (*AcademicSession) RecordKind() Kind { return KindAcademicSession }

// RecordKind implements Record.
func (*Course) RecordKind() Kind { return KindCourse }

// RecordKind implements Record.
func (*Class) RecordKind() Kind { return KindClass }

// RecordKind implements Record.
func (*User) RecordKind() Kind { return KindUser }

// RecordKind implements Record.
func (*Role) RecordKind() Kind { return KindRole }

// RecordKind implements Record.
func (*Enrollment) RecordKind() Kind { return KindEnrollment }

// ID implements Record.
func (r *Org) ID() string { return r.SourcedID }

// ID implements Record.
func (r *AcademicSession) ID() string { return r.SourcedID }

// ID implements Record.
func (r *Course) ID() string { return r.SourcedID }

// ID implements Record.
func (r *Class) ID() string { return r.SourcedID }

// ID implements Record.
func (r *User) ID() string { return r.SourcedID }

// ID implements Record.
func (r *Role) ID() string { return r.SourcedID }

// ID implements Record.
func (r *Enrollment) ID() string { return r.SourcedID }

// RecordStatus implements Record.
func (r *Org) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *AcademicSession) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *Course) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *Class) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *User) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *Role) RecordStatus() Status { return r.Status }

// RecordStatus implements Record.
func (r *Enrollment) RecordStatus() Status { return r.Status }

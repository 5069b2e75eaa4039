package pthv

import (
	"encoding/json"
	"time"

	"github.com/pthv/reach/internal/roster"
)

// OptIn is an educator's decision to take part in home visits in a school year (In) or
// not. A decision has a time (At): the training date of a training file's row (midnight UTC),
// the moment of a `pthv educators opt-in|opt-out`. The newest decision stands.
type OptIn struct {
	Educator   string    `json:"educatorSourcedId"`
	SchoolYear string    `json:"schoolYear"`
	In         bool      `json:"in"`
	At         time.Time `json:"at"`
	Source     string    `json:"source"` // "csv:{importId}" or "cli"
}

// TrainingWrite is one training record to store.
type TrainingWrite struct {
	Key        string // educator#date#type
	Educator   string
	SchoolYear string
	Hash       string
	Data       json.RawMessage
}

// ConsentEntry is one recorded answer: a family's consent for a school year, stored under
// Subject ("F#fam-…" for a family, "S#{studentSourcedId}" for a student's family). When
// answers for a family and for its students disagree, the newest (by Date, then At) wins.
type ConsentEntry struct {
	Year    string    `json:"schoolYear"`
	Subject string    `json:"subject"`
	Consent string    `json:"consent"`
	Date    string    `json:"date"`   // the day the family answered, YYYY-MM-DD
	At      time.Time `json:"at"`     // when it was recorded
	Source  string    `json:"source"` // "cli" or "import:{importId}"
}

// FamilySubject is the key a family's consent answers are stored under.
func FamilySubject(familyID string) string { return ItemKey("F", familyID) }

// StudentSubject is the key answers about a student's family are stored under.
func StudentSubject(studentID string) string { return ItemKey("S", studentID) }

// SchoolFamilies is a school's families as cohorts see them: family id → students, and
// student → family id.
type SchoolFamilies struct {
	Students map[string][]string
	Family   map[string]string
}

// SchoolRoster is a school's active roles (at the school), classes and enrollments.
type SchoolRoster struct {
	Roles       []roster.Role
	Classes     []roster.Class
	Enrollments []roster.Enrollment
}

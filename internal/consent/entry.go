package consent

import "time"

// Entry is one recorded answer: a family's consent for a school year, stored under Subject
// ("F#fam-…" for a family, "S#{studentSourcedId}" for a student's family). When answers
// for a family and for its students disagree, the newest (by Date, then At) wins.
type Entry struct {
	Year    string    `json:"schoolYear"`
	Subject string    `json:"subject"`
	Consent string    `json:"consent"`
	Date    string    `json:"date"`   // the day the family answered, YYYY-MM-DD
	At      time.Time `json:"at"`     // when it was recorded
	Source  string    `json:"source"` // "cli" or "import:{importId}"
}

// FamilySubject and StudentSubject are the keys answers are stored under.
func FamilySubject(familyID string) string   { return "F#" + familyID }
func StudentSubject(studentID string) string { return "S#" + studentID }

// Entry returns the record as an answer recorded at at by source; a blank date means the
// day of at.
func (r Record) Entry(at time.Time, source string) Entry {
	d := r.Date
	if d == "" {
		d = at.UTC().Format(time.DateOnly)
	}
	return Entry{Year: r.SchoolYear, Subject: r.Subject(), Consent: r.Consent, Date: d, At: at.UTC(), Source: source}
}

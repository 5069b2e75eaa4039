package pthv

import "encoding/json"

// Visit is one home visit as a visit file gives it: who, when, where and which visit, and
// nothing of what was said (PTHV practice 3).
type Visit struct {
	ID        string   `json:"visitId"`
	FamilyID  string   `json:"familyId,omitempty"`
	StudentID string   `json:"studentSourcedId,omitempty"`
	School    string   `json:"schoolSourcedId"`
	Date      string   `json:"date"`               // YYYY-MM-DD
	Number    int      `json:"visitNumber"`        // 1 or 2
	Educators []string `json:"educatorSourcedIds"` // two or more, distinct, sorted
	Setting   string   `json:"setting"`            // one of visits.Settings
	Minutes   int      `json:"durationMinutes"`    // 1 to visits.MaxMinutes
	Status    string   `json:"status"`             // one of visits.Statuses
	Line      int      `json:"-"`                  // the row's line in the file
}

// SchoolYear is the school year (1 July – 30 June) containing the visit's date, like
// "2025-2026"; "" when the date is not a YYYY-MM-DD date.
func (v Visit) SchoolYear() string {
	return SchoolYearOfDate(v.Date).String()
}

// VisitCurrent is what the store holds of one visit: enough to skip an unchanged row and to
// find a family's first visit.
type VisitCurrent struct {
	Hash   string
	Year   string
	School string
	Family string
	Number int
}

// VisitWrite is one visit to store.
type VisitWrite struct {
	VisitCurrent
	ID   string
	Data json.RawMessage // a StoredVisit
}

// StoredVisit is a visit as stored: the row, with the family and its students at the school
// resolved from the roster at import time (the students the visit reached).
type StoredVisit struct {
	Visit
	Family   string   `json:"family"`
	Students []string `json:"students"`
	Year     string   `json:"schoolYear"`
}

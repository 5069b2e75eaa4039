package cohort

import (
	"slices"
	"time"
)

// Record is a stored cohort, as internal/store keeps it (internal/cohortsvc writes it). Its members are stored as items of their own (MemberItem);
// Cohort.Members is empty in the stored record and filled by cohortsvc.Show.
type Record struct {
	ID       string    `json:"cohortId"`
	District string    `json:"district"`
	School   string    `json:"school"`
	Year     string    `json:"year"`
	Revision int       `json:"revision"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Cohort holds the request (seed included), the population hash, the strata (population
	// and sample per stratum), the pairs and the status.
	Cohort Cohort `json:"cohort"`
	// Declined and Educators are the inputs of this revision besides the population:
	// the families that had declined, and the eligible educators with their sections.
	Declined  []string        `json:"declined"`
	Educators []EducatorInput `json:"educators"`
	Summary   Summary         `json:"summary"`
	// CSVKey is the coordinator CSV and PopulationKey the school's families at selection,
	// both in the reports bucket.
	CSVKey        string `json:"csvKey"`
	PopulationKey string `json:"populationKey"`
	// Replaces is the cohort this one replaced (see Select).
	Replaces string `json:"replaces,omitempty"`
	// Left are the families of the stored population that are no longer families of the
	// school's roster (their children left, or their guardians changed): a refresh leaves
	// them out as it leaves out declined families.
	Left []string `json:"left,omitempty"`
	// Carried is the pairing a refreshed revision kept from the revision before it (an
	// input of this revision: see Repair); nil for the first revision.
	Carried *Carryover `json:"carried,omitempty"`
	// Changes says what a refresh changed; nil for the first revision.
	Changes *Changes `json:"changes,omitempty"`
	// MembersSet names the stored set of this revision's members (set by the store).
	MembersSet string `json:"membersSet,omitempty"`
}

// Changes are what a refresh did to the members of the revision before it.
type Changes struct {
	Declined   []string `json:"declined,omitempty"`   // members that declined, now left out
	Unenrolled []string `json:"unenrolled,omitempty"` // members no longer in the school's roster, now left out
	Dropped    []string `json:"dropped,omitempty"`    // members left out for another reason (a cap, the draw)
	CameIn     []string `json:"cameIn,omitempty"`     // families that replaced them
	Moved      []string `json:"moved,omitempty"`      // members whose pair changed (an educator of their pair is no longer eligible)
}

// EducatorInput is an eligible educator as given to Pair.
type EducatorInput struct {
	ID       string   `json:"id"`
	Sections []string `json:"sections,omitempty"`
}

// MemberItem is a selected family with its pair and its consent.
type MemberItem struct {
	Member
	Consent Consent `json:"consent"`
}

// Summary is what a coordinator reads first.
type Summary struct {
	Mode            string  `json:"mode"`
	Coverage        float64 `json:"coverage,omitempty"`
	Families        int     `json:"families"`
	SchoolFamilies  int     `json:"schoolFamilies"`
	StudentsCovered int     `json:"studentsCovered"`
	SchoolStudents  int     `json:"schoolStudents"`
	Share           float64 `json:"share"` // StudentsCovered / SchoolStudents
	Pairs           int     `json:"pairs"`
	Unpaired        int     `json:"unpaired"`
	Declined        int     `json:"declined"`
	OtherSchools    int     `json:"otherSchools"` // families with children at another school
	Status          string  `json:"status"`
	Reason          string  `json:"reason,omitempty"`
}

// SortMembers puts members in the cohort's order: strata from youngest grade, then each
// stratum's random order.
func SortMembers(ms []MemberItem) {
	slices.SortFunc(ms, func(a, b MemberItem) int {
		if c := CompareGrades(a.Stratum, b.Stratum); c != 0 {
			return c
		}
		return a.Order - b.Order
	})
}

package reach

import (
	"maps"
	"slices"

	"github.com/pthv/reach/internal/pthv"
)

// MinCell is the smallest count of students, families or visits published below the state
// level; smaller counts are suppressed.
const MinCell = 10

// Threshold is PTHV's research threshold: a site whose share of students reached is at
// least this is at threshold.
const Threshold = 0.10

// Visit statuses. Only completed visits count.
const (
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// School is an active school of the district, with its count of active students.
type School struct {
	ID, Name string
	Students int
}

// Visit is one home visit record.
type Visit struct {
	ID        string
	School    string
	Family    string   // the family id at that school
	Students  []string // that family's students at that school (the caller resolves them)
	Date      string   // YYYY-MM-DD
	Number    int      // 1 or 2
	Educators []string // two or more distinct
	Minutes   int
	Status    string // "completed" or "cancelled"
}

// Training is one training record of an educator, of any year.
type Training struct{ Educator, Date string }

// DistrictInput is what ComputeDistrict reads: one district's records for a school year.
type DistrictInput struct {
	District, State, Year string
	Schools               []School
	Visits                []Visit    // the district's visits (any status; only counted ones count, see the package doc)
	Trainings             []Training // all of the district's training records, any year
}

// SiteMetrics are the figures of one site: a school with at least one counted visit.
type SiteMetrics struct {
	School            string  `json:"school"`
	Name              string  `json:"name"`
	Visits            int     `json:"visits"`
	VisitsFirst       int     `json:"visitsFirst"`
	VisitsSecond      int     `json:"visitsSecond"`
	FamiliesVisited   int     `json:"familiesVisited"`
	StudentsReached   int     `json:"studentsReached"`
	Students          int     `json:"students"`
	Share             float64 `json:"share"` // StudentsReached / Students; 0 when Students is 0
	AtThreshold       bool    `json:"atThreshold"`
	EducatorsVisiting int     `json:"educatorsVisiting"`
}

// DistrictMetrics are one district's figures for one school year. They are internal:
// HoursPerEducator is for stipends and never published; Publish makes the public rows.
type DistrictMetrics struct {
	District                   string        `json:"district"`
	State                      string        `json:"state"`
	Year                       string        `json:"year"`
	Sites                      int           `json:"sites"`
	Visits                     int           `json:"visits"`
	VisitsFirst                int           `json:"visitsFirst"`
	VisitsSecond               int           `json:"visitsSecond"`
	FamiliesVisited            int           `json:"familiesVisited"`
	StudentsReached            int           `json:"studentsReached"`
	Students                   int           `json:"students"` // the students of the district's sites
	EducatorsTrained           int           `json:"educatorsTrained"`
	EducatorsTrainedCumulative int           `json:"educatorsTrainedCumulative"`
	EducatorsVisiting          int           `json:"educatorsVisiting"`
	SchoolsAtThreshold         int           `json:"schoolsAtThreshold"`
	PerSite                    []SiteMetrics `json:"perSite"` // sorted by school id
	// HoursPerEducator is, per educator, the minutes of the counted visits they took part
	// in divided by 60. District-only: never in Totals or Published.
	HoursPerEducator map[string]float64 `json:"hoursPerEducator"`
	// IgnoredVisits counts completed visits that were not counted (dated outside the year,
	// bad date, number not 1 or 2, fewer than two distinct educators, no school or family,
	// repeated ID). Internal: a data-quality signal, not published.
	IgnoredVisits int `json:"ignoredVisits"`
}

type siteAcc struct {
	visits, first, second int
	families              map[string]struct{}
	students              map[string]struct{}
	educators             map[string]struct{}
}

// ComputeDistrict computes one district's metrics for in.Year from its records. See the
// package documentation for what counts.
func ComputeDistrict(in DistrictInput) DistrictMetrics {
	out := DistrictMetrics{
		District: in.District, State: in.State, Year: in.Year,
		PerSite:          []SiteMetrics{},
		HoursPerEducator: map[string]float64{},
	}
	sy, yerr := pthv.ParseSchoolYear(in.Year)
	first, last, yearOK := sy.FirstDay(), sy.LastDay(), yerr == nil

	sites := map[string]*siteAcc{}
	seen := make(map[string]struct{}, len(in.Visits))
	minutes := map[string]int{}
	var eds []string
	for i := range in.Visits {
		v := &in.Visits[i]
		if v.Status != StatusCompleted {
			continue
		}
		eds = distinctNonEmpty(eds[:0], v.Educators)
		if !yearOK || !pthv.ValidDate(v.Date) || v.Date < first || v.Date > last ||
			(v.Number != 1 && v.Number != 2) || v.School == "" || v.Family == "" || len(eds) < 2 {
			out.IgnoredVisits++
			continue
		}
		if v.ID != "" {
			if _, dup := seen[v.ID]; dup {
				out.IgnoredVisits++
				continue
			}
			seen[v.ID] = struct{}{}
		}
		s := sites[v.School]
		if s == nil {
			s = &siteAcc{families: map[string]struct{}{}, students: map[string]struct{}{}, educators: map[string]struct{}{}}
			sites[v.School] = s
		}
		s.visits++
		if v.Number == 1 {
			s.first++
		} else {
			s.second++
		}
		s.families[v.Family] = struct{}{}
		for _, st := range v.Students {
			if st != "" {
				s.students[st] = struct{}{}
			}
		}
		m := max(v.Minutes, 0)
		for _, e := range eds {
			s.educators[e] = struct{}{}
			minutes[e] += m
		}
	}

	schools := make(map[string]School, len(in.Schools))
	for _, sc := range in.Schools {
		if _, dup := schools[sc.ID]; !dup {
			schools[sc.ID] = sc
		}
	}
	visiting := map[string]struct{}{}
	for _, id := range slices.Sorted(maps.Keys(sites)) {
		s := sites[id]
		sc := schools[id]
		sm := SiteMetrics{
			School: id, Name: sc.Name,
			Visits: s.visits, VisitsFirst: s.first, VisitsSecond: s.second,
			FamiliesVisited: len(s.families), StudentsReached: len(s.students),
			Students: max(sc.Students, 0), EducatorsVisiting: len(s.educators),
		}
		if sm.Students > 0 {
			sm.Share = float64(sm.StudentsReached) / float64(sm.Students)
			sm.AtThreshold = sm.StudentsReached*10 >= sm.Students // share ≥ 0.10, exactly
		}
		for e := range s.educators {
			visiting[e] = struct{}{}
		}
		out.PerSite = append(out.PerSite, sm)
		out.Sites++
		out.Visits += sm.Visits
		out.VisitsFirst += sm.VisitsFirst
		out.VisitsSecond += sm.VisitsSecond
		out.FamiliesVisited += sm.FamiliesVisited
		out.StudentsReached += sm.StudentsReached
		out.Students += sm.Students
		if sm.AtThreshold {
			out.SchoolsAtThreshold++
		}
	}
	out.EducatorsVisiting = len(visiting)
	for e, m := range minutes {
		out.HoursPerEducator[e] = float64(m) / 60
	}

	if yearOK {
		inYear := map[string]struct{}{}
		upToEnd := map[string]struct{}{}
		for _, t := range in.Trainings {
			if t.Educator == "" || !pthv.ValidDate(t.Date) || t.Date > last {
				continue
			}
			upToEnd[t.Educator] = struct{}{}
			if t.Date >= first {
				inYear[t.Educator] = struct{}{}
			}
		}
		out.EducatorsTrained = len(inYear)
		out.EducatorsTrainedCumulative = len(upToEnd)
	}
	return out
}

// distinctNonEmpty appends to dst the distinct non-empty ids of ids.
func distinctNonEmpty(dst, ids []string) []string {
	for _, e := range ids {
		if e != "" && !slices.Contains(dst, e) {
			dst = append(dst, e)
		}
	}
	return dst
}

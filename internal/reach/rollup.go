package reach

import "encoding/json"

// Totals are the figures of a state (State set) or of the nation (State empty) for a year:
// sums of district figures. National totals are published unsuppressed; a state's are
// published as a TotalsRow, with small counts suppressed (see the package documentation).
type Totals struct {
	Year  string `json:"year"`
	State string `json:"state,omitempty"` // empty for national totals
	// States counts states with at least one site. National totals only: 0 in state
	// totals, and in JSON present on national totals only.
	States                     int `json:"states"`
	Districts                  int `json:"districts"` // districts with at least one site
	Sites                      int `json:"sites"`
	Visits                     int `json:"visits"`
	VisitsFirst                int `json:"visitsFirst"`
	VisitsSecond               int `json:"visitsSecond"`
	FamiliesVisited            int `json:"familiesVisited"`
	StudentsReached            int `json:"studentsReached"`
	Students                   int `json:"students"`
	EducatorsTrained           int `json:"educatorsTrained"`
	EducatorsTrainedCumulative int `json:"educatorsTrainedCumulative"`
	EducatorsVisiting          int `json:"educatorsVisiting"`
	SchoolsAtThreshold         int `json:"schoolsAtThreshold"`
}

// MarshalJSON writes "states" on national totals only.
func (t Totals) MarshalJSON() ([]byte, error) {
	type plain Totals
	if t.State == "" {
		return json.Marshal(plain(t))
	}
	return json.Marshal(struct {
		plain
		States int `json:"states,omitempty"`
	}{plain: plain(t)})
}

func (t *Totals) add(d DistrictMetrics) {
	if d.Sites > 0 {
		t.Districts++
	}
	t.Sites += d.Sites
	t.Visits += d.Visits
	t.VisitsFirst += d.VisitsFirst
	t.VisitsSecond += d.VisitsSecond
	t.FamiliesVisited += d.FamiliesVisited
	t.StudentsReached += d.StudentsReached
	t.Students += d.Students
	t.EducatorsTrained += d.EducatorsTrained
	t.EducatorsTrainedCumulative += d.EducatorsTrainedCumulative
	t.EducatorsVisiting += d.EducatorsVisiting
	t.SchoolsAtThreshold += d.SchoolsAtThreshold
}

// Rollup sums the districts of year (districts of other years in ds are left out) into
// national totals and totals per state code. A state appears in byState when it has a
// district of that year, even one without sites (its educators trained still count).
// The state totals add up exactly to the national totals; national.States counts the
// states with at least one site.
func Rollup(year string, ds []DistrictMetrics) (national Totals, byState map[string]Totals) {
	national = Totals{Year: year}
	byState = map[string]Totals{}
	for _, d := range ds {
		if d.Year != year {
			continue
		}
		t := byState[d.State]
		t.Year, t.State = year, d.State
		t.add(d)
		byState[d.State] = t
		national.add(d)
	}
	for _, t := range byState {
		if t.Sites > 0 {
			national.States++
		}
	}
	return national, byState
}

package reachsvc

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pthv/reach/internal/reach"
)

// Public is the public file of a year (public/reach/{year}.json, schemas/reach.schema.json):
// the national figures and the states', as PTHV's site shows them. National totals are
// published in full whenever two or more states have sites (with a single one, they are its
// counts and null where its are); a state's protected counts are null where suppressed (a
// state with a single district, and the complementary cells that keep it hidden); nothing
// below the state level is in this file.
type Public struct {
	Year      string            `json:"year"`
	Generated time.Time         `json:"generated"`
	National  reach.TotalsRow   `json:"national"`
	States    []reach.TotalsRow `json:"states"`
	Note      string            `json:"note"`
}

// PublicView is the public file of a published view.
func PublicView(p reach.Published, now time.Time) Public {
	return Public{Year: p.Year, Generated: now.UTC().Truncate(time.Second), National: p.National, States: p.States,
		Note: "Counts of completed home visits, families and students reached, sites (schools with at least one completed visit), states, and educators trained in the school year (1 July - 30 June). A state's counts are null where suppressed, so that no count under 10 of a district can be worked out (and so are the national counts when a single state has sites, since they are then that state's); figures below the state level are published only through the API, with counts under 10 suppressed."}
}

// emitMetrics writes the published view's national and per-state figures as CloudWatch
// Embedded Metric Format lines (namespace PTHVReach, dimensions Year and Year+State).
// Suppressed counts (a state's, or the nation's when a single state has sites) are left
// out of their line.
func (s *Service) emitMetrics(pub reach.Published) {
	if s.Metrics == nil {
		return
	}
	year := pub.Year
	names := []string{"Sites", "States", "HomeVisits", "FirstVisits", "SecondVisits", "FamiliesVisited", "StudentsReached", "EducatorsTrained", "EducatorsVisiting", "SchoolsAtThreshold"}
	values := func(t reach.TotalsRow) []reach.Count {
		return []reach.Count{reach.CountOf(t.Sites), reach.CountOf(t.States), t.Visits, t.VisitsFirst, t.VisitsSecond, t.FamiliesVisited, t.StudentsReached,
			reach.CountOf(t.EducatorsTrained), reach.CountOf(t.EducatorsVisiting), reach.CountOf(t.SchoolsAtThreshold)}
	}
	line := func(t reach.TotalsRow, dims []string) {
		var metrics []map[string]string
		m := map[string]any{"Year": year}
		if t.State != "" {
			m["State"] = t.State
		}
		vs := values(t)
		for i, n := range names {
			v, ok := vs[i].Value()
			if !ok || (n == "States" && t.State != "") {
				continue
			}
			metrics = append(metrics, map[string]string{"Name": n, "Unit": "Count"})
			m[n] = v
		}
		m["_aws"] = map[string]any{
			"Timestamp":         s.now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{"Namespace": "PTHVReach", "Dimensions": [][]string{dims}, "Metrics": metrics}},
		}
		b, err := json.Marshal(m)
		if err == nil {
			fmt.Fprintf(s.Metrics, "%s\n", b)
		}
	}
	line(pub.National, []string{"Year"})
	for _, st := range pub.States { // sorted by state code
		line(st, []string{"Year", "State"})
	}
}

package reachsvc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pthv/reach/internal/reach"
)

// Public is the public file of a year (public/reach/{year}.json, schemas/reach.schema.json):
// the national figures and the states', as PTHV's site shows them. State totals are
// published in full; nothing below the state level is in this file.
type Public struct {
	Year      string         `json:"year"`
	Generated time.Time      `json:"generated"`
	National  reach.Totals   `json:"national"`
	States    []reach.Totals `json:"states"`
	Note      string         `json:"note"`
}

// PublicView is the public file of a published view.
func PublicView(p reach.Published, now time.Time) Public {
	return Public{Year: p.Year, Generated: now.UTC().Truncate(time.Second), National: p.National, States: p.States,
		Note: "Counts of completed home visits, families and students reached, sites (schools with at least one completed visit), states, and educators trained in the school year (1 July - 30 June). Figures below the state level are published only through the API, with counts under 10 suppressed."}
}

// emitMetrics writes the year's national and per-state figures as CloudWatch Embedded
// Metric Format lines (namespace PTHVReach, dimensions Year and Year+State).
func (s *Service) emitMetrics(year string, nat reach.Totals, byState map[string]reach.Totals) {
	if s.Metrics == nil {
		return
	}
	names := []string{"Sites", "States", "HomeVisits", "FirstVisits", "SecondVisits", "FamiliesVisited", "StudentsReached", "EducatorsTrained", "EducatorsVisiting", "SchoolsAtThreshold"}
	values := func(t reach.Totals) []int {
		return []int{t.Sites, t.States, t.Visits, t.VisitsFirst, t.VisitsSecond, t.FamiliesVisited, t.StudentsReached, t.EducatorsTrained, t.EducatorsVisiting, t.SchoolsAtThreshold}
	}
	line := func(t reach.Totals, dims []string) {
		var metrics []map[string]string
		m := map[string]any{"Year": year}
		if t.State != "" {
			m["State"] = t.State
		}
		for i, n := range names {
			if n == "States" && t.State != "" {
				continue
			}
			metrics = append(metrics, map[string]string{"Name": n, "Unit": "Count"})
			m[n] = values(t)[i]
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
	line(nat, []string{"Year"})
	for _, st := range slices.Sorted(maps.Keys(byState)) {
		line(byState[st], []string{"Year", "State"})
	}
}

package reach

import (
	"cmp"
	"maps"
	"slices"
)

// Published is the public view of a year's reach: national and state totals in full,
// district and site rows with small cells suppressed (see the package documentation).
// It holds no educator, family or student id, and no hours.
type Published struct {
	Year      string        `json:"year"`
	National  Totals        `json:"national"`  // includes states
	States    []Totals      `json:"states"`    // sorted by state code
	Districts []DistrictRow `json:"districts"` // districts with a site, sorted by state, district
	Sites     []SiteRow     `json:"sites"`     // sorted by state, district, school
}

// DistrictRow is a district's published figures.
type DistrictRow struct {
	District                   string `json:"district"`
	State                      string `json:"state"`
	Sites                      int    `json:"sites"`
	Visits                     Count  `json:"visits"`
	VisitsFirst                Count  `json:"visitsFirst"`
	VisitsSecond               Count  `json:"visitsSecond"`
	FamiliesVisited            Count  `json:"familiesVisited"`
	StudentsReached            Count  `json:"studentsReached"`
	Students                   Count  `json:"students"`
	EducatorsTrained           int    `json:"educatorsTrained"`
	EducatorsTrainedCumulative int    `json:"educatorsTrainedCumulative"`
	EducatorsVisiting          int    `json:"educatorsVisiting"`
	SchoolsAtThreshold         int    `json:"schoolsAtThreshold"`
	// Suppressed names the fields published as null because they are suppressed, in
	// field order; never null itself.
	Suppressed []string `json:"suppressed"`
}

// SiteRow is a site's published figures.
type SiteRow struct {
	School            string   `json:"school"` // the school id
	Name              string   `json:"name"`
	District          string   `json:"district"`
	State             string   `json:"state"`
	Visits            Count    `json:"visits"`
	VisitsFirst       Count    `json:"visitsFirst"`
	VisitsSecond      Count    `json:"visitsSecond"`
	FamiliesVisited   Count    `json:"familiesVisited"`
	StudentsReached   Count    `json:"studentsReached"`
	Students          Count    `json:"students"`
	Share             *float64 `json:"share"`       // null when suppressed
	AtThreshold       *bool    `json:"atThreshold"` // null when suppressed
	EducatorsVisiting int      `json:"educatorsVisiting"`
	// Suppressed names the fields published as null because they are suppressed, in
	// field order; never null itself.
	Suppressed []string `json:"suppressed"`
}

func (r *DistrictRow) counts() [nCounts]*Count {
	return [nCounts]*Count{&r.Visits, &r.VisitsFirst, &r.VisitsSecond, &r.FamiliesVisited, &r.StudentsReached, &r.Students}
}

func (r *SiteRow) counts() [nCounts]*Count {
	return [nCounts]*Count{&r.Visits, &r.VisitsFirst, &r.VisitsSecond, &r.FamiliesVisited, &r.StudentsReached, &r.Students}
}

func (d DistrictMetrics) counts() [nCounts]int {
	return [nCounts]int{d.Visits, d.VisitsFirst, d.VisitsSecond, d.FamiliesVisited, d.StudentsReached, d.Students}
}

func (s SiteMetrics) counts() [nCounts]int {
	return [nCounts]int{s.Visits, s.VisitsFirst, s.VisitsSecond, s.FamiliesVisited, s.StudentsReached, s.Students}
}

func (t Totals) counts() [nCounts]int {
	return [nCounts]int{t.Visits, t.VisitsFirst, t.VisitsSecond, t.FamiliesVisited, t.StudentsReached, t.Students}
}

// Publish builds the public view of year from the national and state totals (as Rollup
// returns them) and the districts' metrics. Districts of other years and districts without
// a site get no row; HoursPerEducator and IgnoredVisits are never published. Protected
// counts are suppressed as the package documentation describes. The result is
// deterministic and does not depend on the order of ds.
func Publish(year string, national Totals, byState map[string]Totals, ds []DistrictMetrics) Published {
	p := Published{
		Year: year, National: national,
		States:    make([]Totals, 0, len(byState)),
		Districts: []DistrictRow{},
		Sites:     []SiteRow{},
	}
	for _, st := range slices.Sorted(maps.Keys(byState)) {
		p.States = append(p.States, byState[st])
	}
	var sel []*DistrictMetrics
	for i := range ds {
		if ds[i].Year == year && len(ds[i].PerSite) > 0 {
			sel = append(sel, &ds[i])
		}
	}
	slices.SortStableFunc(sel, func(a, b *DistrictMetrics) int {
		return cmp.Or(cmp.Compare(a.State, b.State), cmp.Compare(a.District, b.District))
	})
	for lo := 0; lo < len(sel); {
		hi := lo + 1
		for hi < len(sel) && sel[hi].State == sel[lo].State {
			hi++
		}
		p.publishState(sel[lo:hi])
		lo = hi
	}
	return p
}

// publishState suppresses and appends the rows of one state's districts.
func (p *Published) publishState(ds []*DistrictMetrics) {
	gds := make([]gridDistrict, len(ds))
	sites := make([][]SiteMetrics, len(ds))
	for i, d := range ds {
		sites[i] = slices.Clone(d.PerSite)
		slices.SortStableFunc(sites[i], func(a, b SiteMetrics) int { return cmp.Compare(a.School, b.School) })
		gds[i].gridRow = gridRow{id: d.District, value: d.counts()}
		for j := range sites[i] {
			gds[i].sites = append(gds[i].sites, gridRow{id: sites[i][j].School, value: sites[i][j].counts()})
		}
	}
	g := newGrid(gds)
	g.suppress()
	r := 0
	for i, d := range ds {
		row := DistrictRow{
			District: d.District, State: d.State, Sites: len(sites[i]),
			EducatorsTrained:           d.EducatorsTrained,
			EducatorsTrainedCumulative: d.EducatorsTrainedCumulative,
			EducatorsVisiting:          d.EducatorsVisiting,
			SchoolsAtThreshold:         d.SchoolsAtThreshold,
		}
		row.Suppressed = fillCounts(row.counts(), g, r)
		r++
		p.Districts = append(p.Districts, row)
		for _, s := range sites[i] {
			sr := SiteRow{
				School: s.School, Name: s.Name, District: d.District, State: d.State,
				EducatorsVisiting: s.EducatorsVisiting,
			}
			sr.Suppressed = fillCounts(sr.counts(), g, r)
			if g.supp[r*nCounts+mReached] || g.supp[r*nCounts+mStudents] {
				sr.Suppressed = append(sr.Suppressed, "share", "atThreshold")
			} else {
				share, at := s.Share, s.AtThreshold
				sr.Share, sr.AtThreshold = &share, &at
			}
			r++
			p.Sites = append(p.Sites, sr)
		}
	}
}

// fillCounts sets a row's counts from row r of g and returns the names of the
// suppressed ones.
func fillCounts(dst [nCounts]*Count, g *grid, r int) []string {
	names := []string{}
	for m := range nCounts {
		c := r*nCounts + m
		if g.supp[c] {
			*dst[m] = SuppressedCount()
			names = append(names, countNames[m])
		} else {
			*dst[m] = CountOf(g.value[c])
		}
	}
	return names
}

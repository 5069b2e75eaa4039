package reach

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
)

// Published is the public view of a year's reach: national totals (in full whenever two
// or more states have sites); state, district and site rows with small cells suppressed
// (see the package documentation). It holds no educator, family or student id, and no
// hours.
type Published struct {
	Year      string        `json:"year"`
	National  TotalsRow     `json:"national"`  // includes states
	States    []TotalsRow   `json:"states"`    // sorted by state code
	Districts []DistrictRow `json:"districts"` // districts with a site, sorted by state, district
	Sites     []SiteRow     `json:"sites"`     // sorted by state, district, school
}

// TotalsRow is a state's published totals, or the nation's: Totals with the six protected
// counts nullable. A state with fewer than two districts with data has its small counts
// suppressed, and complementary cells of other states are suppressed so that none can be
// recovered from the national totals. The nation's counts are suppressed only when a
// single state has sites: they are then that state's, and suppressed where its are. In
// JSON it has the shape of Totals, a suppressed count being null.
type TotalsRow struct {
	Year                       string `json:"year"`
	State                      string `json:"state,omitempty"` // empty for national totals
	States                     int    `json:"states"`          // national only; in JSON on national totals only
	Districts                  int    `json:"districts"`
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
}

// MarshalJSON writes "states" on national totals only.
func (t TotalsRow) MarshalJSON() ([]byte, error) {
	type plain TotalsRow
	if t.State == "" {
		return json.Marshal(plain(t))
	}
	return json.Marshal(struct {
		plain
		States int `json:"states,omitempty"`
	}{plain: plain(t)})
}

// Row returns t as a published row with every count published.
func (t Totals) Row() TotalsRow {
	r := TotalsRow{Year: t.Year, State: t.State, States: t.States, Districts: t.Districts, Sites: t.Sites,
		EducatorsTrained: t.EducatorsTrained, EducatorsTrainedCumulative: t.EducatorsTrainedCumulative,
		EducatorsVisiting: t.EducatorsVisiting, SchoolsAtThreshold: t.SchoolsAtThreshold}
	for m, c := range r.counts() {
		*c = CountOf(t.counts()[m])
	}
	return r
}

// Suppressed reports whether any of the row's counts is suppressed.
func (t TotalsRow) Suppressed() bool {
	for _, c := range t.counts() {
		if c.IsSuppressed() {
			return true
		}
	}
	return false
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

func (t *TotalsRow) counts() [nCounts]*Count {
	return [nCounts]*Count{&t.Visits, &t.VisitsFirst, &t.VisitsSecond, &t.FamiliesVisited, &t.StudentsReached, &t.Students}
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
		Year:      year,
		States:    make([]TotalsRow, 0, len(byState)),
		Districts: []DistrictRow{},
		Sites:     []SiteRow{},
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
	perState := map[string][]*DistrictMetrics{}
	for _, d := range sel {
		perState[d.State] = append(perState[d.State], d)
	}
	codes := slices.Sorted(maps.Keys(byState))
	for st := range perState {
		if _, ok := byState[st]; !ok {
			codes = append(codes, st) // no state row: Check reports it
		}
	}
	slices.Sort(codes)

	// One grid for the nation: its row, every state's row, then its districts' and sites'
	// rows. The nation's counts are never suppressed when two or more states have sites;
	// with a single one, they are its counts and follow its suppression.
	nation := gridRow{label: "national", value: national.counts(), exempt: true, fixed: national.States != 1}
	gss := make([]gridState, len(codes))
	sites := map[*DistrictMetrics][]SiteMetrics{}
	for i, st := range codes {
		dsOf := perState[st]
		// The small-cell rule applies to the state rows of states with a single district
		// with data, which would otherwise repeat that district's counts.
		gss[i].gridRow = gridRow{id: st, value: byState[st].counts(), exempt: len(dsOf) != 1, fixed: len(dsOf) == 0}
		for _, d := range dsOf {
			ss := slices.Clone(d.PerSite)
			slices.SortStableFunc(ss, func(a, b SiteMetrics) int { return cmp.Compare(a.School, b.School) })
			sites[d] = ss
			gd := gridDistrict{gridRow: gridRow{id: d.District, value: d.counts()}}
			for j := range ss {
				gd.sites = append(gd.sites, gridRow{id: ss[j].School, value: ss[j].counts()})
			}
			gss[i].districts = append(gss[i].districts, gd)
		}
	}
	g := newGrid(nation, gss)
	g.suppress()
	p.National = national.Row()
	fillCounts(p.National.counts(), g, 0)
	r := 1
	for _, st := range codes {
		if t, ok := byState[st]; ok {
			row := t.Row()
			fillCounts(row.counts(), g, r)
			p.States = append(p.States, row)
		}
		r++
		r = p.publishState(perState[st], sites, g, r)
	}
	return p
}

// publishState appends the rows of one state's districts, which start at row r of g, and
// returns the row after them.
func (p *Published) publishState(ds []*DistrictMetrics, sites map[*DistrictMetrics][]SiteMetrics, g *grid, r int) int {
	for _, d := range ds {
		row := DistrictRow{
			District: d.District, State: d.State, Sites: len(sites[d]),
			EducatorsTrained:           d.EducatorsTrained,
			EducatorsTrainedCumulative: d.EducatorsTrainedCumulative,
			EducatorsVisiting:          d.EducatorsVisiting,
			SchoolsAtThreshold:         d.SchoolsAtThreshold,
		}
		row.Suppressed = fillCounts(row.counts(), g, r)
		r++
		p.Districts = append(p.Districts, row)
		for _, s := range sites[d] {
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
	return r
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

package reach

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// maxProblems caps the problems Check reports.
const maxProblems = 25

// Check verifies a published view before it leaves the service: the rule of the package
// documentation holds, nothing suppressed can be derived from what is published (Exposed
// is empty), whatever the number of states, and the published figures add up. It returns
// nil, or an error listing the problems found.
func (p Published) Check() error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	// States add up to national (the protected counts: see the sums below).
	if p.National.State != "" {
		fail("national totals carry state %q", p.National.State)
	}
	if p.National.Year != p.Year {
		fail("national totals are for %q, not %q", p.National.Year, p.Year)
	}
	var sum [nTotals]int
	var hidden [nTotals]bool
	withSites := 0
	seen := map[string]bool{}
	for _, t := range p.States {
		switch {
		case t.State == "":
			fail("a state row has no state code")
		case seen[t.State]:
			fail("state %s appears twice", t.State)
		}
		seen[t.State] = true
		if t.Year != p.Year {
			fail("state %s totals are for %q, not %q", t.State, t.Year, p.Year)
		}
		if t.States != 0 {
			fail("state %s: states is a national figure", t.State)
		}
		if t.Sites > 0 {
			withSites++
		}
		vs, known := t.additive()
		for i, v := range vs {
			sum[i] += v
			hidden[i] = hidden[i] || !known[i]
		}
	}
	nat, natKnown := p.National.additive()
	for i, v := range nat {
		if !hidden[i] && natKnown[i] && sum[i] != v {
			fail("states add up to %s %d, national is %d", totalNames[i], sum[i], v)
		}
	}
	if p.National.States != withSites {
		fail("national states is %d, %d states have a site", p.National.States, withSites)
	}
	p.checkNation(withSites, fail)

	groups, g, problems := p.group()
	errs = append(errs, problems...)
	for _, sg := range groups {
		p.checkState(sg, g, fail)
	}
	p.checkSums(g, fail)
	if len(errs) > maxProblems {
		errs = append(errs[:maxProblems], fmt.Errorf("and %d more problems", len(errs)-maxProblems))
	}
	return errors.Join(errs...)
}

// Exposed lists the suppressed counts that can be worked out from the published figures,
// as "national: visits", "state S: visits", "district D: visits" or "site D/S: visits".
// It is empty for every view Publish builds, whatever the number of states, and Check
// fails on a view for which it is not.
func (p Published) Exposed() []string {
	_, g, _ := p.group()
	var out []string
	for c, b := range g.bridges(false) {
		if b && g.supp[c] {
			out = append(out, g.rows[c/nCounts].label+": "+countNames[c%nCounts])
		}
	}
	return out
}

// checkNation checks where the national totals may be suppressed: only when a single
// state has sites, and then exactly where that state's counts are (its counts are the
// nation's; the other states' rows are zeros).
func (p Published) checkNation(withSites int, fail func(string, ...any)) {
	nat := p.National.counts()
	if withSites != 1 {
		for m, c := range nat {
			if c.IsSuppressed() {
				fail("national %s is suppressed though %d states have sites: national totals are suppressed only when a single state has sites", countNames[m], withSites)
			}
		}
		return
	}
	i := slices.IndexFunc(p.States, func(t TotalsRow) bool { return t.Sites > 0 })
	st := p.States[i].counts()
	for m, c := range nat {
		switch {
		case c.IsSuppressed() && !st[m].IsSuppressed():
			fail("national %s is suppressed, but state %s's, the only state with sites, is published", countNames[m], p.States[i].State)
		case !c.IsSuppressed() && st[m].IsSuppressed():
			fail("national %s is published, and it is state %s's suppressed %s: %s is the only state with sites", countNames[m], p.States[i].State, countNames[m], p.States[i].State)
		}
	}
}

const nTotals = 12

var totalNames = [nTotals]string{"districts", "sites", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "students", "educatorsTrained", "educatorsTrainedCumulative", "educatorsVisiting", "schoolsAtThreshold"}

// additive returns the totals that add up from states to national, and which are
// published.
func (t TotalsRow) additive() (vs [nTotals]int, known [nTotals]bool) {
	vs = [nTotals]int{t.Districts, t.Sites, 0, 0, 0, 0, 0, 0, t.EducatorsTrained, t.EducatorsTrainedCumulative, t.EducatorsVisiting, t.SchoolsAtThreshold}
	for i := range known {
		known[i] = true
	}
	for m, c := range t.counts() {
		vs[2+m], known[2+m] = c.Value()
	}
	return vs, known
}

// stateGroup is one state's published rows and where they are in the nation's grid.
type stateGroup struct {
	state     string
	totals    *TotalsRow // nil when the state has no state row
	row       int        // the state's row in the grid; its districts' and sites' follow
	districts []*DistrictRow
	sites     [][]*SiteRow // per district
}

// group sorts the published rows into states and districts and builds the nation's grid
// from what is published (suppressed cells have value 0 there).
func (p Published) group() ([]stateGroup, *grid, []error) {
	var errs []error
	byState := map[string]*stateGroup{}
	for i := range p.States {
		st := p.States[i].State
		if byState[st] == nil {
			byState[st] = &stateGroup{state: st, totals: &p.States[i]}
		}
	}
	where := map[string]*stateGroup{} // district id → its state's group
	index := map[string]int{}         // district id → its index in the group
	for i := range p.Districts {
		d := &p.Districts[i]
		if _, dup := where[d.District]; dup {
			errs = append(errs, fmt.Errorf("district %s has two rows", d.District))
			continue
		}
		sg := byState[d.State]
		if sg == nil {
			sg = &stateGroup{state: d.State}
			byState[d.State] = sg
			errs = append(errs, fmt.Errorf("district %s: state %q has no state row", d.District, d.State))
		}
		where[d.District], index[d.District] = sg, len(sg.districts)
		sg.districts = append(sg.districts, d)
		sg.sites = append(sg.sites, nil)
	}
	seenSite := map[[2]string]bool{}
	for i := range p.Sites {
		s := &p.Sites[i]
		sg := where[s.District]
		switch {
		case sg == nil:
			errs = append(errs, fmt.Errorf("site %s/%s: district has no row", s.District, s.School))
			continue
		case sg.state != s.State:
			errs = append(errs, fmt.Errorf("site %s/%s: state %q, its district's is %q", s.District, s.School, s.State, sg.state))
			continue
		case seenSite[[2]string{s.District, s.School}]:
			errs = append(errs, fmt.Errorf("site %s/%s has two rows", s.District, s.School))
			continue
		}
		seenSite[[2]string{s.District, s.School}] = true
		k := index[s.District]
		sg.sites[k] = append(sg.sites[k], s)
	}
	var out []stateGroup
	var gss []gridState
	nation := publishedRow("", "national", p.National.counts())
	nation.exempt, nation.fixed = true, p.National.States != 1
	row := 1
	for _, st := range slices.Sorted(maps.Keys(byState)) {
		sg := byState[st]
		order := make([]int, len(sg.districts))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(sg.districts[a].District, sg.districts[b].District) })
		ds := make([]*DistrictRow, len(order))
		ss := make([][]*SiteRow, len(order))
		gs := gridState{gridRow: gridRow{id: st, label: "state " + st}}
		if sg.totals != nil {
			gs.gridRow = publishedRow(st, "state "+st, sg.totals.counts())
		}
		gs.exempt, gs.fixed = len(order) != 1, len(order) == 0
		sg.row = row
		row++
		for i, k := range order {
			ds[i], ss[i] = sg.districts[k], sg.sites[k]
			slices.SortFunc(ss[i], func(a, b *SiteRow) int { return cmp.Compare(a.School, b.School) })
			gd := gridDistrict{gridRow: publishedRow(ds[i].District, "district "+ds[i].District, ds[i].counts())}
			for _, s := range ss[i] {
				gd.sites = append(gd.sites, publishedRow(s.School, "site "+s.District+"/"+s.School, s.counts()))
			}
			gs.districts = append(gs.districts, gd)
			row += 1 + len(ss[i])
		}
		sg.districts, sg.sites = ds, ss
		gss = append(gss, gs)
		out = append(out, *sg)
	}
	return out, newGrid(nation, gss), errs
}

func publishedRow(id, label string, cs [nCounts]*Count) gridRow {
	r := gridRow{id: id, label: label}
	for m, c := range cs {
		v, ok := c.Value()
		r.value[m], r.supp[m] = v, !ok
	}
	return r
}

// checkState checks one state's rows.
func (p Published) checkState(sg stateGroup, g *grid, fail func(string, ...any)) {
	if sg.totals != nil {
		checkRow(g, sg.row, false, nil, nil, fail)
	}
	r := sg.row + 1
	sites, atThreshold, educators := 0, 0, 0
	for i, d := range sg.districts {
		checkRow(g, r, true, d.Suppressed, nil, fail)
		r++
		if d.Sites != len(sg.sites[i]) {
			fail("district %s: sites is %d, it has %d site rows", d.District, d.Sites, len(sg.sites[i]))
		}
		sites += d.Sites
		atThreshold += d.SchoolsAtThreshold
		educators += d.EducatorsVisiting
		if d.EducatorsTrainedCumulative < d.EducatorsTrained {
			fail("district %s: fewer educators trained up to the year's end than in the year", d.District)
		}
		yes, unknown, most, total := 0, 0, 0, 0
		for _, s := range sg.sites[i] {
			label := "site " + s.District + "/" + s.School
			var extra []string
			if s.Share == nil {
				extra = append(extra, "share")
			}
			if s.AtThreshold == nil {
				extra = append(extra, "atThreshold")
			}
			checkRow(g, r, true, s.Suppressed, extra, fail)
			hidden := g.supp[r*nCounts+mReached] || g.supp[r*nCounts+mStudents]
			switch {
			case hidden && (s.Share != nil || s.AtThreshold != nil):
				fail("%s: share or atThreshold published while studentsReached or students is suppressed", label)
			case !hidden && (s.Share == nil || s.AtThreshold == nil):
				fail("%s: share or atThreshold suppressed while studentsReached and students are published", label)
			case !hidden:
				reached, students := g.value[r*nCounts+mReached], g.value[r*nCounts+mStudents]
				share, at := 0.0, false
				if students > 0 {
					share, at = float64(reached)/float64(students), reached*10 >= students
				}
				if math.Abs(*s.Share-share) > 1e-9 || *s.AtThreshold != at {
					fail("%s: share %v, atThreshold %v do not match studentsReached %d of %d", label, *s.Share, *s.AtThreshold, reached, students)
				}
			}
			switch {
			case s.AtThreshold == nil:
				unknown++
			case *s.AtThreshold:
				yes++
			}
			most = max(most, s.EducatorsVisiting)
			total += s.EducatorsVisiting
			r++
		}
		if d.SchoolsAtThreshold < yes || d.SchoolsAtThreshold > yes+unknown {
			fail("district %s: schoolsAtThreshold %d, its sites say %d to %d", d.District, d.SchoolsAtThreshold, yes, yes+unknown)
		}
		if d.EducatorsVisiting < most || d.EducatorsVisiting > total {
			fail("district %s: educatorsVisiting %d, its sites say %d to %d", d.District, d.EducatorsVisiting, most, total)
		}
	}
	t := sg.totals
	if t == nil {
		return
	}
	if t.Districts != len(sg.districts) || t.Sites != sites || t.SchoolsAtThreshold != atThreshold || t.EducatorsVisiting != educators {
		fail("state %s: districts, sites, schoolsAtThreshold, educatorsVisiting are %d, %d, %d, %d; its rows add up to %d, %d, %d, %d",
			sg.state, t.Districts, t.Sites, t.SchoolsAtThreshold, t.EducatorsVisiting, len(sg.districts), sites, atThreshold, educators)
	}
}

// checkSums checks the nation's row and the sums of the nation's grid (literal rule (b),
// and the published parts add up), and that no suppressed cell can be derived from the
// published figures.
func (p Published) checkSums(g *grid, fail func(string, ...any)) {
	checkRow(g, 0, false, nil, nil, fail)
	for _, tr := range g.trees {
		m := tr.count
		if g.supp[tr.parent] {
			continue
		}
		parent, where := g.value[tr.parent], g.rows[tr.parent/nCounts].label
		hidden, published := 0, 0
		for _, c := range tr.children {
			if g.supp[c] {
				hidden++
			} else {
				published += g.value[c]
			}
		}
		name := countNames[m]
		if hidden == 1 && len(tr.children) > 1 {
			fail("%s: exactly one of its children's %s is suppressed, so it can be recovered by subtraction", where, name)
		}
		if (hidden == 0 && published != parent) || published > parent {
			fail("%s: %s is %d, its published children's add up to %d", where, name, parent, published)
		}
	}

	for c, b := range g.bridges(false) {
		if b && g.supp[c] {
			fail("%s: the suppressed %s can be derived from the published figures", g.rows[c/nCounts].label, countNames[c%nCounts])
		}
	}
}

// checkRow checks one row's protected counts and, when hasList (not a state row, which
// has none), its suppressed list.
func checkRow(g *grid, r int, hasList bool, listed, extra []string, fail func(string, ...any)) {
	label := g.rows[r].label
	want := []string{}
	b := r * nCounts
	for m := range nCounts {
		if g.supp[b+m] {
			want = append(want, countNames[m])
		} else if v := g.value[b+m]; v < MinCell && !g.rows[r].exempt {
			fail("%s: %s %d is published though under %d", label, countNames[m], v, MinCell)
		}
	}
	want = append(want, extra...)
	if hasList && !slices.Equal(listed, want) {
		fail("%s: suppressed lists %q, the null fields are %q", label, listed, want)
	}
	if g.supp[b+mFirst] != g.supp[b+mSecond] {
		fail("%s: only one of visitsFirst and visitsSecond is suppressed", label)
	}
	if g.supp[b+mVisits] && !g.supp[b+mFirst] {
		fail("%s: visits is suppressed but visitsFirst and visitsSecond are not", label)
	}
	if !g.supp[b+mVisits] && !g.supp[b+mFirst] && !g.supp[b+mSecond] && g.value[b+mVisits] != g.value[b+mFirst]+g.value[b+mSecond] {
		fail("%s: visits %d is not visitsFirst + visitsSecond", label, g.value[b+mVisits])
	}
}

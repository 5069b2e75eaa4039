package reach

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// site makes a site's metrics; visits = first + second.
func site(id string, first, second, families, reached, students int) SiteMetrics {
	s := SiteMetrics{School: id, Name: "School " + id, Visits: first + second, VisitsFirst: first, VisitsSecond: second,
		FamiliesVisited: families, StudentsReached: reached, Students: students, EducatorsVisiting: 2}
	if students > 0 {
		s.Share, s.AtThreshold = float64(reached)/float64(students), reached*10 >= students
	}
	return s
}

// district makes a district's metrics as the sums of its sites.
func district(id, state string, sites ...SiteMetrics) DistrictMetrics {
	d := DistrictMetrics{District: id, State: state, Year: year, PerSite: sites, EducatorsTrained: 3, EducatorsTrainedCumulative: 5,
		HoursPerEducator: map[string]float64{id + "-secret-educator": 12.5}}
	for _, s := range sites {
		d.Sites++
		d.Visits += s.Visits
		d.VisitsFirst += s.VisitsFirst
		d.VisitsSecond += s.VisitsSecond
		d.FamiliesVisited += s.FamiliesVisited
		d.StudentsReached += s.StudentsReached
		d.Students += s.Students
		d.EducatorsVisiting += s.EducatorsVisiting
		if s.AtThreshold {
			d.SchoolsAtThreshold++
		}
	}
	return d
}

func publishAll(ds ...DistrictMetrics) Published {
	national, byState := Rollup(year, ds)
	return Publish(year, national, byState, ds)
}

// suppressedCells lists a publication's suppressed cells as "district D: visits" or
// "site D/S: share".
func suppressedCells(p Published) []string {
	var out []string
	for i := range p.States {
		for m, c := range p.States[i].counts() {
			if c.IsSuppressed() {
				out = append(out, "state "+p.States[i].State+": "+countNames[m])
			}
		}
	}
	for _, d := range p.Districts {
		for _, f := range d.Suppressed {
			out = append(out, "district "+d.District+": "+f)
		}
	}
	for _, s := range p.Sites {
		for _, f := range s.Suppressed {
			out = append(out, "site "+s.District+"/"+s.School+": "+f)
		}
	}
	slices.Sort(out)
	return out
}

func cells(row string, fields ...string) []string {
	var out []string
	for _, f := range fields {
		out = append(out, row+": "+f)
	}
	return out
}

// countCmp compares Counts, whose fields are unexported.
var countCmp = cmp.Comparer(func(a, b Count) bool { return a == b })

var allCounts = []string{"visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "students"}
var allSite = append(slices.Clone(allCounts), "share", "atThreshold")

func TestCountJSON(t *testing.T) {
	type row struct{ A, B, C Count }
	b, err := json.Marshal(row{A: CountOf(12), B: SuppressedCount(), C: CountOf(0)})
	if err != nil || string(b) != `{"A":12,"B":null,"C":0}` {
		t.Fatalf("%s %v", b, err)
	}
	var back row
	if err := json.Unmarshal(b, &back); err != nil || back != (row{A: CountOf(12), C: CountOf(0)}) {
		t.Fatalf("%+v %v", back, err)
	}
	if (Count{}).String() != "suppressed" || !(Count{}).IsSuppressed() || CountOf(7).String() != "7" {
		t.Error("String or the zero Count")
	}
	if v, ok := SuppressedCount().Value(); ok || v != 0 {
		t.Error("a suppressed count holds no value")
	}
	for _, bad := range []string{`1.5`, `"12"`, `true`, `{}`} {
		var c Count
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s read as a count", bad)
		}
	}
}

// TestPublishSpecExamples works through the rule on small hand-made states.
func TestPublishSpecExamples(t *testing.T) {
	cases := []struct {
		name    string
		ds      []DistrictMetrics
		want    []string // suppressed cells
		exposed []string
	}{{
		name: "one small site under a published district: its sibling is suppressed too",
		ds: []DistrictMetrics{
			district("A", "CA", site("a1", 3, 0, 3, 5, 100), site("a2", 30, 20, 40, 60, 400)),
			district("B", "CA", site("b1", 20, 20, 30, 45, 300)),
		},
		want: slices.Concat(cells("site A/a1", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"),
			cells("site A/a2", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold")),
	}, {
		name: "rule (a): a small first visit count takes the second with it; visits stays",
		ds: []DistrictMetrics{
			district("D", "CA", site("x", 4, 20, 20, 30, 300), site("y", 5, 30, 25, 40, 300), site("z", 40, 40, 60, 90, 500)),
			district("E", "CA", site("e1", 50, 50, 80, 120, 900)),
		},
		want: slices.Concat(cells("site D/x", "visitsFirst", "visitsSecond"), cells("site D/y", "visitsFirst", "visitsSecond")),
	}, {
		name: "rule (b): the smallest other child, ties broken by id",
		ds: []DistrictMetrics{
			district("T", "CA", site("r", 15, 15, 12, 20, 200), site("q", 15, 15, 12, 20, 200), site("p", 15, 15, 3, 20, 200)),
			district("U", "CA", site("u1", 50, 50, 80, 120, 900)),
		},
		want: slices.Concat(cells("site T/p", "familiesVisited"), cells("site T/q", "familiesVisited")),
	}, {
		name: "a small district: the smallest other district, then the smallest of its sites",
		ds: []DistrictMetrics{
			district("P", "OR", site("p1", 3, 2, 4, 6, 8)),
			district("Q", "OR", site("q2", 20, 20, 30, 35, 150), site("q1", 15, 15, 20, 25, 100)),
			district("R", "OR", site("r1", 100, 100, 150, 200, 1000)),
			district("S", "WA", site("s1", 100, 100, 150, 200, 1000)),
		},
		want: slices.Concat(cells("district P", allCounts...), cells("site P/p1", allSite...),
			cells("district Q", allCounts...), cells("site Q/q1", allSite...)),
	}, {
		name: "a state with a single district: its small state cells are suppressed too",
		ds: []DistrictMetrics{
			district("W", "WY", site("w1", 3, 0, 3, 4, 30)),
			district("V", "VT", site("v1", 3, 1, 3, 4, 30), site("v2", 2, 2, 2, 3, 500)),
			district("M", "MT", site("m1", 3, 0, 3, 4, 300), site("m2", 200, 100, 250, 400, 5000)),
		},
		// WY (3, 3, 0, 3, 4) and VT (8, 5, 3, 5, 7) are under 10 but for students; MT is
		// not: the two small states hide each other in the national totals.
		want: slices.Concat(cells("district V", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached"),
			cells("district W", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached"),
			cells("site M/m1", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"),
			cells("site M/m2", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"),
			cells("site V/v1", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"), cells("site V/v2", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"),
			cells("site W/w1", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "share", "atThreshold"),
			cells("state VT", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached"),
			cells("state WY", "visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached")),
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := publishAll(c.ds...)
			if err := p.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			slices.Sort(c.want)
			if d := cmp.Diff(c.want, suppressedCells(p)); d != "" {
				t.Errorf("suppressed (-want +got):\n%s", d)
			}
			exposed := p.Exposed()
			slices.Sort(exposed)
			slices.Sort(c.exposed)
			if d := cmp.Diff(c.exposed, exposed); d != "" {
				t.Errorf("exposed (-want +got):\n%s", d)
			}
			disclosed := oracle(p)
			if d := cmp.Diff(c.exposed, disclosed); d != "" {
				t.Errorf("the oracle disagrees (-exposed +oracle):\n%s", d)
			}
			b, _ := json.Marshal(p)
			if s := strings.ToLower(string(b)); strings.Contains(s, "secret") || strings.Contains(s, "hours") {
				t.Errorf("hours per educator published: %s", b)
			}
		})
	}
}

// TestCloseLoop checks rule (c) on its own: a suppressed district and its only suppressed
// site, joined to nothing else, are bridges; closing the loop takes the cheapest path.
func TestCloseLoop(t *testing.T) {
	row := func(id string, v int) gridRow {
		return gridRow{id: id, value: [nCounts]int{v, v, v, v, v, v}}
	}
	nation := row("", 135)
	nation.exempt, nation.fixed = true, true // a published national total
	g := newGrid(nation, []gridState{{gridRow: row("S", 135), districts: []gridDistrict{
		{gridRow: row("A", 40), sites: []gridRow{row("a1", 40)}},
		{gridRow: row("B", 50), sites: []gridRow{row("b1", 50)}},                // path via B costs 51 + 51
		{gridRow: row("C", 45), sites: []gridRow{row("c1", 20), row("c2", 25)}}, // via C: 21 + 46
	}}})
	cell := func(r, m int) int32 { return int32(r*nCounts + m) }
	g.supp[cell(2, mFamilies)], g.supp[cell(3, mFamilies)] = true, true // district A, site a1 (row 0 is the nation, 1 the state)
	br := g.bridges(false)
	if !br[cell(2, mFamilies)] || !br[cell(3, mFamilies)] {
		t.Fatal("A and a1 should be bridges")
	}
	if !g.closeLoop(cell(2, mFamilies)) {
		t.Fatal("no loop")
	}
	var got []string
	for c, s := range g.supp {
		if s {
			got = append(got, g.rows[c/nCounts].id)
		}
	}
	if d := cmp.Diff([]string{"A", "a1", "C", "c1"}, got); d != "" {
		t.Errorf("suppressed (-want +got):\n%s", d)
	}
	for c, b := range g.bridges(false) {
		if b {
			t.Errorf("%s %s is still a bridge", g.rows[c/nCounts].id, countNames[c%nCounts])
		}
	}
}

type truthIndex struct {
	districts map[string]DistrictMetrics
	sites     map[string]SiteMetrics // "district/school"
}

func indexTruth(want SynthTruth) truthIndex {
	ti := truthIndex{districts: map[string]DistrictMetrics{}, sites: map[string]SiteMetrics{}}
	for _, d := range want.Districts {
		ti.districts[d.District] = d
		for _, s := range d.PerSite {
			ti.sites[d.District+"/"+s.School] = s
		}
	}
	return ti
}

// TestPublishProperties publishes many random small data sets, full of cells under 10,
// and checks the rule on each from the outside.
func TestPublishProperties(t *testing.T) {
	shapes := []string{"small cells", "tiny", "default", "many states", "one district", "single state", "small single state", "out of year"}
	seeds := uint64(60)
	if testing.Short() {
		seeds = 10
	}
	var total, complementary, nationN, rows, singleState int
	for _, shape := range shapes {
		for seed := range seeds {
			inputs, want := Synth(1000+seed, synthShapes[shape])
			var ds []DistrictMetrics
			for _, in := range inputs {
				ds = append(ds, ComputeDistrict(in))
			}
			national, byState := Rollup(year, ds)
			p := Publish(year, national, byState, ds)
			where := fmt.Sprintf("%s/%d", shape, seed)
			if err := p.Check(); err != nil {
				t.Fatalf("%s: Check: %v", where, err)
			}
			n, c, e := checkPublication(t, where, p, indexTruth(want), ds)
			total, complementary, nationN = total+n, complementary+c, nationN+e
			if national.States == 1 {
				singleState++
			}
			rows += len(p.Districts) + len(p.Sites)
		}
	}
	t.Logf("%d rows, %d suppressed counts, %d of them 10 or more (complementary); %d single-state years, %d national counts suppressed",
		rows, total, complementary, singleState, nationN)
	if total < 1000 || complementary < 100 || singleState < 2*int(seeds) || nationN == 0 {
		t.Errorf("the data exercised too little suppression: %d suppressed, %d complementary, %d single-state years, %d national counts suppressed",
			total, complementary, singleState, nationN)
	}
}

// checkPublication checks one publication against the truth without using the package's
// own checker, and returns how many counts it suppressed, how many of those were 10 or
// more, and how many national counts it suppressed.
func checkPublication(t *testing.T, where string, p Published, ti truthIndex, ds []DistrictMetrics) (suppressed, complementary, nationN int) {
	t.Helper()
	fail := func(format string, a ...any) { t.Errorf("%s: "+format, append([]any{where}, a...)...) }

	// Totals: equal to Rollup's, states add up to national. The national totals are whole
	// unless a single state has sites; then they are that state's, suppressed where its are
	// (checked with the state rows below).
	national, byState := Rollup(year, ds)
	nat := p.National
	for m, c := range nat.counts() {
		if c.IsSuppressed() {
			if national.States != 1 {
				fail("national %s suppressed with %d states with sites", countNames[m], national.States)
			}
			*c = CountOf(national.counts()[m])
		}
	}
	if d := cmp.Diff(national.Row(), nat, countCmp); d != "" {
		fail("national (-rollup +published):\n%s", d)
	}
	if len(p.States) != len(byState) {
		fail("%d states published, %d rolled up", len(p.States), len(byState))
	}
	for i, st := range p.States {
		if i > 0 && p.States[i-1].State >= st.State {
			fail("states not sorted")
		}
		truth := byState[st.State]
		whole := truth.Row()
		got := st
		got.Visits, got.VisitsFirst, got.VisitsSecond, got.FamiliesVisited, got.StudentsReached, got.Students =
			whole.Visits, whole.VisitsFirst, whole.VisitsSecond, whole.FamiliesVisited, whole.StudentsReached, whole.Students
		if got != whole {
			fail("state %s: %+v, rolled up %+v", st.State, st, truth)
		}
		if truth.Sites > 0 && national.States == 1 {
			for m, c := range st.counts() {
				if c.IsSuppressed() != p.National.counts()[m].IsSuppressed() {
					fail("national %s: suppressed %v, the only state with sites' (%s) %v", countNames[m], p.National.counts()[m].IsSuppressed(), st.State, c.IsSuppressed())
				}
			}
		}
	}
	assertStatesAddUp(t, national, byState)

	// Every row: published counts are true and 10 or more; first and second go together.
	type rowInfo struct {
		values [nCounts]int
		counts [nCounts]Count
	}
	children := map[string][]rowInfo{} // district → its sites
	parents := map[string]rowInfo{}
	stateChildren := map[string][]rowInfo{}
	checkCounts := func(label string, counts [nCounts]*Count, truth [nCounts]int, exempt bool) rowInfo {
		var ri rowInfo
		for m, c := range counts {
			ri.values[m], ri.counts[m] = truth[m], *c
			v, ok := c.Value()
			switch {
			case !ok:
				suppressed++
				if truth[m] >= MinCell {
					complementary++
				}
			case v != truth[m]:
				fail("%s %s published %d, true %d", label, countNames[m], v, truth[m])
			case v < MinCell && !exempt:
				fail("%s %s published %d < %d", label, countNames[m], v, MinCell)
			}
		}
		if counts[mFirst].IsSuppressed() != counts[mSecond].IsSuppressed() {
			fail("%s: only one of visitsFirst, visitsSecond suppressed", label)
		}
		return ri
	}
	for _, d := range p.Districts {
		truth := ti.districts[d.District]
		if d.State != truth.State || d.Sites != truth.Sites || d.EducatorsTrained != truth.EducatorsTrained ||
			d.EducatorsTrainedCumulative != truth.EducatorsTrainedCumulative || d.EducatorsVisiting != truth.EducatorsVisiting ||
			d.SchoolsAtThreshold != truth.SchoolsAtThreshold {
			fail("district %s: %+v, true %+v", d.District, d, truth)
		}
		ri := checkCounts("district "+d.District, d.counts(), truth.counts(), false)
		parents[d.District] = ri
		stateChildren[d.State] = append(stateChildren[d.State], ri)
	}
	for _, s := range p.Sites {
		truth, ok := ti.sites[s.District+"/"+s.School]
		if !ok {
			fail("site %s/%s is not a true site", s.District, s.School)
			continue
		}
		label := "site " + s.District + "/" + s.School
		ri := checkCounts(label, s.counts(), truth.counts(), false)
		children[s.District] = append(children[s.District], ri)
		hidden := s.StudentsReached.IsSuppressed() || s.Students.IsSuppressed()
		if hidden != (s.Share == nil) || hidden != (s.AtThreshold == nil) {
			fail("%s: share/atThreshold suppression does not follow studentsReached/students", label)
		}
		if !hidden && (*s.Share != truth.Share || *s.AtThreshold != truth.AtThreshold || s.Name != truth.Name) {
			fail("%s: share %v at %v, true %v %v", label, *s.Share, *s.AtThreshold, truth.Share, truth.AtThreshold)
		}
		if s.EducatorsVisiting != truth.EducatorsVisiting {
			fail("%s: educators visiting", label)
		}
	}
	if len(p.Sites) != len(ti.sites) {
		fail("%d site rows, %d true sites", len(p.Sites), len(ti.sites))
	}
	// State rows: the small-cell rule for states with fewer than two districts with data.
	var stateRows []rowInfo
	stateHidden := map[string][nCounts]bool{}
	for i := range p.States {
		st := &p.States[i]
		ri := checkCounts("state "+st.State, st.counts(), byState[st.State].counts(), len(stateChildren[st.State]) != 1)
		if len(stateChildren[st.State]) == 0 && st.Suppressed() {
			fail("state %s has no district with data, but a suppressed count", st.State)
		}
		stateRows = append(stateRows, ri)
		var hidden [nCounts]bool
		for m, c := range ri.counts {
			hidden[m] = c.IsSuppressed()
		}
		stateHidden[st.State] = hidden
	}

	// Every published parent with two or more children: 0 or ≥ 2 suppressed children.
	checkParent := func(label string, parent [nCounts]bool, kids []rowInfo) {
		if len(kids) < 2 {
			return
		}
		for m := range nCounts {
			if parent[m] {
				continue
			}
			n := 0
			for _, k := range kids {
				if k.counts[m].IsSuppressed() {
					n++
				}
			}
			if n == 1 {
				fail("%s: one suppressed %s among its children", label, countNames[m])
			}
		}
	}
	for id, ri := range parents {
		var hidden [nCounts]bool
		for m, c := range ri.counts {
			hidden[m] = c.IsSuppressed()
		}
		checkParent("district "+id, hidden, children[id])
	}
	for st, kids := range stateChildren {
		checkParent("state "+st, stateHidden[st], kids)
	}
	var natHidden [nCounts]bool
	for m, c := range p.National.counts() {
		natHidden[m] = c.IsSuppressed()
	}
	checkParent("national", natHidden, stateRows)

	// Nothing suppressed is derivable, whatever the number of states (the oracle), and
	// Exposed says so.
	if disclosed := oracle(p); len(disclosed) > 0 {
		fail("with %d states with sites, derivable: %q", national.States, disclosed)
	}
	exposed := p.Exposed()
	if len(exposed) > 0 {
		fail("Exposed: %q", exposed)
	}

	// The JSON: no hours, no ignored visits, no family, student, educator or visit id;
	// it reads back to a publication that still checks and writes the same bytes.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"hoursPerEducator", "HoursPerEducator", "ignoredVisits", "IgnoredVisits", "perSite", "stu-", "fam0", "-e0", "-v0", "secret"} {
		if strings.Contains(string(b), bad) {
			fail("the published JSON contains %q", bad)
		}
	}
	var back Published
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		fail("the JSON read back does not check: %v", err)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) {
		fail("the JSON does not round-trip")
	}
	for _, c := range p.National.counts() {
		if c.IsSuppressed() {
			nationN++
		}
	}
	return suppressed, complementary, nationN
}

// TestPublishIsOrderFree: the order of the districts and of their sites does not matter.
func TestPublishIsOrderFree(t *testing.T) {
	for seed := range uint64(10) {
		inputs, _ := Synth(seed, synthShapes["small cells"])
		var ds []DistrictMetrics
		for _, in := range inputs {
			ds = append(ds, ComputeDistrict(in))
		}
		a, _ := json.Marshal(publishAll(ds...))
		r := rand.New(rand.NewPCG(seed, 1))
		r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		for i := range ds {
			s := slices.Clone(ds[i].PerSite)
			r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			ds[i].PerSite = s
		}
		b, _ := json.Marshal(publishAll(ds...))
		if string(a) != string(b) {
			t.Fatalf("seed %d: the publication depends on the order of its input", seed)
		}
	}
}

// TestPublishLeavesOut: districts of other years and districts without a site get no row;
// the counts of states, districts and sites and the educator counts are published
// whatever their size.
func TestPublishLeavesOut(t *testing.T) {
	other := district("Z", "CA", site("z1", 5, 5, 5, 5, 50))
	other.Year = "2024-2025"
	noSites := district("N", "CA")
	ds := []DistrictMetrics{district("A", "CA", site("a1", 3, 1, 2, 3, 40)), other, noSites}
	p := publishAll(ds...)
	if len(p.Districts) != 1 || len(p.Sites) != 1 || p.Districts[0].District != "A" {
		t.Fatalf("rows: %+v %+v", p.Districts, p.Sites)
	}
	if st := p.States[0]; st.Students != CountOf(40) || st.EducatorsTrained != 6 || st.Sites != 1 || st.Districts != 1 ||
		p.National.Students != CountOf(40) || p.National.States != 1 || p.National.Sites != 1 || p.National.EducatorsTrained != 6 {
		t.Errorf("totals: %+v %+v", st, p.National)
	}
	if err := p.Check(); err != nil {
		t.Error(err)
	}
	if e := p.Exposed(); len(e) > 0 {
		t.Errorf("exposed: %q", e)
	}
	empty := Publish(year, Totals{Year: year}, nil, nil)
	if err := empty.Check(); err != nil {
		t.Errorf("an empty year: %v", err)
	}
	if b, _ := json.Marshal(empty); string(b) != `{"year":"2025-2026","national":{"year":"2025-2026","states":0,"districts":0,"sites":0,"visits":0,"visitsFirst":0,"visitsSecond":0,"familiesVisited":0,"studentsReached":0,"students":0,"educatorsTrained":0,"educatorsTrainedCumulative":0,"educatorsVisiting":0,"schoolsAtThreshold":0},"states":[],"districts":[],"sites":[]}` {
		t.Errorf("empty JSON: %s", b)
	}
}

// TestANationOfOneState: when a single state has sites, the national totals are its
// totals. Its row then takes the small-cell rule as any state's row with a single district
// does, and the national totals follow its suppression, so that no small count is published
// anywhere; a state with two or more districts, and the nation, stay whole. The counts of
// states, districts and sites, the educator counts and schoolsAtThreshold are whole.
func TestANationOfOneState(t *testing.T) {
	t.Run("one district", func(t *testing.T) {
		ds := []DistrictMetrics{
			district("A", "CA", site("a1", 3, 1, 2, 3, 40), site("a2", 2, 2, 3, 4, 300)),
			district("N", "NV"), // trained educators, no site: a row of zeros
		}
		p := publishAll(ds...)
		if err := p.Check(); err != nil {
			t.Fatal(err)
		}
		if e := p.Exposed(); len(e) > 0 {
			t.Errorf("exposed: %q", e)
		}
		if d := oracle(p); len(d) > 0 {
			t.Errorf("the oracle: derivable %q", d)
		}
		small := []string{"visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached"}
		want := slices.Concat(cells("national", small...), cells("state CA", small...), cells("district A", small...),
			cells("site A/a1", append(small, "share", "atThreshold")...), cells("site A/a2", append(small, "share", "atThreshold")...))
		got := suppressedCells(p)
		for m, c := range p.National.counts() {
			if c.IsSuppressed() {
				got = append(got, "national: "+countNames[m])
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("suppressed (-want +got):\n%s", d)
		}
		n := p.National
		if n.States != 1 || n.Districts != 1 || n.Sites != 2 || n.Students != CountOf(340) || n.EducatorsTrained != 6 ||
			n.EducatorsTrainedCumulative != 10 || n.EducatorsVisiting != 4 || n.SchoolsAtThreshold != 0 {
			t.Errorf("national: %+v", n)
		}
		b, _ := json.Marshal(p.National)
		if !strings.Contains(string(b), `"visits":null`) || !strings.Contains(string(b), `"states":1`) || !strings.Contains(string(b), `"students":340`) {
			t.Errorf("national JSON: %s", b)
		}
		var back Published
		b, _ = json.Marshal(p)
		if err := json.Unmarshal(b, &back); err != nil || back.Check() != nil {
			t.Errorf("read back: %v %v", err, back.Check())
		}

		// The national total that repeats the state's suppressed count is caught.
		leak := p
		leak.National.Visits = CountOf(8)
		err := leak.Check()
		if err == nil || !strings.Contains(err.Error(), "national visits is published, and it is state CA's suppressed visits") ||
			!strings.Contains(err.Error(), "state CA: the suppressed visits can be derived") {
			t.Errorf("Check of a national total that repeats CA's: %v", err)
		}
		if d := oracle(leak); !slices.Contains(d, "state CA: visits") || !slices.Contains(d, "district A: visits") {
			t.Errorf("the oracle: %q", d)
		}
		if e := leak.Exposed(); !slices.Contains(e, "state CA: visits") {
			t.Errorf("Exposed: %q", e)
		}
	})
	// wholeNation publishes ds and checks that the national totals are whole.
	wholeNation := func(t *testing.T, ds ...DistrictMetrics) (Published, map[string]Totals) {
		t.Helper()
		national, byState := Rollup(year, ds)
		p := Publish(year, national, byState, ds)
		if err := p.Check(); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(national.Row(), p.National, countCmp); d != "" {
			t.Errorf("national (-whole +published):\n%s", d)
		}
		if len(oracle(p)) > 0 || len(p.Exposed()) > 0 {
			t.Errorf("derivable: %q %q", oracle(p), p.Exposed())
		}
		return p, byState
	}
	t.Run("two districts", func(t *testing.T) {
		p, byState := wholeNation(t, district("A", "CA", site("a1", 3, 1, 2, 3, 40)), district("B", "CA", site("b1", 2, 1, 3, 4, 300)))
		if d := cmp.Diff(byState["CA"].Row(), p.States[0], countCmp); d != "" {
			t.Errorf("state CA (-whole +published):\n%s", d)
		}
	})
	t.Run("two states", func(t *testing.T) {
		p, _ := wholeNation(t, district("A", "CA", site("a1", 3, 1, 2, 3, 40)), district("W", "WY", site("w1", 2, 1, 3, 4, 300)))
		// A national total suppressed while two states have sites is caught.
		p.National.Visits = SuppressedCount()
		if err := p.Check(); err == nil || !strings.Contains(err.Error(), "national visits is suppressed though 2 states have sites") {
			t.Errorf("Check: %v", err)
		}
	})
}

// TestPublishedJSONShape pins the field names of every published object, for the schema.
func TestPublishedJSONShape(t *testing.T) {
	p := publishAll(
		district("A", "CA", site("a1", 3, 1, 2, 3, 40), site("a2", 30, 10, 20, 30, 400)),
		district("B", "CA", site("b1", 30, 10, 20, 30, 400)),
	)
	var doc map[string]any
	b, _ := json.Marshal(p)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) []string {
		var out []string
		for k := range v.(map[string]any) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	totals := []string{"districts", "educatorsTrained", "educatorsTrainedCumulative", "educatorsVisiting", "familiesVisited", "schoolsAtThreshold", "sites", "students", "studentsReached", "visits", "visitsFirst", "visitsSecond", "year"}
	want := map[string][]string{
		"document": {"districts", "national", "sites", "states", "year"},
		"national": slices.Sorted(slices.Values(append(slices.Clone(totals), "states"))),
		"state":    slices.Sorted(slices.Values(append(slices.Clone(totals), "state"))),
		"district": {"district", "educatorsTrained", "educatorsTrainedCumulative", "educatorsVisiting", "familiesVisited", "schoolsAtThreshold", "sites", "state", "students", "studentsReached", "suppressed", "visits", "visitsFirst", "visitsSecond"},
		"site":     {"atThreshold", "district", "educatorsVisiting", "familiesVisited", "name", "school", "share", "state", "students", "studentsReached", "suppressed", "visits", "visitsFirst", "visitsSecond"},
	}
	got := map[string][]string{
		"document": keys(doc),
		"national": keys(doc["national"]),
		"state":    keys(doc["states"].([]any)[0]),
		"district": keys(doc["districts"].([]any)[0]),
		"site":     keys(doc["sites"].([]any)[0]),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	site := doc["sites"].([]any)[0].(map[string]any)
	if site["visits"] != nil || site["share"] != nil || site["students"] != 40.0 {
		t.Errorf("a suppressed count is null, a published one a number: %v", site)
	}
	if sup := doc["districts"].([]any)[0].(map[string]any)["suppressed"]; sup == nil || len(sup.([]any)) != 0 {
		t.Errorf("an empty suppressed list is [], not null: %v", sup)
	}
}

// TestCheckCatches breaks a valid publication in each way Check must notice.
func TestCheckCatches(t *testing.T) {
	inputs, want := Synth(3, SynthOptions{States: 4, DistrictsPerState: [2]int{2, 4}, FamiliesPerSite: [2]int{1, 25}})
	var ds []DistrictMetrics
	for _, in := range inputs {
		ds = append(ds, ComputeDistrict(in))
	}
	good := publishAll(ds...)
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	ti := indexTruth(want)
	clone := func() Published {
		b, _ := json.Marshal(good)
		var p Published
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// reveal un-suppresses the first site cell whose true value satisfies keep.
	reveal := func(p *Published, keep func(m, v int) bool) bool {
		for i := range p.Sites {
			s := &p.Sites[i]
			truth := ti.sites[s.District+"/"+s.School].counts()
			for m, c := range s.counts() {
				if c.IsSuppressed() && keep(m, truth[m]) {
					*c = CountOf(truth[m])
					s.Suppressed = slices.DeleteFunc(s.Suppressed, func(f string) bool { return f == countNames[m] })
					return true
				}
			}
		}
		return false
	}
	wantErr := map[string]string{
		"a complementary cell revealed":                   "can be recovered by subtraction",
		"a small cell revealed":                           "published though under 10",
		"only one of first and second revealed":           "only one of visitsFirst and visitsSecond",
		"a suppressed name left off the list":             "suppressed lists",
		"share published with studentsReached suppressed": "share or atThreshold published",
		"states do not add up to national":                "states add up to visits",
		"national states miscounted":                      "national states is",
		"a published site off by one":                     "its published children's add up to",
		"a district twice":                                "has two rows",
		"a district in an unknown state":                  "has no state row",
		"a site without its district":                     "district has no row",
		"a site row missing":                              "site rows",
	}
	cases := map[string]func(p *Published) bool{
		"a complementary cell revealed": func(p *Published) bool {
			return reveal(p, func(m, v int) bool { return m == mFamilies && v >= MinCell })
		},
		"a small cell revealed": func(p *Published) bool {
			return reveal(p, func(m, v int) bool { return m == mFamilies && v < MinCell })
		},
		"only one of first and second revealed": func(p *Published) bool {
			return reveal(p, func(m, v int) bool { return (m == mFirst || m == mSecond) && v >= MinCell })
		},
		"a suppressed name left off the list": func(p *Published) bool {
			for i := range p.Districts {
				if len(p.Districts[i].Suppressed) > 0 {
					p.Districts[i].Suppressed = p.Districts[i].Suppressed[1:]
					return true
				}
			}
			return false
		},
		"share published with studentsReached suppressed": func(p *Published) bool {
			for i := range p.Sites {
				if p.Sites[i].Share == nil {
					x := 0.5
					p.Sites[i].Share = &x
					p.Sites[i].Suppressed = slices.DeleteFunc(p.Sites[i].Suppressed, func(f string) bool { return f == "share" })
					return true
				}
			}
			return false
		},
		"states do not add up to national": func(p *Published) bool {
			v, _ := p.National.Visits.Value()
			p.National.Visits = CountOf(v + 1)
			return true
		},
		"national states miscounted": func(p *Published) bool { p.National.States++; return true },
		"a published site off by one": func(p *Published) bool {
			hidden := map[string]bool{} // the district's figure, or one of its sites', is suppressed
			for _, d := range p.Districts {
				hidden[d.District] = d.FamiliesVisited.IsSuppressed()
			}
			for _, s := range p.Sites {
				hidden[s.District] = hidden[s.District] || s.FamiliesVisited.IsSuppressed()
			}
			for i := range p.Sites {
				if v, ok := p.Sites[i].FamiliesVisited.Value(); ok && !hidden[p.Sites[i].District] {
					p.Sites[i].FamiliesVisited = CountOf(v + 1)
					return true
				}
			}
			return false
		},
		"a district twice":               func(p *Published) bool { p.Districts = append(p.Districts, p.Districts[0]); return true },
		"a district in an unknown state": func(p *Published) bool { p.Districts[0].State = "ZZ"; return true },
		"a site without its district":    func(p *Published) bool { p.Sites[0].District = "nowhere"; return true },
		"a site row missing":             func(p *Published) bool { p.Sites = p.Sites[1:]; return true },
	}
	for name, breakIt := range cases {
		p := clone()
		if !breakIt(&p) {
			t.Errorf("%s: the data has no such cell", name)
			continue
		}
		err := p.Check()
		if err == nil {
			t.Errorf("%s: Check passed", name)
			continue
		}
		if !strings.Contains(err.Error(), wantErr[name]) {
			t.Errorf("%s: Check says %v; want %q", name, err, wantErr[name])
		}
	}
}

// TestCheckCatchesChains: a suppressed district whose sites are all published is their
// sum, and then its suppressed sibling is the state's total minus the others. No single
// sum has exactly one suppressed cell under a published parent; Check still notices.
func TestCheckCatchesChains(t *testing.T) {
	p := publishAll(
		district("P", "OR", site("p1", 3, 2, 4, 6, 8)),
		district("Q", "OR", site("q2", 20, 20, 30, 35, 150), site("q1", 15, 15, 20, 25, 100)),
		district("R", "OR", site("r1", 100, 100, 150, 200, 1000)),
	)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	for i := range p.Sites {
		if s := &p.Sites[i]; s.School == "q1" {
			for m, c := range s.counts() {
				*c = CountOf([nCounts]int{30, 15, 15, 20, 25, 100}[m])
			}
			share, at := 0.25, true
			s.Share, s.AtThreshold, s.Suppressed = &share, &at, []string{}
		}
	}
	err := p.Check()
	if err == nil || !strings.Contains(err.Error(), "district Q: the suppressed visits can be derived") ||
		!strings.Contains(err.Error(), "district P: the suppressed visits can be derived") {
		t.Errorf("Check: %v", err)
	}
	disclosed := oracle(p)
	if !slices.Contains(disclosed, "district P: visits") || !slices.Contains(disclosed, "site P/p1: visits") {
		t.Errorf("the oracle agrees the chain discloses P: %v", disclosed)
	}
}

// TestSingleDistrictStates: the state row of a state with a single district would disclose
// that district's suppressed cells; it is suppressed as well, with complementary state
// cells, so that nothing is derivable from the national totals (the oracle agrees), and
// the national totals, the count of states and of sites stay whole. Revealing a state
// cell again is caught by Check.
func TestSingleDistrictStates(t *testing.T) {
	ds := []DistrictMetrics{
		district("W", "WY", site("w1", 3, 0, 3, 4, 30)),
		district("M", "MT", site("m1", 30, 20, 40, 45, 300)),
		district("A", "AZ", site("a1", 3, 2, 4, 6, 80), site("a2", 40, 30, 50, 70, 900)),
		district("B", "AZ", site("b1", 50, 40, 60, 80, 1000)),
		district("N", "NV"), // no sites: a state row of zeros, never suppressed
	}
	national, byState := Rollup(year, ds)
	p := Publish(year, national, byState, ds)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(national.Row(), p.National, countCmp); d != "" {
		t.Errorf("national (-rollup +published):\n%s", d)
	}
	disclosed := oracle(p)
	if len(disclosed) > 0 {
		t.Errorf("derivable: %q", disclosed)
	}
	if e := p.Exposed(); len(e) > 0 {
		t.Errorf("exposed: %q", e)
	}
	row := func(code string) *TotalsRow {
		i := slices.IndexFunc(p.States, func(s TotalsRow) bool { return s.State == code })
		if i < 0 {
			t.Fatalf("no state %s", code)
		}
		return &p.States[i]
	}
	var w DistrictRow
	for _, d := range p.Districts {
		if d.District == "W" {
			w = d
		}
	}
	wy := row("WY")
	for m, c := range w.counts() {
		if c.IsSuppressed() && !wy.counts()[m].IsSuppressed() {
			t.Errorf("district W's %s is suppressed, the state row WY publishes it", countNames[m])
		}
	}
	if wy.Sites != 1 || wy.Districts != 1 || row("MT").Sites != 1 || row("AZ").Sites != 3 {
		t.Errorf("sites or districts suppressed: %+v", p.States)
	}
	if nv := row("NV"); nv.Suppressed() || nv.Sites != 0 {
		t.Errorf("NV: %+v", nv)
	}
	if !row("AZ").Visits.IsSuppressed() && !row("MT").Visits.IsSuppressed() {
		t.Errorf("WY's visits is the national total minus the other states': %+v", p.States)
	}

	// Reveal WY's visits again: Check and the oracle both see it.
	wy.Visits = CountOf(byState["WY"].Visits)
	err := p.Check()
	if err == nil || !strings.Contains(err.Error(), "state WY: visits 3 is published though under 10") {
		t.Errorf("Check: %v", err)
	}
	if disclosed := oracle(p); !slices.Contains(disclosed, "district W: visits") {
		t.Errorf("the oracle: WY's visits discloses W's: %q", disclosed)
	}
}

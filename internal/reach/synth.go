package reach

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pthv/reach/internal/pthv"
)

// SynthOptions shapes the data Synth makes. Ranges are inclusive {min, max}; a zero field
// takes its default.
type SynthOptions struct {
	Year                 string // default "2025-2026"
	States               int    // default 3
	DistrictsPerState    [2]int // districts with sites, default {1, 4}
	SitesPerDistrict     [2]int // default {1, 5}
	FamiliesPerSite      [2]int // visited families per site, default {1, 30}
	EducatorsPerDistrict [2]int // default {6, 30}; at least 2
	// OutOfYear adds completed visits dated outside Year (the first visits of families
	// whose second visit is in Year, visits of the following year), which ComputeDistrict
	// leaves out and tallies in IgnoredVisits. Leave it off for data that goes through a
	// path which drops visits outside the year before ComputeDistrict.
	OutOfYear bool
}

// SynthTruth is what Synth's records must yield. Every figure was decided while the
// records were designed, not computed from them.
type SynthTruth struct {
	Districts []DistrictMetrics // ComputeDistrict's result for each input, in order
	National  Totals
	ByState   map[string]Totals
}

var stateCodes = []string{"AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY"}

// Synth makes deterministic synthetic records for several states and their districts —
// schools with students and families; completed and cancelled visits, first and second,
// families visited on two dates, students shared by two families or moved between two
// schools; trainings before, in and after the year, some on its first and last days;
// schools without completed visits; now and then a district with trainings but no site —
// together with the figures they must yield at every level. The same seed and options
// give the same data. All ids are synthetic: "CA-001" (district), "s03" (school, per
// district), "fam012" (family, per school), "stu-CA-001-00042", "CA-001-e007",
// "CA-001-v00031".
func Synth(seed uint64, opts SynthOptions) ([]DistrictInput, SynthTruth) {
	o := opts.withDefaults()
	sy, err := pthv.ParseSchoolYear(o.Year)
	if err != nil {
		panic("reach.Synth: year must be written like 2025-2026, got " + o.Year)
	}
	y0 := sy.Start()
	r := rand.New(rand.NewPCG(seed, 0x7265616368))

	codes := slices.Clone(stateCodes)
	r.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	for i := len(codes); i < o.States; i++ {
		codes = append(codes, fmt.Sprintf("X%02d", i-len(stateCodes)+1))
	}
	codes = codes[:o.States]
	slices.Sort(codes)

	var inputs []DistrictInput
	truth := SynthTruth{National: Totals{Year: o.Year}, ByState: map[string]Totals{}}
	for _, code := range codes {
		st := Totals{Year: o.Year, State: code}
		n := between(r, o.DistrictsPerState)
		idle := 0
		if r.IntN(6) == 0 {
			idle = 1 // a district that trained educators but has no site yet
		}
		for k := range n + idle {
			in, want := synthDistrict(r, o, y0, code, fmt.Sprintf("%s-%03d", code, k+1), k >= n)
			inputs = append(inputs, in)
			truth.Districts = append(truth.Districts, want)
			if want.Sites > 0 {
				st.Districts++
			}
			st.Sites += want.Sites
			st.Visits += want.Visits
			st.VisitsFirst += want.VisitsFirst
			st.VisitsSecond += want.VisitsSecond
			st.FamiliesVisited += want.FamiliesVisited
			st.StudentsReached += want.StudentsReached
			st.Students += want.Students
			st.EducatorsTrained += want.EducatorsTrained
			st.EducatorsTrainedCumulative += want.EducatorsTrainedCumulative
			st.EducatorsVisiting += want.EducatorsVisiting
			st.SchoolsAtThreshold += want.SchoolsAtThreshold
		}
		truth.ByState[code] = st
		nt := &truth.National
		if st.Sites > 0 {
			nt.States++
		}
		nt.Districts += st.Districts
		nt.Sites += st.Sites
		nt.Visits += st.Visits
		nt.VisitsFirst += st.VisitsFirst
		nt.VisitsSecond += st.VisitsSecond
		nt.FamiliesVisited += st.FamiliesVisited
		nt.StudentsReached += st.StudentsReached
		nt.Students += st.Students
		nt.EducatorsTrained += st.EducatorsTrained
		nt.EducatorsTrainedCumulative += st.EducatorsTrainedCumulative
		nt.EducatorsVisiting += st.EducatorsVisiting
		nt.SchoolsAtThreshold += st.SchoolsAtThreshold
	}
	return inputs, truth
}

func (o SynthOptions) withDefaults() SynthOptions {
	def := func(v *[2]int, lo, hi int) {
		if *v == [2]int{} {
			*v = [2]int{lo, hi}
		}
		v[0] = max(v[0], 1)
		v[1] = max(v[1], v[0])
	}
	if o.Year == "" {
		o.Year = "2025-2026"
	}
	if o.States <= 0 {
		o.States = 3
	}
	def(&o.DistrictsPerState, 1, 4)
	def(&o.SitesPerDistrict, 1, 5)
	def(&o.FamiliesPerSite, 1, 30)
	def(&o.EducatorsPerDistrict, 6, 30)
	o.EducatorsPerDistrict[0] = max(o.EducatorsPerDistrict[0], 2)
	o.EducatorsPerDistrict[1] = max(o.EducatorsPerDistrict[1], o.EducatorsPerDistrict[0])
	return o
}

func between(r *rand.Rand, v [2]int) int { return v[0] + r.IntN(v[1]-v[0]+1) }

// synthGen makes dates relative to the school year that starts on 1 July y0.
type synthGen struct {
	r  *rand.Rand
	y0 int
}

// day returns a date of the school year y0+off, lo to hi days after its 1 July (hi is
// clamped to the year's last day).
func (g synthGen) day(off, lo, hi int) string {
	sy := pthv.NewSchoolYear(g.y0 + off)
	start := sy.Begins()
	n := int(sy.Next().Begins().Sub(start).Hours() / 24)
	hi = min(hi, n-1)
	lo = min(lo, hi)
	return start.AddDate(0, 0, lo+g.r.IntN(hi-lo+1)).Format(time.DateOnly)
}

// edgeDay returns a date of the school year y0+off, often its first or last day.
func (g synthGen) edgeDay(off int) string {
	switch g.r.IntN(8) {
	case 0:
		return g.day(off, 0, 0)
	case 1:
		return g.day(off, 400, 400) // clamped: 30 June
	}
	return g.day(off, 0, 400)
}

func synthDistrict(r *rand.Rand, o SynthOptions, y0 int, state, id string, noSites bool) (DistrictInput, DistrictMetrics) {
	g := synthGen{r: r, y0: y0}
	in := DistrictInput{District: id, State: state, Year: o.Year}
	want := DistrictMetrics{District: id, State: state, Year: o.Year, PerSite: []SiteMetrics{}, HoursPerEducator: map[string]float64{}}

	// Educators: trained in the year (maybe also before or after), trained before only,
	// trained after only, never trained. Only those trained by the year's end visit.
	var pool, trained []string
	for i := range between(r, o.EducatorsPerDistrict) {
		e := fmt.Sprintf("%s-e%03d", id, i+1)
		pool = append(pool, e)
		kind := r.IntN(100)
		if i < 2 {
			kind = 0
		}
		switch {
		case kind < 55:
			in.Trainings = append(in.Trainings, Training{e, g.edgeDay(0)})
			if r.IntN(4) == 0 {
				in.Trainings = append(in.Trainings, Training{e, g.edgeDay(0)})
			}
			if r.IntN(4) == 0 {
				in.Trainings = append(in.Trainings, Training{e, g.edgeDay(-1 - r.IntN(3))})
			}
			if r.IntN(6) == 0 {
				in.Trainings = append(in.Trainings, Training{e, g.edgeDay(1)})
			}
			want.EducatorsTrained++
			want.EducatorsTrainedCumulative++
			trained = append(trained, e)
		case kind < 80:
			in.Trainings = append(in.Trainings, Training{e, g.edgeDay(-1 - r.IntN(3))})
			if r.IntN(3) == 0 {
				in.Trainings = append(in.Trainings, Training{e, g.edgeDay(-1)})
			}
			want.EducatorsTrainedCumulative++
			trained = append(trained, e)
		case kind < 88:
			in.Trainings = append(in.Trainings, Training{e, g.edgeDay(1)})
		}
	}
	r.Shuffle(len(in.Trainings), func(i, j int) { in.Trainings[i], in.Trainings[j] = in.Trainings[j], in.Trainings[i] })

	pair := func() []string { // any two distinct educators of the district
		i := r.IntN(len(pool))
		j := (i + 1 + r.IntN(len(pool)-1)) % len(pool)
		return []string{pool[i], pool[j]}
	}
	seq := 0
	student := func() string {
		seq++
		return fmt.Sprintf("stu-%s-%05d", id, seq)
	}
	var visits []Visit
	visit := func(school, family string, students []string, date string, number int, eds []string, minutes int, status string) {
		visits = append(visits, Visit{School: school, Family: family, Students: slices.Clone(students), Date: date, Number: number, Educators: eds, Minutes: minutes, Status: status})
	}
	cancel := func(school, family string, students []string) {
		visit(school, family, students, g.day(0, 0, 400), 1+r.IntN(2), pair(), 0, StatusCancelled)
	}

	nSites := 0
	if !noSites {
		nSites = between(r, o.SitesPerDistrict)
	}
	nSchools := nSites + r.IntN(3)
	if noSites {
		nSchools = 1 + r.IntN(2)
	}
	perm := r.Perm(nSchools)
	minutes := map[string]int{}
	visiting := map[string]bool{}
	var earlier []string // students of earlier sites: some move to a later one
	for i := range nSchools {
		sid := fmt.Sprintf("s%02d", perm[i]+1)
		name := fmt.Sprintf("Synthetic School %s %s", id, sid)
		if i >= nSites { // a school without completed visits this year
			in.Schools = append(in.Schools, School{ID: sid, Name: name, Students: 20 + r.IntN(600)})
			for range r.IntN(3) {
				cancel(sid, fmt.Sprintf("fam%03d", 1+r.IntN(40)), []string{student()})
			}
			if o.OutOfYear && r.IntN(2) == 0 {
				visit(sid, "fam001", []string{student()}, g.day(-1, 0, 400), 1, pair(), 45, StatusCompleted)
				want.IgnoredVisits++
			}
			continue
		}

		// Families and their students: every student is new, except one now and then
		// shared with an earlier family here (counted once) or moved from an earlier site
		// (counted here too).
		nf := between(r, o.FamiliesPerSite)
		fams := make([][]string, nf)
		reached := 0
		movedHere := map[string]bool{}
		for f := range fams {
			k := 1
			if x := r.IntN(20); x >= 10 {
				k = 2 + x/17
			}
			for range k {
				fams[f] = append(fams[f], student())
				reached++
			}
			if f > 0 && r.IntN(10) == 0 {
				other := fams[r.IntN(f)]
				fams[f] = append(fams[f], other[r.IntN(len(other))])
			}
			if len(earlier) > 0 && r.IntN(20) == 0 {
				if s := earlier[r.IntN(len(earlier))]; !movedHere[s] {
					movedHere[s] = true
					fams[f] = append(fams[f], s)
					reached++
				}
			}
		}

		// Visits: first only, first and second (two dates), or second only (the first
		// was last year).
		type planned struct {
			fam, number int
			date        string
		}
		var plan []planned
		sm := SiteMetrics{School: sid, Name: name, FamiliesVisited: nf, StudentsReached: reached}
		for f := range fams {
			switch p := r.IntN(20); {
			case p < 11:
				plan = append(plan, planned{f, 1, g.day(0, 30, 175)})
				sm.VisitsFirst++
			case p < 18:
				plan = append(plan, planned{f, 1, g.day(0, 30, 175)}, planned{f, 2, g.day(0, 185, 360)})
				sm.VisitsFirst++
				sm.VisitsSecond++
			default:
				plan = append(plan, planned{f, 2, g.day(0, 20, 360)})
				sm.VisitsSecond++
				if o.OutOfYear {
					visit(sid, fmt.Sprintf("fam%03d", f+1), fams[f], g.day(-1, 200, 360), 1, pair(), 60, StatusCompleted)
					want.IgnoredVisits++
				}
			}
			if r.IntN(6) == 0 {
				cancel(sid, fmt.Sprintf("fam%03d", f+1), fams[f])
			}
		}
		sm.Visits = len(plan)

		// The educators visiting here, each on at least one visit, in pairs (now and then
		// three).
		vis := slices.Clone(trained)
		r.Shuffle(len(vis), func(i, j int) { vis[i], vis[j] = vis[j], vis[i] })
		vis = vis[:min(2+r.IntN(5), len(vis), 2*len(plan))]
		sm.EducatorsVisiting = len(vis)
		n := len(vis)
		for k, p := range plan {
			eds := []string{vis[2*k%n], vis[(2*k+1)%n]}
			if n >= 3 && r.IntN(10) == 0 {
				eds = append(eds, vis[(2*k+2)%n])
			}
			m := 30 + r.IntN(61)
			for _, e := range eds {
				minutes[e] += m
				visiting[e] = true
			}
			visit(sid, fmt.Sprintf("fam%03d", p.fam+1), fams[p.fam], p.date, p.number, eds, m, StatusCompleted)
		}

		// Families of this school who were not visited: cancelled visits only.
		for k := range r.IntN(3) {
			cancel(sid, fmt.Sprintf("fam%03d", 900+k), []string{student()})
		}
		if o.OutOfYear && r.IntN(3) == 0 {
			visit(sid, fmt.Sprintf("fam%03d", 800), []string{student()}, g.day(1, 0, 300), 1, pair(), 50, StatusCompleted)
			want.IgnoredVisits++
		}

		// The school's students: at exactly 10 %, just under, above, or well under.
		switch r.IntN(4) {
		case 0:
			sm.Students = 10 * reached
		case 1:
			sm.Students = 10*reached + 1
		case 2:
			sm.Students = reached + r.IntN(9*reached+1)
		default:
			sm.Students = 10*reached + 2 + r.IntN(20*reached+1)
		}
		sm.Share = float64(reached) / float64(sm.Students)
		sm.AtThreshold = 10*reached >= sm.Students
		in.Schools = append(in.Schools, School{ID: sid, Name: name, Students: sm.Students})
		for _, f := range fams {
			earlier = append(earlier, f...)
		}

		want.PerSite = append(want.PerSite, sm)
		want.Sites++
		want.Visits += sm.Visits
		want.VisitsFirst += sm.VisitsFirst
		want.VisitsSecond += sm.VisitsSecond
		want.FamiliesVisited += sm.FamiliesVisited
		want.StudentsReached += sm.StudentsReached
		want.Students += sm.Students
		if sm.AtThreshold {
			want.SchoolsAtThreshold++
		}
	}
	slices.SortFunc(want.PerSite, func(a, b SiteMetrics) int { return cmp.Compare(a.School, b.School) })
	want.EducatorsVisiting = len(visiting)
	for e, m := range minutes {
		want.HoursPerEducator[e] = float64(m) / 60
	}

	for i := range visits {
		visits[i].ID = fmt.Sprintf("%s-v%05d", id, i+1)
	}
	r.Shuffle(len(visits), func(i, j int) { visits[i], visits[j] = visits[j], visits[i] })
	r.Shuffle(len(in.Schools), func(i, j int) { in.Schools[i], in.Schools[j] = in.Schools[j], in.Schools[i] })
	in.Visits = visits
	return in, want
}

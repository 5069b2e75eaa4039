package cohort

import (
	"errors"
	"fmt"
	"slices"
)

// Educator is an educator who may visit: the caller passes only educators who opted in for
// the year and are trained.
type Educator struct {
	ID       string
	Sections []string // class sourcedIds the educator teaches
}

// Pair assigns the cohort's families to pairs of educators, in place. Educators are never
// assigned alone:
//
//   - With fewer than two distinct educators the cohort gets StatusNeedsEducators, a Reason,
//     and no member has a pair.
//   - Otherwise the educators, shuffled by a generator seeded with the cohort's seed, are
//     paired in turn: (1st, 2nd), (3rd, 4th), …; with an odd count the last one is kept in
//     Reserve.
//   - Loads are even: every pair gets ⌊F/P⌋ or ⌈F/P⌉ families (F families, P pairs), so
//     max − min ≤ 1. Among the assignments with those loads Pair takes one that gives the
//     most families a pair including a teacher of one of their children (educator sections
//     ∩ the family's sections), found as a maximum flow.
//   - With MaxFamiliesPerPair = C and F > P·C, every pair gets C families and the others
//     stay unpaired, StatusNeedsEducators with a Reason. The families that stay unpaired
//     are the last ones of their strata's orders, interleaved across strata so each grade
//     keeps its share.
//
// families maps family ID to family (for the sections). Pair is deterministic.
func Pair(c *Cohort, families map[string]Family, educators []Educator) error {
	if c == nil {
		return errors.New("pair: no cohort")
	}
	c.Pairs, c.Reserve = nil, nil
	for i := range c.Members {
		c.Members[i].Pair = nil
		c.Members[i].OwnTeacher = false
	}

	// Distinct educators, their sections merged.
	sections := make(map[string]map[string]bool)
	var ids []string
	for _, e := range educators {
		if e.ID == "" {
			return errors.New("pair: an educator has an empty id")
		}
		if sections[e.ID] == nil {
			sections[e.ID] = make(map[string]bool)
			ids = append(ids, e.ID)
		}
		for _, s := range e.Sections {
			sections[e.ID][s] = true
		}
	}
	memberSections := make([][]string, len(c.Members))
	for i, m := range c.Members {
		f, ok := families[m.FamilyID]
		if !ok {
			return fmt.Errorf("pair: family %s of the cohort is not among the families", m.FamilyID)
		}
		memberSections[i] = f.Sections
	}
	if len(ids) < 2 {
		c.Status = StatusNeedsEducators
		c.Reason = fmt.Sprintf("%d eligible educator(s) (opted in and trained) at school %s for %s: "+
			"every home visit is made by two distinct educators, so no family is assigned until at least two are eligible",
			len(ids), c.Request.School, c.Request.Year)
		return nil
	}

	slices.Sort(ids)
	rng := stream(c.Request.Seed, "reach/cohort/pairs", c.Request.School, c.Request.Year)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	p := len(ids) / 2
	for k := range p {
		pr := []string{ids[2*k], ids[2*k+1]}
		slices.Sort(pr)
		c.Pairs = append(c.Pairs, pr)
	}
	if len(ids)%2 == 1 {
		c.Reserve = []string{ids[len(ids)-1]}
	}

	// Which members are paired: all, unless the cap leaves too little capacity.
	members := priority(c.Members)
	total := len(members)
	if capPer := c.Request.MaxFamiliesPerPair; capPer > 0 && total > p*capPer {
		members = members[:p*capPer]
	}
	f := len(members)
	q, rem := f/p, f%p

	teaches := func(pair int, member int) bool {
		for _, e := range c.Pairs[pair] {
			for _, s := range memberSections[member] {
				if sections[e][s] {
					return true
				}
			}
		}
		return false
	}
	assign := balancedAssignment(members, p, q, rem, teaches)
	for k, m := range members {
		c.Members[m].Pair = slices.Clone(c.Pairs[assign[k]])
		c.Members[m].OwnTeacher = teaches(assign[k], m)
	}

	if f < total {
		c.Status = StatusNeedsEducators
		c.Reason = fmt.Sprintf("%d of %d families have no educator pair: %d pairs × at most %d families per pair; "+
			"more eligible educators are needed", total-f, total, p, c.Request.MaxFamiliesPerPair)
		return nil
	}
	c.Status, c.Reason = StatusReady, ""
	return nil
}

// priority returns member indexes interleaved across strata: by relative position
// (2·rank+1)/(2·sampled) within the member's stratum, then stratum, then rank.
func priority(members []Member) []int {
	rank := make([]int, len(members))
	count := make(map[string]int)
	for i, m := range members {
		rank[i] = count[m.Stratum]
		count[m.Stratum]++
	}
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x := (2*rank[a] + 1) * count[members[b].Stratum]
		y := (2*rank[b] + 1) * count[members[a].Stratum]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
		return CompareGrades(members[a].Stratum, members[b].Stratum)
	})
	return idx
}

// balancedAssignment gives each of the members (in priority order) a pair 0 … p-1 so that
// every pair gets q families and rem pairs one more, maximising the members whose pair
// teaches them. It computes a maximum flow on the "teaches" edges only (source → member
// cap 1 → pair cap 1 → sink cap q, pair → extra cap 1 → sink cap rem), which is the
// largest number of own-teacher assignments any balanced assignment can have, then fills
// the remaining capacity with the other members.
func balancedAssignment(members []int, p, q, rem int, teaches func(pair, member int) bool) []int {
	n := len(members)
	src, firstPair, extra, sink := 0, 1+n, 1+n+p, 2+n+p
	g := newFlow(3 + n + p)
	memberEdge := make([][]int, n) // edge ids member → pair, with the pair index
	memberPair := make([][]int, n)
	for k, m := range members {
		g.add(src, 1+k, 1)
		for pr := range p {
			if teaches(pr, m) {
				memberEdge[k] = append(memberEdge[k], g.add(1+k, firstPair+pr, 1))
				memberPair[k] = append(memberPair[k], pr)
			}
		}
	}
	extraEdge := make([]int, p)
	for pr := range p {
		g.add(firstPair+pr, sink, q)
		extraEdge[pr] = g.add(firstPair+pr, extra, 1)
	}
	g.add(extra, sink, rem)
	g.maxFlow(src, sink)

	assign := make([]int, n)
	load := make([]int, p)
	capacity := make([]int, p)
	extrasLeft := rem
	for pr := range p {
		capacity[pr] = q
		if g.flowOn(extraEdge[pr]) > 0 {
			capacity[pr]++
			extrasLeft--
		}
	}
	var rest []int
	for k := range n {
		assign[k] = -1
		for i, e := range memberEdge[k] {
			if g.flowOn(e) > 0 {
				assign[k] = memberPair[k][i]
				load[assign[k]]++
			}
		}
		if assign[k] < 0 {
			rest = append(rest, k)
		}
	}
	for _, k := range rest {
		best := -1
		for pr := range p {
			if load[pr] < capacity[pr] && (best < 0 || load[pr] < load[best]) {
				best = pr
			}
		}
		if best < 0 { // every pair is at q: open one more extra slot
			for pr := range p {
				if capacity[pr] == q && extrasLeft > 0 {
					capacity[pr]++
					extrasLeft--
					best = pr
					break
				}
			}
		}
		assign[k] = best
		load[best]++
	}
	return assign
}

// flow is a small max-flow network (Edmonds–Karp): enough for a school's cohort.
type flow struct {
	head []int
	to   []int
	cap  []int
	next []int
}

func newFlow(n int) *flow {
	h := make([]int, n)
	for i := range h {
		h[i] = -1
	}
	return &flow{head: h}
}

// add adds an edge and its reverse; it returns the forward edge's id.
func (g *flow) add(u, v, c int) int {
	id := len(g.to)
	g.to = append(g.to, v, u)
	g.cap = append(g.cap, c, 0)
	g.next = append(g.next, g.head[u], g.head[v])
	g.head[u], g.head[v] = id, id+1
	return id
}

// flowOn is the flow on a forward edge: the capacity of its reverse.
func (g *flow) flowOn(e int) int { return g.cap[e^1] }

func (g *flow) maxFlow(s, t int) int {
	total := 0
	prev := make([]int, len(g.head))
	queue := make([]int, 0, len(g.head))
	for {
		for i := range prev {
			prev[i] = -1
		}
		queue = append(queue[:0], s)
		prev[s] = -2
		for i := 0; i < len(queue) && prev[t] == -1; i++ {
			u := queue[i]
			for e := g.head[u]; e >= 0; e = g.next[e] {
				if v := g.to[e]; g.cap[e] > 0 && prev[v] == -1 {
					prev[v] = e
					queue = append(queue, v)
				}
			}
		}
		if prev[t] == -1 {
			return total
		}
		push := int(^uint(0) >> 1)
		for v := t; v != s; v = g.to[prev[v]^1] {
			push = min(push, g.cap[prev[v]])
		}
		for v := t; v != s; v = g.to[prev[v]^1] {
			g.cap[prev[v]] -= push
			g.cap[prev[v]^1] += push
		}
		total += push
	}
}

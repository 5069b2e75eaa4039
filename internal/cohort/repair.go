package cohort

import (
	"fmt"
	"slices"
	"strings"
)

// Carryover is what a refreshed revision keeps of the revision before it: its educator pairs
// and each member's pair. It is an input of the revision, stored with it, so Verify can
// recompute the revision exactly.
type Carryover struct {
	Pairs   [][]string          `json:"pairs"`
	Members map[string][]string `json:"members"` // family ID → its pair
}

// CarryoverOf returns the pairs and member pairs of a paired cohort.
func CarryoverOf(c *Cohort) *Carryover {
	co := &Carryover{Pairs: slices.Clone(c.Pairs), Members: map[string][]string{}}
	for _, m := range c.Members {
		if len(m.Pair) == 2 {
			co.Members[m.FamilyID] = slices.Clone(m.Pair)
		}
	}
	return co
}

// Repair pairs a refreshed cohort (a new Select over the same population and seed) while
// keeping the previous revision's pairing wherever it still holds, in place:
//
//   - Every previous pair whose two educators are both still eligible stays a pair; the other
//     eligible educators (new ones, and partners of an educator who left) are paired in the
//     seeded order Pair uses; with an odd count the last one is the Reserve.
//   - Every member that had a pair that stays keeps it: nobody else moves.
//   - The other members (replacements of declined or departed families, and families whose
//     pair lost an educator) are placed one by one, in the priority order Pair uses, on the
//     least-loaded pair under MaxFamiliesPerPair, preferring one that includes a teacher of
//     their children.
//
// With no previous pairing that still holds it is Pair. Repair is deterministic.
func Repair(c *Cohort, families map[string]Family, educators []Educator, prev *Carryover) error {
	if prev == nil || len(prev.Pairs) == 0 {
		return Pair(c, families, educators)
	}
	sections := map[string]map[string]bool{}
	var ids []string
	for _, e := range educators {
		if e.ID == "" {
			return fmt.Errorf("pair: an educator has an empty id")
		}
		if sections[e.ID] == nil {
			sections[e.ID] = map[string]bool{}
			ids = append(ids, e.ID)
		}
		for _, s := range e.Sections {
			sections[e.ID][s] = true
		}
	}
	// The pairs that stay.
	var kept [][]string
	used := map[string]bool{}
	for _, p := range prev.Pairs {
		if len(p) == 2 && sections[p[0]] != nil && sections[p[1]] != nil && !used[p[0]] && !used[p[1]] {
			kept = append(kept, slices.Clone(p))
			used[p[0]], used[p[1]] = true, true
		}
	}
	if len(kept) == 0 {
		return Pair(c, families, educators)
	}
	keptKey := map[string]int{}
	for i, p := range kept {
		keptKey[strings.Join(p, "+")] = i
	}
	// The other eligible educators, paired in the seeded order.
	var rest []string
	for _, id := range ids {
		if !used[id] {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	rng := stream(c.Request.Seed, "reach/cohort/pairs", c.Request.School, c.Request.Year)
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	c.Pairs, c.Reserve = kept, nil
	for k := 0; k+1 < len(rest); k += 2 {
		pr := []string{rest[k], rest[k+1]}
		slices.Sort(pr)
		c.Pairs = append(c.Pairs, pr)
	}
	if len(rest)%2 == 1 {
		c.Reserve = []string{rest[len(rest)-1]}
	}

	load := make([]int, len(c.Pairs))
	var place []int
	for i := range c.Members {
		m := &c.Members[i]
		m.Pair, m.OwnTeacher = nil, false
		if _, ok := families[m.FamilyID]; !ok {
			return fmt.Errorf("pair: family %s of the cohort is not among the families", m.FamilyID)
		}
		if old, ok := prev.Members[m.FamilyID]; ok {
			if k, ok := keptKey[strings.Join(old, "+")]; ok {
				m.Pair = slices.Clone(kept[k])
				load[k]++
				continue
			}
		}
		place = append(place, i)
	}
	teaches := func(pair int, member int) bool {
		for _, e := range c.Pairs[pair] {
			for _, s := range families[c.Members[member].FamilyID].Sections {
				if sections[e][s] {
					return true
				}
			}
		}
		return false
	}
	for i := range c.Members {
		if len(c.Members[i].Pair) == 2 {
			c.Members[i].OwnTeacher = teaches(slices.IndexFunc(c.Pairs, func(p []string) bool { return slices.Equal(p, c.Members[i].Pair) }), i)
		}
	}
	// Place the others in Pair's priority order (interleaved across strata).
	order := priority(c.Members)
	rank := make(map[int]int, len(order))
	for r, i := range order {
		rank[i] = r
	}
	slices.SortFunc(place, func(a, b int) int { return rank[a] - rank[b] })
	capPer := c.Request.MaxFamiliesPerPair
	unpaired := 0
	for _, i := range place {
		best := -1
		for k := range c.Pairs {
			if capPer > 0 && load[k] >= capPer {
				continue
			}
			if best < 0 || load[k] < load[best] || (load[k] == load[best] && teaches(k, i) && !teaches(best, i)) {
				best = k
			}
		}
		if best < 0 {
			unpaired++
			continue
		}
		c.Members[i].Pair = slices.Clone(c.Pairs[best])
		c.Members[i].OwnTeacher = teaches(best, i)
		load[best]++
	}
	if unpaired > 0 {
		c.Status = StatusNeedsEducators
		c.Reason = fmt.Sprintf("%d of %d families have no educator pair: %d pairs × at most %d families per pair; "+
			"more eligible educators are needed", unpaired, len(c.Members), len(c.Pairs), capPer)
		return nil
	}
	c.Status, c.Reason = StatusReady, ""
	return nil
}

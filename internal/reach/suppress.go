package reach

import (
	"container/heap"
	"math"
)

// The six protected counts, in the order of the published rows' fields.
const (
	mVisits = iota
	mFirst
	mSecond
	mFamilies
	mReached
	mStudents
	nCounts
)

var countNames = [nCounts]string{"visits", "visitsFirst", "visitsSecond", "familiesVisited", "studentsReached", "students"}

// gridRow is a state, district or site row: its protected counts and which of them are
// suppressed.
type gridRow struct {
	id     string // state code, district id, or school id: the tie-breaker among siblings
	label  string // for messages: "state S", "district X" or "site X/Y"
	value  [nCounts]int
	supp   [nCounts]bool
	exempt bool // the primary rule does not apply (see Publish)
	fixed  bool // never suppressed: the row of a state without districts with data (all zeros by construction), and the nation's unless a single state has sites
}

type gridDistrict struct {
	gridRow
	sites []gridRow
}

type gridState struct {
	gridRow
	districts []gridDistrict
}

// tree is one sum: the parent (the nation's, a state's or a district's cell) is the sum
// of the children's cells.
type tree struct {
	count    int // which of the six counts
	parent   int32
	children []int32
}

// grid holds the protected counts of the nation and the sums they obey, as a graph: every
// sum (equation) is a node and every cell an edge between the two equations it takes part
// in. Each cell takes part in exactly two equations once the implied ones are dropped:
//
//   - the nation's cell joins the nation's sum (national = Σ states) to the ground node;
//     a state's cell joins its own sum (state = Σ districts) to the nation's; a district's
//     cell joins its own sum (district = Σ sites) to its state's.
//   - visits, visitsFirst, visitsSecond: a site's cell joins its district's sum to the
//     site's row equation (visits = visitsFirst + visitsSecond). A district's, a state's or
//     the nation's row equation is implied by its sites' and the sums, so it is left out.
//   - familiesVisited, studentsReached, students: a site's cell joins its district's sum
//     to the ground node.
//
// The ground is the one node whose equation is not written down: it stands for the
// implied equation (minus the sum of all the others), so that every cell has two ends.
// With the published cells moved to the right-hand side, the system's matrix is the
// incidence matrix of the graph of suppressed cells without the ground's row, so a
// suppressed cell is determined by the published figures exactly when it is a bridge of
// that graph: suppression must leave every suppressed cell on a cycle of suppressed cells.
// A published national total is a known right-hand side like any published cell; a
// suppressed one (a nation of a single state with sites) an unknown like any other.
type grid struct {
	rows  []gridRow
	value []int      // per cell (row*nCounts + count)
	supp  []bool     // per cell
	ends  [][2]int32 // per cell: its two nodes
	adj   [][]int32  // per node: its cells
	trees []tree     // the nation's six first, then the states' and districts'
}

// groundNode is the node whose equation is implied; the nation's six sums follow it.
const groundNode = 0

// newGrid builds the grid of the nation's row (row 0) and the states' rows, in order: each
// state's row, then each of its districts' rows, each followed by its sites' rows.
func newGrid(nation gridRow, states []gridState) *grid {
	g := &grid{}
	nodes := int32(1 + nCounts) // the ground, and the nation's six sums
	var trees []tree
	add := func(r gridRow) int32 {
		g.rows = append(g.rows, r)
		for m := range nCounts {
			g.value = append(g.value, r.value[m])
			g.supp = append(g.supp, r.supp[m])
			g.ends = append(g.ends, [2]int32{})
		}
		return int32(len(g.rows) - 1)
	}
	add(nation)
	for m := range nCounts {
		g.ends[m] = [2]int32{1 + int32(m), groundNode}
		trees = append(trees, tree{count: m, parent: int32(m)})
	}
	for _, st := range states {
		str := add(st.gridRow)
		sn := nodes
		nodes += nCounts
		stFirst := len(trees)
		for m := range nCounts {
			c := str*nCounts + int32(m)
			g.ends[c] = [2]int32{sn + int32(m), 1 + int32(m)}
			trees[m].children = append(trees[m].children, c)
			trees = append(trees, tree{count: m, parent: c})
		}
		for _, d := range st.districts {
			dr := add(d.gridRow)
			dn := nodes
			nodes += nCounts
			first := len(trees)
			for m := range nCounts {
				c := dr*nCounts + int32(m)
				g.ends[c] = [2]int32{dn + int32(m), sn + int32(m)}
				trees[stFirst+m].children = append(trees[stFirst+m].children, c)
				trees = append(trees, tree{count: m, parent: c})
			}
			for _, s := range d.sites {
				sr := add(s)
				rn := nodes
				nodes++
				for m := range nCounts {
					c := sr*nCounts + int32(m)
					if m <= mSecond {
						g.ends[c] = [2]int32{rn, dn + int32(m)}
					} else {
						g.ends[c] = [2]int32{dn + int32(m), groundNode}
					}
					trees[first+m].children = append(trees[first+m].children, c)
				}
			}
		}
	}
	g.trees = trees
	g.adj = make([][]int32, nodes)
	for c, e := range g.ends {
		g.adj[e[0]] = append(g.adj[e[0]], int32(c))
		g.adj[e[1]] = append(g.adj[e[1]], int32(c))
	}
	return g
}

func (g *grid) other(c, n int32) int32 {
	if e := g.ends[c]; e[0] != n {
		return e[0]
	}
	return g.ends[c][1]
}

// less orders sibling cells: smaller value first, then smaller row id.
func (g *grid) less(a, b int32) bool {
	if g.value[a] != g.value[b] {
		return g.value[a] < g.value[b]
	}
	return g.rows[a/nCounts].id < g.rows[b/nCounts].id
}

// suppress applies the primary rule and then rules (a), (b) and (c) of the package
// documentation until nothing changes.
func (g *grid) suppress() {
	for c, v := range g.value {
		if v < MinCell && !g.rows[c/nCounts].exempt {
			g.supp[c] = true
		}
	}
	inherent := g.bridges(true)
	for {
		changed := g.ruleNation()
		if g.ruleRows() {
			changed = true
		}
		if g.ruleTrees() {
			changed = true
		}
		if changed {
			continue
		}
		fixed := false
		for c, b := range g.bridges(false) {
			if b && !inherent[c] && g.closeLoop(int32(c)) {
				fixed = true
				break
			}
		}
		if !fixed {
			return
		}
	}
}

// ruleNation: when the nation's row may be suppressed at all (a single state has sites,
// so the national totals are that state's), a national count is suppressed wherever a
// state's is.
func (g *grid) ruleNation() bool {
	if g.rows[0].fixed {
		return false
	}
	changed := false
	for _, t := range g.trees[:nCounts] {
		if g.supp[t.parent] {
			continue
		}
		for _, c := range t.children {
			if g.supp[c] {
				g.supp[t.parent] = true
				changed = true
				break
			}
		}
	}
	return changed
}

// ruleRows is rule (a): if any of visits, visitsFirst, visitsSecond of a row is
// suppressed, visitsFirst and visitsSecond both are.
func (g *grid) ruleRows() bool {
	changed := false
	for r := range g.rows {
		b := r * nCounts
		if g.supp[b+mVisits] || g.supp[b+mFirst] || g.supp[b+mSecond] {
			for _, c := range [2]int{b + mFirst, b + mSecond} {
				if !g.supp[c] {
					g.supp[c] = true
					changed = true
				}
			}
		}
	}
	return changed
}

// ruleTrees is rule (b): a sum with exactly one suppressed cell gets its smallest
// published child suppressed too.
func (g *grid) ruleTrees() bool {
	changed := false
	for _, t := range g.trees {
		n := 0
		if g.supp[t.parent] {
			n++
		}
		best := int32(-1)
		for _, c := range t.children {
			if g.supp[c] {
				n++
			} else if !g.rows[c/nCounts].fixed && (best < 0 || g.less(c, best)) {
				best = c
			}
		}
		if n == 1 && best >= 0 {
			g.supp[best] = true
			changed = true
		}
	}
	return changed
}

// bridges marks the cells that are bridges of the graph of suppressed cells (all cells,
// when all is set): the cells the other cells' values and the sums determine.
func (g *grid) bridges(all bool) []bool {
	n := len(g.adj)
	disc := make([]int32, n)
	low := make([]int32, n)
	out := make([]bool, len(g.value))
	type frame struct {
		node, via int32
		next      int
	}
	var stack []frame
	var t int32
	for s := range n {
		if disc[s] != 0 {
			continue
		}
		t++
		disc[s], low[s] = t, t
		stack = append(stack[:0], frame{node: int32(s), via: -1})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			u := f.node
			if f.next < len(g.adj[u]) {
				c := g.adj[u][f.next]
				f.next++
				if c == f.via || !(all || g.supp[c]) {
					continue
				}
				v := g.other(c, u)
				if disc[v] == 0 {
					t++
					disc[v], low[v] = t, t
					stack = append(stack, frame{node: v, via: c})
				} else if disc[v] < low[u] {
					low[u] = disc[v]
				}
				continue
			}
			via := f.via
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				p := stack[len(stack)-1].node
				low[p] = min(low[p], low[u])
				if low[u] > disc[p] {
					out[via] = true
				}
			}
		}
	}
	return out
}

// closeLoop is rule (c): it suppresses the published cells of the cheapest path (least
// total value) that joins the two ends of cell c without c, so that c lies on a cycle of
// suppressed cells. It reports false when there is no such path.
func (g *grid) closeLoop(c int32) bool {
	n := len(g.adj)
	dist := make([]int64, n)
	prev := make([]int32, n)
	for i := range dist {
		dist[i] = math.MaxInt64
	}
	src, dst := g.ends[c][0], g.ends[c][1]
	dist[src] = 0
	h := &nodeHeap{{0, src}}
	for h.Len() > 0 {
		it := heap.Pop(h).(nodeDist)
		if it.d > dist[it.n] {
			continue
		}
		if it.n == dst {
			break
		}
		for _, e := range g.adj[it.n] {
			if e == c || (!g.supp[e] && g.rows[e/nCounts].fixed) {
				continue
			}
			var w int64
			if !g.supp[e] {
				w = int64(max(g.value[e], 0)) + 1
			}
			v := g.other(e, it.n)
			if nd := it.d + w; nd < dist[v] {
				dist[v], prev[v] = nd, e
				heap.Push(h, nodeDist{nd, v})
			}
		}
	}
	if dist[dst] == math.MaxInt64 {
		return false
	}
	for v := dst; v != src; {
		e := prev[v]
		g.supp[e] = true
		v = g.other(e, v)
	}
	return true
}

type nodeDist struct {
	d int64
	n int32
}

type nodeHeap []nodeDist

func (h nodeHeap) Len() int { return len(h) }
func (h nodeHeap) Less(i, j int) bool {
	if h[i].d != h[j].d {
		return h[i].d < h[j].d
	}
	return h[i].n < h[j].n
}
func (h nodeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)   { *h = append(*h, x.(nodeDist)) }
func (h *nodeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

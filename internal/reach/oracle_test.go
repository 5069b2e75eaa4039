package reach

import (
	"cmp"
	"slices"
)

// The oracle decides, independently of the grid in suppress.go, which suppressed counts of
// a publication can be worked out exactly from what is published: it writes down every
// sum the published figures obey (including the redundant ones) and eliminates over the
// integers modulo a prime. A suppressed count x is determined exactly when the unit vector
// of x lies in the row space of the equations restricted to the suppressed counts, that is
// when the reduced row echelon form has a row whose only non-zero entry is x's.

const oracleP = 2147483647 // 2^31 − 1, prime: products of two residues fit in a uint64

type oracleCell struct {
	label string // "national: visits", "state S: visits", "district D: visits" or "site D/S: visits", as Exposed writes them
	row   int
	count int
}

// oracleNation is a publication's national, state, district and site rows: rows[i] has
// parent -1 (the nation) or the index of the nation's, its state's or its district's row;
// sum marks the rows that are the sum of their children (the nation, states and
// districts). A published national total is a known figure like any other; a suppressed
// one an unknown.
type oracleNation struct {
	labels []string
	parent []int
	sum    []bool
	supp   [][nCounts]bool
}

func (on *oracleNation) add(label string, parent int, sum bool, counts [nCounts]*Count) int {
	on.labels = append(on.labels, label)
	on.parent = append(on.parent, parent)
	on.sum = append(on.sum, sum)
	var s [nCounts]bool
	for m, c := range counts {
		s[m] = c.IsSuppressed()
	}
	on.supp = append(on.supp, s)
	return len(on.labels) - 1
}

func oracleRows(p Published) oracleNation {
	var on oracleNation
	rowOf := map[string]int{}
	nation := on.add("national", -1, true, p.National.counts())
	for i := range p.States {
		rowOf["state "+p.States[i].State] = on.add("state "+p.States[i].State, nation, true, p.States[i].counts())
	}
	ds := slices.Clone(p.Districts)
	slices.SortFunc(ds, func(a, b DistrictRow) int { return cmp.Compare(a.District, b.District) })
	for _, d := range ds {
		rowOf[d.District] = on.add("district "+d.District, rowOf["state "+d.State], true, d.counts())
	}
	for _, site := range p.Sites {
		on.add("site "+site.District+"/"+site.School, rowOf[site.District], false, site.counts())
	}
	return on
}

// determined returns the labels of the cells among unknown that the equations determine.
func (st oracleNation) determined(unknown func(row, count int) bool) []string {
	col := map[[2]int]int{}
	var cells []oracleCell
	for r := range st.labels {
		for m := range nCounts {
			if unknown(r, m) {
				col[[2]int{r, m}] = len(cells)
				cells = append(cells, oracleCell{label: st.labels[r] + ": " + countNames[m], row: r, count: m})
			}
		}
	}
	n := len(cells)
	if n == 0 {
		return nil
	}
	var eqs [][]uint64
	neg := uint64(oracleP - 1)
	term := func(eq []uint64, r, m int, coef uint64) {
		if c, ok := col[[2]int{r, m}]; ok {
			eq[c] = (eq[c] + coef) % oracleP
		}
	}
	// Every row: visits − visitsFirst − visitsSecond = 0.
	for r := range st.labels {
		eq := make([]uint64, n)
		term(eq, r, mVisits, 1)
		term(eq, r, mFirst, neg)
		term(eq, r, mSecond, neg)
		eqs = append(eqs, eq)
	}
	for m := range nCounts {
		// The nation, every state and district: the row − Σ its children = 0.
		for d := range st.parent {
			if !st.sum[d] {
				continue
			}
			eq := make([]uint64, n)
			term(eq, d, m, 1)
			for r, p := range st.parent {
				if p == d {
					term(eq, r, m, neg)
				}
			}
			eqs = append(eqs, eq)
		}
	}

	// Reduced row echelon form over GF(p).
	rank := 0
	for c := 0; c < n && rank < len(eqs); c++ {
		piv := -1
		for i := rank; i < len(eqs); i++ {
			if eqs[i][c] != 0 {
				piv = i
				break
			}
		}
		if piv < 0 {
			continue
		}
		eqs[rank], eqs[piv] = eqs[piv], eqs[rank]
		inv := powMod(eqs[rank][c], oracleP-2)
		for k := range eqs[rank] {
			eqs[rank][k] = eqs[rank][k] * inv % oracleP
		}
		for i := range eqs {
			if i == rank || eqs[i][c] == 0 {
				continue
			}
			f := eqs[i][c]
			for k := c; k < n; k++ {
				if eqs[rank][k] != 0 {
					eqs[i][k] = (eqs[i][k] + (oracleP-f)*eqs[rank][k]) % oracleP
				}
			}
		}
		rank++
	}
	var out []string
	for _, eq := range eqs[:rank] {
		nz, at := 0, -1
		for k, v := range eq {
			if v != 0 {
				nz, at = nz+1, k
			}
		}
		if nz == 1 {
			out = append(out, cells[at].label)
		}
	}
	slices.Sort(out)
	return out
}

func powMod(a, e uint64) uint64 {
	r := uint64(1)
	a %= oracleP
	for e > 0 {
		if e&1 == 1 {
			r = r * a % oracleP
		}
		a = a * a % oracleP
		e >>= 1
	}
	return r
}

// oracle returns the suppressed cells that the publication discloses.
func oracle(p Published) []string {
	st := oracleRows(p)
	return st.determined(func(r, m int) bool { return st.supp[r][m] })
}

package cohort

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
)

// Consent is a family's answer for the school year.
type Consent string

// The consent values. A family nobody has asked yet is ConsentUnknown; a missing entry in
// the consent map means the same.
const (
	ConsentUnknown  Consent = "unknown"
	ConsentAccepted Consent = "accepted"
	ConsentDeclined Consent = "declined"
)

// The cohort statuses.
const (
	StatusReady          = "ready"
	StatusNeedsEducators = "needs_educators"
)

// Cohort is the selected families of one school and year, with their educator pairs once
// Pair has run.
type Cohort struct {
	// Request is the request as applied: defaults filled in, seed set.
	Request Request `json:"request"`
	// PopulationHash is the hex SHA-256 of the school's families (see PopulationHash).
	PopulationHash string `json:"population_hash"`
	// Strata are in grade order (CompareGrades); Members by stratum, then Order.
	Strata  []StratumStat `json:"strata"`
	Members []Member      `json:"members"`
	// Pairs are the educator pairs formed by Pair (each two distinct ids, sorted); Reserve
	// is the educator left out when the number of eligible educators is odd.
	Pairs   [][]string `json:"pairs,omitempty"`
	Reserve []string   `json:"reserve,omitempty"`
	// Status is StatusReady or StatusNeedsEducators; Reason says why it is not ready.
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	StudentsCovered int    `json:"students_covered"`
	SchoolStudents  int    `json:"school_students"`
}

// StratumStat describes one grade stratum: its population and what was sampled from it.
type StratumStat struct {
	Grade    string `json:"grade"`
	Families int    `json:"families"` // families whose youngest student is in this grade
	Students int    `json:"students"` // all students of those families
	// Target is the number of students the stratum must cover: ceil(Coverage × Students)
	// in a cross-section, Students in ModeAll.
	Target          int `json:"target"`
	Declined        int `json:"declined"` // families of the stratum that declined
	SampledFamilies int `json:"sampled_families"`
	SampledStudents int `json:"sampled_students"`
}

// Member is one selected family.
type Member struct {
	FamilyID   string   `json:"family_id"`
	StudentIDs []string `json:"student_ids"`
	Stratum    string   `json:"stratum"`
	// Order is the family's position (from 0) in its stratum's random order.
	Order        int  `json:"order"`
	OtherSchools bool `json:"other_schools"`
	// Pair is the two educators (sorted ids) who visit the family; empty until paired.
	Pair []string `json:"pair,omitempty"`
	// OwnTeacher is true when the pair includes a teacher of one of the family's children.
	OwnTeacher bool `json:"own_teacher,omitempty"`
}

// Select chooses the cohort of one school from all its families (BuildFamilies) and the
// families' consent, keyed by family ID. It returns the cohort unpaired, with status
// StatusNeedsEducators; Pair assigns the educator pairs.
//
// Selection uses only the school (the families passed in), grade (the stratum), class
// sections (the homeroom, to spread the order), family links (the family as a unit) and
// consent (declined families are skipped). Nothing else is read.
//
// # Random order
//
// Within each stratum the families are put in a random order that depends only on the
// seed, the school, the year, the stratum and the stratum's families, never on consent, so
// a family that declines later never reshuffles the others. The order is built by
// systematic sampling over the homerooms, extended to a full order:
//
//  1. A PCG generator is seeded with Seed and a SHA-256 of (school, year, stratum). Each
//     family, taken in ID order, draws a random 64-bit key; the list L is sorted by
//     (homeroom, key), so homerooms are contiguous blocks, shuffled inside.
//  2. A random start r is drawn uniformly from 0 … N-1 (N families in the stratum).
//  3. The order visits L at positions (v_j + r) mod N, where v_0, v_1, … is the base-2
//     van der Corput (bit-reversal) sequence over 0 … 2^k-1 with values ≥ N dropped:
//     0, N/2, N/4, 3N/4, … in effect. Every prefix of the order is a systematic sample of
//     L at an almost even spacing, so each homeroom gets its proportional share of the
//     first k families, to within a couple of families, whatever the homeroom sizes.
//
// Equal inclusion probability: family i of L sits at order position j exactly when
// v_j = (i − r) mod N. Because r is uniform on 0 … N-1 and independent of L, (i − r) mod
// N is uniform, so every family is at every position with probability exactly 1/N, in
// every homeroom, large or small. The first k positions therefore include each family
// with probability k/N. A cross-section stops at a student count, not a family count, so
// the number of families k varies a little with family sizes; that can only favour a
// family by the chance that its own size ends the walk sooner for others, O(size/students
// in the stratum), well inside the tolerance the fairness tests check.
//
// # Which families
//
// ModeAll: every family that has not declined. ModeCrossSection: per stratum, the target
// is ceil(Coverage × students of the stratum); the stratum's order is walked, skipping
// declined families, adding families until the covered students reach the target or the
// order ends. Summed over strata the cohort covers at least Coverage of the school's
// students whenever enough families have not declined. When a selected family declines
// and Select runs again with the same seed, every other selected family stays and the
// next families of the same stratum in the order replace it.
func Select(req Request, families []Family, consent map[string]Consent) (*Cohort, error) {
	req = req.WithDefaults()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Seed == 0 {
		return nil, errors.New("cohort request: seed is 0; pick one with NewSeed and store it with the cohort")
	}
	for id, c := range consent {
		switch c {
		case ConsentUnknown, ConsentAccepted, ConsentDeclined, "":
		default:
			return nil, fmt.Errorf("consent of family %s: unknown value %q", id, c)
		}
	}
	if err := checkPopulation(families); err != nil {
		return nil, err
	}

	byStratum := make(map[string][]*Family)
	for i := range families {
		f := &families[i]
		byStratum[f.Stratum] = append(byStratum[f.Stratum], f)
	}
	strata := make([]string, 0, len(byStratum))
	for s := range byStratum {
		strata = append(strata, s)
	}
	slices.SortFunc(strata, CompareGrades)

	c := &Cohort{
		Request:        req,
		PopulationHash: PopulationHash(families),
		Status:         StatusNeedsEducators,
		Reason:         "educators not paired yet",
	}
	for _, s := range strata {
		order := stratumOrder(req, s, byStratum[s])
		st := StratumStat{Grade: s, Families: len(order)}
		for _, f := range order {
			st.Students += len(f.Students)
			if consent[f.ID] == ConsentDeclined {
				st.Declined++
			}
		}
		st.Target = st.Students
		if req.Mode == ModeCrossSection {
			// The small epsilon keeps binary rounding (0.07 × 100 = 7.000000000000001)
			// from adding a student.
			st.Target = min(st.Students, int(math.Ceil(req.Coverage*float64(st.Students)-1e-9)))
		}
		for pos, f := range order {
			if req.Mode == ModeCrossSection && st.SampledStudents >= st.Target {
				break
			}
			if consent[f.ID] == ConsentDeclined {
				continue
			}
			st.SampledFamilies++
			st.SampledStudents += len(f.Students)
			c.Members = append(c.Members, Member{
				FamilyID:     f.ID,
				StudentIDs:   slices.Clone(f.Students),
				Stratum:      s,
				Order:        pos,
				OtherSchools: f.OtherSchools,
			})
		}
		c.Strata = append(c.Strata, st)
		c.SchoolStudents += st.Students
		c.StudentsCovered += st.SampledStudents
	}
	return c, nil
}

// checkPopulation refuses families that repeat a family id or a student.
func checkPopulation(families []Family) error {
	ids := make(map[string]bool, len(families))
	students := make(map[string]string, len(families))
	for _, f := range families {
		if ids[f.ID] {
			return fmt.Errorf("family %s appears twice", f.ID)
		}
		ids[f.ID] = true
		if len(f.Students) == 0 {
			return fmt.Errorf("family %s has no student", f.ID)
		}
		for _, s := range f.Students {
			if other, ok := students[s]; ok {
				return fmt.Errorf("student %s is in families %s and %s", s, other, f.ID)
			}
			students[s] = f.ID
		}
	}
	return nil
}

// PopulationHash is the hex SHA-256 of the sorted lines "familyID:stratum:studentIDs"
// (student ids sorted, joined by commas), one per family, each ending in a newline. It
// changes whenever a family, a student or a stratum of the school changes.
func PopulationHash(families []Family) string {
	lines := make([]string, len(families))
	for i, f := range families {
		st := slices.Clone(f.Students)
		slices.Sort(st)
		lines[i] = f.ID + ":" + f.Stratum + ":" + strings.Join(st, ",")
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stream returns a PCG generator seeded with seed and a hash of the labelled parts.
func stream(seed uint64, parts ...string) *rand.Rand {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(seed, binary.LittleEndian.Uint64(sum[:8])))
}

// stratumOrder returns the families of one stratum in their random order (see Select).
func stratumOrder(req Request, stratum string, fams []*Family) []*Family {
	n := len(fams)
	type keyed struct {
		f   *Family
		key uint64
	}
	l := make([]keyed, n)
	for i, f := range fams {
		l[i].f = f
	}
	slices.SortFunc(l, func(a, b keyed) int { return strings.Compare(a.f.ID, b.f.ID) })
	rng := stream(req.Seed, "reach/cohort/order", req.School, req.Year, stratum)
	for i := range l {
		l[i].key = rng.Uint64()
	}
	slices.SortFunc(l, func(a, b keyed) int {
		if c := strings.Compare(a.f.Homeroom, b.f.Homeroom); c != 0 {
			return c
		}
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return strings.Compare(a.f.ID, b.f.ID)
	})
	sorted := make([]*Family, n)
	for i := range l {
		sorted[i] = l[i].f
	}
	return systematicOrder(sorted, rng.IntN(n))
}

// systematicOrder visits l at positions (v_j + start) mod n, v being the bit-reversal
// (base-2 van der Corput) sequence over 0 … 2^k−1, 2^k ≥ n, with values ≥ n dropped.
func systematicOrder[T any](l []T, start int) []T {
	n := len(l)
	order := make([]T, 0, n)
	k := bits.Len(uint(n - 1)) // 2^k ≥ n
	for j := range uint(1) << k {
		v := 0
		if k > 0 {
			v = int(bits.Reverse(j) >> (bits.UintSize - k))
		}
		if v < n {
			order = append(order, l[(v+start)%n])
		}
	}
	return order
}

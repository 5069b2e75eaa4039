package cohort

import (
	"math"
	"testing"
)

// TestFairnessOverSeeds draws the cohort of a 600-student school (grades KG–05 of 130 to
// 75 students, homerooms of 15 to 50) with 2,000 seeds and checks that the cross-section is
// fair:
//
//  1. Grade shares, exactly, from the ceil rule. A stratum of n students has target
//     T = ceil(0.10·n) and the walk stops at the first family that reaches it, so the
//     sampled students S are in [T, T+m−1] (m = the stratum's largest family). Hence the
//     stratum's share of the cohort S/ΣS lies in [T/(T+Σ_o(T_o+m_o−1)), (T+m−1)/(T+m−1+Σ_o T_o)]
//     for every seed; the test asserts it and reports the largest gap to the stratum's
//     share of the school. The stratum is the youngest child's grade (siblings counted once).
//     It also reports a per-seed chi-square of the stratum counts against the school's
//     shares, bounded by the df=5, p=0.001 critical value 20.515.
//  2. Every family's inclusion frequency over the seeds is within 4.5 binomial standard
//     errors sqrt(p̄(1−p̄)/2000) of its stratum's mean rate p̄. Seeds give independent
//     draws, so each frequency is Binomial(2000, p_i)/2000; 4.5 SE is a Bonferroni bound
//     over the 542 families at a family-wise false-alarm rate below 0.4%.
//  3. Every homeroom's pooled inclusion rate (families × seeds trials) is within 4.5 SE of
//     its stratum's mean, the smallest and the largest homeroom of each grade included.
//  4. Spread: in every seed each homeroom gets its proportional share k·h/N of the k
//     families sampled from its stratum to within 3.75 families. The homerooms are arcs
//     of the rotated list L and the first k positions of the order are the first k terms
//     of the bit-reversal sequence; over every N ≤ 256, k ≤ N/3, start and arc, the count
//     in an arc differs from k·h/N by at most 3.71 (computed exhaustively; the van der
//     Corput sequence's discrepancy grows like log k, no nested order can avoid that).
func TestFairnessOverSeeds(t *testing.T) {
	students, other := fairSchool.build(1)
	fams := BuildFamilies(students, other)
	const seeds = 2000
	const zMax = 4.5
	const chi2Crit = 20.515 // chi-square, 5 degrees of freedom, p = 0.001
	const spreadMax = 3.75

	byStratum := map[string][]Family{}
	maxSize := map[string]int{}
	hrFamilies := map[string]map[string]int{} // stratum → homeroom → families
	famHomeroom := map[string]string{}
	for _, f := range fams {
		byStratum[f.Stratum] = append(byStratum[f.Stratum], f)
		maxSize[f.Stratum] = max(maxSize[f.Stratum], len(f.Students))
		if hrFamilies[f.Stratum] == nil {
			hrFamilies[f.Stratum] = map[string]int{}
		}
		hrFamilies[f.Stratum][f.Homeroom]++
		famHomeroom[f.ID] = f.Homeroom
	}
	t.Logf("%d students, %d families, %d strata", len(students), len(fams), len(byStratum))

	included := map[string]int{}
	var maxShareGap, boundShareGap, maxChi2, maxSpread float64
	for seed := uint64(1); seed <= seeds; seed++ {
		c, err := Select(request("sch-fair", seed), fams, nil)
		if err != nil {
			t.Fatal(err)
		}
		if float64(c.StudentsCovered) < 0.10*float64(c.SchoolStudents) {
			t.Fatalf("seed %d: covers %d of %d students, under 10%%", seed, c.StudentsCovered, c.SchoolStudents)
		}
		sumT, sumHi := 0, 0
		for _, st := range c.Strata {
			sumT += st.Target
			sumHi += st.Target + maxSize[st.Grade] - 1
		}
		chi2 := 0.0
		for _, st := range c.Strata {
			m := maxSize[st.Grade]
			if st.SampledStudents < st.Target || st.SampledStudents > st.Target+m-1 {
				t.Fatalf("seed %d grade %s: %d sampled students, outside [%d, %d]", seed, st.Grade, st.SampledStudents, st.Target, st.Target+m-1)
			}
			share := float64(st.SampledStudents) / float64(c.StudentsCovered)
			lo := float64(st.Target) / float64(st.Target+(sumHi-(st.Target+m-1))) // T / (T + Σ_o (T_o+m_o−1))
			hi := float64(st.Target+m-1) / float64(st.Target+m-1+(sumT-st.Target))
			if share < lo-1e-12 || share > hi+1e-12 {
				t.Fatalf("seed %d grade %s: share %.4f outside the ceil-rule bounds [%.4f, %.4f]", seed, st.Grade, share, lo, hi)
			}
			pop := float64(st.Students) / float64(c.SchoolStudents)
			maxShareGap = max(maxShareGap, math.Abs(share-pop))
			boundShareGap = max(boundShareGap, math.Abs(lo-pop), math.Abs(hi-pop))
			exp := pop * float64(c.StudentsCovered)
			chi2 += (float64(st.SampledStudents) - exp) * (float64(st.SampledStudents) - exp) / exp
		}
		maxChi2 = max(maxChi2, chi2)
		if chi2 > chi2Crit {
			t.Errorf("seed %d: chi-square %.2f of grade shares above %.3f", seed, chi2, chi2Crit)
		}
		hrSampled := map[string]int{}
		stratumSampled := map[string]int{}
		for _, m := range c.Members {
			included[m.FamilyID]++
			hrSampled[m.Stratum+"/"+famHomeroom[m.FamilyID]]++
			stratumSampled[m.Stratum]++
		}
		for s, hrs := range hrFamilies {
			n := len(byStratum[s])
			for hr, h := range hrs {
				want := float64(stratumSampled[s]) * float64(h) / float64(n)
				gap := math.Abs(float64(hrSampled[s+"/"+hr]) - want)
				maxSpread = max(maxSpread, gap)
				if gap > spreadMax {
					t.Errorf("seed %d, homeroom %s: %d families sampled, proportional share %.2f", seed, hr, hrSampled[s+"/"+hr], want)
				}
			}
		}
	}

	var maxZ, maxHrZ float64
	bySize := map[int][2]float64{} // family size → sum of (rate − grade mean), families
	for s, fs := range byStratum {
		total := 0
		for _, f := range fs {
			total += included[f.ID]
		}
		mean := float64(total) / float64(len(fs)*seeds)
		se := math.Sqrt(mean * (1 - mean) / seeds)
		for _, f := range fs {
			z := (float64(included[f.ID])/seeds - mean) / se
			maxZ = max(maxZ, math.Abs(z))
			b := bySize[len(f.Students)]
			bySize[len(f.Students)] = [2]float64{b[0] + float64(included[f.ID])/seeds - mean, b[1] + 1}
			if math.Abs(z) > zMax {
				t.Errorf("grade %s family %s (%d students, homeroom %s): included %d of %d seeds, rate %.4f vs grade mean %.4f (z = %.2f)",
					s, f.ID, len(f.Students), f.Homeroom, included[f.ID], seeds, float64(included[f.ID])/seeds, mean, z)
			}
		}
		hrIncluded := map[string]int{}
		for _, f := range fs {
			hrIncluded[f.Homeroom] += included[f.ID]
		}
		for hr, h := range hrFamilies[s] {
			rate := float64(hrIncluded[hr]) / float64(h*seeds)
			z := (rate - mean) / math.Sqrt(mean*(1-mean)/float64(h*seeds))
			maxHrZ = max(maxHrZ, math.Abs(z))
			t.Logf("grade %s homeroom %s: %2d families, inclusion rate %.4f (grade mean %.4f, z = %+.2f)", s, hr, h, rate, mean, z)
			if math.Abs(z) > zMax {
				t.Errorf("grade %s homeroom %s (%d families): rate %.4f vs grade mean %.4f (z = %.2f)", s, hr, h, rate, mean, z)
			}
		}
	}
	t.Logf("largest gap between a grade's cohort share and its school share: %.4f (ceil-rule bound %.4f)", maxShareGap, boundShareGap)
	for size := 1; size <= 3; size++ {
		if b := bySize[size]; b[1] > 0 {
			t.Logf("families of %d student(s): %3.0f families, mean inclusion rate minus grade mean %+.4f", size, b[1], b[0]/b[1])
		}
	}
	t.Logf("largest per-seed chi-square of grade shares: %.3f (bound %.3f)", maxChi2, chi2Crit)
	t.Logf("largest |z| of a family's inclusion rate against its grade mean: %.2f (bound %.1f)", maxZ, zMax)
	t.Logf("largest |z| of a homeroom's inclusion rate: %.2f (bound %.1f)", maxHrZ, zMax)
	t.Logf("largest homeroom deviation from its proportional share in one seed: %.2f families (bound %.2f)", maxSpread, spreadMax)
}

package cohort

import (
	"fmt"
	"math/rand/v2"
)

// schoolSpec describes a synthetic school: per grade, the homeroom sizes.
type schoolSpec struct {
	name      string
	homerooms map[string][]int // grade → homeroom sizes
	grades    []string         // grade order for generation
	siblingP  float64          // chance a student joins an earlier family
	orphanP   float64          // chance a student has no guardian on record
	otherP    float64          // chance a new guardian has children at another school
}

// fairSchool is the fairness test's school: 600 students, grades KG–05 of unequal sizes,
// homerooms of unequal sizes (15 to 50 students).
var fairSchool = schoolSpec{
	name:   "sch-fair",
	grades: []string{"KG", "01", "02", "03", "04", "05"},
	homerooms: map[string][]int{
		"KG": {40, 35, 30, 25}, // 130
		"01": {45, 40, 30},     // 115
		"02": {35, 30, 20, 15}, // 100
		"03": {50, 45},         // 95
		"04": {30, 30, 25},     // 85
		"05": {40, 20, 15},     // 75
	},
	siblingP: 0.12,
	orphanP:  0.03,
	otherP:   0.05,
}

// build makes the students of a school and the guardians' other-school flags,
// deterministically from the generator seed.
func (sp schoolSpec) build(genSeed uint64) ([]Student, map[string]bool) {
	rng := rand.New(rand.NewPCG(genSeed, 0x5eed))
	var students []Student
	for _, g := range sp.grades {
		for h, size := range sp.homerooms[g] {
			hr := fmt.Sprintf("%s-hr-%s-%d", sp.name, g, h)
			for range size {
				id := fmt.Sprintf("%s-stu-%04d", sp.name, len(students))
				students = append(students, Student{
					ID: id, Grade: g, Homeroom: hr,
					Sections: []string{hr, fmt.Sprintf("%s-art-%s", sp.name, g), fmt.Sprintf("%s-pe-%d", sp.name, rng.IntN(4))},
				})
			}
		}
	}
	rng.Shuffle(len(students), func(i, j int) { students[i], students[j] = students[j], students[i] })
	other := make(map[string]bool)
	var families [][]string // guardian sets of families with fewer than 3 children
	nextG := 0
	newGuardian := func() string {
		id := fmt.Sprintf("%s-gdn-%04d", sp.name, nextG)
		nextG++
		if rng.Float64() < sp.otherP {
			other[id] = true
		}
		return id
	}
	kids := map[int]int{}
	for i := range students {
		switch r := rng.Float64(); {
		case r < sp.orphanP:
			// no guardian on record
		case r < sp.orphanP+sp.siblingP && len(families) > 0:
			k := rng.IntN(len(families))
			students[i].Guardians = append([]string(nil), families[k]...)
			kids[k]++
			if kids[k] >= 3 {
				families[k] = families[len(families)-1]
				kids[k] = kids[len(families)-1]
				families = families[:len(families)-1]
			}
		default:
			gs := []string{newGuardian()}
			if rng.Float64() < 0.6 {
				gs = append(gs, newGuardian())
			}
			students[i].Guardians = gs
			kids[len(families)] = 1
			families = append(families, gs)
		}
	}
	return students, other
}

func request(school string, seed uint64) Request {
	return Request{District: "dist-1", School: school, Year: "2025-2026", Seed: seed}
}

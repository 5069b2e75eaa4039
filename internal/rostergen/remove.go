package rostergen

import (
	"math"
	"math/rand/v2"
)

// chooseRemoved marks whole families as removed until round(Remove*Students)
// students are gone. Removing whole families keeps every remaining record
// (including a guardian's list of children) identical to the Remove=0 output.
func (p *population) chooseRemoved(o Options) {
	p.removedFam = make([]bool, len(p.families))
	need := int(math.Round(o.Remove * float64(len(p.students))))
	if need <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(o.Seed, streamRemove))
	for _, f := range rng.Perm(len(p.families)) {
		if need == 0 {
			break
		}
		if n := int(p.families[f].childN); n <= need {
			p.removedFam[f] = true
			need -= n
		}
	}
}

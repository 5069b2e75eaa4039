package csv

import (
	"math/rand/v2"
	"testing"
)

func TestIDTableAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newIDTable(0)
	ref := map[uint64]ent{}
	for i := 0; i < 200_000; i++ {
		// Few distinct keys early on so that overwrites happen; 0 included.
		k := rng.Uint64() % uint64(1+i)
		e := ent{line: uint32(i), state: entState(1 + i%2), flags: uint8(i)}
		if rng.IntN(3) == 0 {
			if got, ok := tab.get(fixKey(k)); ok != (ref[fixKey(k)] != ent{}) || got != ref[fixKey(k)] {
				t.Fatalf("get(%d) = %v,%v want %v", k, got, ok, ref[fixKey(k)])
			}
			continue
		}
		tab.put(k, e)
		ref[fixKey(k)] = e
	}
	if tab.len() != len(ref) {
		t.Fatalf("len %d, want %d", tab.len(), len(ref))
	}
	n := 0
	tab.each(func(ent) { n++ })
	if n != len(ref) {
		t.Fatalf("each visited %d, want %d", n, len(ref))
	}
}

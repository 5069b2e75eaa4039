package csv

import "math/bits"

// idTable maps 64-bit sourcedId hashes to their ent. The keys are already uniformly
// distributed (maphash), so the table uses them directly as positions: open addressing
// with linear probing in one flat slice, one cache line per lookup in the common case.
// A key's first slot is its (mixed) hash scaled to the table's length (the high word of
// a 128-bit product), so the table is sized to its rows rather than to a power of two.
// Key 0 marks an empty slot; a hash of 0 is stored as 1 (a collision as likely as any other).
type idTable struct {
	slots []idSlot
	n     int
}

type idSlot struct {
	key uint64
	e   ent
}

// maxPresize is the most entries a table is made for before any row is read: 2^18 entries
// take 6.5 MiB, so the seven kinds' tables sized from file sizes stay within the memory
// bound's base (README, "Bounded work"); a table grows past it with its entries.
const maxPresize = 1 << 18

// newIDTable makes a table for about hint entries, under 2/3 full until then.
func newIDTable(hint int) *idTable {
	return &idTable{slots: make([]idSlot, max(64, hint*3/2+hint/8))}
}

func fixKey(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns the slot holding key, or the empty slot where key would go.
func (t *idTable) find(key uint64) *idSlot {
	n := uint64(len(t.slots))
	i, _ := bits.Mul64(key*0x9E3779B97F4A7C15, n) // Fibonacci mixing: spread keys that are not hashes too
	for {
		if s := &t.slots[i]; s.key == key || s.key == 0 {
			return s
		}
		if i++; i == n {
			i = 0
		}
	}
}

// get returns the entry stored for h.
func (t *idTable) get(h uint64) (ent, bool) {
	s := t.find(fixKey(h))
	return s.e, s.key != 0
}

// ref returns the entry stored for h, to be changed in place, or nil. It is valid until the
// next put or insert.
func (t *idTable) ref(h uint64) *ent {
	if s := t.find(fixKey(h)); s.key != 0 {
		return &s.e
	}
	return nil
}

// put stores e for h, replacing any entry already there.
func (t *idTable) put(h uint64, e ent) {
	h = fixKey(h)
	t.reserve()
	s := t.find(h)
	if s.key == 0 {
		s.key = h
		t.n++
	}
	s.e = e
}

// insert stores e for h unless h is present; it returns the entry already there, if any.
func (t *idTable) insert(h uint64, e ent) (ent, bool) {
	h = fixKey(h)
	t.reserve()
	s := t.find(h)
	if s.key != 0 {
		return s.e, true
	}
	s.key, s.e = h, e
	t.n++
	return ent{}, false
}

// reserve grows the table by half so that one more entry keeps the load under 75%.
func (t *idTable) reserve() {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
}

func (t *idTable) grow() {
	old := t.slots
	t.slots = make([]idSlot, len(old)*3/2)
	t.n = 0
	for _, s := range old {
		if s.key != 0 {
			t.put(s.key, s.e)
		}
	}
}

// len returns the number of entries.
func (t *idTable) len() int { return t.n }

// each calls fn for every entry, in no particular order.
func (t *idTable) each(fn func(ent)) {
	for _, s := range t.slots {
		if s.key != 0 {
			fn(s.e)
		}
	}
}

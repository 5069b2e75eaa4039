package csv

// idTable maps 64-bit sourcedId hashes to their ent. The keys are already uniformly
// distributed (maphash), so the table uses them directly as positions: open addressing
// with linear probing in one flat slice, one cache line per lookup in the common case.
// Key 0 marks an empty slot; a hash of 0 is stored as 1 (a collision as likely as any other).
type idTable struct {
	slots []idSlot
	n     int
}

type idSlot struct {
	key uint64
	e   ent
}

func newIDTable(hint int) *idTable {
	size := 64
	for size*7/10 < hint {
		size <<= 1
	}
	return &idTable{slots: make([]idSlot, size)}
}

func fixKey(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns the slot holding key, or the empty slot where key would go.
func (t *idTable) find(key uint64) *idSlot {
	mask := uint64(len(t.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		if s := &t.slots[i]; s.key == key || s.key == 0 {
			return s
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

// reserve grows the table so that one more entry keeps the load under 70%.
func (t *idTable) reserve() {
	if (t.n+1)*10 > len(t.slots)*7 {
		t.grow()
	}
}

func (t *idTable) grow() {
	old := t.slots
	t.slots = make([]idSlot, len(old)*2)
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

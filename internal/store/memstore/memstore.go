// Package memstore is the in-memory store for unit tests: one implementation of every store
// role internal/importer, internal/cohortsvc, internal/reachsvc and internal/api declare,
// behaving as the DynamoDB store (internal/store) does, conditional writes included.
// internal/store/storetest holds both to the same contract; where they disagreed, the
// DynamoDB behaviour was taken (ClaimRun on a missing import is a conflict, SetWatermark on an
// unknown district is not found, a lock is free only once its lease has passed, the run
// count ClaimRun raises is not the record GetImport returns, a cohort without a school is
// refused).
//
// Records are kept as JSON or copies, so nothing is shared with the caller. Calls counts
// the calls of each method and Items the items each wrote, for tests of the read and write
// paths.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Store is the in-memory store. The zero value is not ready: use New.
type Store struct {
	// Now is the clock (default time.Now); locks expire by it.
	Now func() time.Time

	mu        sync.Mutex
	districts map[string]pthv.District
	locks     map[string]lock
	records   map[recKey]record
	bySchool  map[string]map[recKey]bool // district#school → records naming the school
	claims    map[string]string
	imports   map[string]map[string]stored // district → id
	trainings map[string]map[string]pthv.TrainingWrite
	optIns    map[string]map[string]pthv.OptIn // district#year → educator → decision
	consent   map[string]map[string]pthv.ConsentEntry
	visits    map[string]map[string]pthv.VisitWrite
	cohorts   map[string]map[string]storedCohort
	members   map[string][]byte // district#cohort#set → JSON of []cohort.MemberItem
	aggs      map[string]map[string][]byte
	calls     map[string]int
	items     map[string]int
	sets      int
}

type lock struct {
	owner string
	until int64 // Unix milliseconds, as the DynamoDB store keeps it
}

type recKey struct {
	district string
	kind     roster.Kind
	id       string
}

type record struct {
	pthv.Current
	data   string
	school string
}

type stored struct {
	j    []byte // the record as JSON
	runs int    // the run count ClaimRun raises; PutImport sets it from the record
}

type storedCohort struct {
	j   []byte
	rev int
}

// New returns an empty store.
func New() *Store {
	return &Store{districts: map[string]pthv.District{}, locks: map[string]lock{}, records: map[recKey]record{}, bySchool: map[string]map[recKey]bool{},
		claims: map[string]string{}, imports: map[string]map[string]stored{}, trainings: map[string]map[string]pthv.TrainingWrite{},
		optIns: map[string]map[string]pthv.OptIn{}, consent: map[string]map[string]pthv.ConsentEntry{}, visits: map[string]map[string]pthv.VisitWrite{},
		cohorts: map[string]map[string]storedCohort{}, members: map[string][]byte{}, aggs: map[string]map[string][]byte{},
		calls: map[string]int{}, items: map[string]int{}}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// enter locks the store and counts a call of method.
func (s *Store) enter(method string) {
	s.mu.Lock()
	s.calls[method]++
}

// Calls returns how many times method was called.
func (s *Store) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Items returns how many items method wrote, over all its calls.
func (s *Store) Items(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[method]
}

// ResetCounts forgets the calls and items counted so far.
func (s *Store) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	clear(s.items)
}

func inner[K comparable, V any](m map[string]map[K]V, k string) map[K]V {
	if m[k] == nil {
		m[k] = map[K]V{}
	}
	return m[k]
}

// District returns a registered district, or pthv.ErrNotFound.
func (s *Store) District(_ context.Context, id string) (*pthv.District, error) {
	s.enter("District")
	defer s.mu.Unlock()
	d, ok := s.districts[id]
	if !ok {
		return nil, fmt.Errorf("district %s: %w", id, pthv.ErrNotFound)
	}
	return &d, nil
}

// PutDistrict registers a district, or updates its name, state and hold share; the
// watermark, creation time and roster bookkeeping (snapshot, dirty flag) are kept, and a new
// district is registered as known empty (pthv.EmptySnapshot).
func (s *Store) PutDistrict(_ context.Context, d pthv.District) error {
	s.enter("PutDistrict")
	defer s.mu.Unlock()
	if old, ok := s.districts[d.ID]; ok {
		d.Watermark, d.Created, d.Snapshot, d.Dirty = old.Watermark, old.Created, old.Snapshot, old.Dirty
	} else {
		d.Snapshot, d.Dirty = pthv.EmptySnapshot, false
	}
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = pthv.DefaultHoldShare
	}
	s.districts[d.ID] = d
	return nil
}

// CreateDistrict registers a new district; pthv.ErrConflict when the id is registered
// already with other settings, and the existing district is left as it is. The same
// registration again succeeds and changes nothing.
func (s *Store) CreateDistrict(_ context.Context, d pthv.District) error {
	s.enter("CreateDistrict")
	defer s.mu.Unlock()
	if old, ok := s.districts[d.ID]; ok {
		if old.SameRegistration(d) {
			return nil
		}
		return fmt.Errorf("district %s is registered already: %w", d.ID, pthv.ErrConflict)
	}
	d.Snapshot, d.Dirty = pthv.EmptySnapshot, false
	if d.Created.IsZero() {
		d.Created = s.now()
	}
	if d.HoldShare <= 0 {
		d.HoldShare = pthv.DefaultHoldShare
	}
	s.districts[d.ID] = d
	return nil
}

// ListDistricts returns every registered district, by id.
func (s *Store) ListDistricts(context.Context) ([]pthv.District, error) {
	s.enter("ListDistricts")
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.districts))
	slices.SortFunc(out, func(a, b pthv.District) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *Store) updateDistrict(id string, f func(*pthv.District)) error {
	d, ok := s.districts[id]
	if !ok {
		return fmt.Errorf("district %s: %w", id, pthv.ErrNotFound)
	}
	f(&d)
	s.districts[id] = d
	return nil
}

// SetWatermark raises the district's watermark (never lowers it).
func (s *Store) SetWatermark(_ context.Context, id string, t time.Time) error {
	s.enter("SetWatermark")
	defer s.mu.Unlock()
	return s.updateDistrict(id, func(d *pthv.District) {
		if t.After(d.Watermark) {
			d.Watermark = t
		}
	})
}

// SetSnapshot records the district's roster snapshot key and dirty flag.
func (s *Store) SetSnapshot(_ context.Context, id, key string, dirty bool) error {
	s.enter("SetSnapshot")
	defer s.mu.Unlock()
	return s.updateDistrict(id, func(d *pthv.District) { d.Snapshot, d.Dirty = key, dirty })
}

// Lock takes the district's lock for owner: when it is free, its lease has passed, or owner
// holds it already; pthv.ErrConflict otherwise.
func (s *Store) Lock(_ context.Context, district, owner string, lease time.Duration) error {
	s.enter("Lock")
	defer s.mu.Unlock()
	now := s.now()
	if l, ok := s.locks[district]; ok && !(l.until < now.UnixMilli() || l.owner == owner) {
		return fmt.Errorf("district %s is locked: %w", district, pthv.ErrConflict)
	}
	s.locks[district] = lock{owner: owner, until: now.Add(lease).UnixMilli()}
	return nil
}

// Unlock releases the lock if owner holds it.
func (s *Store) Unlock(_ context.Context, district, owner string) error {
	s.enter("Unlock")
	defer s.mu.Unlock()
	if s.locks[district].owner == owner {
		delete(s.locks, district)
	}
	return nil
}

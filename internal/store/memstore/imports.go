package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// LoadState reads the district's current roster.
func (s *Store) LoadState(_ context.Context, district string) (pthv.State, error) {
	s.enter("LoadState")
	defer s.mu.Unlock()
	st := pthv.State{}
	for _, k := range roster.Kinds {
		st[k] = map[string]pthv.Current{}
	}
	for k, r := range s.records {
		if k.district == district {
			if st[k.kind] == nil {
				st[k.kind] = map[string]pthv.Current{}
			}
			st[k.kind][k.id] = r.Current
		}
	}
	return st, nil
}

// Apply writes ops: a put replaces the record (and its school), a deactivation clears the
// active flag of a record that exists and does nothing to one that does not.
func (s *Store) Apply(_ context.Context, district, _ string, ops []pthv.Op) (pthv.WriteStats, error) {
	s.enter("Apply")
	defer s.mu.Unlock()
	var ws pthv.WriteStats
	for _, op := range ops {
		if op.Op != pthv.OpPut && op.Op != pthv.OpDeactivate {
			return ws, fmt.Errorf("unknown op %q", op.Op)
		}
	}
	var puts int
	for _, op := range ops {
		k := recKey{district, op.Kind, op.ID}
		switch op.Op {
		case pthv.OpPut:
			if old, ok := s.records[k]; ok && old.school != "" {
				delete(s.bySchool[district+"#"+old.school], k)
			}
			if op.School != "" {
				inner(s.bySchool, district+"#"+op.School)[k] = true
			}
			s.records[k] = record{Current: pthv.Current{Hash: op.Hash, Active: true, Role: op.Role, User: op.User}, data: string(op.Data), school: op.School}
			puts++
		case pthv.OpDeactivate:
			if r, ok := s.records[k]; ok {
				r.Active = false
				s.records[k] = r
			}
			ws.Updates++
		}
	}
	ws.Items = puts
	ws.Batches = (puts + 24) / 25
	ws.FullBatches = puts / 25
	s.items["Apply"] += len(ops)
	return ws, nil
}

// GetRecord reads one roster record: its JSON and whether it is active; pthv.ErrNotFound
// when there is none.
func (s *Store) GetRecord(_ context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error) {
	s.enter("GetRecord")
	defer s.mu.Unlock()
	r, ok := s.records[recKey{district, kind, id}]
	if !ok {
		return nil, false, fmt.Errorf("%s %s: %w", kind, id, pthv.ErrNotFound)
	}
	return json.RawMessage(r.data), r.Active, nil
}

// ClaimObject records that importID handles obj; pthv.ErrConflict when another import
// claimed it (the same import's claim again succeeds).
func (s *Store) ClaimObject(_ context.Context, obj pthv.Object, importID string) error {
	s.enter("ClaimObject")
	defer s.mu.Unlock()
	if owner, ok := s.claims[obj.Identity()]; ok {
		if owner == importID {
			return nil
		}
		return fmt.Errorf("object %s: %w", obj.Identity(), pthv.ErrConflict)
	}
	s.claims[obj.Identity()] = importID
	return nil
}

// ObjectClaim returns the import that claimed obj, or pthv.ErrNotFound.
func (s *Store) ObjectClaim(_ context.Context, obj pthv.Object) (string, error) {
	s.enter("ObjectClaim")
	defer s.mu.Unlock()
	id, ok := s.claims[obj.Identity()]
	if !ok {
		return "", pthv.ErrNotFound
	}
	return id, nil
}

// PutImport writes the import record (and sets its run count to imp.Runs), unless the stored
// record has more runs (a later run took the import over): then pthv.ErrConflict.
func (s *Store) PutImport(_ context.Context, imp *pthv.Import) error {
	s.enter("PutImport")
	defer s.mu.Unlock()
	if old, ok := s.imports[imp.District][imp.ID]; ok && old.runs > imp.Runs {
		return fmt.Errorf("import %s was taken over by a later run: %w", imp.ID, pthv.ErrConflict)
	}
	b, err := json.Marshal(imp)
	if err != nil {
		return err
	}
	inner(s.imports, imp.District)[imp.ID] = stored{j: b, runs: imp.Runs}
	return nil
}

func (s *Store) getImport(district, id string) (*pthv.Import, error) {
	st, ok := s.imports[district][id]
	if !ok {
		return nil, fmt.Errorf("import %s of district %s: %w", id, district, pthv.ErrNotFound)
	}
	var imp pthv.Import
	return &imp, json.Unmarshal(st.j, &imp)
}

// GetImport reads an import record, or pthv.ErrNotFound.
func (s *Store) GetImport(_ context.Context, district, id string) (*pthv.Import, error) {
	s.enter("GetImport")
	defer s.mu.Unlock()
	return s.getImport(district, id)
}

// ListImports returns the district's imports, newest (greatest id) first, at most limit
// (0 or less: 20).
func (s *Store) ListImports(_ context.Context, district string, limit int) ([]*pthv.Import, error) {
	s.enter("ListImports")
	defer s.mu.Unlock()
	if limit <= 0 {
		limit = 20
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range s.imports[district] {
			if !yield(id) {
				return
			}
		}
	})
	slices.Reverse(ids)
	var out []*pthv.Import
	for _, id := range ids[:min(limit, len(ids))] {
		imp, err := s.getImport(district, id)
		if err != nil {
			return nil, err
		}
		out = append(out, imp)
	}
	return out, nil
}

// ClaimRun raises the import's run count from runs to runs+1; pthv.ErrConflict when the count
// is not runs or there is no such import (a conditional update of a missing item fails its
// condition). The record GetImport returns is unchanged.
func (s *Store) ClaimRun(_ context.Context, district, id string, runs int) error {
	s.enter("ClaimRun")
	defer s.mu.Unlock()
	st, ok := s.imports[district][id]
	if !ok || st.runs != runs {
		return fmt.Errorf("run %d of import %s: %w", runs+1, id, pthv.ErrConflict)
	}
	st.runs++
	s.imports[district][id] = st
	return nil
}

// TransitionImport sets the status to `to` only if it is `from`: pthv.ErrNotFound when there
// is no such import, pthv.ErrConflict when its status is another.
func (s *Store) TransitionImport(_ context.Context, district, id string, from, to pthv.Status) error {
	s.enter("TransitionImport")
	defer s.mu.Unlock()
	imp, err := s.getImport(district, id)
	if err != nil {
		return err
	}
	if imp.Status != from {
		return fmt.Errorf("import %s is %s, not %s: %w", id, imp.Status, from, pthv.ErrConflict)
	}
	imp.Status = to
	st := s.imports[district][id]
	st.j, _ = json.Marshal(imp)
	s.imports[district][id] = st
	return nil
}

// LoadTrainings returns the district's training records: key → content hash.
func (s *Store) LoadTrainings(_ context.Context, district string) (map[string]string, error) {
	s.enter("LoadTrainings")
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, t := range s.trainings[district] {
		out[k] = t.Hash
	}
	return out, nil
}

// PutTrainings writes training records (upserts by key).
func (s *Store) PutTrainings(_ context.Context, district, _ string, recs []pthv.TrainingWrite) (pthv.WriteStats, error) {
	s.enter("PutTrainings")
	defer s.mu.Unlock()
	return upsert(s, "PutTrainings", inner(s.trainings, district), recs, func(r *pthv.TrainingWrite) string {
		r.Data = slices.Clone(r.Data)
		return r.Key
	}), nil
}

// upsert puts items in m under the key each gives (after it copies what it must), counts
// them for method and returns the write stats of full batches of 25.
func upsert[T any](s *Store, method string, m map[string]T, items []T, key func(*T) string) pthv.WriteStats {
	for _, it := range items {
		m[key(&it)] = it
	}
	s.items[method] += len(items)
	return pthv.WriteStats{Items: len(items), Batches: (len(items) + 24) / 25, FullBatches: len(items) / 25}
}

// SetOptIns records opt-in decisions as the DynamoDB store's conditional puts do: within one
// call the newest decision for an educator and year is taken (the later one on a tie), and it
// is written only when no decision on record for the educator and year is as new (decision
// times compared to the second, as the DynamoDB store keeps them). It reports the decisions
// written.
func (s *Store) SetOptIns(_ context.Context, district string, opts []pthv.OptIn) (pthv.WriteStats, error) {
	s.enter("SetOptIns")
	defer s.mu.Unlock()
	last := map[string]pthv.OptIn{}
	for _, o := range opts {
		o.At = o.At.UTC().Truncate(time.Second)
		k := o.SchoolYear + "/" + o.Educator
		if prev, ok := last[k]; !ok || !o.At.Before(prev.At) {
			last[k] = o
		}
	}
	var ws pthv.WriteStats
	for _, o := range last {
		m := inner(s.optIns, district+"#"+o.SchoolYear)
		if old, ok := m[o.Educator]; ok && !old.At.Before(o.At) {
			continue // a decision as new or newer is on record: it stands
		}
		m[o.Educator] = o
		ws.Items++
	}
	s.items["SetOptIns"] += ws.Items
	return ws, nil
}

// OptInDecisions returns the opt-in decisions on record for a school year, by educator.
func (s *Store) OptInDecisions(_ context.Context, district, year string) (map[string]pthv.OptIn, error) {
	s.enter("OptInDecisions")
	defer s.mu.Unlock()
	out := map[string]pthv.OptIn{}
	for e, o := range s.optIns[district+"#"+year] {
		out[e] = o
	}
	return out, nil
}

// OptIns returns who opted in (true) or out (false) for a school year.
func (s *Store) OptIns(_ context.Context, district, year string) (map[string]bool, error) {
	s.enter("OptIns")
	defer s.mu.Unlock()
	out := map[string]bool{}
	for e, o := range s.optIns[district+"#"+year] {
		out[e] = o.In
	}
	return out, nil
}

// Consent returns a school year's consent answers by subject.
func (s *Store) Consent(_ context.Context, district, year string) (map[string]pthv.ConsentEntry, error) {
	s.enter("Consent")
	defer s.mu.Unlock()
	out := map[string]pthv.ConsentEntry{}
	for k, e := range s.consent[district+"#"+year] {
		out[k] = e
	}
	return out, nil
}

// SetConsent records answers; for one subject and year the last entry of the call wins, and
// an answer without a time is recorded now.
func (s *Store) SetConsent(_ context.Context, district string, entries []pthv.ConsentEntry) error {
	s.enter("SetConsent")
	defer s.mu.Unlock()
	for _, e := range entries {
		if e.At.IsZero() {
			e.At = s.now()
		}
		e.At = e.At.UTC()
		inner(s.consent, district+"#"+e.Year)[e.Subject] = e
	}
	s.items["SetConsent"] += len(entries)
	return nil
}

// LoadVisits returns what is stored of the district's visits, by visit id.
func (s *Store) LoadVisits(_ context.Context, district string) (map[string]pthv.VisitCurrent, error) {
	s.enter("LoadVisits")
	defer s.mu.Unlock()
	out := map[string]pthv.VisitCurrent{}
	for id, v := range s.visits[district] {
		out[id] = v.VisitCurrent
	}
	return out, nil
}

// PutVisits writes visits (upserts by visit id).
func (s *Store) PutVisits(_ context.Context, district, _ string, vs []pthv.VisitWrite) (pthv.WriteStats, error) {
	s.enter("PutVisits")
	defer s.mu.Unlock()
	return upsert(s, "PutVisits", inner(s.visits, district), vs, func(v *pthv.VisitWrite) string {
		v.Data = slices.Clone(v.Data)
		return v.ID
	}), nil
}

// VisitsOf returns the district's visits of a school year, and how many items it read (the
// district's visits of every year, as the DynamoDB store's filtered Query does).
func (s *Store) VisitsOf(_ context.Context, district, year string) ([]pthv.StoredVisit, int, error) {
	s.enter("VisitsOf")
	defer s.mu.Unlock()
	var out []pthv.StoredVisit
	for id, v := range s.visits[district] {
		if v.Year != year {
			continue
		}
		var sv pthv.StoredVisit
		if err := json.Unmarshal(v.Data, &sv); err != nil {
			return nil, 0, fmt.Errorf("visit %s: %w", id, err)
		}
		out = append(out, sv)
	}
	slices.SortFunc(out, func(a, b pthv.StoredVisit) int { return strings.Compare(a.ID, b.ID) })
	return out, len(s.visits[district]), nil
}

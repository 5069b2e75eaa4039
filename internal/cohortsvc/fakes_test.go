package cohortsvc

import (
	"time"

	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
)

// memStore is an in-memory Store over a roster read by the OneRoster reader. Records are
// kept as JSON, as the real store keeps them, so that nothing is shared with the caller.
type memStore struct {
	mu          sync.Mutex
	district    string
	users       map[string]roster.User
	inactive    map[string]bool
	years       []string
	roles       []roster.Role
	classes     []roster.Class
	enrollments []roster.Enrollment
	optIns      map[string]map[string]bool
	trainings   map[string]string
	consent     map[string]map[string]consent.Entry
	cohorts     map[string][]byte
	members     map[string][][]byte
	// reads counts calls by method, to check the read path.
	reads map[string]int
	// bySchool indexes the records by school, as the table's school index does.
	bySchool map[string]*pthv.SchoolRoster
}

func newMemStore(district string) *memStore {
	return &memStore{district: district, users: map[string]roster.User{}, inactive: map[string]bool{},
		optIns: map[string]map[string]bool{}, trainings: map[string]string{}, consent: map[string]map[string]consent.Entry{},
		cohorts: map[string][]byte{}, members: map[string][][]byte{}, reads: map[string]int{}}
}

// loadGenerated fills the store with a generated district.
func loadGenerated(t testing.TB, district string, opt rostergen.Options) *memStore {
	t.Helper()
	dir := t.TempDir()
	opt.DistrictID = district
	if _, err := rostergen.Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	m := newMemStore(district)
	rep, err := orcsv.ReadPath(context.Background(), dir, m, orcsv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fatal() {
		t.Fatalf("generated roster is rejected: %d errors", rep.Errors)
	}
	return m
}

func (m *memStore) File(roster.Kind, roster.Mode) error { return nil }
func (m *memStore) Reject(roster.Kind, string) error    { return nil }
func (m *memStore) Record(rec roster.Record) error {
	switch r := rec.(type) {
	case *roster.User:
		m.users[r.SourcedID] = *r
	case *roster.Role:
		m.roles = append(m.roles, *r)
	case *roster.Class:
		m.classes = append(m.classes, *r)
	case *roster.Enrollment:
		m.enrollments = append(m.enrollments, *r)
	case *roster.AcademicSession:
		if t, err := time.Parse(time.DateOnly, r.StartDate); err == nil {
			m.years = append(m.years, pthv.SchoolYearOf(t).String())
		}
	}
	return nil
}

// SessionYears gives the years of every session of the roster (the test rosters' terms all
// lie in their school years).
func (m *memStore) SessionYears(context.Context, string, []string) ([]string, error) {
	return m.years, nil
}

func (m *memStore) count(name string) {
	m.mu.Lock()
	m.reads[name]++
	m.mu.Unlock()
}

func (m *memStore) District(_ context.Context, id string) (*pthv.District, error) {
	if id != m.district {
		return nil, fmt.Errorf("district %s: %w", id, pthv.ErrNotFound)
	}
	return &pthv.District{ID: id, State: "CA"}, nil
}

func (m *memStore) SchoolRoster(_ context.Context, district, school string) (*pthv.SchoolRoster, error) {
	m.count("pthv.SchoolRoster")
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bySchool == nil {
		m.bySchool = map[string]*pthv.SchoolRoster{}
		at := func(s string) *pthv.SchoolRoster {
			if m.bySchool[s] == nil {
				m.bySchool[s] = &pthv.SchoolRoster{}
			}
			return m.bySchool[s]
		}
		for _, r := range m.roles {
			at(r.OrgSourcedID).Roles = append(at(r.OrgSourcedID).Roles, r)
		}
		for _, c := range m.classes {
			at(c.SchoolSourcedID).Classes = append(at(c.SchoolSourcedID).Classes, c)
		}
		for _, e := range m.enrollments {
			at(e.SchoolSourcedID).Enrollments = append(at(e.SchoolSourcedID).Enrollments, e)
		}
	}
	out := &pthv.SchoolRoster{}
	if sr := m.bySchool[school]; sr != nil && district == m.district {
		out.Roles, out.Classes, out.Enrollments = slices.Clone(sr.Roles), slices.Clone(sr.Classes), slices.Clone(sr.Enrollments)
	}
	return out, nil
}

func (m *memStore) Users(_ context.Context, district string, ids []string) (map[string]*roster.User, error) {
	m.count("Users")
	out := map[string]*roster.User{}
	for _, id := range ids {
		if u, ok := m.users[id]; ok && !m.inactive[id] && district == m.district {
			u := u
			out[id] = &u
		}
	}
	return out, nil
}

func (m *memStore) OptIns(_ context.Context, _, year string) (map[string]bool, error) {
	return maps(m.optIns[year]), nil
}

func (m *memStore) LoadTrainings(context.Context, string) (map[string]string, error) {
	return maps(m.trainings), nil
}

func (m *memStore) Consent(_ context.Context, _, year string) (map[string]consent.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]consent.Entry{}
	for k, v := range m.consent[year] {
		out[k] = v
	}
	return out, nil
}

func (m *memStore) setConsent(year string, e consent.Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.consent[year] == nil {
		m.consent[year] = map[string]consent.Entry{}
	}
	m.consent[year][e.Subject] = e
}

func (m *memStore) PutCohort(_ context.Context, rec *cohort.Record, members []cohort.MemberItem) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.cohorts[rec.ID]; ok {
		var prev cohort.Record
		_ = json.Unmarshal(old, &prev)
		if prev.Revision != rec.Revision-1 {
			return fmt.Errorf("revision %d after %d: %w", rec.Revision, prev.Revision, pthv.ErrConflict)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.cohorts[rec.ID] = b
	m.members[rec.ID] = nil
	for _, mem := range members {
		b, err := json.Marshal(mem)
		if err != nil {
			return err
		}
		m.members[rec.ID] = append(m.members[rec.ID], b)
	}
	return nil
}

func (m *memStore) GetCohort(_ context.Context, _, id string) (*cohort.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.cohorts[id]
	if !ok {
		return nil, fmt.Errorf("cohort %s: %w", id, pthv.ErrNotFound)
	}
	rec := &cohort.Record{}
	return rec, json.Unmarshal(b, rec)
}

func (m *memStore) Members(_ context.Context, _, id string) ([]cohort.MemberItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cohort.MemberItem
	for _, b := range m.members[id] {
		var mi cohort.MemberItem
		if err := json.Unmarshal(b, &mi); err != nil {
			return nil, err
		}
		out = append(out, mi)
	}
	cohort.SortMembers(out)
	return out, nil
}

func (m *memStore) ListCohorts(context.Context, string) ([]*cohort.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*cohort.Record
	for _, b := range m.cohorts {
		rec := &cohort.Record{}
		if err := json.Unmarshal(b, rec); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func maps[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// memBlobs is an in-memory Blobs.
type memBlobs struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, bucket, key, _ string, body []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objs == nil {
		b.objs = map[string][]byte{}
	}
	b.objs[bucket+"/"+key] = slices.Clone(body)
	return nil
}

func (b *memBlobs) Get(_ context.Context, bucket, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, pthv.ErrNotFound)
	}
	return slices.Clone(o), nil
}

package reachsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/schemas"
)

// memStore holds districts, visits, trainings, schools and aggregates in memory, and
// counts what it returns and writes.
type memStore struct {
	mu        sync.Mutex
	districts map[string]pthv.District
	visits    map[string]map[string]pthv.StoredVisit // district → id → visit
	trainings map[string]map[string]string           // district → key → hash
	schools   map[string]map[string]reach.School     // district → id → school
	aggs      map[string]map[string][]byte           // year → name → JSON
	writes    int
}

func newMemStore() *memStore {
	return &memStore{districts: map[string]pthv.District{}, visits: map[string]map[string]pthv.StoredVisit{},
		trainings: map[string]map[string]string{}, schools: map[string]map[string]reach.School{}, aggs: map[string]map[string][]byte{}}
}

// load puts Synth's inputs in the store, as imports would have left them.
func (m *memStore) load(ins []reach.DistrictInput) {
	for _, in := range ins {
		m.districts[in.District] = pthv.District{ID: in.District, State: in.State}
		m.visits[in.District], m.trainings[in.District], m.schools[in.District] = map[string]pthv.StoredVisit{}, map[string]string{}, map[string]reach.School{}
		for _, v := range in.Visits {
			m.visits[in.District][v.ID] = storedVisit(v)
		}
		for i, t := range in.Trainings {
			m.trainings[in.District][fmt.Sprintf("%s#%s#t%d", t.Educator, t.Date, i)] = "h"
		}
		for _, s := range in.Schools {
			m.schools[in.District][s.ID] = s
		}
	}
}

func storedVisit(v reach.Visit) pthv.StoredVisit {
	sv := pthv.StoredVisit{Family: v.Family, Students: v.Students, Year: pthv.SchoolYearOfDate(v.Date).String()}
	sv.ID, sv.School, sv.Date, sv.Number, sv.Educators, sv.Minutes, sv.Status = v.ID, v.School, v.Date, v.Number, v.Educators, v.Minutes, v.Status
	return sv
}

func (m *memStore) District(_ context.Context, id string) (*pthv.District, error) {
	d, ok := m.districts[id]
	if !ok {
		return nil, pthv.ErrNotFound
	}
	return &d, nil
}

func (m *memStore) ListDistricts(context.Context) ([]pthv.District, error) {
	return slices.Collect(maps.Values(m.districts)), nil
}

func (m *memStore) LoadVisits(_ context.Context, d string) (map[string]pthv.VisitCurrent, error) {
	out := map[string]pthv.VisitCurrent{}
	for id, v := range m.visits[d] {
		out[id] = pthv.VisitCurrent{Year: v.Year, School: v.School, Family: v.Family, Number: v.Number}
	}
	return out, nil
}

func (m *memStore) VisitsOf(_ context.Context, d, year string) ([]pthv.StoredVisit, int, error) {
	var out []pthv.StoredVisit
	for _, v := range m.visits[d] {
		if v.Year == year {
			out = append(out, v)
		}
	}
	return out, len(m.visits[d]), nil
}

func (m *memStore) LoadTrainings(_ context.Context, d string) (map[string]string, error) {
	return maps.Clone(m.trainings[d]), nil
}

func (m *memStore) SchoolStudents(_ context.Context, d, school string) (int, error) {
	return m.schools[d][school].Students, nil
}

func (m *memStore) GetRecord(_ context.Context, d string, kind roster.Kind, id string) (json.RawMessage, bool, error) {
	s, ok := m.schools[d][id]
	if kind != roster.KindOrg || !ok {
		return nil, false, pthv.ErrNotFound
	}
	b, _ := json.Marshal(roster.Org{SourcedID: id, Name: s.Name, Type: "school"})
	return b, true, nil
}

func (m *memStore) PutAggregate(_ context.Context, year, name string, data []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.aggs[year] == nil {
		m.aggs[year] = map[string][]byte{}
	}
	if bytes.Equal(m.aggs[year][name], data) {
		return false, nil
	}
	m.aggs[year][name] = slices.Clone(data)
	m.writes++
	return true, nil
}

func (m *memStore) Aggregates(_ context.Context, year, prefix string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range m.aggs[year] {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

type memBlobs struct{ objs map[string][]byte }

func (b *memBlobs) Put(_ context.Context, _, key, _ string, body []byte) error {
	b.objs[key] = slices.Clone(body)
	return nil
}

func (b *memBlobs) Get(_ context.Context, _, key string) ([]byte, error) {
	o, ok := b.objs[key]
	if !ok {
		return nil, pthv.ErrNotFound
	}
	return o, nil
}

func newService(st *memStore) (*Service, *memBlobs, *bytes.Buffer) {
	blobs, metrics := &memBlobs{objs: map[string][]byte{}}, &bytes.Buffer{}
	return &Service{Store: st, Blobs: blobs, ReportsBucket: "reports", Metrics: metrics,
		Now: func() time.Time { return time.Date(2026, 7, 2, 3, 0, 0, 0, time.UTC) }}, blobs, metrics
}

const year = "2025-2026"

// TestFullRecomputationGivesTheKnownAnswers drives Synth's records, whose figures are known
// by construction, through the service and compares every stored aggregate.
func TestFullRecomputationGivesTheKnownAnswers(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		ins, truth := reach.Synth(seed, reach.SynthOptions{Year: year, States: 4})
		st := newMemStore()
		st.load(ins)
		svc, blobs, metrics := newService(st)
		res, err := svc.Full(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range truth.Districts {
			var got reach.DistrictMetrics
			json.Unmarshal(st.aggs[year]["D#"+want.District], &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d district %s (-want +got):\n%s", seed, want.District, diff)
			}
		}
		var nat reach.Totals
		json.Unmarshal(st.aggs[year]["NATIONAL"], &nat)
		if diff := cmp.Diff(truth.National, nat); diff != "" {
			t.Fatalf("seed %d national (-want +got):\n%s", seed, diff)
		}
		for code, want := range truth.ByState {
			var got reach.Totals
			json.Unmarshal(st.aggs[year]["ST#"+code], &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d state %s (-want +got):\n%s", seed, code, diff)
			}
		}
		if !slices.Contains(res.Published, year) {
			t.Fatalf("seed %d: %s not published: %+v", seed, year, res)
		}
		if err := schemas.Validate("reach.schema.json", blobs.objs[PublicKey(year)]); err != nil {
			t.Fatal(err)
		}
		for _, forbidden := range []string{"hoursPerEducator", `"fam0`, `"stu-`, `-e0`} { // no hours, family, student or educator id
			if bytes.Contains(blobs.objs[PublicKey(year)], []byte(forbidden)) || bytes.Contains(blobs.objs[PublishedKey(year)], []byte(forbidden)) {
				t.Fatalf("a published view contains %q", forbidden)
			}
		}
		// One EMF line for the nation and one per state, each a valid EMF document.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
			if strings.Contains(l, `"Year":"`+year+`"`) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1+len(truth.ByState) {
			t.Fatalf("%d metric lines for %d states", len(lines), len(truth.ByState))
		}
		var emf struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
			HomeVisits int
			Year       string
		}
		if err := json.Unmarshal([]byte(lines[0]), &emf); err != nil || emf.AWS.CloudWatchMetrics[0].Namespace != "PTHVReach" || emf.HomeVisits != truth.National.Visits || emf.Year != year {
			t.Fatalf("EMF line %s (%v)", lines[0], err)
		}
	}
}

// TestIncrementalEqualsFull changes one district's visits, recomputes only that
// district-year, counts what it read and wrote, and checks that a full recomputation then
// changes nothing.
func TestIncrementalEqualsFull(t *testing.T) {
	ins, _ := reach.Synth(7, reach.SynthOptions{Year: year, States: 5})
	st := newMemStore()
	st.load(ins)
	svc, _, _ := newService(st)
	ctx := context.Background()
	first, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A district logs a new completed first visit of a family already known at a site.
	var target reach.DistrictInput
	for _, in := range ins {
		if len(in.Visits) > 0 && len(in.Schools) > 0 {
			target = in
			break
		}
	}
	v := target.Visits[0]
	v.ID, v.Status, v.Number, v.Date = "new-visit", "completed", 1, "2026-03-03"
	v.Family, v.Students = "fam-new", []string{"stu-new"}
	st.visits[target.District][v.ID] = storedVisit(v)
	st.writes = 0

	inc, err := svc.Recompute(ctx, []DistrictYear{{District: target.District, Year: year}})
	if err != nil {
		t.Fatal(err)
	}
	// The district item, its state, the nation and the published view change; nothing else.
	if st.writes != 4 || inc.ItemsWritten != 4 || !slices.Equal(inc.Published, []string{year}) {
		t.Fatalf("incremental update wrote %d items (result %+v)", st.writes, inc)
	}
	// Reads: the district's visits and trainings, its sites' students (counted through the
	// school index) and names, the district record, and the year's district aggregates.
	districtItems := len(st.visits[target.District]) + len(st.trainings[target.District]) + 1 + len(ins)
	for _, s := range target.Schools {
		districtItems += s.Students + 1
	}
	if inc.ItemsRead > districtItems || inc.ItemsRead*4 > first.ItemsRead {
		t.Fatalf("incremental update read %d items; the district has %d records, the full run read %d", inc.ItemsRead, districtItems, first.ItemsRead)
	}
	before := maps.Clone(st.aggs[year])
	st.writes = 0
	full, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.writes != 0 || full.ItemsWritten != 0 || len(full.Published) != 0 {
		t.Fatalf("the full recomputation after the incremental one wrote %d items", st.writes)
	}
	for k, v := range before {
		if !bytes.Equal(v, st.aggs[year][k]) {
			t.Fatalf("aggregate %s differs", k)
		}
	}
	t.Logf("full: %d district-years, %d items read; incremental: 1 district-year, %d items read, %d written", first.DistrictYears, first.ItemsRead, inc.ItemsRead, inc.ItemsWritten)
}

func TestRecomputeRefusesABadYear(t *testing.T) {
	svc, _, _ := newService(newMemStore())
	if _, err := svc.Recompute(context.Background(), []DistrictYear{{District: "d1", Year: "2025"}}); err == nil {
		t.Fatal("a bad year was accepted")
	}
}

func TestRegisteringADistrictChangesNoFigures(t *testing.T) {
	ins, _ := reach.Synth(7, reach.SynthOptions{Year: year, States: 3})
	st := newMemStore()
	st.load(ins)
	svc, _, _ := newService(st)
	ctx := context.Background()
	if _, err := svc.Full(ctx); err != nil {
		t.Fatal(err)
	}
	// Two districts are registered, one in a state that has none yet: no records at all.
	st.districts["new-usd"] = pthv.District{ID: "new-usd", State: "WY"}
	st.districts["new-too"] = pthv.District{ID: "new-too", State: ins[0].State}
	st.writes = 0
	full, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.writes != 0 || full.ItemsWritten != 0 || len(full.Published) != 0 {
		t.Fatalf("registering districts without data made the nightly run write %d items (%+v)", st.writes, full)
	}
	inc, err := svc.Recompute(ctx, []DistrictYear{{District: "new-usd", Year: year}})
	if err != nil || inc.ItemsWritten != 0 {
		t.Fatalf("an import that touched the new district wrote %d items: %v", inc.ItemsWritten, err)
	}
}

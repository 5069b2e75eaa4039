package reachsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/store/memstore"
	"github.com/pthv/reach/schemas"
)

// newStore returns a memory store holding Synth's inputs, as imports would have left them:
// the districts, their visits and trainings, and each site's org record with a student role
// per student (what the school index counts).
func newStore(t testing.TB, ins []reach.DistrictInput) *memstore.Store {
	t.Helper()
	st, ctx := memstore.New(), context.Background()
	for _, in := range ins {
		if err := st.PutDistrict(ctx, pthv.District{ID: in.District, State: in.State}); err != nil {
			t.Fatal(err)
		}
		var vws []pthv.VisitWrite
		for _, v := range in.Visits {
			vws = append(vws, visitWrite(v))
		}
		var tws []pthv.TrainingWrite
		for i, tr := range in.Trainings {
			tws = append(tws, pthv.TrainingWrite{Key: fmt.Sprintf("%s#%s#t%d", tr.Educator, tr.Date, i), Educator: tr.Educator, Hash: "h", Data: []byte(`{}`)})
		}
		var ops []pthv.Op
		for _, sc := range in.Schools {
			org, _ := json.Marshal(roster.Org{SourcedID: sc.ID, Name: sc.Name, Type: "school"})
			ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindOrg, ID: sc.ID, Hash: pthv.Hash(org), Data: org})
			for i := range sc.Students {
				id := fmt.Sprintf("%s-stu%d", sc.ID, i)
				ops = append(ops, pthv.Op{Op: pthv.OpPut, Kind: roster.KindRole, ID: "r-" + id, Hash: "h", Data: []byte(`{}`), Role: "student", User: id, School: sc.ID})
			}
		}
		for _, err := range []error{
			func() error { _, err := st.PutVisits(ctx, in.District, "imp-test", vws); return err }(),
			func() error { _, err := st.PutTrainings(ctx, in.District, "imp-test", tws); return err }(),
			func() error { _, err := st.Apply(ctx, in.District, "imp-test", ops); return err }(),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	st.ResetCounts()
	return st
}

func storedVisit(v reach.Visit) pthv.StoredVisit {
	sv := pthv.StoredVisit{Family: v.Family, Students: v.Students, Year: pthv.SchoolYearOfDate(v.Date).String()}
	sv.ID, sv.School, sv.Date, sv.Number, sv.Educators, sv.Minutes, sv.Status = v.ID, v.School, v.Date, v.Number, v.Educators, v.Minutes, v.Status
	return sv
}

// visitWrite is a visit as the pipeline writes it.
func visitWrite(v reach.Visit) pthv.VisitWrite {
	sv := storedVisit(v)
	b, _ := json.Marshal(sv)
	return pthv.VisitWrite{VisitCurrent: pthv.VisitCurrent{Hash: pthv.Hash(b), Year: sv.Year, School: sv.School, Family: sv.Family, Number: sv.Number}, ID: sv.ID, Data: b}
}

// putVisit stores one more visit, as a visit import does.
func putVisit(t testing.TB, st *memstore.Store, district string, v reach.Visit) {
	t.Helper()
	if _, err := st.PutVisits(context.Background(), district, "imp-test", []pthv.VisitWrite{visitWrite(v)}); err != nil {
		t.Fatal(err)
	}
}

// aggs returns a year's stored aggregates by name.
func aggs(t testing.TB, st *memstore.Store, year string) map[string][]byte {
	t.Helper()
	m, err := st.Aggregates(context.Background(), year, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type memBlobs struct {
	objs map[string][]byte
	puts []string // every key put, in order
}

func (b *memBlobs) Put(_ context.Context, _, key, _ string, body []byte) error {
	b.objs[key] = slices.Clone(body)
	b.puts = append(b.puts, key)
	return nil
}

func (b *memBlobs) Get(_ context.Context, _, key string) ([]byte, error) {
	o, ok := b.objs[key]
	if !ok {
		return nil, pthv.ErrNotFound
	}
	return o, nil
}

func newService(st *memstore.Store) (*Service, *memBlobs, *bytes.Buffer) {
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
		st := newStore(t, ins)
		svc, blobs, metrics := newService(st)
		res, err := svc.Full(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		stored := aggs(t, st, year)
		for _, want := range truth.Districts {
			var got reach.DistrictMetrics
			json.Unmarshal(stored[pthv.ItemKey("D", want.District)], &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d district %s (-want +got):\n%s", seed, want.District, diff)
			}
		}
		var nat reach.Totals
		json.Unmarshal(stored["NATIONAL"], &nat)
		if diff := cmp.Diff(truth.National, nat); diff != "" {
			t.Fatalf("seed %d national (-want +got):\n%s", seed, diff)
		}
		for code, want := range truth.ByState {
			var got reach.Totals
			json.Unmarshal(stored[pthv.ItemKey("ST", code)], &got)
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
	st := newStore(t, ins)
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
	putVisit(t, st, target.District, v)
	st.ResetCounts()

	inc, err := svc.Recompute(ctx, []DistrictYear{{District: target.District, Year: year}})
	if err != nil {
		t.Fatal(err)
	}
	// The district item, its state, the nation and the published view change; nothing else.
	if st.Items("PutAggregate") != 4 || inc.ItemsWritten != 4 || !slices.Equal(inc.Published, []string{year}) {
		t.Fatalf("incremental update wrote %d items (result %+v)", st.Items("PutAggregate"), inc)
	}
	// Reads: the district's visits and trainings, its sites' students (counted through the
	// school index) and names, the district record, and the year's district aggregates.
	visits, _ := st.LoadVisits(ctx, target.District)
	trainings, _ := st.LoadTrainings(ctx, target.District)
	districtItems := len(visits) + len(trainings) + 1 + len(ins)
	for _, s := range target.Schools {
		districtItems += s.Students + 1
	}
	if inc.ItemsRead > districtItems || inc.ItemsRead*4 > first.ItemsRead {
		t.Fatalf("incremental update read %d items; the district has %d records, the full run read %d", inc.ItemsRead, districtItems, first.ItemsRead)
	}
	before := aggs(t, st, year)
	st.ResetCounts()
	full, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Items("PutAggregate") != 0 || full.ItemsWritten != 0 || len(full.Published) != 0 {
		t.Fatalf("the full recomputation after the incremental one wrote %d items", st.Items("PutAggregate"))
	}
	after := aggs(t, st, year)
	for k, v := range before {
		if !bytes.Equal(v, after[k]) {
			t.Fatalf("aggregate %s differs", k)
		}
	}
	t.Logf("full: %d district-years, %d items read; incremental: 1 district-year, %d items read, %d written", first.DistrictYears, first.ItemsRead, inc.ItemsRead, inc.ItemsWritten)
}

func TestRecomputeRefusesABadYear(t *testing.T) {
	svc, _, _ := newService(memstore.New())
	if _, err := svc.Recompute(context.Background(), []DistrictYear{{District: "d1", Year: "2025"}}); err == nil {
		t.Fatal("a bad year was accepted")
	}
}

// publishSynth runs a full recomputation of Synth's records and returns the public file
// (checked against its schema), the metric lines and the truth.
func publishSynth(t *testing.T, seed uint64, opts reach.SynthOptions) (Public, *bytes.Buffer, reach.SynthTruth) {
	t.Helper()
	ins, truth := reach.Synth(seed, opts)
	svc, blobs, metrics := newService(newStore(t, ins))
	if _, err := svc.Full(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate("reach.schema.json", blobs.objs[PublicKey(year)]); err != nil {
		t.Fatal(err)
	}
	var pub Public
	if err := json.Unmarshal(blobs.objs[PublicKey(year)], &pub); err != nil {
		t.Fatal(err)
	}
	return pub, metrics, truth
}

// TestMetricsLeaveOutSuppressedStateCounts: single-district states with small counts have
// those counts null in the public file, and their EMF lines carry no value for them.
func TestMetricsLeaveOutSuppressedStateCounts(t *testing.T) {
	pub, metrics, _ := publishSynth(t, 11, reach.SynthOptions{Year: year, States: 3, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{1, 1}, FamiliesPerSite: [2]int{1, 3}})
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if s, ok := m["State"].(string); ok && m["Year"] == year {
			lines[s] = m
		}
	}
	hidden := 0
	for _, row := range pub.States {
		line := lines[row.State]
		if line == nil {
			t.Fatalf("no metric line for %s", row.State)
		}
		for name, c := range map[string]reach.Count{"HomeVisits": row.Visits, "FirstVisits": row.VisitsFirst, "SecondVisits": row.VisitsSecond,
			"FamiliesVisited": row.FamiliesVisited, "StudentsReached": row.StudentsReached} {
			v, ok := c.Value()
			got, present := line[name]
			switch {
			case !ok && present:
				t.Errorf("%s: %s is suppressed, the metric line says %v", row.State, name, got)
			case ok && (!present || got != float64(v)):
				t.Errorf("%s: %s is %d, the metric line says %v", row.State, name, v, got)
			}
			if !ok {
				hidden++
			}
		}
	}
	if hidden == 0 {
		t.Fatalf("no state count suppressed: %+v", pub.States)
	}
}

// TestANationOfOneStatePublishesNoSmallCount: with a single state with a single district,
// the national totals are that district's; the public file has them null where they are
// under 10 (it validates against its schema), and the national metric line leaves them out.
func TestANationOfOneStatePublishesNoSmallCount(t *testing.T) {
	pub, metrics, truth := publishSynth(t, 5, reach.SynthOptions{Year: year, States: 1, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{1, 1}, FamiliesPerSite: [2]int{2, 3}})
	if truth.National.States != 1 || truth.National.Visits >= reach.MinCell {
		t.Fatalf("the data is not a small one-state year: %+v", truth.National)
	}
	n := pub.National
	if !n.Visits.IsSuppressed() || !n.FamiliesVisited.IsSuppressed() || n.States != 1 || n.Sites != 1 || n.EducatorsTrained != truth.National.EducatorsTrained {
		t.Errorf("national: %+v", n)
	}
	for _, l := range strings.Split(strings.TrimSpace(metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if _, state := m["State"]; state || m["Year"] != year {
			continue
		}
		if _, ok := m["HomeVisits"]; ok {
			t.Errorf("the national metric line has the suppressed visits: %s", l)
		}
		if m["Sites"] != 1.0 {
			t.Errorf("the national metric line: %s", l)
		}
	}
}

func TestRegisteringADistrictChangesNoFigures(t *testing.T) {
	ins, _ := reach.Synth(7, reach.SynthOptions{Year: year, States: 3})
	st := newStore(t, ins)
	svc, _, _ := newService(st)
	ctx := context.Background()
	if _, err := svc.Full(ctx); err != nil {
		t.Fatal(err)
	}
	// Two districts are registered, one in a state that has none yet: no records at all.
	for _, d := range []pthv.District{{ID: "new-usd", State: "WY"}, {ID: "new-too", State: ins[0].State}} {
		if err := st.CreateDistrict(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	st.ResetCounts()
	full, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Items("PutAggregate") != 0 || full.ItemsWritten != 0 || len(full.Published) != 0 {
		t.Fatalf("registering districts without data made the nightly run write %d items (%+v)", st.Items("PutAggregate"), full)
	}
	inc, err := svc.Recompute(ctx, []DistrictYear{{District: "new-usd", Year: year}})
	if err != nil || inc.ItemsWritten != 0 {
		t.Fatalf("an import that touched the new district wrote %d items: %v", inc.ItemsWritten, err)
	}
}

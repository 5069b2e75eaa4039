// Package reachsvc computes and publishes reach metrics from the stored records: the
// district-years an import touched (incrementally) or everything (the nightly safety net).
// It reads visits, trainings and schools through the store, computes with internal/reach,
// stores aggregates as items of their own (written only when they change), publishes the
// suppressed view to the reports bucket and emits CloudWatch metrics as Embedded Metric
// Format log lines. functions/reach is its wiring; it imports no AWS package.
package reachsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/roster"
)

// Store is what the service needs of the database.
type Store interface {
	District(ctx context.Context, id string) (*pthv.District, error)
	ListDistricts(ctx context.Context) ([]pthv.District, error)
	LoadVisits(ctx context.Context, district string) (map[string]pthv.VisitCurrent, error)
	// VisitsOf returns the district's visits of a year and how many items it read.
	VisitsOf(ctx context.Context, district, year string) ([]pthv.StoredVisit, int, error)
	LoadTrainings(ctx context.Context, district string) (map[string]string, error)
	SchoolStudents(ctx context.Context, district, school string) (int, error)
	GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error)
	// PutAggregate writes an aggregate item unless it holds the same content; it reports
	// whether it wrote.
	PutAggregate(ctx context.Context, year, name string, data []byte) (bool, error)
	Aggregates(ctx context.Context, year, prefix string) (map[string][]byte, error)
}

// Blobs is what the service needs of S3.
type Blobs interface {
	Put(ctx context.Context, bucket, key, contentType string, body []byte) error
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Keys of the published views in the reports bucket.
func PublicKey(year string) string    { return pthv.Key("public", "reach", year+".json") }
func PublishedKey(year string) string { return pthv.Key("published", "reach", year+".json") }

// The aggregate item names.
const (
	yearsIndex = "INDEX" // AGG#INDEX holds one item per year with aggregates
	national   = "NATIONAL"
	published  = "PUBLISHED"
)

func districtItem(id string) string { return pthv.ItemKey("D", id) }
func stateItem(code string) string  { return pthv.ItemKey("ST", code) }

// Service recomputes reach metrics.
type Service struct {
	Store         Store
	Blobs         Blobs
	ReportsBucket string
	Log           *slog.Logger
	// Metrics receives the Embedded Metric Format lines (the function's stdout); nil = none.
	Metrics io.Writer
	Now     func() time.Time
	// Site are the dashboard's files, written under public/ when they change (publishSite).
	Site []SiteFile
}

// Result says what a run did.
type Result struct {
	DistrictYears int      `json:"districtYears"`
	Years         []string `json:"years"`
	// ItemsRead counts the DynamoDB items read (visits scanned, trainings, students counted,
	// school records, aggregates); ItemsWritten the aggregate items written (unchanged
	// aggregates are not rewritten).
	ItemsRead    int      `json:"itemsRead"`
	ItemsWritten int      `json:"itemsWritten"`
	Published    []string `json:"published,omitempty"` // years whose published view changed
	// Site lists the dashboard files written under public/ (only those that changed).
	Site []string `json:"site,omitempty"`
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Handle runs one event: the touched district-years, or everything.
func (s *Service) Handle(ctx context.Context, ev Event) (*Result, error) {
	if ev.Full {
		return s.Full(ctx)
	}
	return s.Recompute(ctx, ev.Touched)
}

// Recompute recomputes the given district-years, then the state and national figures of
// their years, and publishes what changed.
func (s *Service) Recompute(ctx context.Context, dys []DistrictYear) (*Result, error) {
	res := &Result{}
	years := map[string]bool{}
	seen := map[DistrictYear]bool{}
	districts := map[string]*pthv.District{}
	for _, dy := range dys {
		if seen[dy] {
			continue
		}
		seen[dy] = true
		if _, err := pthv.ParseSchoolYear(dy.Year); err != nil {
			return nil, fmt.Errorf("reach: %q is not a school year", dy.Year)
		}
		d := districts[dy.District]
		if d == nil {
			var err error
			if d, err = s.Store.District(ctx, dy.District); err != nil {
				return nil, fmt.Errorf("reach: district %s: %w", dy.District, err)
			}
			districts[dy.District] = d
			res.ItemsRead++
		}
		if err := s.district(ctx, *d, dy.Year, res); err != nil {
			return nil, err
		}
		years[dy.Year] = true
	}
	for _, y := range slices.Sorted(maps.Keys(years)) {
		if err := s.rollup(ctx, y, res); err != nil {
			return nil, err
		}
	}
	site, err := s.publishSite(ctx)
	if err != nil {
		return nil, fmt.Errorf("reach: the dashboard's files: %w", err)
	}
	res.Site = site
	s.log().Info("reach recomputed", "districtYears", res.DistrictYears, "years", strings.Join(res.Years, ","),
		"itemsRead", res.ItemsRead, "itemsWritten", res.ItemsWritten, "published", strings.Join(res.Published, ","), "site", strings.Join(res.Site, ","))
	return res, nil
}

// Full recomputes, from the records, every district for every school year that has
// visits or trainings anywhere or already has figures: the nightly safety net. Run after
// correct incremental updates it writes nothing.
func (s *Service) Full(ctx context.Context) (*Result, error) {
	ds, err := s.Store.ListDistricts(ctx)
	if err != nil {
		return nil, err
	}
	years, err := s.Store.Aggregates(ctx, yearsIndex, "")
	if err != nil {
		return nil, err
	}
	all := map[string]bool{}
	for y := range years {
		all[y] = true // a year that had figures is recomputed, even if its records are gone
	}
	for _, d := range ds {
		vs, err := s.Store.LoadVisits(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			all[v.Year] = true
		}
		ts, err := s.Store.LoadTrainings(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		for k := range ts {
			if p := strings.SplitN(k, "#", 3); len(p) == 3 {
				all[pthv.SchoolYearOfDate(p[1]).String()] = true
			}
		}
	}
	delete(all, "")
	var dys []DistrictYear
	for _, d := range ds {
		for _, y := range slices.Sorted(maps.Keys(all)) {
			dys = append(dys, DistrictYear{District: d.ID, Year: y})
		}
	}
	return s.Recompute(ctx, dys)
}

// district recomputes one district-year and stores its aggregate.
func (s *Service) district(ctx context.Context, d pthv.District, year string, res *Result) error {
	vs, read, err := s.Store.VisitsOf(ctx, d.ID, year)
	if err != nil {
		return err
	}
	res.ItemsRead += read
	ts, err := s.Store.LoadTrainings(ctx, d.ID)
	if err != nil {
		return err
	}
	res.ItemsRead += len(ts)
	in := reach.DistrictInput{District: d.ID, State: d.State, Year: year}
	for k := range ts {
		if p := strings.SplitN(k, "#", 3); len(p) == 3 {
			in.Trainings = append(in.Trainings, reach.Training{Educator: p[0], Date: p[1]})
		}
	}
	slices.SortFunc(in.Trainings, func(a, b reach.Training) int {
		return strings.Compare(a.Educator+a.Date, b.Educator+b.Date)
	})
	schools := map[string]bool{}
	for _, v := range vs {
		in.Visits = append(in.Visits, reach.Visit{ID: v.ID, School: v.School, Family: v.Family, Students: v.Students, Date: v.Date,
			Number: v.Number, Educators: v.Educators, Minutes: v.Minutes, Status: v.Status})
		if v.Status == "completed" {
			schools[v.School] = true
		}
	}
	slices.SortFunc(in.Visits, func(a, b reach.Visit) int { return strings.Compare(a.ID, b.ID) })
	for _, id := range slices.Sorted(maps.Keys(schools)) {
		n, err := s.Store.SchoolStudents(ctx, d.ID, id)
		if err != nil {
			return err
		}
		res.ItemsRead += n
		sch := reach.School{ID: id, Students: n}
		if raw, _, err := s.Store.GetRecord(ctx, d.ID, roster.KindOrg, id); err == nil {
			var org roster.Org
			if json.Unmarshal(raw, &org) == nil {
				sch.Name = org.Name
			}
			res.ItemsRead++
		}
		in.Schools = append(in.Schools, sch)
	}
	m := reach.ComputeDistrict(in)
	if noFigures(m) {
		// A district with nothing in the year (just registered, or a roster import before
		// any visit or training) has no aggregate: writing one would change the state and
		// national rows' inputs although no figure changed. One it had before is emptied.
		had, err := s.Store.Aggregates(ctx, year, districtItem(d.ID))
		if err != nil {
			return err
		}
		res.ItemsRead += len(had)
		if _, ok := had[districtItem(d.ID)]; !ok {
			res.DistrictYears++
			return nil
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wrote, err := s.Store.PutAggregate(ctx, year, districtItem(d.ID), b)
	if err != nil {
		return err
	}
	if wrote {
		res.ItemsWritten++
	}
	res.DistrictYears++
	return nil
}

// noFigures reports whether a district-year has nothing to count: no visit (counted or
// ignored), no site, no educator trained in the year or before.
func noFigures(m reach.DistrictMetrics) bool {
	return m.Sites == 0 && m.Visits == 0 && m.IgnoredVisits == 0 && m.EducatorsTrained == 0 &&
		m.EducatorsTrainedCumulative == 0 && m.EducatorsVisiting == 0 && len(m.PerSite) == 0
}

// rollup recomputes a year's state and national totals from its district aggregates,
// checks and publishes the suppressed view when it changed, and emits the year's metrics.
func (s *Service) rollup(ctx context.Context, year string, res *Result) error {
	items, err := s.Store.Aggregates(ctx, year, pthv.ItemPrefix("D"))
	if err != nil {
		return err
	}
	res.ItemsRead += len(items)
	res.Years = append(res.Years, year)
	var ds []reach.DistrictMetrics
	for _, name := range slices.Sorted(maps.Keys(items)) {
		var m reach.DistrictMetrics
		if err := json.Unmarshal(items[name], &m); err != nil {
			return fmt.Errorf("aggregate %s of %s: %w", name, year, err)
		}
		ds = append(ds, m)
	}
	nat, byState := reach.Rollup(year, ds)
	put := func(name string, v any) (bool, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return false, err
		}
		wrote, err := s.Store.PutAggregate(ctx, year, name, b)
		if wrote {
			res.ItemsWritten++
		}
		return wrote, err
	}
	for _, st := range slices.Sorted(maps.Keys(byState)) {
		if _, err := put(stateItem(st), byState[st]); err != nil {
			return err
		}
	}
	if _, err := put(national, nat); err != nil {
		return err
	}
	pub := reach.Publish(year, nat, byState, ds)
	if err := pub.Check(); err != nil {
		return fmt.Errorf("reach %s: the published view fails its check, nothing published: %w", year, err)
	}
	changed, err := put(published, pub)
	if err != nil {
		return err
	}
	if wrote, err := s.Store.PutAggregate(ctx, yearsIndex, year, []byte(`{}`)); err != nil {
		return err
	} else if wrote {
		res.ItemsWritten++
	}
	if changed {
		if err := s.publish(ctx, year, pub); err != nil {
			return err
		}
		res.Published = append(res.Published, year)
	}
	s.emitMetrics(pub)
	return nil
}

// publish writes the year's views: the whole suppressed view (for the API and national
// staff), each district's part of it that changed (for the district's own staff) and the
// public file, national and by state.
func (s *Service) publish(ctx context.Context, year string, pub reach.Published) error {
	full, err := json.MarshalIndent(pub, "", "  ")
	if err != nil {
		return err
	}
	old, err := s.previous(ctx, year)
	if err != nil {
		return err
	}
	if err := s.Blobs.Put(ctx, s.ReportsBucket, PublishedKey(year), "application/json", full); err != nil {
		return err
	}
	if err := s.publishDistricts(ctx, year, old, pub); err != nil {
		return err
	}
	public, err := json.MarshalIndent(PublicView(pub, s.now()), "", "  ")
	if err != nil {
		return err
	}
	return s.Blobs.Put(ctx, s.ReportsBucket, PublicKey(year), "application/json", public)
}

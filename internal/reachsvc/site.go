package reachsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/reach"
)

// Keys of the dashboard's objects in the reports bucket, besides PublicKey and PublishedKey.
const (
	// YearsKey lists the published years (YearsFile), for the dashboard.
	YearsKey = "public/reach/years.json"
	// SiteManifestKey records the hash of every file of the dashboard as last written, so
	// that a run rewrites only what changed.
	SiteManifestKey = "public/site.json"
)

// PublishedDistrictKey is a district's own part of the suppressed view of a year, which the
// district's role may read (the staff dashboard, through a presigned link).
func PublishedDistrictKey(district, year string) string {
	return pthv.Key("published", "reach", "districts", district, year+".json")
}

// SiteFile is a file of the dashboard, written under public/ of the reports bucket next to
// the data (functions/reach wires internal/dashboard's files in).
type SiteFile struct {
	Path        string // under public/, e.g. "index.html"
	ContentType string
	Body        []byte
}

// YearsFile is public/reach/years.json: the school years with published figures, ascending.
type YearsFile struct {
	Years []string `json:"years"`
}

// DistrictView is published/reach/districts/{id}/{year}.json: the district's row and sites
// of the year's suppressed view, and when they were published. District is null when the
// district no longer has figures for the year.
type DistrictView struct {
	Year      string             `json:"year"`
	Generated time.Time          `json:"generated"`
	District  *reach.DistrictRow `json:"district"`
	Sites     []reach.SiteRow    `json:"sites"`
}

// districtParts splits a published view into each district's row and sites.
func districtParts(p *reach.Published) map[string]DistrictView {
	out := map[string]DistrictView{}
	if p == nil {
		return out
	}
	for i := range p.Districts {
		d := p.Districts[i]
		out[d.District] = DistrictView{Year: p.Year, District: &d, Sites: []reach.SiteRow{}}
	}
	for _, s := range p.Sites {
		v := out[s.District]
		v.Sites = append(v.Sites, s)
		out[s.District] = v
	}
	return out
}

// publishDistricts writes the districts' parts of a newly published view that differ from
// the previous view's (old: nil when there was none), and an empty part for a district that
// no longer has figures.
func (s *Service) publishDistricts(ctx context.Context, year string, old *reach.Published, pub reach.Published) error {
	before, after := districtParts(old), districtParts(&pub)
	same := func(a, b DistrictView) bool {
		x, _ := json.Marshal([]any{a.District, a.Sites})
		y, _ := json.Marshal([]any{b.District, b.Sites})
		return bytes.Equal(x, y)
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[id]; !ok {
			after[id] = DistrictView{Year: year, Sites: []reach.SiteRow{}}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(after)) {
		v := after[id]
		if b, ok := before[id]; ok && same(b, v) {
			continue
		}
		v.Generated = s.now().Truncate(time.Second)
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := s.Blobs.Put(ctx, s.ReportsBucket, PublishedDistrictKey(id, year), "application/json", body); err != nil {
			return err
		}
	}
	return nil
}

// previous reads the published view of year as last written, or nil.
func (s *Service) previous(ctx context.Context, year string) (*reach.Published, error) {
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, PublishedKey(year))
	if errors.Is(err, pthv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p reach.Published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil // unreadable: every district's part is rewritten
	}
	return &p, nil
}

// publishSite writes the dashboard's files and the list of years under public/ where they
// differ from what the manifest says was last written, and returns the paths it wrote. It
// reads the manifest and the years index: two reads per run, and no write when nothing
// changed.
func (s *Service) publishSite(ctx context.Context) ([]string, error) {
	years, err := s.Store.Aggregates(ctx, yearsIndex, "")
	if err != nil {
		return nil, err
	}
	yb, err := json.Marshal(YearsFile{Years: slices.Sorted(maps.Keys(years))})
	if err != nil {
		return nil, err
	}
	files := append(slices.Clone(s.Site), SiteFile{Path: "reach/years.json", ContentType: "application/json", Body: yb})
	manifest := map[string]string{}
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, SiteManifestKey)
	switch {
	case errors.Is(err, pthv.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("dashboard manifest: %w", err)
	default:
		_ = json.Unmarshal(b, &manifest) // unreadable: everything is rewritten
	}
	next := map[string]string{}
	var wrote []string
	for _, f := range files {
		sum := sha256.Sum256(append([]byte(f.ContentType+"\n"), f.Body...))
		h := hex.EncodeToString(sum[:])
		next[f.Path] = h
		if manifest[f.Path] == h {
			continue
		}
		// pthv:own-key (the dashboard's own file paths, fixed in the code)
		if err := s.Blobs.Put(ctx, s.ReportsBucket, "public/"+f.Path, f.ContentType, f.Body); err != nil {
			return wrote, err
		}
		wrote = append(wrote, f.Path)
	}
	if len(wrote) == 0 && maps.Equal(manifest, next) {
		return nil, nil
	}
	mb, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return wrote, err
	}
	return wrote, s.Blobs.Put(ctx, s.ReportsBucket, SiteManifestKey, "application/json", mb)
}

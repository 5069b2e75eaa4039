package reachsvc

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/reach"
)

func TestTheDashboardIsWrittenWhenItChangesOnly(t *testing.T) {
	ins, _ := reach.Synth(3, reach.SynthOptions{Year: year, States: 2})
	st := newStore(t, ins)
	svc, blobs, _ := newService(st)
	svc.Site = []SiteFile{
		{Path: "index.html", ContentType: "text/html; charset=utf-8", Body: []byte("<!doctype html>v1")},
		{Path: "assets/dashboard.js", ContentType: "text/javascript; charset=utf-8", Body: []byte("'use strict';")},
	}
	ctx := context.Background()
	res, err := svc.Full(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"index.html", "assets/dashboard.js", "reach/years.json"}; !slices.Equal(res.Site, want) {
		t.Fatalf("first run wrote %v, want %v", res.Site, want)
	}
	var yf YearsFile
	if err := json.Unmarshal(blobs.objs[YearsKey], &yf); err != nil || !slices.Contains(yf.Years, year) ||
		!slices.Equal(yf.Years, slices.Sorted(maps.Keys(aggs(t, st, yearsIndex)))) {
		t.Fatalf("years %s (%v); the index holds %v", blobs.objs[YearsKey], err, slices.Sorted(maps.Keys(aggs(t, st, yearsIndex))))
	}
	if string(blobs.objs["public/index.html"]) != "<!doctype html>v1" || string(blobs.objs["public/assets/dashboard.js"]) != "'use strict';" {
		t.Fatalf("public/index.html %q", blobs.objs["public/index.html"])
	}

	// Nothing changed: nothing is written, not even the manifest.
	blobs.puts = nil
	if res, err = svc.Full(ctx); err != nil {
		t.Fatal(err)
	}
	if len(res.Site) != 0 || len(blobs.puts) != 0 {
		t.Fatalf("an unchanged run wrote %v (site %v)", blobs.puts, res.Site)
	}

	// A new version of one file: that file and the manifest are written.
	svc.Site[0].Body = []byte("<!doctype html>v2")
	if res, err = svc.Full(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Site, []string{"index.html"}) || !slices.Equal(blobs.puts, []string{"public/index.html", SiteManifestKey}) {
		t.Fatalf("after a change: site %v, puts %v", res.Site, blobs.puts)
	}

	// A new year appears in the list.
	other := "2031-2032"
	if slices.Contains(yf.Years, other) {
		t.Fatalf("%s already listed", other)
	}
	more, _ := reach.Synth(4, reach.SynthOptions{Year: other, States: 1})
	more[0].District = ins[0].District
	for _, v := range more[0].Visits {
		v.ID = "n-" + v.ID
		putVisit(t, st, ins[0].District, v)
	}
	blobs.puts = nil
	if _, err = svc.Recompute(ctx, []DistrictYear{{District: ins[0].District, Year: other}}); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(yf.Years)
	if err := json.Unmarshal(blobs.objs[YearsKey], &yf); err != nil || !slices.Equal(yf.Years, append(before, other)) {
		t.Fatalf("years %s (%v)", blobs.objs[YearsKey], err)
	}
}

func TestEachDistrictGetsItsOwnPartOfTheView(t *testing.T) {
	ins, _ := reach.Synth(5, reach.SynthOptions{Year: year, States: 3, DistrictsPerState: [2]int{2, 3}})
	st := newStore(t, ins)
	svc, blobs, _ := newService(st)
	ctx := context.Background()
	if _, err := svc.Full(ctx); err != nil {
		t.Fatal(err)
	}
	var pub reach.Published
	if err := json.Unmarshal(blobs.objs[PublishedKey(year)], &pub); err != nil {
		t.Fatal(err)
	}
	if len(pub.Districts) < 4 {
		t.Fatalf("only %d districts", len(pub.Districts))
	}
	for _, d := range pub.Districts {
		var v DistrictView
		if err := json.Unmarshal(blobs.objs[PublishedDistrictKey(d.District, year)], &v); err != nil {
			t.Fatalf("%s: %v", d.District, err)
		}
		var sites []reach.SiteRow
		for _, s := range pub.Sites {
			if s.District == d.District {
				sites = append(sites, s)
			}
		}
		if v.Year != year || v.Generated.IsZero() || v.District == nil || len(v.Sites) != d.Sites {
			t.Fatalf("%s: %+v", d.District, v)
		}
		if diff := cmp.Diff(d, *v.District, cmp.AllowUnexported(reach.Count{})); diff != "" {
			t.Fatalf("%s's row (-view +own):\n%s", d.District, diff)
		}
		if diff := cmp.Diff(sites, v.Sites, cmp.AllowUnexported(reach.Count{})); diff != "" {
			t.Fatalf("%s's sites (-view +own):\n%s", d.District, diff)
		}
	}

	// One district's figures change: its part is rewritten, no district of another state's is.
	target := pub.Districts[0]
	var own []reach.Visit
	for _, in := range ins {
		if in.District != target.District {
			continue
		}
		v := in.Visits[0]
		v.ID, v.Status, v.Number, v.Date, v.Family, v.Students = "extra", "completed", 1, "2026-03-03", "fam-x", []string{"stu-x"}
		putVisit(t, st, in.District, v)
		own = append(slices.Clone(in.Visits), v)
	}
	blobs.puts = nil
	if _, err := svc.Recompute(ctx, []DistrictYear{{District: target.District, Year: year}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(blobs.puts, PublishedDistrictKey(target.District, year)) {
		t.Fatalf("the changed district's part was not rewritten: %v", blobs.puts)
	}
	for _, d := range pub.Districts {
		if d.State != target.State && slices.Contains(blobs.puts, PublishedDistrictKey(d.District, year)) {
			t.Errorf("%s (%s) was rewritten though only %s (%s) changed", d.District, d.State, target.District, target.State)
		}
	}

	// A district whose visits are all cancelled (corrected logs) keeps an object that says it
	// has no figures.
	for _, v := range own {
		v.Status = "cancelled"
		putVisit(t, st, target.District, v)
	}
	if _, err := svc.Recompute(ctx, []DistrictYear{{District: target.District, Year: year}}); err != nil {
		t.Fatal(err)
	}
	b := string(blobs.objs[PublishedDistrictKey(target.District, year)])
	if !strings.Contains(b, `"district": null`) || !strings.Contains(b, `"sites": []`) {
		t.Fatalf("a district without figures: %s", b)
	}
}

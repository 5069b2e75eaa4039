package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/pthv/reach/internal/reach"
)

// TestDashboardShowsASmallNationAsUnder10: in a year when a single state with a single
// district has sites, the national totals are that district's, suppressed where they are
// under 10; the public page's headline, trend table, trend chart and map tip show them as
// "<10", never as 0 or a number, and whole counts (sites, states, educators) as numbers.
func TestDashboardShowsASmallNationAsUnder10(t *testing.T) {
	st := dashboardStack(t, "pthv-dsmall-")
	shapes := []reach.SynthOptions{
		{Year: "2024-2025", States: 3},
		{Year: "2025-2026", States: 1, DistrictsPerState: [2]int{1, 1}, SitesPerDistrict: [2]int{1, 1}, FamiliesPerSite: [2]int{2, 3}},
	}
	pubs := publishSynthetic(t, st, shapes, time.Now().UTC().Truncate(time.Second))
	small, big := pubs["2025-2026"], pubs["2024-2025"]
	if small.National.States != 1 || !small.National.Visits.IsSuppressed() || big.National.Visits.IsSuppressed() {
		t.Fatalf("the data: %+v / %+v", small.National, big.National)
	}

	b := newBrowser(t, 1280, 900)
	b.open(st.Dashboard.URL() + "/")
	checkHeadline(t, b, small.National, small.Year)
	if got := eval[string](b, `document.querySelector('[data-key=visits] dd').textContent`); got != "<10" {
		t.Errorf("headline visits %q, want <10", got)
	}
	_, trend := b.table("trend-table")
	if len(trend) != 2 || trend[1][0] != small.Year || trend[1][3] != "<10" || trend[0][3] != shown(big.National.Visits) || trend[1][1] != commas(small.National.Sites) {
		t.Errorf("trend table %v", trend)
	}
	title := eval[string](b, `document.querySelector('#trend-chart svg title').textContent`)
	if !strings.Contains(title, small.Year+", <10") || !strings.Contains(title, big.Year+", "+shown(big.National.Visits)) {
		t.Errorf("the chart's text equivalent: %q", title)
	}
	labels := eval[[]string](b, `[...document.querySelectorAll('#trend-chart svg text.value')].map((e) => e.textContent)`)
	if len(labels) != 2 || labels[1] != "<10" {
		t.Errorf("the chart's bar labels: %q", labels)
	}
	s := small.States[0]
	for _, row := range small.States {
		if row.Sites > 0 {
			s = row
		}
	}
	if cls := eval[string](b, `document.querySelector('#map [data-state="`+s.State+`"]').className`); strings.Contains(cls, "bin-0") {
		t.Errorf("the map paints %s, which has a site, as a state without sites: %q", s.State, cls)
	}
	b.hover(`#map button.tile[data-state="` + s.State + `"]`)
	checkTip(t, b, s, small.Year)
	if p := b.problems(); len(p) > 0 {
		t.Errorf("console errors: %v", p)
	}
}

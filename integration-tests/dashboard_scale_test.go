package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
)

// publishSynthetic publishes, straight to the stack's reports bucket, what the reach
// function would publish for Synth's districts of each shape (one shape per year): the
// suppressed views, the public files, the list of years and the dashboard's files. It
// returns the public files by year. (Recomputing a national year from records on moto
// takes hours: see BenchmarkReach.)
func publishSynthetic(t testing.TB, st *devstack.Stack, shapes []reach.SynthOptions, now time.Time) map[string]reachsvc.Public {
	t.Helper()
	ctx := context.Background()
	bl := blob.New(devstack.AWSConfig(st.Endpoint))
	bucket := st.Names.ReportsBucket
	put := func(key, ct string, body []byte) {
		if err := bl.Put(ctx, bucket, key, ct, body); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]reachsvc.Public{}
	var years []string
	for i, shape := range shapes {
		ins, _ := reach.Synth(2023, shape)
		var ds []reach.DistrictMetrics
		for _, in := range ins {
			ds = append(ds, reach.ComputeDistrict(in))
		}
		nat, byState := reach.Rollup(shape.Year, ds)
		pub := reach.Publish(shape.Year, nat, byState, ds)
		if err := pub.Check(); err != nil {
			t.Fatal(err)
		}
		full, _ := json.Marshal(pub)
		put(reachsvc.PublishedKey(shape.Year), "application/json", full)
		public := reachsvc.PublicView(pub, now.Add(time.Duration(i-len(shapes))*24*time.Hour))
		b, _ := json.MarshalIndent(public, "", "  ")
		put(reachsvc.PublicKey(shape.Year), "application/json", b)
		out[shape.Year] = public
		years = append(years, shape.Year)
	}
	yb, _ := json.Marshal(reachsvc.YearsFile{Years: years})
	put(reachsvc.YearsKey, "application/json", yb)
	for _, f := range dashboard.Files() {
		put("public/"+f.Path, f.ContentType, f.Body)
	}
	return out
}

// dashboardStack starts a stack of its own on moto for a browser test (skipped without
// chromium), closed when the test ends.
func dashboardStack(t *testing.T, prefix string) *devstack.Stack {
	t.Helper()
	chromiumPath(t)
	rb := make([]byte, 4)
	rand.Read(rb)
	st, err := devstack.StartStack(context.Background(), devstack.StackOptions{Prefix: prefix + hex.EncodeToString(rb), Endpoint: moto.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestDashboardAtNationalScale loads the public page with three national years (800 sites
// in 40 states each, twice PTHV's 2022-23 reach) and logs the Largest Contentful Paint from
// Chromium's performance timeline and the bytes the page transferred; the baseline is the
// same page's HTML and CSS without its script and data, measured in the same browser. It
// checks the headline figures; the time is reported, never asserted.
func TestDashboardAtNationalScale(t *testing.T) {
	st := dashboardStack(t, "pthv-dscale-")
	var shapes []reach.SynthOptions
	for i, y := range []string{"2023-2024", "2024-2025", "2025-2026"} {
		s := nationalShape
		s.Year = y
		s.FamiliesPerSite = [2]int{40 + 8*i, 50 + 8*i}
		shapes = append(shapes, s)
	}
	pubs := publishSynthetic(t, st, shapes, time.Now().UTC().Truncate(time.Second))
	last := pubs["2025-2026"]
	if last.National.Sites < 700 || last.National.States != 40 {
		t.Fatalf("national shape: %d sites in %d states", last.National.Sites, last.National.States)
	}
	// The baseline: the page without script or data.
	bl := blob.New(devstack.AWSConfig(st.Endpoint))
	var index []byte
	for _, f := range dashboard.Files() {
		if f.Path == "index.html" {
			index = f.Body
		}
	}
	bare := strings.Replace(string(index), `<script src="assets/dashboard.js" defer></script>`, "", 1)
	if err := bl.Put(context.Background(), st.Names.ReportsBucket, "public/baseline.html", "text/html; charset=utf-8", []byte(bare)); err != nil {
		t.Fatal(err)
	}

	measure := func(path string, check bool) (lcp, kib float64, parts map[string]float64) {
		b := newBrowser(t, 1280, 900)
		if path == "/" {
			b.open(st.Dashboard.URL() + path)
		} else {
			b.do("open", chromedp.Navigate(st.Dashboard.URL()+path))
		}
		var m struct {
			LCP   float64            `json:"lcp"`
			Bytes map[string]float64 `json:"bytes"`
		}
		raw := eval[[]byte](b, `new Promise((resolve) => {
			new PerformanceObserver((list) => {
				const es = list.getEntries();
				const nav = performance.getEntriesByType('navigation')[0];
				const bytes = { html: nav.transferSize };
				for (const r of performance.getEntriesByType('resource')) {
					const k = r.name.endsWith('.js') ? 'js' : r.name.endsWith('.css') ? 'css' : r.name.endsWith('.json') ? 'data' : 'other';
					bytes[k] = (bytes[k] || 0) + r.transferSize;
				}
				resolve({ lcp: es[es.length - 1].startTime, bytes });
			}).observe({ type: 'largest-contentful-paint', buffered: true });
		})`)
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		total := 0.0
		parts = map[string]float64{}
		for k, v := range m.Bytes {
			parts[k] = v / 1024
			total += v
		}
		if check {
			if p := b.problems(); len(p) > 0 {
				t.Errorf("console errors at national scale: %v", p)
			}
			for k, want := range map[string]string{"sites": commas(last.National.Sites), "states": commas(last.National.States), "visits": shown(last.National.Visits), "educatorsTrained": commas(last.National.EducatorsTrained)} {
				got := eval[string](b, fmt.Sprintf(`document.querySelector('[data-key=%s] dd').textContent`, k))
				if got != want {
					t.Errorf("headline %s: %q, want %s", k, got, want)
				}
			}
			if n := eval[int](b, `document.querySelectorAll('#state-table tbody tr').length`); n != 40 {
				t.Errorf("%d state rows, want 40", n)
			}
			b.hover(`#map button.tile[data-state="` + last.States[len(last.States)/2].State + `"]`)
			b.screenshot(screenshotDir(), "public-national-desktop.png")
			b.phone()
			b.checkNoSideScroll("the public page on a phone")
			b.screenshot(screenshotDir(), "public-national-phone.png")
		}
		return m.LCP, total / 1024, parts
	}
	// Alternate the page and its baseline, each in a fresh browser, and take the medians.
	var lcps, bases []float64
	var kib, baseKiB float64
	var parts map[string]float64
	for i := 0; i < 3; i++ {
		b, bk, _ := measure("/baseline.html", false)
		l, k, p := measure("/", i == 0)
		bases, lcps = append(bases, b), append(lcps, l)
		kib, baseKiB, parts = k, bk, p
	}
	slices.Sort(lcps)
	slices.Sort(bases)
	lcp, base := lcps[1], bases[1]
	t.Logf("public page at national scale (3 years, %d sites, %d states, %s home visits in %s): Largest Contentful Paint %.0f ms (baseline without script and data %.0f ms, ratio %.2f); transfer %.1f KiB (html %.1f, js %.1f, css %.1f, data %.1f, other %.1f; baseline %.1f KiB), gzip as CloudFront compresses",
		last.National.Sites, last.National.States, shown(last.National.Visits), last.Year, lcp, base, lcp/base, kib, parts["html"], parts["js"], parts["css"], parts["data"], parts["other"], baseKiB)
}

// commas writes n as the page does (en-US grouping).
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

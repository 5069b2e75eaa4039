package integration

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/reach"
	"github.com/pthv/reach/internal/reachsvc"
)

// TestDashboardInABrowser publishes demo-like figures through the functions on the local
// stack and uses both pages in headless chromium as a person would: headline figures
// against the published JSON, another year, a state by mouse and by keyboard, sorting,
// filtering, suppressed cells, the CSV download against the table, a district's own view,
// the console, contrast, a phone-sized screen, and names in the data that are HTML.
func TestDashboardInABrowser(t *testing.T) {
	chromiumPath(t)
	e := newEnv(t, nil)
	d := publishDemoData(t, e)
	base := e.stack.Dashboard.URL()
	latest, other := d.years[1], d.years[0]

	// The dashboard's responses carry the strict policy, as CloudFront's do.
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != dashboard.ContentSecurityPolicy {
		t.Fatalf("GET /: %d, policy %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	t.Run("the public page", func(t *testing.T) {
		b := newBrowser(t, 1280, 900)
		b.open(base + "/")
		checkHeadline(t, b, d.public[latest].National, latest)
		checkStateTable(t, b, d.public[latest])
		if got := eval[string](b, `document.querySelector('#published time').getAttribute('datetime')`); got != d.public[latest].Generated.Format(time.RFC3339) {
			t.Errorf("published time %s, want %s", got, d.public[latest].Generated.Format(time.RFC3339))
		}
		// The trend: a row per published year, with the national visits.
		_, trend := b.table("trend-table")
		if len(trend) != len(d.years) || trend[0][0] != other || trend[1][3] != shown(d.public[latest].National.Visits) {
			t.Errorf("trend table %v", trend)
		}
		if title := eval[string](b, `document.querySelector('#trend-chart svg title').textContent`); !strings.Contains(title, latest+", "+shown(d.public[latest].National.Visits)) {
			t.Errorf("the chart's text equivalent: %q", title)
		}

		// Another year, with the keyboard: the list runs from the latest year down.
		b.do("choose "+other, chromedp.Focus("#year"))
		b.key(kb.ArrowDown)
		b.waitFor("the other year", fmt.Sprintf(`document.body.dataset.rendered === %q`, other+"|"))
		checkHeadline(t, b, d.public[other].National, other)
		checkStateTable(t, b, d.public[other])

		// A state by mouse, then another by keyboard focus: the tip gives its figures.
		var onMap []reach.TotalsRow
		for _, s := range d.public[other].States {
			if len(s.State) == 2 && s.Sites > 0 {
				onMap = append(onMap, s)
			}
		}
		if len(onMap) < 2 {
			t.Fatalf("states on the map: %+v", onMap)
		}
		b.hover(fmt.Sprintf(`#map button.tile[data-state=%q]`, onMap[0].State))
		checkTip(t, b, onMap[0], other)
		b.key(kb.Escape)
		b.waitFor("Escape to hide the tip", `document.getElementById('map-tip').hidden`)
		b.do("focus the year", chromedp.Focus("#year"))
		focused := ""
		for i := 0; i < 60 && focused == ""; i++ {
			b.key(kb.Tab)
			focused = eval[string](b, `document.activeElement.matches('button.tile') ? document.activeElement.dataset.state : ''`)
		}
		if focused == "" {
			t.Fatal("Tab never reached a state of the map")
		}
		i := slices.IndexFunc(onMap, func(s reach.TotalsRow) bool { return s.State == focused })
		if i < 0 {
			t.Fatalf("focus reached %s, which has no sites", focused)
		}
		checkTip(t, b, onMap[i], other)
		b.checkContrast("the public page, tip shown")

		// Sorting the state table by home visits, up then down.
		for _, dir := range []string{"ascending", "descending"} {
			b.click(`#state-table th button[data-key="visits"]`)
			b.waitFor("sorted "+dir, fmt.Sprintf(`document.querySelector('#state-table th[aria-sort]') && document.querySelector('#state-table th[aria-sort]').getAttribute('aria-sort') === %q`, dir))
			_, rows := b.table("state-table")
			col := numbers(t, rows, 3)
			if !slices.IsSorted(col) == (dir == "ascending") && len(col) > 1 {
				t.Errorf("%s: home visits %v", dir, col)
			}
			if dir == "descending" && slices.IsSorted(col) && col[0] != col[len(col)-1] {
				t.Errorf("descending: home visits %v", col)
			}
		}

		// A state whose name is HTML is shown as those characters, and nothing ran.
		_, rows := b.table("state-table")
		if !slices.ContainsFunc(rows, func(r []string) bool { return r[0] == hostileState }) {
			t.Errorf("no state row reads %q: %v", hostileState, rows)
		}
		if v := eval[string](b, `String(window.__pwned)`); v != "undefined" {
			t.Errorf("script from the data ran: %s", v)
		}
		if n := eval[int](b, `document.scripts.length`); n != 1 {
			t.Errorf("%d script elements", n)
		}
		if p := b.problems(); len(p) > 0 {
			t.Errorf("console errors on the public page: %v", p)
		}
		b.screenshot(screenshotDir(), "public-desktop.png")
		b.phone()
		b.checkNoSideScroll("the public page on a phone")
		b.checkContrast("the public page on a phone")
		b.screenshot(screenshotDir(), "public-phone.png")
		b.desktop()

		// The policy blocks script injected into the page: an HTML sink throws (Trusted
		// Types), and an inline script does not run.
		got := eval[map[string]string](b, `(() => {
			window.__violations = [];
			document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective));
			const r = {};
			try { document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__pwned = 1">'); r.html = 'inserted'; } catch (e) { r.html = e.name; }
			const s = document.createElement('script');
			try { s.textContent = 'window.__pwned = 2'; document.body.append(s); r.script = 'appended'; } catch (e) { r.script = e.name; }
			return r;
		})()`)
		b.waitFor("a policy violation", `window.__violations.length > 0`)
		if v := eval[string](b, `String(window.__pwned)`); v != "undefined" || got["html"] != "TypeError" {
			t.Errorf("injection: %v, window.__pwned %s, violations %v", got, v, eval[[]string](b, `window.__violations`))
		}
	})

	t.Run("the staff page for national staff", func(t *testing.T) {
		link := staffLink(t, e, "test", "test")
		b := newBrowser(t, 1280, 900)
		b.open(link)
		pub := d.published[latest]
		if got := eval[string](b, `document.querySelector('#published time').getAttribute('datetime')`); got != d.public[latest].Generated.Format(time.RFC3339) {
			t.Errorf("published time %s, want %s", got, d.public[latest].Generated.Format(time.RFC3339))
		}
		_, drows := b.table("districts-table")
		if len(drows) != len(pub.Districts) {
			t.Fatalf("%d district rows, the view has %d", len(drows), len(pub.Districts))
		}
		for i, dr := range pub.Districts {
			if drows[i][0] != dr.District || drows[i][3] != shown(dr.Visits) || drows[i][6] != shown(dr.FamiliesVisited) {
				t.Errorf("district row %v, want %+v", drows[i], dr)
			}
		}
		// d1's small site: its counts read <10, never 0 or blank.
		head, srows := b.table("sites-table")
		checkSites(t, head, srows, pub.Sites)
		small := slices.IndexFunc(pub.Sites, func(s reach.SiteRow) bool { return s.District == "d1" && s.Visits.IsSuppressed() })
		if small < 0 {
			t.Fatalf("no suppressed site of d1 in %+v", pub.Sites)
		}
		if srows[small][3] != "<10" || srows[small][6] != "<10" {
			t.Errorf("the small site reads %v", srows[small])
		}
		if note := eval[string](b, `document.getElementById('supp-note').textContent`); !strings.Contains(note, "<10 marks a suppressed count") {
			t.Errorf("note %q", note)
		}

		// Filtering by state: the tables and the headline follow.
		b.do("choose California", chromedp.Focus("#state-filter"))
		b.key("Calif") // a closed list selects by typing
		b.waitFor("the state filter", `document.body.dataset.rendered === '`+latest+`|CA'`)
		_, drows = b.table("districts-table")
		_, srows = b.table("sites-table")
		if len(drows) != 1 || drows[0][0] != "d1" || len(srows) != 2 {
			t.Errorf("CA: districts %v, sites %v", drows, srows)
		}
		ca := d.public[latest].States[slices.IndexFunc(d.public[latest].States, func(s reach.TotalsRow) bool { return s.State == "CA" })]
		if got := eval[string](b, `document.querySelector('[data-key=visits] dd').textContent`); got != shown(ca.Visits) {
			t.Errorf("CA headline visits %s, want %v", got, ca.Visits)
		}
		b.do("all states", chromedp.Focus("#state-filter"))
		b.key(kb.Home)
		b.waitFor("all states", `document.body.dataset.rendered === '`+latest+`|'`)
		if sel := eval[string](b, `document.getElementById('state-filter').selectedOptions[0].textContent`); sel != "All states" {
			t.Errorf("the state list shows %q", sel)
		}

		// Sorting the sites by home visits, largest first: suppressed cells sort lowest.
		b.click(`#sites-table th button[data-key="visits"]`)
		b.click(`#sites-table th button[data-key="visits"]`)
		b.waitFor("sites sorted", `document.querySelector('#sites-table th[aria-sort="descending"]') !== null`)
		head, srows = b.table("sites-table")
		col := numbers(t, srows, 3)
		if !slices.IsSortedFunc(col, func(a, b int) int { return b - a }) {
			t.Errorf("sites by home visits, descending: %v", col)
		}

		// The CSV download is exactly the table as shown.
		dir := t.TempDir()
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
			t.Fatal(err)
		}
		b.click("#sites-csv")
		want := filepath.Join(dir, "pthv-reach-sites-"+latest+".csv")
		if !waitFor(30*time.Second, func() bool { _, err := os.Stat(want); return err == nil }) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no %s downloaded (%v)", want, entries)
		}
		f, err := os.Open(want)
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != len(srows)+1 || !slices.Equal(records[0], head) {
			t.Fatalf("CSV %v, table %v %v", records, head, srows)
		}
		for i, r := range srows {
			if !slices.Equal(records[i+1], r) {
				t.Errorf("CSV row %d %v, table %v", i+1, records[i+1], r)
			}
		}
		b.checkContrast("the staff page")
		if p := b.problems(); len(p) > 0 {
			t.Errorf("console errors on the staff page: %v", p)
		}
		b.screenshot(screenshotDir(), "staff-desktop.png")
		b.phone()
		b.checkNoSideScroll("the staff page on a phone")
		b.screenshot(screenshotDir(), "staff-phone.png")
		b.desktop()

		// The other year: the school whose name is HTML shows as text.
		b.do("choose "+other, chromedp.Focus("#year"))
		b.key(kb.ArrowDown)
		b.waitFor("the other year", `document.body.dataset.rendered === '`+other+`|'`)
		_, srows = b.table("sites-table")
		checkSites(t, head, srows, d.published[other].Sites)
		if !slices.ContainsFunc(srows, func(r []string) bool { return r[0] == hostileSchool }) {
			t.Errorf("no site reads %q", hostileSchool)
		}
		if v := eval[string](b, `String(window.__pwned)`); v != "undefined" {
			t.Errorf("script from the data ran: %s", v)
		}
	})

	t.Run("the staff page for a district", func(t *testing.T) {
		link := staffLink(t, e, "district-d1", "secret-d1", "--district", "d1", "--expires", "5m")
		b := newBrowser(t, 1280, 900)
		b.open(link)
		_, drows := b.table("districts-table")
		_, srows := b.table("sites-table")
		var own []reach.SiteRow
		for _, s := range d.published[latest].Sites {
			if s.District == "d1" {
				own = append(own, s)
			}
		}
		if len(drows) != 1 || drows[0][0] != "d1" || len(srows) != len(own) {
			t.Fatalf("district d1 sees districts %v and sites %v", drows, srows)
		}
		for _, r := range srows {
			if r[1] != "d1" {
				t.Errorf("d1 sees another district's site: %v", r)
			}
		}
		if p := b.problems(); len(p) > 0 {
			t.Errorf("console errors: %v", p)
		}
		// The same link pointed at another district's view: refused, nothing shown.
		target := d.published[latest].Districts[0].District
		if target == "d1" {
			target = d.published[latest].Districts[1].District
		}
		tampered := strings.ReplaceAll(link, "districts%2Fd1%2F", "districts%2F"+target+"%2F")
		if tampered == link {
			t.Fatalf("no view of d1 in the link %s", link)
		}
		b.do("leave the page", chromedp.Navigate("about:blank"))
		b.open(tampered)
		_, drows = b.table("districts-table")
		status := eval[string](b, `document.getElementById('status').textContent`)
		if len(drows) != 0 || !strings.Contains(status, "could not be read (403)") {
			t.Errorf("d1's link for %s: rows %v, status %q", target, drows, status)
		}
	})
}

// shown is how the staff page writes a count.
func shown(c reach.Count) string {
	if n, ok := c.Value(); ok {
		return commas(n)
	}
	return "<10"
}

// numbers reads a column of counts ("<10" as -1).
func numbers(t *testing.T, rows [][]string, col int) []int {
	t.Helper()
	var out []int
	for _, r := range rows {
		if r[col] == "<10" {
			out = append(out, -1)
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(r[col], ",", ""))
		if err != nil {
			t.Fatalf("column %d of %v: %v", col, r, err)
		}
		out = append(out, n)
	}
	return out
}

func checkHeadline(t *testing.T, b *browser, want reach.TotalsRow, year string) {
	t.Helper()
	for k, v := range map[string]string{"sites": commas(want.Sites), "states": commas(want.States), "visits": shown(want.Visits), "educatorsTrained": commas(want.EducatorsTrained),
		"familiesVisited": shown(want.FamiliesVisited), "studentsReached": shown(want.StudentsReached), "schoolsAtThreshold": commas(want.SchoolsAtThreshold)} {
		if got := eval[string](b, fmt.Sprintf(`document.querySelector('[data-key=%s] dd').textContent`, k)); got != v {
			t.Errorf("%s headline %s: %q, the published JSON says %s", year, k, got, v)
		}
	}
}

func checkStateTable(t *testing.T, b *browser, p reachsvc.Public) {
	t.Helper()
	_, rows := b.table("state-table")
	if len(rows) != len(p.States) {
		t.Fatalf("%d state rows, the file has %d", len(rows), len(p.States))
	}
	for _, s := range p.States {
		i := slices.IndexFunc(rows, func(r []string) bool { return r[0] == stateName(s.State) })
		if i < 0 || rows[i][1] != commas(s.Sites) || rows[i][3] != shown(s.Visits) || rows[i][8] != commas(s.EducatorsTrained) {
			t.Errorf("state %s: row %v, want %+v", s.State, rows, s)
		}
	}
}

func checkTip(t *testing.T, b *browser, s reach.TotalsRow, year string) {
	t.Helper()
	b.waitFor("the tip of "+s.State, fmt.Sprintf(`!document.getElementById('map-tip').hidden && document.getElementById('map-tip').dataset.state === %q`, s.State))
	tip := eval[string](b, `document.getElementById('map-tip').innerText`)
	for _, want := range []string{stateName(s.State) + ", " + year, "Home visits\n" + shown(s.Visits), "Sites\n" + commas(s.Sites), "Educators trained\n" + commas(s.EducatorsTrained)} {
		if !strings.Contains(tip, want) {
			t.Errorf("the tip of %s reads %q: no %q", s.State, tip, want)
		}
	}
}

func checkSites(t *testing.T, head []string, rows [][]string, want []reach.SiteRow) {
	t.Helper()
	if len(rows) != len(want) || head[0] != "School" || head[3] != "Home visits" {
		t.Fatalf("%d site rows (head %v), the view has %d", len(rows), head, len(want))
	}
	for _, s := range want {
		name := s.Name
		if name == "" {
			name = s.School
		}
		i := slices.IndexFunc(rows, func(r []string) bool { return r[0] == name && r[1] == s.District })
		if i < 0 || rows[i][3] != shown(s.Visits) || rows[i][7] != shown(s.StudentsReached) {
			t.Errorf("site %s/%s: %v", s.District, s.School, rows)
		}
	}
}

// stateNames are the page's names of the state codes.
var stateNames = map[string]string{"AK": "Alaska", "ME": "Maine", "VT": "Vermont", "NH": "New Hampshire", "WA": "Washington", "ID": "Idaho", "MT": "Montana", "ND": "North Dakota", "MN": "Minnesota", "IL": "Illinois", "WI": "Wisconsin", "MI": "Michigan", "NY": "New York", "RI": "Rhode Island", "MA": "Massachusetts", "OR": "Oregon", "NV": "Nevada", "WY": "Wyoming", "SD": "South Dakota", "IA": "Iowa", "IN": "Indiana", "OH": "Ohio", "PA": "Pennsylvania", "NJ": "New Jersey", "CT": "Connecticut", "CA": "California", "UT": "Utah", "CO": "Colorado", "NE": "Nebraska", "MO": "Missouri", "KY": "Kentucky", "WV": "West Virginia", "VA": "Virginia", "MD": "Maryland", "DE": "Delaware", "AZ": "Arizona", "NM": "New Mexico", "KS": "Kansas", "AR": "Arkansas", "TN": "Tennessee", "NC": "North Carolina", "SC": "South Carolina", "DC": "District of Columbia", "OK": "Oklahoma", "LA": "Louisiana", "MS": "Mississippi", "AL": "Alabama", "GA": "Georgia", "HI": "Hawaii", "TX": "Texas", "FL": "Florida"}

// stateName is the page's name of a state code; a code it does not know shows as itself.
func stateName(code string) string {
	if n, ok := stateNames[code]; ok {
		return n
	}
	return code
}

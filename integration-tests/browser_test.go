package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium, headless, through the DevTools protocol
// (chromedp). `make test` installs chromium where it is missing; in CI (CI=true) a missing
// chromium fails the tests, elsewhere it skips them.

// chromiumPath returns the chromium to test with.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: the browser tests must run in CI (make test installs it with apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium, or make test): skipping the browser test outside CI")
	return ""
}

// browser is one headless chromium with one tab, and what its console said.
type browser struct {
	t   testing.TB
	ctx context.Context

	mobile bool // the phone viewport is on

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts chromium with a fresh profile and a window of width × height.
func newBrowser(t testing.TB, width, height int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first Run starts the browser (without a timeout, which would stop it).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions with a time limit; a failure ends the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\nconsole: %v", what, err, b.messages())
	}
}

// eval evaluates a JavaScript expression (promises awaited) and decodes its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v\nconsole: %v", js, err, b.messages())
	}
	return v
}

// waitFor waits until a JavaScript predicate is truthy.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	var err error
	for range 5 {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(45*time.Second)))
		// Right after a navigation the page's JavaScript context may be replaced under the
		// poll: poll again in the new one.
		if err == nil || !strings.Contains(err.Error(), "context") || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\nconsole: %v", what, js, err, b.messages())
	}
}

// messages returns what the console received so far.
func (b *browser) messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// problems returns the console's errors and uncaught exceptions so far.
func (b *browser) problems() []string {
	var out []string
	for _, m := range b.messages() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, m.String()+" ("+m.URL+")")
		}
	}
	return out
}

// open loads a page and waits for the dashboard to have rendered.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitFor("the dashboard to render", `document.body.dataset.ready === 'true' || document.body.dataset.ready === 'error'`)
	if s := eval[string](b, `document.body.dataset.ready`); s != "true" {
		b.t.Fatalf("the page %s failed: %s\nconsole: %v", url, eval[string](b, `document.getElementById('status').textContent`), b.messages())
	}
}

// rect is an element's box in the viewport.
type rect struct{ X, Y, W, H float64 }

// box scrolls an element into view and returns its box.
func (b *browser) box(sel string) rect {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return null; e.scrollIntoView({block: 'center'});
		const r = e.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, sel)
	r := eval[*rect](b, js)
	if r == nil {
		b.t.Fatalf("no element %s", sel)
	}
	return *r
}

// hover moves the mouse over the centre of an element, as a person pointing at it.
func (b *browser) hover(sel string) {
	b.t.Helper()
	r := b.box(sel)
	b.do("hover "+sel, chromedp.MouseEvent(chromedp.MouseMoved, r.X+r.W/2, r.Y+r.H/2))
}

// click clicks the centre of an element with the mouse.
func (b *browser) click(sel string) {
	b.t.Helper()
	r := b.box(sel)
	b.do("click "+sel, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
}

// key presses keys (kb constants or text) on the focused element.
func (b *browser) key(keys string) {
	b.t.Helper()
	b.do("key", chromedp.KeyEvent(keys))
}

// table returns a table's header and body rows as the page shows them (textContent).
func (b *browser) table(id string) (head []string, rows [][]string) {
	b.t.Helper()
	var t struct {
		Head []string
		Rows [][]string
	}
	raw := eval[[]byte](b, fmt.Sprintf(`(() => { const t = document.getElementById(%q);
		return { Head: [...t.querySelectorAll('thead th')].map(c => c.textContent),
		         Rows: [...t.querySelectorAll('tbody tr')].filter(r => !r.querySelector('td.empty')).map(r => [...r.cells].map(c => c.textContent)) }; })()`, id))
	if err := json.Unmarshal(raw, &t); err != nil {
		b.t.Fatal(err)
	}
	return t.Head, t.Rows
}

// screenshot saves a PNG of the whole page to dir/name: the viewport is stretched to the
// page's height for the capture (a capture beyond the viewport lays a phone page out wider).
func (b *browser) screenshot(dir, name string) string {
	b.t.Helper()
	w := eval[int64](b, `document.documentElement.clientWidth`)
	h := eval[int64](b, `document.documentElement.scrollHeight`)
	opts := []chromedp.EmulateViewportOption{}
	if b.mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	b.do("stretch the viewport", chromedp.EmulateViewport(w, h, opts...))
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if b.mobile {
		b.phone()
	} else {
		b.desktop()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// contrastJS finds the visible text whose contrast with its background is below WCAG 2.1
// AA (4.5:1, or 3:1 for large text: 24px, or 18.66px bold), computing colours as the browser
// resolved them: the text's colour (fill for SVG text) against the first opaque background
// of an ancestor (for SVG text, of the SVG's ancestors).
const contrastJS = `(() => {
  const lum = (c) => { const m = c.match(/rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/); if (!m) return null;
    const ch = [m[1], m[2], m[3]].map(Number).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return { l: 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2], a: m[4] === undefined ? 1 : Number(m[4]) }; };
  const bg = (e) => { for (; e && e.nodeType === 1; e = e.parentElement) { const c = lum(getComputedStyle(e).backgroundColor); if (c && c.a > 0.9) return c; } return lum('rgb(255, 255, 255)'); };
  const bad = []; let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const e = n.parentElement; const cs = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || e.closest('[hidden], .hidden, title, option')) continue;
    if (e.closest('.skip') && document.activeElement !== e.closest('.skip')) continue; // off screen until focused
    const svgText = e instanceof SVGElement;
    const fg = lum(svgText ? cs.fill : cs.color);
    const back = bg(svgText ? e.ownerSVGElement.parentElement : e);
    if (!fg) continue;
    const ratio = (Math.max(fg.l, back.l) + 0.05) / (Math.min(fg.l, back.l) + 0.05);
    const size = parseFloat(cs.fontSize) * (svgText ? e.ownerSVGElement.getBoundingClientRect().width / e.ownerSVGElement.viewBox.baseVal.width : 1);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) bad.push(n.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2) + ':1');
  }
  return { checked, bad };
})()`

// checkContrast fails the test for text below WCAG 2.1 AA contrast on the current page.
func (b *browser) checkContrast(where string) {
	b.t.Helper()
	r := eval[struct {
		Checked int      `json:"checked"`
		Bad     []string `json:"bad"`
	}](b, contrastJS)
	if r.Checked < 20 {
		b.t.Fatalf("%s: only %d text nodes checked for contrast", where, r.Checked)
	}
	if len(r.Bad) > 0 {
		b.t.Errorf("%s: text below WCAG AA contrast: %s", where, strings.Join(r.Bad, "; "))
	}
}

// screenshotDir is where the browser tests save screenshots: $PTHV_SCREENSHOTS, or
// bin/screenshots of the repository (the README shows one, copied to docs/).
func screenshotDir() string {
	if d := os.Getenv("PTHV_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("..", "bin", "screenshots")
}

// phone makes the page a phone's: 390 × 844 CSS pixels, touch, scale 2.
func (b *browser) phone() {
	b.t.Helper()
	b.mobile = true
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.waitFor("the phone layout", `document.documentElement.clientWidth <= 390 && (!document.querySelector('#trend-chart svg') ||
		+document.querySelector('#trend-chart svg').getAttribute('width') <= document.documentElement.clientWidth)`)
}

// checkNoSideScroll fails the test when the page is wider than the window (a phone would
// have to scroll sideways); wide tables scroll inside their own boxes instead.
func (b *browser) checkNoSideScroll(where string) {
	b.t.Helper()
	wide := eval[[]string](b, `(() => { const w = document.documentElement.clientWidth; const out = [];
		for (const e of document.body.querySelectorAll('*')) { if (e.closest('.table-wrap')) continue;
			const r = e.getBoundingClientRect(); if (r.right > w + 1 && r.width > 0) out.push(e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(r.right)); }
		return document.documentElement.scrollWidth > w ? [String(document.documentElement.scrollWidth) + ' > ' + w, ...out.slice(0, 10)] : []; })()`)
	if len(wide) > 0 {
		b.t.Errorf("%s: the page is wider than the window: %v", where, wide)
	}
}

// desktop undoes phone.
func (b *browser) desktop() {
	b.t.Helper()
	b.mobile = false
	b.do("desktop viewport", chromedp.ResetViewport())
}

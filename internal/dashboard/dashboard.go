// Package dashboard is PTHV Reach's dashboard: two static pages, embedded in the binary, that
// read the published reach files.
//
//   - index.html, the public page: for a chosen school year the headline figures as PTHV
//     shows them (sites, states, home visits, educators trained) and families visited,
//     students reached and schools at or above 10%; the trend across every published year
//     (an inline SVG chart and its table); a tile grid map of the states shaded by home
//     visits, each state's figures on hover and on keyboard focus; a state table. It reads
//     only public/reach/years.json and public/reach/{year}.json.
//   - staff.html, the staff page: the same, plus the districts and sites of the suppressed
//     view, suppressed cells shown as "<10" with a note, sorting, filtering by state, a CSV
//     download of exactly what a table shows, and the time the figures were published. It
//     reads the suppressed view only through presigned links that `pthv reach dashboard`
//     mints with the viewer's own AWS credentials and puts in the page's fragment
//     (StaffLink): national staff get published/reach/{year}.json, a district role only
//     published/reach/districts/{id}/{year}.json, as IAM allows.
//
// The files are plain HTML, CSS and JavaScript (site/), no framework and no build step.
// The reach function writes them under public/ of the reports bucket, next to the data,
// whenever they change (Files; internal/reachsvc); CloudFront serves public/ in AWS
// (infra/modules/dashboard) and Local serves the same objects on the local stack. Both send
// SecurityHeaders: a strict Content-Security-Policy (scripts from the page's origin only,
// no inline script, Trusted Types required), HSTS and the usual hardening headers.
package dashboard

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed site
var site embed.FS

// ContentSecurityPolicy is the policy every dashboard response carries, here and in
// CloudFront's response headers policy (the infra tests compare them). No inline script or
// style, nothing from another origin, no plugins, frames or forms, and Trusted Types so that
// no HTML string can reach an HTML sink.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// HSTSMaxAge is the Strict-Transport-Security max-age, in seconds (two years).
const HSTSMaxAge = 63072000

// SecurityHeaders are the response headers of every dashboard page and file, as CloudFront's
// response headers policy sets them.
func SecurityHeaders() map[string]string {
	return map[string]string{
		"Content-Security-Policy":   ContentSecurityPolicy,
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
	}
}

// EnvURL names the environment variable that holds the dashboard's address for `pthv reach
// dashboard` (Terraform's dashboard_url output; the local stack's env file).
const EnvURL = "DASHBOARD_URL"

// File is one file of the dashboard: its path under public/ and its content.
type File struct {
	Path        string // e.g. "index.html", "assets/dashboard.js"
	ContentType string
	Body        []byte
}

// Files returns the dashboard's files, sorted by path.
func Files() []File {
	var out []File
	err := fs.WalkDir(site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := site.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: strings.TrimPrefix(p, "site/"), ContentType: ContentType(p), Body: b})
		return nil
	})
	if err != nil {
		panic("dashboard: the embedded site cannot be read: " + err.Error()) // a build defect
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// ContentType is the media type the dashboard serves a file name with.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	case ".csv":
		return "text/csv; charset=utf-8"
	}
	return "application/octet-stream"
}

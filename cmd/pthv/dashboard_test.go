package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/reachsvc"
)

func TestReachDashboardRefusesBadFlags(t *testing.T) {
	t.Setenv("DASHBOARD_URL", "")
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"without an address", nil, "--url or DASHBOARD_URL"},
		{"with a link for seconds", []string{"--url", "http://127.0.0.1:1", "--expires", "10s"}, "--expires"},
		{"with a link for days", []string{"--url", "http://127.0.0.1:1", "--expires", "48h"}, "--expires"},
		{"with a bad district", []string{"--url", "http://127.0.0.1:1", "--district", "a/b"}, "is not a district id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"reach", "dashboard"}, c.args...)...)
			if code != 2 || !strings.Contains(stderr, c.msg) {
				t.Fatalf("exit %d, stderr %q (want 2 and %q)", code, stderr, c.msg)
			}
		})
	}
}

// The link carries one presigned view per published year, for the district asked for.
func TestReachDashboardSignsEveryPublishedYear(t *testing.T) {
	years := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/reach/years.json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"years":["2025-2026","2026-2027"]}`))
	}))
	defer years.Close()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-west-2",
		"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1", "AWS_MAX_ATTEMPTS": "1", "TABLE_NAME": "t", "DROPS_BUCKET": "d", "REPORTS_BUCKET": "reports",
		"INGEST_QUEUE_URL": "http://q", "AWS_ENDPOINT_URL": "", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": ""} {
		t.Setenv(k, v)
	}
	code, stdout, stderr := runCLI(t, "reach", "dashboard", "--url", years.URL+"/", "--district", "d1", "--expires", "5m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	u, err := url.Parse(strings.TrimSpace(stdout))
	if err != nil || u.Path != "/staff.html" {
		t.Fatalf("link %q (%v)", stdout, err)
	}
	frag, _ := url.ParseQuery(u.EscapedFragment())
	if frag.Get("scope") != "district" || frag.Get("district") != "d1" || frag.Get("expires") == "" {
		t.Fatalf("fragment %v", frag)
	}
	for _, y := range []string{"2025-2026", "2026-2027"} {
		v := frag.Get("y." + y)
		key, q, _ := strings.Cut(v, "?")
		vals, _ := url.ParseQuery(q)
		if key != "published/reach/districts/d1/"+y+".json" || vals.Get("X-Amz-Expires") != "300" || vals.Get("X-Amz-Signature") == "" ||
			!strings.HasPrefix(vals.Get("X-Amz-Credential"), "AKIDEXAMPLE/") {
			t.Errorf("view of %s: %q", y, v)
		}
	}
	if !strings.Contains(stderr, "district d1, 2025-2026, 2026-2027") {
		t.Errorf("stderr %q", stderr)
	}
}

// TestRecomputeSaysWhatItDid: the summary of pthv reach recompute names the years and says
// plainly when no published view changed, with counts written through plural.
func TestRecomputeSaysWhatItDid(t *testing.T) {
	var b strings.Builder
	printRecompute(&b, reachsvc.Result{DistrictYears: 1, Years: []string{"2026-2027"}, ItemsRead: 12, ItemsWritten: 1})
	printRecompute(&b, reachsvc.Result{DistrictYears: 3, Years: []string{"2025-2026", "2026-2027"}, ItemsRead: 1, Published: []string{"2026-2027"}})
	want := "recomputed 1 district-year (2026-2027): 12 items read, 1 aggregate item written; published: nothing: no published figure changed\n" +
		"recomputed 3 district-years (2025-2026, 2026-2027): 1 item read, 0 aggregate items written; published: 2026-2027\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

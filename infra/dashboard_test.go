package infra

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/reachsvc"
)

// TestDashboardIsServedAsTheCodeExpects: CloudFront serves public/ of the reports bucket with
// origin access control and the staff views with the viewer's presigned query; every response
// has internal/dashboard's policy and HSTS; the bucket admits the distribution only, under
// public/; the roles read exactly the keys internal/reachsvc writes.
func TestDashboardIsServedAsTheCodeExpects(t *testing.T) {
	bs := loadTerraform(t)
	dir := filepath.Join("modules", "dashboard")
	ctx := evalContext(bs, dir, "pthv-test")
	var csp, hsts cty.Value
	for _, b := range bs {
		if b.Type == "locals" && b.Dir == dir {
			if v, ok := b.value("content_security_policy", ctx); ok {
				csp = v
			}
			if v, ok := b.value("hsts_max_age", ctx); ok {
				hsts = v
			}
		}
	}
	if csp == cty.NilVal || csp.AsString() != dashboard.ContentSecurityPolicy {
		t.Errorf("Terraform's Content-Security-Policy %#v, internal/dashboard's %q", csp, dashboard.ContentSecurityPolicy)
	}
	if hsts == cty.NilVal || hsts.AsBigFloat().String() != strconv.Itoa(dashboard.HSTSMaxAge) {
		t.Errorf("Terraform's HSTS max-age %#v, internal/dashboard's %d", hsts, dashboard.HSTSMaxAge)
	}
	hp := resources(bs, "aws_cloudfront_response_headers_policy")
	if len(hp) != 1 {
		t.Fatalf("%d response headers policies", len(hp))
	}
	sec := hp[0].nested("security_headers_config")
	if len(sec) != 1 || len(sec[0].nested("content_security_policy")) != 1 || len(sec[0].nested("strict_transport_security")) != 1 {
		t.Fatal("the response headers policy sets no CSP or no HSTS")
	}
	c := sec[0].nested("content_security_policy")[0]
	h := sec[0].nested("strict_transport_security")[0]
	if c.text("content_security_policy") != "local.content_security_policy" || c.text("override") != "true" ||
		h.text("access_control_max_age_sec") != "local.hsts_max_age" || h.text("include_subdomains") != "true" || h.text("override") != "true" {
		t.Errorf("response headers policy: CSP %s (override %s), HSTS %s", c.text("content_security_policy"), c.text("override"), h.text("access_control_max_age_sec"))
	}

	ds := resources(bs, "aws_cloudfront_distribution")
	if len(ds) != 1 {
		t.Fatalf("%d distributions", len(ds))
	}
	d := ds[0]
	origins := map[string]block{}
	for _, o := range d.nested("origin") {
		origins[strings.Trim(o.text("origin_id"), `"`)] = o
	}
	if pub := origins["public"]; pub.Body == nil || pub.text("origin_path") != `"/public"` || !strings.Contains(pub.text("origin_access_control_id"), "aws_cloudfront_origin_access_control.") {
		t.Errorf("the public origin must be public/ with origin access control")
	}
	if st := origins["staff"]; st.Body == nil || st.text("origin_path") != "" || st.text("origin_access_control_id") != "" {
		t.Errorf("the staff origin must be the bucket itself without origin access control (the viewer's presigned query authorises)")
	}
	behaviours := append(d.nested("default_cache_behavior"), d.nested("ordered_cache_behavior")...)
	staffPath := ""
	for _, b := range behaviours {
		if !strings.Contains(b.text("response_headers_policy_id"), "aws_cloudfront_response_headers_policy.") {
			t.Errorf("a behaviour without the response headers policy: %s", b.text("path_pattern"))
		}
		if v := b.text("viewer_protocol_policy"); v != `"redirect-to-https"` && v != `"https-only"` {
			t.Errorf("a behaviour allows plain HTTP: %s", v)
		}
		if b.text("target_origin_id") == `"staff"` {
			staffPath = strings.Trim(b.text("path_pattern"), `"`)
			if !strings.Contains(b.text("origin_request_policy_id"), "aws_cloudfront_origin_request_policy.") {
				t.Error("the staff behaviour must forward the query string (an origin request policy)")
			}
		}
	}
	// The staff behaviour covers the keys `pthv reach dashboard` presigns, and only those.
	for _, key := range []string{reachsvc.PublishedKey("2026-2027"), reachsvc.PublishedDistrictKey("d1", "2026-2027")} {
		if staffPath == "" || !strings.HasPrefix("/"+key, strings.TrimSuffix(staffPath, "*")) {
			t.Errorf("the staff behaviour %q does not cover /%s", staffPath, key)
		}
	}
	for _, r := range resources(bs, "aws_cloudfront_origin_request_policy") {
		if qs := r.nested("query_strings_config"); len(qs) != 1 || qs[0].text("query_string_behavior") != `"all"` {
			t.Errorf("%s forwards no query string", r.key())
		}
	}

	// The bucket admits the distribution only, under public/ only; the root module puts that
	// statement in the reports bucket's policy.
	var local string
	for _, b := range bs {
		if b.Type == "locals" && b.Dir == dir && b.text("bucket_policy_json") != "" {
			local = b.text("bucket_policy_json")
		}
	}
	for _, want := range []string{`Resource  = "${var.reports_bucket_arn}/public/*"`, `Service = "cloudfront.amazonaws.com"`, `Condition = local.from_this_distribution`} {
		if !strings.Contains(local, want) {
			t.Errorf("the dashboard's bucket statement lacks %s:\n%s", want, local)
		}
	}
	var root string
	for _, b := range bs {
		if b.Type == "module" && b.Dir == "." && b.Labels[0] == "storage" {
			root = b.text("reports_policy_documents") + " " + b.text("key_policy_documents")
		}
	}
	if !strings.Contains(root, "module.dashboard.bucket_policy_json") || !strings.Contains(root, "module.dashboard.key_policy_json") {
		t.Errorf("the storage module does not get the dashboard's statements: %q", root)
	}

	// Who reads what: national staff the whole suppressed view, a district its own part.
	all := map[string]string{}
	for _, b := range bs {
		all[b.Dir] += b.all()
	}
	national := regexp.MustCompile(`"\$\{var\.reports_bucket_arn\}/([^"]*)"`).FindAllStringSubmatch(all[dir], -1)
	if len(national) == 0 || !strings.HasPrefix(reachsvc.PublishedKey("2026-2027"), strings.TrimSuffix(national[len(national)-1][1], "*")) {
		t.Errorf("the national staff role's dashboard read %v does not cover %s", national, reachsvc.PublishedKey("2026-2027"))
	}
	district := strings.ReplaceAll(reachsvc.PublishedDistrictKey("ID", "Y"), "ID", "${var.district_id}")
	district = district[:strings.LastIndex(district, "/")+1] + "*"
	if !strings.Contains(all[filepath.Join("modules", "district_access")], `"${var.reports_bucket_arn}/`+district+`"`) {
		t.Errorf("the district role does not read %s", district)
	}

	// The CLI finds the dashboard where Terraform says.
	for _, b := range bs {
		if b.Type == "output" && b.Dir == "." && b.Labels[0] == "cli_environment" && !strings.Contains(b.text("value"), dashboard.EnvURL+" ") {
			t.Errorf("cli_environment has no %s", dashboard.EnvURL)
		}
	}
}

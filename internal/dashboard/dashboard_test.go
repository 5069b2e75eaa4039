package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestFilesAreTheTwoPagesAndTheirAssets(t *testing.T) {
	got := map[string]string{}
	for _, f := range Files() {
		got[f.Path] = f.ContentType
		if len(f.Body) == 0 {
			t.Errorf("%s is empty", f.Path)
		}
	}
	for p, ct := range map[string]string{
		"index.html": "text/html; charset=utf-8", "staff.html": "text/html; charset=utf-8",
		"assets/dashboard.js": "text/javascript; charset=utf-8", "assets/dashboard.css": "text/css; charset=utf-8",
		"assets/icon.svg": "image/svg+xml",
	} {
		if got[p] != ct {
			t.Errorf("%s: content type %q, want %q (files %v)", p, got[p], ct, got)
		}
	}
}

// The pages must work under ContentSecurityPolicy: no inline script, no event handler
// attributes, no style attributes, nothing from another origin.
func TestPagesNeedNothingTheirPolicyForbids(t *testing.T) {
	script := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	for _, f := range Files() {
		if !strings.HasSuffix(f.Path, ".html") {
			continue
		}
		html := string(f.Body)
		ms := script.FindAllStringSubmatch(html, -1)
		if len(ms) == 0 {
			t.Errorf("%s loads no script", f.Path)
		}
		for _, m := range ms {
			if !strings.Contains(m[1], `src="assets/dashboard.js"`) || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s has an inline or foreign script: %s", f.Path, m[0])
			}
		}
		for _, bad := range []*regexp.Regexp{regexp.MustCompile(`(?i)\son[a-z]+\s*=`), regexp.MustCompile(`(?i)\sstyle\s*=`),
			regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`), regexp.MustCompile(`(?i)<style\b`)} {
			if m := bad.FindString(html); m != "" {
				t.Errorf("%s: %q is not allowed by the page's policy", f.Path, m)
			}
		}
	}
}

// The script writes data into the page as text only.
func TestScriptUsesNoHTMLSinks(t *testing.T) {
	var js string
	for _, f := range Files() {
		if f.Path == "assets/dashboard.js" {
			js = string(f.Body)
		}
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "setAttribute('on"} {
		if strings.Contains(js, sink) {
			t.Errorf("dashboard.js uses %s", sink)
		}
	}
	if !strings.Contains(js, "textContent") {
		t.Error("dashboard.js sets no textContent: is this the right file?")
	}
}

func TestStaffLinkCarriesTheViewsInTheFragment(t *testing.T) {
	exp := time.Date(2026, 12, 1, 12, 15, 0, 0, time.UTC)
	link, err := StaffLink("https://d111.cloudfront.net/", Staff{District: "d1", Expires: exp}, []View{
		{Year: "2026-2027", Key: "published/reach/districts/d1/2026-2027.json", URL: "https://b.s3.us-west-2.amazonaws.com/published/reach/districts/d1/2026-2027.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=abc"},
		{Year: "2025-2026", Key: "published/reach/districts/d1/2025-2026.json", URL: "http://127.0.0.1:5000/b/published/reach/districts/d1/2025-2026.json?X-Amz-Signature=def&x-id=GetObject"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "d111.cloudfront.net" || u.Path != "/staff.html" || u.RawQuery != "" {
		t.Fatalf("link %s", link)
	}
	frag, err := url.ParseQuery(u.EscapedFragment())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"scope": "district", "district": "d1", "expires": "2026-12-01T12:15:00Z",
		"y.2026-2027": "published/reach/districts/d1/2026-2027.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Signature=abc",
		"y.2025-2026": "published/reach/districts/d1/2025-2026.json?X-Amz-Signature=def&x-id=GetObject",
	}
	for k, v := range want {
		if frag.Get(k) != v {
			t.Errorf("fragment %s = %q, want %q", k, frag.Get(k), v)
		}
	}
	if len(frag) != len(want) {
		t.Errorf("fragment %v", frag)
	}
	for _, bad := range []View{
		{Year: "2026-2027", Key: "reports/d1/cohorts/x.csv", URL: "https://x/?X-Amz-Signature=a"},
		{Year: "2026-2027", Key: "published/reach/../x.json", URL: "https://x/?X-Amz-Signature=a"},
		{Year: "2026", Key: "published/reach/2026.json", URL: "https://x/?X-Amz-Signature=a"},
		{Year: "2026-2027", Key: "published/reach/2026-2027.json", URL: "https://x/published/reach/2026-2027.json"},
	} {
		if _, err := StaffLink("https://d111.cloudfront.net", Staff{}, []View{bad}); err == nil {
			t.Errorf("StaffLink accepted %+v", bad)
		}
	}
	if _, err := StaffLink("file:///tmp", Staff{}, nil); err == nil {
		t.Error("StaffLink accepted a file: address")
	}
}

// memObjects is S3 in memory for Local.
type memObjects map[string][]byte

func (m memObjects) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b, ok := m[aws.ToString(in.Key)]
	if !ok {
		return nil, &types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentType: aws.String(ContentType(aws.ToString(in.Key))),
		ContentLength: aws.Int64(int64(len(b))), LastModified: aws.Time(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))}, nil
}

const endpoint = "http://127.0.0.1:4566"

// presign makes a presigned GET of key with the SDK, as `pthv reach dashboard` does on the
// local stack (path-style, the stand-in's endpoint), and returns the path and query the page
// asks its own origin for.
func presign(t *testing.T, key, secret, objKey string, at time.Time) string {
	t.Helper()
	cli := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	req, err := s3.NewPresignClient(cli, s3.WithPresignExpires(15*time.Minute)).PresignGetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String(objKey)}, func(o *s3.PresignOptions) {
			o.Presigner = signerAt{o.Presigner, at}
		})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	if u.Path != "/reports/"+objKey {
		t.Fatalf("presigned path %s", u.Path)
	}
	return "/" + objKey + "?" + u.RawQuery
}

// signerAt signs as if the clock read at.
type signerAt struct {
	s3.HTTPPresignerV4
	at time.Time
}

func (s signerAt) PresignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, h, svc, region string, _ time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return s.HTTPPresignerV4.PresignHTTP(ctx, c, r, h, svc, region, s.at, opts...)
}

func TestLocalServesThePublishedObjects(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	objs := memObjects{
		"public/index.html":                           []byte("<!doctype html><title>x</title>"),
		"public/reach/years.json":                     []byte(`{"years":["2026-2027"]}`),
		"published/reach/2026-2027.json":              []byte(`{"year":"2026-2027","districts":[]}`),
		"published/reach/districts/d1/2026-2027.json": []byte(`{"year":"2026-2027","district":{"district":"d1"}}`),
	}
	l := &Local{S3: objs, Bucket: "reports", Endpoint: endpoint, Region: "us-east-1", RolePrefix: "pthv",
		Principals: map[string]Principal{"nat": {SecretKey: "s-nat", Role: "pthv-national"}, "d1": {SecretKey: "s-d1", Role: "pthv-district-d1"},
			"other": {SecretKey: "s-o", Role: "someone-else"}},
		Now: func() time.Time { return now }}
	srv := httptest.NewServer(l)
	defer srv.Close()
	get := func(path string, gz bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, _ := io.ReadAll(r)
		return resp, string(b)
	}

	resp, body := get("/", true)
	if resp.StatusCode != 200 || body != string(objs["public/index.html"]) || resp.Header.Get("Content-Encoding") != "gzip" ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("/: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	for k, v := range SecurityHeaders() {
		if resp.Header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	if resp, body := get("/reach/years.json", false); resp.StatusCode != 200 || body != `{"years":["2026-2027"]}` || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("years: %d %q", resp.StatusCode, body)
	}

	signed := now.Add(-time.Minute)
	cases := []struct {
		name   string
		path   string
		status int
	}{
		{"national staff read the national view", presign(t, "nat", "s-nat", "published/reach/2026-2027.json", signed), 200},
		{"national staff read a district's view", presign(t, "nat", "s-nat", "published/reach/districts/d1/2026-2027.json", signed), 200},
		{"a district reads its own view", presign(t, "d1", "s-d1", "published/reach/districts/d1/2026-2027.json", signed), 200},
		{"a district may not read the national view", presign(t, "d1", "s-d1", "published/reach/2026-2027.json", signed), 403},
		{"a district may not read another district's view", presign(t, "d1", "s-d1", "published/reach/districts/d2/2026-2027.json", signed), 403},
		{"another role reads nothing", presign(t, "other", "s-o", "published/reach/2026-2027.json", signed), 403},
		{"a wrong secret is refused", presign(t, "d1", "wrong", "published/reach/districts/d1/2026-2027.json", signed), 403},
		{"an unknown key is refused", presign(t, "nobody", "x", "published/reach/2026-2027.json", signed), 403},
		{"an expired link is refused", presign(t, "nat", "s-nat", "published/reach/2026-2027.json", now.Add(-16*time.Minute)), 403},
		{"a link for another key is refused", strings.Replace(presign(t, "d1", "s-d1", "published/reach/districts/d1/2026-2027.json", signed), "districts/d1/", "districts/d1//../", 1), 404},
		{"a link moved to another object is refused", strings.Replace(presign(t, "d1", "s-d1", "published/reach/districts/d1/2026-2027.json", signed), "2026-2027.json?", "2025-2026.json?", 1), 403},
		{"an unsigned request is refused", "/published/reach/2026-2027.json", 403},
		{"nothing published is 404", presign(t, "nat", "s-nat", "published/reach/2019-2020.json", signed), 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(c.path, false)
			if resp.StatusCode != c.status {
				t.Fatalf("%s: %d, want %d: %s", c.path, resp.StatusCode, c.status, body)
			}
			if c.status == 200 && (resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, `"year":"2026-2027"`)) {
				t.Fatalf("%v %s", resp.Header, body)
			}
		})
	}
	if resp, _ := get("/missing.html", false); resp.StatusCode != 404 {
		t.Errorf("a missing page: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v", resp, err)
	}
}

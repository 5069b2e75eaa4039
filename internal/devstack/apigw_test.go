package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var (
	apigwfnOnce sync.Once
	apigwfnBin  []byte
	apigwfnErr  error
)

// apigwBootstrap returns the path of a fresh copy of testdata/apigwfn's bootstrap binary.
func apigwBootstrap(t testing.TB) string {
	t.Helper()
	apigwfnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "devstack-apigwfn-")
		if err != nil {
			apigwfnErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/apigwfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			apigwfnErr = fmt.Errorf("go build ./testdata/apigwfn: %v\n%s", err, b)
			return
		}
		apigwfnBin, apigwfnErr = os.ReadFile(out)
	})
	if apigwfnErr != nil {
		t.Fatal(apigwfnErr)
	}
	path := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(path, apigwfnBin, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTestAPI runs functions "api" and "other" (both apigwfn) behind an APIGateway with
// routes; it returns the gateway, closed when the test ends.
func startTestAPI(t *testing.T, routes []Route, principals map[string]IAMPrincipal, tweak ...func(*APIGateway)) *APIGateway {
	t.Helper()
	bin := apigwBootstrap(t)
	h, _ := startTestHost(t,
		FunctionConfig{Name: "api", Bootstrap: bin, Instances: 2},
		FunctionConfig{Name: "other", Bootstrap: bin})
	g := NewAPIGateway(h, routes, principals)
	for _, f := range tweak {
		f(g)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// message returns the "message" of an API Gateway error body.
func (r apiResponse) message(t *testing.T) string {
	t.Helper()
	var m struct{ Message *string }
	if err := json.Unmarshal(r.body, &m); err != nil || m.Message == nil {
		t.Fatalf("status %d: body %q is not {\"message\":...}", r.status, r.body)
	}
	return *m.Message
}

// event decodes the echoed event of a successful apigwfn answer, both as
// events.APIGatewayV2HTTPRequest and as generic JSON.
func (r apiResponse) event(t *testing.T) (events.APIGatewayV2HTTPRequest, map[string]any) {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	var raw map[string]any
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("status %d: body %q: %v", r.status, r.body, err)
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

func send(t *testing.T, req *http.Request) apiResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Apigw-Requestid") == "" {
		t.Errorf("%s %s: no apigw-requestid header", req.Method, req.URL)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func newReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t *testing.T, method, url string, body []byte) apiResponse {
	t.Helper()
	return send(t, newReq(t, method, url, body))
}

func wantStatus(t *testing.T, r apiResponse, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

func TestAPIGatewayRouting(t *testing.T) {
	g := startTestAPI(t, []Route{
		{Method: "GET", Path: "/v1/reach", Function: "api"},
		{Method: "GET", Path: "/v1/districts/{id}/reach", Function: "api"},
		{Method: "GET", Path: "/v1/districts/special/reach", Function: "other"},
		{Method: "ANY", Path: "/v1/items", Function: "other"},
		{Method: "POST", Path: "/v1/items", Function: "api"},
		{Method: "ANY", Path: "/v1/{proxy+}", Function: "other"},
		{Method: "get", Path: "/", Function: "api"},
	}, nil)
	u := g.URL()

	for _, c := range []struct {
		method, path, fn, routeKey string
		params                     map[string]string
	}{
		{"GET", "/v1/reach", "api", "GET /v1/reach", nil},
		{"GET", "/v1/districts/d-42/reach", "api", "GET /v1/districts/{id}/reach", map[string]string{"id": "d-42"}},
		{"GET", "/v1/districts/a%20b/reach", "api", "GET /v1/districts/{id}/reach", map[string]string{"id": "a b"}},
		{"GET", "/v1/districts/special/reach", "other", "GET /v1/districts/special/reach", nil},
		{"POST", "/v1/items", "api", "POST /v1/items", nil},
		{"PUT", "/v1/items", "other", "ANY /v1/items", nil},
		{"POST", "/v1/reach", "other", "ANY /v1/{proxy+}", map[string]string{"proxy": "reach"}},
		{"DELETE", "/v1/a/b/c", "other", "ANY /v1/{proxy+}", map[string]string{"proxy": "a/b/c"}},
		{"GET", "/v1/districts/d-1/reach/more", "other", "ANY /v1/{proxy+}", map[string]string{"proxy": "districts/d-1/reach/more"}},
		{"GET", "/", "api", "GET /", nil},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			r := do(t, c.method, u+c.path, nil)
			wantStatus(t, r, 200)
			if got := r.header.Get("X-Function"); got != c.fn {
				t.Errorf("function = %q, want %q", got, c.fn)
			}
			ev, _ := r.event(t)
			if ev.RouteKey != c.routeKey || ev.RequestContext.RouteKey != c.routeKey {
				t.Errorf("routeKey = %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, c.routeKey)
			}
			if !reflect.DeepEqual(ev.PathParameters, c.params) {
				t.Errorf("pathParameters = %v, want %v", ev.PathParameters, c.params)
			}
		})
	}

	for _, c := range []struct{ method, path string }{
		{"GET", "/nope"},
		{"GET", "/v1"},
		{"GET", "/v1/"},
		{"DELETE", "/"},
		{"GET", "/v2/reach"},
	} {
		r := do(t, c.method, u+c.path, nil)
		wantStatus(t, r, 404)
		if m := r.message(t); m != "Not Found" {
			t.Errorf("%s %s: message %q", c.method, c.path, m)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("404 content-type %q", ct)
		}
	}

	// $default catches what no other route matches.
	g2 := startTestAPI(t, []Route{
		{Method: "GET", Path: "/v1/reach", Function: "api"},
		{Path: "$default", Function: "other"},
	}, nil)
	r := do(t, "PATCH", g2.URL()+"/anything", nil)
	wantStatus(t, r, 200)
	if ev, _ := r.event(t); ev.RouteKey != "$default" || r.header.Get("X-Function") != "other" {
		t.Errorf("routeKey %q, function %q", ev.RouteKey, r.header.Get("X-Function"))
	}
}

func TestAPIGatewayEvent(t *testing.T) {
	g := startTestAPI(t, []Route{{Method: "GET", Path: "/v1/districts/{id}/reach", Function: "api"}}, nil)
	before := time.Now()
	req := newReq(t, "GET", g.URL()+"/v1/districts/d-7/reach?year=2024&state=CA&state=OR&flag&q=a+b%26c&status=201", nil)
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("User-Agent", "reach-test/1.0")
	req.Header.Set("Cookie", "c1=v1; c2=v2")
	r := send(t, req)
	wantStatus(t, r, 201)
	ev, raw := r.event(t)

	if ev.Version != "2.0" || ev.RawPath != "/v1/districts/d-7/reach" ||
		ev.RawQueryString != "year=2024&state=CA&state=OR&flag&q=a+b%26c&status=201" {
		t.Errorf("version %q rawPath %q rawQueryString %q", ev.Version, ev.RawPath, ev.RawQueryString)
	}
	wantQuery := map[string]string{"year": "2024", "state": "CA,OR", "flag": "", "q": "a b&c", "status": "201"}
	if !reflect.DeepEqual(ev.QueryStringParameters, wantQuery) {
		t.Errorf("queryStringParameters = %v, want %v", ev.QueryStringParameters, wantQuery)
	}
	if !reflect.DeepEqual(ev.PathParameters, map[string]string{"id": "d-7"}) {
		t.Errorf("pathParameters = %v", ev.PathParameters)
	}
	if !reflect.DeepEqual(ev.Cookies, []string{"c1=v1", "c2=v2"}) {
		t.Errorf("cookies = %v", ev.Cookies)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lower case", k)
		}
	}
	host := strings.TrimPrefix(g.URL(), "http://")
	for k, want := range map[string]string{
		"x-multi":           "one,two",
		"user-agent":        "reach-test/1.0",
		"host":              host,
		"x-forwarded-for":   "127.0.0.1",
		"x-forwarded-proto": "http",
		"x-forwarded-port":  host[strings.LastIndex(host, ":")+1:],
	} {
		if got := ev.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("the cookie header is in headers; it belongs in cookies")
	}
	if !strings.HasPrefix(ev.Headers["x-amzn-trace-id"], "Root=1-") {
		t.Errorf("x-amzn-trace-id = %q", ev.Headers["x-amzn-trace-id"])
	}

	rc := ev.RequestContext
	if rc.AccountID != localAccountID || len(rc.APIID) != 10 || rc.DomainName != "127.0.0.1" ||
		rc.Stage != "$default" || rc.RouteKey != "GET /v1/districts/{id}/reach" {
		t.Errorf("requestContext = %+v", rc)
	}
	if rc.HTTP != (events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: "GET", Path: "/v1/districts/d-7/reach", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "reach-test/1.0",
	}) {
		t.Errorf("requestContext.http = %+v", rc.HTTP)
	}
	if rc.RequestID == "" || rc.RequestID != r.header.Get("Apigw-Requestid") {
		t.Errorf("requestId %q, apigw-requestid header %q", rc.RequestID, r.header.Get("Apigw-Requestid"))
	}
	at, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time)
	if err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("time = %q (%v)", rc.Time, err)
	}
	if ms := rc.TimeEpoch; ms < before.UnixMilli() || ms > time.Now().UnixMilli() {
		t.Errorf("timeEpoch = %d", ms)
	}
	if ev.Body != "" || ev.IsBase64Encoded {
		t.Errorf("body %q, isBase64Encoded %v", ev.Body, ev.IsBase64Encoded)
	}
	if _, ok := raw["body"]; ok {
		t.Error("a request without body has a body field")
	}
	if _, ok := raw["requestContext"].(map[string]any)["authorizer"]; ok {
		t.Error("a NONE route has an authorizer")
	}
	if _, ok := raw["requestContext"].(map[string]any)["authentication"]; ok {
		t.Error("requestContext has authentication, which API Gateway sends only with mutual TLS")
	}
	if rc.Authorizer != nil {
		t.Errorf("authorizer = %+v", rc.Authorizer)
	}

	// The response object's headers and cookies.
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	if sc := r.header.Values("Set-Cookie"); !reflect.DeepEqual(sc, []string{"a=1; Path=/", "b=2"}) {
		t.Errorf("set-cookie = %q", sc)
	}

	// Every request gets its own id; the API id stays.
	r2 := do(t, "GET", g.URL()+"/v1/districts/x/reach", nil)
	wantStatus(t, r2, 200)
	ev2, raw2 := r2.event(t)
	if ev2.RequestContext.RequestID == rc.RequestID || ev2.RequestContext.APIID != rc.APIID {
		t.Errorf("request ids %q %q, api ids %q %q", rc.RequestID, ev2.RequestContext.RequestID, rc.APIID, ev2.RequestContext.APIID)
	}
	for _, k := range []string{"queryStringParameters", "cookies"} {
		if _, ok := raw2[k]; ok {
			t.Errorf("a request without them has %s", k)
		}
	}
}

func TestAPIGatewayBody(t *testing.T) {
	g := startTestAPI(t, []Route{{Method: "ANY", Path: "/v1/{proxy+}", Function: "api"}}, nil)
	for _, c := range []struct {
		name, contentType string
		body              []byte
		wantBody          string
		wantB64           bool
	}{
		{"json", "application/json", []byte(`{"a":1}`), `{"a":1}`, false},
		{"text", "text/csv; charset=utf-8", []byte("id,name\n1,Ana\n"), "id,name\n1,Ana\n", false},
		{"vendor json", "application/vnd.api+json", []byte(`{}`), `{}`, false},
		{"binary", "application/octet-stream", []byte{0, 1, 2, 0xff}, "AAEC/w==", true},
		{"zip", "application/zip", []byte("PK\x03\x04"), "UEsDBA==", true},
		{"invalid utf-8 text", "text/plain", []byte{'a', 0xff}, "Yf8=", true},
		{"form", "application/x-www-form-urlencoded", []byte("a=1&b=2"), "YT0xJmI9Mg==", true},
		{"no content type", "", []byte("x"), "eA==", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := newReq(t, "POST", g.URL()+"/v1/upload", c.body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			r := send(t, req)
			wantStatus(t, r, 200)
			ev, _ := r.event(t)
			if ev.Body != c.wantBody || ev.IsBase64Encoded != c.wantB64 {
				t.Errorf("body %q base64 %v, want %q %v", ev.Body, ev.IsBase64Encoded, c.wantBody, c.wantB64)
			}
		})
	}

	// A base64-encoded response body is decoded.
	r := do(t, "GET", g.URL()+"/v1/file?mode=binary", nil)
	wantStatus(t, r, 200)
	if !bytes.Equal(r.body, []byte{0, 1, 2, 0xff}) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("body %x content-type %q", r.body, r.header.Get("Content-Type"))
	}
}

func TestAPIGatewayResponseMapping(t *testing.T) {
	g := startTestAPI(t, []Route{{Method: "GET", Path: "/v1/{proxy+}", Function: "api"}}, nil)
	u := g.URL() + "/v1/x"

	r := do(t, "GET", u+"?status=418", nil)
	wantStatus(t, r, 418)

	// A value that is not a response object is the body of a 200 JSON response.
	r = do(t, "GET", u+"?mode=bare", nil)
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	var bare map[string]any
	if err := json.Unmarshal(r.body, &bare); err != nil || !reflect.DeepEqual(bare, map[string]any{"bare": true, "rawPath": "/v1/x"}) {
		t.Errorf("bare body %s (%v)", r.body, err)
	}
	r = do(t, "GET", u+"?mode=string", nil)
	wantStatus(t, r, 200)
	if string(r.body) != `"hello"` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("string body %q content-type %q", r.body, r.header.Get("Content-Type"))
	}

	// A function error, and a malformed response object, are 500s.
	for _, mode := range []string{"error", "badstatus"} {
		r = do(t, "GET", u+"?mode="+mode, nil)
		wantStatus(t, r, 500)
		if m := r.message(t); m != "Internal Server Error" {
			t.Errorf("mode %s: message %q", mode, m)
		}
	}
	// The function still works afterwards.
	wantStatus(t, do(t, "GET", u, nil), 200)
}

func TestParseLambdaHTTPResponse(t *testing.T) {
	for _, c := range []struct {
		name, payload string
		status        int
		header        http.Header
		body          string
		bad           bool
	}{
		{"response object", `{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"],"body":"hi"}`,
			201, http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1"}}, "hi", false},
		{"number and boolean header values", `{"statusCode":200,"headers":{"x-n":5,"x-b":true,"x-null":null}}`,
			200, http.Header{"X-N": {"5"}, "X-B": {"true"}}, "", false},
		{"status code in a string", `{"statusCode":"204"}`, 204, http.Header{}, "", false},
		{"multiValueHeaders ignored", `{"statusCode":200,"multiValueHeaders":{"x":["1","2"]},"body":"b"}`, 200, http.Header{}, "b", false},
		{"base64 body", `{"statusCode":200,"body":"AAE=","isBase64Encoded":true}`, 200, http.Header{}, "\x00\x01", false},
		{"not a response object", `{"a":1}`, 200, http.Header{"Content-Type": {"application/json"}}, `{"a":1}`, false},
		{"status code not a number", `{"statusCode":"abc"}`, 0, nil, "", true},
		{"status code out of range", `{"statusCode":42}`, 0, nil, "", true},
		{"header value an object", `{"statusCode":200,"headers":{"x":{}}}`, 0, nil, "", true},
		{"body not base64", `{"statusCode":200,"body":"%%","isBase64Encoded":true}`, 0, nil, "", true},
	} {
		status, hdr, body, err := parseLambdaHTTPResponse([]byte(c.payload))
		if c.bad {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil || status != c.status || !reflect.DeepEqual(hdr, c.header) || string(body) != c.body {
			t.Errorf("%s: %d %v %q %v, want %d %v %q", c.name, status, hdr, body, err, c.status, c.header, c.body)
		}
	}
}

func TestAPIGatewayIntegrationTimeout(t *testing.T) {
	g := startTestAPI(t, []Route{{Method: "GET", Path: "/slow", Function: "other"}}, nil,
		func(g *APIGateway) { g.timeout = 500 * time.Millisecond })
	start := time.Now()
	r := do(t, "GET", g.URL()+"/slow?mode=sleep&ms=3000", nil)
	wantStatus(t, r, 503)
	if m := r.message(t); m != "Service Unavailable" {
		t.Errorf("message %q", m)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("timed out after %v", d)
	}
}

func TestAPIGatewayConfig(t *testing.T) {
	h, err := NewHost([]FunctionConfig{{Name: "api", Bootstrap: apigwBootstrap(t)}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, c := range []struct {
		name  string
		route Route
		want  string
	}{
		{"unknown function", Route{Method: "GET", Path: "/a", Function: "nope"}, "not on the Host"},
		{"bad method", Route{Method: "FETCH", Path: "/a", Function: "api"}, "unsupported method"},
		{"bad auth", Route{Method: "GET", Path: "/a", Function: "api", Auth: "JWT"}, "unsupported authorization"},
		{"relative path", Route{Method: "GET", Path: "a", Function: "api"}, "must start with /"},
		{"partial variable", Route{Method: "GET", Path: "/a{b}", Function: "api"}, "whole segment"},
		{"greedy not last", Route{Method: "GET", Path: "/{p+}/a", Function: "api"}, "last segment"},
		{"variable twice", Route{Method: "GET", Path: "/{a}/{a}", Function: "api"}, "used twice"},
		{"empty segment", Route{Method: "GET", Path: "/a//b", Function: "api"}, "empty path segment"},
	} {
		g := NewAPIGateway(h, []Route{c.route}, nil)
		if err := g.Start(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
			g.Close()
			t.Errorf("%s: Start error %v, want %q", c.name, err, c.want)
		}
	}
	g := NewAPIGateway(h, []Route{
		{Method: "GET", Path: "/a", Function: "api"},
		{Method: "get", Path: "/a", Function: "api"},
	}, nil)
	if err := g.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("duplicate route: Start error %v", err)
	}

	// Start, URL, Close, and a second Start.
	g = NewAPIGateway(h, nil, nil)
	if g.URL() != "" {
		t.Errorf("URL before Start = %q", g.URL())
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q", g.URL())
	}
	if err := g.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	// The Host is not started: the gateway answers 404 for no route, and stops with Close.
	resp, err := http.Get(g.URL() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if err := g.Close(); err != nil || g.Close() != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(g.URL() + "/x"); err == nil {
		t.Error("gateway still serving after Close")
	}
}

// TestAPIGatewayHostNotStarted: a route whose Host is not running answers 503.
func TestAPIGatewayHostNotStarted(t *testing.T) {
	h, err := NewHost([]FunctionConfig{{Name: "api", Bootstrap: apigwBootstrap(t)}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	g := NewAPIGateway(h, []Route{{Method: "GET", Path: "/a", Function: "api"}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	r := do(t, "GET", g.URL()+"/a", nil)
	wantStatus(t, r, 503)
	// Ending Start's context closes the gateway.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(g.URL() + "/a"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway still serving after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package devstack

// A local stand-in for an Amazon API Gateway HTTP API with Lambda proxy integrations
// (payload format version 2.0), in the manner of `sam local start-api`: it turns HTTP
// requests into the events API Gateway sends, runs the route's function on a Host and
// turns the function's answer into the HTTP response.
//
// References:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Route authorization types.
const (
	AuthNone = "NONE"
	AuthIAM  = "AWS_IAM"
)

const (
	// apigwIntegrationTimeout is the maximum integration timeout of an HTTP API.
	apigwIntegrationTimeout = 30 * time.Second
	// apigwMaxBody is the maximum payload size of an HTTP API request.
	apigwMaxBody = 10 * 1024 * 1024
	// sigV4MaxSkew is how far the signing time may be from the gateway's clock.
	sigV4MaxSkew = 5 * time.Minute

	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Service    = "execute-api"
	sigV4TimeFormat = "20060102T150405Z"
	sigV4DateFormat = "20060102"
	apigwTimeFormat = "02/Jan/2006:15:04:05 -0700"
	routeKeyDefault = "$default"

	msgNotFound          = "Not Found"
	msgForbidden         = "Forbidden"
	msgInternal          = "Internal Server Error"
	msgUnavailable       = "Service Unavailable"
	msgTooLarge          = "Request Entity Too Large"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// Route is one route of an HTTP API, integrated with a Lambda function of the Host.
type Route struct {
	Method   string // "GET", "POST", ... or "ANY"; ignored for the "$default" route
	Path     string // API Gateway route syntax: "/v1/reach", "/v1/districts/{id}/reach", "/{proxy+}", or "$default"
	Function string // function name on the Host
	Auth     string // AuthNone ("NONE", also when empty) or AuthIAM ("AWS_IAM")
}

// IAMPrincipal is an IAM identity the gateway accepts on AWS_IAM routes, keyed in
// NewAPIGateway's principals by its access key id. When SecretKey is set, the request's
// Signature Version 4 signature is verified with it; when it is empty, only the access key
// is checked. The other fields fill requestContext.authorizer.iam.
type IAMPrincipal struct {
	AccessKey string // defaults to the map key
	SecretKey string
	AccountID string
	UserARN   string
	UserID    string
	CallerID  string
}

// APIGateway serves an HTTP API (payload format 2.0) in front of the functions of a Host,
// as API Gateway does:
//
//   - Routes are selected as API Gateway selects them: the most specific match wins (a
//     literal segment beats a {param}, which beats a greedy {name+}; a route with the
//     request's method beats ANY; "$default" comes last). Matching is on the decoded path.
//     A request no route matches gets 404 {"message":"Not Found"}.
//   - The function gets the version 2.0 event (see events.APIGatewayV2HTTPRequest): lower
//     case header names with repeated headers joined by commas, cookies in "cookies",
//     repeated query parameters joined by commas, path parameters, the request context
//     (stage "$default") and the body, base64-encoded unless it is UTF-8 text of a text
//     content type.
//   - On AWS_IAM routes the Authorization header must hold a SigV4 signature by a known
//     principal (verified when the principal has a SecretKey); otherwise 403 with API
//     Gateway's messages. The principal fills requestContext.authorizer.iam.
//   - A response object with "statusCode" gives status, headers, cookies (Set-Cookie) and
//     body (base64-decoded when isBase64Encoded); any other JSON value is returned as is
//     with status 200 and content-type application/json. A function error or a malformed
//     response gives 500 {"message":"Internal Server Error"}; an integration that does
//     not answer within 30 s gives 503 {"message":"Service Unavailable"} (the invocation
//     itself runs on, as on AWS). Every response carries an apigw-requestid header.
//
// An APIGateway is safe for concurrent use.
type APIGateway struct {
	host       *Host
	routes     []*apigwRoute
	principals map[string]IAMPrincipal
	cfgErr     error
	apiID      string
	timeout    time.Duration // integration timeout
	now        func() time.Time

	mu        sync.Mutex
	state     hostState
	srv       *http.Server
	served    chan struct{}
	done      chan struct{}
	url       string
	closeOnce sync.Once
}

// NewAPIGateway returns an HTTP API with routes in front of host's functions, accepting
// the IAM principals (keyed by access key id) on AWS_IAM routes. The routes are checked
// by Start.
func NewAPIGateway(host *Host, routes []Route, principals map[string]IAMPrincipal) *APIGateway {
	g := &APIGateway{
		host:       host,
		principals: make(map[string]IAMPrincipal, len(principals)),
		apiID:      newAPIID(),
		timeout:    apigwIntegrationTimeout,
		now:        time.Now,
		done:       make(chan struct{}),
	}
	for k, p := range principals {
		if p.AccessKey == "" {
			p.AccessKey = k
		}
		g.principals[k] = p
	}
	g.routes, g.cfgErr = compileRoutes(host, routes)
	return g
}

// Start starts serving on 127.0.0.1 (see URL) until Close is called or ctx ends.
//
// It fails when a route is invalid (unknown method or authorization type, a path that is
// not API Gateway route syntax, a function the Host does not have, or a route key used
// twice), when it was already called, after Close, or when no port can be opened.
func (g *APIGateway) Start(ctx context.Context) error {
	if g.cfgErr != nil {
		return g.cfgErr
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case hostStarted:
		return errors.New("api gateway: already started")
	case hostClosed:
		return errors.New("api gateway: closed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("api gateway: listen: %w", err)
	}
	g.url = "http://" + ln.Addr().String()
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second}
	g.served = make(chan struct{})
	g.state = hostStarted
	go func() {
		defer close(g.served)
		_ = g.srv.Serve(ln)
	}()
	if ctx != nil && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = g.Close()
			case <-g.done:
			}
		}()
	}
	return nil
}

// URL returns the base URL of the API (http://127.0.0.1:PORT); it is "" before Start.
func (g *APIGateway) URL() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.url
}

// Close stops the server. It does not close the Host. It may be called more than once.
func (g *APIGateway) Close() error {
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.state = hostClosed
		close(g.done)
		srv, served := g.srv, g.served
		g.mu.Unlock()
		if srv != nil {
			_ = srv.Close()
			<-served
		}
	})
	return nil
}

// ServeHTTP handles one API request; it lets the gateway be mounted on another server.
func (g *APIGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newAPIGWRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	if g.cfgErr != nil {
		writeAPIGWMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	body, tooLarge, err := readLimited(r.Body, apigwMaxBody)
	if err != nil {
		writeAPIGWMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if tooLarge {
		writeAPIGWMessage(w, http.StatusRequestEntityTooLarge, msgTooLarge)
		return
	}
	rt, params := g.match(r.Method, r.URL.Path)
	if rt == nil {
		writeAPIGWMessage(w, http.StatusNotFound, msgNotFound)
		return
	}
	var principal *IAMPrincipal
	if rt.iam {
		p, status, msg := g.authorize(r, body)
		if p == nil {
			writeAPIGWMessage(w, status, msg)
			return
		}
		principal = p
	}
	start := g.now()
	event := buildAPIGWEvent(r, body, rt, params, principal, g.apiID, reqID, start)
	payload, err := json.Marshal(event)
	if err != nil {
		writeAPIGWMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	if len(payload) > maxSyncPayload {
		writeAPIGWMessage(w, http.StatusRequestEntityTooLarge, msgTooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	res, err := g.host.Invoke(ctx, rt.function, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		g.host.logs.printf(rt.function, "API Gateway %s: integration timed out after %s", reqID, g.timeout)
		writeAPIGWMessage(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	case errors.Is(err, ErrHostClosed), errors.Is(err, ErrHostNotStarted):
		writeAPIGWMessage(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	case err != nil:
		writeAPIGWMessage(w, http.StatusInternalServerError, msgInternal)
		return
	case res.FunctionError != "":
		writeAPIGWMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	status, hdr, respBody, err := parseLambdaHTTPResponse(res.Payload)
	if err != nil {
		g.host.logs.printf(rt.function, "API Gateway %s: malformed Lambda proxy response: %v", reqID, err)
		writeAPIGWMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header()["Content-Type"] = nil // no sniffing: send no content type, as the function said
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(respBody)))
	w.WriteHeader(status)
	_, _ = w.Write(respBody)
}

func writeAPIGWMessage(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Routes.

type routeSegment struct {
	literal string
	param   string // {param} or, with greedy, {param+}
	greedy  bool
}

// rank orders segments by specificity: lower is more specific.
func (s routeSegment) rank() int {
	switch {
	case s.greedy:
		return 2
	case s.param != "":
		return 1
	}
	return 0
}

type apigwRoute struct {
	key      string // "GET /v1/reach", "ANY /{proxy+}" or "$default"
	method   string // "" for $default
	segs     []routeSegment
	deflt    bool
	function string
	iam      bool
}

var routeMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"HEAD": true, "OPTIONS": true, "ANY": true,
}

func compileRoutes(host *Host, routes []Route) ([]*apigwRoute, error) {
	if host == nil {
		return nil, errors.New("api gateway: nil Host")
	}
	out := make([]*apigwRoute, 0, len(routes))
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		rt, err := compileRoute(r)
		if err != nil {
			return nil, err
		}
		if host.fns[rt.function] == nil {
			return nil, fmt.Errorf("api gateway: route %s: function %q is not on the Host", rt.key, r.Function)
		}
		if seen[rt.key] {
			return nil, fmt.Errorf("api gateway: route %s defined twice", rt.key)
		}
		seen[rt.key] = true
		out = append(out, rt)
	}
	return out, nil
}

func compileRoute(r Route) (*apigwRoute, error) {
	rt := &apigwRoute{function: r.Function}
	switch r.Auth {
	case "", AuthNone:
	case AuthIAM:
		rt.iam = true
	default:
		return nil, fmt.Errorf("api gateway: route %s %s: unsupported authorization type %q", r.Method, r.Path, r.Auth)
	}
	if r.Path == routeKeyDefault {
		rt.key, rt.deflt = routeKeyDefault, true
		return rt, nil
	}
	rt.method = strings.ToUpper(r.Method)
	if !routeMethods[rt.method] {
		return nil, fmt.Errorf("api gateway: route %s %s: unsupported method %q", r.Method, r.Path, r.Method)
	}
	rt.key = rt.method + " " + r.Path
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("api gateway: route %s: path must start with /", rt.key)
	}
	names := map[string]bool{}
	parts := strings.Split(r.Path[1:], "/")
	for i, p := range parts {
		if !strings.ContainsAny(p, "{}") {
			if p == "" && len(parts) > 1 {
				return nil, fmt.Errorf("api gateway: route %s: empty path segment", rt.key)
			}
			rt.segs = append(rt.segs, routeSegment{literal: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") || strings.Count(p, "{") != 1 || strings.Count(p, "}") != 1 {
			return nil, fmt.Errorf("api gateway: route %s: a path variable must be a whole segment", rt.key)
		}
		name := p[1 : len(p)-1]
		seg := routeSegment{}
		if strings.HasSuffix(name, "+") {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("api gateway: route %s: a greedy path variable must be the last segment", rt.key)
			}
			name, seg.greedy = strings.TrimSuffix(name, "+"), true
		}
		if name == "" || strings.ContainsAny(name, "+") {
			return nil, fmt.Errorf("api gateway: route %s: invalid path variable %q", rt.key, p)
		}
		if names[name] {
			return nil, fmt.Errorf("api gateway: route %s: path variable %q used twice", rt.key, name)
		}
		names[name] = true
		seg.param = name
		rt.segs = append(rt.segs, seg)
	}
	return rt, nil
}

// matchPath reports whether the path segments match rt, with the path parameters.
func (rt *apigwRoute) matchPath(segs []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range rt.segs {
		if s.greedy {
			if i >= len(segs) {
				return nil, false
			}
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			set(s.param, rest)
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if s.param != "" {
			if segs[i] == "" {
				return nil, false
			}
			set(s.param, segs[i])
			continue
		}
		if segs[i] != s.literal {
			return nil, false
		}
	}
	return params, len(segs) == len(rt.segs)
}

// moreSpecific reports whether route a takes precedence over b for a request both match.
func moreSpecific(a, b *apigwRoute) bool {
	if a.deflt != b.deflt {
		return b.deflt
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if ra, rb := a.segs[i].rank(), b.segs[i].rank(); ra != rb {
			return ra < rb
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.method != "ANY" && b.method == "ANY"
}

func (g *APIGateway) match(method, path string) (*apigwRoute, map[string]string) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	segs := strings.Split(path[1:], "/")
	var best *apigwRoute
	var bestParams map[string]string
	for _, rt := range g.routes {
		var params map[string]string
		if !rt.deflt {
			if rt.method != "ANY" && rt.method != method {
				continue
			}
			var ok bool
			if params, ok = rt.matchPath(segs); !ok {
				continue
			}
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestParams = rt, params
		}
	}
	return best, bestParams
}

// The version 2.0 event. Its JSON is what API Gateway sends; it decodes into
// events.APIGatewayV2HTTPRequest.

type apigwEvent struct {
	Version               string              `json:"version"`
	RouteKey              string              `json:"routeKey"`
	RawPath               string              `json:"rawPath"`
	RawQueryString        string              `json:"rawQueryString"`
	Cookies               []string            `json:"cookies,omitempty"`
	Headers               map[string]string   `json:"headers"`
	QueryStringParameters map[string]string   `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string   `json:"pathParameters,omitempty"`
	RequestContext        apigwRequestContext `json:"requestContext"`
	Body                  string              `json:"body,omitempty"`
	IsBase64Encoded       bool                `json:"isBase64Encoded"`
}

type apigwRequestContext struct {
	AccountID    string           `json:"accountId"`
	APIID        string           `json:"apiId"`
	Authorizer   *apigwAuthorizer `json:"authorizer,omitempty"`
	DomainName   string           `json:"domainName"`
	DomainPrefix string           `json:"domainPrefix"`
	HTTP         apigwHTTP        `json:"http"`
	RequestID    string           `json:"requestId"`
	RouteKey     string           `json:"routeKey"`
	Stage        string           `json:"stage"`
	Time         string           `json:"time"`
	TimeEpoch    int64            `json:"timeEpoch"`
}

type apigwHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

type apigwAuthorizer struct {
	IAM *apigwIAM `json:"iam"`
}

type apigwIAM struct {
	AccessKey       string    `json:"accessKey"`
	AccountID       string    `json:"accountId"`
	CallerID        string    `json:"callerId"`
	CognitoIdentity *struct{} `json:"cognitoIdentity"` // always null
	PrincipalOrgID  *string   `json:"principalOrgId"`  // always null
	UserARN         string    `json:"userArn"`
	UserID          string    `json:"userId"`
}

func buildAPIGWEvent(r *http.Request, body []byte, rt *apigwRoute, params map[string]string,
	principal *IAMPrincipal, apiID, reqID string, now time.Time) *apigwEvent {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := &apigwEvent{
		Version:        "2.0",
		RouteKey:       rt.key,
		RawPath:        r.URL.Path, // HTTP APIs pass the decoded path
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		PathParameters: params,
	}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[lk] = strings.Join(vs, ",")
	}
	ev.Headers["host"] = r.Host
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		ev.Headers["x-forwarded-for"] = sourceIP
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(la.String()); err == nil {
			ev.Headers["x-forwarded-port"] = port
		}
	}
	ev.Headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		ev.Headers["x-forwarded-proto"] = "https"
	}
	if ev.Headers["x-amzn-trace-id"] == "" {
		ev.Headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hexID(12))
	}
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery) // like API Gateway, keep what parses
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		if isTextBody(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	domain := r.Host
	if h, _, err := net.SplitHostPort(domain); err == nil {
		domain = h
	}
	prefix := domain
	if net.ParseIP(domain) == nil {
		prefix, _, _ = strings.Cut(domain, ".")
	}
	ev.RequestContext = apigwRequestContext{
		AccountID:    localAccountID,
		APIID:        apiID,
		DomainName:   domain,
		DomainPrefix: prefix,
		HTTP: apigwHTTP{
			Method:    r.Method,
			Path:      r.URL.Path,
			Protocol:  r.Proto,
			SourceIP:  sourceIP,
			UserAgent: r.Header.Get("User-Agent"),
		},
		RequestID: reqID,
		RouteKey:  rt.key,
		Stage:     routeKeyDefault,
		Time:      now.UTC().Format(apigwTimeFormat),
		TimeEpoch: now.UnixMilli(),
	}
	if principal != nil {
		ev.RequestContext.Authorizer = &apigwAuthorizer{IAM: &apigwIAM{
			AccessKey: principal.AccessKey,
			AccountID: principal.AccountID,
			CallerID:  principal.CallerID,
			UserARN:   principal.UserARN,
			UserID:    principal.UserID,
		}}
	}
	return ev
}

// isTextBody reports whether API Gateway passes a body of this content type as text
// rather than base64.
func isTextBody(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-javascript", "application/graphql", "application/yaml", "application/x-yaml":
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// parseLambdaHTTPResponse maps a function's answer to an HTTP response by the rules of
// payload format 2.0.
func parseLambdaHTTPResponse(payload []byte) (status int, hdr http.Header, body []byte, err error) {
	hdr = http.Header{}
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil || obj["statusCode"] == nil {
		// Not a response object: API Gateway returns the value itself as JSON.
		hdr.Set("Content-Type", "application/json")
		return http.StatusOK, hdr, payload, nil
	}
	var resp struct {
		StatusCode      json.Number    `json:"statusCode"`
		Headers         map[string]any `json:"headers"`
		Cookies         []string       `json:"cookies"`
		Body            *string        `json:"body"`
		IsBase64Encoded bool           `json:"isBase64Encoded"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return 0, nil, nil, err
	}
	code, err := strconv.Atoi(resp.StatusCode.String())
	if err != nil || code < 100 || code > 599 {
		return 0, nil, nil, fmt.Errorf("invalid statusCode %s", obj["statusCode"])
	}
	for k, v := range resp.Headers {
		switch v := v.(type) {
		case string:
			hdr.Set(k, v)
		case json.Number, bool:
			hdr.Set(k, fmt.Sprint(v))
		case nil:
		default:
			return 0, nil, nil, fmt.Errorf("header %s is not a string", k)
		}
	}
	for _, c := range resp.Cookies {
		hdr.Add("Set-Cookie", c)
	}
	if resp.Body != nil {
		body = []byte(*resp.Body)
		if resp.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(*resp.Body); err != nil {
				return 0, nil, nil, fmt.Errorf("body is not base64: %w", err)
			}
		}
	}
	return code, hdr, body, nil
}

// IAM authorization: Signature Version 4 in the Authorization header.

type sigV4Header struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseSigV4Authorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=HEX".
func parseSigV4Authorization(h string) (sigV4Header, bool) {
	var out sigV4Header
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return out, false
	}
	var cred, signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return out, false
		}
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			out.signature = v
		}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] == "" || scope[4] != "aws4_request" || signed == "" || out.signature == "" {
		return out, false
	}
	if _, err := hex.DecodeString(out.signature); err != nil {
		return out, false
	}
	out.accessKey, out.date, out.region, out.service = scope[0], scope[1], scope[2], scope[3]
	out.signedHeaders = strings.Split(signed, ";")
	return out, true
}

// authorize checks the request's SigV4 Authorization header. It returns the principal,
// or nil with the status and message API Gateway answers with.
func (g *APIGateway) authorize(r *http.Request, body []byte) (*IAMPrincipal, int, string) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, http.StatusForbidden, msgForbidden
	}
	sig, ok := parseSigV4Authorization(authz)
	if !ok {
		return nil, http.StatusForbidden, msgForbidden
	}
	p, ok := g.principals[sig.accessKey]
	if !ok {
		return nil, http.StatusForbidden, msgInvalidToken
	}
	if p.SecretKey == "" {
		return &p, 0, ""
	}
	if sig.service != sigV4Service {
		return nil, http.StatusForbidden, "Credential should be scoped to correct service: '" + sigV4Service + "'. "
	}
	if sig.region != Region {
		return nil, http.StatusForbidden, "Credential should be scoped to a valid region. "
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, http.StatusForbidden, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	signedAt, err := time.Parse(sigV4TimeFormat, amzDate)
	if err != nil {
		return nil, http.StatusForbidden, "Date must be in ISO-8601 'basic format'. Got '" + amzDate + "'."
	}
	if d := signedAt.Format(sigV4DateFormat); d != sig.date {
		return nil, http.StatusForbidden, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			sig.date, d, amzDate)
	}
	now := g.now().UTC()
	switch {
	case signedAt.Before(now.Add(-sigV4MaxSkew)):
		return nil, http.StatusForbidden, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.Add(-sigV4MaxSkew).Format(sigV4TimeFormat), now.Format(sigV4TimeFormat))
	case signedAt.After(now.Add(sigV4MaxSkew)):
		return nil, http.StatusForbidden, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			amzDate, now.Add(sigV4MaxSkew).Format(sigV4TimeFormat), now.Format(sigV4TimeFormat))
	}
	hostSigned := false
	for _, h := range sig.signedHeaders {
		hostSigned = hostSigned || h == "host"
	}
	if !hostSigned {
		return nil, http.StatusForbidden, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	}
	canonical := canonicalRequest(r, sig.signedHeaders, payloadHash(r, body))
	scope := strings.Join([]string{sig.date, sig.region, sig.service, "aws4_request"}, "/")
	stringToSign := strings.Join([]string{sigV4Algorithm, amzDate, scope, sha256Hex([]byte(canonical))}, "\n")
	key := hmacSHA256([]byte("AWS4"+p.SecretKey), []byte(sig.date))
	key = hmacSHA256(key, []byte(sig.region))
	key = hmacSHA256(key, []byte(sig.service))
	key = hmacSHA256(key, []byte("aws4_request"))
	want := hex.EncodeToString(hmacSHA256(key, []byte(stringToSign)))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig.signature))) {
		return nil, http.StatusForbidden, msgSignatureMismatch +
			"\n\nThe Canonical String for this request should have been\n'" + canonical +
			"'\n\nThe String-to-Sign should have been\n'" + stringToSign + "'\n"
	}
	return &p, 0, ""
}

// payloadHash is the hash the signature covers: X-Amz-Content-Sha256 when the client sent
// it (which must then be the body's hash, or UNSIGNED-PAYLOAD), else the body's hash.
func payloadHash(r *http.Request, body []byte) string {
	actual := sha256Hex(body)
	h := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case h == "":
		return actual
	case h == "UNSIGNED-PAYLOAD", strings.EqualFold(h, actual):
		return h
	}
	return actual // a claimed hash that does not match the body cannot verify
}

// canonicalRequest builds the SigV4 canonical request as the signer on the client did.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	// The path as sent on the wire, URI-encoded once more (as for every service but S3).
	rawPath := r.RequestURI
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		rawPath = rawPath[:i]
	}
	if rawPath == "" || !strings.HasPrefix(rawPath, "/") {
		rawPath = r.URL.EscapedPath()
	}
	if rawPath == "" {
		rawPath = "/"
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(sigV4Escape(rawPath, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			values = r.Header.Values(name)
		}
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.Fields(v), " "))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalQuery encodes each name and value, then sorts the pairs (by name, then value).
func canonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{sigV4Escape(k, true), sigV4Escape(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// sigV4Escape percent-encodes every byte but the unreserved characters (and '/' unless
// encodeSlash).
func sigV4Escape(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// newAPIID returns a random API id like API Gateway's (10 lower-case letters and digits).
func newAPIID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newAPIGWRequestID returns a request id in the form HTTP APIs use ("JKJaXmPLvHcESHA=").
func newAPIGWRequestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

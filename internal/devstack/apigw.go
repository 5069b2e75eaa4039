package devstack

// A local stand-in for an Amazon API Gateway HTTP API with Lambda proxy integrations
// (payload format version 2.0), in the manner of `sam local start-api`: it turns HTTP
// requests into the events API Gateway sends, runs the route's function on a Host and
// turns the function's answer into the HTTP response. This file holds the gateway's types
// and its request path (ServeHTTP); apigw_routes.go selects the route, apigw_event.go
// builds the event and maps the response, apigw_sigv4.go authorizes AWS_IAM routes.
//
// References:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
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
	payload, err := marshalAPIGWEvent(event)
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

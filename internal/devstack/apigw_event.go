package devstack

// The API Gateway front's payload format 2.0: the event a route's function receives
// (events.APIGatewayV2HTTPRequest) and the mapping of its answer to the HTTP response.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// buildAPIGWEvent returns the version 2.0 event API Gateway sends the route's function for r.
func buildAPIGWEvent(r *http.Request, body []byte, rt *apigwRoute, params map[string]string,
	principal *IAMPrincipal, apiID, reqID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
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
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		AccountID:    localAccountID,
		APIID:        apiID,
		DomainName:   domain,
		DomainPrefix: prefix,
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
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
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: principal.AccessKey,
			AccountID: principal.AccountID,
			CallerID:  principal.CallerID,
			UserARN:   principal.UserARN,
			UserID:    principal.UserID,
		}}
	}
	return ev
}

// marshalAPIGWEvent encodes ev as API Gateway does. The library's struct cannot say two
// things API Gateway's JSON says: requestContext has no "authentication" (it is there only
// with mutual TLS), and authorizer.iam has "cognitoIdentity" and "principalOrgId" null for
// an IAM user or role without them. The wire types below shadow those fields (encoding/json
// takes the least nested field of a name) and keep all the others as the library has them.
func marshalAPIGWEvent(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	type wireIAM struct {
		events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription
		CognitoIdentity *events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity `json:"cognitoIdentity"`
		PrincipalOrgID  *string                                                         `json:"principalOrgId"`
	}
	type wireAuthorizer struct {
		events.APIGatewayV2HTTPRequestContextAuthorizerDescription
		IAM *wireIAM `json:"iam,omitempty"`
	}
	type wireContext struct {
		events.APIGatewayV2HTTPRequestContext
		Authorizer     *wireAuthorizer                                      `json:"authorizer,omitempty"`
		Authentication *events.APIGatewayV2HTTPRequestContextAuthentication `json:"authentication,omitempty"`
	}
	type wireEvent struct {
		events.APIGatewayV2HTTPRequest
		RequestContext wireContext `json:"requestContext"`
	}
	rc := ev.RequestContext
	w := wireEvent{APIGatewayV2HTTPRequest: ev, RequestContext: wireContext{APIGatewayV2HTTPRequestContext: rc}}
	if rc.Authentication != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		w.RequestContext.Authentication = &rc.Authentication
	}
	if a := rc.Authorizer; a != nil {
		w.RequestContext.Authorizer = &wireAuthorizer{APIGatewayV2HTTPRequestContextAuthorizerDescription: *a}
		if iam := a.IAM; iam != nil {
			wi := &wireIAM{APIGatewayV2HTTPRequestContextAuthorizerIAMDescription: *iam}
			if c := iam.CognitoIdentity; c.AMR != nil || c.IdentityID != "" || c.IdentityPoolID != "" {
				wi.CognitoIdentity = &c
			}
			if iam.PrincipalOrgID != "" {
				wi.PrincipalOrgID = &iam.PrincipalOrgID
			}
			w.RequestContext.Authorizer.IAM = wi
		}
	}
	return json.Marshal(w)
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
	// The library's response, read as the gateway has always read it: statusCode may also
	// be a number in a string, a header value a number or a boolean, and multiValueHeaders
	// (not part of format 2.0) is ignored.
	var resp struct {
		events.APIGatewayV2HTTPResponse
		StatusCode        json.Number     `json:"statusCode"`
		Headers           map[string]any  `json:"headers"`
		MultiValueHeaders json.RawMessage `json:"multiValueHeaders"`
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
	if resp.Body != "" {
		body = []byte(resp.Body)
		if resp.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				return 0, nil, nil, fmt.Errorf("body is not base64: %w", err)
			}
		}
	}
	return code, hdr, body, nil
}

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
)

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

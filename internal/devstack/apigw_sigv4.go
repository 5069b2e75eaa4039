package devstack

// AWS_IAM authorization for the API Gateway front: the Signature Version 4 Authorization
// header, checked by re-signing the request with the AWS SDK's signer.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

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

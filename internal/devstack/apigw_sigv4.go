package devstack

// AWS_IAM authorization for the API Gateway front: the Signature Version 4 Authorization
// header, checked by re-signing the request with the AWS SDK's signer.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

// sigV4Header is a parsed SigV4 Authorization header.
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
	want, err := resign(r, body, sig, p.SecretKey, signedAt)
	if err != nil || subtle.ConstantTimeCompare([]byte(want.signature), []byte(strings.ToLower(sig.signature))) != 1 {
		msg := msgSignatureMismatch
		if want.canonical != "" {
			msg += "\n\nThe Canonical String for this request should have been\n'" + want.canonical +
				"'\n\nThe String-to-Sign should have been\n'" + want.stringToSign + "'\n"
		}
		return nil, http.StatusForbidden, msg
	}
	return &p, 0, ""
}

// resigned is what the SDK's signer made of a copy of the request.
type resigned struct {
	signature, canonical, stringToSign string
}

// resign signs a copy of r with the AWS SDK's SigV4 signer as the client signed r: with the
// same credentials, signing time, scope and payload hash, and over the same headers (the
// copy has only those the client signed). The signature matches the client's exactly when
// the request arrived as it was signed.
//
// A client that signed a header the SDK never signs (User-Agent, X-Amzn-Trace-Id, Expect,
// Transfer-Encoding) or a zero Content-Length cannot be matched; the SDK's own clients,
// which are the stack's callers, never do.
func resign(r *http.Request, body []byte, sig sigV4Header, secret string, signedAt time.Time) (resigned, error) {
	u := *r.URL // the path and query as they arrived
	cp := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, name := range sig.signedHeaders {
		switch name {
		case "host": // the signer signs cp.Host
		case "content-length":
			cp.ContentLength = r.ContentLength // the signer signs a positive ContentLength
		default:
			if vs := r.Header.Values(name); len(vs) > 0 {
				cp.Header[textproto.CanonicalMIMEHeaderKey(name)] = vs
			}
		}
	}
	var out resigned
	// The signer's debug log is the one place it shows its canonical request and string to
	// sign; they go into the mismatch message, as API Gateway's own message has them.
	logger := logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		out.canonical, out.stringToSign = signingLog(fmt.Sprintf(format, v...))
	})
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.Logger, o.LogSigning = logger, true })
	creds := aws.Credentials{AccessKeyID: sig.accessKey, SecretAccessKey: secret}
	if err := signer.SignHTTP(r.Context(), creds, cp, payloadHash(r, body), sig.service, sig.region, signedAt); err != nil {
		return out, err
	}
	got, ok := parseSigV4Authorization(cp.Header.Get("Authorization"))
	if !ok {
		return out, fmt.Errorf("the signer wrote an Authorization header that does not parse: %q", cp.Header.Get("Authorization"))
	}
	out.signature = got.signature
	return out, nil
}

// signingLog picks the canonical string and the string to sign out of the signer's
// "Request Signature" log message; both are "" when the message has another form.
func signingLog(msg string) (canonical, stringToSign string) {
	var sections [2][]string
	i := -1
	for line := range strings.SplitSeq(msg, "\n") {
		switch {
		case strings.HasPrefix(line, "---[ CANONICAL STRING"):
			i = 0
		case strings.HasPrefix(line, "---[ STRING TO SIGN"):
			i = 1
		case strings.HasPrefix(line, "-----"):
			i = -1
		case i >= 0:
			sections[i] = append(sections[i], line)
		}
	}
	if sections[0] == nil || sections[1] == nil {
		return "", ""
	}
	return strings.Join(sections[0], "\n"), strings.Join(sections[1], "\n")
}

// payloadHash is the hash the signature covers: X-Amz-Content-Sha256 when the client sent
// it (which must then be the body's hash, or UNSIGNED-PAYLOAD), else the body's hash.
func payloadHash(r *http.Request, body []byte) string {
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	h := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case h == "":
		return actual
	case h == "UNSIGNED-PAYLOAD", strings.EqualFold(h, actual):
		return h
	}
	return actual // a claimed hash that does not match the body cannot verify
}

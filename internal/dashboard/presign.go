package dashboard

// Checking an S3 presigned GET (Signature Version 4 in the query string) as S3 does, for the
// local stand-in of CloudFront and S3 (Local). References:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// presignTarget is the request a presigned link must have been made for.
type presignTarget struct {
	endpoint, region, bucket, key string
}

const maxPresignExpiry = 7 * 24 * time.Hour // S3's limit

// checkPresigned verifies the query of a presigned GET of target and returns its principal.
// The errors read like S3's.
func checkPresigned(q url.Values, target presignTarget, principals map[string]Principal, now time.Time) (Principal, error) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Signature") == "" {
		return Principal{}, errors.New("AccessDenied: this view needs a presigned link (pthv reach dashboard)")
	}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[3] != "s3" || cred[4] != "aws4_request" || cred[2] != target.region {
		return Principal{}, errors.New("AuthorizationQueryParametersError: the credential scope is not " + target.region + "/s3")
	}
	p, ok := principals[cred[0]]
	if !ok {
		return Principal{}, errors.New("InvalidAccessKeyId: the access key id is not known")
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || signed.Format("20060102") != cred[1] {
		return Principal{}, errors.New("AuthorizationQueryParametersError: X-Amz-Date is missing or does not match the credential")
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignExpiry {
		return Principal{}, errors.New("AuthorizationQueryParametersError: X-Amz-Expires must be 1 to 604800 seconds")
	}
	if now.Before(signed.Add(-5*time.Minute)) || now.After(signed.Add(time.Duration(secs)*time.Second)) {
		return Principal{}, errors.New("AccessDenied: Request has expired")
	}
	if q.Get("X-Amz-SignedHeaders") != "host" {
		return Principal{}, errors.New("AccessDenied: only the host header may be signed on a dashboard link")
	}
	ep, err := url.Parse(target.endpoint)
	if err != nil || ep.Host == "" {
		return Principal{}, errors.New("InternalError: no S3 endpoint configured")
	}
	canonical := strings.Join([]string{
		"GET",
		s3Escape(strings.TrimSuffix(ep.Path, "/") + "/" + target.bucket + "/" + target.key),
		canonicalQuery(q),
		"host:" + ep.Host + "\n",
		"host",
		"UNSIGNED-PAYLOAD",
	}, "\n")
	scope := strings.Join(cred[1:], "/")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + q.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+p.SecretKey), cred[1])
	k = hmacSHA256(k, cred[2])
	k = hmacSHA256(k, cred[3])
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return Principal{}, errors.New("SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided")
	}
	return p, nil
}

// canonicalQuery is the sorted, encoded query without the signature.
func canonicalQuery(q url.Values) string {
	var pairs [][2]string
	for k, vs := range q {
		if k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, [2]string{uriEncode(k, true), uriEncode(v, true)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

// s3Escape encodes a path as S3 canonicalises it: once, keeping "/".
func s3Escape(p string) string { return uriEncode(p, false) }

// uriEncode is SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ as %XX (and "/" too
// when encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

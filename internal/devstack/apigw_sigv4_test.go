package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testNoSecret  = "AKIDNOSECRET"
)

// signed returns req signed with SigV4 for execute-api by the AWS SDK's signer.
func signed(t *testing.T, req *http.Request, body []byte, akid, secret, service string, at time.Time) *http.Request {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), service, Region, at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAPIGatewayIAM(t *testing.T) {
	principal := IAMPrincipal{
		SecretKey: testSecretKey,
		AccountID: "111122223333",
		UserARN:   "arn:aws:iam::111122223333:user/national-staff",
		UserID:    "AIDAEXAMPLE",
		CallerID:  "AIDAEXAMPLE",
	}
	g := startTestAPI(t, []Route{
		{Method: "GET", Path: "/v1/reach", Function: "api", Auth: "AWS_IAM"},
		{Method: "POST", Path: "/v1/districts/{id}/reach", Function: "api", Auth: "AWS_IAM"},
		{Method: "GET", Path: "/public", Function: "api", Auth: "NONE"},
	}, map[string]IAMPrincipal{
		testAccessKey: principal,
		testNoSecret:  {AccountID: "444455556666", UserARN: "arn:aws:iam::444455556666:user/ci"},
	})
	u := g.URL()
	now := time.Now()
	query := "/v1/reach?year=2024&state=CA&state=OR&name=a%20b&tilde=~x&plus=1%2B1"

	wantDenied := func(t *testing.T, r apiResponse, msgPrefix string) {
		t.Helper()
		wantStatus(t, r, 403)
		if m := r.message(t); !strings.HasPrefix(m, msgPrefix) {
			t.Errorf("message %q, want prefix %q", m, msgPrefix)
		}
	}

	t.Run("no authorization header", func(t *testing.T) {
		wantDenied(t, do(t, "GET", u+"/v1/reach", nil), "Forbidden")
	})
	t.Run("malformed authorization header", func(t *testing.T) {
		for _, h := range []string{
			"Bearer abc",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api, SignedHeaders=host, Signature=ab",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, Signature=ab",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=zz",
		} {
			req := newReq(t, "GET", u+"/v1/reach", nil)
			req.Header.Set("Authorization", h)
			wantDenied(t, send(t, req), "Forbidden")
		}
	})
	t.Run("unknown access key", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+"/v1/reach", nil), nil, "AKIDUNKNOWN", testSecretKey, "execute-api", now)
		wantDenied(t, send(t, req), "The security token included in the request is invalid.")
	})
	t.Run("wrong secret", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+query, nil), nil, testAccessKey, "not-the-secret", "execute-api", now)
		r := send(t, req)
		wantDenied(t, r, "The request signature we calculated does not match the signature you provided.")
		// As API Gateway does, the message shows the canonical request and string to sign.
		m := r.message(t)
		wantCanonical := "GET\n/v1/reach\nname=a%20b&plus=1%2B1&state=CA&state=OR&tilde=~x&year=2024\nhost:" + strings.TrimPrefix(u, "http://") + "\n"
		if !strings.Contains(m, "The Canonical String for this request should have been\n'"+wantCanonical) ||
			!strings.Contains(m, "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n"+req.Header.Get("X-Amz-Date")+"\n") {
			t.Errorf("mismatch message lacks the canonical request or string to sign:\n%s", m)
		}
	})
	t.Run("request changed after signing", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+"/v1/reach?year=2024", nil), nil, testAccessKey, testSecretKey, "execute-api", now)
		req.URL.RawQuery = "year=2025"
		wantDenied(t, send(t, req), "The request signature we calculated does not match")

		body := []byte(`{"a":1}`)
		req = signed(t, newReq(t, "POST", u+"/v1/districts/d1/reach", body), body, testAccessKey, testSecretKey, "execute-api", now)
		other := []byte(`{"a":2}`)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
		wantDenied(t, send(t, req), "The request signature we calculated does not match")
	})
	t.Run("wrong service", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+"/v1/reach", nil), nil, testAccessKey, testSecretKey, "lambda", now)
		wantDenied(t, send(t, req), "Credential should be scoped to correct service")
	})
	t.Run("expired signature", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+"/v1/reach", nil), nil, testAccessKey, testSecretKey, "execute-api", now.Add(-10*time.Minute))
		wantDenied(t, send(t, req), "Signature expired")
	})

	wantIAM := func(t *testing.T, r apiResponse, akid string, p IAMPrincipal) {
		t.Helper()
		wantStatus(t, r, 200)
		ev, raw := r.event(t)
		a := ev.RequestContext.Authorizer
		if a == nil || a.IAM == nil {
			t.Fatalf("no authorizer.iam in %s", r.body)
		}
		want := events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: akid, AccountID: p.AccountID, CallerID: p.CallerID, UserARN: p.UserARN, UserID: p.UserID,
		}
		if !reflect.DeepEqual(*a.IAM, want) {
			t.Errorf("authorizer.iam = %+v, want %+v", *a.IAM, want)
		}
		iam := raw["requestContext"].(map[string]any)["authorizer"].(map[string]any)["iam"].(map[string]any)
		for _, k := range []string{"principalOrgId", "cognitoIdentity"} {
			if v, ok := iam[k]; !ok || v != nil {
				t.Errorf("authorizer.iam.%s = %v (present %v), want null", k, v, ok)
			}
		}
	}
	t.Run("good signature", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+query, nil), nil, testAccessKey, testSecretKey, "execute-api", now)
		r := send(t, req)
		wantIAM(t, r, testAccessKey, principal)
		if ev, _ := r.event(t); ev.QueryStringParameters["state"] != "CA,OR" {
			t.Errorf("query %v", ev.QueryStringParameters)
		}

		body := []byte(`{"year":2024}`)
		req = newReq(t, "POST", u+"/v1/districts/d%201/reach?x=1", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Custom", "  spaced   value ")
		r = send(t, signed(t, req, body, testAccessKey, testSecretKey, "execute-api", now))
		wantIAM(t, r, testAccessKey, principal)
		if ev, _ := r.event(t); ev.Body != string(body) || ev.PathParameters["id"] != "d 1" {
			t.Errorf("body %q pathParameters %v", ev.Body, ev.PathParameters)
		}

		// With X-Amz-Content-Sha256, as S3-style clients send it.
		req = newReq(t, "POST", u+"/v1/districts/d2/reach", body)
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		wantIAM(t, send(t, signed(t, req, body, testAccessKey, testSecretKey, "execute-api", now)), testAccessKey, principal)
	})
	t.Run("principal without secret", func(t *testing.T) {
		req := signed(t, newReq(t, "GET", u+"/v1/reach", nil), nil, testNoSecret, "anything", "execute-api", now)
		wantIAM(t, send(t, req), testNoSecret, IAMPrincipal{AccountID: "444455556666", UserARN: "arn:aws:iam::444455556666:user/ci"})
	})
	t.Run("NONE route", func(t *testing.T) {
		r := do(t, "GET", u+"/public", nil)
		wantStatus(t, r, 200)
		if ev, _ := r.event(t); ev.RequestContext.Authorizer != nil {
			t.Errorf("authorizer %+v", ev.RequestContext.Authorizer)
		}
	})
}

package blob

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/pthv"
)

func TestPathStyleOnlyWithAnEndpointOverride(t *testing.T) {
	var o s3.Options
	Options(aws.Config{Region: "us-east-1"})(&o)
	if o.UsePathStyle {
		t.Error("path style without an endpoint override")
	}
	Options(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000")})(&o)
	if !o.UsePathStyle {
		t.Error("no path style with an endpoint override")
	}
}

// countingClient answers every request with a 404 and counts them: no request leaves the
// process.
type countingClient struct{ n atomic.Int32 }

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestAKeyTheServiceWouldNotBuildIsRefusedBeforeS3 drives Put, Get and ListDrops with keys
// pthv.Key would never build — dot segments, a leading '-', NUL, a bidi override, a raw %2F,
// an empty segment — and each is refused with bad_request before any request is sent; a key
// the builder makes is sent.
func TestAKeyTheServiceWouldNotBuildIsRefusedBeforeS3(t *testing.T) {
	hc := &countingClient{}
	b := &S3{Client: s3.New(s3.Options{Region: "us-east-1", HTTPClient: hc, Credentials: aws.AnonymousCredentials{},
		RetryMaxAttempts: 1})}
	ctx := context.Background()
	for _, key := range []string{
		"reports/../d2/imports/x.json", "reports/d1/./x.json", "reports/d1/cohorts/../../dist-crash/cohorts/x.csv",
		"reports/-rf/x.json", "reports/d1/x\x00.json", "reports/d1/x\u202egnp.json", "reports/d1/a%2Fb.json",
		"reports/d1//x.json", "/reports/d1/x.json", "reports/d1/x.json/", "reports/d1/x y.json", "reports/d1/~a%2fb",
		"reports/d1/~a.b", "reports/d1/x.",
	} {
		for name, call := range map[string]func() error{
			"Put": func() error { return b.Put(ctx, "bucket", key, "application/json", []byte("{}")) },
			"Get": func() error { _, err := b.Get(ctx, "bucket", key); return err },
			"ListDrops": func() error {
				_, err := b.ListDrops(ctx, "bucket", strings.TrimSuffix(key, ".json")+"/")
				return err
			},
		} {
			if err := call(); pthv.ErrorCode(err) != pthv.CodeInvalid {
				t.Errorf("%s(%q): %v; want bad_request", name, key, err)
			}
		}
	}
	if n := hc.n.Load(); n != 0 {
		t.Fatalf("%d requests were sent for keys the service would not build", n)
	}
	good := pthv.Key("reports", "d1", "cohorts", "../../dist-crash/cohorts/sch-001", "2026-2027", "c1.csv")
	if _, err := b.Get(ctx, "bucket", good); pthv.ErrorCode(err) == pthv.CodeInvalid {
		t.Fatalf("Get(%q) is refused: %v", good, err)
	}
	if _, err := b.ListDrops(ctx, "bucket", pthv.KeyPrefix("drops", "d1", "rosters")); pthv.ErrorCode(err) == pthv.CodeInvalid {
		t.Fatalf("a built prefix is refused: %v", err)
	}
	if hc.n.Load() == 0 {
		t.Fatal("a key the builder made sent no request: the counter does not count")
	}
}

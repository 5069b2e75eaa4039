package blob

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

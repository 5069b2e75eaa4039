// Command apigwfn is a tiny API function for the API Gateway tests. Build it with
// `go build -tags lambda.norpc -o bootstrap ./testdata/apigwfn`.
//
// It decodes its payload as an events.APIGatewayV2HTTPRequest (failing when that is not
// possible) and answers according to the query parameter "mode":
//
//	(none)     a response object: statusCode from the query parameter "status" (default
//	           200), headers content-type application/json and x-function (the function's
//	           name), two cookies, and as body the event it received, verbatim
//	error      returns an error
//	bare       returns {"bare": true, "rawPath": ...}, which is not a response object
//	string     returns the JSON string "hello"
//	binary     returns the bytes 00 01 02 ff, base64-encoded, as application/octet-stream
//	badstatus  returns {"statusCode": "abc"}
//	sleep      sleeps "ms" milliseconds, then answers as with no mode
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("not an API Gateway v2 event: %w", err)
	}
	q := ev.QueryStringParameters
	switch q["mode"] {
	case "error":
		return nil, errors.New("boom")
	case "bare":
		return map[string]any{"bare": true, "rawPath": ev.RawPath}, nil
	case "string":
		return "hello", nil
	case "binary":
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      200,
			Headers:         map[string]string{"content-type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}),
			IsBase64Encoded: true,
		}, nil
	case "badstatus":
		return map[string]any{"statusCode": "abc", "body": "x"}, nil
	case "sleep":
		ms, _ := strconv.Atoi(q["ms"])
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	status := 200
	if s := q["status"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		status = n
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"content-type": "application/json",
			"x-function":   lambdacontext.FunctionName,
		},
		Cookies: []string{"a=1; Path=/", "b=2"},
		Body:    string(raw),
	}, nil
}

func main() {
	lambda.Start(handle)
}

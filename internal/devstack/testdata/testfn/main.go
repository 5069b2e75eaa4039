// Command testfn is a tiny Lambda function for the devstack tests. Build it with
// `go build -tags lambda.norpc -o bootstrap ./testdata/testfn`.
//
// It reads a JSON payload {"action": ..., ...}:
//
//	echo   returns the payload unchanged
//	error  returns an error whose message is "message"
//	panic  panics with "message" (aws-lambda-go then reports it and exits)
//	crash  exits the process with status 3
//	sleep  sleeps "ms" milliseconds and returns {"start","end"} (Unix nanoseconds) and "pid"
//	env    returns {"value": the value of the environment variable "name"}
//	touch  creates the file "name" and returns {}
//	get    GETs "url" (a test's rendezvous server) and returns {"pid"}; fails unless 200 OK
//	info   returns the invocation context (request id, ARN, deadline), pid and Lambda variables
//	probe  makes invalid Runtime API calls and returns the status codes it got
//	sqs    handles an events.SQSEvent (also chosen when the payload has "Records" and no
//	       action): exits with status 3 if a body contains "crash", reports a batch item
//	       failure for every message whose body contains "fail", and GETs the URL of a body
//	       "get URL" (a test's rendezvous), failing that message unless 200 OK
//
// With TESTFN_INIT_ERROR set, it reports that value as an init error and exits instead;
// with TESTFN_EXIT_AT_INIT set, it exits with status 4 before asking for work. With
// TESTFN_SIGTERM_FILE set, it enables SIGTERM handling (which registers an extension) and
// writes that file when the signal comes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Action  string              `json:"action"`
	Message string              `json:"message"`
	Ms      int                 `json:"ms"`
	Name    string              `json:"name"`
	URL     string              `json:"url"`
	Records []events.SQSMessage `json:"Records"`
}

func handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	if req.Action == "" && req.Records != nil {
		req.Action = "sqs"
	}
	switch req.Action {
	case "echo":
		return payload, nil
	case "error":
		return nil, errors.New(req.Message)
	case "panic":
		panic(req.Message)
	case "crash":
		fmt.Println("crashing on purpose")
		os.Exit(3)
	case "sleep":
		start := time.Now()
		time.Sleep(time.Duration(req.Ms) * time.Millisecond)
		return map[string]int64{"start": start.UnixNano(), "end": time.Now().UnixNano(), "pid": int64(os.Getpid())}, nil
	case "get":
		resp, err := http.Get(req.URL)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %s", req.URL, resp.Status, b)
		}
		return map[string]int{"pid": os.Getpid()}, nil
	case "env":
		return map[string]string{"value": os.Getenv(req.Name)}, nil
	case "touch":
		return map[string]string{}, os.WriteFile(req.Name, []byte("touched"), 0o644)
	case "info":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"requestId":    lc.AwsRequestID,
			"functionArn":  lc.InvokedFunctionArn,
			"deadlineMs":   deadline.UnixMilli(),
			"pid":          os.Getpid(),
			"functionName": lambdacontext.FunctionName,
			"memoryMB":     lambdacontext.MemoryLimitInMB,
			"version":      lambdacontext.FunctionVersion,
			"logGroup":     lambdacontext.LogGroupName,
			"logStream":    lambdacontext.LogStreamName,
			"traceId":      os.Getenv("_X_AMZN_TRACE_ID"),
			"handler":      os.Getenv("_HANDLER"),
			"taskRoot":     os.Getenv("LAMBDA_TASK_ROOT"),
			"tz":           os.Getenv("TZ"),
		}, nil
	case "probe":
		return probe(), nil
	case "sqs":
		var resp events.SQSEventResponse
		for _, m := range req.Records {
			if strings.Contains(m.Body, "crash") {
				os.Exit(3)
			}
			failed := strings.Contains(m.Body, "fail")
			if url, ok := strings.CutPrefix(m.Body, "get "); ok {
				r, err := http.Get(url)
				failed = err != nil || r.StatusCode != http.StatusOK
				if err == nil {
					r.Body.Close()
				}
			}
			if failed {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
	return nil, fmt.Errorf("unknown action %q", req.Action)
}

// probe calls the Runtime API the way a broken runtime would.
func probe() map[string]int {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	post := func(path string) int {
		resp, err := http.Post(base+path, "application/json", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	return map[string]int{
		"unknownResponse": post("/invocation/00000000-0000-0000-0000-000000000000/response"),
		"unknownError":    post("/invocation/00000000-0000-0000-0000-000000000000/error"),
		"lateInitError":   post("/init/error"),
		"unknownPath":     post("/invocation/next/extra"),
	}
}

func main() {
	if msg := os.Getenv("TESTFN_INIT_ERROR"); msg != "" {
		body, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "Testfn.InitError"})
		req, _ := http.NewRequest(http.MethodPost, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Testfn.InitError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	if os.Getenv("TESTFN_EXIT_AT_INIT") != "" {
		os.Exit(4)
	}
	fmt.Println("testfn initialised")
	if path := os.Getenv("TESTFN_SIGTERM_FILE"); path != "" {
		lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() {
			_ = os.WriteFile(path, []byte("SIGTERM"), 0o644)
			os.Exit(0)
		}))
	}
	lambda.Start(handle)
}

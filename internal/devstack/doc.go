// Package devstack runs PTHV Reach on a developer's machine with no AWS account. Each part
// of AWS it plays has files of its own, named by the part:
//
//	stack.go            StartStack: the whole local stack, wired as Terraform wires AWS (moto,
//	                    resources, functions, API front, ingest poller); BuildFunctions and
//	                    FunctionsIn find the functions' bootstrap binaries; APIRoutes
//	moto.go             StartMoto: moto_server (DynamoDB, S3, SQS) on a free port; AWSConfig
//	                    and Env point an SDK client or a function's process at it
//	provision.go        Provision, Teardown, Describe: the resources of deploy.Resources
//	provision_*.go      the same per service: _dynamodb tables and indexes, _s3 buckets and
//	                    notifications, _sqs queues, dead-letter queues and queue policies
//	host.go             Host: the Lambda service, running each function's real bootstrap
//	                    binary in Instances execution environments
//	host_sandbox.go     one execution environment: its process and one invocation's run
//	host_runtimeapi.go  the Lambda Runtime API (and Extensions API) a process talks to
//	host_invokeapi.go   the Lambda Invoke API the SDK's lambda client calls
//	host_util.go        payloads, error objects, ids and log lines (shared with the API front)
//	apigw.go            APIGateway: an HTTP API (payload format 2.0) in front of the Host
//	apigw_routes.go     route syntax and route selection
//	apigw_event.go      the events.APIGatewayV2HTTPRequest a function gets, and its answer
//	                    mapped to the HTTP response
//	apigw_sigv4.go      AWS_IAM routes: SigV4 checked with the AWS SDK's signer
//	poller.go           Poller: the SQS event source mapping of the ingest queue
//	record.go           Recorder: a proxy that records each function's AWS calls, which the
//	                    contract tests compare with the functions' IAM roles
//
// Where a new route goes. A route of the reach API (served by the api function behind API
// Gateway in AWS) is one more entry in APIRoutes (stack.go), which mirrors
// internal/api.Routes; StartStack turns those into AWS_IAM routes of the local APIGateway,
// and apigw*.go needs no change. A route of another function gets its own Route in
// StartStack next to them. The dashboard is not behind API Gateway: in AWS CloudFront serves
// its pages and the public reach JSON from S3, so locally it belongs in a file of its own
// (for example cdn.go: an http.Handler serving the embedded pages and the published objects
// from moto), started by StartStack beside the APIGateway, with its URL in Stack.Env. Both
// are http.Handlers (APIGateway.ServeHTTP), so one server may also mount the two.
//
// The tests use the shared moto_server of main_test.go and the tiny functions of testdata/
// (testfn for the host and the poller, apigwfn for the API front).
package devstack

// Command cohort is the Lambda function that selects, refreshes, shows, verifies and lists
// cohorts (see internal/cohortsvc.Invocation). The CLI reaches it through the Lambda Invoke
// API. Wiring only; the work is internal/cohortsvc and internal/cohort.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/memlimit"
)

func main() {
	memlimit.Set() // GOMEMLIMIT at 85% of the function's memory
	ctx := context.Background()
	log := app.Logger("cohort")
	env, err := app.LoadEnv(ctx)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	svc := &cohortsvc.Service{Store: env.Store(), Blobs: blob.New(env.AWS), ReportsBucket: env.Names.ReportsBucket, Log: log}
	lambda.Start(func(ctx context.Context, payload json.RawMessage) (*cohortsvc.Response, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			svc.Log = log.With("requestId", lc.AwsRequestID)
		}
		return svc.Handle(ctx, payload)
	})
}

// Command reach is the Lambda function that recomputes reach metrics: the district-years an
// import touched (an Event invocation from ingest) or everything (the nightly schedule,
// {"full": true}). It stores aggregates, publishes the suppressed views and the dashboard's
// pages, and writes CloudWatch metrics as Embedded Metric Format lines. Wiring only: see
// internal/reachsvc.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/dashboard"
	"github.com/pthv/reach/internal/memlimit"
	"github.com/pthv/reach/internal/reachsvc"
)

func main() {
	memlimit.Set() // GOMEMLIMIT at 85% of the function's memory
	ctx := context.Background()
	log := app.Logger("reach")
	env, err := app.LoadEnv(ctx)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	svc := &reachsvc.Service{Store: env.Store(), Blobs: blob.New(env.AWS), ReportsBucket: env.Names.ReportsBucket, Log: log, Metrics: os.Stdout}
	for _, f := range dashboard.Files() { // the dashboard's pages, published next to the data
		svc.Site = append(svc.Site, reachsvc.SiteFile{Path: f.Path, ContentType: f.ContentType, Body: f.Body})
	}
	lambda.Start(func(ctx context.Context, ev reachsvc.Event) (*reachsvc.Result, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			svc.Log = log.With("requestId", lc.AwsRequestID)
		}
		return svc.Handle(ctx, ev)
	})
}

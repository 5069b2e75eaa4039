// Command ingest is the Lambda function behind the ingest queue: roster drops from S3 and
// import continuations. Wiring only; the pipeline is internal/importer.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/ingest"
	"github.com/pthv/reach/internal/memlimit"
)

func main() {
	memlimit.Set() // GOMEMLIMIT at 85% of the function's memory
	ctx := context.Background()
	log := app.Logger("ingest")
	env, err := app.LoadEnv(ctx)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	svc := pipeline.Importer(env, log)
	h := &ingest.Handler{Pipeline: svc, Blobs: blob.New(env.AWS), Log: log}
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		reqID := ""
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			reqID = lc.AwsRequestID
		}
		rlog := log.With("requestId", reqID)
		svc.Log = rlog
		h.Log = rlog
		svc.Budget = app.Budget(env.CheckpointMargin, env.MaxRun)
		return h.Handle(ctx, ev)
	})
}

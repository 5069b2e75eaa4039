// Command sync is the Lambda function that runs SIS syncs: EventBridge Scheduler invokes it
// per connection ({"districtId", "connectionId", "scheduledTime"}), 'pthv sync run' invokes it
// with a run id to wait on, and it invokes itself to continue a run that outlasts one
// invocation. Wiring only: the frame is internal/sissync, the connectors are under connectors/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/memlimit"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
)

func main() {
	memlimit.Set() // GOMEMLIMIT at 85% of the function's memory
	ctx := context.Background()
	log := app.Logger("sync")
	env, err := app.LoadEnv(ctx)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	self := os.Getenv(deploy.EnvSyncFunction)
	if self == "" {
		if self = os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); self == "" {
			self = deploy.DefaultPrefix + "-sync"
		}
	}
	imp := pipeline.Importer(env, log)
	svc := pipeline.Sync(env, log, self, imp)
	lambda.Start(func(ctx context.Context, req sissync.Request) (*sis.Run, error) {
		rlog := log
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			rlog = log.With("requestId", lc.AwsRequestID)
		}
		svc.Log, imp.Log = rlog, rlog
		// One budget for the pull and the apply: both checkpoint before the deadline.
		budget := app.Budget(env.CheckpointMargin, env.MaxRun)
		svc.Budget, imp.Budget = budget, budget
		return svc.Handle(ctx, req)
	})
}

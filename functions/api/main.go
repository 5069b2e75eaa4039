// Command api is the Lambda function behind the reach API (API Gateway HTTP API, IAM
// authorisation). Wiring only: see internal/api.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pthv/reach/internal/api"
	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/memlimit"
)

func main() {
	memlimit.Set() // GOMEMLIMIT at 85% of the function's memory
	ctx := context.Background()
	log := app.Logger("api")
	env, err := app.LoadEnv(ctx)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &api.Handler{Blobs: blob.New(env.AWS), Store: env.Store(), ReportsBucket: env.Names.ReportsBucket,
		RolePrefix: os.Getenv(deploy.EnvRolePrefix), Log: log}
	lambda.Start(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			h.Log = log.With("requestId", lc.AwsRequestID)
		}
		return h.Handle(ctx, req), nil
	})
}

// Package pipeline wires the import pipeline (internal/importer) for the ingest function:
// it lives apart from internal/app so that the functions that do not import anything (api,
// cohort, reach) do not link the pipeline and the OneRoster validator.
package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/queue"
	"github.com/pthv/reach/internal/reachsvc"
)

// Importer returns the import pipeline wired to DynamoDB, S3 and SQS, with cohortsvc as its
// family resolver and, when the environment names a reach function, LambdaReach as its
// reach notifier.
func Importer(e *app.Env, log *slog.Logger) *importer.Service {
	return &importer.Service{
		Store:         e.Store(),
		Blobs:         blob.New(e.AWS),
		Queue:         &queue.SQS{Client: sqs.NewFromConfig(e.AWS), QueueURL: e.QueueURL},
		Log:           log,
		DropsBucket:   e.Names.DropsBucket,
		ReportsBucket: e.Names.ReportsBucket,
		ChunkOps:      e.ChunkOps,
		Families:      &cohortsvc.Service{Store: e.Store()},
		Reach:         reachNotifier(e),
	}
}

func reachNotifier(e *app.Env) importer.ReachNotifier {
	if e.ReachFunction == "" {
		return nil
	}
	return &LambdaReach{Client: lambda.NewFromConfig(e.AWS), Function: e.ReachFunction}
}

// LambdaReach asks the reach function, asynchronously (an Event invocation), to recompute
// the district-years an import changed.
type LambdaReach struct {
	Client   *lambda.Client
	Function string
}

// Touched implements importer.ReachNotifier.
func (l *LambdaReach) Touched(ctx context.Context, district string, years []string) error {
	ev := reachsvc.Event{}
	for _, y := range years {
		ev.Touched = append(ev.Touched, reachsvc.DistrictYear{District: district, Year: y})
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = l.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(l.Function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload})
	return err
}

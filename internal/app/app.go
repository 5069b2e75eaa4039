// Package app wires the adapters to the domain from the environment, the same way for every
// Lambda function and for the CLI: AWS through the SDK's standard configuration
// (config.LoadDefaultConfig, so AWS_ENDPOINT_URL and friends select a local stand-in), resource
// names from the environment variables Terraform sets.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/store"
)

// Environment variables that tune imports (all optional).
const (
	// EnvCheckpointMargin: how long before the invocation's deadline an import checkpoints (default 90s).
	EnvCheckpointMargin = "IMPORT_CHECKPOINT_MARGIN"
	// EnvMaxRun: the longest an invocation works on one import before it checkpoints (default: until the margin).
	EnvMaxRun = "IMPORT_MAX_RUN"
	// EnvChunkOps: writes applied between checkpoints (default 5000).
	EnvChunkOps = "IMPORT_CHUNK_OPS"
)

// Env is the wired configuration of one process.
type Env struct {
	AWS              aws.Config
	Names            deploy.Names
	QueueURL         string
	CheckpointMargin time.Duration
	MaxRun           time.Duration
	ChunkOps         int
	// ReachFunction is the reach function to notify after imports ("" = none).
	ReachFunction string
}

// LoadEnv reads the AWS configuration and the resource names. It fails when a required name is missing.
func LoadEnv(ctx context.Context) (*Env, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	e := &Env{AWS: cfg, CheckpointMargin: 90 * time.Second, QueueURL: os.Getenv(deploy.EnvIngestQueueURL), ReachFunction: os.Getenv(deploy.EnvReachFunction),
		Names: deploy.Names{Table: os.Getenv(deploy.EnvTable), DropsBucket: os.Getenv(deploy.EnvDropsBucket),
			ReportsBucket: os.Getenv(deploy.EnvReportsBucket)}}
	var missing []string
	for name, v := range map[string]string{deploy.EnvTable: e.Names.Table, deploy.EnvDropsBucket: e.Names.DropsBucket,
		deploy.EnvReportsBucket: e.Names.ReportsBucket} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	if e.CheckpointMargin, err = duration(EnvCheckpointMargin, e.CheckpointMargin); err != nil {
		return nil, err
	}
	if e.MaxRun, err = duration(EnvMaxRun, 0); err != nil {
		return nil, err
	}
	if v := os.Getenv(EnvChunkOps); v != "" {
		if e.ChunkOps, err = strconv.Atoi(v); err != nil || e.ChunkOps < 1 {
			return nil, fmt.Errorf("%s must be a positive number", EnvChunkOps)
		}
	}
	return e, nil
}

func duration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s must be a duration such as 90s", name)
	}
	return d, nil
}

// Store returns the DynamoDB store.
func (e *Env) Store() *store.Store {
	return &store.Store{DB: dynamodb.NewFromConfig(e.AWS), Table: e.Names.Table}
}

// Logger returns the JSON logger of a function: one line per decision, never personal data.
// LOG_LEVEL (debug, info, warn, error) sets the level.
func Logger(function string) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv(deploy.EnvLogLevel)))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})).With("function", function)
}

// Budget returns how long an invocation that starts now may still work: until margin before
// the context's deadline, and at most maxRun (when set).
func Budget(margin, maxRun time.Duration) func(context.Context) time.Duration {
	start := time.Now()
	return func(ctx context.Context) time.Duration {
		left := time.Duration(1<<62 - 1)
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl) - margin
		}
		if maxRun > 0 {
			left = min(left, maxRun-time.Since(start))
		}
		return left
	}
}

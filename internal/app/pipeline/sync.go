package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pthv/reach/connectors/clever"
	"github.com/pthv/reach/connectors/oneroster/rest"
	"github.com/pthv/reach/internal/app"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/secrets"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/store"
)

// OneRosterSource is the sissync.SourceFactory of the oneroster-1.1 and oneroster-1.2
// providers.
func OneRosterSource(c *sis.Connection, secret string, log *slog.Logger) (sis.Source, error) {
	version := "1.2"
	if c.Provider == sis.ProviderOneRoster11 {
		version = "1.1"
	}
	return rest.New(rest.Config{Version: version, BaseURL: c.BaseURL, PageSize: c.PageSize,
		Concurrency: c.Concurrency, RatePerMinute: c.RatePerMinute, Log: log,
		Credentials: rest.Credentials{Kind: c.Auth, ClientID: c.ClientID, ClientSecret: secret, TokenURL: c.TokenURL,
			ClientAuth: c.ClientAuth, Scopes: c.Scopes, TokenExtra: c.TokenParams, SignatureMethod: c.SignatureMethod}})
}

// CleverSource is the sissync.SourceFactory of the clever provider: the secret is the
// district-app bearer token.
func CleverSource(c *sis.Connection, secret string, log *slog.Logger) (sis.Source, error) {
	return clever.NewSource(clever.Options{BaseURL: c.BaseURL, Token: strings.TrimSpace(secret), Limit: c.PageSize,
		RequestsPerMinute: c.RatePerMinute, Logger: log}, nil, clever.MapOptions{})
}

// The DynamoDB store keeps the frame's connections and runs.
var _ sissync.Store = (*store.Store)(nil)

// Sources are the connectors by provider.
func Sources() map[string]sissync.SourceFactory {
	return map[string]sissync.SourceFactory{
		sis.ProviderOneRoster11: OneRosterSource,
		sis.ProviderOneRoster12: OneRosterSource,
		sis.ProviderClever:      CleverSource,
	}
}

// Secrets returns the Secrets Manager adapter of connection secrets.
func Secrets(e *app.Env) *secrets.Manager {
	return &secrets.Manager{Client: secretsmanager.NewFromConfig(e.AWS)}
}

// Sync returns the sync frame wired to DynamoDB, S3, Secrets Manager, the import pipeline
// imp (see Importer) and, for continuations, the sync function named self.
func Sync(e *app.Env, log *slog.Logger, self string, imp *importer.Service) *sissync.Service {
	return &sissync.Service{Store: e.Store(), Secrets: Secrets(e), Blobs: blob.New(e.AWS), Importer: imp,
		Continuer: &LambdaSync{Client: lambda.NewFromConfig(e.AWS), Function: self},
		Sources:   Sources(), ReportsBucket: e.Names.ReportsBucket, Log: log}
}

// LambdaSync starts a sync run, or its continuation, as an Event invocation of the sync function.
type LambdaSync struct {
	Client   *lambda.Client
	Function string
}

// ContinueRun implements sissync.Continuer.
func (l *LambdaSync) ContinueRun(ctx context.Context, req sissync.Request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, err = l.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(l.Function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: b})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", l.Function, err)
	}
	return nil
}

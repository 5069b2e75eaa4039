// Package secrets keeps SIS connections' client secrets in AWS Secrets Manager (moto serves
// it locally). A secret's value is the JSON {"clientSecret": "..."}; it is read when a run
// starts and never written to DynamoDB, logs, reports or the CLI's output.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/pthv/reach/internal/pthv"
)

// API is the part of the Secrets Manager client used.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// Manager reads and writes connection secrets.
type Manager struct {
	Client API
}

type value struct {
	ClientSecret string `json:"clientSecret"`
}

// Secret returns the client secret stored under id; an error wrapping pthv.ErrNotFound
// when there is none. Errors never contain the value.
func (m *Manager) Secret(ctx context.Context, id string) (string, error) {
	out, err := m.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", fmt.Errorf("secret %s: %w", id, pthv.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", id, err)
	}
	var v value
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil || v.ClientSecret == "" {
		return "", fmt.Errorf("secret %s is not {\"clientSecret\": \"...\"}", id)
	}
	return v.ClientSecret, nil
}

// Put stores secret under id, creating the secret or adding a new version of it.
func (m *Manager) Put(ctx context.Context, id, secret, description string) error {
	b, _ := json.Marshal(value{ClientSecret: secret})
	_, err := m.Client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(b)),
		Description: aws.String(description)})
	var exists *types.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = m.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(b))})
	}
	if err != nil {
		return fmt.Errorf("store secret %s: %w", id, err)
	}
	return nil
}

// Delete removes the secret (after Secrets Manager's recovery window of 7 days).
func (m *Manager) Delete(ctx context.Context, id string) error {
	_, err := m.Client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), RecoveryWindowInDays: aws.Int64(7)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

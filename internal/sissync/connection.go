package sissync

import (
	"context"

	"github.com/pthv/reach/internal/sis"
)

// Store keeps connections and runs (internal/store implements it on DynamoDB). Connection
// and Run return an error wrapping pthv.ErrNotFound when there is none.
type Store interface {
	PutConnection(ctx context.Context, c *sis.Connection) error
	Connection(ctx context.Context, district, id string) (*sis.Connection, error)
	// Connections lists a district's connections, or every district's when district is "".
	Connections(ctx context.Context, district string) ([]*sis.Connection, error)
	DeleteConnection(ctx context.Context, district, id string) error
	PutRun(ctx context.Context, r *sis.Run) error
	Run(ctx context.Context, district, connection, id string) (*sis.Run, error)
	// Runs lists a connection's runs, newest first.
	Runs(ctx context.Context, district, connection string, limit int) ([]*sis.Run, error)
}

// Secrets reads a connection's client secret (internal/secrets implements it on Secrets Manager).
type Secrets interface {
	Secret(ctx context.Context, id string) (string, error)
}

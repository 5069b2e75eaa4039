// Package importer is the one import pipeline every roster source goes through:
//
//	read → validate → plan (diff against the district's current roster) → safety check → apply → report
//
// A connector turns a source into roster records (connectors/oneroster/csv for S3 drops); the
// importer compares each record's content hash with the district's current roster, keeps only
// what changes, holds an import that would deactivate too many students, and applies the rest
// in full batches, checkpointing so that an import can continue in a later invocation.
//
// The package imports no AWS package and no adapter: the store roles it calls (Districts,
// Claims, Locks, Imports, Rosters, Trainings, Consents, Visits), Blobs and Queue are declared
// in store.go; the records it reads and writes are internal/pthv's.
//
// Files: service.go (Service, HandleDrop: which drop goes where), roster.go (a roster drop:
// drain, plan, apply with checkpoints, Continue, Approve), planner.go and plan.go (the diff
// against the current roster), spill.go (planned ops kept in memory or spilled to gzipped
// temp files), plans.go (plans saved and applied in chunks), snapshot.go (the roster state
// kept in S3), report.go (reports in the reports bucket), csvimport.go, trainings.go, consent.go, visits.go (the
// CSV drops), store.go (the interfaces it consumes).
package importer

import (
	"encoding/json"
	"fmt"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Encode returns a record's JSON and content hash. Only active records are written, so the
// status in the JSON is always "active" and equal content gives equal hashes.
func Encode(rec roster.Record) ([]byte, string, error) {
	if rec.RecordStatus() != roster.StatusActive {
		return nil, "", fmt.Errorf("%s %s: only active records are encoded", rec.RecordKind(), rec.ID())
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, "", err
	}
	return b, pthv.Hash(b), nil
}

// Package importer is the one import pipeline every roster source goes through:
//
//	read → validate → plan (diff against the district's current roster) → safety check → apply → report
//
// A connector turns a source into roster records (connectors/oneroster/csv for S3 drops); the
// importer compares each record's content hash with the district's current roster, keeps only
// what changes, holds an import that would deactivate too many students, and applies the rest
// in full batches, checkpointing so that an import can continue in a later invocation.
//
// The package imports no AWS package: storage and blobs are the small interfaces in store.go.
package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pthv/reach/internal/roster"
)

// OpKind says what an operation does to one roster record.
type OpKind string

const (
	// OpPut writes the record (added, changed or revived).
	OpPut OpKind = "put"
	// OpDeactivate marks an existing record inactive; it is never deleted.
	OpDeactivate OpKind = "off"
)

// Op is one write of a plan.
type Op struct {
	Op   OpKind      `json:"o"`
	Kind roster.Kind `json:"k"`
	ID   string      `json:"id"`
	Hash string      `json:"h,omitempty"`
	// Data is the record as JSON (OpPut only).
	Data json.RawMessage `json:"d,omitempty"`
	// Role and User are kept on role records so that students can be counted.
	Role string `json:"r,omitempty"`
	User string `json:"u,omitempty"`
	// School is the org of a role, or the school of a class or an enrollment (OpPut only):
	// the store indexes these records by school so that a school's roster is read without
	// reading the district's.
	School string `json:"s,omitempty"`
}

// Current is what the store holds of one record: enough to decide whether to write it.
type Current struct {
	Hash   string
	Active bool
	Role   string // role value, for role records
	User   string // user sourcedId, for role records
}

// Counts is what an import does to one kind.
type Counts struct {
	Added       int `json:"added"`
	Changed     int `json:"changed"`
	Revived     int `json:"revived"`
	Unchanged   int `json:"unchanged"`
	Deactivated int `json:"deactivated"`
	Rejected    int `json:"rejected"`
}

// Writes is the number of items the counts write.
func (c Counts) Writes() int { return c.Added + c.Changed + c.Revived + c.Deactivated }

// Hash returns the content hash of a record's JSON: SHA-256 truncated to 128 bits.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

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
	return b, Hash(b), nil
}

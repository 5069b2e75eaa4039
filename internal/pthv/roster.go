package pthv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

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

// Op is one write of an import's plan.
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

// Current is what the store holds of one roster record: enough to decide whether to write it.
type Current struct {
	Hash   string
	Active bool
	// Seen is the importer's mark on its own copy of the state: the import being planned
	// read (or rejected) the record, so a bulk file does not deactivate it. It is never
	// stored, and costs no memory (it shares Active's word).
	Seen bool
	Role string // role value, for role records
	User string // user sourcedId, for role records
}

// State is a district's current roster as the planner needs it: per kind, sourcedId →
// content hash and active flag.
type State map[roster.Kind]map[string]Current

// Known implements the OneRoster reader's Resolver: delta rows may refer to records of
// earlier loads.
func (s State) Known(kind roster.Kind, id string) bool {
	c, ok := s[kind][id]
	return ok && c.Active
}

// Hash returns the content hash of a record's JSON: SHA-256 truncated to 128 bits.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// Kinds of counts the CSV imports besides rosters report (Import.Counts keys).
const (
	KindTraining roster.Kind = "training"
	KindOptIn    roster.Kind = "optIn"
	KindConsent  roster.Kind = "consent"
	KindVisit    roster.Kind = "visit"
)

// EducatorRoles are the roles of people who may visit families.
var EducatorRoles = []string{"teacher", "aide", "counselor", "principal", "administrator", "siteAdministrator",
	"districtAdministrator", "proctor", "systemAdministrator"}

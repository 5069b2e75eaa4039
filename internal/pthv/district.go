package pthv

import (
	"regexp"
	"time"
)

// District is a registered district. Drops are refused until a district is registered.
type District struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"` // two-letter US state code
	// HoldShare is the share of the district's active students an import may deactivate
	// before it is held for approval (default 0.10).
	HoldShare float64 `json:"holdShare"`
	// Watermark is the upload time of the newest drop processed; an older drop found later
	// is superseded, never applied over newer data.
	Watermark time.Time `json:"watermark"`
	Created   time.Time `json:"created"`
	// Snapshot is the key of the roster state written by the last applied import; Dirty is
	// set while an import applies, so that a snapshot is never trusted over a roster an
	// interrupted import may have changed.
	Snapshot string `json:"snapshot,omitempty"`
	Dirty    bool   `json:"dirty,omitempty"`
}

// DefaultHoldShare is the deactivation share above which an import is held.
const DefaultHoldShare = 0.10

// DistrictIDPattern is the rule for a district id: 1 to 64 letters, digits, '.', '_' or '-'
// (it is a segment of S3 keys and of DynamoDB keys). It is unanchored, for use inside
// larger patterns such as a drop key's.
const DistrictIDPattern = `[0-9A-Za-z._-]{1,64}`

// DistrictIDRule says the rule in words, for error messages.
const DistrictIDRule = "1 to 64 letters, digits, '.', '_' or '-'"

var districtIDRE = regexp.MustCompile(`^` + DistrictIDPattern + `$`)

// ValidDistrictID reports whether id follows DistrictIDPattern.
func ValidDistrictID(id string) bool { return districtIDRE.MatchString(id) }

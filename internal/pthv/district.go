package pthv

import (
	"maps"
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
	// Shares are the district's own hold shares per kind of importer.HoldKinds (students:
	// HoldShare); a kind not set has its default share.
	Shares map[string]float64 `json:"holdShares,omitempty"`
	// Watermark is the upload time of the newest drop processed; an older drop found later
	// is superseded, never applied over newer data.
	Watermark time.Time `json:"watermark"`
	Created   time.Time `json:"created"`
	// Snapshot is the key of the roster state written by the last applied import; Dirty is
	// set while an import applies, so that a snapshot is never trusted over a roster an
	// interrupted import may have changed.
	// A district registered with no roster has Snapshot EmptySnapshot: its first import reads
	// no partition. The first write to its roster clears the mark (Dirty, no snapshot).
	Snapshot string `json:"snapshot,omitempty"`
	Dirty    bool   `json:"dirty,omitempty"`
}

// EmptySnapshot is the Snapshot of a district known to have no roster records: the
// registration of a new district sets it, so that its first import reads no roster
// partition (7 kinds × 32 shards of empty Queries). It is no key (keys start with "state/").
const EmptySnapshot = "empty"

// DefaultHoldShare is the deactivation share above which an import is held.
const DefaultHoldShare = 0.10

// DistrictIDPattern is the rule for a district id: letters, digits, '.', '_' or '-', starting
// with a letter or digit, with a dot only between two other characters — so that no id is a
// dot segment ('.', '..', '...') or starts with '-' ('-rf'): it is a segment of S3 keys, of
// DynamoDB keys and of IAM names. At most 64 characters (ValidDistrictID checks the length).
// It is unanchored, for use inside larger patterns such as a drop key's.
const DistrictIDPattern = `[0-9A-Za-z][0-9A-Za-z_-]*(?:\.[0-9A-Za-z_-]+)*`

// DistrictIDRule says the rule in words, for error messages.
const DistrictIDRule = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, no two dots in a row and none at the end"

var districtIDRE = regexp.MustCompile(`^` + DistrictIDPattern + `$`)

// ValidDistrictID reports whether id follows DistrictIDPattern and is at most 64 characters.
func ValidDistrictID(id string) bool { return len(id) <= 64 && districtIDRE.MatchString(id) }

// SameRegistration reports whether asked registers d as it is: the same id, name, state and
// hold shares (a share of 0 or less being the default). A registration asked again as it is
// on file is not a conflict: it is also what a retried write that succeeded finds.
func (d District) SameRegistration(asked District) bool {
	share := func(s float64) float64 {
		if s <= 0 {
			return DefaultHoldShare
		}
		return s
	}
	return d.ID == asked.ID && d.Name == asked.Name && d.State == asked.State && share(d.HoldShare) == share(asked.HoldShare) &&
		maps.Equal(d.Shares, asked.Shares)
}

package importer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
	"github.com/pthv/reach/internal/visits"
)

// Errors with a meaning the pipeline acts on. Stores and blob stores wrap theirs in these.
var (
	// ErrNotFound: the district, import or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a conditional write lost (already claimed, already approved, lock held).
	ErrConflict = errors.New("conflict")
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

// Object names one version of an uploaded object.
type Object struct {
	Bucket     string    `json:"bucket"`
	Key        string    `json:"key"`
	VersionID  string    `json:"versionId,omitempty"`
	ETag       string    `json:"etag,omitempty"`
	Size       int64     `json:"size"`
	UploadedAt time.Time `json:"uploadedAt"`
}

// Identity is the object's idempotency key: bucket, key and version id (or ETag when the
// bucket is not versioned).
func (o Object) Identity() string {
	v := o.VersionID
	if v == "" || v == "null" {
		v = "etag:" + o.ETag
	}
	return o.Bucket + "/" + o.Key + "#" + v
}

// Status is an import's state.
type Status string

const (
	StatusPlanning   Status = "planning"
	StatusApplying   Status = "applying"
	StatusApplied    Status = "applied"
	StatusHeld       Status = "held"
	StatusApproved   Status = "approved"
	StatusRejected   Status = "rejected"
	StatusSuperseded Status = "superseded"
	StatusFailed     Status = "failed"
)

// Outcomes of an applied import.
const (
	// OutcomeComplete: no row or record was rejected.
	OutcomeComplete = "complete"
	// OutcomePartial: some rows or records were rejected, the rest landed.
	OutcomePartial = "partial"
	// OutcomeAllRejected: every row or record was rejected; nothing of the file landed.
	OutcomeAllRejected = "all_rejected"
)

// Settle sets the outcome of an applied import from its counts (and clears it otherwise).
func (imp *Import) Settle() {
	imp.Outcome = ""
	if imp.Status != StatusApplied {
		return
	}
	rejected, landed := 0, 0
	for _, c := range imp.Counts {
		rejected += c.Rejected
		landed += c.Added + c.Changed + c.Revived + c.Unchanged + c.Deactivated
	}
	switch {
	case rejected == 0:
		imp.Outcome = OutcomeComplete
	case landed == 0:
		imp.Outcome = OutcomeAllRejected
	default:
		imp.Outcome = OutcomePartial
	}
}

// Landed reports whether the import is final and applied something of its file: applied,
// and not every row rejected. A held, rejected, superseded or failed import, and an applied
// one whose rows were all rejected, did not land.
func (imp *Import) Landed() bool {
	return imp.Status == StatusApplied && imp.Outcome != OutcomeAllRejected
}

// Import is the record of one import: what came in, what it did, how long it took.
type Import struct {
	ID       string `json:"importId"`
	District string `json:"districtId"`
	Source   Object `json:"source"`
	Status   Status `json:"status"`
	// Outcome says, for an applied import, how much of it landed (OutcomeComplete,
	// OutcomePartial, OutcomeAllRejected); blank while it is not applied.
	Outcome    string                 `json:"outcome,omitempty"`
	Reason     string                 `json:"reason,omitempty"`
	Counts     map[roster.Kind]Counts `json:"counts"`
	Safety     Safety                 `json:"safety"`
	Validation ValidationSummary      `json:"validation"`
	// Kind is "roster" (default), "trainings", "consent" or "visits".
	Kind string `json:"kind,omitempty"`
	// TrainingFindings are the problems of a training file (trainings imports only).
	TrainingFindings []training.Finding `json:"trainingFindings,omitempty"`
	// ConsentFindings are the problems of a consent file (consent imports only).
	ConsentFindings []consent.Finding `json:"consentFindings,omitempty"`
	// VisitFindings are the problems of a visit file (visits imports only).
	VisitFindings []visits.Finding `json:"visitFindings,omitempty"`
	Writes        WriteStats       `json:"writes"`
	TimingsMS     map[string]int64 `json:"timingsMs"`
	Ops           int              `json:"ops"`
	Cursor        int              `json:"cursor"` // ops applied so far
	PlanKey       string           `json:"planKey,omitempty"`
	StateKey      string           `json:"stateKey,omitempty"`
	StateFrom     string           `json:"stateFrom,omitempty"` // where the roster was read: snapshot or table
	ReportKey     string           `json:"reportKey,omitempty"`
	Runs          int              `json:"runs"` // invocations that worked on it
	Started       time.Time        `json:"startedAt"`
	Finished      time.Time        `json:"finishedAt,omitzero"`
}

// ValidationSummary is the part of the validation report kept on the import record.
type ValidationSummary struct {
	Version  string     `json:"version"`
	Errors   int        `json:"errors"`
	Warnings int        `json:"warnings"`
	Codes    []CodeStat `json:"codes,omitempty"`
}

// CodeStat counts findings of one rule in one file.
type CodeStat struct {
	File  string `json:"file,omitempty"`
	Code  string `json:"code"`
	Count int    `json:"count"`
}

// WriteStats counts the store's work while applying.
type WriteStats struct {
	Items       int `json:"items"`
	Batches     int `json:"batches"`
	FullBatches int `json:"fullBatches"`
	Retries     int `json:"retries"` // BatchWriteItem calls that only retried UnprocessedItems
	Updates     int `json:"updates"` // single-item deactivations
}

// Add accumulates other into w.
func (w *WriteStats) Add(o WriteStats) {
	w.Items += o.Items
	w.Batches += o.Batches
	w.FullBatches += o.FullBatches
	w.Retries += o.Retries
	w.Updates += o.Updates
}

// Store keeps districts, rosters, imports and the bookkeeping that makes imports idempotent
// and serial per district. Errors are ErrNotFound or ErrConflict where the contract says so.
type Store interface {
	// District returns a registered district, or ErrNotFound.
	District(ctx context.Context, id string) (*District, error)
	// SetWatermark raises the district's watermark (never lowers it).
	SetWatermark(ctx context.Context, id string, t time.Time) error
	// SetSnapshot records the district's roster snapshot key and whether the roster is dirty.
	SetSnapshot(ctx context.Context, district, key string, dirty bool) error
	// LoadState reads the district's current roster: hash, active flag, and for roles the role and user.
	LoadState(ctx context.Context, district string) (State, error)
	// Apply writes ops (puts in full batches, deactivations as conditional updates).
	Apply(ctx context.Context, district, importID string, ops []Op) (WriteStats, error)
	// ClaimObject records that importID handles obj; ErrConflict when the object is already claimed.
	ClaimObject(ctx context.Context, obj Object, importID string) error
	// ObjectClaim returns the import that claimed obj, or ErrNotFound.
	ObjectClaim(ctx context.Context, obj Object) (string, error)
	// PutImport writes the import record.
	PutImport(ctx context.Context, imp *Import) error
	// GetImport reads an import record, or ErrNotFound.
	GetImport(ctx context.Context, district, id string) (*Import, error)
	// ListImports returns the district's imports, newest first.
	ListImports(ctx context.Context, district string, limit int) ([]*Import, error)
	// ClaimRun starts run number runs+1 of an import, only if it has had exactly runs runs;
	// ErrConflict otherwise (another invocation took this run).
	ClaimRun(ctx context.Context, district, id string, runs int) error
	// LoadTrainings returns the district's training records: key → content hash.
	LoadTrainings(ctx context.Context, district string) (map[string]string, error)
	// PutTrainings writes training records (upserts by key).
	PutTrainings(ctx context.Context, district, importID string, recs []TrainingWrite) (WriteStats, error)
	// OptInDecisions returns the opt-in decisions on record for a school year, by educator.
	OptInDecisions(ctx context.Context, district, year string) (map[string]OptIn, error)
	// SetOptIns records educators' opt-in decisions. Each is written only when no decision
	// on record for the educator and year is as new (a conditional write): an older decision
	// never replaces a newer one.
	SetOptIns(ctx context.Context, district string, opts []OptIn) (WriteStats, error)
	// Consent returns a school year's consent answers by subject; SetConsent records answers.
	Consent(ctx context.Context, district, year string) (map[string]consent.Entry, error)
	SetConsent(ctx context.Context, district string, entries []consent.Entry) error
	// GetRecord reads one roster record: its JSON and whether it is active.
	GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error)
	// LoadVisits returns what is stored of the district's visits, by visit id.
	LoadVisits(ctx context.Context, district string) (map[string]VisitCurrent, error)
	// PutVisits writes visits (upserts by visit id).
	PutVisits(ctx context.Context, district, importID string, vs []VisitWrite) (WriteStats, error)
	// TransitionImport sets the import's status to `to` only if it is `from`; ErrConflict otherwise.
	TransitionImport(ctx context.Context, district, id string, from, to Status) error
	// Lock takes the district's import lock for owner until the lease ends; ErrConflict when
	// another owner holds an unexpired lease. The same owner may take it again (renewal).
	Lock(ctx context.Context, district, owner string, lease time.Duration) error
	// Unlock releases the lock if owner holds it.
	Unlock(ctx context.Context, district, owner string) error
}

// TrainingWrite is one training record to store.
type TrainingWrite struct {
	Key        string // educator#date#type
	Educator   string
	SchoolYear string
	Hash       string
	Data       json.RawMessage
}

// OptIn is an educator's decision to take part in home visits in a school year (In) or
// not. A decision has a time (At): the training date of a training file's row (midnight UTC),
// the moment of a `pthv educators opt-in|opt-out`. The newest decision stands.
type OptIn struct {
	Educator   string    `json:"educatorSourcedId"`
	SchoolYear string    `json:"schoolYear"`
	In         bool      `json:"in"`
	At         time.Time `json:"at"`
	Source     string    `json:"source"` // "csv:{importId}" or "cli"
}

// Blobs reads drops and writes reports and plans.
type Blobs interface {
	// ListDrops returns every object version under prefix in bucket (no delete markers).
	ListDrops(ctx context.Context, bucket, prefix string) ([]Object, error)
	// Stat fills in version, ETag, size and upload time of obj (the latest version when VersionID is empty).
	Stat(ctx context.Context, obj Object) (Object, error)
	// Download copies the object version into w.
	Download(ctx context.Context, obj Object, w io.Writer) error
	// Put writes body under key in bucket.
	Put(ctx context.Context, bucket, key, contentType string, body []byte) error
	// Get reads the object at key in bucket; ErrNotFound when it does not exist.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Queue asks for an import to be continued in a later invocation.
type Queue interface {
	Continue(ctx context.Context, msg Continuation) error
}

// Continuation is the message that resumes an import: after a checkpoint, or on approval.
type Continuation struct {
	Kind     string `json:"pthv"` // always "continue-import"
	District string `json:"districtId"`
	ImportID string `json:"importId"`
	// Run is the run of the import this message starts; a message for a run that has
	// already happened (a duplicate delivery) is ignored.
	Run int `json:"run"`
}

// ContinuationKind marks a continuation message on the ingest queue.
const ContinuationKind = "continue-import"

// VisitCurrent is what the store holds of one visit: enough to skip an unchanged row and to
// find a family's first visit.
type VisitCurrent struct {
	Hash   string
	Year   string
	School string
	Family string
	Number int
}

// VisitWrite is one visit to store.
type VisitWrite struct {
	VisitCurrent
	ID   string
	Data json.RawMessage // a StoredVisit
}

// StoredVisit is a visit as stored: the row, with the family and its students at the school
// resolved from the roster at import time (the students the visit reached).
type StoredVisit struct {
	visits.Record
	Family   string   `json:"family"`
	Students []string `json:"students"`
	Year     string   `json:"schoolYear"`
}

// SchoolFamilies is a school's families as cohorts see them: family id → students, and
// student → family id.
type SchoolFamilies struct {
	Students map[string][]string
	Family   map[string]string
}

// FamilyResolver gives a school's families (internal/cohortsvc implements it); a school
// with no active students has none.
type FamilyResolver interface {
	SchoolFamilies(ctx context.Context, district, school string) (*SchoolFamilies, error)
	// DistrictFamilies returns the ids of the families a coordinator can have been given
	// (in a coordinator CSV) that are families of the current roster: the families of every
	// school of the district that has a cohort, as the school's roster builds them today.
	DistrictFamilies(ctx context.Context, district string) (map[string]bool, error)
}

// ReachNotifier is told which district-years an import changed, so that their reach
// metrics are recomputed (the reach function); a failure to notify is logged, never fatal:
// the nightly recomputation is the safety net.
type ReachNotifier interface {
	Touched(ctx context.Context, district string, years []string) error
}

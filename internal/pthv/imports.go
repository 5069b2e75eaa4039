package pthv

import (
	"time"

	"github.com/pthv/reach/internal/roster"
)

// Object names one version of an uploaded object (a drop).
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

// Status is an import's state. An import starts planning, then is applied, held (and later
// approved or superseded), rejected, superseded or failed.
type Status string

// The import statuses.
const (
	StatusPlanning   Status = "planning"
	StatusApplying   Status = "applying"
	StatusApplied    Status = "applied"
	StatusHeld       Status = "held"
	StatusApproved   Status = "approved"
	StatusRejected   Status = "rejected"
	StatusSuperseded Status = "superseded"
	StatusFailed     Status = "failed"
	// StatusQueued: a drop that arrived while another import of the district was unfinished;
	// it is recorded so that nothing is lost, and imported once the district is free.
	StatusQueued Status = "queued"
)

// The kinds of an import (Import.Kind); "" reads as ImportRoster.
const (
	ImportRoster    = "roster"
	ImportTrainings = "trainings"
	ImportConsent   = "consent"
	ImportVisits    = "visits"
)

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
	TrainingFindings []Finding `json:"trainingFindings,omitempty"`
	// ConsentFindings are the problems of a consent file (consent imports only).
	ConsentFindings []Finding `json:"consentFindings,omitempty"`
	// VisitFindings are the problems of a visit file (visits imports only).
	VisitFindings []Finding        `json:"visitFindings,omitempty"`
	Writes        WriteStats       `json:"writes"`
	TimingsMS     map[string]int64 `json:"timingsMs"`
	Ops           int              `json:"ops"`
	Cursor        int              `json:"cursor"` // ops applied so far
	// PlanKey is where the plan is saved: a prefix ending in "/" under which it is saved in
	// chunks of PlanChunkOps ops, or (imports planned by earlier versions, PlanChunkOps 0)
	// one object holding the whole plan.
	PlanKey      string `json:"planKey,omitempty"`
	PlanChunkOps int    `json:"planChunkOps,omitempty"`
	StateKey     string `json:"stateKey,omitempty"`
	StateFrom    string `json:"stateFrom,omitempty"` // where the roster was read: snapshot, table or empty (pthv.EmptySnapshot)
	ReportKey    string `json:"reportKey,omitempty"`
	Runs         int    `json:"runs"` // invocations that worked on it
	// Heartbeat is when the run working on the import last showed it is alive (at every
	// stage and every checkpoint); a run whose heartbeat is older than the lease is taken
	// over. Zero while no run works on it (after a transient failure).
	Heartbeat time.Time `json:"heartbeatAt,omitzero"`
	// Attempts counts runs that ended in a transient failure; after importer.MaxAttempts the
	// import is failed for good.
	Attempts int       `json:"attempts,omitempty"`
	Started  time.Time `json:"startedAt"`
	Finished time.Time `json:"finishedAt,omitzero"`
}

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

// FindingFields are a finding's fields, with the JSON names reports use. internal/csvrows
// and each CSV reader define their Finding types on them, so findings convert to Finding.
type FindingFields = struct {
	Severity string `json:"severity"` // error or warning
	Code     string `json:"code"`
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"` // 1: the header or the file as a whole; 0: too large
	Column   string `json:"column,omitempty"`
	Message  string `json:"message"`
}

// Finding is a problem with a training, consent or visit file or one of its rows, as the
// import record keeps it; it never holds a value from a row.
type Finding FindingFields

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

// Safety is the deactivation check's numbers: the students' (as before kinds were counted),
// every kind's, and why the import is held.
type Safety struct {
	ActiveStudents      int          `json:"activeStudents"`
	DeactivatedStudents int          `json:"deactivatedStudents"`
	Share               float64      `json:"share"`
	Threshold           float64      `json:"threshold"`
	Held                bool         `json:"held"`
	Kinds               []KindSafety `json:"kinds,omitempty"`
	// Reasons say, for people, which kind or file tripped the hold.
	Reasons []string `json:"reasons,omitempty"`
}

// KindSafety is the hold's count for one kind (students, staff, guardians, enrollments,
// classes, schools).
type KindSafety struct {
	Kind        string  `json:"kind"`
	Active      int     `json:"active"`
	Deactivated int     `json:"deactivated"`
	Share       float64 `json:"share"`
	Threshold   float64 `json:"threshold"`
	Held        bool    `json:"held"`
}

// WriteStats counts the store's work while applying.
type WriteStats struct {
	Items       int `json:"items"`
	Batches     int `json:"batches"`
	FullBatches int `json:"fullBatches"`
	Retries     int `json:"retries"` // BatchWriteItem calls that only retried UnprocessedItems
	Updates     int `json:"updates"` // deactivations (batched: read, then written back inactive)
}

// Add accumulates o into w.
func (w *WriteStats) Add(o WriteStats) {
	w.Items += o.Items
	w.Batches += o.Batches
	w.FullBatches += o.FullBatches
	w.Retries += o.Retries
	w.Updates += o.Updates
}

// Continuation is the message that resumes an import: after a checkpoint, or on approval.
type Continuation struct {
	Kind     string `json:"pthv"` // always ContinuationKind
	District string `json:"districtId"`
	ImportID string `json:"importId"`
	// Run is the run of the import this message starts; a message for a run that has
	// already happened (a duplicate delivery) is ignored.
	Run int `json:"run"`
}

// ContinuationKind marks a continuation message on the ingest queue.
const ContinuationKind = "continue-import"

// Message kinds on the ingest queue besides continuations (in the same "pthv" field).
const (
	// DrainKind asks for a district's stranded imports and waiting drops to be imported
	// ({"pthv":"drain-district","districtId":…}).
	DrainKind = "drain-district"
	// SweepKind is the schedule's message ({"pthv":"sweep"}): find every district with work
	// no run is doing.
	SweepKind = "sweep"
)

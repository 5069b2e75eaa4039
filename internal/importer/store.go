package importer

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// The store roles the pipeline calls, each declared here where it is consumed (as the
// OneRoster reader declares its Sink and Resolver). Errors are pthv errors: a not-found
// error (errors.Is(err, pthv.ErrNotFound)) or a conflict (pthv.ErrConflict) where a method
// says so; anything else is an internal failure.
//
// A roster drop uses Districts, Claims, Locks, Imports and Rosters; a training drop Claims,
// Locks, Imports, Rosters (LoadState) and Trainings; a consent drop Claims, Imports,
// Rosters and Consents; a visit drop Claims, Imports, Rosters, Trainings (LoadTrainings) and
// Visits; Approve only Imports.

// Districts reads a district and keeps the bookkeeping of its roster imports.
type Districts interface {
	// District returns a registered district, or a not-found error.
	District(ctx context.Context, id string) (*pthv.District, error)
	// SetWatermark raises the district's watermark (never lowers it).
	SetWatermark(ctx context.Context, id string, t time.Time) error
	// SetSnapshot records the district's roster snapshot key and whether the roster is dirty.
	SetSnapshot(ctx context.Context, district, key string, dirty bool) error
}

// Claims makes the pipeline idempotent under at-least-once delivery.
type Claims interface {
	// ClaimObject records that importID handles obj; a conflict when the object is already claimed.
	ClaimObject(ctx context.Context, obj pthv.Object, importID string) error
	// ObjectClaim returns the import that claimed obj, or a not-found error.
	ObjectClaim(ctx context.Context, obj pthv.Object) (string, error)
	// ClaimRun starts run number runs+1 of an import, only if it has had exactly runs runs;
	// a conflict otherwise (another invocation took this run).
	ClaimRun(ctx context.Context, district, id string, runs int) error
}

// Locks keeps a district's imports serial.
type Locks interface {
	// Lock takes the district's import lock for owner until the lease ends; a conflict when
	// another owner holds an unexpired lease. The same owner may take it again (renewal).
	Lock(ctx context.Context, district, owner string, lease time.Duration) error
	// Unlock releases the lock if owner holds it.
	Unlock(ctx context.Context, district, owner string) error
}

// Imports keeps import records.
type Imports interface {
	// PutImport writes the import record, unless the stored record has more runs than imp
	// (a later run took the import over): then a conflict, and nothing is written.
	PutImport(ctx context.Context, imp *pthv.Import) error
	// GetImport reads an import record, or a not-found error.
	GetImport(ctx context.Context, district, id string) (*pthv.Import, error)
	// ListImports returns the district's newest imports, newest first (at most limit; a
	// limit of 0 or less means 20).
	ListImports(ctx context.Context, district string, limit int) ([]*pthv.Import, error)
	// TransitionImport sets the import's status to `to` only if it is `from`; a conflict otherwise.
	TransitionImport(ctx context.Context, district, id string, from, to pthv.Status) error
}

// Rosters reads and writes a district's roster records.
type Rosters interface {
	// LoadState reads the district's current roster: hash, active flag, and for roles the role and user.
	LoadState(ctx context.Context, district string) (pthv.State, error)
	// Apply writes ops (puts in full batches, deactivations as conditional updates).
	Apply(ctx context.Context, district, importID string, ops []pthv.Op) (pthv.WriteStats, error)
	// GetRecord reads one roster record: its JSON and whether it is active; a not-found error
	// when there is none.
	GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error)
}

// Trainings keeps training records and educators' opt-ins.
type Trainings interface {
	// LoadTrainings returns the district's training records: key → content hash.
	LoadTrainings(ctx context.Context, district string) (map[string]string, error)
	// PutTrainings writes training records (upserts by key).
	PutTrainings(ctx context.Context, district, importID string, recs []pthv.TrainingWrite) (pthv.WriteStats, error)
	// OptInDecisions returns the opt-in decisions on record for a school year, by educator.
	OptInDecisions(ctx context.Context, district, year string) (map[string]pthv.OptIn, error)
	// SetOptIns records educators' opt-in decisions. Each is written only when no decision
	// on record for the educator and year is as new (a conditional write): an older decision
	// never replaces a newer one.
	SetOptIns(ctx context.Context, district string, opts []pthv.OptIn) (pthv.WriteStats, error)
}

// Consents keeps families' consent answers.
type Consents interface {
	// Consent returns a school year's consent answers by subject.
	Consent(ctx context.Context, district, year string) (map[string]pthv.ConsentEntry, error)
	// SetConsent records answers.
	SetConsent(ctx context.Context, district string, entries []pthv.ConsentEntry) error
}

// Visits keeps visits as stored.
type Visits interface {
	// LoadVisits returns what is stored of the district's visits, by visit id.
	LoadVisits(ctx context.Context, district string) (map[string]pthv.VisitCurrent, error)
	// PutVisits writes visits (upserts by visit id).
	PutVisits(ctx context.Context, district, importID string, vs []pthv.VisitWrite) (pthv.WriteStats, error)
}

// Store is every role the pipeline calls; internal/store's DynamoDB store and
// internal/store/memstore implement it (wired in internal/app).
type Store interface {
	Districts
	Claims
	Locks
	Imports
	Rosters
	Trainings
	Consents
	Visits
}

// Blobs reads drops and writes reports and plans.
type Blobs interface {
	// ListDrops returns every object version under prefix in bucket (no delete markers).
	ListDrops(ctx context.Context, bucket, prefix string) ([]pthv.Object, error)
	// Download copies the object version into w.
	Download(ctx context.Context, obj pthv.Object, w io.Writer) error
	// Put writes body under key in bucket.
	Put(ctx context.Context, bucket, key, contentType string, body []byte) error
	// Get reads the object at key in bucket; a not-found error when it does not exist.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Queue asks for an import to be continued in a later invocation.
type Queue interface {
	Continue(ctx context.Context, msg pthv.Continuation) error
}

// FamilyResolver gives a school's families (internal/cohortsvc implements it); a school
// with no active students has none.
type FamilyResolver interface {
	SchoolFamilies(ctx context.Context, district, school string) (*pthv.SchoolFamilies, error)
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

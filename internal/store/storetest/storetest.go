// Package storetest is the contract of PTHV Reach's stores, after go-cloud's blob/drivertest:
// one suite that every implementation passes, so that the in-memory store unit tests use
// (internal/store/memstore) behaves as the DynamoDB store (internal/store, run on moto) does.
// It covers district locks, object and run claims, status transitions, conditional-write
// conflicts, and the round trip of every kind of record.
//
// Call Run from a test of the implementation's package:
//
//	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store { ... })
//
// The suite uses ids of its own in each subtest, so a store may be shared between them.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// Store is every method of the stores the suite holds to the contract: the roles
// internal/importer, internal/cohortsvc, internal/reachsvc and internal/api declare, and
// what the command line calls.
type Store interface {
	District(ctx context.Context, id string) (*pthv.District, error)
	PutDistrict(ctx context.Context, d pthv.District) error
	ListDistricts(ctx context.Context) ([]pthv.District, error)
	SetWatermark(ctx context.Context, id string, t time.Time) error
	SetSnapshot(ctx context.Context, district, key string, dirty bool) error
	Lock(ctx context.Context, district, owner string, lease time.Duration) error
	Unlock(ctx context.Context, district, owner string) error

	LoadState(ctx context.Context, district string) (pthv.State, error)
	Apply(ctx context.Context, district, importID string, ops []pthv.Op) (pthv.WriteStats, error)
	GetRecord(ctx context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error)
	SchoolRoster(ctx context.Context, district, school string) (*pthv.SchoolRoster, error)
	SchoolStudents(ctx context.Context, district, school string) (int, error)
	Users(ctx context.Context, district string, ids []string) (map[string]*roster.User, error)

	ClaimObject(ctx context.Context, obj pthv.Object, importID string) error
	ObjectClaim(ctx context.Context, obj pthv.Object) (string, error)
	PutImport(ctx context.Context, imp *pthv.Import) error
	GetImport(ctx context.Context, district, id string) (*pthv.Import, error)
	ListImports(ctx context.Context, district string, limit int) ([]*pthv.Import, error)
	ClaimRun(ctx context.Context, district, id string, runs int) error
	TransitionImport(ctx context.Context, district, id string, from, to pthv.Status) error

	LoadTrainings(ctx context.Context, district string) (map[string]string, error)
	PutTrainings(ctx context.Context, district, importID string, recs []pthv.TrainingWrite) (pthv.WriteStats, error)
	SetOptIns(ctx context.Context, district string, opts []pthv.OptIn) error
	OptIns(ctx context.Context, district, year string) (map[string]bool, error)
	Consent(ctx context.Context, district, year string) (map[string]pthv.ConsentEntry, error)
	SetConsent(ctx context.Context, district string, entries []pthv.ConsentEntry) error
	LoadVisits(ctx context.Context, district string) (map[string]pthv.VisitCurrent, error)
	PutVisits(ctx context.Context, district, importID string, vs []pthv.VisitWrite) (pthv.WriteStats, error)
	VisitsOf(ctx context.Context, district, year string) ([]pthv.StoredVisit, int, error)

	PutCohort(ctx context.Context, rec *cohort.Record, members []cohort.MemberItem) error
	GetCohort(ctx context.Context, district, id string) (*cohort.Record, error)
	Members(ctx context.Context, district, id string) ([]cohort.MemberItem, error)
	ListCohorts(ctx context.Context, district string) ([]*cohort.Record, error)
	PutAggregate(ctx context.Context, year, name string, data []byte) (bool, error)
	Aggregates(ctx context.Context, year, prefix string) (map[string][]byte, error)
}

// Open returns an empty store (or one whose data the suite's ids do not meet) whose clock
// is now.
type Open func(t *testing.T, now func() time.Time) Store

// clock is a settable clock, in whole milliseconds as stores keep times.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s Store, c *clock)
	}{
		{"districts round trip and keep their watermark", testDistricts},
		{"a district lock is held until its lease passes", testLocks},
		{"an object version is claimed once", testObjectClaims},
		{"import records round trip, newest first", testImports},
		{"a run is claimed once", testRunClaims},
		{"a status changes only from the expected one", testTransitions},
		{"roster records round trip and are deactivated, never deleted", testRoster},
		{"a school's roster is read by school", testSchoolRoster},
		{"trainings and opt-ins round trip", testTrainings},
		{"consent answers round trip, the last of a call winning", testConsent},
		{"visits round trip and are read by year", testVisits},
		{"cohort revisions follow each other", testCohorts},
		{"aggregates are written only when they change", testAggregates},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)}
			c.fn(t, open(t, clk.now), clk)
		})
	}
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is a pthv error of code.
func wantCode(t *testing.T, what string, err error, sentinel *pthv.Error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: got %v, want a %s error", what, err, sentinel.Code)
	}
}

// uniq returns an id no other run of the suite on the same store uses.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

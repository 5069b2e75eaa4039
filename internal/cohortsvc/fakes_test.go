package cohortsvc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store/memstore"
)

// rosterView is the generated roster as the tests see it to compute what to expect,
// apart from the store the service reads: users by id, roles, and the users the test has
// deactivated since.
type rosterView struct {
	users    map[string]roster.User
	roles    []roster.Role
	inactive map[string]bool
	planner  *importer.Planner
}

// File, Record and Reject make the view a OneRoster Sink that keeps what it is given and
// hands it on to the import pipeline's planner.
func (v *rosterView) File(kind roster.Kind, mode roster.Mode) error {
	return v.planner.File(kind, mode)
}
func (v *rosterView) Record(rec roster.Record) error {
	switch r := rec.(type) {
	case *roster.User:
		v.users[r.SourcedID] = *r
	case *roster.Role:
		v.roles = append(v.roles, *r)
	}
	return v.planner.Record(rec)
}
func (v *rosterView) Reject(kind roster.Kind, id string) error {
	switch kind {
	case roster.KindUser:
		delete(v.users, id)
	case roster.KindRole:
		v.roles = slices.DeleteFunc(v.roles, func(r roster.Role) bool { return r.SourcedID == id })
	}
	return v.planner.Reject(kind, id)
}

// loadGenerated generates a district and imports it into a memory store as the pipeline
// would: read, planned against an empty roster, applied.
func loadGenerated(t testing.TB, district string, opt rostergen.Options) (*memstore.Store, *rosterView) {
	t.Helper()
	dir := t.TempDir()
	opt.DistrictID = district
	if _, err := rostergen.Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v := &rosterView{users: map[string]roster.User{}, inactive: map[string]bool{}, planner: importer.NewPlanner(pthv.State{})}
	rep, err := orcsv.ReadPath(ctx, dir, v, orcsv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fatal() {
		t.Fatalf("generated roster is rejected: %d errors", rep.Errors)
	}
	st := memstore.New()
	if err := st.PutDistrict(ctx, pthv.District{ID: district, State: "CA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, district, "imp-test", v.planner.Finish(1).Ops); err != nil {
		t.Fatal(err)
	}
	return st, v
}

// deactivate marks a user inactive in the store, as an import that no longer lists it does.
func (f *fixture) deactivate(t testing.TB, id string) {
	t.Helper()
	if _, err := f.store.Apply(context.Background(), testDistrict, "imp-test", []pthv.Op{{Op: pthv.OpDeactivate, Kind: roster.KindUser, ID: id}}); err != nil {
		t.Fatal(err)
	}
	f.roster.inactive[id] = true
}

// putUser writes a changed user, as an import of the change does.
func (f *fixture) putUser(t testing.TB, u roster.User) {
	t.Helper()
	data, hash, err := importer.Encode(&u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Apply(context.Background(), testDistrict, "imp-test", []pthv.Op{{Op: pthv.OpPut, Kind: roster.KindUser, ID: u.SourcedID, Hash: hash, Data: data}}); err != nil {
		t.Fatal(err)
	}
	f.roster.users[u.SourcedID] = u
}

// memBlobs is an in-memory Blobs.
type memBlobs struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, bucket, key, _ string, body []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objs == nil {
		b.objs = map[string][]byte{}
	}
	b.objs[bucket+"/"+key] = slices.Clone(body)
	return nil
}

func (b *memBlobs) Get(_ context.Context, bucket, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objs[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, pthv.ErrNotFound)
	}
	return slices.Clone(o), nil
}

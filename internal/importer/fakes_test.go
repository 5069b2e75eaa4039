package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// memStore is an in-memory Store for unit tests of the pipeline.
type memStore struct {
	trainings     map[string]string // district/key → hash
	optDecisions  map[string]pthv.OptIn
	optIns        map[string]bool          // district/year/educator → in
	consent       map[string]consent.Entry // district/year/subject → answer
	consentWrites int
	visits        map[string]pthv.VisitWrite // district/visitId
	mu            sync.Mutex
	loads         int // full roster loads
	districts     map[string]*pthv.District
	records       map[string]memRec // district/kind/id
	claims        map[string]string
	imports       map[string]*pthv.Import // district/id
	locks         map[string]memLock
	writes        int
	now           func() time.Time
}

type memRec struct {
	pthv.Current
	data string
}

type memLock struct {
	owner string
	until time.Time
}

func newMemStore() *memStore {
	return &memStore{trainings: map[string]string{}, optIns: map[string]bool{}, consent: map[string]consent.Entry{}, visits: map[string]pthv.VisitWrite{}, districts: map[string]*pthv.District{}, records: map[string]memRec{}, claims: map[string]string{},
		imports: map[string]*pthv.Import{}, locks: map[string]memLock{}, now: time.Now}
}

func (m *memStore) District(_ context.Context, id string) (*pthv.District, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.districts[id]
	if !ok {
		return nil, pthv.ErrNotFound
	}
	c := *d
	return &c, nil
}

func (m *memStore) SetWatermark(_ context.Context, id string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.districts[id]; d != nil && t.After(d.Watermark) {
		d.Watermark = t
	}
	return nil
}

func (m *memStore) SetSnapshot(_ context.Context, id, key string, dirty bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.districts[id]; d != nil {
		d.Snapshot, d.Dirty = key, dirty
	}
	return nil
}

func (m *memStore) LoadState(_ context.Context, district string) (pthv.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	st := pthv.State{}
	for _, k := range roster.Kinds {
		st[k] = map[string]pthv.Current{}
	}
	for key, r := range m.records {
		parts := strings.SplitN(key, "/", 3)
		if parts[0] == district {
			st[roster.Kind(parts[1])][parts[2]] = r.Current
		}
	}
	return st, nil
}

func (m *memStore) Apply(_ context.Context, district, _ string, ops []pthv.Op) (pthv.WriteStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ws pthv.WriteStats
	for _, op := range ops {
		key := district + "/" + string(op.Kind) + "/" + op.ID
		switch op.Op {
		case pthv.OpPut:
			m.records[key] = memRec{Current: pthv.Current{Hash: op.Hash, Active: true, Role: op.Role, User: op.User}, data: string(op.Data)}
			ws.Items++
		case pthv.OpDeactivate:
			r := m.records[key]
			r.Active = false
			m.records[key] = r
			ws.Updates++
		}
		m.writes++
	}
	return ws, nil
}

func (m *memStore) ClaimObject(_ context.Context, obj pthv.Object, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.claims[obj.Identity()]; ok {
		return pthv.ErrConflict
	}
	m.claims[obj.Identity()] = id
	return nil
}

func (m *memStore) ObjectClaim(_ context.Context, obj pthv.Object) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.claims[obj.Identity()]
	if !ok {
		return "", pthv.ErrNotFound
	}
	return id, nil
}

func (m *memStore) PutImport(_ context.Context, imp *pthv.Import) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *imp
	m.imports[imp.District+"/"+imp.ID] = &c
	return nil
}

func (m *memStore) GetImport(_ context.Context, district, id string) (*pthv.Import, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp, ok := m.imports[district+"/"+id]
	if !ok {
		return nil, pthv.ErrNotFound
	}
	c := *imp
	return &c, nil
}

func (m *memStore) ListImports(_ context.Context, district string, _ int) ([]*pthv.Import, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*pthv.Import
	for _, imp := range m.imports {
		if imp.District == district {
			c := *imp
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *pthv.Import) int { return strings.Compare(b.ID, a.ID) })
	return out, nil
}

func (m *memStore) LoadTrainings(_ context.Context, district string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, h := range m.trainings {
		if d, key, _ := strings.Cut(k, "/"); d == district {
			out[key] = h
		}
	}
	return out, nil
}

func (m *memStore) PutTrainings(_ context.Context, district, _ string, recs []pthv.TrainingWrite) (pthv.WriteStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		m.trainings[district+"/"+r.Key] = r.Hash
		m.writes++
	}
	return pthv.WriteStats{Items: len(recs)}, nil
}

func (m *memStore) GetRecord(_ context.Context, district string, kind roster.Kind, id string) (json.RawMessage, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[district+"/"+string(kind)+"/"+id]
	if !ok {
		return nil, false, pthv.ErrNotFound
	}
	return json.RawMessage(r.data), r.Active, nil
}

func (m *memStore) LoadVisits(_ context.Context, district string) (map[string]pthv.VisitCurrent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]pthv.VisitCurrent{}
	for k, v := range m.visits {
		if strings.HasPrefix(k, district+"/") {
			out[strings.TrimPrefix(k, district+"/")] = v.VisitCurrent
		}
	}
	return out, nil
}

func (m *memStore) PutVisits(_ context.Context, district, _ string, vs []pthv.VisitWrite) (pthv.WriteStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range vs {
		m.visits[district+"/"+v.ID] = v
	}
	return pthv.WriteStats{Items: len(vs)}, nil
}

func (m *memStore) Consent(_ context.Context, district, year string) (map[string]consent.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]consent.Entry{}
	prefix := district + "/" + year + "/"
	for k, e := range m.consent {
		if strings.HasPrefix(k, prefix) {
			out[e.Subject] = e
		}
	}
	return out, nil
}

func (m *memStore) SetConsent(_ context.Context, district string, es []consent.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range es {
		m.consent[district+"/"+e.Year+"/"+e.Subject] = e
		m.consentWrites++
	}
	return nil
}

// SetOptIns writes a decision only when none on record is as new, as the DynamoDB store's
// conditional put does.
func (m *memStore) SetOptIns(_ context.Context, district string, opts []pthv.OptIn) (pthv.WriteStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.optDecisions == nil {
		m.optDecisions = map[string]pthv.OptIn{}
	}
	var ws pthv.WriteStats
	for _, o := range opts {
		k := district + "/" + o.SchoolYear + "/" + o.Educator
		if old, ok := m.optDecisions[k]; ok && !old.At.Before(o.At) {
			continue
		}
		m.optDecisions[k], m.optIns[k] = o, o.In
		m.writes++
		ws.Items++
	}
	return ws, nil
}

func (m *memStore) OptInDecisions(_ context.Context, district, year string) (map[string]pthv.OptIn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]pthv.OptIn{}
	for k, o := range m.optDecisions {
		if strings.HasPrefix(k, district+"/"+year+"/") {
			out[o.Educator] = o
		}
	}
	return out, nil
}

func (m *memStore) ClaimRun(_ context.Context, district, id string, runs int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp, ok := m.imports[district+"/"+id]
	if !ok {
		return pthv.ErrNotFound
	}
	if imp.Runs != runs {
		return pthv.ErrConflict
	}
	imp.Runs++
	return nil
}

func (m *memStore) TransitionImport(_ context.Context, district, id string, from, to pthv.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp, ok := m.imports[district+"/"+id]
	if !ok {
		return pthv.ErrNotFound
	}
	if imp.Status != from {
		return pthv.ErrConflict
	}
	imp.Status = to
	return nil
}

func (m *memStore) Lock(_ context.Context, district, owner string, lease time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.locks[district]
	if ok && l.owner != owner && l.until.After(m.now()) {
		return pthv.ErrConflict
	}
	m.locks[district] = memLock{owner, m.now().Add(lease)}
	return nil
}

func (m *memStore) Unlock(_ context.Context, district, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[district].owner == owner {
		delete(m.locks, district)
	}
	return nil
}

// active returns the sorted ids of the district's active records of a kind.
func (m *memStore) active(district string, kind roster.Kind) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for key, r := range m.records {
		parts := strings.SplitN(key, "/", 3)
		if parts[0] == district && parts[1] == string(kind) && r.Active {
			ids = append(ids, parts[2])
		}
	}
	slices.Sort(ids)
	return ids
}

// memBlobs is an in-memory versioned bucket store.
type memBlobs struct {
	mu      sync.Mutex
	objects map[string][]memObj // bucket/key → versions
	clock   time.Time
}

type memObj struct {
	pthv.Object
	data []byte
}

func newMemBlobs() *memBlobs {
	return &memBlobs{objects: map[string][]memObj{}, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// upload stores a new version, one second after the previous upload.
func (b *memBlobs) upload(bucket, key string, data []byte) pthv.Object {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clock = b.clock.Add(time.Second)
	vs := b.objects[bucket+"/"+key]
	o := pthv.Object{Bucket: bucket, Key: key, VersionID: fmt.Sprintf("v%d", len(vs)+1), ETag: fmt.Sprintf("e%d", len(data)),
		Size: int64(len(data)), UploadedAt: b.clock}
	b.objects[bucket+"/"+key] = append(vs, memObj{o, data})
	return o
}

func (b *memBlobs) ListDrops(_ context.Context, bucket, prefix string) ([]pthv.Object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []pthv.Object
	for k, vs := range b.objects {
		if strings.HasPrefix(k, bucket+"/"+prefix) {
			for _, v := range vs {
				out = append(out, v.Object)
			}
		}
	}
	return out, nil
}

func (b *memBlobs) find(obj pthv.Object) (*memObj, error) {
	vs := b.objects[obj.Bucket+"/"+obj.Key]
	for i := range vs {
		if obj.VersionID == "" && i == len(vs)-1 || vs[i].VersionID == obj.VersionID {
			return &vs[i], nil
		}
	}
	return nil, pthv.ErrNotFound
}

func (b *memBlobs) Stat(_ context.Context, obj pthv.Object) (pthv.Object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.find(obj)
	if err != nil {
		return obj, err
	}
	return o.Object, nil
}

func (b *memBlobs) Download(_ context.Context, obj pthv.Object, w io.Writer) error {
	b.mu.Lock()
	o, err := b.find(obj)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, bytes.NewReader(o.data))
	return err
}

func (b *memBlobs) Put(_ context.Context, bucket, key, _ string, body []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[bucket+"/"+key] = []memObj{{pthv.Object{Bucket: bucket, Key: key}, bytes.Clone(body)}}
	return nil
}

func (b *memBlobs) Get(_ context.Context, bucket, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	vs := b.objects[bucket+"/"+key]
	if len(vs) == 0 {
		return nil, pthv.ErrNotFound
	}
	return vs[len(vs)-1].data, nil
}

// memQueue records continuations.
type memQueue struct {
	mu   sync.Mutex
	msgs []pthv.Continuation
}

func (q *memQueue) Continue(_ context.Context, c pthv.Continuation) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, c)
	return nil
}

func (q *memQueue) take() []pthv.Continuation {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs
	q.msgs = nil
	return m
}

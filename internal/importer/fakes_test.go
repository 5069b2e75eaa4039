package importer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/store/memstore"
)

// active returns the sorted ids of the district's active records of a kind.
func active(st *memstore.Store, district string, kind roster.Kind) []string {
	cur, err := st.LoadState(context.Background(), district)
	if err != nil {
		panic(err)
	}
	var ids []string
	for id, c := range cur[kind] {
		if c.Active {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// writes counts the roster and training items the store has written.
func writes(st *memstore.Store) int { return st.Items("Apply") + st.Items("PutTrainings") }

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

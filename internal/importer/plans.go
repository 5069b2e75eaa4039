package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"

	"github.com/pthv/reach/internal/pthv"
)

// A plan is saved in the reports bucket in chunks of PlanChunkOps ops, each a gzipped JSON
// line per op: plans/{district}/{importId}/{n}.jsonl.gz, n counting from 000000. The import
// records the prefix (PlanKey, ending in "/") and the chunk size, so that an apply reads
// one chunk at a time. Imports planned by earlier versions saved the whole plan as one
// object, plans/{district}/{importId}.jsonl.gz (PlanChunkOps 0); those still load.

// DefaultPlanChunkOps is how many ops one saved chunk of a plan holds.
const DefaultPlanChunkOps = 10000

func (s *Service) planChunkOps() int {
	if s.PlanChunkOps > 0 {
		return s.PlanChunkOps
	}
	return DefaultPlanChunkOps
}

func planPrefix(district, importID string) string {
	return pthv.KeyPrefix("plans", district, importID)
}

func planChunkKey(prefix string, n int) string {
	return fmt.Sprintf("%s%06d.jsonl.gz", prefix, n)
}

// savePlan saves plan's ops in chunks and records where on imp.
func (s *Service) savePlan(ctx context.Context, imp *pthv.Import, plan Plan) error {
	size := s.planChunkOps()
	prefix := planPrefix(imp.District, imp.ID)
	var buf bytes.Buffer
	var zw *gzip.Writer
	var enc *json.Encoder
	n, chunk := 0, 0
	flush := func() error {
		if err := zw.Close(); err != nil {
			return err
		}
		err := s.Blobs.Put(ctx, s.ReportsBucket, planChunkKey(prefix, chunk), "application/gzip", buf.Bytes())
		chunk++
		return err
	}
	err := plan.Each(func(op *pthv.Op) error {
		if n%size == 0 {
			if n > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			buf.Reset()
			zw = gzip.NewWriter(&buf)
			enc = json.NewEncoder(zw)
		}
		n++
		return enc.Encode(op)
	})
	if err == nil && n > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if n != plan.Len() {
		return fmt.Errorf("save plan: %d ops read back, %d planned", n, plan.Len())
	}
	imp.PlanKey, imp.PlanChunkOps = prefix, size
	return nil
}

// planOps reads a saved plan for an apply: the chunk that holds a cursor, or the whole
// plan of an earlier version.
type planOps struct {
	s    *Service
	imp  *pthv.Import
	base int // index of ops[0] in the plan
	ops  []pthv.Op
	read bool
}

// at returns the ops of the plan from cursor on, as far as the chunk in memory goes (at
// least one op when cursor < imp.Ops).
func (p *planOps) at(ctx context.Context, cursor int) ([]pthv.Op, error) {
	if p.read && cursor >= p.base && cursor < p.base+len(p.ops) {
		return p.ops[cursor-p.base:], nil
	}
	size := p.imp.PlanChunkOps
	if size <= 0 { // the whole plan in one object
		ops, err := readPlanObject(ctx, p.s, p.imp.PlanKey)
		if err != nil {
			return nil, err
		}
		if len(ops) != p.imp.Ops {
			return nil, fmt.Errorf("read plan: %d ops, the import planned %d", len(ops), p.imp.Ops)
		}
		p.base, p.ops, p.read = 0, ops, true
		return p.ops[cursor:], nil
	}
	n := cursor / size
	key := planChunkKey(p.imp.PlanKey, n)
	ops, err := readPlanObject(ctx, p.s, key)
	if err != nil {
		return nil, err
	}
	if want := min(size, p.imp.Ops-n*size); len(ops) != want {
		return nil, fmt.Errorf("read plan: chunk %s has %d ops, %d expected (ops %d to %d of %d)", key, len(ops), want, n*size, n*size+want-1, p.imp.Ops)
	}
	p.base, p.ops, p.read = n*size, ops, true
	return p.ops[cursor-p.base:], nil
}

// readPlanObject reads one saved object of a plan: a gzipped JSON line per op.
func readPlanObject(ctx context.Context, s *Service, key string) ([]pthv.Op, error) {
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, key)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", key, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", key, err)
	}
	var ops []pthv.Op
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var op pthv.Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("read plan %s: %w", key, err)
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read plan %s: %w", key, err)
	}
	return ops, nil
}

package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
)

func (s *Service) planKey(imp *Import) string {
	return "plans/" + imp.District + "/" + imp.ID + ".jsonl.gz"
}

// ReportKey is where an import's report is written in the reports bucket.
func ReportKey(district, importID string) string {
	return "reports/" + district + "/imports/" + importID + ".json"
}

func (s *Service) savePlan(ctx context.Context, imp *Import, ops []Op) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for i := range ops {
		if err := enc.Encode(&ops[i]); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	key := s.planKey(imp)
	return key, s.Blobs.Put(ctx, s.ReportsBucket, key, "application/gzip", buf.Bytes())
}

func (s *Service) loadPlan(ctx context.Context, imp *Import) ([]Op, error) {
	if imp.PlanKey == "" {
		return nil, nil
	}
	b, err := s.Blobs.Get(ctx, s.ReportsBucket, imp.PlanKey)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var ops []Op
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var op Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		ops = append(ops, op)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(ops) != imp.Ops {
		return nil, fmt.Errorf("read plan: %d ops, the import planned %d", len(ops), imp.Ops)
	}
	return ops, nil
}

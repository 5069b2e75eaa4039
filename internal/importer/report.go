package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
)

func (s *Service) planKey(imp *pthv.Import) string {
	return "plans/" + pthv.KeySegment(imp.District) + "/" + pthv.KeySegment(imp.ID) + ".jsonl.gz"
}

// ReportKey is where an import's report is written in the reports bucket.
func ReportKey(district, importID string) string {
	return "reports/" + pthv.KeySegment(district) + "/imports/" + pthv.KeySegment(importID) + ".json"
}

func (s *Service) savePlan(ctx context.Context, imp *pthv.Import, ops []pthv.Op) (string, error) {
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

func (s *Service) loadPlan(ctx context.Context, imp *pthv.Import) ([]pthv.Op, error) {
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
	var ops []pthv.Op
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var op pthv.Op
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

// finish writes the final report and the import record.
func (s *Service) finish(ctx context.Context, imp *pthv.Import, rep *orcsv.Report) error {
	imp.Settle()
	if err := s.writeReport(ctx, imp, rep); err != nil {
		return err
	}
	return s.Store.PutImport(ctx, imp)
}

// writeReport writes the report. Without a validation report it keeps the one an earlier
// write of the same import stored.
func (s *Service) writeReport(ctx context.Context, imp *pthv.Import, rep *orcsv.Report) error {
	key := ReportKey(imp.District, imp.ID)
	imp.ReportKey = key
	if rep == nil {
		if b, err := s.Blobs.Get(ctx, s.ReportsBucket, key); err == nil {
			var old struct {
				ValidationReport *orcsv.Report `json:"validationReport"`
			}
			if json.Unmarshal(b, &old) == nil {
				rep = old.ValidationReport
			}
		} else if !errors.Is(err, pthv.ErrNotFound) {
			return err
		}
	}
	b, err := json.MarshalIndent(Report{ReportVersion: "1", Import: imp, ValidationReport: rep}, "", "  ")
	if err != nil {
		return err
	}
	return s.Blobs.Put(ctx, s.ReportsBucket, key, "application/json", b)
}

// Report is the import report written to reports/{district}/imports/{importId}.json; it
// conforms to schemas/import-report.schema.json.
type Report struct {
	ReportVersion string `json:"reportVersion"`
	*pthv.Import
	ValidationReport *orcsv.Report `json:"validationReport,omitempty"`
}

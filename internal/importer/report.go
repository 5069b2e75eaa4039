package importer

import (
	"context"
	"encoding/json"
	"errors"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
)

// ReportKey is where an import's report is written in the reports bucket.
func ReportKey(district, importID string) string {
	return pthv.Key("reports", district, "imports", importID+".json")
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

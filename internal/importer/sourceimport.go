package importer

import (
	"context"
	"errors"
	"fmt"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// PackageOptions tune an import of a package that a SIS sync staged (ImportPackage).
type PackageOptions struct {
	// ImportID names the import ("" = a new id). A sync run passes its own, so that a retried
	// invocation finds the import it started.
	ImportID string
	// Hold, when set, holds the import for approval with this reason whatever its numbers (a
	// connection's first run or changed settings, a collection that did not complete).
	Hold string
}

// PackageResult is what ImportPackage did.
type PackageResult struct {
	Import *pthv.Import
	// Report is the validation report (nil when the import was not planned in this call).
	Report *orcsv.Report
	// Continued is set when the apply continues in a later invocation of the ingest function.
	Continued bool
}

// ImportPackage imports a OneRoster CSV package that is not a drop (a sync run's snapshot,
// staged in the reports bucket) through the same pipeline as drops: validation, plan against
// the current roster, safety check, apply and report, under the district's lock. It fails
// with pthv.ErrConflict while another import of the district holds the lock (the caller retries
// later), and returns the existing import when the object was imported already.
func (s *Service) ImportPackage(ctx context.Context, districtID string, obj pthv.Object, opt PackageOptions) (*PackageResult, error) {
	d, err := s.Store.District(ctx, districtID)
	if err != nil {
		return nil, err
	}
	if id, err := s.Store.ObjectClaim(ctx, obj); err == nil {
		imp, err := s.Store.GetImport(ctx, districtID, id)
		if err != nil {
			return nil, err
		}
		return &PackageResult{Import: imp}, nil
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return nil, err
	}
	id := opt.ImportID
	if id == "" {
		id = ImportID(obj)
	}
	if err := s.Store.Lock(ctx, d.ID, id, s.lease()); err != nil {
		return nil, fmt.Errorf("district %s: another import is running: %w", d.ID, err)
	}
	now := s.now()
	imp := &pthv.Import{ID: id, District: d.ID, Source: obj, Status: pthv.StatusPlanning, Started: now, Heartbeat: now,
		Counts: map[roster.Kind]pthv.Counts{}, TimingsMS: map[string]int64{}, Runs: 1}
	continued, rep, err := s.importPackage(ctx, d, imp, opt.Hold)
	if !continued {
		if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
			err = uerr
		}
	}
	if err != nil {
		return nil, err
	}
	return &PackageResult{Import: imp, Report: rep, Continued: continued}, nil
}

// GetImport returns an import record (pthv.ErrNotFound when there is none).
func (s *Service) GetImport(ctx context.Context, district, id string) (*pthv.Import, error) {
	return s.Store.GetImport(ctx, district, id)
}

// importPackage records, claims and then plans and applies (or holds) a package that is not a
// drop, as importObject does for drops: the record first, then the claim, so a claimed object
// always has a record that a later run can take over.
func (s *Service) importPackage(ctx context.Context, d *pthv.District, imp *pthv.Import, hold string) (bool, *orcsv.Report, error) {
	log := s.log().With("districtId", d.ID, "importId", imp.ID)
	if err := s.Store.PutImport(ctx, imp); err != nil {
		return false, nil, err
	}
	if err := s.claim(ctx, imp.Source, imp.ID); err != nil {
		if errors.Is(err, pthv.ErrConflict) {
			imp.Status, imp.Reason, imp.Finished = pthv.StatusSuperseded, "the package was claimed by another import", s.now()
			log.Info("package claimed by another import", "decision", "skip")
			return false, nil, s.Store.PutImport(ctx, imp)
		}
		return false, nil, s.fail(ctx, imp, "claiming the package", err, false)
	}
	log.Info("import started", "decision", "plan", "bytes", imp.Source.Size)
	return s.planAndApplyHold(ctx, d, imp, hold, nil)
}

package importer

import (
	"context"
	"errors"
	"fmt"
	"github.com/pthv/reach/internal/pthv"
	"time"
)

// MaxAttempts is how many runs of an import may end in a transient failure before the import
// is failed for good (each retry resumes where the last run stopped).
const MaxAttempts = 5

// strandedWindow is how many of a district's newest imports a drain looks through for ones
// no run is working on.
const strandedWindow = 50

// DistrictLister lists every registered district (the sweep needs it; internal/store's Store
// implements it).
type DistrictLister interface {
	ListDistricts(ctx context.Context) ([]pthv.District, error)
}

// errLost marks a run that lost its import to another run (its lease ran out and the import
// was taken over, or another import holds the district): it stops without writing.
var errLost = errors.New("the run lost its lease on the import")

// resumable reports whether an import with status st still has work a run must do.
func resumable(st pthv.Status) bool {
	return st == pthv.StatusPlanning || st == pthv.StatusApplying || st == pthv.StatusApproved
}

// stale reports whether no run is working on imp any more: its heartbeat is older than the
// lease, or cleared by a run that stopped on a transient failure.
func (s *Service) stale(imp *pthv.Import) bool {
	return imp.Heartbeat.IsZero() || s.now().Sub(imp.Heartbeat) > s.lease()
}

// beat records that the run is alive: the import record with a new heartbeat and, for an
// import under the district lock, the lock's renewal.
func (s *Service) beat(ctx context.Context, imp *pthv.Import, locked bool) error {
	imp.Heartbeat = s.now()
	if err := s.Store.PutImport(ctx, imp); errors.Is(err, pthv.ErrConflict) {
		return fmt.Errorf("%w: %v", errLost, err)
	} else if err != nil {
		return err
	}
	if locked {
		if err := s.Store.Lock(ctx, imp.District, imp.ID, s.lease()); errors.Is(err, pthv.ErrConflict) {
			return fmt.Errorf("%w: %v", errLost, err)
		} else if err != nil {
			return fmt.Errorf("renew district lock: %w", err)
		}
	}
	return nil
}

// fail ends a run on a transient failure: the record keeps its status and checkpoint, its
// heartbeat is cleared so that whoever sees the import next resumes it at once, and the
// district lock is released. After MaxAttempts failures the import is failed for good. The
// cause is returned, so that the message is retried.
func (s *Service) fail(ctx context.Context, imp *pthv.Import, stage string, cause error, locked bool) error {
	log := s.log().With("districtId", imp.District, "importId", imp.ID)
	if errors.Is(cause, errLost) {
		log.Warn("the run lost the import to another run and stops", "decision", "lost")
		return cause
	}
	ctx = context.WithoutCancel(ctx)
	imp.Attempts++
	imp.Heartbeat = time.Time{}
	if imp.Attempts >= MaxAttempts {
		imp.Status, imp.Finished = pthv.StatusFailed, s.now()
		imp.Reason = fmt.Sprintf("internal error while %s, %d times; the import is not retried (drop the export again)", stage, imp.Attempts)
		log.Error("import failed", "error", cause.Error(), "decision", "failed", "attempts", imp.Attempts)
		_ = s.finish(ctx, imp, nil)
	} else {
		imp.Reason = fmt.Sprintf("internal error while %s; the import is retried from where it stopped (attempt %d of %d)", stage, imp.Attempts, MaxAttempts)
		log.Error("import interrupted by an internal error; it is retried", "error", cause.Error(), "decision", "retry", "attempts", imp.Attempts)
		_ = s.Store.PutImport(ctx, imp)
	}
	if locked {
		_ = s.Store.Unlock(ctx, imp.District, imp.ID)
	}
	return cause
}

// csvRun runs a CSV import (trainings, consent, visits); when it fails, its record is marked
// for retry (see fail).
func (s *Service) csvRun(ctx context.Context, d *pthv.District, id string, run func() error) error {
	err := run()
	if err == nil {
		return nil
	}
	if imp, gerr := s.Store.GetImport(ctx, d.ID, id); gerr == nil && resumable(imp.Status) {
		return s.fail(ctx, imp, "importing", err, false)
	}
	return err
}

// hasWork reports whether imps holds an import a drain must see to first: any import no run
// works on any more, or a roster or training import a live run works on.
func (s *Service) hasWork(imps []*pthv.Import) bool {
	for _, imp := range imps {
		if resumable(imp.Status) && (s.stale(imp) || imp.Kind != "consent" && imp.Kind != "visits") {
			return true
		}
	}
	return false
}

// recoverStranded takes over, oldest first, the district's imports (imps, newest first, as
// listed) that no run is working on. It reports whether one continues in another invocation
// (the lock stays held), and whether a roster or training import is still unfinished (busy):
// a live run works on it, or another import holds the district. No newer drop may be
// planned before it finishes, or its remaining writes would land over the newer export.
func (s *Service) recoverStranded(ctx context.Context, d *pthv.District, imps []*pthv.Import) (continued, busy bool, err error) {
	for i := len(imps) - 1; i >= 0; i-- {
		imp := imps[i]
		if !resumable(imp.Status) {
			continue
		}
		locked := imp.Kind != "consent" && imp.Kind != "visits"
		if !s.stale(imp) {
			busy = busy || locked
			continue
		}
		if continued, err := s.takeOver(ctx, d, imp, false); err != nil || continued {
			return continued, true, err
		}
		if locked {
			if after, err := s.Store.GetImport(ctx, d.ID, imp.ID); err != nil {
				return false, true, err
			} else if resumable(after.Status) {
				busy = true // not taken over: another import holds the district
			}
		}
	}
	return false, busy, nil
}

// takeOver starts a new run of imp: it takes the district lock (roster and training imports),
// claims the next run (only one invocation gets it) and resumes the import where it stopped.
// When another import holds the district, it does nothing, or fails when retryIfLocked (a
// continuation, which the queue then retries).
func (s *Service) takeOver(ctx context.Context, d *pthv.District, imp *pthv.Import, retryIfLocked bool) (bool, error) {
	log := s.log().With("districtId", d.ID, "importId", imp.ID)
	locked := imp.Kind != "consent" && imp.Kind != "visits"
	if locked {
		if err := s.Store.Lock(ctx, d.ID, imp.ID, s.lease()); errors.Is(err, pthv.ErrConflict) {
			if retryIfLocked {
				return false, fmt.Errorf("district %s is locked by another import; the continuation will be retried", d.ID)
			}
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	wasStale := s.stale(imp)
	// A continuation delivered twice must not run twice: one invocation takes each run.
	if err := s.Store.ClaimRun(ctx, d.ID, imp.ID, imp.Runs); errors.Is(err, pthv.ErrConflict) {
		log.Info("import run already taken by another invocation", "decision", "duplicate")
		return false, nil
	} else if err != nil {
		return false, err
	}
	imp.Runs++
	// The district as it is now: an earlier takeover may have moved its watermark and snapshot.
	fresh, err := s.Store.District(ctx, d.ID)
	if err != nil {
		return false, s.fail(ctx, imp, "reading the district", err, locked)
	}
	d = fresh
	// The record says which run works on it now (and that it is alive).
	if err := s.beat(ctx, imp, false); err != nil {
		return false, s.fail(ctx, imp, "taking the import over", err, locked)
	}
	if wasStale && imp.Status != pthv.StatusApproved {
		log.Info("import taken over: no run was working on it", "decision", "takeover", "status", string(imp.Status), "run", imp.Runs, "cursor", imp.Cursor)
	}
	continued, err := s.resume(ctx, d, imp)
	if continued || !locked {
		return continued, err
	}
	if uerr := s.Store.Unlock(ctx, d.ID, imp.ID); err == nil {
		err = uerr
	}
	return false, err
}

// resume continues a claimed run of imp: a CSV import runs again (it is idempotent), a
// roster import still planning is planned again, one applying continues from its checkpoint,
// an approved one is applied unless a newer export was imported since.
func (s *Service) resume(ctx context.Context, d *pthv.District, imp *pthv.Import) (bool, error) {
	log := s.log().With("districtId", d.ID, "importId", imp.ID)
	imp.Heartbeat = s.now()
	switch imp.Kind {
	case "trainings":
		return false, s.csvRun(ctx, d, imp.ID, func() error { return s.importTrainings(ctx, d, imp.Source, imp.ID) })
	case "consent":
		return false, s.csvRun(ctx, d, imp.ID, func() error { return s.importConsent(ctx, d, imp.Source, imp.ID) })
	case "visits":
		return false, s.csvRun(ctx, d, imp.ID, func() error { return s.importVisits(ctx, d, imp.Source, imp.ID) })
	}
	newer := !d.Watermark.IsZero() && d.Watermark.After(imp.Source.UploadedAt)
	switch {
	case imp.Status == pthv.StatusApproved && newer:
		imp.Status, imp.Finished = pthv.StatusSuperseded, s.now()
		imp.Reason = "a newer export was imported after this one was held; approving the older one would undo it"
		log.Info("approved import superseded", "decision", "superseded")
		return false, s.finish(ctx, imp, nil)
	case imp.Status == pthv.StatusPlanning && newer:
		imp.Status, imp.Finished = pthv.StatusSuperseded, s.now()
		imp.Reason = "a newer export of the district was imported already; this older one is not applied over it"
		log.Info("import superseded", "decision", "superseded")
		return false, s.finish(ctx, imp, nil)
	case imp.Status == pthv.StatusPlanning:
		if err := s.claim(ctx, imp.Source, imp.ID); err != nil {
			return false, s.fail(ctx, imp, "claiming the drop", err, true)
		}
		return s.planAndApply(ctx, d, imp)
	}
	if imp.TimingsMS == nil {
		imp.TimingsMS = map[string]int64{}
	}
	return s.apply(ctx, imp)
}

// Sweep finds the districts with work no run is doing — an import whose heartbeat is older
// than the lease, a queued drop, a roster drop no import has claimed — and queues a drain
// message for each. The schedule sends the sweep message; it returns how many it queued.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	l, ok := s.Store.(DistrictLister)
	if !ok {
		return 0, errors.New("the store cannot list districts")
	}
	ds, err := l.ListDistricts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range ds {
		need, err := s.needsDrain(ctx, &ds[i])
		if err == nil && need {
			if err = s.Queue.Continue(ctx, pthv.Continuation{Kind: pthv.DrainKind, District: ds[i].ID}); err == nil {
				n++
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("district %s: %w", ds[i].ID, err))
		}
	}
	s.log().Info("sweep", "decision", "sweep", "districts", len(ds), "drains", n)
	return n, errors.Join(errs...)
}

func (s *Service) needsDrain(ctx context.Context, d *pthv.District) (bool, error) {
	imps, err := s.Store.ListImports(ctx, d.ID, strandedWindow)
	if err != nil {
		return false, err
	}
	for _, imp := range imps {
		if imp.Status == pthv.StatusQueued || resumable(imp.Status) && s.stale(imp) {
			return true, nil
		}
	}
	pending, err := s.unclaimed(ctx, d)
	return len(pending) > 0, err
}

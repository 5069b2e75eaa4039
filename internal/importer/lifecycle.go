package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"log/slog"
	"strings"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// An import's life: its record is written before its object is claimed, so that a claimed
// object always has a record; the record's heartbeat says a run works on it, and a record
// whose heartbeat is older than the lease is taken over by whoever sees it next (a
// redelivered event, a later drop of the district, the sweep). Runs are fenced by the run
// count: a run that was taken over can no longer write the record (PutImport refuses it).

// ImportID is the id of the import of obj: its upload time and a hash of its identity, so
// that whoever sees the object again finds the same import record.
func ImportID(obj pthv.Object) string {
	sum := sha256.Sum256([]byte(obj.Identity()))
	return "imp-" + obj.UploadedAt.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(sum[:4])
}

// HandleDrop handles an object-created event for obj. A roster drop for a registered
// district is imported, after any older drop of the district not yet imported; a drop for an
// unknown district or outside drops/{district}/rosters/ is refused and reported (ErrRefused).
// A redelivered event for a finished import does nothing; one for an import no run is
// working on any more takes it over.
func (s *Service) HandleDrop(ctx context.Context, obj pthv.Object) error {
	log := s.log().With("bucket", obj.Bucket, "key", obj.Key)
	m := keyRE.FindStringSubmatch(obj.Key)
	if m == nil {
		log.Warn("drop refused: the key is not under drops/{districtId}/", "decision", "refused")
		return fmt.Errorf("%w: key outside drops/{districtId}/", pthv.ErrRefused)
	}
	districtID, rest := m[1], m[2]
	log = log.With("districtId", districtID)
	csvIn := func(folder string) bool {
		return strings.HasPrefix(rest, folder) && strings.Count(rest, "/") == 1 && strings.HasSuffix(strings.ToLower(rest), ".csv")
	}
	isTraining, isConsent, isVisits := csvIn("trainings/"), csvIn("consent/"), csvIn("visits/")
	if !isTraining && !isConsent && !isVisits && (!strings.HasPrefix(rest, "rosters/") || strings.Count(rest, "/") != 1) {
		return s.refuse(ctx, log, districtID, obj, fmt.Sprintf("drops go under drops/%[1]s/rosters/ (OneRoster zips), drops/%[1]s/trainings/, drops/%[1]s/consent/ or drops/%[1]s/visits/ (CSV files); %[2]s is in none of them", districtID, obj.Key))
	}
	d, err := s.Store.District(ctx, districtID)
	if errors.Is(err, pthv.ErrNotFound) {
		return s.refuse(ctx, log, districtID, obj, fmt.Sprintf("district %s is not registered; register it with 'pthv districts add' before dropping exports", districtID))
	}
	if err != nil {
		return err
	}
	id := ImportID(obj)
	if claimed, err := s.Store.ObjectClaim(ctx, obj); err == nil {
		id = claimed
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return err
	}
	imp, err := s.Store.GetImport(ctx, d.ID, id)
	switch {
	case err == nil && imp.Status != pthv.StatusQueued:
		if !resumable(imp.Status) {
			log.Info("drop already imported: redelivered event ignored", "decision", "duplicate", "importId", id)
			return nil
		}
		if !s.stale(imp) {
			log.Info("drop being imported by a live run: redelivered event ignored", "decision", "duplicate", "importId", id)
			return nil
		}
		if imp.Kind == "" || imp.Kind == "roster" {
			return s.drain(ctx, d) // the drain takes over stranded imports first
		}
		_, err := s.takeOver(ctx, d, imp, false)
		return err
	case err != nil && !errors.Is(err, pthv.ErrNotFound):
		return err
	}
	switch {
	case isTraining:
		return s.trainingDrop(ctx, d, obj, id)
	case isConsent:
		return s.csvRun(ctx, d, id, func() error { return s.importConsent(ctx, d, obj, id) })
	case isVisits:
		return s.csvRun(ctx, d, id, func() error { return s.importVisits(ctx, d, obj, id) })
	}
	return s.drain(ctx, d)
}

// refuse writes a report and an import record for a drop that is not imported.
func (s *Service) refuse(ctx context.Context, log *slog.Logger, districtID string, obj pthv.Object, reason string) error {
	now := s.now()
	imp := &pthv.Import{ID: ImportID(obj), District: districtID, Source: obj, Status: pthv.StatusRejected, Reason: reason,
		Started: now, Finished: now, Counts: map[roster.Kind]pthv.Counts{}}
	// The refusal is an import record of its own (no roster is touched), so that district IT
	// sees it in 'pthv imports list' and 'pthv upload --wait' returns; a redelivery finds the
	// record and refuses nothing twice. The record is written before the claim.
	if _, err := s.Store.GetImport(ctx, districtID, imp.ID); err == nil {
		log.Info("refused drop already reported: redelivered event ignored", "decision", "duplicate")
		return fmt.Errorf("%w: %s", pthv.ErrRefused, reason)
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return err
	}
	log.Warn("drop refused", "importId", imp.ID, "decision", "refused")
	if err := s.finish(ctx, imp, nil); err != nil {
		return err
	}
	if err := s.Store.ClaimObject(ctx, obj, imp.ID); err != nil && !errors.Is(err, pthv.ErrConflict) {
		return err
	}
	return fmt.Errorf("%w: %s", pthv.ErrRefused, reason)
}

// drain takes over the district's stranded imports, then imports its unclaimed roster drops
// one at a time, oldest first, for as long as it can take the district's lock. A runner
// that cannot take the lock records the waiting drops as queued and stops: the holder lists
// the drops again after every import, and the sweep finds them if the holder dies.
//
// The district's imports are listed once per import, under the lock: that one listing says
// whether an import is stranded (taken over first) and is the same-second check's. With no
// drop waiting, only the first round lists them (an event for a drop already claimed: a
// redelivery finds its stranded import); an import stranded after that is the sweep's, as
// is one stranded just after any drain.
func (s *Service) drain(ctx context.Context, d *pthv.District) error {
	log := s.log().With("districtId", d.ID)
	for first := true; ; first = false {
		var err error
		if !first {
			// The import just run (or taken over) changed the district's watermark and snapshot.
			if d, err = s.Store.District(ctx, d.ID); err != nil {
				return err
			}
		}
		pending, err := s.unclaimed(ctx, d)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			if !first {
				return nil
			}
			imps, err := s.Store.ListImports(ctx, d.ID, strandedWindow)
			if err != nil {
				return err
			}
			if !s.hasWork(imps) {
				return nil
			}
			if continued, _, err := s.recoverStranded(ctx, d, imps); err != nil || continued {
				return err
			}
			continue
		}
		obj := pending[0]
		id := ImportID(obj)
		err = s.Store.Lock(ctx, d.ID, id, s.lease())
		if errors.Is(err, pthv.ErrConflict) {
			if err := s.recordQueued(ctx, d, pending); err != nil {
				return err // the message stays on the queue until the drops are recorded
			}
			log.Info("another import of the district is running; this drop is recorded as queued and imported next", "decision", "deferred")
			return nil
		} else if err != nil {
			return err
		}
		imps, err := s.Store.ListImports(ctx, d.ID, strandedWindow)
		if err == nil && s.hasWork(imps) {
			// An older import is unfinished: it is taken over (or waited for) before this drop.
			err = s.Store.Unlock(ctx, d.ID, id)
			var continued, busy bool
			if err == nil {
				continued, busy, err = s.recoverStranded(ctx, d, imps)
			}
			if err != nil || continued {
				return err
			}
			if busy {
				if err := s.recordQueued(ctx, d, pending); err != nil {
					return err
				}
				log.Info("an older import of the district is unfinished; this drop is recorded as queued and imported after it", "decision", "deferred")
				return nil
			}
			continue
		}
		var continued bool
		if err == nil {
			if imps == nil {
				imps = []*pthv.Import{} // listed, and none: not to be listed again
			}
			continued, err = s.importObject(ctx, d, obj, id, imps)
			if continued {
				return err // the lock stays with the import until its continuation finishes
			}
		}
		if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
	}
}

// recordQueued writes a queued import record for each waiting drop that has none.
func (s *Service) recordQueued(ctx context.Context, d *pthv.District, pending []pthv.Object) error {
	for _, obj := range pending {
		id := ImportID(obj)
		if _, err := s.Store.GetImport(ctx, d.ID, id); err == nil {
			continue
		} else if !errors.Is(err, pthv.ErrNotFound) {
			return err
		}
		imp := &pthv.Import{ID: id, District: d.ID, Source: obj, Status: pthv.StatusQueued, Started: s.now(),
			Reason: "another import of the district is running; this drop is imported after it", Counts: map[roster.Kind]pthv.Counts{}}
		if err := s.Store.PutImport(ctx, imp); err != nil && !errors.Is(err, pthv.ErrConflict) {
			return err // ErrConflict: the holder has started it meanwhile
		}
	}
	return nil
}

// trainingDrop imports a training file under the district lock. When another import holds
// the lock, the drop fails so that the queue retries it later.
func (s *Service) trainingDrop(ctx context.Context, d *pthv.District, obj pthv.Object, id string) error {
	if err := s.Store.Lock(ctx, d.ID, id, s.lease()); err != nil {
		return fmt.Errorf("training drop waits for the district's running import: %w", err)
	}
	err := s.csvRun(ctx, d, id, func() error { return s.importTrainings(ctx, d, obj, id) })
	if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
		err = uerr
	}
	return err
}

func (s *Service) lease() time.Duration {
	if s.LockLease > 0 {
		return s.LockLease
	}
	return DefaultLease
}

// DefaultLease is how long a run's heartbeat (and the district lock) lasts without renewal.
const DefaultLease = 5 * time.Minute

// importObject runs one roster import under the district lock held by id. It reports
// whether the import continues in another invocation (the lock stays held).
// listed is the district's imports as listed under that lock.
func (s *Service) importObject(ctx context.Context, d *pthv.District, obj pthv.Object, id string, listed []*pthv.Import) (bool, error) {
	log := s.log().With("districtId", d.ID, "importId", id)
	now := s.now()
	imp := &pthv.Import{ID: id, District: d.ID, Source: obj, Status: pthv.StatusPlanning, Started: now, Heartbeat: now,
		Counts: map[roster.Kind]pthv.Counts{}, TimingsMS: map[string]int64{}, Runs: 1}
	if old, err := s.Store.GetImport(ctx, d.ID, id); err == nil && old.Status != pthv.StatusQueued {
		log.Info("drop taken by another import", "decision", "skip")
		return false, nil
	} else if err != nil && !errors.Is(err, pthv.ErrNotFound) {
		return false, err
	}
	// The record first, then the claim: a claimed object always has a record.
	if err := s.Store.PutImport(ctx, imp); err != nil {
		return false, err
	}
	if err := s.claim(ctx, obj, id); err != nil {
		if errors.Is(err, pthv.ErrConflict) {
			imp.Status, imp.Reason, imp.Finished = pthv.StatusSuperseded, "the drop was claimed by another import", s.now()
			log.Info("drop claimed by another import", "decision", "skip")
			return false, s.Store.PutImport(ctx, imp)
		}
		return false, s.fail(ctx, imp, "claiming the drop", err, false)
	}
	if !d.Watermark.IsZero() && obj.UploadedAt.Before(d.Watermark) {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusSuperseded,
			"a newer export of the district was imported already; this older one is not applied over it", s.now()
		log.Info("import superseded", "decision", "superseded")
		return false, s.finish(ctx, imp, nil)
	}
	log.Info("import started", "decision", "plan", "bytes", obj.Size)
	continued, _, err := s.planAndApplyHold(ctx, d, imp, "", listed)
	return continued, err
}

// claim claims obj for import id; claiming an object again for the same import succeeds.
func (s *Service) claim(ctx context.Context, obj pthv.Object, id string) error {
	err := s.Store.ClaimObject(ctx, obj, id)
	if errors.Is(err, pthv.ErrConflict) {
		if owner, gerr := s.Store.ObjectClaim(ctx, obj); gerr == nil && owner == id {
			return nil
		}
	}
	return err
}

// planAndApply plans a claimed roster import (again, after a takeover) and applies it
// unless it is rejected or held.
func (s *Service) planAndApply(ctx context.Context, d *pthv.District, imp *pthv.Import) (bool, error) {
	continued, _, err := s.planAndApplyHold(ctx, d, imp, "", nil)
	return continued, err
}

// planAndApplyHold is planAndApply that also holds the import, whatever its numbers, when
// hold gives a reason (a sync connection's first run, changed settings, an incomplete
// collection), and returns the validation report once planned. listed is the district's
// imports as listed under the district lock this run holds, or nil (they are listed).
func (s *Service) planAndApplyHold(ctx context.Context, d *pthv.District, imp *pthv.Import, hold string, listed []*pthv.Import) (bool, *orcsv.Report, error) {
	log := s.log().With("districtId", d.ID, "importId", imp.ID)
	if imp.TimingsMS == nil {
		imp.TimingsMS = map[string]int64{}
	}
	supersede, orderHold, err := s.sameSecond(ctx, d, imp, listed)
	if err != nil {
		return false, nil, s.fail(ctx, imp, "planning", err, true)
	}
	if supersede != "" {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusSuperseded, supersede, s.now()
		log.Info("import superseded", "decision", "superseded")
		return false, nil, s.finish(ctx, imp, nil)
	}
	rep, plan, err := s.plan(ctx, d, imp)
	if err != nil {
		return false, rep, s.fail(ctx, imp, "planning", err, true)
	}
	defer plan.Close()
	if hold != "" {
		plan.Safety.Held = true
		plan.Safety.Reasons = append([]string{hold}, plan.Safety.Reasons...)
		imp.Safety = plan.Safety
	}
	if orderHold != "" {
		plan.Safety.Held = true
		plan.Safety.Reasons = append([]string{orderHold}, plan.Safety.Reasons...)
		imp.Safety = plan.Safety
	}
	if err := s.Store.SetWatermark(ctx, d.ID, imp.Source.UploadedAt); err != nil {
		return false, rep, s.fail(ctx, imp, "planning", err, true)
	}
	if rep.Fatal() {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusRejected, "the export has package or file errors; nothing was applied", s.now()
		log.Info("import rejected", "decision", "rejected", "errors", rep.Errors)
		return false, rep, s.finish(ctx, imp, rep)
	}
	if plan.Len() > 0 {
		if err = s.savePlan(ctx, imp, plan); err != nil {
			return false, rep, s.fail(ctx, imp, "saving the plan", err, true)
		}
	}
	if plan.Safety.Held {
		imp.Status, imp.Finished = pthv.StatusHeld, s.now()
		imp.Reason = holdReason(plan.Safety, imp, d)
		log.Info("import held for approval", "decision", "held", "deactivatedStudents", plan.Safety.DeactivatedStudents, "activeStudents", plan.Safety.ActiveStudents, "tripped", tripped(plan.Safety))
		return false, rep, s.finish(ctx, imp, rep)
	}
	if err := s.writeReport(ctx, imp, rep); err != nil { // the report exists while the import applies
		return false, rep, s.fail(ctx, imp, "writing the report", err, true)
	}
	plan.Close() // applied from the saved plan, as a continuation would be
	continued, err := s.apply(ctx, imp)
	return continued, rep, err
}

// holdReason says why an import is held and how to approve it.
func holdReason(sf pthv.Safety, imp *pthv.Import, d *pthv.District) string {
	return fmt.Sprintf("%s; approve it with 'pthv imports approve %s --district %s'", strings.Join(sf.Reasons, "; "), imp.ID, d.ID)
}

// apply writes the saved plan's ops from the import's cursor, a chunk of the plan at a time,
// checkpointing after every ChunkOps writes. When the budget runs out it saves the cursor,
// queues a continuation and reports true.
func (s *Service) apply(ctx context.Context, imp *pthv.Import) (bool, error) {
	log := s.log().With("districtId", imp.District, "importId", imp.ID)
	chunk := s.ChunkOps
	if chunk <= 0 {
		chunk = 5000
	}
	imp.Status = pthv.StatusApplying
	if err := s.beat(ctx, imp, true); err != nil {
		return false, s.fail(ctx, imp, "applying", err, true)
	}
	plan := &planOps{s: s, imp: imp}
	if imp.Cursor < imp.Ops {
		// From the first write until the new snapshot is in place, the roster is read from the
		// table; this also clears a new district's known-empty mark (pthv.EmptySnapshot), so a
		// first import stopped mid-apply is read back from the table.
		if err := s.Store.SetSnapshot(ctx, imp.District, "", true); err != nil {
			return false, s.fail(ctx, imp, "applying", err, true)
		}
	}
	t0 := time.Now()
	// Every invocation applies at least one chunk before it may checkpoint, so an import
	// always progresses however small the budget.
	for first := true; imp.Cursor < imp.Ops; first = false {
		if !first && s.Budget != nil && s.Budget(ctx) <= 0 {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			if err := s.beat(ctx, imp, true); err != nil {
				return false, s.fail(ctx, imp, "applying", err, true)
			}
			log.Info("import checkpointed; continuing in a new invocation", "decision", "continue", "cursor", imp.Cursor, "ops", imp.Ops)
			return true, s.Queue.Continue(ctx, pthv.Continuation{Kind: pthv.ContinuationKind, District: imp.District, ImportID: imp.ID, Run: imp.Runs + 1})
		}
		ops, err := plan.at(ctx, imp.Cursor)
		if err != nil {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			return false, s.fail(ctx, imp, "reading the plan", err, true)
		}
		ops = ops[:min(chunk, len(ops))]
		ws, err := s.Store.Apply(ctx, imp.District, imp.ID, ops)
		imp.Writes.Add(ws)
		if err != nil {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			return false, s.fail(ctx, imp, "applying", fmt.Errorf("apply: %w", err), true)
		}
		imp.Cursor += len(ops)
		if err := s.beat(ctx, imp, true); err != nil {
			return false, s.fail(ctx, imp, "applying", err, true)
		}
	}
	imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
	if imp.StateKey != "" {
		if err := s.Store.SetSnapshot(ctx, imp.District, imp.StateKey, false); err != nil {
			return false, s.fail(ctx, imp, "applying", err, true)
		}
	}
	imp.Status, imp.Finished, imp.Reason = pthv.StatusApplied, s.now(), ""
	if sf := imp.Safety; sf.Held {
		// The hold's advice ("approve it with …") is done with: say what happened instead.
		imp.Reason = "held (" + strings.Join(sf.Reasons, "; ") + "), then approved and applied"
	}
	log.Info("import applied", "decision", "applied", "writes", imp.Writes.Items+imp.Writes.Updates, "batches", imp.Writes.Batches)
	if err := s.finish(ctx, imp, nil); err != nil {
		return false, err
	}
	if imp.Writes.Items+imp.Writes.Updates > 0 {
		// The roster is as of now: it changes this school year's families and students.
		s.touched(ctx, imp.District, []string{pthv.SchoolYearOf(s.now()).String()})
	}
	return false, nil
}

// Continue resumes an import from its checkpoint, or applies an approved one, then imports
// any drops of the district that queued up meanwhile. A drain message (pthv.DrainKind) drains the
// district. A continuation whose run has happened is ignored unless no run works on the
// import any more, when it takes the import over.
func (s *Service) Continue(ctx context.Context, c pthv.Continuation) error {
	log := s.log().With("districtId", c.District, "importId", c.ImportID)
	if c.Kind == pthv.DrainKind {
		d, err := s.Store.District(ctx, c.District)
		if errors.Is(err, pthv.ErrNotFound) {
			log.Info("drain of an unknown district ignored", "decision", "ignore")
			return nil
		} else if err != nil {
			return err
		}
		return s.drain(ctx, d)
	}
	imp, err := s.Store.GetImport(ctx, c.District, c.ImportID)
	if err != nil {
		return err
	}
	if !resumable(imp.Status) {
		log.Info("continuation ignored: the import is "+string(imp.Status), "decision", "duplicate")
		return nil
	}
	if c.Run != 0 && c.Run != imp.Runs+1 && !s.stale(imp) {
		log.Info("continuation ignored: its run has happened", "decision", "duplicate", "run", c.Run)
		return nil
	}
	d, err := s.Store.District(ctx, c.District)
	if err != nil {
		return err
	}
	continued, err := s.takeOver(ctx, d, imp, true)
	if continued || err != nil {
		return err
	}
	return s.drain(ctx, d)
}

package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// drain imports the district's unclaimed roster drops one at a time, oldest first, for as
// long as it can take the district's lock. A runner that cannot take the lock stops: the
// holder lists the drops again after every import, so it will find this one.
func (s *Service) drain(ctx context.Context, d *pthv.District) error {
	log := s.log().With("districtId", d.ID)
	for {
		pending, err := s.unclaimed(ctx, d)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		obj := pending[0]
		id := newImportID(s.now())
		if err := s.Store.Lock(ctx, d.ID, id, s.lease()); errors.Is(err, pthv.ErrConflict) {
			log.Info("another import of the district is running; it will take this drop next", "decision", "deferred")
			return nil
		} else if err != nil {
			return err
		}
		continued, err := s.importObject(ctx, d, obj, id)
		if continued {
			return err // the lock stays with the import until its continuation finishes
		}
		if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
		if d, err = s.Store.District(ctx, d.ID); err != nil {
			return err
		}
	}
}

// unclaimed lists the district's roster drops no import has claimed, oldest upload first.
func (s *Service) unclaimed(ctx context.Context, d *pthv.District) ([]pthv.Object, error) {
	objs, err := s.Blobs.ListDrops(ctx, s.DropsBucket, "drops/"+d.ID+"/rosters/")
	if err != nil {
		return nil, err
	}
	var out []pthv.Object
	for _, o := range objs {
		if strings.Contains(strings.TrimPrefix(o.Key, "drops/"+d.ID+"/rosters/"), "/") {
			continue
		}
		if _, err := s.Store.ObjectClaim(ctx, o); errors.Is(err, pthv.ErrNotFound) {
			out = append(out, o)
		} else if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b pthv.Object) int {
		if c := a.UploadedAt.Compare(b.UploadedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Identity(), b.Identity())
	})
	return out, nil
}

// importObject runs one import under the district lock held by id. It reports whether the
// import continues in another invocation (the lock stays held).
func (s *Service) importObject(ctx context.Context, d *pthv.District, obj pthv.Object, id string) (bool, error) {
	imp := &pthv.Import{ID: id, District: d.ID, Source: obj, Status: pthv.StatusPlanning, Started: s.now(),
		Counts: map[roster.Kind]pthv.Counts{}, TimingsMS: map[string]int64{}, Runs: 1}
	continued, _, err := s.importPackage(ctx, d, imp, "")
	return continued, err
}

// importPackage plans and applies (or holds: always when hold gives a reason) the package
// imp.Source. It returns the validation report once planned.
func (s *Service) importPackage(ctx context.Context, d *pthv.District, imp *pthv.Import, hold string) (bool, *orcsv.Report, error) {
	log := s.log().With("districtId", d.ID, "importId", imp.ID)
	obj, id := imp.Source, imp.ID
	if err := s.Store.ClaimObject(ctx, obj, id); errors.Is(err, pthv.ErrConflict) {
		log.Info("drop claimed by another import", "decision", "skip")
		return false, nil, nil
	} else if err != nil {
		return false, nil, err
	}
	if !d.Watermark.IsZero() && obj.UploadedAt.Before(d.Watermark) {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusSuperseded,
			"a newer export of the district was imported already; this older one is not applied over it", s.now()
		log.Info("import superseded", "decision", "superseded")
		return false, nil, s.finish(ctx, imp, nil)
	}
	if err := s.Store.PutImport(ctx, imp); err != nil {
		return false, nil, err
	}
	log.Info("import started", "decision", "plan", "bytes", obj.Size)

	rep, plan, err := s.plan(ctx, d, imp)
	if err != nil {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusFailed, "internal error while planning; the import will be retried", s.now()
		log.Error("planning failed", "error", err.Error())
		_ = s.Store.PutImport(ctx, imp)
		return false, rep, err
	}
	if err := s.Store.SetWatermark(ctx, d.ID, obj.UploadedAt); err != nil {
		return false, rep, err
	}
	if rep.Fatal() {
		imp.Status, imp.Reason, imp.Finished = pthv.StatusRejected, "the export has package or file errors; nothing was applied", s.now()
		log.Info("import rejected", "decision", "rejected", "errors", rep.Errors)
		return false, rep, s.finish(ctx, imp, rep)
	}
	if len(plan.Ops) > 0 {
		if imp.PlanKey, err = s.savePlan(ctx, imp, plan.Ops); err != nil {
			return false, rep, err
		}
	}
	if hold != "" {
		imp.Status, imp.Finished, imp.Reason = pthv.StatusHeld, s.now(), hold+fmt.Sprintf("; approve it with 'pthv imports approve %s --district %s'", imp.ID, d.ID)
		log.Info("import held for approval", "decision", "held", "deactivatedStudents", plan.Safety.DeactivatedStudents)
		return false, rep, s.finish(ctx, imp, rep)
	}
	if plan.Safety.Held {
		imp.Status, imp.Finished = pthv.StatusHeld, s.now()
		imp.Reason = fmt.Sprintf("the import would deactivate %d of %d active students (%.1f%%, more than %.0f%%); approve it with 'pthv imports approve %s --district %s'",
			plan.Safety.DeactivatedStudents, plan.Safety.ActiveStudents, 100*plan.Safety.Share, 100*plan.Safety.Threshold, imp.ID, d.ID)
		log.Info("import held for approval", "decision", "held", "deactivatedStudents", plan.Safety.DeactivatedStudents, "activeStudents", plan.Safety.ActiveStudents)
		return false, rep, s.finish(ctx, imp, rep)
	}
	if err := s.writeReport(ctx, imp, rep); err != nil { // the report exists while the import applies
		return false, rep, err
	}
	continued, err := s.apply(ctx, imp, plan.Ops)
	return continued, rep, err
}

// plan downloads the drop, reads it against the district's current roster and returns the
// validation report and the plan.
func (s *Service) plan(ctx context.Context, d *pthv.District, imp *pthv.Import) (*orcsv.Report, Plan, error) {
	t0 := time.Now()
	f, err := os.CreateTemp(s.TempDir, "drop-*.zip")
	if err != nil {
		return nil, Plan{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := s.Blobs.Download(ctx, imp.Source, f); err != nil {
		return nil, Plan{}, fmt.Errorf("download: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, Plan{}, err
	}
	t1 := time.Now()
	state, from, err := s.loadState(ctx, d)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("load roster: %w", err)
	}
	imp.StateFrom = from
	t2 := time.Now()
	planner := NewPlanner(state)
	pkg := orcsv.OpenZip(f, st.Size(), imp.Source.Key, s.Limits)
	rep, err := orcsv.Read(ctx, pkg, planner, orcsv.Options{Limits: s.Limits, Resolver: state})
	if err != nil {
		return nil, Plan{}, err
	}
	hold := d.HoldShare
	if hold <= 0 {
		hold = pthv.DefaultHoldShare
	}
	plan := planner.Finish(hold)
	t3 := time.Now()
	imp.TimingsMS["download"] = t1.Sub(t0).Milliseconds()
	imp.TimingsMS["loadRoster"] = t2.Sub(t1).Milliseconds()
	imp.TimingsMS["readAndPlan"] = t3.Sub(t2).Milliseconds()
	imp.Validation = summarize(rep)
	imp.Counts, imp.Safety, imp.Ops = plan.Counts, plan.Safety, len(plan.Ops)
	if !rep.Fatal() && (len(plan.Ops) > 0 || from != "snapshot") {
		// The state this import leaves, for the next import to read in one request.
		b, err := encodeState(after(state, plan.Ops))
		if err != nil {
			return nil, Plan{}, err
		}
		imp.StateKey = stateKey(d.ID, imp.ID)
		if err := s.Blobs.Put(ctx, s.ReportsBucket, imp.StateKey, "application/gzip", b); err != nil {
			return nil, Plan{}, err
		}
	}
	return rep, plan, nil
}

func summarize(rep *orcsv.Report) pthv.ValidationSummary {
	v := pthv.ValidationSummary{Version: rep.Version, Errors: rep.Errors, Warnings: rep.Warnings}
	for _, c := range rep.Counts {
		if c.Severity != orcsv.SeverityInfo {
			v.Codes = append(v.Codes, pthv.CodeStat{File: c.File, Code: string(c.Code), Count: c.Count})
		}
	}
	if len(v.Codes) > 50 {
		v.Codes = v.Codes[:50]
	}
	return v
}

// apply writes ops from the import's cursor, checkpointing after every chunk. When the
// budget runs out it saves the cursor, queues a continuation and reports true.
func (s *Service) apply(ctx context.Context, imp *pthv.Import, ops []pthv.Op) (bool, error) {
	log := s.log().With("districtId", imp.District, "importId", imp.ID)
	chunk := s.ChunkOps
	if chunk <= 0 {
		chunk = 5000
	}
	imp.Status = pthv.StatusApplying
	if err := s.Store.PutImport(ctx, imp); err != nil {
		return false, err
	}
	if imp.Cursor < len(ops) {
		// From the first write until the new snapshot is in place, the roster is read from the table.
		if err := s.Store.SetSnapshot(ctx, imp.District, "", true); err != nil {
			return false, err
		}
	}
	t0 := time.Now()
	// A chunk's checkpoint (the import record with its cursor) is written while the next
	// chunk applies, so the writers never wait for it: the cursor it saves is still one
	// before which everything is applied, and a chunk applied again after a crash writes the
	// same items. It is waited for before the next checkpoint. The lock is renewed before
	// the first chunk and then before any chunk once an eighth of its lease has passed, so
	// every chunk starts with at least seven eighths of the lease left.
	ckpt := make(chan error, 1)
	ckpt <- nil
	checkpoint := func(cp pthv.Import) { ckpt <- s.Store.PutImport(ctx, &cp) }
	var renewed time.Time
	// Every invocation applies at least one chunk before it may checkpoint, so an import
	// always progresses however small the budget.
	for first := true; imp.Cursor < len(ops); first = false {
		if !first && s.Budget != nil && s.Budget(ctx) <= 0 {
			if err := <-ckpt; err != nil {
				return false, err
			}
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			if err := s.Store.PutImport(ctx, imp); err != nil {
				return false, err
			}
			log.Info("import checkpointed; continuing in a new invocation", "decision", "continue", "cursor", imp.Cursor, "ops", len(ops))
			return true, s.Queue.Continue(ctx, pthv.Continuation{Kind: pthv.ContinuationKind, District: imp.District, ImportID: imp.ID, Run: imp.Runs + 1})
		}
		if time.Since(renewed) > s.lease()/8 {
			if err := s.Store.Lock(ctx, imp.District, imp.ID, s.lease()); err != nil {
				<-ckpt
				return false, fmt.Errorf("renew district lock: %w", err)
			}
			renewed = time.Now()
		}
		end := min(imp.Cursor+chunk, len(ops))
		ws, err := s.Store.Apply(ctx, imp.District, imp.ID, ops[imp.Cursor:end])
		imp.Writes.Add(ws)
		if cerr := <-ckpt; err == nil && cerr != nil {
			return false, cerr
		}
		if err != nil {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			_ = s.Store.PutImport(ctx, imp)
			return false, fmt.Errorf("apply: %w", err)
		}
		imp.Cursor = end
		go checkpoint(*imp)
	}
	if err := <-ckpt; err != nil {
		return false, err
	}
	imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
	if imp.StateKey != "" {
		if err := s.Store.SetSnapshot(ctx, imp.District, imp.StateKey, false); err != nil {
			return false, err
		}
	}
	imp.Status, imp.Finished = pthv.StatusApplied, s.now()
	if sf := imp.Safety; sf.Held {
		// The hold's advice ("approve it with …") is done with: say what happened instead.
		imp.Reason = fmt.Sprintf("held because it deactivates %d of %d active students (%.1f%%, more than %.0f%%), then approved and applied",
			sf.DeactivatedStudents, sf.ActiveStudents, 100*sf.Share, 100*sf.Threshold)
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
// any drops of the district that queued up meanwhile.
func (s *Service) Continue(ctx context.Context, c pthv.Continuation) error {
	log := s.log().With("districtId", c.District, "importId", c.ImportID)
	imp, err := s.Store.GetImport(ctx, c.District, c.ImportID)
	if err != nil {
		return err
	}
	if imp.Status != pthv.StatusApplying && imp.Status != pthv.StatusApproved {
		log.Info("continuation ignored: the import is "+string(imp.Status), "decision", "duplicate")
		return nil
	}
	if c.Run != 0 && c.Run != imp.Runs+1 {
		log.Info("continuation ignored: its run has happened", "decision", "duplicate", "run", c.Run)
		return nil
	}
	if err := s.Store.Lock(ctx, c.District, imp.ID, s.lease()); errors.Is(err, pthv.ErrConflict) {
		return fmt.Errorf("district %s is locked by another import; the continuation will be retried", c.District)
	} else if err != nil {
		return err
	}
	// A continuation delivered twice must not run twice: one invocation takes each run.
	if err := s.Store.ClaimRun(ctx, c.District, imp.ID, imp.Runs); errors.Is(err, pthv.ErrConflict) {
		log.Info("continuation already taken by another invocation", "decision", "duplicate")
		return nil
	} else if err != nil {
		return err
	}
	d, err := s.Store.District(ctx, c.District)
	if err != nil {
		return err
	}
	imp.Runs++
	if imp.Status == pthv.StatusApproved && d.Watermark.After(imp.Source.UploadedAt) {
		imp.Status, imp.Finished = pthv.StatusSuperseded, s.now()
		imp.Reason = "a newer export was imported after this one was held; approving the older one would undo it"
		log.Info("approved import superseded", "decision", "superseded")
		if err := s.finish(ctx, imp, nil); err != nil {
			return err
		}
	} else {
		ops, err := s.loadPlan(ctx, imp)
		if err != nil {
			return err
		}
		if imp.TimingsMS == nil {
			imp.TimingsMS = map[string]int64{}
		}
		continued, err := s.apply(ctx, imp, ops)
		if continued || err != nil {
			return err
		}
	}
	if err := s.Store.Unlock(ctx, c.District, imp.ID); err != nil {
		return err
	}
	return s.drain(ctx, d)
}

// Approve marks a held import approved; the ingest function applies it on the continuation
// message this sends. It fails with pthv.ErrConflict unless the import is held.
func (s *Service) Approve(ctx context.Context, district, importID string) error {
	if err := s.Store.TransitionImport(ctx, district, importID, pthv.StatusHeld, pthv.StatusApproved); err != nil {
		return err
	}
	imp, err := s.Store.GetImport(ctx, district, importID)
	if err != nil {
		return err
	}
	s.log().Info("held import approved", "districtId", district, "importId", importID, "decision", "approved")
	return s.Queue.Continue(ctx, pthv.Continuation{Kind: pthv.ContinuationKind, District: district, ImportID: importID, Run: imp.Runs + 1})
}

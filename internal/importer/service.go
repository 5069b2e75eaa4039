package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
)

// Service runs imports. Every exported method is safe to call again with the same input:
// S3 and SQS deliver at least once.
type Service struct {
	Store         Store
	Blobs         Blobs
	Queue         Queue
	Log           *slog.Logger
	DropsBucket   string
	ReportsBucket string
	Limits        orcsv.Limits
	// TempDir holds downloaded drops while they are read ("" = the system default).
	TempDir string
	// Budget returns how much longer this invocation may work before it must checkpoint.
	// nil means no limit.
	Budget func(ctx context.Context) time.Duration
	// ChunkOps is how many writes are applied between checkpoints (default 5000).
	ChunkOps int
	// LockLease is how long a district lock lasts without renewal (default 16 minutes,
	// longer than one Lambda invocation).
	LockLease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Families resolves visit logs' families and students (needed for visit drops).
	Families FamilyResolver
	// Reach is told which district-years an import changed (optional).
	Reach ReachNotifier
}

// ErrRefused marks a drop that is refused (and reported), not retried.
var ErrRefused = errors.New("refused")

var keyRE = regexp.MustCompile(`^drops/([0-9A-Za-z._-]{1,64})/(.*)$`)

// DistrictOfKey returns the district segment of a drop key, or "" when the key has none.
func DistrictOfKey(key string) string {
	if m := keyRE.FindStringSubmatch(key); m != nil {
		return m[1]
	}
	return ""
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func newImportID(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "imp-" + t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// HandleDrop handles an object-created event for obj. A roster drop for a registered
// district is imported, after any older drop of the district not yet imported; a drop for an
// unknown district or outside drops/{district}/rosters/ is refused and reported (ErrRefused).
// A redelivered event finds its object claimed and does nothing.
func (s *Service) HandleDrop(ctx context.Context, obj Object) error {
	log := s.log().With("bucket", obj.Bucket, "key", obj.Key)
	m := keyRE.FindStringSubmatch(obj.Key)
	if m == nil {
		log.Warn("drop refused: the key is not under drops/{districtId}/", "decision", "refused")
		return fmt.Errorf("%w: key outside drops/{districtId}/", ErrRefused)
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
	if errors.Is(err, ErrNotFound) {
		return s.refuse(ctx, log, districtID, obj, fmt.Sprintf("district %s is not registered; register it with 'pthv districts add' before dropping exports", districtID))
	}
	if err != nil {
		return err
	}
	if _, err := s.Store.ObjectClaim(ctx, obj); err == nil {
		log.Info("drop already imported: redelivered event ignored", "decision", "duplicate")
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if isTraining {
		return s.trainingDrop(ctx, d, obj)
	}
	if isConsent {
		return s.importConsent(ctx, d, obj, newImportID(s.now()))
	}
	if isVisits {
		return s.importVisits(ctx, d, obj, newImportID(s.now()))
	}
	return s.drain(ctx, d)
}

// refuse writes a report and an import record for a drop that is not imported.
func (s *Service) refuse(ctx context.Context, log *slog.Logger, districtID string, obj Object, reason string) error {
	now := s.now()
	imp := &Import{ID: newImportID(now), District: districtID, Source: obj, Status: StatusRejected, Reason: reason,
		Started: now, Finished: now, Counts: map[roster.Kind]Counts{}}
	// The refusal is an import record of its own (no roster is touched), so that district IT
	// sees it in 'pthv imports list' and 'pthv upload --wait' returns; a redelivery finds the
	// object claimed and refuses nothing twice.
	if err := s.Store.ClaimObject(ctx, obj, imp.ID); errors.Is(err, ErrConflict) {
		log.Info("refused drop already reported: redelivered event ignored", "decision", "duplicate")
		return fmt.Errorf("%w: %s", ErrRefused, reason)
	} else if err != nil {
		return err
	}
	log.Warn("drop refused", "importId", imp.ID, "decision", "refused")
	if err := s.finish(ctx, imp, nil); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrRefused, reason)
}

// drain imports the district's unclaimed roster drops one at a time, oldest first, for as
// long as it can take the district's lock. A runner that cannot take the lock stops: the
// holder lists the drops again after every import, so it will find this one.
func (s *Service) drain(ctx context.Context, d *District) error {
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
		if err := s.Store.Lock(ctx, d.ID, id, s.lease()); errors.Is(err, ErrConflict) {
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

// trainingDrop imports a training file under the district lock. When another import holds
// the lock, the drop fails so that the queue retries it later.
func (s *Service) trainingDrop(ctx context.Context, d *District, obj Object) error {
	id := newImportID(s.now())
	if err := s.Store.Lock(ctx, d.ID, id, s.lease()); err != nil {
		return fmt.Errorf("training drop waits for the district's running import: %w", err)
	}
	err := s.importTrainings(ctx, d, obj, id)
	if uerr := s.Store.Unlock(ctx, d.ID, id); err == nil {
		err = uerr
	}
	return err
}

// touched tells the reach notifier which of the district's school years an import changed.
func (s *Service) touched(ctx context.Context, district string, years []string) {
	if s.Reach == nil || len(years) == 0 {
		return
	}
	slices.Sort(years)
	years = slices.Compact(years)
	if err := s.Reach.Touched(ctx, district, years); err != nil {
		s.log().Warn("reach recomputation not requested; the nightly run will catch up", "districtId", district, "error", err.Error())
	}
}

func (s *Service) lease() time.Duration {
	if s.LockLease > 0 {
		return s.LockLease
	}
	return 16 * time.Minute
}

// unclaimed lists the district's roster drops no import has claimed, oldest upload first.
func (s *Service) unclaimed(ctx context.Context, d *District) ([]Object, error) {
	objs, err := s.Blobs.ListDrops(ctx, s.DropsBucket, "drops/"+d.ID+"/rosters/")
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, o := range objs {
		if strings.Contains(strings.TrimPrefix(o.Key, "drops/"+d.ID+"/rosters/"), "/") {
			continue
		}
		if _, err := s.Store.ObjectClaim(ctx, o); errors.Is(err, ErrNotFound) {
			out = append(out, o)
		} else if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Object) int {
		if c := a.UploadedAt.Compare(b.UploadedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Identity(), b.Identity())
	})
	return out, nil
}

// importObject runs one import under the district lock held by id. It reports whether the
// import continues in another invocation (the lock stays held).
func (s *Service) importObject(ctx context.Context, d *District, obj Object, id string) (bool, error) {
	log := s.log().With("districtId", d.ID, "importId", id)
	now := s.now()
	imp := &Import{ID: id, District: d.ID, Source: obj, Status: StatusPlanning, Started: now,
		Counts: map[roster.Kind]Counts{}, TimingsMS: map[string]int64{}, Runs: 1}
	if err := s.Store.ClaimObject(ctx, obj, id); errors.Is(err, ErrConflict) {
		log.Info("drop claimed by another import", "decision", "skip")
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !d.Watermark.IsZero() && obj.UploadedAt.Before(d.Watermark) {
		imp.Status, imp.Reason, imp.Finished = StatusSuperseded,
			"a newer export of the district was imported already; this older one is not applied over it", s.now()
		log.Info("import superseded", "decision", "superseded")
		return false, s.finish(ctx, imp, nil)
	}
	if err := s.Store.PutImport(ctx, imp); err != nil {
		return false, err
	}
	log.Info("import started", "decision", "plan", "bytes", obj.Size)

	rep, plan, err := s.plan(ctx, d, imp)
	if err != nil {
		imp.Status, imp.Reason, imp.Finished = StatusFailed, "internal error while planning; the import will be retried", s.now()
		log.Error("planning failed", "error", err.Error())
		_ = s.Store.PutImport(ctx, imp)
		return false, err
	}
	if err := s.Store.SetWatermark(ctx, d.ID, obj.UploadedAt); err != nil {
		return false, err
	}
	if rep.Fatal() {
		imp.Status, imp.Reason, imp.Finished = StatusRejected, "the export has package or file errors; nothing was applied", s.now()
		log.Info("import rejected", "decision", "rejected", "errors", rep.Errors)
		return false, s.finish(ctx, imp, rep)
	}
	if len(plan.Ops) > 0 {
		if imp.PlanKey, err = s.savePlan(ctx, imp, plan.Ops); err != nil {
			return false, err
		}
	}
	if plan.Safety.Held {
		imp.Status, imp.Finished = StatusHeld, s.now()
		imp.Reason = fmt.Sprintf("the import would deactivate %d of %d active students (%.1f%%, more than %.0f%%); approve it with 'pthv imports approve %s --district %s'",
			plan.Safety.DeactivatedStudents, plan.Safety.ActiveStudents, 100*plan.Safety.Share, 100*plan.Safety.Threshold, imp.ID, d.ID)
		log.Info("import held for approval", "decision", "held", "deactivatedStudents", plan.Safety.DeactivatedStudents, "activeStudents", plan.Safety.ActiveStudents)
		return false, s.finish(ctx, imp, rep)
	}
	if err := s.writeReport(ctx, imp, rep); err != nil { // the report exists while the import applies
		return false, err
	}
	return s.apply(ctx, imp, plan.Ops)
}

// plan downloads the drop, reads it against the district's current roster and returns the
// validation report and the plan.
func (s *Service) plan(ctx context.Context, d *District, imp *Import) (*orcsv.Report, Plan, error) {
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
		hold = DefaultHoldShare
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

func summarize(rep *orcsv.Report) ValidationSummary {
	v := ValidationSummary{Version: rep.Version, Errors: rep.Errors, Warnings: rep.Warnings}
	for _, c := range rep.Counts {
		if c.Severity != orcsv.SeverityInfo {
			v.Codes = append(v.Codes, CodeStat{File: c.File, Code: string(c.Code), Count: c.Count})
		}
	}
	if len(v.Codes) > 50 {
		v.Codes = v.Codes[:50]
	}
	return v
}

// apply writes ops from the import's cursor, checkpointing after every chunk. When the
// budget runs out it saves the cursor, queues a continuation and reports true.
func (s *Service) apply(ctx context.Context, imp *Import, ops []Op) (bool, error) {
	log := s.log().With("districtId", imp.District, "importId", imp.ID)
	chunk := s.ChunkOps
	if chunk <= 0 {
		chunk = 5000
	}
	imp.Status = StatusApplying
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
	// Every invocation applies at least one chunk before it may checkpoint, so an import
	// always progresses however small the budget.
	for first := true; imp.Cursor < len(ops); first = false {
		if !first && s.Budget != nil && s.Budget(ctx) <= 0 {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			if err := s.Store.PutImport(ctx, imp); err != nil {
				return false, err
			}
			log.Info("import checkpointed; continuing in a new invocation", "decision", "continue", "cursor", imp.Cursor, "ops", len(ops))
			return true, s.Queue.Continue(ctx, Continuation{Kind: ContinuationKind, District: imp.District, ImportID: imp.ID, Run: imp.Runs + 1})
		}
		end := min(imp.Cursor+chunk, len(ops))
		ws, err := s.Store.Apply(ctx, imp.District, imp.ID, ops[imp.Cursor:end])
		imp.Writes.Add(ws)
		if err != nil {
			imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
			_ = s.Store.PutImport(ctx, imp)
			return false, fmt.Errorf("apply: %w", err)
		}
		imp.Cursor = end
		if err := s.Store.PutImport(ctx, imp); err != nil {
			return false, err
		}
		if err := s.Store.Lock(ctx, imp.District, imp.ID, s.lease()); err != nil {
			return false, fmt.Errorf("renew district lock: %w", err)
		}
	}
	imp.TimingsMS["apply"] += time.Since(t0).Milliseconds()
	if imp.StateKey != "" {
		if err := s.Store.SetSnapshot(ctx, imp.District, imp.StateKey, false); err != nil {
			return false, err
		}
	}
	imp.Status, imp.Finished = StatusApplied, s.now()
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
		s.touched(ctx, imp.District, []string{training.SchoolYear(s.now())})
	}
	return false, nil
}

// Continue resumes an import from its checkpoint, or applies an approved one, then imports
// any drops of the district that queued up meanwhile.
func (s *Service) Continue(ctx context.Context, c Continuation) error {
	log := s.log().With("districtId", c.District, "importId", c.ImportID)
	imp, err := s.Store.GetImport(ctx, c.District, c.ImportID)
	if err != nil {
		return err
	}
	if imp.Status != StatusApplying && imp.Status != StatusApproved {
		log.Info("continuation ignored: the import is "+string(imp.Status), "decision", "duplicate")
		return nil
	}
	if c.Run != 0 && c.Run != imp.Runs+1 {
		log.Info("continuation ignored: its run has happened", "decision", "duplicate", "run", c.Run)
		return nil
	}
	if err := s.Store.Lock(ctx, c.District, imp.ID, s.lease()); errors.Is(err, ErrConflict) {
		return fmt.Errorf("district %s is locked by another import; the continuation will be retried", c.District)
	} else if err != nil {
		return err
	}
	// A continuation delivered twice must not run twice: one invocation takes each run.
	if err := s.Store.ClaimRun(ctx, c.District, imp.ID, imp.Runs); errors.Is(err, ErrConflict) {
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
	if imp.Status == StatusApproved && d.Watermark.After(imp.Source.UploadedAt) {
		imp.Status, imp.Finished = StatusSuperseded, s.now()
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
// message this sends. It fails with ErrConflict unless the import is held.
func (s *Service) Approve(ctx context.Context, district, importID string) error {
	if err := s.Store.TransitionImport(ctx, district, importID, StatusHeld, StatusApproved); err != nil {
		return err
	}
	imp, err := s.Store.GetImport(ctx, district, importID)
	if err != nil {
		return err
	}
	s.log().Info("held import approved", "districtId", district, "importId", importID, "decision", "approved")
	return s.Queue.Continue(ctx, Continuation{Kind: ContinuationKind, District: district, ImportID: importID, Run: imp.Runs + 1})
}

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

// finish writes the final report and the import record.
func (s *Service) finish(ctx context.Context, imp *Import, rep *orcsv.Report) error {
	imp.Settle()
	if err := s.writeReport(ctx, imp, rep); err != nil {
		return err
	}
	return s.Store.PutImport(ctx, imp)
}

// Report is the import report written to reports/{district}/imports/{importId}.json; it
// conforms to schemas/import-report.schema.json.
type Report struct {
	ReportVersion string `json:"reportVersion"`
	*Import
	ValidationReport *orcsv.Report `json:"validationReport,omitempty"`
}

// writeReport writes the report. Without a validation report it keeps the one an earlier
// write of the same import stored.
func (s *Service) writeReport(ctx context.Context, imp *Import, rep *orcsv.Report) error {
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
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	b, err := json.MarshalIndent(Report{ReportVersion: "1", Import: imp, ValidationReport: rep}, "", "  ")
	if err != nil {
		return err
	}
	return s.Blobs.Put(ctx, s.ReportsBucket, key, "application/json", b)
}

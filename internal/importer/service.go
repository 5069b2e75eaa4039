package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
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
	// LockLease is how long a run's heartbeat and the district lock last without renewal
	// (default DefaultLease). A run renews both at every stage and every checkpoint; an import
	// whose heartbeat is older is taken over by whoever sees it next.
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

// plan downloads the drop, reads it against the district's current roster and returns the
// validation report and the plan. The run heartbeats after each stage.
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
	if err := s.beat(ctx, imp, true); err != nil {
		return nil, Plan{}, err
	}
	state, from, err := s.loadState(ctx, d)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("load roster: %w", err)
	}
	imp.StateFrom = from
	if err := s.beat(ctx, imp, true); err != nil {
		return nil, Plan{}, err
	}
	t2 := time.Now()
	planner := NewPlanner(state)
	pkg := orcsv.OpenZip(f, st.Size(), imp.Source.Key, s.Limits)
	rep, err := orcsv.Read(ctx, pkg, planner, orcsv.Options{Limits: s.Limits, Resolver: state})
	if err != nil {
		return nil, Plan{}, err
	}
	shares := d.HoldShares()
	plan := planner.Finish(shares)
	planner.checkFiles(&plan.Safety, fileChecks(rep), shares)
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

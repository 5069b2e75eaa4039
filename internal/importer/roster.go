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
)

// rosterDrops is the prefix of a district's roster drops.
func rosterDrops(district string) string { return pthv.KeyPrefix("drops", district, "rosters") }

// unclaimed lists the district's roster drops no import has claimed, oldest upload first.
func (s *Service) unclaimed(ctx context.Context, d *pthv.District) ([]pthv.Object, error) {
	prefix := rosterDrops(d.ID)
	objs, err := s.Blobs.ListDrops(ctx, s.DropsBucket, prefix)
	if err != nil {
		return nil, err
	}
	var out []pthv.Object
	for _, o := range objs {
		if strings.Contains(strings.TrimPrefix(o.Key, prefix), "/") {
			continue
		}
		if _, err := s.Store.ObjectClaim(ctx, o); errors.Is(err, pthv.ErrNotFound) {
			out = append(out, o)
		} else if err != nil {
			return nil, err
		}
	}
	// Upload order; versions of one key in S3's order; drops of different keys in the same
	// second in a fixed order (the second of them is held: see sameSecond).
	order := versionOrder(objs)
	slices.SortFunc(out, func(a, b pthv.Object) int {
		if c := a.UploadedAt.Compare(b.UploadedAt); c != 0 {
			return c
		}
		if a.Key == b.Key {
			return order[a.Identity()] - order[b.Identity()]
		}
		return strings.Compare(a.Identity(), b.Identity())
	})
	return out, nil
}

// plan downloads the drop, reads it against the district's current roster and returns the
// validation report and the plan, whose ops are spilled to temp files (Plan.Close removes
// them). The run heartbeats after each stage.
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
	planner, err := NewSpillingPlanner(state, s.TempDir)
	if err != nil {
		return nil, Plan{}, err
	}
	pkg := orcsv.OpenZip(f, st.Size(), imp.Source.Key, s.Limits)
	rep, err := orcsv.Read(ctx, pkg, planner, orcsv.Options{Limits: s.Limits, Resolver: state})
	if err != nil {
		planner.Close()
		return nil, Plan{}, err
	}
	shares := holdShares(d)
	plan := planner.FinishWith(shares)
	if err := planner.Err(); err != nil {
		plan.Close()
		return nil, Plan{}, err
	}
	planner.checkFiles(&plan.Safety, fileChecks(rep), shares)
	t3 := time.Now()
	imp.TimingsMS["download"] = t1.Sub(t0).Milliseconds()
	imp.TimingsMS["loadRoster"] = t2.Sub(t1).Milliseconds()
	imp.TimingsMS["readAndPlan"] = t3.Sub(t2).Milliseconds()
	imp.Validation = summarize(rep)
	imp.Counts, imp.Safety, imp.Ops = plan.Counts, plan.Safety, plan.Len()
	if !rep.Fatal() && (plan.Len() > 0 || from != "snapshot") {
		// The state this import leaves, for the next import to read in one request (it
		// consumes the state read: nothing reads it after).
		b, err := snapshotAfter(state, plan)
		if err != nil {
			plan.Close()
			return nil, Plan{}, err
		}
		imp.StateKey = stateKey(d.ID, imp.ID)
		if err := s.Blobs.Put(ctx, s.ReportsBucket, imp.StateKey, "application/gzip", b); err != nil {
			plan.Close()
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

// Approve marks a held import approved; the ingest function applies it on the continuation
// message this sends. It fails with pthv.ErrConflict unless the import is held.
//
// A held import whose plan is gone — plans/ expire after the deployment's plan_days, the
// approval window (infra, README "Safety") — is refused with a conflict and stays held:
// approving it could only fail when the apply reads the plan. Drop the export again instead.
func (s *Service) Approve(ctx context.Context, district, importID string) error {
	held, err := s.Store.GetImport(ctx, district, importID)
	if err != nil {
		return err
	}
	if held.Status == pthv.StatusHeld && held.PlanKey != "" && s.Blobs != nil { // a Service with the table only cannot look
		if err := s.planExists(ctx, held); errors.Is(err, pthv.ErrNotFound) {
			s.log().Info("held import's plan expired; not approved", "districtId", district, "importId", importID, "decision", "plan_expired")
			return pthv.Errorf(pthv.CodeConflict, "import %s was held %d days ago and its plan has expired (plans are kept for the approval window, plan_days); it stays held: drop the export again to plan it anew",
				importID, int(s.now().Sub(held.Finished).Hours()/24))
		} else if err != nil {
			return fmt.Errorf("read the plan of import %s: %w", importID, err)
		}
	}
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

// planExists reports whether the held import's plan is still in the reports bucket: its
// first and last chunks (all of a plan's chunks are written together, so they expire
// together), or the whole-plan object of an earlier version. It asks with a HEAD where the
// blob store has one (Stat), else with a read.
func (s *Service) planExists(ctx context.Context, imp *pthv.Import) error {
	keys := []string{imp.PlanKey}
	if size := imp.PlanChunkOps; size > 0 {
		keys = []string{planChunkKey(imp.PlanKey, 0), planChunkKey(imp.PlanKey, max(imp.Ops-1, 0)/size)}
	}
	for _, key := range keys {
		var err error
		if st, ok := s.Blobs.(interface {
			Stat(ctx context.Context, obj pthv.Object) (pthv.Object, error)
		}); ok {
			_, err = st.Stat(ctx, pthv.Object{Bucket: s.ReportsBucket, Key: key})
		} else {
			_, err = s.Blobs.Get(ctx, s.ReportsBucket, key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

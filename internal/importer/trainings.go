package importer

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
)

// educators returns the active users of the roster who hold an active educator role.
func educators(st pthv.State) map[string]bool {
	out := map[string]bool{}
	for _, c := range st[roster.KindRole] {
		if c.Active && slices.Contains(pthv.EducatorRoles, c.Role) && st[roster.KindUser][c.User].Active {
			out[c.User] = true
		}
	}
	return out
}

// importTrainings imports one training file under the district lock held by id: rows for
// educators not in the roster are rejected, unchanged records are not rewritten, opt-ins
// are recorded for the school year of their training date.
func (s *Service) importTrainings(ctx context.Context, d *pthv.District, obj pthv.Object, id string) error {
	c, err := s.startCSV(ctx, d, obj, id, "trainings")
	if c == nil || err != nil {
		return err
	}
	imp, log := c.imp, c.log
	res, err := training.Read(c.body, c.file, s.now())
	if err != nil {
		return err
	}
	imp.TrainingFindings = findings(res.Findings)
	tc := pthv.Counts{Rejected: res.Rejected}
	if res.FileError() {
		imp.Counts[pthv.KindTraining] = tc
		imp.Validation = csvSummary(res.Findings)
		return s.rejectCSV(ctx, c)
	}
	st, from, err := s.loadState(ctx, d)
	if err != nil {
		return err
	}
	imp.StateFrom = from
	known := educators(st)
	current, err := s.Store.LoadTrainings(ctx, d.ID)
	if err != nil {
		return err
	}
	var writes []pthv.TrainingWrite
	var opts []pthv.OptIn
	unchangedOpts := 0
	for _, r := range res.Records {
		if !known[r.Educator] {
			tc.Rejected++
			imp.TrainingFindings = append(imp.TrainingFindings, pthv.Finding{Severity: "error", Code: CodeUnknownEducator,
				File: c.file, Line: r.Line, Column: "educatorSourcedId", Message: unknownEducator(r.Educator)})
			continue
		}
		data, _ := json.Marshal(r)
		h := pthv.Hash(data)
		switch old, ok := current[r.Key()]; {
		case !ok:
			tc.Added++
		case old != h:
			tc.Changed++
		default:
			// An unchanged row decides nothing anew: a re-dropped file must not undo a
			// later opt-out.
			tc.Unchanged++
			if r.OptIn != nil {
				unchangedOpts++
			}
			continue
		}
		if r.OptIn != nil {
			opts = append(opts, pthv.OptIn{Educator: r.Educator, SchoolYear: r.SchoolYear, In: *r.OptIn, At: rowTime(r.Date), Source: "csv:" + id})
		}
		writes = append(writes, pthv.TrainingWrite{Key: r.Key(), Educator: r.Educator, SchoolYear: r.SchoolYear, Hash: h, Data: data})
	}
	slices.SortStableFunc(imp.TrainingFindings, func(a, b pthv.Finding) int { return a.Line - b.Line })
	ws, err := s.Store.PutTrainings(ctx, d.ID, id, writes)
	imp.Writes.Add(ws)
	if err != nil {
		return err
	}
	oc, ows, err := s.decideOptIns(ctx, d.ID, opts)
	imp.Writes.Add(ows)
	if err != nil {
		return err
	}
	oc.Unchanged += unchangedOpts
	imp.Counts[pthv.KindTraining], imp.Counts[pthv.KindOptIn] = tc, oc
	imp.Validation = csvSummary(imp.TrainingFindings)
	imp.Status, imp.Finished = pthv.StatusApplied, s.now()
	log.Info("training import applied", "decision", "applied", "written", len(writes), "rejected", tc.Rejected)
	if err := s.finish(ctx, imp, nil); err != nil {
		return err
	}
	var years []string
	for _, w := range writes {
		years = append(years, w.SchoolYear)
	}
	s.touched(ctx, d.ID, years)
	return nil
}

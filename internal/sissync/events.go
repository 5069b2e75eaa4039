package sissync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
)

// Events runs (a connection with Events on, whose source is sis.Evented):
//
//   - every full run first reads the source's newest event id (Run.EventID, EventsAt);
//   - an applied run whose collections all completed, or a held one once approved and
//     applied, becomes the connection's Snapshot with that id (advance);
//   - a nightly run that chooseMode would make a delta is an events run when there is a
//     snapshot whose id was read less than sis.EventsMaxAge ago: it pulls the events after
//     the id, applies them in order to the snapshot's staged pages, stages the result as its
//     own pages (so that it can be the next snapshot) and goes on to the same verdicts,
//     assembly and import as a full pull, which writes only what changed;
//   - otherwise, and whenever the events cannot be used (404 for the id, a pull that does not
//     complete, more than sis.MaxEvents, unreadable snapshot pages), the run is a full pull,
//     with the reason in ModeReason.

// eventsMode turns a run chooseMode made a delta into an events run, or a full one with the
// reason.
func (s *Service) eventsMode(conn *sis.Connection, run *sis.Run) {
	snap := conn.Snapshot
	switch {
	case snap == nil:
		run.Mode, run.ModeReason = "full", "events are on but there is no snapshot yet (no applied complete pull with an event id)"
	case s.now().Sub(snap.ReadAt) > sis.EventsMaxAge:
		run.Mode, run.ModeReason = "full", fmt.Sprintf("the snapshot's event id was read more than %d days ago (the source keeps events %d days)",
			int(sis.EventsMaxAge.Hours()/24), int(sis.EventsMaxAge.Hours()/24))
	default:
		run.Mode, run.ModeReason = "events", "events after the snapshot's event id "+snap.EventID+" (run "+snap.Run+")"
		run.Snapshot = snap.Run
	}
	run.Since = time.Time{}
}

// readLatestEvent notes the source's newest event id on a full run, so that the run can
// become a snapshot. A failure only says so in ModeReason: the pull that follows meets the
// same cause (a revoked token fails the run there, with its record and alarm).
func (s *Service) readLatestEvent(ctx context.Context, ev sis.Evented, run *sis.Run) {
	id, err := ev.LatestEvent(ctx)
	if err != nil {
		run.ModeReason += "; the newest event id could not be read (" + err.Error() + "), so this run cannot be an events snapshot"
		return
	}
	run.EventID, run.EventsAt = id, s.now()
}

// errTooManyEvents stops an events pull past the cap.
var errTooManyEvents = errors.New("too many events")

func (s *Service) maxEvents() int {
	if s.MaxEvents > 0 {
		return s.MaxEvents
	}
	return sis.MaxEvents
}

// eventsRun pulls and applies the events of an events run. It returns the reason to fall
// back to a full pull ("" when the run's pages are staged and it can be imported), or an
// error that stops the run.
func (s *Service) eventsRun(ctx context.Context, conn *sis.Connection, ev sis.Evented, run *sis.Run) (string, error) {
	t0 := time.Now()
	defer func() { run.PullMS += time.Since(t0).Milliseconds() }()
	if conn.Snapshot == nil || conn.Snapshot.Run != run.Snapshot {
		return "the connection's snapshot changed since the run started", nil
	}
	snap, err := s.Store.Run(ctx, conn.District, conn.ID, run.Snapshot)
	if errors.Is(err, pthv.ErrNotFound) {
		return "the snapshot's pages cannot be read: its run " + run.Snapshot + " is gone", nil
	} else if err != nil {
		return "", err
	}
	byName := map[string]*sis.CollectionRun{}
	for _, cr := range snap.Collections {
		byName[cr.Name] = cr
	}
	var staged []sis.Staged
	for _, cr := range run.Collections {
		sc := byName[cr.Name]
		if sc == nil || !sc.Complete {
			return "the snapshot's pages cannot be read: it has no complete " + cr.Name, nil
		}
		name := sc.Name
		staged = append(staged, sis.Staged{Collection: name, Complete: true, Pages: sc.Proof.Pages, Received: sc.Proof.Received,
			Page: func(ctx context.Context, n int) (*sis.Page, error) { return s.loadPage(ctx, snap, name, n) }})
	}
	// The events, staged as the run's "events" pages.
	n, pages := 0, 0
	err = ev.PullEvents(ctx, conn.Snapshot.EventID, func(p *sis.Page) error {
		n += p.Received
		run.Requests += p.Requests
		run.Retries += p.Retries
		run.Bytes += p.Bytes
		run.WaitMS += p.WaitMS
		if n > s.maxEvents() {
			return errTooManyEvents
		}
		pages++
		p.Collection, p.Number = eventsCollection, pages
		return s.stagePage(ctx, run, p)
	})
	var ce *sis.CollectionError
	switch {
	case errors.Is(err, sis.ErrEventsGone):
		return "the source no longer keeps event id " + conn.Snapshot.EventID + " (404)", nil
	case errors.Is(err, errTooManyEvents):
		return fmt.Sprintf("more than %d events since the snapshot", s.maxEvents()), nil
	case errors.As(err, &ce):
		return "the events pull did not complete (" + ce.Error() + ")", nil
	case err != nil:
		return "", err
	}
	events := sis.Staged{Collection: eventsCollection, Complete: true, Pages: pages, Received: n,
		Page: func(ctx context.Context, k int) (*sis.Page, error) { return s.loadPage(ctx, run, eventsCollection, k) }}
	tallies := map[string]*sis.Tally{}
	colls := map[string]*sis.CollectionRun{}
	for _, cr := range run.Collections {
		tallies[cr.Name] = sis.NewTally(sis.Collection{Name: cr.Name, Files: cr.Files})
		colls[cr.Name] = cr
	}
	applied, err := ev.ApplyEvents(ctx, staged, events, func(p *sis.Page) error {
		t, cr := tallies[p.Collection], colls[p.Collection]
		if t == nil {
			return fmt.Errorf("events: the source wrote collection %s, which the run does not have", p.Collection)
		}
		t.Add(p)
		if maxMod := latest(p.Rows); maxMod.After(run.Watermark) {
			run.Watermark = maxMod
		}
		cr.Proof, cr.Cursor = t.Proof, sis.Cursor{Page: p.Number}
		return s.stagePage(ctx, run, p)
	})
	switch {
	case errors.Is(err, sis.ErrSnapshotUnreadable):
		return err.Error(), nil
	case errors.As(err, &ce):
		return "the events pull did not complete (" + ce.Error() + ")", nil
	case err != nil:
		return "", err
	}
	for _, cr := range run.Collections {
		cr.Done = true
	}
	run.Events = applied
	run.EventID, run.EventsAt = conn.Snapshot.EventID, conn.Snapshot.ReadAt
	if applied.Last != "" {
		run.EventID, run.EventsAt = applied.Last, s.now()
	}
	s.log().Info("events applied to the snapshot", "districtId", run.District, "connectionId", run.Connection, "runId", run.ID,
		"snapshot", run.Snapshot, "events", applied.Events, "ignored", applied.Ignored, "decision", "events")
	return "", nil
}

// eventsCollection names the staged pages of an events run's events.
const eventsCollection = "events"

// fallBackToFull turns an events run into a full pull in the same run.
func (s *Service) fallBackToFull(ctx context.Context, ev sis.Evented, run *sis.Run, reason string) {
	s.log().Warn("events cannot be used: a full pull runs instead", "districtId", run.District, "connectionId", run.Connection,
		"runId", run.ID, "reason", reason, "decision", "full")
	run.Mode, run.ModeReason, run.Snapshot, run.Events = "full", reason+": a full pull runs instead", "", nil
	run.EventID, run.EventsAt, run.Watermark = "", time.Time{}, time.Time{}
	for _, cr := range run.Collections {
		*cr = sis.CollectionRun{Name: cr.Name, Files: cr.Files, People: cr.People, Proof: sis.Proof{Collection: cr.Name, Total: -1}}
	}
	s.readLatestEvent(ctx, ev, run)
}

// snapshotOf records an applied run as the connection's snapshot when it can be one: events
// on, an event id read, every collection complete, and not older than the last applied run.
func snapshotOf(conn *sis.Connection, r *sis.Run) {
	if !conn.Events || (r.Mode != "full" && r.Mode != "events") || r.EventsAt.IsZero() || r.Started.Before(conn.LastApplied) {
		return
	}
	for _, cr := range r.Collections {
		if !cr.Complete {
			return
		}
	}
	conn.Snapshot = &sis.Snapshot{Run: r.ID, EventID: r.EventID, ReadAt: r.EventsAt}
}

package sissync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
)

// SourceFactory makes a connector for a connection and its secret.
type SourceFactory func(c *sis.Connection, secret string, log *slog.Logger) (sis.Source, error)

// Blobs stores staged pages, packages and run reports.
type Blobs interface {
	Put(ctx context.Context, bucket, key, contentType string, body []byte) error
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Continuer starts another invocation of the sync function for a run that checkpointed.
type Continuer interface {
	ContinueRun(ctx context.Context, req Request) error
}

// Request is the sync function's event: from EventBridge Scheduler (district and connection,
// and the scheduled time, which names the run so that a duplicate delivery finds its run),
// from 'pthv sync run' (a run id it chose, to wait on), or a continuation.
type Request struct {
	District      string `json:"districtId"`
	Connection    string `json:"connectionId"`
	Run           string `json:"runId,omitempty"`
	ScheduledTime string `json:"scheduledTime,omitempty"`
	Full          bool   `json:"full,omitempty"`
	Trigger       string `json:"trigger,omitempty"`
	Continue      bool   `json:"continue,omitempty"`
}

// Service runs syncs.
type Service struct {
	Store         Store
	Secrets       Secrets
	Blobs         Blobs
	Importer      Importer
	Continuer     Continuer
	Sources       map[string]SourceFactory
	ReportsBucket string
	// Budget says how much longer this invocation may pull before it checkpoints (nil: no limit).
	Budget func(ctx context.Context) time.Duration
	Now    func() time.Time
	Log    *slog.Logger
	// MaxEvents caps the events an events run applies (sis.MaxEvents when 0).
	MaxEvents int
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

// NewRunID returns a run id that sorts by time.
func NewRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "run-" + t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// ErrCheckpoint is returned by a page callback when the invocation's budget ran out.
var errCheckpoint = errors.New("checkpoint")

// Handle runs the request: starts a run, or continues one. It returns the run as it stands
// when this invocation stops.
func (s *Service) Handle(ctx context.Context, req Request) (*sis.Run, error) {
	if req.District == "" || req.Connection == "" {
		return nil, fmt.Errorf("the request names no district or connection")
	}
	conn, err := s.Store.Connection(ctx, req.District, req.Connection)
	if err != nil {
		return nil, err
	}
	id := req.Run
	if id == "" && req.ScheduledTime != "" {
		if t, err := time.Parse(time.RFC3339, req.ScheduledTime); err == nil {
			id = "run-" + t.UTC().Format("20060102T150405.000Z") + "-sched"
		}
	}
	log := s.log().With("districtId", conn.District, "connectionId", conn.ID)
	if id != "" {
		if run, err := s.Store.Run(ctx, conn.District, conn.ID, id); err == nil {
			if run.Status != sis.RunPulling && run.Status != sis.RunImporting {
				log.Info("run already finished: duplicate request ignored", "runId", id, "decision", "duplicate")
				return run, nil
			}
			if !req.Continue && run.Invocations > 0 && s.now().Sub(run.Started) < 20*time.Minute {
				log.Info("run in progress: duplicate request ignored", "runId", id, "decision", "duplicate")
				return run, nil
			}
			return s.work(ctx, conn, run)
		} else if !errors.Is(err, pthv.ErrNotFound) {
			return nil, err
		}
	} else {
		id = NewRunID(s.now())
	}
	if err := s.reconcile(ctx, conn); err != nil {
		return nil, err
	}
	run := &sis.Run{District: conn.District, Connection: conn.ID, ID: id, Trigger: req.Trigger, Status: sis.RunPulling,
		SettingsHash: conn.SettingsHash(), Started: s.now()}
	if run.Trigger == "" {
		run.Trigger = "schedule"
	}
	s.chooseMode(conn, run, req.Full)
	src, err := s.source(ctx, conn)
	if err != nil {
		return nil, err
	}
	ev, evented := src.(sis.Evented)
	evented = evented && conn.Events
	if _, ok := src.(sis.Assembler); ok && run.Mode != "full" {
		if evented {
			s.eventsMode(conn, run)
		} else {
			run.Mode, run.ModeReason, run.Since = "full", "the source has no deltas: every run is a full pull", time.Time{}
		}
	}
	if evented && run.Mode == "full" {
		s.readLatestEvent(ctx, ev, run)
	}
	for _, c := range src.Collections() {
		run.Collections = append(run.Collections, &sis.CollectionRun{Name: c.Name, Files: c.Files, People: c.People, Proof: sis.Proof{Collection: c.Name, Total: -1}})
	}
	if err := s.Store.PutRun(ctx, run); err != nil {
		return nil, err
	}
	conn.LastRun = run.ID
	if err := s.Store.PutConnection(ctx, conn); err != nil {
		return nil, err
	}
	log.Info("sync run started", "runId", run.ID, "mode", run.Mode, "decision", "pull", "modeReason", run.ModeReason)
	return s.work(ctx, conn, run)
}

// chooseMode decides between a full pull and a delta.
func (s *Service) chooseMode(conn *sis.Connection, run *sis.Run, full bool) {
	now := s.now()
	switch {
	case full:
		run.Mode, run.ModeReason = "full", "a full pull was asked for"
	case conn.Approved != run.SettingsHash:
		run.Mode, run.ModeReason = "full", "first run with these settings"
	case conn.Watermark.IsZero():
		run.Mode, run.ModeReason = "full", "no watermark yet"
	case now.Sub(conn.LastApplied) > time.Duration(conn.MaxDeltaAgeDays)*24*time.Hour:
		run.Mode, run.ModeReason = "full", fmt.Sprintf("the last applied run is older than %d days", conn.MaxDeltaAgeDays)
	case now.Sub(conn.LastFull) >= time.Duration(conn.FullEveryDays)*24*time.Hour:
		run.Mode, run.ModeReason = "full", fmt.Sprintf("the last full pull is %d or more days old", conn.FullEveryDays)
	default:
		run.Mode, run.ModeReason = "delta", "changes since the watermark"
		run.Since = conn.Watermark.Add(-time.Duration(conn.OverlapMinutes) * time.Minute)
	}
}

func (s *Service) source(ctx context.Context, conn *sis.Connection) (sis.Source, error) {
	f := s.Sources[conn.Provider]
	if f == nil {
		return nil, fmt.Errorf("no connector for provider %s", conn.Provider)
	}
	secret, err := s.Secrets.Secret(ctx, conn.SecretID)
	if err != nil {
		return nil, fmt.Errorf("the connection's secret %s cannot be read: %w", conn.SecretID, err)
	}
	return f(conn, secret, s.log().With("districtId", conn.District, "connectionId", conn.ID))
}

// assembler returns the connection's source when it assembles its own package (sis.Assembler).
func (s *Service) assembler(ctx context.Context, conn *sis.Connection) (sis.Assembler, bool, error) {
	src, err := s.source(ctx, conn)
	if err != nil {
		return nil, false, err
	}
	a, ok := src.(sis.Assembler)
	return a, ok, nil
}

// reconcile brings the connection up to date with runs whose imports finished after the run
// handed them over (an approved held import, an apply that continued in the ingest function).
func (s *Service) reconcile(ctx context.Context, conn *sis.Connection) error {
	runs, err := s.Store.Runs(ctx, conn.District, conn.ID, 10)
	if err != nil {
		return err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.ImportID == "" || (r.Status != sis.RunHeld && r.Status != sis.RunImporting) {
			continue
		}
		imp, err := s.Importer.GetImport(ctx, conn.District, r.ImportID)
		if err != nil {
			continue
		}
		if string(imp.Status) == r.ImportState {
			continue
		}
		r.ImportState = string(imp.Status)
		switch imp.Status {
		case pthv.StatusApplied:
			r.Status, r.Reason = sis.RunApplied, imp.Reason
			s.advance(conn, r)
		case pthv.StatusSuperseded, pthv.StatusFailed, pthv.StatusRejected:
			r.Status = sis.RunFailed
			r.Reason = "its import was " + string(imp.Status)
		}
		if err := s.resettle(ctx, r); err != nil {
			return err
		}
	}
	return s.Store.PutConnection(ctx, conn)
}

// advance records an applied run on its connection: its settings are approved, and its
// watermark and full pull count.
func (s *Service) advance(conn *sis.Connection, r *sis.Run) {
	conn.Approved = r.SettingsHash
	if r.Watermark.After(conn.Watermark) {
		conn.Watermark = r.Watermark
	}
	snapshotOf(conn, r)
	if r.Started.After(conn.LastApplied) {
		conn.LastApplied = r.Started
	}
	if r.Mode == "full" && r.Started.After(conn.LastFull) {
		conn.LastFull = r.Started
	}
}

// work pulls what is left of the run, then imports it.
func (s *Service) work(ctx context.Context, conn *sis.Connection, run *sis.Run) (*sis.Run, error) {
	log := s.log().With("districtId", conn.District, "connectionId", conn.ID, "runId", run.ID)
	run.Invocations++
	if run.Status == sis.RunPulling {
		src, err := s.source(ctx, conn)
		if err != nil {
			return s.fail(ctx, run, err.Error())
		}
		if run.Mode == "events" {
			ev, ok := src.(sis.Evented)
			reason := "the source reads no events"
			if ok {
				reason, err = s.eventsRun(ctx, conn, ev, run)
				if err != nil {
					log.Warn("sync run failed while reading events", "decision", "failed", "error", err.Error())
					return s.fail(ctx, run, err.Error())
				}
			}
			if reason != "" && ok {
				s.fallBackToFull(ctx, ev, run, reason)
			} else if reason != "" {
				run.Mode, run.ModeReason = "full", reason+": a full pull runs instead"
			}
		}
		stopped, err := s.pull(ctx, src, run)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return run, err
			}
			log.Warn("sync run failed while pulling", "decision", "failed", "error", err.Error())
			return s.fail(ctx, run, err.Error())
		}
		if stopped {
			if err := s.Store.PutRun(ctx, run); err != nil {
				return nil, err
			}
			log.Info("sync run checkpointed; continuing in a new invocation", "decision", "continue")
			return run, s.Continuer.ContinueRun(ctx, Request{District: run.District, Connection: run.Connection, Run: run.ID, Continue: true})
		}
		run.Status = sis.RunImporting
		if err := s.Store.PutRun(ctx, run); err != nil {
			return nil, err
		}
	}
	return s.importRun(ctx, conn, run, layoutOf(conn.Provider))
}

// layoutOf is the CSV layout of a provider's rows.
func layoutOf(provider string) string {
	if provider == sis.ProviderOneRoster11 {
		return "1.1"
	}
	return "1.2"
}

func (s *Service) fail(ctx context.Context, run *sis.Run, reason string) (*sis.Run, error) {
	run.Status, run.Reason, run.Finished = sis.RunFailed, reason, s.now()
	return s.settle(ctx, run)
}

// pull pulls every collection not done, at most conn's concurrency at a time. It reports
// whether it stopped for a checkpoint.
func (s *Service) pull(ctx context.Context, src sis.Source, run *sis.Run) (bool, error) {
	conc := 1
	if c, err := s.Store.Connection(ctx, run.District, run.Connection); err == nil && c.Concurrency > 0 {
		conc = c.Concurrency
	}
	t0 := time.Now()
	defer func() { run.PullMS += time.Since(t0).Milliseconds() }()
	var mu sync.Mutex
	var firstErr error
	stopped := false
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	colls := map[string]sis.Collection{}
	for _, c := range src.Collections() {
		colls[c.Name] = c
	}
	for _, cr := range run.Collections {
		if cr.Done {
			continue
		}
		sem <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			// An error that stops the run (a revoked token) stops it here: no other
			// collection is asked for.
			<-sem
			break
		}
		wg.Add(1)
		go func(cr *sis.CollectionRun) {
			defer wg.Done()
			defer func() { <-sem }()
			err := s.pullOne(ctx, src, colls[cr.Name], run, cr, &mu)
			mu.Lock()
			defer mu.Unlock()
			var ce *sis.CollectionError
			switch {
			case err == nil:
			case errors.Is(err, errCheckpoint):
				stopped = true
			case errors.As(err, &ce):
				cr.Done, cr.Proof.Error = true, ce.Error()
				s.log().Warn("collection incomplete", "districtId", run.District, "runId", run.ID, "collection", cr.Name, "page", ce.Page, "status", ce.Status)
			default:
				if firstErr == nil {
					firstErr = err
				}
			}
		}(cr)
	}
	wg.Wait()
	if firstErr != nil {
		return false, firstErr
	}
	return stopped, nil
}

// pullOne pulls one collection from its cursor, staging every page.
func (s *Service) pullOne(ctx context.Context, src sis.Source, c sis.Collection, run *sis.Run, cr *sis.CollectionRun, mu *sync.Mutex) error {
	tally := sis.NewTally(c)
	// Resuming: the staged pages rebuild the proof and the ids already seen.
	for n := 1; n <= cr.Cursor.Page; n++ {
		p, err := s.loadPage(ctx, run, c.Name, n)
		if err != nil {
			return err
		}
		tally.Add(p)
	}
	lastSave := time.Now()
	err := src.Pull(ctx, c, sis.Query{Since: run.Since}, cr.Cursor, func(p *sis.Page) error {
		tally.Add(p)
		maxMod := latest(p.Rows)
		if err := s.stagePage(ctx, run, p); err != nil {
			return err
		}
		mu.Lock()
		cr.Cursor = p.Next
		cr.Proof = tally.Proof
		cr.Notes = appendNotes(cr.Notes, p.Notes)
		run.Requests += p.Requests
		run.Retries += p.Retries
		run.Bytes += p.Bytes
		run.WaitMS += p.WaitMS
		if maxMod.After(run.Watermark) {
			run.Watermark = maxMod
		}
		if p.Done {
			cr.Done = true
		}
		var err error
		if time.Since(lastSave) > 5*time.Second {
			lastSave = time.Now()
			err = s.Store.PutRun(ctx, run)
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		if !p.Done && s.Budget != nil && s.Budget(ctx) <= 0 {
			return errCheckpoint
		}
		return nil
	})
	mu.Lock()
	cr.Proof.Requests, cr.Proof.Retries = tally.Requests, tally.Retries
	if err == nil {
		cr.Proof = tally.Proof
	}
	mu.Unlock()
	return err
}

func appendNotes(have, add []string) []string {
	for _, n := range add {
		if len(have) >= 10 {
			break
		}
		if !strings.Contains(strings.Join(have, "\n"), n) {
			have = append(have, n)
		}
	}
	return have
}

// latest returns the newest dateLastModified among rows (the server's clock).
func latest(rows []sis.Row) time.Time {
	var t time.Time
	for _, r := range rows {
		if len(r.Cells) < 3 || r.Cells[2] == "" {
			continue
		}
		if m, err := time.Parse(time.RFC3339Nano, r.Cells[2]); err == nil && m.After(t) {
			t = m.UTC()
		}
	}
	return t
}

package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pthv/reach/internal/consent"
	"github.com/pthv/reach/internal/csvrows"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/training"
	"github.com/pthv/reach/internal/visits"
)

// csvDrop is a CSV drop (trainings, consent, visits) being imported.
type csvDrop struct {
	imp  *pthv.Import
	log  *slog.Logger
	body *bytes.Buffer
	file string // the object's name, as findings name it
}

// startCSV records and claims a CSV drop for import id and downloads it. It returns nil,
// nil when the import is finished already or the object was claimed by another import.
func (s *Service) startCSV(ctx context.Context, d *pthv.District, obj pthv.Object, id, kind string) (*csvDrop, error) {
	now := s.now()
	c := &csvDrop{log: s.log().With("districtId", d.ID, "importId", id), body: &bytes.Buffer{},
		file: obj.Key[strings.LastIndex(obj.Key, "/")+1:],
		imp: &pthv.Import{ID: id, District: d.ID, Source: obj, Kind: kind, Status: pthv.StatusPlanning, Started: now, Heartbeat: now,
			Counts: map[roster.Kind]pthv.Counts{}, TimingsMS: map[string]int64{}, Runs: 1}}
	if old, err := s.Store.GetImport(ctx, d.ID, id); err == nil {
		if !resumable(old.Status) {
			c.log.Info(kind+" drop already imported", "decision", "duplicate")
			return nil, nil
		}
		c.imp.Runs, c.imp.Attempts, c.imp.Started = old.Runs, old.Attempts, old.Started
	} else if !errors.Is(err, pthv.ErrNotFound) {
		return nil, err
	}
	// The record first, then the claim: a claimed object always has a record.
	if err := s.Store.PutImport(ctx, c.imp); errors.Is(err, pthv.ErrConflict) {
		c.log.Info(kind+" drop taken by another run", "decision", "skip")
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := s.claim(ctx, obj, id); errors.Is(err, pthv.ErrConflict) {
		c.imp.Status, c.imp.Reason, c.imp.Finished = pthv.StatusSuperseded, "the drop was claimed by another import", s.now()
		c.log.Info(kind+" drop claimed by another import", "decision", "skip")
		return nil, s.Store.PutImport(ctx, c.imp)
	} else if err != nil {
		return nil, err
	}
	if err := s.Blobs.Download(ctx, obj, capped{c.body, maxCSVBytes + 1}); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	return c, nil
}

// maxCSVBytes is the largest CSV drop of any kind its reader accepts (training, consent and
// visit files: 32 MiB, *.too_large).
const maxCSVBytes = max(training.MaxBytes, consent.MaxBytes, visits.MaxBytes)

// capped keeps the first n bytes written to it and drops the rest, so that a CSV drop far over
// its reader's limit is never held whole: the reader sees a byte past the limit and rejects
// the file (*.too_large).
type capped struct {
	b *bytes.Buffer
	n int
}

func (c capped) Write(p []byte) (int, error) {
	if room := c.n - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// reject finishes an import whose file has errors in its header: nothing applied.
func (s *Service) rejectCSV(ctx context.Context, c *csvDrop) error {
	c.imp.Status, c.imp.Reason, c.imp.Finished = pthv.StatusRejected, "the "+c.imp.Kind+" file has errors in its header; nothing was applied", s.now()
	c.log.Info(c.imp.Kind+" import rejected", "decision", "rejected")
	return s.finish(ctx, c.imp, nil)
}

// findings converts a CSV reader's findings to the import record's (the same fields).
func findings[F ~csvrows.Fields](fs []F) []pthv.Finding {
	if len(fs) == 0 {
		return nil
	}
	out := make([]pthv.Finding, len(fs))
	for i, f := range fs {
		out[i] = pthv.Finding(f)
	}
	return out
}

// csvSummary counts a CSV drop's findings by severity: the report's error and warning counts
// are those of the findings it lists.
func csvSummary[F ~csvrows.Fields](fs []F) pthv.ValidationSummary {
	var v pthv.ValidationSummary
	for _, f := range fs {
		switch csvrows.Fields(f).Severity {
		case "error":
			v.Errors++
		case "warning":
			v.Warnings++
		}
	}
	return v
}

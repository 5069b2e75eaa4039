package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
)

// The roster snapshot is the district's state after an import — per record its kind,
// sourcedId, content hash, active flag and, for roles, role and user — as gzipped
// tab-separated lines in the reports bucket (no names or contacts: sourcedIds only). Reading
// it is one GET instead of a query of every roster partition. It is written when an import is
// planned, trusted only once that import has applied (pthv.District.Snapshot), and never while
// the district is marked dirty by an apply in flight.

func stateKey(district, importID string) string {
	return pthv.Key("state", district, importID+".tsv.gz")
}

// loadState reads the district's roster from its snapshot when one is trustworthy, and from
// the store otherwise; a district known to be empty (pthv.EmptySnapshot, set at its
// registration and cleared by the first write to its roster) is read from neither. It says
// which it used: snapshot, table or empty.
func (s *Service) loadState(ctx context.Context, d *pthv.District) (pthv.State, string, error) {
	if d.Snapshot == pthv.EmptySnapshot && !d.Dirty {
		st := pthv.State{}
		for _, k := range roster.Kinds {
			st[k] = map[string]pthv.Current{}
		}
		return st, "empty", nil
	}
	if d.Snapshot != "" && !d.Dirty {
		b, err := s.Blobs.Get(ctx, s.ReportsBucket, d.Snapshot)
		if err == nil {
			st, err := decodeState(b)
			if err == nil {
				return st, "snapshot", nil
			}
			s.log().Warn("roster snapshot unreadable; reading the table", "districtId", d.ID, "error", err.Error())
		} else if !errors.Is(err, pthv.ErrNotFound) {
			return nil, "", err
		}
	}
	st, err := s.Store.LoadState(ctx, d.ID)
	return st, "table", err
}

// snapshotAfter returns the snapshot of the roster once plan is applied to st: each planned
// write's record as the plan leaves it, then the records the plan does not touch. It reads
// the plan's ops once and consumes st (every record with an op is taken out of it).
func snapshotAfter(st pthv.State, plan Plan) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w := bufio.NewWriter(zw)
	err := plan.Each(func(op *pthv.Op) error {
		m := st[op.Kind]
		c := m[op.ID]
		delete(m, op.ID)
		switch op.Op {
		case pthv.OpPut:
			c = pthv.Current{Hash: op.Hash, Active: true, Role: op.Role, User: op.User}
		case pthv.OpDeactivate:
			c.Active = false
		}
		return writeStateLine(w, op.Kind, op.ID, c)
	})
	if err != nil {
		return nil, err
	}
	return finishState(&buf, zw, w, st)
}

// finishState writes st's records and closes the snapshot.
func finishState(buf *bytes.Buffer, zw *gzip.Writer, w *bufio.Writer, st pthv.State) ([]byte, error) {
	for _, k := range roster.Kinds {
		for id, c := range st[k] {
			if err := writeStateLine(w, k, id, c); err != nil {
				return nil, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeStateLine(w *bufio.Writer, k roster.Kind, id string, c pthv.Current) error {
	a := "0"
	if c.Active {
		a = "1"
	}
	_, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k, id, c.Hash, a, c.Role, c.User)
	return err
}

func decodeState(b []byte) (pthv.State, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	st := pthv.State{}
	for _, k := range roster.Kinds {
		st[k] = map[string]pthv.Current{}
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("snapshot line has %d fields", len(f))
		}
		m, ok := st[roster.Kind(f[0])]
		if !ok {
			return nil, fmt.Errorf("snapshot names unknown kind %q", f[0])
		}
		m[f[1]] = pthv.Current{Hash: f[2], Active: f[3] == "1", Role: f[4], User: f[5]}
	}
	return st, sc.Err()
}

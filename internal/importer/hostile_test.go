package importer

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
)

// MemoryPerHostileRecord is the strict per-record term of the bound (README, "Bounded work"):
// whatever its values, planning an export of R records against a roster of C records holds at
// most MemoryBase + MemoryPerHostileRecord × (R + C) bytes of heap, because every kept value
// is capped (value.too_long) and the reader keeps nothing of a row once it is checked.
const MemoryPerHostileRecord = 32 << 10

// hostileUnkept is the length of the values put in columns that are not kept: near the 64 KiB
// field limit, which is all that bounds them.
const hostileUnkept = 60 << 10

// hostile rewrites a generated export so that every kept value is at its cap, written with
// '<' (6 bytes in JSON, as \u003c) where the column is free text; lists of sourcedIds repeat
// their ids up to 4 KiB; the columns that are not kept hold 60 KiB in every fourth row; and every seventh user has a
// 60 KiB givenName, over its cap, which must reject the row.
func hostile(t *testing.T, data []byte) []byte {
	t.Helper()
	return editZipFiles(t, data, func(name string) bool { return name != "manifest.csv" }, func(name string, rows [][]string) {
		for n, row := range rows[1:] {
			for i, col := range rows[0] {
				row[i] = hostileValue(name, col, row[i], n)
			}
		}
	})
}

func hostileValue(file, col, v string, n int) string {
	switch {
	case file == "users.csv" && col == "givenName" && n%7 == 3:
		return strings.Repeat("<", hostileUnkept) // over its cap: value.too_long
	case (col == "username" || col == "password" || col == "middleName" || col == "location" || col == "subjects") && n%4 == 0:
		return strings.Repeat("<", hostileUnkept)
	case col == "classType" || (file == "enrollments.csv" && col == "role"):
		return "ext:" + strings.Repeat("x", orcsv.CapCode-4)
	case col == "termSourcedIds" || col == "agentSourcedIds" || col == "orgSourcedIds":
		if v == "" {
			return v
		}
		var b strings.Builder
		b.WriteString(v)
		for b.Len()+1+len(v) <= orcsv.CapRefList {
			b.WriteString("," + v)
		}
		return b.String()
	case col == "type" || col == "role" || col == "roleType" || strings.HasSuffix(col, "SourcedId") || col == "sourcedId":
		return v // kept as they are: references, and the vocabulary the references need
	}
	if c := orcsv.ValueCap(col); c > 0 {
		return strings.Repeat("<", c)
	}
	return v
}

// measuring is the reader's Sink around a planner: it fails the read as soon as a record is
// passed on whose JSON is over the per-record bound (so a broken cap fails fast instead of
// filling the machine), and keeps the largest.
type measuring struct {
	*Planner
	largest, records int
}

func (m *measuring) Record(rec roster.Record) error {
	kind := rec.RecordKind()
	n := len(m.ops.(*memOps).ops[kind])
	if err := m.Planner.Record(rec); err != nil {
		return err
	}
	m.records++
	for _, op := range m.ops.(*memOps).ops[kind][n:] {
		m.largest = max(m.largest, len(op.Data))
		if len(op.Data) > MemoryPerHostileRecord {
			return fmt.Errorf("a kept %s record of %d bytes, over the %d a record the bound allows", kind, len(op.Data), MemoryPerHostileRecord)
		}
	}
	return nil
}

// sampleHeap samples HeapInuse every 2 ms until stop is called, which returns the peak over
// the heap in use when sampling began.
func sampleHeap() (stop func() int64) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapInuse)
			mu.Unlock()
		}
	}()
	return func() int64 {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		return int64(peak) - int64(base.HeapInuse)
	}
}

// TestTheMemoryBoundHoldsForHostileLongFields: an export whose every kept value is at its cap
// (written to escape long in JSON), with 60 KiB in every column that is not kept and rows over
// the caps, is planned within MemoryBase + MemoryPerHostileRecord × records, and no record
// passed on is larger than the per-record term. With value.too_long switched off, the first
// 60 KiB givenName makes a user record of 386,724 bytes and the test fails.
func TestTheMemoryBoundHoldsForHostileLongFields(t *testing.T) {
	data := hostile(t, genZip(t, rostergen.Options{Students: 600, Seed: 72}))
	stop := sampleHeap()
	sink := &measuring{Planner: NewPlanner(nil)}
	rep, err := orcsv.Read(context.Background(), orcsv.OpenZip(bytes.NewReader(data), int64(len(data)), "x.zip", orcsv.Limits{MaxRatio: 1 << 30}), sink, orcsv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fatal() {
		t.Fatalf("the export is refused whole: %v", rep.Findings[:min(5, len(rep.Findings))])
	}
	plan := sink.FinishWith(nil)
	used := stop()
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	runtime.KeepAlive(plan)
	rows := 0
	for _, s := range rep.Summary {
		rows += s.Rows
	}
	bound := int64(MemoryBase + MemoryPerHostileRecord*rows)
	t.Logf("%d rows (%d records kept, %d ops, %d rows over a cap), %.1f MB read: peak heap %.1f MiB over the start (%.1f MiB live with the plan), bound %.1f MiB; largest record %d bytes",
		rows, sink.records, len(plan.Ops), rep.Count("users.csv", orcsv.CodeValueTooLong), float64(uncompressed(t, data))/1e6,
		float64(used)/(1<<20), float64(live.HeapAlloc)/(1<<20), float64(bound)/(1<<20), sink.largest)
	if rep.Count("users.csv", orcsv.CodeValueTooLong) == 0 {
		t.Error("no row over a cap was rejected")
	}
	if sink.largest < 8<<10 {
		t.Errorf("the largest record is %d bytes: the values are not at their caps", sink.largest)
	}
	if used > bound {
		t.Errorf("planning %d rows took %d bytes of heap, over the bound of %d", rows, used, bound)
	}
}

func uncompressed(t *testing.T, data []byte) int64 {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range zr.File {
		rc, _ := f.Open()
		m, _ := io.Copy(io.Discard, rc)
		rc.Close()
		n += m
	}
	return n
}

package importer

import (
	"bytes"
	"context"
	"testing"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
)

// MemoryPerRecord and MemoryBase make the documented bound of one import's memory (README,
// "Bounded work"): planning an export of R records against a roster of C records holds at
// most MemoryBase + MemoryPerRecord × (R + C) bytes of heap.
const (
	MemoryBase      = 64 << 20
	MemoryPerRecord = 4 << 10
)

// SpillMemoryPerRecord bounds what a spilling planner holds a record it reads (the reader's
// own tables and what the safety hold reads), beyond MemoryBase.
const SpillMemoryPerRecord = 512

// testPlanner is a planner against cur: spilling to a temp dir, or in memory.
func testPlanner(t *testing.T, cur pthv.State, spill bool) *Planner {
	t.Helper()
	if !spill {
		return NewPlanner(cur)
	}
	p, err := NewSpillingPlanner(cur, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// planZip plans data against an empty roster.
func planZip(t *testing.T, data []byte, spill bool) Plan {
	p := testPlanner(t, nil, spill)
	rep, err := orcsv.Read(context.Background(), orcsv.OpenZip(bytes.NewReader(data), int64(len(data)), "x.zip", orcsv.Limits{}), p, orcsv.Options{})
	if err != nil || rep.Fatal() {
		t.Fatal(err)
	}
	plan := p.FinishWith(nil)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestOneImportsMemoryIsBoundedByItsRecords(t *testing.T) {
	for _, students := range []int{1000, 4000} {
		data := genZip(t, rostergen.Options{Students: students, Seed: 71})
		stop := sampleHeap()
		plan := planZip(t, data, false)
		used := stop()
		records := int64(plan.Len())
		bound := int64(MemoryBase + MemoryPerRecord*records)
		t.Logf("%d students, %d records: peak heap %.1f MiB over the start, bound %.1f MiB (%.0f bytes a record)",
			students, records, float64(used)/(1<<20), float64(bound)/(1<<20), float64(used)/float64(records))
		if used > bound {
			t.Errorf("planning %d records took %d bytes, over the bound of %d", records, used, bound)
		}
	}
}

// A spilling planner keeps its planned writes on disk: planning a first import holds a few
// hundred bytes a record, where the in-memory planner holds every record's JSON.
func TestTheSpillingPlannersMemoryIsBoundedByItsRecords(t *testing.T) {
	for _, students := range []int{2000, 8000} {
		data := genZip(t, rostergen.Options{Students: students, Seed: 71})
		stop := sampleHeap()
		plan := planZip(t, data, true)
		// Reading the plan back (to save it, to write the snapshot) holds one op at a time.
		n := 0
		if err := plan.Each(func(*pthv.Op) error { n++; return nil }); err != nil || n != plan.Len() {
			t.Fatalf("read back %d of %d ops: %v", n, plan.Len(), err)
		}
		used := stop()
		plan.Close()
		stop = sampleHeap()
		inMemory := planZip(t, data, false)
		usedInMemory := stop()
		records := int64(plan.Len())
		bound := int64(MemoryBase + SpillMemoryPerRecord*records)
		t.Logf("%d students, %d records: spilling peak heap %.1f MiB (%.0f bytes a record; bound %.1f MiB), in memory %.1f MiB (%.0f bytes a record)",
			students, records, float64(used)/(1<<20), float64(used)/float64(records), float64(bound)/(1<<20),
			float64(usedInMemory)/(1<<20), float64(usedInMemory)/float64(records))
		if used > bound {
			t.Errorf("spilling planner: %d records took %d bytes, over the bound of %d", records, used, bound)
		}
		if len(inMemory.Ops) != plan.Len() {
			t.Errorf("in memory %d ops, spilled %d", len(inMemory.Ops), plan.Len())
		}
	}
}

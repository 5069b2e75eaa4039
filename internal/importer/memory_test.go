package importer

import (
	"bytes"
	"context"
	"testing"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/rostergen"
)

// MemoryPerRecord and MemoryBase make the documented bound of one import's memory (README,
// "Bounded work"): planning an export of R records against a roster of C records holds at
// most MemoryBase + MemoryPerRecord × (R + C) bytes of heap.
const (
	MemoryBase      = 64 << 20
	MemoryPerRecord = 4 << 10
)

func TestOneImportsMemoryIsBoundedByItsRecords(t *testing.T) {
	for _, students := range []int{1000, 4000} {
		data := genZip(t, rostergen.Options{Students: students, Seed: 71})
		stop := sampleHeap()
		planner := NewPlanner(nil)
		rep, err := orcsv.Read(context.Background(), orcsv.OpenZip(bytes.NewReader(data), int64(len(data)), "x.zip", orcsv.Limits{}), planner, orcsv.Options{})
		if err != nil || rep.Fatal() {
			t.Fatal(err)
		}
		plan := planner.FinishWith(nil)
		used := stop()
		records := int64(len(plan.Ops))
		bound := int64(MemoryBase + MemoryPerRecord*records)
		t.Logf("%d students, %d records: peak heap %.1f MiB over the start, bound %.1f MiB (%.0f bytes a record)",
			students, records, float64(used)/(1<<20), float64(bound)/(1<<20), float64(used)/float64(records))
		if used > bound {
			t.Errorf("planning %d records took %d bytes, over the bound of %d", records, used, bound)
		}
	}
}

package integration

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	orcsv "github.com/pthv/reach/connectors/oneroster/csv"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store"
)

// crashStudents is the size of the district the crash test imports: big enough that planning
// and applying take seconds on moto, small enough for moto's whole-table queries.
const crashStudents = 2000

// The probe of issue 12, as a test: the ingest bootstrap is killed (SIGKILL, by PID) while
// planning and while applying; each time the import is taken over — by the redelivered
// event, by a later drop of the district, by the schedule's sweep — and in the end every
// record in the table is compared with the last export.
func TestAKilledIngestNeverStrandsAnImport(t *testing.T) {
	e := newEnv(t, map[string]string{"IMPORT_LEASE": "20s", "IMPORT_CHUNK_OPS": "500"})
	ctx := context.Background()
	a, _ := gen(t, rostergen.Options{Students: crashStudents, Seed: 31})
	b, _ := gen(t, rostergen.Options{Students: crashStudents, Seed: 31, Remove: 0.08})

	// 1. Killed while planning; the redelivered event takes the import over after its lease.
	objA := e.put("drops/d1/rosters/a.zip", a)
	impA := e.killWhen(objA, func(imp *pthv.Import) bool { return imp.Status == pthv.StatusPlanning })
	if impA.Status != pthv.StatusPlanning {
		t.Fatalf("killed while planning, the import is %s", impA.Status)
	}
	time.Sleep(21 * time.Second)
	e.redeliver(objA)

	// 2. Killed while applying that second run; a later drop of the district takes it over.
	impA = e.killWhen(objA, func(imp *pthv.Import) bool {
		return imp.Status == pthv.StatusApplying && imp.Cursor >= 500 && imp.Runs == 2
	})
	if impA.Status != pthv.StatusApplying || impA.Cursor >= impA.Ops {
		t.Fatalf("killed while applying, the import is %s at %d of %d", impA.Status, impA.Cursor, impA.Ops)
	}
	time.Sleep(21 * time.Second)
	objB := e.put("drops/d1/rosters/b.zip", b)

	// 3. Killed while applying b; a drop made meanwhile is recorded as queued, and the sweep
	// takes both over.
	impB := e.killWhen(objB, func(imp *pthv.Import) bool { return imp.Status == pthv.StatusApplying && imp.Cursor >= 500 })
	if impB.Status != pthv.StatusApplying || impB.Cursor >= impB.Ops {
		t.Fatalf("killed while applying b, the import is %s at %d of %d", impB.Status, impB.Cursor, impB.Ops)
	}
	objC := e.put("drops/d1/rosters/c.zip", b)
	if !waitFor(60*time.Second, func() bool {
		imp, err := e.store.GetImport(ctx, "d1", e.importID(objC))
		return err == nil && imp.Status == pthv.StatusQueued
	}) {
		t.Fatalf("the drop made while b was stranded was not recorded as queued; logs:\n%s", tail(e.logs.String(), 3000))
	}
	time.Sleep(21 * time.Second)
	e.send(`{"pthv":"sweep"}`)

	doneA, doneB, doneC := e.await(objA), e.await(objB), e.await(objC)
	for _, imp := range []*pthv.Import{doneA, doneB, doneC} {
		if imp.Status != pthv.StatusApplied {
			t.Fatalf("%s: %s (%s)", imp.Source.Key, imp.Status, imp.Reason)
		}
	}
	if doneA.Runs < 3 || doneB.Runs < 2 || doneC.Ops != 0 {
		t.Errorf("runs: a %d (want ≥ 3), b %d (want ≥ 2); c wrote %d ops (want 0)", doneA.Runs, doneB.Runs, doneC.Ops)
	}
	for _, want := range []string{`"decision":"takeover"`, `"decision":"deferred"`, `"decision":"sweep"`} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("no %s in the logs", want)
		}
	}
	compared, differ := e.compareWithExport(b)
	t.Logf("compared %d records with the export: %d differ", compared, differ)
	if differ != 0 || compared < crashStudents {
		t.Fatalf("%d of %d records differ from the export", differ, compared)
	}
}

// killWhen waits until obj's import satisfies cond, then SIGKILLs every ingest process and
// returns the import as the kill left it.
func (e *env) killWhen(obj pthv.Object, cond func(*pthv.Import) bool) *pthv.Import {
	e.t.Helper()
	ctx := context.Background()
	id := e.importID(obj)
	deadline := time.Now().Add(300 * time.Second)
	for time.Now().Before(deadline) {
		imp, err := e.store.GetImport(ctx, "d1", id)
		if err == nil && cond(imp) {
			pids := e.stack.Host.PIDs(e.stack.Names.Function("ingest"))
			if len(pids) == 0 {
				e.t.Fatal("no ingest process to kill")
			}
			for _, pid := range pids {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					e.t.Fatal(err)
				}
			}
			time.Sleep(500 * time.Millisecond)
			after, err := e.store.GetImport(ctx, "d1", id)
			if err != nil {
				e.t.Fatal(err)
			}
			e.t.Logf("killed ingest %v: %s is %s, cursor %d of %d, run %d", pids, obj.Key, after.Status, after.Cursor, after.Ops, after.Runs)
			return after
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("the import of %s never reached the stage to kill; logs:\n%s", obj.Key, tail(e.logs.String(), 20000))
	return nil
}

// importID is the id of obj's import, from its upload time as S3 reports it.
func (e *env) importID(obj pthv.Object) string {
	e.t.Helper()
	st, err := (&blob.S3{Client: e.s3}).Stat(context.Background(), obj)
	if err != nil {
		e.t.Fatal(err)
	}
	return importer.ImportID(st)
}

// send puts a message on the ingest queue.
func (e *env) send(body string) {
	e.t.Helper()
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(e.stack.Provisioned.QueueURLs[e.stack.Names.IngestQueue]), MessageBody: &body}); err != nil {
		e.t.Fatal(err)
	}
}

// redeliver sends obj's S3 notification again, as SQS does once a message's visibility
// timeout ends after a crash.
func (e *env) redeliver(obj pthv.Object) {
	e.send(fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"versionId":%q}}}]}`,
		obj.Bucket, strings.ReplaceAll(obj.Key, "/", "%2F"), obj.VersionID))
}

// compareWithExport compares every roster record of d1 in the table with the export: each
// record of the export is active with the export's content hash, every other is inactive.
// It returns how many records it compared and how many differ.
func (e *env) compareWithExport(export []byte) (compared, differ int) {
	e.t.Helper()
	planner := importer.NewPlanner(nil)
	rep, err := orcsv.Read(context.Background(), orcsv.OpenZip(bytes.NewReader(export), int64(len(export)), "export.zip", orcsv.Limits{}), planner, orcsv.Options{})
	if err != nil || rep.Fatal() {
		e.t.Fatalf("reading the export: %v", err)
	}
	want := map[string]string{} // kind code/id → hash
	code := map[roster.Kind]string{}
	for _, k := range roster.Kinds {
		pk := store.RecordPK("d1", k, 0)
		code[k] = strings.Split(pk, "#")[2]
	}
	for _, op := range planner.FinishWith(nil).Ops {
		want[code[op.Kind]+"/"+op.ID] = op.Hash
	}
	got := map[string]string{} // kind code/id → hash, or "" when inactive
	p := dynamodb.NewScanPaginator(e.store.DB.(*dynamodb.Client), &dynamodb.ScanInput{TableName: &e.stack.Names.Table,
		FilterExpression:          aws.String("begins_with(pk, :p)"),
		ProjectionExpression:      aws.String("pk, sk, h, a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "R#d1#"}}})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			pk := it["pk"].(*types.AttributeValueMemberS).Value
			sk := it["sk"].(*types.AttributeValueMemberS).Value
			h := ""
			if a, ok := it["a"].(*types.AttributeValueMemberBOOL); ok && a.Value {
				h = it["h"].(*types.AttributeValueMemberS).Value
			}
			got[strings.Split(pk, "#")[2]+"/"+sk] = h
		}
	}
	for k, h := range want {
		compared++
		if got[k] != h {
			differ++
			e.t.Logf("%s: table %q, export %q", k, got[k], h)
		}
	}
	for k, h := range got {
		if _, ok := want[k]; !ok {
			compared++
			if h != "" {
				differ++
				e.t.Logf("%s: active in the table, not in the export", k)
			}
		}
	}
	return compared, differ
}

// Two different exports put in the same second on the local stack (S3 reports upload times
// to the second): one is applied, the other held with the reason, whichever event comes first.
func TestTwoExportsPutInTheSameSecondAreNotOrderedByGuess(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	older, _ := gen(t, rostergen.Options{Students: 60, Seed: 61})
	newer, _ := gen(t, rostergen.Options{Students: 60, Seed: 61, Remove: 0.05})
	var a, b pthv.Object
	for try := 0; ; try++ {
		// Put both as soon as a second begins, so that they share it.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		a = e.put(fmt.Sprintf("drops/d1/rosters/monday-%d.zip", try), older)
		b = e.put(fmt.Sprintf("drops/d1/rosters/tuesday-%d.zip", try), newer)
		sa, _ := (&blob.S3{Client: e.s3}).Stat(ctx, a)
		sb, _ := (&blob.S3{Client: e.s3}).Stat(ctx, b)
		if sa.UploadedAt.Equal(sb.UploadedAt) {
			break
		}
		if try == 4 {
			t.Skip("could not put two objects in one second")
		}
		e.await(a)
		e.await(b)
	}
	ia, ib := e.await(a), e.await(b)
	st := []pthv.Status{ia.Status, ib.Status}
	if !(st[0] == pthv.StatusApplied && st[1] == pthv.StatusHeld || st[0] == pthv.StatusHeld && st[1] == pthv.StatusApplied) {
		t.Fatalf("statuses %v, want one applied and one held", st)
	}
	held := ia
	if ib.Status == pthv.StatusHeld {
		held = ib
	}
	if !strings.Contains(held.Reason, "same second") {
		t.Errorf("held for %q", held.Reason)
	}
}

package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/queue"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/secrets"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/standin/clever"
)

// TestCleverSyncOnTheLocalStack runs a clever connection through the real sync and ingest
// bootstraps under the Lambda host against moto (DynamoDB, S3, SQS, Secrets Manager) and the
// Clever stand-in over HTTP: the first run is held, approved and applied; an unchanged re-run
// writes nothing; a revoked token fails the run with the revoked/unshared message, is not
// retried and deactivates nothing. End to end, none of the stand-in's demographic values
// (clever.Sentinel) and not the token reach a DynamoDB item, an S3 object of the reports
// bucket (staged pages, package, reports) or the functions' logs.
func TestCleverSyncOnTheLocalStack(t *testing.T) {
	e := newEnv(t, map[string]string{"IMPORT_MAX_RUN": "400ms"})
	ctx := context.Background()
	const token = "it-clever-token-Hq72"
	srv, data, runSync := cleverConnection(t, e, token, 30, false)
	names := e.stack.Names

	first := runSync("run-clever-first")
	if first.Status != sis.RunHeld || !strings.Contains(first.Reason, "first run") || first.Mode != "full" {
		t.Fatalf("first run %s (%s), mode %s", first.Status, first.Reason, first.Mode)
	}
	for _, c := range first.Collections {
		if !c.Complete {
			t.Errorf("%s: %s", c.Name, c.Verdict)
		}
	}
	if first.Counts["user"].Added < data.Students || first.Counts["enrollment"].Added == 0 {
		t.Errorf("held diff: %+v (the stand-in serves %d students)", first.Counts, data.Students)
	}
	svc := &importer.Service{Store: e.store, Blobs: &blob.S3{Client: e.s3}, ReportsBucket: e.stack.Names.ReportsBucket, Queue: &queue.SQS{Client: e.sqs, QueueURL: e.stack.Provisioned.QueueURLs[names.IngestQueue]}}
	if err := svc.Approve(ctx, "d1", first.ImportID); err != nil {
		t.Fatal(err)
	}
	applied := e.awaitStatus(first.ImportID, pthv.StatusApplied)
	if applied.Counts["user"].Added != first.Counts["user"].Added {
		t.Errorf("applied %d users, the held diff said %d", applied.Counts["user"].Added, first.Counts["user"].Added)
	}

	second := runSync("run-clever-second")
	if second.Status != sis.RunApplied {
		t.Fatalf("second run %s (%s)", second.Status, second.Reason)
	}
	imp, err := e.store.GetImport(ctx, "d1", second.ImportID)
	if err != nil {
		t.Fatal(err)
	}
	if w := imp.Writes.Items + imp.Writes.Updates; w != 0 || imp.Ops != 0 {
		t.Errorf("an unchanged re-run wrote %d items (%d ops)", w, imp.Ops)
	}

	srv.SetFaults(clever.Faults{Revoked: true, RevokeAfter: 2})
	third := runSync("run-clever-revoked")
	if third.Status != sis.RunFailed || !strings.Contains(third.Reason, "revoked or the district unshared the app") || third.ImportID != "" {
		t.Fatalf("revoked run %s (%s), import %q", third.Status, third.Reason, third.ImportID)
	}
	if third.Invocations != 1 {
		t.Errorf("the revoked run took %d invocations; a 401 is not retried", third.Invocations)
	}
	if n, _ := srv.Requests(); n > 3 {
		t.Errorf("%d requests after a 401 (revoked after 2): the client retried", n)
	}
	logs := e.logs.String()
	// The sync module's alarm counts lines whose decision is failed (infra/modules/sis).
	if !strings.Contains(logs, `"decision":"failed"`) || !strings.Contains(logs, "unshared the app") {
		t.Errorf("the revoked run left no failed decision for the alarm")
	}
	runs, _ := e.store.Runs(ctx, "d1", "clever", 10)
	if len(runs) != 3 {
		t.Errorf("%d runs, want 3", len(runs))
	}

	// No demographic value, and not the token, anywhere.
	items, err := e.store.DB.(*dynamodb.Client).Scan(ctx, &dynamodb.ScanInput{TableName: &names.Table})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		b, _ := json.Marshal(it)
		if bytes.Contains(b, []byte(clever.Sentinel)) || bytes.Contains(b, []byte(token)) {
			t.Fatalf("a demographic value or the token is in a DynamoDB item: %.300s", b)
		}
	}
	pages := 0
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: &names.ReportsBucket})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &names.ReportsBucket, Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if strings.HasSuffix(*o.Key, ".gz") {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				b, _ = io.ReadAll(zr)
				if strings.Contains(*o.Key, "/pages/") {
					pages++
				}
			}
			if bytes.Contains(b, []byte(clever.Sentinel)) || bytes.Contains(b, []byte(token)) {
				t.Fatalf("a demographic value or the token is in s3://%s/%s", names.ReportsBucket, *o.Key)
			}
		}
	}
	if pages == 0 {
		t.Fatal("no staged page was checked")
	}
	if strings.Contains(logs, clever.Sentinel) || strings.Contains(logs, token) {
		t.Fatal("a demographic value or the token is in the functions' logs")
	}
}

// cleverConnection serves a fresh Clever stand-in over HTTP and registers a clever connection
// of district d1 to it (events on or off), its token in Secrets Manager; runSync invokes the
// sync function with a run id and waits for the run to finish.
func cleverConnection(t *testing.T, e *env, token string, students int, events bool) (*clever.Server, *clever.Data, func(id string) *sis.Run) {
	t.Helper()
	ctx := context.Background()
	data, err := clever.Generate(rostergen.Options{Students: students, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	srv := clever.NewServer(data, token)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := devstack.AWSConfig(e.stack.Endpoint)
	names := e.stack.Names
	conn := &sis.Connection{District: "d1", ID: "clever", Provider: sis.ProviderClever, BaseURL: hs.URL + srv.Prefix,
		PageSize: 15, SecretID: names.SyncSecret("d1", "clever"), Events: events}
	conn.Defaults()
	if err := conn.Validate(); err != nil {
		t.Fatal(err)
	}
	sm := &secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}
	if err := sm.Put(ctx, conn.SecretID, token, "integration"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(e.stack.Host.URL()) })
	runSync := func(id string) *sis.Run {
		t.Helper()
		b, _ := json.Marshal(sissync.Request{District: "d1", Connection: "clever", Run: id, Trigger: "cli"})
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(names.Function("sync")), InvocationType: lambdatypes.InvocationTypeEvent, Payload: b}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			if r, err := e.store.Run(ctx, "d1", "clever", id); err == nil && r.Status != sis.RunPulling && r.Status != sis.RunImporting {
				return r
			}
		}
		t.Fatalf("run %s never finished; logs:\n%s", id, tail(e.logs.String(), 6000))
		return nil
	}
	return srv, data, runSync
}

// TestCleverEventsOnTheLocalStack runs a clever connection with events on through the real
// sync and ingest bootstraps under the Lambda host, against moto and the Clever stand-in over
// HTTP: the first run (a full pull that reads the newest event id) is held and approved; a
// night with events is an events run that imports exactly the evented records (the created
// student added, the renamed one changed, the deleted one deactivated with their roles and
// enrollments, the guardians who lost the link changed, nothing else written); the second
// night has no events and writes 0.
func TestCleverEventsOnTheLocalStack(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	srv, _, runSync := cleverConnection(t, e, "it-clever-events-token", 30, true)
	first := runSync("run-events-first")
	if first.Status != sis.RunHeld || first.Mode != "full" || first.EventsAt.IsZero() {
		t.Fatalf("first run %s %s (%s), event id read at %v", first.Status, first.Mode, first.ModeReason, first.EventsAt)
	}
	svc := &importer.Service{Store: e.store, Blobs: &blob.S3{Client: e.s3}, ReportsBucket: e.stack.Names.ReportsBucket, Queue: &queue.SQS{Client: e.sqs, QueueURL: e.stack.Provisioned.QueueURLs[e.stack.Names.IngestQueue]}}
	if err := svc.Approve(ctx, "d1", first.ImportID); err != nil {
		t.Fatal(err)
	}
	e.awaitStatus(first.ImportID, pthv.StatusApplied)

	// The change removes the lowest-id student: their guardians lose a link.
	removed := srv.IDs("users:student")[0]
	guardians := 0
	for _, id := range srv.IDs("users:contact") {
		if bytes.Contains(srv.Object("users", id), []byte(`"`+removed+`"`)) {
			guardians++
		}
	}
	ch := srv.Change()
	if ch.Removed != removed || guardians == 0 {
		t.Fatalf("the change removed %s (want %s), who has %d guardians", ch.Removed, removed, guardians)
	}
	night := runSync("run-events-night-1")
	if night.Mode != "events" || night.Status != sis.RunApplied || night.Snapshot != first.ID {
		t.Fatalf("events night %s %s (%s: %s), snapshot %q", night.Mode, night.Status, night.ModeReason, night.Reason, night.Snapshot)
	}
	if night.Events == nil || night.Events.ByType["users.created"] != 1 || night.Events.ByType["users.deleted"] != 1 || night.Events.ByType["users.updated"] != 1 {
		t.Fatalf("events applied: %+v", night.Events)
	}
	u := night.Counts["user"]
	if u.Added != 1 || u.Deactivated != 1 || u.Changed != 1+guardians || u.Revived != 0 {
		t.Errorf("user counts %+v: want %s added, %s deactivated, %s and the removed student's guardians changed", u, ch.Added, ch.Removed, ch.Renamed)
	}
	imp, err := e.store.GetImport(ctx, "d1", night.ImportID)
	if err != nil {
		t.Fatal(err)
	}
	evented := 0
	for _, c := range night.Counts {
		evented += c.Added + c.Changed + c.Revived + c.Deactivated
	}
	if w := imp.Writes.Items + imp.Writes.Updates; w == 0 || imp.Ops != evented {
		t.Errorf("the events night wrote %d items in %d ops; the evented records are %d (%+v)", w, imp.Ops, evented, night.Counts)
	}
	for k, c := range night.Counts {
		if k != "user" && k != "role" && k != "enrollment" && c.Added+c.Changed+c.Revived+c.Deactivated != 0 {
			t.Errorf("%s: %+v changed, though no event touched one", k, c)
		}
	}

	second := runSync("run-events-night-2")
	if second.Mode != "events" || second.Status != sis.RunApplied || second.Events.Events != 0 {
		t.Fatalf("second night %s %s (%s), events %+v", second.Mode, second.Status, second.ModeReason, second.Events)
	}
	imp2, err := e.store.GetImport(ctx, "d1", second.ImportID)
	if err != nil {
		t.Fatal(err)
	}
	if w := imp2.Writes.Items + imp2.Writes.Updates; w != 0 || imp2.Ops != 0 {
		t.Errorf("a night without events wrote %d items (%d ops)", w, imp2.Ops)
	}
}

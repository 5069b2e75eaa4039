package integration

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	"github.com/pthv/reach/internal/standin/oneroster"
)

// TestNightlySyncOnTheLocalStack runs the real sync and ingest bootstraps under the Lambda
// host against moto (DynamoDB, S3, SQS, Secrets Manager) and the OneRoster stand-in over
// HTTP: a scheduled first run delivered twice (one run, held), its approval, an unchanged
// second run that writes nothing, and a run with a scope gap that is held. Each run
// outlasts its invocation and continues in the next: the budget (IMPORT_MAX_RUN) is always
// spent, so every invocation pulls one page, or applies one chunk, and checkpoints.
func TestNightlySyncOnTheLocalStack(t *testing.T) {
	e := newEnv(t, map[string]string{"IMPORT_MAX_RUN": "1ms", "IMPORT_CHUNK_OPS": "50"})
	ctx := context.Background()
	const secret = "it-secret-Zq81"
	d, err := oneroster.Generate(rostergen.Options{Students: 60, Seed: 5}, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	srv := oneroster.New(d, oneroster.Config{Prefix: "/aeries", ClientID: "it-client", ClientSecret: secret, RequireScope: true})
	hs := httptest.NewServer(srv)
	defer hs.Close()

	cfg := devstack.AWSConfig(e.stack.Endpoint)
	names := e.stack.Names
	conn := &sis.Connection{District: "d1", Provider: sis.ProviderOneRoster12, BaseURL: hs.URL + srv.BasePath(),
		TokenURL: hs.URL + srv.TokenPath(), ClientID: "it-client", PageSize: 40, RatePerMinute: 6000, SecretID: names.SyncSecret("d1", "sis")}
	conn.Defaults()
	if err := conn.Validate(); err != nil {
		t.Fatal(err)
	}
	sm := &secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}
	if err := sm.Put(ctx, conn.SecretID, secret, "integration"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(e.stack.Host.URL()) })
	invoke := func(req any) {
		t.Helper()
		b, _ := json.Marshal(req)
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(names.Function("sync")), InvocationType: lambdatypes.InvocationTypeEvent, Payload: b}); err != nil {
			t.Fatal(err)
		}
	}
	await := func(id string) *sis.Run {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for time.Now().Before(deadline) {
			if r, err := e.store.Run(ctx, "d1", "sis", id); err == nil && r.Status != sis.RunPulling && r.Status != sis.RunImporting {
				return r
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Fatalf("run %s never finished; logs:\n%s", id, tail(e.logs.String(), 6000))
		return nil
	}

	// EventBridge Scheduler delivers at least once: the same scheduled time twice is one run.
	sched := map[string]string{"districtId": "d1", "connectionId": "sis", "scheduledTime": "2026-12-02T10:30:00Z"}
	invoke(sched)
	invoke(sched)
	first := await("run-20261202T103000.000Z-sched")
	if first.Status != sis.RunHeld || !strings.Contains(first.Reason, "first run") {
		t.Fatalf("first run %s (%s)", first.Status, first.Reason)
	}
	if first.Invocations < 2 {
		t.Errorf("the first run took %d invocation(s); it should have continued across several", first.Invocations)
	}
	if runs, _ := e.store.Runs(ctx, "d1", "sis", 10); len(runs) != 1 {
		t.Fatalf("%d runs for one scheduled time", len(runs))
	}
	if st := srv.Stats(); st.FirstPages["users"] != 1 {
		t.Errorf("users' first page asked %d times", st.FirstPages["users"])
	}

	svc := &importer.Service{Store: e.store, Blobs: &blob.S3{Client: e.s3}, ReportsBucket: e.stack.Names.ReportsBucket, Queue: &queue.SQS{Client: e.sqs, QueueURL: e.stack.Provisioned.QueueURLs[names.IngestQueue]}}
	if err := svc.Approve(ctx, "d1", first.ImportID); err != nil {
		t.Fatal(err)
	}
	e.awaitStatus(first.ImportID, pthv.StatusApplied)

	invoke(sissync.Request{District: "d1", Connection: "sis", Run: "run-it-second", Trigger: "cli"})
	second := await("run-it-second")
	if second.Status != sis.RunApplied || second.Mode != "delta" {
		t.Fatalf("second run %s (%s), %s", second.Status, second.Reason, second.Mode)
	}
	imp, err := e.store.GetImport(ctx, "d1", second.ImportID)
	if err != nil {
		t.Fatal(err)
	}
	if w := imp.Writes.Items + imp.Writes.Updates; w != 0 {
		t.Errorf("an unchanged second run wrote %d items", w)
	}

	// A change and a soft delete at the source: the delta applies them; the apply checkpoints
	// (IMPORT_CHUNK_OPS) and the ingest function finishes it from its queue.
	at := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	users := d.IDs("users")
	var student string
	for _, id := range users {
		if strings.HasPrefix(id, "stu-") {
			student = id
			break
		}
	}
	if err := d.Update("users", users[len(users)-1], "familyName", "Changed", at); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkDeleted("users", student, at); err != nil {
		t.Fatal(err)
	}
	for _, id := range d.IDs("enrollments")[:60] { // more than a chunk: the apply checkpoints
		if err := d.MarkDeleted("enrollments", id, at); err != nil {
			t.Fatal(err)
		}
	}
	invoke(sissync.Request{District: "d1", Connection: "sis", Run: "run-it-third", Trigger: "cli"})
	var third *sis.Run
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if r, err := e.store.Run(ctx, "d1", "sis", "run-it-third"); err == nil && r.ImportID != "" {
			third = r
			break
		}
	}
	if third == nil {
		t.Fatalf("the third run produced no import; logs:\n%s", tail(e.logs.String(), 6000))
	}
	applied := e.awaitStatus(third.ImportID, pthv.StatusApplied)
	if c := applied.Counts["user"]; c.Changed != 1 || c.Deactivated != 1 {
		t.Errorf("delta: users %+v, want 1 changed and 1 deactivated", c)
	}
	if c := applied.Counts["enrollment"]; c.Deactivated != 60 {
		t.Errorf("delta: enrollments %+v, want 60 deactivated", c)
	}
	if applied.Runs < 2 {
		t.Errorf("the delta's apply took %d run(s); it should have continued in the ingest function", applied.Runs)
	}

	srv.SetFaults(oneroster.Faults{Forbidden: []string{"enrollments"}, RateLimitEvery: 5, RetryAfter: "1"})
	invoke(sissync.Request{District: "d1", Connection: "sis", Run: "run-it-fault", Full: true, Trigger: "cli"})
	fault := await("run-it-fault")
	if fault.Status != sis.RunHeld || !strings.Contains(fault.Reason, "enrollments is incomplete") || fault.Retries == 0 {
		t.Fatalf("fault run %s (%s), %d retries", fault.Status, fault.Reason, fault.Retries)
	}
	if c := fault.Counts["enrollment"]; c.Deactivated != 0 {
		t.Errorf("%d enrollments deactivated by an incomplete pull", c.Deactivated)
	}
	// The run report is next to the staged pages.
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &names.ReportsBucket, Key: aws.String(sissync.RunKey("d1", "sis", fault.ID, "run.json"))}); err != nil {
		t.Errorf("no run report: %v", err)
	}
	// The fault is gone the next night: a small delta applies within the sync function, which
	// asks the reach function to recompute what it changed.
	srv.SetFaults(oneroster.Faults{})
	if err := d.Update("users", users[len(users)-2], "givenName", "Renamed", at.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	invoke(sissync.Request{District: "d1", Connection: "sis", Run: "run-it-fifth", Trigger: "cli"})
	fifth := await("run-it-fifth")
	if fifth.Status != sis.RunApplied || fifth.Counts["user"].Changed != 1 {
		t.Fatalf("fifth run %s (%s), users %+v", fifth.Status, fifth.Reason, fifth.Counts["user"])
	}
	logs := e.logs.String()
	if strings.Contains(logs, secret) {
		t.Fatal("the client secret is in the logs")
	}
	if strings.Contains(logs, "Bearer ") || strings.Contains(logs, "access_token") {
		t.Error("a token is in the logs")
	}
}

// Package integration drives PTHV Reach end to end on the local stand-ins: objects put in S3,
// notifications on SQS, the poller, the functions' real bootstrap binaries under the Lambda
// host, DynamoDB items and S3 reports.
package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/cohortsvc"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/queue"
	"github.com/pthv/reach/internal/roster"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/store"
	"github.com/pthv/reach/schemas"
)

var (
	moto      *devstack.Moto
	functions map[string]string
)

func TestMain(m *testing.M) {
	if os.Getenv("PTHV_SYNC_BENCH_CHILD") == "1" {
		os.Exit(syncChild())
	}
	code := func() int {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "pthv-it-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		root, _ := filepath.Abs("..")
		if functions, err = devstack.BuildFunctions(ctx, root, filepath.Join(dir, "functions")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if moto, err = devstack.StartMoto(ctx, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer moto.Stop()
		return m.Run()
	}()
	os.Exit(code)
}

// syncBuffer collects function logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is one test's stack and clients.
type env struct {
	t     *testing.T
	stack *devstack.Stack
	logs  *syncBuffer
	s3    *s3.Client
	store *store.Store
	sqs   *sqs.Client
}

func newEnv(t *testing.T, fnEnv map[string]string) *env {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	logs := &syncBuffer{}
	prefix := "pthv-it-" + hex.EncodeToString(b)
	names := deploy.NamesFor(prefix)
	rec := devstack.NewRecorder(names)
	recorders.Lock()
	recorders.all = append(recorders.all, rec)
	recorders.Unlock()
	st, err := devstack.StartStack(context.Background(), devstack.StackOptions{Prefix: prefix, Recorder: rec,
		Endpoint: moto.URL, Functions: functions, Env: fnEnv, Logs: logs, Principals: map[string]devstack.IAMPrincipal{
			"district-d1": devstack.LocalPrincipal("district-d1", "secret-d1", names.DistrictRole("d1")),
			"district-d2": devstack.LocalPrincipal("district-d2", "secret-d2", names.DistrictRole("d2")),
			"outsider":    devstack.LocalPrincipal("outsider", "secret-o", "someone-else"),
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := devstack.AWSConfig(st.Endpoint)
	e := &env{t: t, stack: st, logs: logs, s3: s3.NewFromConfig(cfg, blob.Options(cfg)),
		store: &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: st.Names.Table}, sqs: sqs.NewFromConfig(cfg)}
	if err := e.store.PutDistrict(context.Background(), pthv.District{ID: "d1", Name: "Demo Unified", State: "CA"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) put(key string, data []byte) pthv.Object {
	e.t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.stack.Names.DropsBucket, Key: &key,
		Body: bytes.NewReader(data)})
	if err != nil {
		e.t.Fatal(err)
	}
	return pthv.Object{Bucket: e.stack.Names.DropsBucket, Key: key, VersionID: aws.ToString(out.VersionId)}
}

// await waits for the import of obj to reach a final status.
func (e *env) await(obj pthv.Object) *pthv.Import {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if id, err := e.store.ObjectClaim(context.Background(), obj); err == nil {
			if imp, err := e.store.GetImport(context.Background(), "d1", id); err == nil {
				switch imp.Status {
				case pthv.StatusApplied, pthv.StatusHeld, pthv.StatusRejected, pthv.StatusSuperseded, pthv.StatusFailed:
					return imp
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("no finished import of %s; function logs:\n%s", obj.Key, tail(e.logs.String(), 4000))
	return nil
}

func (e *env) awaitStatus(id string, want pthv.Status) *pthv.Import {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if imp, err := e.store.GetImport(context.Background(), "d1", id); err == nil && imp.Status == want {
			return imp
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("import %s never became %s; logs:\n%s", id, want, tail(e.logs.String(), 4000))
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// items counts the district's roster items of a kind in DynamoDB (all, and active), with a
// Scan: moto answers one Scan faster than a query of every shard.
func (e *env) items(kind roster.Kind) (all, active int) {
	e.t.Helper()
	prefix := store.RecordPK("d1", kind, 0)
	prefix = prefix[:len(prefix)-2]
	p := dynamodb.NewScanPaginator(e.store.DB.(*dynamodb.Client), &dynamodb.ScanInput{TableName: &e.stack.Names.Table,
		FilterExpression:          aws.String("begins_with(pk, :p)"),
		ProjectionExpression:      aws.String("a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}}})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			all++
			if b, ok := it["a"].(*types.AttributeValueMemberBOOL); ok && b.Value {
				active++
			}
		}
	}
	return all, active
}

func (e *env) activeCount(kind roster.Kind) int {
	e.t.Helper()
	_, n := e.items(kind)
	return n
}

func (e *env) report(imp *pthv.Import) []byte {
	e.t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &e.stack.Names.ReportsBucket, Key: aws.String(importer.ReportKey(imp.District, imp.ID))})
	if err != nil {
		e.t.Fatalf("report of %s: %v", imp.ID, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	if err := schemas.Validate("import-report.schema.json", b); err != nil {
		e.t.Errorf("report of %s: %v", imp.ID, err)
	}
	return b
}

func gen(t *testing.T, o rostergen.Options) ([]byte, rostergen.Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := rostergen.WriteZip(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

func TestRosterDropsEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	full, stats := gen(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027})
	users := stats.Students + stats.Guardians + stats.Teachers

	first := e.await(e.put("drops/d1/rosters/export.zip", full))
	if first.Status != pthv.StatusApplied || first.Counts[roster.KindUser].Added != users ||
		first.Counts[roster.KindEnrollment].Added != stats.Enrollments {
		t.Fatalf("first import: %s %s %+v", first.Status, first.Reason, first.Counts)
	}
	if got := e.activeCount(roster.KindUser); got != users {
		t.Fatalf("%d active users in DynamoDB, want %d", got, users)
	}
	// Full 25-item batches except the last of each applied chunk (5000 writes by default).
	chunks := (first.Ops + 4999) / 5000
	if ws := first.Writes; ws.Items == 0 || ws.Batches-ws.Retries-ws.FullBatches > chunks {
		t.Errorf("write stats %+v for %d ops", ws, first.Ops)
	}
	e.report(first)

	t.Run("the same export again writes nothing", func(t *testing.T) {
		again := e.await(e.put("drops/d1/rosters/export.zip", full))
		if again.Status != pthv.StatusApplied || again.Writes.Items+again.Writes.Updates != 0 || again.Counts[roster.KindUser].Unchanged != users {
			t.Fatalf("re-drop: %s writes %+v counts %+v", again.Status, again.Writes, again.Counts[roster.KindUser])
		}
	})

	var held *pthv.Import
	t.Run("removing 20% of students is held and writes nothing", func(t *testing.T) {
		fewer, _ := gen(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027, Remove: 0.2})
		held = e.await(e.put("drops/d1/rosters/export-fewer.zip", fewer))
		if held.Status != pthv.StatusHeld || held.Safety.DeactivatedStudents != 60 || held.Safety.ActiveStudents != 300 {
			t.Fatalf("held: %s %+v", held.Status, held.Safety)
		}
		if got := e.activeCount(roster.KindUser); got != users {
			t.Fatalf("a held import changed the roster: %d active users", got)
		}
		var rep struct {
			Status string
			Safety pthv.Safety
		}
		json.Unmarshal(e.report(held), &rep)
		if rep.Status != "held" || !rep.Safety.Held {
			t.Errorf("report: %+v", rep)
		}
	})

	t.Run("approval applies the held import: deactivated, not deleted", func(t *testing.T) {
		svc := &importer.Service{Store: e.store, Blobs: &blob.S3{Client: e.s3}, ReportsBucket: e.stack.Names.ReportsBucket, Queue: &queue.SQS{Client: e.sqs, QueueURL: e.stack.Provisioned.QueueURLs[e.stack.Names.IngestQueue]}}
		if err := svc.Approve(context.Background(), "d1", held.ID); err != nil {
			t.Fatal(err)
		}
		done := e.awaitStatus(held.ID, pthv.StatusApplied)
		off := done.Counts[roster.KindUser].Deactivated
		if off < 60 || e.activeCount(roster.KindUser) != users-off {
			t.Fatalf("deactivated %d; %d active of %d", off, e.activeCount(roster.KindUser), users)
		}
		if all, _ := e.items(roster.KindUser); all != users {
			t.Fatalf("records were deleted: %d left of %d", all, users)
		}
	})

	t.Run("students who come back are revived", func(t *testing.T) {
		back := e.await(e.put("drops/d1/rosters/export.zip", full))
		if back.Status != pthv.StatusApplied || back.Counts[roster.KindUser].Revived == 0 || back.Counts[roster.KindUser].Added != 0 {
			t.Fatalf("revival: %s %+v", back.Status, back.Counts[roster.KindUser])
		}
		if got := e.activeCount(roster.KindUser); got != users {
			t.Fatalf("%d active after revival, want %d", got, users)
		}
	})

	t.Run("a broken zip is rejected and writes nothing", func(t *testing.T) {
		before := e.activeCount(roster.KindEnrollment)
		bad := e.await(e.put("drops/d1/rosters/broken.zip", full[:len(full)/2]))
		if bad.Status != pthv.StatusRejected || bad.Ops != 0 || bad.Writes.Items != 0 {
			t.Fatalf("broken zip: %s ops %d", bad.Status, bad.Ops)
		}
		if e.activeCount(roster.KindEnrollment) != before {
			t.Fatal("a rejected import changed the roster")
		}
		if !strings.Contains(string(e.report(bad)), "package.unreadable") {
			t.Error("the report does not say the zip is unreadable")
		}
	})

	t.Run("a duplicated SQS delivery imports once", func(t *testing.T) {
		imps, _ := e.store.ListImports(context.Background(), "d1", 100)
		obj := e.put("drops/d1/rosters/dup.zip", full)
		e.await(obj)
		body := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"versionId":%q}}}]}`,
			obj.Bucket, strings.ReplaceAll(obj.Key, "/", "%2F"), obj.VersionID)
		for i := 0; i < 2; i++ {
			if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(e.stack.Provisioned.QueueURLs[e.stack.Names.IngestQueue]), MessageBody: &body}); err != nil {
				t.Fatal(err)
			}
		}
		// Wait until the poller has delivered and deleted both messages.
		queueURL := e.stack.Provisioned.QueueURLs[e.stack.Names.IngestQueue]
		if !waitFor(60*time.Second, func() bool {
			out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &queueURL,
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
		}) {
			t.Fatal("the redelivered messages were not consumed")
		}
		after, _ := e.store.ListImports(context.Background(), "d1", 100)
		if len(after) != len(imps)+1 {
			t.Fatalf("%d imports after one new object and two redeliveries, had %d", len(after), len(imps))
		}
		if !strings.Contains(e.logs.String(), `"decision":"duplicate"`) {
			t.Error("the redelivery was not logged as a duplicate")
		}
	})

	t.Run("a drop for an unknown district is refused and reported", func(t *testing.T) {
		e.put("drops/nobody/rosters/x.zip", full)
		ok := waitFor(60*time.Second, func() bool {
			out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &e.stack.Names.ReportsBucket, Prefix: aws.String("reports/nobody/imports/")})
			return err == nil && len(out.Contents) == 1
		})
		if !ok {
			t.Fatal("no report for the unknown district")
		}
		if imps, _ := e.store.ListImports(context.Background(), "nobody", 10); len(imps) != 1 || imps[0].Status != pthv.StatusRejected ||
			!strings.Contains(imps[0].Reason, "not registered") {
			t.Fatalf("the refusal should be one rejected import record: %+v", imps)
		}
		out, err := e.store.DB.(*dynamodb.Client).Scan(context.Background(), &dynamodb.ScanInput{TableName: &e.stack.Names.Table,
			FilterExpression:          aws.String("begins_with(pk, :p)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "R#nobody#"}}})
		if err != nil || len(out.Items) != 0 {
			t.Fatalf("an unknown district got roster records (%v)", err)
		}
	})

	t.Run("a training file goes through the same ingest path", func(t *testing.T) {
		teacher := firstWithRole(t, "teacher")
		csv := "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n" +
			teacher + ",2025-08-20,introductory,6,PTHV National,true\n" +
			"tch-nobody,2025-08-20,introductory,6,PTHV National,\n"
		imp := e.await(e.put("drops/d1/trainings/fall.csv", []byte(csv)))
		if imp.Status != pthv.StatusApplied || imp.Counts[pthv.KindTraining].Added != 1 || imp.Counts[pthv.KindTraining].Rejected != 1 {
			t.Fatalf("training import: %s %+v", imp.Status, imp.Counts)
		}
		e.report(imp)
		opts, err := e.store.OptIns(context.Background(), "d1", "2025-2026")
		if err != nil || !opts[teacher] || len(opts) != 1 {
			t.Fatalf("opt-ins %v (%v)", opts, err)
		}
		again := e.await(e.put("drops/d1/trainings/fall.csv", []byte(csv)))
		if again.Writes.Items != 0 || again.Counts[pthv.KindTraining].Unchanged != 1 {
			t.Fatalf("the same file again wrote %d items", again.Writes.Items)
		}
	})

	t.Run("consent drops and a cohort drawn by the cohort function", func(t *testing.T) {
		ctx := context.Background()
		roles := rolesOf(t)
		var school string
		teachers := map[string][]string{}
		for _, r := range roles {
			if r[5] == "teacher" {
				teachers[r[8]] = append(teachers[r[8]], r[3])
				if school == "" || len(teachers[r[8]]) > len(teachers[school]) {
					school = r[8]
				}
			}
		}
		trained := teachers[school][:3]
		trainingCSV := "educatorSourcedId,date,trainingType,hours,trainerOrganization,optIn\n"
		for _, tch := range trained {
			trainingCSV += tch + ",2026-08-20,introductory,6,PTHV National,true\n"
		}
		if imp := e.await(e.put("drops/d1/trainings/2026.csv", []byte(trainingCSV))); imp.Status != pthv.StatusApplied {
			t.Fatalf("training import: %s", imp.Status)
		}
		var student string
		for _, r := range roles {
			if r[5] == "student" && r[8] == school {
				student = r[3]
				break
			}
		}
		consentCSV := "schoolYear,studentSourcedId,consent,date\n2026-2027," + student + ",declined,2026-09-01\n2026-2027,stu-nobody,accepted,2026-09-01\n"
		imp := e.await(e.put("drops/d1/consent/fall.csv", []byte(consentCSV)))
		if imp.Status != pthv.StatusApplied || imp.Counts[pthv.KindConsent].Added != 1 || imp.Counts[pthv.KindConsent].Rejected != 1 {
			t.Fatalf("consent import: %s %+v", imp.Status, imp.Counts)
		}
		e.report(imp)
		if again := e.await(e.put("drops/d1/consent/fall.csv", []byte(consentCSV))); again.Counts[pthv.KindConsent].Unchanged != 1 {
			t.Fatalf("the same consent file again: %+v", again.Counts)
		}

		res, err := e.stack.Host.Invoke(ctx, e.stack.Names.Function("cohort"),
			[]byte(`{"action":"select","request":{"district":"d1","school":"`+school+`","year":"2026-2027","mode":"all"}}`))
		if err != nil || res.FunctionError != "" {
			t.Fatalf("invoke: %v %s %s", err, res.FunctionError, res.Payload)
		}
		var resp cohortsvc.Response
		if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.Error != nil {
			t.Fatalf("cohort response %s: %v", res.Payload, err)
		}
		members, err := e.store.Members(ctx, "d1", resp.Cohort.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(members) == 0 || len(members) != resp.Cohort.Summary.Families || resp.Cohort.Summary.Declined != 1 || resp.Cohort.Summary.Pairs != 1 {
			t.Fatalf("cohort: %d members, summary %+v", len(members), resp.Cohort.Summary)
		}
		for _, m := range members {
			if slices.Contains(m.StudentIDs, student) {
				t.Fatalf("the family of %s declined but is in the cohort", student)
			}
			if len(m.Pair) != 2 || !slices.Contains(trained, m.Pair[0]) || !slices.Contains(trained, m.Pair[1]) {
				t.Fatalf("family %s has pair %v; eligible: %v", m.FamilyID, m.Pair, trained)
			}
		}
		// verify reads the stored population back from the reports bucket.
		res, err = e.stack.Host.Invoke(ctx, e.stack.Names.Function("cohort"),
			[]byte(`{"action":"verify","district":"d1","cohortId":"`+resp.Cohort.ID+`"}`))
		if err != nil || res.FunctionError != "" || !strings.Contains(string(res.Payload), `"match":true`) {
			t.Fatalf("verify: %v %s", err, res.Payload)
		}
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &e.stack.Names.ReportsBucket, Key: &resp.Cohort.CSVKey})
		if err != nil {
			t.Fatalf("coordinator CSV: %v", err)
		}
		rows, err := csv.NewReader(out.Body).ReadAll()
		out.Body.Close()
		if err != nil || len(rows) != len(members)+1 {
			t.Fatalf("coordinator CSV: %d rows for %d families (%v)", len(rows), len(members), err)
		}
	})

	t.Run("every key the service wrote is made of safe segments", func(t *testing.T) {
		n := 0
		for _, bucket := range []string{e.stack.Names.ReportsBucket, e.stack.Names.DropsBucket} {
			p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					n++
					if bucket == e.stack.Names.DropsBucket {
						continue // written by the test, not the service
					}
					if err := pthv.CheckKey(aws.ToString(o.Key)); err != nil {
						t.Error(err)
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("no objects")
		}
	})

	t.Run("logs carry no names, emails or phone numbers", func(t *testing.T) {
		logs := e.logs.String()
		if !strings.Contains(logs, `"decision":"applied"`) {
			t.Fatalf("no decision lines in the logs:\n%s", tail(logs, 2000))
		}
		for _, p := range personalData(t) {
			if strings.Contains(logs, p) {
				t.Errorf("the logs contain %q", p)
			}
		}
	})
}

// rolesOf returns the rows of the test district's roles.csv (Students 300, Seed 11).
func rolesOf(t *testing.T) [][]string {
	t.Helper()
	return readRoles(t, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027})
}

// readRoles returns the rows of a generated district's roles.csv.
func readRoles(t *testing.T, o rostergen.Options) [][]string {
	t.Helper()
	dir := t.TempDir()
	if _, err := rostergen.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "roles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

// firstWithRole returns a user of the test district (Students 300, Seed 11) with the role.
func firstWithRole(t *testing.T, role string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := rostergen.Write(dir, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "roles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := csv.NewReader(f).ReadAll()
	for _, r := range rows[1:] {
		if r[5] == role {
			return r[3]
		}
	}
	t.Fatalf("no %s in the district", role)
	return ""
}

// personalData returns the names, emails and phone numbers of an export's users.csv.
func personalData(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if _, err := rostergen.Write(dir, rostergen.Options{Students: 300, Seed: 11, SchoolYear: 2027}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range rows[1:] {
		for _, c := range []string{"email", "phone", "sms"} {
			if v := r[col[c]]; v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		if full := r[col["givenName"]] + " " + r[col["familyName"]]; !seen[full] {
			seen[full] = true
			out = append(out, full, `"`+r[col["familyName"]]+`"`)
		}
	}
	return out
}

func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

func TestAnImportThatOutlivesItsInvocationContinues(t *testing.T) {
	// Every invocation may work for a moment only: the import checkpoints after each chunk.
	e := newEnv(t, map[string]string{"IMPORT_MAX_RUN": "1ms", "IMPORT_CHUNK_OPS": "400"})
	data, stats := gen(t, rostergen.Options{Students: 150, Seed: 4})
	imp := e.await(e.put("drops/d1/rosters/a.zip", data))
	if imp.Status != pthv.StatusApplied || imp.Runs < 3 || imp.Cursor != imp.Ops {
		t.Fatalf("status %s runs %d cursor %d/%d", imp.Status, imp.Runs, imp.Cursor, imp.Ops)
	}
	if got, want := e.activeCount(roster.KindUser), stats.Students+stats.Guardians+stats.Teachers; got != want {
		t.Fatalf("%d active users, want %d", got, want)
	}
	if !strings.Contains(e.logs.String(), `"decision":"continue"`) {
		t.Error("no checkpoint was logged")
	}
}

package sissync_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pthv/reach/internal/app/pipeline"
	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
	"github.com/pthv/reach/internal/devstack"
	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/secrets"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/sissync"
	"github.com/pthv/reach/internal/standin/oneroster"
	"github.com/pthv/reach/internal/store"
)

var moto *devstack.Moto

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		moto.Stop()
	}
	os.Exit(code)
}

const secret = "very-secret-value-42"

// queue plays the ingest queue: it keeps continuations for the test to deliver.
type queue struct {
	mu   sync.Mutex
	msgs []pthv.Continuation
}

func (q *queue) Continue(_ context.Context, c pthv.Continuation) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, c)
	return nil
}

// continuer plays the sync function's self-invocation.
type continuer struct{ reqs []sissync.Request }

func (c *continuer) ContinueRun(_ context.Context, r sissync.Request) error {
	c.reqs = append(c.reqs, r)
	return nil
}

type fixture struct {
	t     *testing.T
	svc   *sissync.Service
	imp   *importer.Service
	st    *store.Store
	q     *queue
	cont  *continuer
	srv   *oneroster.Server
	conn  *sis.Connection
	names deploy.Names
}

func setup(t *testing.T, version string) *fixture {
	t.Helper()
	ctx := context.Background()
	if moto == nil {
		m, err := devstack.StartMoto(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		moto = m
	}
	b := make([]byte, 4)
	rand.Read(b)
	names := deploy.NamesFor("pthv-sync-" + hex.EncodeToString(b))
	cfg := devstack.AWSConfig(moto.URL)
	spec := deploy.Resources(names)
	spec.Queues, spec.Notifications = nil, nil
	if _, err := devstack.Provision(ctx, cfg, spec); err != nil {
		t.Fatal(err)
	}
	st := &store.Store{DB: dynamodb.NewFromConfig(cfg), Table: names.Table}
	if err := st.PutDistrict(ctx, pthv.District{ID: "d1", Name: "District One", State: "CA"}); err != nil {
		t.Fatal(err)
	}
	d, err := oneroster.Generate(rostergen.Options{Students: 60, Seed: 11, Version: version}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	srv := oneroster.New(d, oneroster.Config{ClientID: "cid", ClientSecret: secret, Prefix: "/vendor"})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	sm := &secrets.Manager{Client: secretsmanager.NewFromConfig(cfg)}
	q := &queue{}
	imp := &importer.Service{Store: st, Blobs: blob.New(cfg), Queue: q, DropsBucket: names.DropsBucket, ReportsBucket: names.ReportsBucket}
	f := &fixture{t: t, st: st, q: q, cont: &continuer{}, srv: srv, imp: imp, names: names}
	f.svc = &sissync.Service{Store: st, Secrets: sm, Blobs: blob.New(cfg), Importer: imp, Continuer: f.cont,
		Sources: pipeline.Sources(), ReportsBucket: names.ReportsBucket}
	provider := "oneroster-" + version
	f.conn = &sis.Connection{District: "d1", Provider: provider, BaseURL: hs.URL + srv.BasePath(), TokenURL: hs.URL + srv.TokenPath(),
		ClientID: "cid", PageSize: 20, RatePerMinute: 60000}
	if version == "1.1" {
		f.conn.Auth, f.conn.TokenURL = "oauth1", ""
	}
	f.conn.Defaults()
	f.conn.SecretID = names.SyncSecret("d1", f.conn.ID)
	if err := f.conn.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := sm.Put(ctx, f.conn.SecretID, secret, "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.PutConnection(ctx, f.conn); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(full bool) *sis.Run {
	f.t.Helper()
	t0 := time.Now()
	r, err := f.svc.Handle(context.Background(), sissync.Request{District: "d1", Connection: f.conn.ID, Full: full, Trigger: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Logf("run %s: %s in %v (pull %dms, convert %dms, import %dms)", r.ID, r.Status, time.Since(t0), r.PullMS, r.ConvertMS, r.ImportMS)
	for _, fd := range r.Findings {
		if fd.Severity == "error" {
			f.t.Logf("finding: %+v", fd)
		}
	}
	return r
}

func (f *fixture) approve(r *sis.Run) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.imp.Approve(ctx, "d1", r.ImportID); err != nil {
		f.t.Fatal(err)
	}
	for len(f.q.msgs) > 0 {
		m := f.q.msgs[0]
		f.q.msgs = f.q.msgs[1:]
		if err := f.imp.Continue(ctx, m); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestNightlySync(t *testing.T) {
	for _, v := range []string{"1.2", "1.1"} {
		t.Run("OneRoster "+v, func(t *testing.T) { nightly(t, v) })
	}
}

func nightly(t *testing.T, version string) {
	f := setup(t, version)
	ctx := context.Background()

	first := f.run(false)
	if first.Status != sis.RunHeld || !strings.Contains(first.Reason, "first run") || first.Mode != "full" {
		t.Fatalf("first run: %s (%s), mode %s", first.Status, first.Reason, first.Mode)
	}
	for _, c := range first.Collections {
		if !c.Complete {
			t.Errorf("%s: %s", c.Name, c.Verdict)
		}
	}
	if first.Counts["user"].Added != f.srv.District().Count("users") {
		t.Errorf("held diff adds %d users, the server has %d", first.Counts["user"].Added, f.srv.District().Count("users"))
	}
	f.approve(first)
	if imp, _ := f.imp.GetImport(ctx, "d1", first.ImportID); imp.Status != pthv.StatusApplied {
		t.Fatalf("approved import is %s", imp.Status)
	}

	// The second run is a delta (the connection's settings are approved now) and writes nothing.
	second := f.run(false)
	if second.Status != sis.RunApplied || second.Mode != "delta" {
		t.Fatalf("second run: %s (%s), mode %s", second.Status, second.Reason, second.Mode)
	}
	imp, _ := f.imp.GetImport(ctx, "d1", second.ImportID)
	if w := imp.Writes.Items + imp.Writes.Updates; w != 0 || imp.Ops != 0 {
		t.Errorf("unchanged delta wrote %d items (%d ops)", w, imp.Ops)
	}
	if version == "1.1" {
		return // the rest is the same for both versions
	}
	if fl := f.srv.Stats().Filters; len(fl) == 0 || !strings.HasPrefix(fl[len(fl)-1], "dateLastModified>'2026-10-31T23:00:00") {
		t.Errorf("delta filter (watermark 2026-11-01 minus an hour's overlap) not sent: %v", fl)
	}

	// A change and a soft delete at the source: the delta applies them.
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	d := f.srv.District()
	users := d.IDs("users")
	var student string
	for _, id := range users {
		if strings.HasPrefix(id, "stu-") {
			student = id
			break
		}
	}
	if err := d.Update("users", users[len(users)-1], "familyName", "Nguyễn-Changed", at); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkDeleted("users", student, at); err != nil {
		t.Fatal(err)
	}
	third := f.run(false)
	if third.Status != sis.RunApplied {
		t.Fatalf("third run: %s %s", third.Status, third.Reason)
	}
	if c := third.Counts["user"]; c.Changed != 1 || c.Deactivated != 1 {
		t.Errorf("delta user counts %+v, want 1 changed, 1 deactivated", c)
	}

	// A scope gap: enrollments answer 403. The run is held with the reason and nothing of
	// enrollments is deactivated.
	f.srv.SetFaults(oneroster.Faults{Forbidden: []string{"enrollments"}})
	fourth := f.run(true)
	if fourth.Status != sis.RunHeld || !strings.Contains(fourth.Reason, "enrollments is incomplete") || !strings.Contains(fourth.Reason, "403") {
		t.Fatalf("fourth run: %s (%s)", fourth.Status, fourth.Reason)
	}
	if c := fourth.Counts["enrollment"]; c.Deactivated != 0 {
		t.Errorf("an incomplete collection deactivated %d enrollments", c.Deactivated)
	}

	// Zero users: held.
	f.srv.SetFaults(oneroster.Faults{})
	for _, id := range d.IDs("users") {
		d.Remove("users", id)
	}
	fifth := f.run(true)
	if fifth.Status != sis.RunHeld || !strings.Contains(fifth.Reason, "zero users") || fifth.ImportID != "" {
		t.Fatalf("fifth run: %s (%s) %+v", fifth.Status, fifth.Reason, fifth.Counts["user"])
	}

	// The secret is in no table item and no report.
	out, err := f.st.DB.(*dynamodb.Client).Scan(ctx, &dynamodb.ScanInput{TableName: &f.names.Table})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		for _, v := range it {
			if strings.Contains(strings.ToLower(toString(v)), secret) {
				t.Fatal("the client secret is stored in DynamoDB")
			}
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case interface{ String() string }:
		return x.String()
	}
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\n", " "), "\t", " "))
}

func fmtAny(v any) string {
	b, _ := jsonMarshal(v)
	return string(b)
}

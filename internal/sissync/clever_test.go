package sissync_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/rostergen"
	"github.com/pthv/reach/internal/sis"
	"github.com/pthv/reach/internal/standin/clever"
)

const cleverToken = "clever-district-token-77"

// TestCleverSync runs a clever connection on the frame against the Clever stand-in over
// HTTP, with DynamoDB, S3 and Secrets Manager on moto: the first run is held, approved and
// applied; an unchanged re-run writes nothing; a revoked token fails the run with the
// message and deactivates nothing. No demographic value (the stand-in's sentinel) reaches a
// table item, a staged object or a log line, and neither does the token.
func TestCleverSync(t *testing.T) {
	f, srv, data := cleverFixture(t, "d1", 25, false)
	ctx := context.Background()
	var logs bytes.Buffer
	f.svc.Log = slog.New(slog.NewJSONHandler(&logs, nil))

	first := f.run(false)
	if first.Status != sis.RunHeld || !strings.Contains(first.Reason, "first run") || first.Mode != "full" {
		t.Fatalf("first run: %s (%s), mode %s", first.Status, first.Reason, first.Mode)
	}
	for _, c := range first.Collections {
		if !c.Complete {
			t.Errorf("%s: %s", c.Name, c.Verdict)
		}
		// Pages are sent chunked (no Content-Length): the bytes are counted as read.
		if c.Proof.Bytes == 0 || c.Proof.Requests == 0 {
			t.Errorf("%s: %d bytes in %d requests counted", c.Name, c.Proof.Bytes, c.Proof.Requests)
		}
	}
	if got := first.Counts["user"].Added; got == 0 || got < data.Students {
		t.Errorf("held diff adds %d users; the stand-in serves %d students", got, data.Students)
	}
	if first.Counts["role"].Added < data.Students || first.Errors != 0 {
		t.Errorf("held diff adds %d roles with %d validation errors; the stand-in serves %d students", first.Counts["role"].Added, first.Errors, data.Students)
	}
	if first.Counts["enrollment"].Added == 0 {
		t.Errorf("no enrollments from sections: %+v", first.Counts)
	}
	f.approve(first)
	if imp, _ := f.imp.GetImport(ctx, "d1", first.ImportID); imp.Status != pthv.StatusApplied {
		t.Fatalf("approved import is %s", imp.Status)
	}

	second := f.run(false)
	if second.Status != sis.RunApplied || second.Mode != "full" {
		t.Fatalf("second run: %s (%s), mode %s", second.Status, second.Reason, second.Mode)
	}
	imp, _ := f.imp.GetImport(ctx, "d1", second.ImportID)
	if w := imp.Writes.Items + imp.Writes.Updates; w != 0 || imp.Ops != 0 {
		t.Errorf("unchanged re-run wrote %d items (%d ops)", w, imp.Ops)
	}

	srv.SetFaults(clever.Faults{Revoked: true, RevokeAfter: 3})
	third := f.run(false)
	if third.Status != sis.RunFailed || !strings.Contains(third.Reason, "revoked") || third.ImportID != "" {
		t.Fatalf("revoked run: %s (%s) import %q", third.Status, third.Reason, third.ImportID)
	}
	if !strings.Contains(logs.String(), `"decision":"failed"`) {
		t.Errorf("the failed run left no failed decision in the log")
	}

	// Nothing personal or secret anywhere.
	out, err := f.st.DB.(*dynamodb.Client).Scan(ctx, &dynamodb.ScanInput{TableName: &f.names.Table})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) == 0 {
		t.Fatal("no items")
	}
	for _, it := range out.Items {
		s := toString(it)
		if strings.Contains(s, clever.Sentinel) || strings.Contains(s, cleverToken) {
			t.Fatalf("a demographic value or the token reached DynamoDB: %.200s", s)
		}
	}
	staged := 0
	for _, key := range listKeys(t, f, "reports/d1/sync/clever/") {
		b, err := f.svc.Blobs.Get(ctx, f.names.ReportsBucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(key, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(zr)
			staged++
		}
		if bytes.Contains(b, []byte(clever.Sentinel)) || bytes.Contains(b, []byte(cleverToken)) {
			t.Fatalf("a demographic value or the token reached the staging area: %s", key)
		}
	}
	if staged == 0 {
		t.Fatal("no staged pages were checked")
	}
	if strings.Contains(logs.String(), clever.Sentinel) || strings.Contains(logs.String(), cleverToken) {
		t.Fatal("a demographic value or the token reached the log")
	}
}

// cleverFixture is setup's frame with a clever connection of district (registered) to a
// fresh Clever stand-in over HTTP, events on or off.
func cleverFixture(t *testing.T, district string, students int, events bool) (*fixture, *clever.Server, *clever.Data) {
	t.Helper()
	f := setup(t, "1.2")
	ctx := context.Background()
	data, err := clever.Generate(rostergen.Options{Students: students, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	srv := clever.NewServer(data, cleverToken)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	if district != "d1" {
		if err := f.st.PutDistrict(ctx, pthv.District{ID: district, Name: "District " + district, State: "CA"}); err != nil {
			t.Fatal(err)
		}
	}
	conn := &sis.Connection{District: district, ID: "clever", Provider: sis.ProviderClever, BaseURL: hs.URL + srv.Prefix, PageSize: 10, Events: events}
	conn.Defaults()
	conn.SecretID = f.names.SyncSecret(district, conn.ID)
	if err := conn.Validate(); err != nil {
		t.Fatal(err)
	}
	sm := f.svc.Secrets.(interface {
		Put(ctx context.Context, id, value, desc string) error
	})
	if err := sm.Put(ctx, conn.SecretID, cleverToken, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	f.conn = conn
	return f, srv, data
}

// listKeys lists the reports bucket's keys under prefix.
func listKeys(t *testing.T, f *fixture, prefix string) []string {
	t.Helper()
	cl := f.svc.Blobs.(*blob.S3).Client
	var keys []string
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &f.names.ReportsBucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}

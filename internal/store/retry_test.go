package store

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pthv/reach/internal/cohort"
	"github.com/pthv/reach/internal/pthv"
	"github.com/pthv/reach/internal/sis"
)

// garbled is an http.RoundTripper in front of moto_server that loses the response of the
// next request for one of ops (X-Amz-Target's operation, "PutItem"): the request reaches the
// table and its write is done, but the SDK gets a 500 instead of the answer (under load moto
// once sent an answer whose checksum did not match). The SDK then retries the request, as
// it retries any 500, and the retry meets its own write.
type garbled struct {
	next http.RoundTripper

	mu      sync.Mutex
	ops     map[string]bool
	garbled int
}

func (g *garbled) arm(ops ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ops = map[string]bool{}
	for _, op := range ops {
		g.ops[op] = true
	}
}

func (g *garbled) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(r)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil || resp.StatusCode != http.StatusOK || !g.ops[op] {
		return resp, err
	}
	delete(g.ops, op)
	g.garbled++
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"the response was lost (injected by the test)"}`
	return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// retryingStore is newStore's table behind garbled.
func retryingStore(t *testing.T) (*Store, *garbled) {
	t.Helper()
	s := newStore(t)
	g := &garbled{next: http.DefaultTransport}
	cfg := s.DB.(*dynamodb.Client).Options()
	cfg.HTTPClient = &http.Client{Transport: g}
	s.DB = dynamodb.New(cfg)
	return s, g
}

// TestARetriedWriteThatSucceededIsNoConflict: a conditional create that succeeded, whose
// response was garbled, is retried by the SDK and fails its condition on its own write. The
// store compares what is on file with what was asked: the same write is success; another
// writer's is still a conflict.
func TestARetriedWriteThatSucceededIsNoConflict(t *testing.T) {
	s, g := retryingStore(t)
	ctx := context.Background()
	once := func(what string) {
		t.Helper()
		g.mu.Lock()
		n := g.garbled
		g.garbled = 0
		g.mu.Unlock()
		if n != 1 {
			t.Fatalf("%s: %d responses garbled, want 1 (the SDK's retry is what is tested)", what, n)
		}
	}

	t.Run("districts", func(t *testing.T) {
		d := pthv.District{ID: "retry-usd", Name: "Retry Unified", State: "CA", HoldShare: 0.2}
		g.arm("PutItem")
		if err := s.CreateDistrict(ctx, d); err != nil {
			t.Fatalf("a registration whose response was garbled: %v", err)
		}
		once("CreateDistrict")
		on, err := s.District(ctx, d.ID)
		if err != nil || on.Name != d.Name || on.HoldShare != 0.2 || on.Snapshot != pthv.EmptySnapshot {
			t.Fatalf("on file: %+v %v", on, err)
		}
		if err := s.CreateDistrict(ctx, d); err != nil {
			t.Errorf("the same registration again: %v", err)
		}
		other := d
		other.Name = "Other"
		if err := s.CreateDistrict(ctx, other); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("another registration of the id: %v, want a conflict", err)
		}
		if again, _ := s.District(ctx, d.ID); again.Name != d.Name || !again.Created.Equal(on.Created) {
			t.Errorf("a refused or repeated registration changed the district: %+v", again)
		}
	})

	t.Run("cohorts", func(t *testing.T) {
		rec := &cohort.Record{ID: "coh-r", District: "retry-usd", School: "sch1", Year: "2026-2027", Revision: 1, Created: time.Now().UTC()}
		members := []cohort.MemberItem{{Member: cohort.Member{FamilyID: "fam-1", Stratum: "03"}}}
		g.arm("PutItem") // the members' batch is BatchWriteItem: the cohort item is the put
		if err := s.PutCohort(ctx, rec, members); err != nil {
			t.Fatalf("a cohort whose response was garbled: %v", err)
		}
		once("PutCohort")
		if got, err := s.Members(ctx, rec.District, rec.ID); err != nil || len(got) != 1 {
			t.Fatalf("members: %v %v", got, err)
		}
		again := *rec
		if err := s.PutCohort(ctx, &again, members); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("revision 1 written again by another call: %v, want a conflict", err)
		}
		rev2 := *rec
		rev2.Revision = 2
		g.arm("PutItem")
		if err := s.PutCohort(ctx, &rev2, members); err != nil {
			t.Fatalf("revision 2 whose response was garbled: %v", err)
		}
		once("PutCohort revision 2")
		if on, _ := s.GetCohort(ctx, rec.District, rec.ID); on.Revision != 2 || on.MembersSet != rev2.MembersSet {
			t.Errorf("on file: revision %d set %s, want 2 %s", on.Revision, on.MembersSet, rev2.MembersSet)
		}
	})

	t.Run("sync connections", func(t *testing.T) {
		now := time.Now().UTC().Truncate(time.Second)
		c := &sis.Connection{ID: "sis", District: "retry-usd", Provider: sis.ProviderOneRoster12, BaseURL: "https://sis.example/ims/oneroster/rostering/v1p2",
			Auth: "oauth2", ClientID: "client", Created: now, Updated: now}
		g.arm("PutItem")
		if err := s.CreateConnection(ctx, c); err != nil {
			t.Fatalf("a connection whose response was garbled: %v", err)
		}
		once("CreateConnection")
		other := *c
		other.ClientID, other.Updated = "someone-else", now.Add(time.Second)
		if err := s.CreateConnection(ctx, &other); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("another writer's connection: %v, want a conflict", err)
		}
		if on, err := s.Connection(ctx, c.District, c.ID); err != nil || on.ClientID != "client" {
			t.Errorf("on file: %+v %v", on, err)
		}
	})

	t.Run("aggregates", func(t *testing.T) {
		g.arm("PutItem")
		wrote, err := s.PutAggregate(ctx, "2026-2027", "NATIONAL", []byte(`{"visits":12}`))
		if err != nil || !wrote {
			t.Fatalf("an aggregate whose answer was lost: wrote %v, %v; want written (the caller publishes what it wrote)", wrote, err)
		}
		once("PutAggregate")
		if wrote, err := s.PutAggregate(ctx, "2026-2027", "NATIONAL", []byte(`{"visits":12}`)); err != nil || wrote {
			t.Errorf("the same aggregate again: wrote %v, %v; want unchanged", wrote, err)
		}
	})

	t.Run("opt-ins", func(t *testing.T) {
		at := time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC)
		g.arm("PutItem")
		ws, err := s.SetOptIns(ctx, "retry-usd", []pthv.OptIn{{Educator: "tch-1", SchoolYear: "2026-2027", In: true, At: at, Source: "test"}})
		if err != nil || ws.Items != 1 {
			t.Fatalf("an opt-in whose answer was lost: %d written, %v; want 1", ws.Items, err)
		}
		once("SetOptIns")
		if ws, err := s.SetOptIns(ctx, "retry-usd", []pthv.OptIn{{Educator: "tch-1", SchoolYear: "2026-2027", In: false, At: at.Add(-time.Hour), Source: "test"}}); err != nil || ws.Items != 0 {
			t.Errorf("an older decision: %d written, %v; want none", ws.Items, err)
		}
	})

	t.Run("import transitions", func(t *testing.T) {
		imp := &pthv.Import{ID: "imp-t", District: "retry-usd", Kind: pthv.ImportRoster, Status: pthv.StatusHeld}
		if err := s.PutImport(ctx, imp); err != nil {
			t.Fatal(err)
		}
		g.arm("UpdateItem")
		if err := s.TransitionImport(ctx, imp.District, imp.ID, pthv.StatusHeld, pthv.StatusApproved); err != nil {
			t.Fatalf("an approval whose answer was lost: %v", err)
		}
		once("TransitionImport")
		if err := s.TransitionImport(ctx, imp.District, imp.ID, pthv.StatusHeld, pthv.StatusApproved); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("a second approval: %v, want a conflict", err)
		}
	})

	t.Run("import claims", func(t *testing.T) {
		imp := &pthv.Import{ID: "imp-r", District: "retry-usd", Kind: pthv.ImportVisits, Status: pthv.StatusQueued}
		if err := s.PutImport(ctx, imp); err != nil {
			t.Fatal(err)
		}
		g.arm("UpdateItem")
		if err := s.ClaimRun(ctx, imp.District, imp.ID, 0); err != nil {
			t.Fatalf("a run claimed whose response was garbled: %v", err)
		}
		once("ClaimRun")
		if err := s.ClaimRun(ctx, imp.District, imp.ID, 0); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("the same run claimed by another invocation: %v, want a conflict", err)
		}
		obj := pthv.Object{Bucket: "drops", Key: "drops/retry-usd/visits/a.csv", VersionID: "v1", ETag: "e"}
		g.arm("PutItem")
		if err := s.ClaimObject(ctx, obj, imp.ID); err != nil {
			t.Fatalf("an object claimed whose response was garbled: %v", err)
		}
		once("ClaimObject")
		if err := s.ClaimObject(ctx, obj, "imp-other"); !errors.Is(err, pthv.ErrConflict) {
			t.Errorf("the object claimed by another import: %v, want a conflict", err)
		}
	})
}

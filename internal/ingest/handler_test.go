package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
)

type fakePipeline struct {
	drops     []pthv.Object
	continued []pthv.Continuation
	dropErr   error
}

func (f *fakePipeline) HandleDrop(_ context.Context, o pthv.Object) error {
	f.drops = append(f.drops, o)
	return f.dropErr
}

func (f *fakePipeline) Continue(_ context.Context, c pthv.Continuation) error {
	f.continued = append(f.continued, c)
	return nil
}

// statBlobs answers Stat with a fixed version and time; nothing else is used.
type statBlobs struct{ importer.Blobs }

func (statBlobs) Stat(_ context.Context, o pthv.Object) (pthv.Object, error) {
	if o.VersionID == "" {
		o.VersionID = "latest"
	}
	o.UploadedAt = time.Date(2026, 9, 3, 19, 37, 27, 0, time.UTC)
	return o, nil
}

func load(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestAnAWSS3NotificationBecomesADropWithItsKeyDecoded(t *testing.T) {
	p := &fakePipeline{}
	h := &Handler{Pipeline: p, Blobs: statBlobs{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), load(t, "sqs-s3-put-aws.json"))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	want := []pthv.Object{{Bucket: "pthv-reach-drops", Key: "drops/d1/rosters/Spring Export (2).zip",
		VersionID: "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd", ETag: "b21b84d653bb07b05b1e6b33684dc11b",
		UploadedAt: time.Date(2026, 9, 3, 19, 37, 27, 0, time.UTC)}}
	if diff := cmp.Diff(want, p.drops); diff != "" {
		t.Errorf("drops (-want +got):\n%s", diff)
	}
}

func TestABatchReportsOnlyItsFailedMessages(t *testing.T) {
	p := &fakePipeline{}
	h := &Handler{Pipeline: p, Blobs: statBlobs{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, _ := h.Handle(context.Background(), load(t, "sqs-mixed-moto.json"))
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "m-garbage"}}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if len(p.drops) != 1 || p.drops[0].Key != "drops/d1/rosters/x.zip" {
		t.Errorf("moto's %%2F-encoded key: %+v", p.drops)
	}
	if len(p.continued) != 1 || p.continued[0].ImportID != "imp-20261122T200938.374Z-883b6468" {
		t.Errorf("continuations: %+v", p.continued)
	}
}

func TestRefusedDropsAreNotRetriedButFailuresAre(t *testing.T) {
	for _, tc := range []struct {
		err  error
		fail bool
	}{{pthv.ErrRefused, false}, {errors.New("dynamodb unavailable"), true}} {
		p := &fakePipeline{dropErr: tc.err}
		h := &Handler{Pipeline: p, Blobs: statBlobs{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		resp, _ := h.Handle(context.Background(), load(t, "sqs-s3-put-aws.json"))
		if got := len(resp.BatchItemFailures) == 1; got != tc.fail {
			t.Errorf("%v: failed=%v, want %v", tc.err, got, tc.fail)
		}
	}
}

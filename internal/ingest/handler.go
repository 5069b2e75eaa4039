// Package ingest turns the messages on the ingest queue — S3 object-created notifications
// and import continuations — into calls of the import pipeline.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pthv/reach/internal/pthv"
)

// Pipeline is what the handler drives.
type Pipeline interface {
	HandleDrop(ctx context.Context, obj pthv.Object) error
	Continue(ctx context.Context, c pthv.Continuation) error
}

// Blobs is what the handler needs of S3: the version, ETag, size and upload time of the
// object an event names (the latest version when VersionID is empty), or a not-found error.
type Blobs interface {
	Stat(ctx context.Context, obj pthv.Object) (pthv.Object, error)
}

// Handler handles SQS batches with partial batch failures: a message that fails stays on the
// queue and is retried (then dead-lettered); the others are deleted.
type Handler struct {
	Pipeline Pipeline
	Blobs    Blobs
	Log      *slog.Logger
}

// message is the union of the bodies the ingest queue carries.
type message struct {
	// S3 event notification.
	Records []s3Record `json:"Records"`
	// s3:TestEvent, sent once when the notification is configured.
	Event string `json:"Event"`
	// Continuation.
	Kind     string `json:"pthv"`
	District string `json:"districtId"`
	ImportID string `json:"importId"`
	Run      int    `json:"run"`
}

// s3Record holds the fields of an S3 event record the handler uses. (aws-lambda-go's
// S3EventRecord would also parse eventTime, which some S3 implementations write without a
// time zone; the handler needs no time from the event: it asks S3.)
type s3Record struct {
	EventName string `json:"eventName"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			VersionID string `json:"versionId"`
			ETag      string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

// Handle processes one batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		log := h.Log.With("messageId", m.MessageId)
		if err := h.one(ctx, log, m.Body); err != nil {
			log.Error("message failed; it stays on the queue to be retried", "error", err.Error(), "decision", "retry")
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (h *Handler) one(ctx context.Context, log *slog.Logger, body string) error {
	var msg message
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		return fmt.Errorf("the message cannot be decoded: %w", err)
	}
	switch {
	case msg.Event == "s3:TestEvent":
		log.Info("s3 test event ignored", "decision", "ignore")
		return nil
	case msg.Kind == pthv.ContinuationKind:
		return h.Pipeline.Continue(ctx, pthv.Continuation{Kind: msg.Kind, District: msg.District, ImportID: msg.ImportID, Run: msg.Run})
	case len(msg.Records) > 0:
		var firstErr error
		for _, r := range msg.Records {
			if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
				log.Info("s3 event ignored", "event", r.EventName, "decision", "ignore")
				continue
			}
			if err := h.drop(ctx, r); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		return firstErr
	}
	return errors.New("the message is neither an S3 notification nor a continuation")
}

func (h *Handler) drop(ctx context.Context, r s3Record) error {
	// Keys in S3 notifications are URL-encoded, with spaces as '+'.
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		return err
	}
	obj := pthv.Object{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID, ETag: r.S3.Object.ETag}
	// Version and upload time come from S3 itself: notifications may omit the version, and
	// only S3 knows the upload order of different keys.
	st, err := h.Blobs.Stat(ctx, obj)
	if errors.Is(err, pthv.ErrNotFound) {
		h.Log.Info("dropped object no longer exists", "bucket", obj.Bucket, "key", obj.Key, "decision", "ignore")
		return nil
	}
	if err != nil {
		return err
	}
	err = h.Pipeline.HandleDrop(ctx, st)
	if errors.Is(err, pthv.ErrRefused) {
		return nil // reported; retrying would not change the answer
	}
	return err
}

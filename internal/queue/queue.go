// Package queue sends import continuations (pthv.Continuation) to the ingest queue: the Queue
// internal/importer declares.
package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/pthv"
)

// SQS sends continuation messages to one queue.
type SQS struct {
	Client   *sqs.Client
	QueueURL string
}

// Continue implements importer.Queue.
func (q *SQS) Continue(ctx context.Context, msg pthv.Continuation) error {
	if q.QueueURL == "" {
		return fmt.Errorf("no ingest queue configured to continue import %s", msg.ImportID)
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	body := string(b)
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.QueueURL, MessageBody: &body}); err != nil {
		return fmt.Errorf("queue continuation of %s: %w", msg.ImportID, err)
	}
	return nil
}

package devstack

// The SQS event source mapping: a poller that delivers queue messages to a function in
// batches, with partial batch failures.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const (
	defaultBatchSize = 10
	defaultPollWait  = time.Second
	maxReceive       = 10 // SQS's limit per ReceiveMessage
	maxPollWait      = 20 * time.Second
	maxPollBackoff   = 10 * time.Second
)

// Poller plays an SQS event source mapping with ReportBatchItemFailures enabled: it
// receives batches from a queue, invokes a function with an events.SQSEvent and deletes
// the messages the function handled. Messages it does not delete stay on the queue and
// come back when their visibility timeout expires (and go to the queue's dead-letter
// queue, if it has a redrive policy, as on AWS).
//
// The Poller never logs message bodies or attributes, which may reference personal data;
// it logs counts, message ids and error types only.
type Poller struct {
	SQS      *sqs.Client // client for the queue's endpoint and region
	QueueURL string      // queue to poll
	QueueARN string      // put into each record's eventSourceARN
	Function string      // name passed to Invoke
	// Invoke runs the function; usually Host.Invoke.
	Invoke func(ctx context.Context, name string, payload []byte) (InvokeResult, error)
	// BatchSize is the most messages per invocation; default 10. Above 10, several
	// receives fill one batch.
	BatchSize int
	// Wait is the long-poll wait; default 1s, at most 20s, rounded up to whole seconds.
	// A negative Wait means short polling.
	Wait time.Duration
	// Logf, if set, receives the Poller's log lines.
	Logf func(format string, args ...any)
}

// Run polls until ctx ends and then returns nil. A failed cycle (see PollOnce) is logged
// and retried with a growing pause of up to 10 s. Run returns an error at once only when
// the Poller is misconfigured (no SQS client, QueueURL, Function or Invoke).
func (p *Poller) Run(ctx context.Context) error {
	if err := p.check(); err != nil {
		return err
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		_, _, err := p.PollOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 500*time.Millisecond), maxPollBackoff)
		p.logf("sqs poller %s: %v (retrying in %s)", p.Function, err, backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
	return nil
}

// PollOnce runs one receive → invoke → delete cycle: it receives up to BatchSize messages
// (long polling for Wait), invokes the function once with them and deletes every message
// of the batch except those the function reported in
// events.SQSEventResponse.BatchItemFailures.
//
// As on AWS, nothing is deleted when the invocation fails (FunctionError set, including
// crashes and timeouts) or when the response reports an item identifier that is empty,
// missing or not a message id of the batch, or is not a JSON object at all (null, an
// empty response or an empty batchItemFailures list mean success).
//
// delivered counts the messages deleted, failed the messages received but left on the
// queue. err reports what kept the cycle from doing its job: receiving, building the
// event, an Invoke error (not a function error), or deleting; a function error is not an
// error of PollOnce. With no message to receive, PollOnce returns 0, 0, nil after Wait.
func (p *Poller) PollOnce(ctx context.Context) (delivered, failed int, err error) {
	if err := p.check(); err != nil {
		return 0, 0, err
	}
	msgs, err := p.receive(ctx)
	if len(msgs) == 0 {
		return 0, 0, err
	}
	if err != nil {
		// A later receive of a large batch failed: go on with what was received.
		p.logf("sqs poller %s: receive: %v", p.Function, err)
	}
	payload, err := json.Marshal(p.event(msgs))
	if err != nil {
		return 0, len(msgs), fmt.Errorf("sqs poller %s: build event: %w", p.Function, err)
	}
	res, err := p.Invoke(ctx, p.Function, payload)
	if err != nil {
		return 0, len(msgs), fmt.Errorf("sqs poller %s: invoke: %w", p.Function, err)
	}
	if res.FunctionError != "" {
		p.logf("sqs poller %s: invocation %s failed (%s): %d messages left on the queue",
			p.Function, res.RequestID, errorTypeOf(res.Payload), len(msgs))
		return 0, len(msgs), nil
	}
	failedIDs, ok := batchItemFailures(res.Payload, msgs)
	if !ok {
		p.logf("sqs poller %s: invocation %s returned an invalid batch response: %d messages left on the queue",
			p.Function, res.RequestID, len(msgs))
		return 0, len(msgs), nil
	}
	var done []sqstypes.Message
	for _, m := range msgs {
		if !failedIDs[aws.ToString(m.MessageId)] {
			done = append(done, m)
		}
	}
	if len(failedIDs) > 0 {
		ids := make([]string, 0, len(failedIDs))
		for _, m := range msgs {
			if id := aws.ToString(m.MessageId); failedIDs[id] {
				ids = append(ids, id)
			}
		}
		p.logf("sqs poller %s: invocation %s reported %d failed messages, left on the queue: %v",
			p.Function, res.RequestID, len(ids), ids)
	}
	deleted, err := p.delete(ctx, done)
	return deleted, len(msgs) - deleted, err
}

func (p *Poller) check() error {
	switch {
	case p.SQS == nil:
		return errors.New("sqs poller: no SQS client")
	case p.QueueURL == "":
		return errors.New("sqs poller: no QueueURL")
	case p.Function == "":
		return errors.New("sqs poller: no Function")
	case p.Invoke == nil:
		return errors.New("sqs poller: no Invoke")
	}
	return nil
}

func (p *Poller) logf(format string, args ...any) {
	if p.Logf != nil {
		p.Logf(format, args...)
	}
}

// receive gets up to BatchSize messages: the first receive long-polls, later ones (for
// batches above 10) take only what is there at once.
func (p *Poller) receive(ctx context.Context) ([]sqstypes.Message, error) {
	want := p.BatchSize
	if want <= 0 {
		want = defaultBatchSize
	}
	wait := p.Wait
	switch {
	case wait == 0:
		wait = defaultPollWait
	case wait < 0:
		wait = 0
	case wait > maxPollWait:
		wait = maxPollWait
	}
	waitSeconds := int32((wait + time.Second - 1) / time.Second)
	var msgs []sqstypes.Message
	for len(msgs) < want {
		n := int32(min(maxReceive, want-len(msgs)))
		out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.QueueURL),
			MaxNumberOfMessages:         n,
			WaitTimeSeconds:             waitSeconds,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return msgs, fmt.Errorf("sqs poller %s: receive: %w", p.Function, err)
		}
		msgs = append(msgs, out.Messages...)
		if int32(len(out.Messages)) < n {
			break
		}
		waitSeconds = 0
	}
	return msgs, nil
}

// event builds the event Lambda's SQS event source mapping sends.
func (p *Poller) event(msgs []sqstypes.Message) events.SQSEvent {
	region := p.SQS.Options().Region
	if region == "" {
		region = Region
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		mattrs := make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			a := events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			mattrs[k] = a
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             attrs,
			MessageAttributes:      mattrs,
			EventSourceARN:         p.QueueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		})
	}
	return ev
}

// batchItemFailures reads a function's response the way Lambda does with
// ReportBatchItemFailures. ok is false when the whole batch counts as failed.
func batchItemFailures(payload []byte, msgs []sqstypes.Message) (failed map[string]bool, ok bool) {
	var resp *struct {
		BatchItemFailures []*struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(payload) == 0 {
		return nil, true
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, false
	}
	if resp == nil { // null
		return nil, true
	}
	inBatch := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		inBatch[aws.ToString(m.MessageId)] = true
	}
	failed = map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if f == nil || f.ItemIdentifier == nil || *f.ItemIdentifier == "" || !inBatch[*f.ItemIdentifier] {
			return nil, false
		}
		failed[*f.ItemIdentifier] = true
	}
	return failed, true
}

// delete removes msgs from the queue, ten per request, and returns how many it removed.
func (p *Poller) delete(ctx context.Context, msgs []sqstypes.Message) (int, error) {
	deleted := 0
	var errs []error
	for start := 0; start < len(msgs); start += maxReceive {
		chunk := msgs[start:min(start+maxReceive, len(msgs))]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{
				Id:            aws.String(strconv.Itoa(i)),
				ReceiptHandle: m.ReceiptHandle,
			}
		}
		out, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(p.QueueURL),
			Entries:  entries,
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		deleted += len(out.Successful)
		for _, f := range out.Failed {
			id := "?"
			if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(chunk) {
				id = aws.ToString(chunk[i].MessageId)
			}
			errs = append(errs, fmt.Errorf("message %s: %s: %s", id, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("sqs poller %s: delete: %w", p.Function, errors.Join(errs...))
	}
	return deleted, nil
}

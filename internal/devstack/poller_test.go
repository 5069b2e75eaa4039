package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// newTestQueue creates a queue on the shared moto_server with a 1 s visibility timeout
// and returns a client, its URL and its ARN.
func newTestQueue(t *testing.T) (*sqs.Client, string, string) {
	t.Helper()
	client := sqs.NewFromConfig(AWSConfig(testMoto(t).URL))
	ctx := context.Background()
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(uniquePrefix(t) + "-events"),
		Attributes: map[string]string{"VisibilityTimeout": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: &url}) })
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &url,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, url, attrs.Attributes["QueueArn"]
}

func sendBodies(t *testing.T, client *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

// queueDepth returns how many messages the queue holds, visible or in flight.
func queueDepth(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: &url,
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		v, err := strconv.Atoi(out.Attributes[k])
		if err != nil {
			t.Fatalf("%s = %q", k, out.Attributes[k])
		}
		n += v
	}
	return n
}

// receiveAgain waits for want messages to become visible again and returns them.
func receiveAgain(t *testing.T, client *sqs.Client, url string, want int) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl:                    &url,
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             2,
			VisibilityTimeout:           30, // keep them out of the next receive
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Messages...)
	}
	if len(got) != want {
		t.Fatalf("received %d messages again, want %d", len(got), want)
	}
	return got
}

// recordingInvoke wraps invoke and keeps the events it was called with.
type recordingInvoke struct {
	mu     sync.Mutex
	events []events.SQSEvent
	invoke func(ctx context.Context, name string, payload []byte) (InvokeResult, error)
}

func (r *recordingInvoke) Invoke(ctx context.Context, name string, payload []byte) (InvokeResult, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return InvokeResult{}, fmt.Errorf("poller sent a payload that is not an SQS event: %v", err)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return r.invoke(ctx, name, payload)
}

func (r *recordingInvoke) records() []events.SQSMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var recs []events.SQSMessage
	for _, ev := range r.events {
		recs = append(recs, ev.Records...)
	}
	return recs
}

func TestPollerPartialBatchFailure(t *testing.T) {
	client, url, arn := newTestQueue(t)
	h, _ := startTestHost(t, FunctionConfig{Name: "consumer"})
	ctx := context.Background()
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    &url,
		MessageBody: aws.String("first ok"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("drop")},
		},
	}); err != nil {
		t.Fatal(err)
	}
	sendBodies(t, client, url, "this one should fail", "second ok")

	rec := &recordingInvoke{invoke: h.Invoke}
	var logged []string
	p := &Poller{
		SQS: client, QueueURL: url, QueueARN: arn, Function: "consumer", Invoke: rec.Invoke,
		Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) },
	}
	delivered, failed, err := p.PollOnce(ctx)
	if err != nil || delivered != 2 || failed != 1 {
		t.Fatalf("PollOnce = %d delivered, %d failed, %v; want 2, 1, nil", delivered, failed, err)
	}

	recs := rec.records()
	if len(recs) != 3 {
		t.Fatalf("function got %d records in %d events, want 3 in one", len(recs), len(rec.events))
	}
	for _, r := range recs {
		if r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != Region ||
			r.MessageId == "" || r.ReceiptHandle == "" || r.Md5OfBody == "" {
			t.Errorf("record lacks standard fields: %+v", r)
		}
		if r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" {
			t.Errorf("record attributes = %v", r.Attributes)
		}
		if r.Body == "first ok" {
			a, ok := r.MessageAttributes["kind"]
			if !ok || a.DataType != "String" || aws.ToString(a.StringValue) != "drop" {
				t.Errorf("message attributes = %+v", r.MessageAttributes)
			}
		}
	}
	if len(logged) == 0 {
		t.Error("the partial failure was not logged")
	}
	for _, l := range logged {
		for _, body := range []string{"first ok", "this one should fail", "second ok"} {
			if strings.Contains(l, body) {
				t.Errorf("log line contains a message body: %q", l)
			}
		}
	}

	// Only the failed message is left, and it comes back once its visibility timeout ends.
	if n := queueDepth(t, client, url); n != 1 {
		t.Errorf("queue holds %d messages after PollOnce, want 1", n)
	}
	again := receiveAgain(t, client, url, 1)
	if b := aws.ToString(again[0].Body); b != "this one should fail" {
		t.Errorf("message left on the queue = %q, want the failed one", b)
	}
	if c := again[0].Attributes["ApproximateReceiveCount"]; c != "2" {
		t.Errorf("ApproximateReceiveCount = %q, want 2", c)
	}
}

func TestPollerCrashLeavesAllMessages(t *testing.T) {
	client, url, arn := newTestQueue(t)
	h, _ := startTestHost(t, FunctionConfig{Name: "crasher"})
	sendBodies(t, client, url, "a", "crash now", "b")

	p := &Poller{SQS: client, QueueURL: url, QueueARN: arn, Function: "crasher", Invoke: h.Invoke}
	delivered, failed, err := p.PollOnce(context.Background())
	if err != nil || delivered != 0 || failed != 3 {
		t.Fatalf("PollOnce = %d delivered, %d failed, %v; want 0, 3, nil", delivered, failed, err)
	}
	if n := queueDepth(t, client, url); n != 3 {
		t.Errorf("queue holds %d messages after the crash, want 3", n)
	}
	var bodies []string
	for _, m := range receiveAgain(t, client, url, 3) {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	sort.Strings(bodies)
	if strings.Join(bodies, ",") != "a,b,crash now" {
		t.Errorf("messages back on the queue = %v", bodies)
	}
}

// TestPollerBatchResponses checks how responses are read, with AWS's rules for
// ReportBatchItemFailures, against a stand-in function.
func TestPollerBatchResponses(t *testing.T) {
	failFirst := func(ids []string) string {
		return fmt.Sprintf(`{"batchItemFailures":[{"itemIdentifier":%q}]}`, ids[0])
	}
	fixed := func(s string) func([]string) string { return func([]string) string { return s } }
	cases := []struct {
		name        string
		response    func(ids []string) string
		funcErr     string
		invokeErr   error
		wantDeleted int
		wantErr     bool
	}{
		{name: "null", response: fixed("null"), wantDeleted: 2},
		{name: "empty", response: fixed(""), wantDeleted: 2},
		{name: "empty object", response: fixed("{}"), wantDeleted: 2},
		{name: "empty list", response: fixed(`{"batchItemFailures":[]}`), wantDeleted: 2},
		{name: "null list", response: fixed(`{"batchItemFailures":null}`), wantDeleted: 2},
		{name: "one failure", response: failFirst, wantDeleted: 1},
		{name: "unknown id", response: fixed(`{"batchItemFailures":[{"itemIdentifier":"not-in-batch"}]}`)},
		{name: "empty id", response: fixed(`{"batchItemFailures":[{"itemIdentifier":""}]}`)},
		{name: "null id", response: fixed(`{"batchItemFailures":[{"itemIdentifier":null}]}`)},
		{name: "bad key", response: fixed(`{"batchItemFailures":[{"id":"x"}]}`)},
		{name: "invalid json", response: fixed(`{"batchItemFailures":`)},
		{name: "not an object", response: fixed(`"done"`)},
		{name: "function error", response: fixed(`{"errorMessage":"x","errorType":"y"}`), funcErr: "Unhandled"},
		{name: "invoke error", invokeErr: errors.New("host down"), wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, url, arn := newTestQueue(t)
			sendBodies(t, client, url, "one", "two")
			p := &Poller{
				SQS: client, QueueURL: url, QueueARN: arn, Function: "stand-in", BatchSize: 2,
				Invoke: func(_ context.Context, _ string, payload []byte) (InvokeResult, error) {
					if c.invokeErr != nil {
						return InvokeResult{}, c.invokeErr
					}
					var ev events.SQSEvent
					if err := json.Unmarshal(payload, &ev); err != nil {
						t.Error(err)
					}
					var ids []string
					for _, r := range ev.Records {
						ids = append(ids, r.MessageId)
					}
					return InvokeResult{Payload: []byte(c.response(ids)), FunctionError: c.funcErr}, nil
				},
			}
			delivered, failed, err := p.PollOnce(context.Background())
			if (err != nil) != c.wantErr || delivered != c.wantDeleted || failed != 2-c.wantDeleted {
				t.Fatalf("PollOnce = %d delivered, %d failed, %v; want %d, %d, error %v",
					delivered, failed, err, c.wantDeleted, 2-c.wantDeleted, c.wantErr)
			}
			if n := queueDepth(t, client, url); n != 2-c.wantDeleted {
				t.Errorf("queue holds %d messages, want %d", n, 2-c.wantDeleted)
			}
		})
	}
}

func TestPollerRunDrainsQueueInBatches(t *testing.T) {
	client, url, arn := newTestQueue(t)
	var bodies []string
	for i := range 13 {
		bodies = append(bodies, fmt.Sprintf("msg-%02d", i))
	}
	sendBodies(t, client, url, bodies...)

	ok := func(context.Context, string, []byte) (InvokeResult, error) {
		return InvokeResult{Payload: []byte("null")}, nil
	}

	// A batch above SQS's 10 per receive is filled by several receives.
	big := &recordingInvoke{invoke: ok}
	p := &Poller{SQS: client, QueueURL: url, QueueARN: arn, Function: "stand-in", Invoke: big.Invoke, BatchSize: 12}
	if d, f, err := p.PollOnce(context.Background()); err != nil || d != 12 || f != 0 {
		t.Fatalf("PollOnce with BatchSize 12 = %d, %d, %v; want 12, 0, nil", d, f, err)
	}
	if len(big.events) != 1 || len(big.events[0].Records) != 12 {
		t.Fatalf("want one event of 12 records, got %d events", len(big.events))
	}

	// Run keeps polling until the queue is empty, and returns nil when its context ends.
	sendBodies(t, client, url, "late-1", "late-2", "late-3")
	small := &recordingInvoke{invoke: ok}
	p = &Poller{SQS: client, QueueURL: url, QueueARN: arn, Function: "stand-in", Invoke: small.Invoke, BatchSize: 2}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for queueDepth(t, client, url) > 0 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("queue not drained; %d left", queueDepth(t, client, url))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	seen := map[string]bool{}
	for _, r := range append(big.records(), small.records()...) {
		seen[r.Body] = true
	}
	if len(seen) != 16 {
		t.Errorf("function saw %d distinct messages, want 16", len(seen))
	}
	for _, ev := range small.events {
		if len(ev.Records) > 2 {
			t.Errorf("event of %d records with BatchSize 2", len(ev.Records))
		}
	}

	if err := (&Poller{}).Run(context.Background()); err == nil {
		t.Error("Run of an unconfigured Poller succeeded")
	}
}

package devstack

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
)

// provisioned provisions the standard resources under a fresh prefix and tears them down when
// the test ends.
func provisioned(t *testing.T) (aws.Config, deploy.Spec, *Provisioned) {
	t.Helper()
	cfg := AWSConfig(testMoto(t).URL)
	spec := deploy.Resources(deploy.NamesFor(uniquePrefix(t)))
	return cfg, spec, provision(t, cfg, spec)
}

func provision(t *testing.T, cfg aws.Config, spec deploy.Spec) *Provisioned {
	t.Helper()
	ctx := context.Background()
	p, err := Provision(ctx, cfg, spec)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() {
		if err := Teardown(context.Background(), cfg, spec); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
	return p
}

func describe(t *testing.T, cfg aws.Config, n deploy.Names) deploy.Spec {
	t.Helper()
	got, err := Describe(context.Background(), cfg, n)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	return got
}

func TestProvisionDescribeEqualsSpec(t *testing.T) {
	t.Parallel()
	cfg, spec, p := provisioned(t)
	if diff := cmp.Diff(spec, describe(t, cfg, spec.Names)); diff != "" {
		t.Errorf("Describe after Provision differs from the spec (-spec +described):\n%s", diff)
	}
	for _, q := range spec.Queues {
		if p.QueueURLs[q.Name] == "" || !strings.HasSuffix(p.QueueARNs[q.Name], ":"+q.Name) {
			t.Errorf("queue %s: url %q arn %q", q.Name, p.QueueURLs[q.Name], p.QueueARNs[q.Name])
		}
	}
	// What deploy.Spec cannot express: on-demand billing and string keys.
	out, err := dynamodb.NewFromConfig(cfg).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(spec.Names.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != ddbtypes.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", bm)
	}
	for _, a := range out.Table.AttributeDefinitions {
		if a.AttributeType != ddbtypes.ScalarAttributeTypeS {
			t.Errorf("attribute %s has type %s, want S", aws.ToString(a.AttributeName), a.AttributeType)
		}
	}
}

// TestProvisionGSIs covers indexes (the standard spec has none yet): created with the table,
// projecting ALL, and added to an existing table when the spec grows one.
func TestProvisionGSIs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := AWSConfig(testMoto(t).URL)
	spec := deploy.Resources(deploy.NamesFor(uniquePrefix(t)))
	spec.Tables[0].GSIs = []deploy.GSI{{Name: "gsi1", HashKey: "gsi1pk", RangeKey: "gsi1sk"}}
	provision(t, cfg, spec)

	spec.Tables[0].GSIs = append(spec.Tables[0].GSIs, deploy.GSI{Name: "gsi2", HashKey: "gsi2pk"})
	if _, err := Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("Provision with an added GSI: %v", err)
	}
	if diff := cmp.Diff(spec, describe(t, cfg, spec.Names)); diff != "" {
		t.Errorf("Describe differs from the spec (-spec +described):\n%s", diff)
	}
	out, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(spec.Names.Table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		if g.Projection == nil || g.Projection.ProjectionType != ddbtypes.ProjectionTypeAll {
			t.Errorf("index %s projection %+v, want ALL", aws.ToString(g.IndexName), g.Projection)
		}
	}

	// Keys cannot change in place: say so rather than pretend.
	bad := deploy.Resources(spec.Names)
	bad.Tables[0].RangeKey = "other"
	if _, err := Provision(ctx, cfg, bad); err == nil || !strings.Contains(err.Error(), "create table "+spec.Names.Table) {
		t.Errorf("Provision with changed keys: err %v, want a create table error", err)
	}
}

func TestProvisionTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	cfg, spec, first := provisioned(t)
	second, err := Provision(context.Background(), cfg, spec)
	if err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Provision returned other queues (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(spec, describe(t, cfg, spec.Names)); diff != "" {
		t.Errorf("Describe after two Provisions differs from the spec (-spec +described):\n%s", diff)
	}
	// One of everything: exactly our queues and buckets exist under the prefix.
	lq, err := sqs.NewFromConfig(cfg).ListQueues(context.Background(), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(spec.Names.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lq.QueueUrls) != len(spec.Queues) {
		t.Errorf("queues under the prefix: %v, want %d", lq.QueueUrls, len(spec.Queues))
	}
	lb, err := s3.NewFromConfig(cfg, blob.Options(cfg)).ListBuckets(context.Background(), &s3.ListBucketsInput{Prefix: aws.String(spec.Names.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Buckets) != len(spec.Buckets) {
		t.Errorf("buckets under the prefix: %d, want %d", len(lb.Buckets), len(spec.Buckets))
	}
}

// s3Event is the part of an S3 notification message the tests read: either event records or
// the s3:TestEvent sent when a configuration is written.
type s3Event struct {
	Event   string `json:"Event"`
	Bucket  string `json:"Bucket"`
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// drain receives and deletes messages until the queue stays empty for a second.
func drain(t *testing.T, c *sqs.Client, queueURL string) []s3Event {
	t.Helper()
	var evs []s3Event
	for {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			return evs
		}
		for _, m := range out.Messages {
			var ev s3Event
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("message body %q: %v", aws.ToString(m.Body), err)
			}
			evs = append(evs, ev)
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete message: %v", err)
			}
		}
	}
}

func TestNotificationDeliversDropsToIngestQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, spec, p := provisioned(t)
	// A second Provision writes the configuration again; it must not double the deliveries.
	if _, err := Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	n := spec.Names
	s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
	sqsc := sqs.NewFromConfig(cfg)
	queue := p.QueueURLs[n.IngestQueue]

	evs := drain(t, sqsc, queue)
	tests := 0
	for _, ev := range evs {
		if ev.Event == "s3:TestEvent" && ev.Bucket == n.DropsBucket {
			tests++
		} else {
			t.Errorf("before any upload: unexpected message %+v", ev)
		}
	}
	if tests == 0 {
		t.Errorf("no s3:TestEvent for bucket %s after configuring the notification", n.DropsBucket)
	}

	keys := []string{"outside/d1/rosters/x.zip", "drops/d1/rosters/x.zip", "drops/d1/rosters/spring export (2).zip"}
	for _, k := range keys {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(n.DropsBucket), Key: aws.String(k), Body: strings.NewReader("zip")}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	got := map[string]int{}
	for _, ev := range drain(t, sqsc, queue) {
		if ev.Event != "" {
			t.Errorf("unexpected %s message", ev.Event)
			continue
		}
		for _, r := range ev.Records {
			if r.EventName != "ObjectCreated:Put" || r.S3.Bucket.Name != n.DropsBucket {
				t.Errorf("record %s for bucket %s, want ObjectCreated:Put for %s", r.EventName, r.S3.Bucket.Name, n.DropsBucket)
			}
			// Keys arrive form-encoded (space as '+'). AWS leaves '/' alone; moto sends it
			// as %2F. url.QueryUnescape decodes both.
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				t.Errorf("key %q: %v", r.S3.Object.Key, err)
			}
			got[key]++
			if key == keys[2] && !strings.HasSuffix(r.S3.Object.Key, "spring+export+%282%29.zip") {
				t.Errorf("key %q sent as %q, want it URL-encoded", key, r.S3.Object.Key)
			}
		}
	}
	want := map[string]int{keys[1]: 1, keys[2]: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records by key (-want +got):\n%s", diff)
	}
}

func TestProvisionRedriveMovesToDLQ(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, spec, p := provisioned(t)
	n := spec.Names
	sqsc := sqs.NewFromConfig(cfg)
	queue, dlq := p.QueueURLs[n.IngestQueue], p.QueueURLs[n.IngestDLQ]

	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		t.Fatal(err)
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &rp); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	if rp.DeadLetterTargetArn != p.QueueARNs[n.IngestDLQ] {
		t.Errorf("deadLetterTargetArn %q, want %q", rp.DeadLetterTargetArn, p.QueueARNs[n.IngestDLQ])
	}

	// Make a received message visible again at once, so each receive counts without waiting.
	if _, err := sqsc.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl: aws.String(queue), Attributes: map[string]string{"VisibilityTimeout": "0"},
	}); err != nil {
		t.Fatal(err)
	}
	drain(t, sqsc, queue) // the s3:TestEvent
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	max := spec.Queues[1].MaxReceiveCount
	receives := 0
	for i := 0; i < max+2; i++ {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		receives += len(out.Messages)
	}
	if receives != max {
		t.Errorf("received the message %d times, want %d (MaxReceiveCount)", receives, max)
	}
	out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "poison" {
		t.Errorf("dead-letter queue holds %+v, want the poison message", out.Messages)
	}
}

func TestTeardownRemovesEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := AWSConfig(testMoto(t).URL)
	spec := deploy.Resources(deploy.NamesFor(uniquePrefix(t)))
	if _, err := Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	n := spec.Names
	s3c := s3.NewFromConfig(cfg, blob.Options(cfg))
	put := func(bucket, key, body string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
	// Two versions of one key, a deleted key (a version under a delete marker), and a plain
	// object in the unversioned bucket.
	put(n.DropsBucket, "drops/d1/rosters/a.zip", "1")
	put(n.DropsBucket, "drops/d1/rosters/a.zip", "2")
	put(n.DropsBucket, "drops/d1/rosters/b.zip", "1")
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(n.DropsBucket), Key: aws.String("drops/d1/rosters/b.zip")}); err != nil {
		t.Fatal(err)
	}
	put(n.ReportsBucket, "reports/d1/report.json", "{}")
	v, err := s3c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(n.DropsBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Versions) != 3 || len(v.DeleteMarkers) != 1 {
		t.Fatalf("drops bucket holds %d versions and %d delete markers, want 3 and 1", len(v.Versions), len(v.DeleteMarkers))
	}

	if err := Teardown(ctx, cfg, spec); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if diff := cmp.Diff(deploy.Spec{Names: n}, describe(t, cfg, n)); diff != "" {
		t.Errorf("Describe after Teardown (-want +got):\n%s", diff)
	}
	if err := Teardown(ctx, cfg, spec); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	// And the names are free again.
	if _, err := Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("Provision after Teardown: %v", err)
	}
	if err := Teardown(ctx, cfg, spec); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
}

func TestDescribeNothing(t *testing.T) {
	t.Parallel()
	cfg := AWSConfig(testMoto(t).URL)
	n := deploy.NamesFor(uniquePrefix(t))
	if diff := cmp.Diff(deploy.Spec{Names: n}, describe(t, cfg, n)); diff != "" {
		t.Errorf("Describe of nothing (-want +got):\n%s", diff)
	}
}

func TestProvisionErrorsNameTheResource(t *testing.T) {
	t.Parallel()
	cfg := AWSConfig(testMoto(t).URL)
	n := deploy.NamesFor(uniquePrefix(t))
	spec := deploy.Spec{Names: n, Queues: []deploy.Queue{{Name: n.IngestQueue, DLQ: "elsewhere", MaxReceiveCount: 3}}}
	_, err := Provision(context.Background(), cfg, spec)
	if err == nil || !strings.Contains(err.Error(), "create queue "+n.IngestQueue) {
		t.Errorf("err %v, want it to name the queue", err)
	}

	// Nothing listens here: the error names the table and the operation.
	dead := AWSConfig("http://127.0.0.1:1")
	dead.RetryMaxAttempts = 1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Provision(ctx, dead, deploy.Resources(n))
	if err == nil || !strings.Contains(err.Error(), "create table "+n.Table+": ") {
		t.Errorf("err %v, want it to start with the operation and table name", err)
	}
}

func TestDescribeReadsRedrivePolicyNumberOrString(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:q-dlq","maxReceiveCount":5}`,
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:q-dlq","maxReceiveCount":"5"}`,
	} {
		var rp redrivePolicy
		if err := json.Unmarshal([]byte(in), &rp); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if rp.MaxReceiveCount != 5 || arnName(rp.DeadLetterTargetArn) != "q-dlq" {
			t.Errorf("%s: read %+v", in, rp)
		}
	}
}

package devstack

// Provisioning: the resources of deploy.Resources created, read back and torn down through
// the standard AWS APIs (moto locally). provision_dynamodb.go holds tables, provision_s3.go
// buckets and notifications, provision_sqs.go queues, dead-letter queues and policies.

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pthv/reach/internal/blob"
	"github.com/pthv/reach/internal/deploy"
)

// Provisioned is what Provision created: the queues' URLs and ARNs by queue name.
type Provisioned struct {
	QueueURLs map[string]string
	QueueARNs map[string]string
}

// tableTimeout bounds the wait for a table (or a new index) to become ACTIVE, or for a deleted
// table to disappear. moto is immediate; AWS takes seconds to minutes.
const tableTimeout = 10 * time.Minute

// notifyTimeout bounds the retries of PutBucketNotificationConfiguration while a freshly set
// queue policy propagates (AWS validates the destination; moto does not).
const notifyTimeout = 60 * time.Second

type clients struct {
	ddb *dynamodb.Client
	s3  *s3.Client
	sqs *sqs.Client
}

func newClients(cfg aws.Config) clients {
	return clients{
		ddb: dynamodb.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, blob.Options(cfg)),
		sqs: sqs.NewFromConfig(cfg),
	}
}

// Provision creates every resource of spec on the endpoint cfg points at (moto locally; the
// code uses only standard AWS APIs): DynamoDB tables (PAY_PER_REQUEST, string keys, GSIs
// projecting ALL), S3 buckets (versioning enabled where Versioned), SQS queues (dead-letter
// queues first, with RedrivePolicy and VisibilityTimeout as given, and a queue policy that lets
// S3 send to every queue a notification targets), and the S3→SQS notifications (one
// QueueConfiguration per notification, with its prefix filter).
//
// It is idempotent and converges: resources that exist are brought to the spec (queue
// attributes, bucket versioning, missing GSIs, each bucket's notification configuration, which
// the spec owns entirely). A table whose keys or GSI keys differ from the spec is an error, as
// DynamoDB cannot change them. Note that S3 (and moto) sends an s3:TestEvent message to the
// queue every time a notification configuration is written.
func Provision(ctx context.Context, cfg aws.Config, spec deploy.Spec) (*Provisioned, error) {
	c := newClients(cfg)
	for _, t := range spec.Tables {
		if err := c.provisionTable(ctx, t); err != nil {
			return nil, err
		}
	}
	for _, b := range spec.Buckets {
		if err := c.provisionBucket(ctx, cfg.Region, b); err != nil {
			return nil, err
		}
	}
	queues, err := dlqFirst(spec.Queues)
	if err != nil {
		return nil, err
	}
	p := &Provisioned{QueueURLs: map[string]string{}, QueueARNs: map[string]string{}}
	for _, q := range queues {
		if err := c.provisionQueue(ctx, q, p); err != nil {
			return nil, err
		}
	}
	if err := c.provisionQueuePolicies(ctx, spec.Notifications, p); err != nil {
		return nil, err
	}
	if err := c.provisionNotifications(ctx, spec, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Teardown deletes every resource of spec: the buckets (emptied first: every object version,
// delete marker and unfinished multipart upload), the queues and the tables. Missing resources
// are not an error. It tries every resource and returns all failures joined.
func Teardown(ctx context.Context, cfg aws.Config, spec deploy.Spec) error {
	c := newClients(cfg)
	var errs []error
	for _, b := range spec.Buckets {
		errs = append(errs, c.deleteBucket(ctx, b.Name))
	}
	// Source queues before their dead-letter queues (the reverse of creation).
	queues, err := dlqFirst(spec.Queues)
	if err != nil {
		queues = spec.Queues
	}
	for i := len(queues) - 1; i >= 0; i-- {
		errs = append(errs, c.deleteQueue(ctx, queues[i].Name))
	}
	for _, t := range spec.Tables {
		errs = append(errs, c.deleteTable(ctx, t.Name))
	}
	return errors.Join(errs...)
}

// Describe reads back what exists on the endpoint for the resources named by names, in the
// same types and order as deploy.Resources(names): the table with its keys and GSIs (sorted by
// name), the buckets with versioning, the queues with dead-letter queue, maxReceiveCount and
// visibility timeout, and the buckets' queue notifications with prefix and events. Resources
// that do not exist are left out, so after Teardown it returns deploy.Spec{Names: names}.
// Billing mode, key attribute types and GSI projections have no place in deploy.Spec and are
// not reported.
func Describe(ctx context.Context, cfg aws.Config, names deploy.Names) (deploy.Spec, error) {
	c := newClients(cfg)
	want := deploy.Resources(names)
	out := deploy.Spec{Names: names}
	for _, t := range want.Tables {
		got, ok, err := c.describeTable(ctx, t.Name)
		if err != nil {
			return out, err
		}
		if ok {
			out.Tables = append(out.Tables, got)
		}
	}
	for _, b := range want.Buckets {
		got, notes, ok, err := c.describeBucket(ctx, b.Name)
		if err != nil {
			return out, err
		}
		if ok {
			out.Buckets = append(out.Buckets, got)
			out.Notifications = append(out.Notifications, notes...)
		}
	}
	for _, q := range want.Queues {
		got, ok, err := c.describeQueue(ctx, q.Name)
		if err != nil {
			return out, err
		}
		if ok {
			out.Queues = append(out.Queues, got)
		}
	}
	return out, nil
}

package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pthv/reach/internal/blob"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

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

// ---- DynamoDB ----

func (c clients) provisionTable(ctx context.Context, t deploy.Table) error {
	if t.HashKey == "" {
		return fmt.Errorf("create table %s: no hash key in spec", t.Name)
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(t.Name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            keySchema(t.HashKey, t.RangeKey),
		AttributeDefinitions: attributeDefinitions(t),
	}
	for _, g := range t.GSIs {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.Name),
			KeySchema:  keySchema(g.HashKey, g.RangeKey),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		})
	}
	_, err := c.ddb.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case err == nil:
	case errors.As(err, &inUse):
		if err := c.convergeTable(ctx, t); err != nil {
			return err
		}
	default:
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	return c.waitTable(ctx, t.Name)
}

// convergeTable checks an existing table against the spec and adds the GSIs it lacks.
func (c clients) convergeTable(ctx context.Context, t deploy.Table) error {
	if err := c.waitTable(ctx, t.Name); err != nil {
		return err
	}
	got, ok, err := c.describeTable(ctx, t.Name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("create table %s: exists but cannot be described", t.Name)
	}
	if got.HashKey != t.HashKey || got.RangeKey != t.RangeKey {
		return fmt.Errorf("create table %s: exists with keys (%s, %s), spec wants (%s, %s); tear it down first",
			t.Name, got.HashKey, got.RangeKey, t.HashKey, t.RangeKey)
	}
	have := map[string]deploy.GSI{}
	for _, g := range got.GSIs {
		have[g.Name] = g
	}
	for _, g := range t.GSIs {
		if h, ok := have[g.Name]; ok {
			if h != g {
				return fmt.Errorf("create table %s: index %s exists with keys (%s, %s), spec wants (%s, %s); tear it down first",
					t.Name, g.Name, h.HashKey, h.RangeKey, g.HashKey, g.RangeKey)
			}
			continue
		}
		// DynamoDB creates one GSI per UpdateTable call.
		_, err := c.ddb.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(t.Name),
			AttributeDefinitions: attributeDefinitions(deploy.Table{HashKey: g.HashKey, RangeKey: g.RangeKey}),
			GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{
				Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
					IndexName:  aws.String(g.Name),
					KeySchema:  keySchema(g.HashKey, g.RangeKey),
					Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
				},
			}},
		})
		if err != nil {
			return fmt.Errorf("create index %s on table %s: %w", g.Name, t.Name, err)
		}
		if err := c.waitIndexes(ctx, t.Name); err != nil {
			return err
		}
	}
	return nil
}

func (c clients) waitTable(ctx context.Context, name string) error {
	w := dynamodb.NewTableExistsWaiter(c.ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 20*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableTimeout); err != nil {
		return fmt.Errorf("wait for table %s to become active: %w", name, err)
	}
	return nil
}

// waitIndexes waits until the table and all its GSIs are ACTIVE (an index added to an existing
// table backfills after the table itself is ACTIVE again).
func (c clients) waitIndexes(ctx context.Context, name string) error {
	deadline := time.Now().Add(tableTimeout)
	delay := 500 * time.Millisecond
	for {
		out, err := c.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", name, err)
		}
		ready := out.Table.TableStatus == ddbtypes.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			if g.IndexStatus != ddbtypes.IndexStatusActive {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for indexes of table %s to become active: timed out after %s", name, tableTimeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for indexes of table %s to become active: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Second)
	}
}

func keySchema(hash, rng string) []ddbtypes.KeySchemaElement {
	ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange})
	}
	return ks
}

// attributeDefinitions declares every key attribute of the table and its GSIs, once, as a string.
func attributeDefinitions(t deploy.Table) []ddbtypes.AttributeDefinition {
	var defs []ddbtypes.AttributeDefinition
	seen := map[string]bool{}
	add := func(name string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		defs = append(defs, ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeTypeS})
	}
	add(t.HashKey)
	add(t.RangeKey)
	for _, g := range t.GSIs {
		add(g.HashKey)
		add(g.RangeKey)
	}
	return defs
}

func (c clients) describeTable(ctx context.Context, name string) (deploy.Table, bool, error) {
	out, err := c.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return deploy.Table{}, false, nil
	}
	if err != nil {
		return deploy.Table{}, false, fmt.Errorf("describe table %s: %w", name, err)
	}
	t := deploy.Table{Name: name}
	t.HashKey, t.RangeKey = keys(out.Table.KeySchema)
	for _, g := range out.Table.GlobalSecondaryIndexes {
		h, r := keys(g.KeySchema)
		t.GSIs = append(t.GSIs, deploy.GSI{Name: aws.ToString(g.IndexName), HashKey: h, RangeKey: r})
	}
	sort.Slice(t.GSIs, func(i, j int) bool { return t.GSIs[i].Name < t.GSIs[j].Name })
	return t, true, nil
}

func keys(ks []ddbtypes.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case ddbtypes.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case ddbtypes.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash, rng
}

func (c clients) deleteTable(ctx context.Context, name string) error {
	_, err := c.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete table %s: %w", name, err)
	}
	w := dynamodb.NewTableNotExistsWaiter(c.ddb, func(o *dynamodb.TableNotExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 20*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableTimeout); err != nil {
		return fmt.Errorf("wait for table %s to be deleted: %w", name, err)
	}
	return nil
}

// ---- S3 ----

func (c clients) provisionBucket(ctx context.Context, region string, b deploy.Bucket) error {
	exists, err := c.bucketExists(ctx, b.Name)
	if err != nil {
		return err
	}
	if !exists {
		in := &s3.CreateBucketInput{Bucket: aws.String(b.Name)}
		if region != "" && region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
				LocationConstraint: s3types.BucketLocationConstraint(region),
			}
		}
		_, err := c.s3.CreateBucket(ctx, in)
		var owned *s3types.BucketAlreadyOwnedByYou
		if err != nil && !errors.As(err, &owned) {
			return fmt.Errorf("create bucket %s: %w", b.Name, err)
		}
	}
	if b.Versioned {
		_, err := c.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(b.Name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		})
		if err != nil {
			return fmt.Errorf("enable versioning on bucket %s: %w", b.Name, err)
		}
		return nil
	}
	// Versioning cannot be switched off once on, only suspended.
	v, err := c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.Name)})
	if err != nil {
		return fmt.Errorf("get versioning of bucket %s: %w", b.Name, err)
	}
	if v.Status == s3types.BucketVersioningStatusEnabled {
		_, err := c.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(b.Name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended},
		})
		if err != nil {
			return fmt.Errorf("suspend versioning on bucket %s: %w", b.Name, err)
		}
	}
	return nil
}

func (c clients) bucketExists(ctx context.Context, name string) (bool, error) {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	if err == nil {
		return true, nil
	}
	if isNoSuchBucket(err) {
		return false, nil
	}
	return false, fmt.Errorf("head bucket %s: %w", name, err)
}

func isNoSuchBucket(err error) bool {
	var nf *s3types.NotFound
	var nsb *s3types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nsb) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchBucket" || ae.ErrorCode() == "NotFound")
}

func (c clients) describeBucket(ctx context.Context, name string) (deploy.Bucket, []deploy.Notification, bool, error) {
	exists, err := c.bucketExists(ctx, name)
	if err != nil || !exists {
		return deploy.Bucket{}, nil, false, err
	}
	b := deploy.Bucket{Name: name}
	v, err := c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
	if err != nil {
		return b, nil, false, fmt.Errorf("get versioning of bucket %s: %w", name, err)
	}
	b.Versioned = v.Status == s3types.BucketVersioningStatusEnabled
	nc, err := c.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(name)})
	if err != nil {
		return b, nil, false, fmt.Errorf("get notification configuration of bucket %s: %w", name, err)
	}
	var notes []deploy.Notification
	for _, qc := range nc.QueueConfigurations {
		n := deploy.Notification{Bucket: name, Queue: arnName(aws.ToString(qc.QueueArn))}
		if qc.Filter != nil && qc.Filter.Key != nil {
			for _, r := range qc.Filter.Key.FilterRules {
				if strings.EqualFold(string(r.Name), "prefix") {
					n.Prefix = aws.ToString(r.Value)
				}
			}
		}
		for _, e := range qc.Events {
			n.Events = append(n.Events, string(e))
		}
		notes = append(notes, n)
	}
	return b, notes, true, nil
}

// deleteBucket empties the bucket (all versions, delete markers and multipart uploads) and
// deletes it.
func (c clients) deleteBucket(ctx context.Context, name string) error {
	exists, err := c.bucketExists(ctx, name)
	if err != nil || !exists {
		return err
	}
	if err := c.emptyBucket(ctx, name); err != nil {
		return err
	}
	_, err = c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	if err != nil && !isNoSuchBucket(err) {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	return nil
}

func (c clients) emptyBucket(ctx context.Context, name string) error {
	uploads := s3.NewListMultipartUploadsPaginator(c.s3, &s3.ListMultipartUploadsInput{Bucket: aws.String(name)})
	for uploads.HasMorePages() {
		page, err := uploads.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list multipart uploads in bucket %s: %w", name, err)
		}
		for _, u := range page.Uploads {
			_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(name), Key: u.Key, UploadId: u.UploadId})
			if err != nil {
				return fmt.Errorf("abort multipart upload %s in bucket %s: %w", aws.ToString(u.Key), name, err)
			}
		}
	}
	// ListObjectVersions also lists the objects of an unversioned bucket (version "null").
	versions := s3.NewListObjectVersionsPaginator(c.s3, &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	for versions.HasMorePages() {
		page, err := versions.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list object versions in bucket %s: %w", name, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		// A page holds at most 1,000 entries of each kind; DeleteObjects takes 1,000.
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(name),
				Delete: &s3types.Delete{Objects: ids[:n], Quiet: aws.Bool(true)},
			})
			if err != nil {
				return fmt.Errorf("delete objects in bucket %s: %w", name, err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("delete objects in bucket %s: %d failed, first %s (version %s): %s %s", name,
					len(out.Errors), aws.ToString(e.Key), aws.ToString(e.VersionId), aws.ToString(e.Code), aws.ToString(e.Message))
			}
			ids = ids[n:]
		}
	}
	return nil
}

// provisionNotifications writes each bucket's notification configuration: one
// QueueConfiguration per notification in the spec, and nothing else. Buckets of the spec
// without a notification get an empty configuration.
func (c clients) provisionNotifications(ctx context.Context, spec deploy.Spec, p *Provisioned) error {
	byBucket := map[string][]s3types.QueueConfiguration{}
	for _, n := range spec.Notifications {
		arn, ok := p.QueueARNs[n.Queue]
		if !ok {
			return fmt.Errorf("put notification configuration on bucket %s: queue %s is not in the spec", n.Bucket, n.Queue)
		}
		qc := s3types.QueueConfiguration{
			Id:       aws.String(notificationID(n)),
			QueueArn: aws.String(arn),
		}
		for _, e := range n.Events {
			qc.Events = append(qc.Events, s3types.Event(e))
		}
		if n.Prefix != "" {
			qc.Filter = &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{
				FilterRules: []s3types.FilterRule{{Name: s3types.FilterRuleNamePrefix, Value: aws.String(n.Prefix)}},
			}}
		}
		byBucket[n.Bucket] = append(byBucket[n.Bucket], qc)
	}
	for _, b := range spec.Buckets {
		if err := c.putNotifications(ctx, b.Name, byBucket[b.Name]); err != nil {
			return err
		}
		delete(byBucket, b.Name)
	}
	for name := range byBucket {
		return fmt.Errorf("put notification configuration on bucket %s: bucket is not in the spec", name)
	}
	return nil
}

func (c clients) putNotifications(ctx context.Context, bucket string, qcs []s3types.QueueConfiguration) error {
	deadline := time.Now().Add(notifyTimeout)
	delay := time.Second
	for {
		_, err := c.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket:                    aws.String(bucket),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: qcs},
		})
		if err == nil {
			return nil
		}
		// AWS checks that the queue policy lets S3 send; a policy set a moment ago may not
		// have propagated yet.
		var ae smithy.APIError
		retry := errors.As(err, &ae) && ae.ErrorCode() == "InvalidArgument" &&
			strings.Contains(ae.ErrorMessage(), "Unable to validate")
		if !retry || time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("put notification configuration on bucket %s: %w", bucket, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("put notification configuration on bucket %s: %w", bucket, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

func notificationID(n deploy.Notification) string {
	return n.Queue + "-" + strings.Trim(strings.ReplaceAll(n.Prefix, "/", "-"), "-")
}

// ---- SQS ----

// dlqFirst orders queues so that every dead-letter queue comes before the queues that use it.
func dlqFirst(qs []deploy.Queue) ([]deploy.Queue, error) {
	inSpec := map[string]bool{}
	for _, q := range qs {
		inSpec[q.Name] = true
	}
	for _, q := range qs {
		if q.DLQ != "" && !inSpec[q.DLQ] {
			return nil, fmt.Errorf("create queue %s: dead-letter queue %s is not in the spec", q.Name, q.DLQ)
		}
		if q.DLQ == q.Name && q.Name != "" {
			return nil, fmt.Errorf("create queue %s: a queue cannot be its own dead-letter queue", q.Name)
		}
	}
	done := map[string]bool{}
	var out []deploy.Queue
	for len(out) < len(qs) {
		progress := false
		for _, q := range qs {
			if done[q.Name] || (q.DLQ != "" && !done[q.DLQ]) {
				continue
			}
			done[q.Name] = true
			out = append(out, q)
			progress = true
		}
		if !progress {
			return nil, errors.New("create queues: the dead-letter queues form a cycle")
		}
	}
	return out, nil
}

// redrivePolicy is a queue's RedrivePolicy attribute as read back. AWS sends maxReceiveCount
// as a number; some emulators send a string.
type redrivePolicy struct {
	DeadLetterTargetArn string
	MaxReceiveCount     int
}

func (r *redrivePolicy) UnmarshalJSON(b []byte) error {
	var raw struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.Trim(string(raw.MaxReceiveCount), `"`))
	if err != nil {
		return fmt.Errorf("maxReceiveCount %s: %w", raw.MaxReceiveCount, err)
	}
	r.DeadLetterTargetArn, r.MaxReceiveCount = raw.DeadLetterTargetArn, n
	return nil
}

func (c clients) provisionQueue(ctx context.Context, q deploy.Queue, p *Provisioned) error {
	attrs := map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(q.VisibilityTimeout),
	}
	if q.DLQ != "" {
		if q.MaxReceiveCount < 1 {
			return fmt.Errorf("create queue %s: MaxReceiveCount must be at least 1 with a dead-letter queue", q.Name)
		}
		rp, _ := json.Marshal(map[string]any{
			"deadLetterTargetArn": p.QueueARNs[q.DLQ],
			"maxReceiveCount":     q.MaxReceiveCount,
		})
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(rp)
	}
	url, ok, err := c.queueURL(ctx, q.Name)
	if err != nil {
		return err
	}
	if !ok {
		out, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.Name), Attributes: attrs})
		if err != nil {
			return fmt.Errorf("create queue %s: %w", q.Name, err)
		}
		url = aws.ToString(out.QueueUrl)
	} else {
		// CreateQueue on an existing queue with other attributes fails; converge instead.
		if q.DLQ == "" {
			cur, err := c.queueAttributes(ctx, q.Name, url)
			if err != nil {
				return err
			}
			if cur[string(sqstypes.QueueAttributeNameRedrivePolicy)] != "" {
				attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = ""
			}
		}
		if _, err := c.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
			return fmt.Errorf("set attributes of queue %s: %w", q.Name, err)
		}
	}
	cur, err := c.queueAttributes(ctx, q.Name, url)
	if err != nil {
		return err
	}
	p.QueueURLs[q.Name] = url
	p.QueueARNs[q.Name] = cur[string(sqstypes.QueueAttributeNameQueueArn)]
	return nil
}

// provisionQueuePolicies lets S3 send the notifications of the spec to their queues (AWS
// refuses a notification configuration whose queue policy does not allow it).
func (c clients) provisionQueuePolicies(ctx context.Context, notes []deploy.Notification, p *Provisioned) error {
	buckets := map[string][]string{}
	var order []string
	for _, n := range notes {
		if _, ok := buckets[n.Queue]; !ok {
			order = append(order, n.Queue)
		}
		buckets[n.Queue] = append(buckets[n.Queue], n.Bucket)
	}
	for _, q := range order {
		arn, ok := p.QueueARNs[q]
		if !ok {
			return fmt.Errorf("set policy of queue %s: queue is not in the spec", q)
		}
		partition := "aws"
		if parts := strings.Split(arn, ":"); len(parts) > 1 && parts[1] != "" {
			partition = parts[1]
		}
		var stmts []any
		seen := map[string]bool{}
		for _, b := range buckets[q] {
			if seen[b] {
				continue
			}
			seen[b] = true
			stmts = append(stmts, map[string]any{
				"Sid":       "s3-notify-" + b,
				"Effect":    "Allow",
				"Principal": map[string]string{"Service": "s3.amazonaws.com"},
				"Action":    "sqs:SendMessage",
				"Resource":  arn,
				"Condition": map[string]any{"ArnLike": map[string]string{"aws:SourceArn": "arn:" + partition + ":s3:*:*:" + b}},
			})
		}
		policy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
		_, err := c.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl:   aws.String(p.QueueURLs[q]),
			Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): string(policy)},
		})
		if err != nil {
			return fmt.Errorf("set policy of queue %s: %w", q, err)
		}
	}
	return nil
}

func (c clients) queueURL(ctx context.Context, name string) (string, bool, error) {
	out, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if isNoSuchQueue(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get url of queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), true, nil
}

func isNoSuchQueue(err error) bool {
	var nq *sqstypes.QueueDoesNotExist
	if errors.As(err, &nq) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "AWS.SimpleQueueService.NonExistentQueue" || ae.ErrorCode() == "QueueDoesNotExist")
}

func (c clients) queueAttributes(ctx context.Context, name, url string) (map[string]string, error) {
	out, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("get attributes of queue %s: %w", name, err)
	}
	return out.Attributes, nil
}

func (c clients) describeQueue(ctx context.Context, name string) (deploy.Queue, bool, error) {
	url, ok, err := c.queueURL(ctx, name)
	if err != nil || !ok {
		return deploy.Queue{}, false, err
	}
	attrs, err := c.queueAttributes(ctx, name, url)
	if isNoSuchQueue(err) {
		return deploy.Queue{}, false, nil
	}
	if err != nil {
		return deploy.Queue{}, false, err
	}
	q := deploy.Queue{Name: name}
	if v := attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)]; v != "" {
		if q.VisibilityTimeout, err = strconv.Atoi(v); err != nil {
			return q, false, fmt.Errorf("get attributes of queue %s: VisibilityTimeout %q: %w", name, v, err)
		}
	}
	if v := attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)]; v != "" {
		var rp redrivePolicy
		if err := json.Unmarshal([]byte(v), &rp); err != nil {
			return q, false, fmt.Errorf("get attributes of queue %s: RedrivePolicy %q: %w", name, v, err)
		}
		q.DLQ, q.MaxReceiveCount = arnName(rp.DeadLetterTargetArn), rp.MaxReceiveCount
	}
	return q, true, nil
}

func (c clients) deleteQueue(ctx context.Context, name string) error {
	url, ok, err := c.queueURL(ctx, name)
	if err != nil || !ok {
		return err
	}
	_, err = c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	if err != nil && !isNoSuchQueue(err) {
		return fmt.Errorf("delete queue %s: %w", name, err)
	}
	return nil
}

// arnName returns the resource name at the end of an SQS ARN (arn:aws:sqs:region:account:name).
func arnName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

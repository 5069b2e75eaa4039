package devstack

// Provisioning of S3 buckets (versioning, emptying on teardown) and their queue
// notifications.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/pthv/reach/internal/deploy"
)

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

package devstack

// Provisioning of SQS queues: dead-letter queues first, redrive policies, and the queue
// policies that let S3 send notifications.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/pthv/reach/internal/deploy"
)

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

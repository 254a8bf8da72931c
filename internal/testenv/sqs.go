package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS returns a client for the SQS API at endpoint (moto_server serves it
// beside Kinesis).
func SQS(t testing.TB, endpoint string) *sqs.Client {
	t.Helper()
	cfg := localConfig(t)
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// CreateQueue creates an SQS queue and returns its URL and ARN.
func CreateQueue(t testing.TB, c *sqs.Client, name string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("attributes of queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl), attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// ReceiveMessages receives (and deletes) the messages on the queue until
// until returns true for the bodies received so far, and returns the
// bodies. It fails the test if until is not satisfied within a generous
// bound (a hang, not a timing assertion).
func ReceiveMessages(t testing.TB, c *sqs.Client, url string, until func(bodies []string) bool) []string {
	t.Helper()
	ctx := context.Background()
	var bodies []string
	for deadline := time.Now().Add(60 * time.Second); !until(bodies); {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: got %d message(s), not what the test waits for:\n%q", url, len(bodies), bodies)
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for _, msg := range out.Messages {
			bodies = append(bodies, aws.ToString(msg.Body))
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle}); err != nil {
				t.Fatalf("delete from %s: %v", url, err)
			}
		}
	}
	return bodies
}

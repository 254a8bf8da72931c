package eventsource

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
)

// The conditions of an on-failure record: why the batch was given up on.
const (
	ConditionRetries   = "RetryAttemptsExhausted" // MaximumRetryAttempts reached
	ConditionRecordAge = "RecordAgeExceeded"      // older than MaximumRecordAgeInSeconds
)

// FailureRecord is what Lambda sends to a Kinesis mapping's OnFailure
// destination for a batch it gives up on: the batch's shard and sequence
// number range, not its records. The shape is the invocation record of
// Lambda's developer guide ("Using Lambda with Kinesis", "Error handling",
// example invocation record; awsdocs/aws-lambda-developer-guide
// doc_source/with-kinesis.md), field for field and in its order:
//
//	{"requestContext": {"requestId": "c9b8fa9f-...", "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
//	   "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
//	 "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
//	 "version": "1.0", "timestamp": "2019-11-14T00:38:06.021Z",
//	 "KinesisBatchInfo": {"shardId": "shardId-000000000001", "startSequenceNumber": "4960...4722",
//	   "endSequenceNumber": "4960...5186", "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04.835Z",
//	   "approximateArrivalOfLastRecord": "2019-11-14T00:38:05.580Z", "batchSize": 500,
//	   "streamArn": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"}}
//
// The condition for records too old, RecordAgeExceeded, is LocalStack's
// (its stream poller, whose tests are recorded against AWS); the guide
// shows only RetryAttemptsExhausted. functionError is left out after a
// partial batch failure (the function returned normally), and
// responseContext when the records were never sent to the function.
type FailureRecord struct {
	RequestContext   RequestContext   `json:"requestContext"`
	ResponseContext  *ResponseContext `json:"responseContext,omitempty"`
	Version          string           `json:"version"`
	Timestamp        string           `json:"timestamp"`
	KinesisBatchInfo KinesisBatchInfo `json:"KinesisBatchInfo"`
}

// RequestContext says which function gave up on the batch, why, and after
// how many invocations.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is the last invocation's response.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// KinesisBatchInfo locates the batch in the stream.
type KinesisBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamARN                       string `json:"streamArn"`
}

// timeFormat is the records' time format: UTC, milliseconds, Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

// failureRecord is the record of giving up on recs after invocations
// failed ones, the last with requestID and response (none: the records were
// never sent to the function).
func (m *Mapping) failureRecord(shard string, recs []types.Record, condition string, invocations int, requestID string, response *ResponseContext) FailureRecord {
	first, end := recs[0], recs[len(recs)-1]
	if requestID == "" {
		requestID = uuid.NewString()
	}
	return FailureRecord{
		RequestContext: RequestContext{RequestID: requestID, FunctionARN: m.FunctionARN,
			Condition: condition, ApproximateInvokeCount: invocations},
		ResponseContext: response,
		Version:         "1.0",
		Timestamp:       time.Now().UTC().Format(timeFormat),
		KinesisBatchInfo: KinesisBatchInfo{
			ShardID:                         shard,
			StartSequenceNumber:             aws.ToString(first.SequenceNumber),
			EndSequenceNumber:               aws.ToString(end.SequenceNumber),
			ApproximateArrivalOfFirstRecord: aws.ToTime(first.ApproximateArrivalTimestamp).UTC().Format(timeFormat),
			ApproximateArrivalOfLastRecord:  aws.ToTime(end.ApproximateArrivalTimestamp).UTC().Format(timeFormat),
			BatchSize:                       len(recs),
			StreamARN:                       m.streamARN,
		},
	}
}

// Destination receives the record of each batch a mapping gives up on.
type Destination interface {
	Send(ctx context.Context, r FailureRecord) error
}

// SQSAPI is the part of the SQS client an SQS destination uses;
// *sqs.Client implements it.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// SQSDestination sends each record as one SQS message, its JSON the body,
// as Lambda does to an SQS OnFailure destination.
type SQSDestination struct {
	Client   SQSAPI
	QueueURL string
}

// Send sends r to the queue.
func (d *SQSDestination) Send(ctx context.Context, r FailureRecord) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = d.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(d.QueueURL), MessageBody: aws.String(string(body))})
	return err
}

// NewSQSDestination returns the destination for queue, given as its URL or
// as its ARN (arn:aws:sqs:REGION:ACCOUNT:NAME, as the template's
// DestinationConfig names it). It checks that the queue exists, so that a
// wrong name fails before any record is read.
func NewSQSDestination(ctx context.Context, c SQSAPI, queue string) (*SQSDestination, error) {
	if arn, ok := strings.CutPrefix(queue, "arn:"); ok {
		p := strings.Split(arn, ":") // partition, sqs, region, account, name
		if len(p) != 5 || p[1] != "sqs" || p[4] == "" {
			return nil, fmt.Errorf("on-failure queue %q: not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", queue)
		}
		in := &sqs.GetQueueUrlInput{QueueName: aws.String(p[4])}
		if p[3] != "" {
			in.QueueOwnerAWSAccountId = aws.String(p[3])
		}
		out, err := c.GetQueueUrl(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("on-failure queue %s: %w", queue, err)
		}
		return &SQSDestination{Client: c, QueueURL: aws.ToString(out.QueueUrl)}, nil
	}
	if !strings.HasPrefix(queue, "http://") && !strings.HasPrefix(queue, "https://") {
		return nil, fmt.Errorf("on-failure queue %q: want a queue URL or ARN", queue)
	}
	if _, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}}); err != nil {
		return nil, fmt.Errorf("on-failure queue %s: %w", queue, err)
	}
	return &SQSDestination{Client: c, QueueURL: queue}, nil
}

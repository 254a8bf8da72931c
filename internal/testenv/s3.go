package testenv

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 returns a client for the S3 API at endpoint, addressing buckets
// path-style (http://127.0.0.1:port/bucket/key), as moto expects.
func S3(t testing.TB, endpoint string) *s3.Client {
	t.Helper()
	cfg := localConfig(t)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // moto sends no checksums
	})
}

// PutObjects creates bucket if it does not exist and puts each key → content.
func PutObjects(t testing.TB, c *s3.Client, bucket string, objects map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
	for key, body := range objects {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
		}
	}
}

package putrecords

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/testenv"
)

// The course's docker-compose environment (KINESIS_ENDPOINT_URL with a
// trailing slash, region eu-west-1) reaches a local Kinesis, even with the
// SDK's global AWS_ENDPOINT_URL pointing elsewhere; the SDK's own
// AWS_ENDPOINT_URL_KINESIS wins over it.
func TestNewClientEndpoint(t *testing.T) {
	moto := testenv.Moto(t)
	local := kinesis.New(testenv.Kinesis(t, moto).Options(), func(o *kinesis.Options) { o.Region = "eu-west-1" })
	testenv.CreateStream(t, local, "ride_predictions", 1)
	unused := "http://127.0.0.1:1"
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"KINESIS_ENDPOINT_URL", map[string]string{"KINESIS_ENDPOINT_URL": moto + "/"}},
		{"over AWS_ENDPOINT_URL", map[string]string{"KINESIS_ENDPOINT_URL": moto + "/", "AWS_ENDPOINT_URL": unused}},
		{"under AWS_ENDPOINT_URL_KINESIS", map[string]string{"KINESIS_ENDPOINT_URL": unused, "AWS_ENDPOINT_URL_KINESIS": moto}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", "")
			t.Setenv("AWS_ENDPOINT_URL_KINESIS", "")
			t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
			t.Setenv("AWS_REGION", "")
			t.Setenv("AWS_ACCESS_KEY_ID", testenv.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", testenv.SecretKey)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := NewClient(context.Background())
			require.NoError(t, err)
			w := &Writer{Client: c}
			res := w.Put(context.Background(), "ride_predictions", []Entry{{Data: []byte(tc.name), Key: "123"}})
			require.Empty(t, res.Failed, "%v", res.LastErr)
		})
	}
	recs := testenv.ReadStream(t, local, "ride_predictions")
	assert.Len(t, recs, 3)
	assert.Equal(t, "123", aws.ToString(recs[0].PartitionKey))
}

func TestNewClientBadEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", "")
	t.Setenv("KINESIS_ENDPOINT_URL", "kinesis:4566")
	_, err := NewClient(context.Background())
	assert.EqualError(t, err, `KINESIS_ENDPOINT_URL="kinesis:4566": want an http:// or https:// URL, e.g. http://localhost:4566`)
}

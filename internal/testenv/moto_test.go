package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"
)

func TestMotoKinesis(t *testing.T) {
	c := Kinesis(t, Moto(t))
	CreateStream(t, c, "ride_events", 2)
	out, err := c.ListStreams(context.Background(), &kinesis.ListStreamsInput{})
	require.NoError(t, err)
	require.Equal(t, []string{"ride_events"}, out.StreamNames)
}

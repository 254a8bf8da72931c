package backoff

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExponential(t *testing.T) {
	for _, c := range []struct {
		first, limit time.Duration
		n            int
		want         time.Duration
	}{
		{50 * time.Millisecond, time.Second, -1, 50 * time.Millisecond},
		{50 * time.Millisecond, time.Second, 0, 50 * time.Millisecond},
		{50 * time.Millisecond, time.Second, 1, 100 * time.Millisecond},
		{50 * time.Millisecond, time.Second, 4, 800 * time.Millisecond},
		{50 * time.Millisecond, time.Second, 5, time.Second},
		{time.Second, 10 * time.Second, 1000, 10 * time.Second}, // no overflow
		{time.Duration(1) << 62, time.Duration(1<<63 - 1), 3, time.Duration(1<<63 - 1)},
	} {
		assert.Equal(t, c.want, Exponential(c.first, c.limit, c.n), "Exponential(%v, %v, %d)", c.first, c.limit, c.n)
	}
}

func TestSleep(t *testing.T) {
	assert.NoError(t, Sleep(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled, "a context that ends ends the sleep")
}

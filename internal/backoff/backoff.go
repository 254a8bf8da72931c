// Package backoff holds the waits between retries, for the writer
// (putrecords) and the local event-source mapping (eventsource) alike: an
// exponential wait with a ceiling, and a sleep that ends with its context.
package backoff

import (
	"context"
	"time"
)

// Exponential is first·2ⁿ, at most limit (first when n ≤ 0).
func Exponential(first, limit time.Duration, n int) time.Duration {
	d := first
	for ; n > 0 && d < limit; n-- {
		if d > limit/2 {
			return limit
		}
		d <<= 1
	}
	return min(d, limit)
}

// Sleep waits d, or less if ctx ends first: then it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package eventsource

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rideduration/rideduration/putrecords"
)

// The fence of an invocation. Lambda ends an invocation that runs past the
// function's timeout by stopping its execution environment: what it had in
// flight may or may not have happened, and nothing it would do later
// happens. A handler run in process cannot be stopped, and one that
// ignores its context goes on, so the mapping fences each invocation off:
//
//   - At the invocation's end (its timeout, or its return if that comes
//     first) its context is cancelled and its fence closes: from then on
//     each write it makes through Fence (or a Fenced client) is refused
//     with ErrInvocationEnded, without being sent.
//   - Every write that passed the fence before it closed runs with a
//     context cancelled at the invocation's end, and the mapping waits for
//     it to return before it goes on (retries, bisects, gives up on or
//     checkpoints the batch).
//   - After a timeout, the mapping also waits for the handler to return,
//     up to Mapping.Grace; past that it logs the invocation as abandoned and
//     goes on without it: its fence keeps refusing its writes.
//
// So no write of an invocation starts after its end, and none is left in
// flight when the batch is retried: the retry's writes are the only ones.
// (A write cancelled in flight may or may not have reached the stream, as
// on Lambda.) A write whose context carries no invocation (e.g.
// context.Background()) is refused with ErrNoInvocation: the fence must
// see each write.
var (
	// ErrInvocationEnded refuses a write made after its invocation timed
	// out or returned.
	ErrInvocationEnded = errors.New("write refused: its invocation has ended (timed out or returned)")
	// ErrNoInvocation refuses a write whose context is not an
	// invocation's (the handler's context, or one derived from it).
	ErrNoInvocation = errors.New("write refused: its context is not a handler invocation's")
)

// invocation is one run of the handler, as its fence sees it.
type invocation struct {
	requestID string
	ctx       context.Context // the handler's: cancelled at the invocation's end

	mu     sync.Mutex
	ended  bool
	writes sync.WaitGroup // calls through the fence, in flight
}

type invocationKey struct{}

// enter lets one call through the fence, unless the invocation has ended.
func (inv *invocation) enter() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.ended {
		return false
	}
	inv.writes.Add(1)
	return true
}

// end closes the fence, cancels the invocation's context and waits for the
// calls in flight through the fence to return.
func (inv *invocation) end(cancel context.CancelFunc) {
	inv.mu.Lock()
	inv.ended = true
	inv.mu.Unlock()
	cancel()
	inv.writes.Wait()
}

// Fence runs fn as part of the invocation whose context ctx is (or derives
// from), with a context cancelled at the invocation's end, and returns its
// error. It refuses to run fn once the invocation has ended
// (ErrInvocationEnded), or when ctx is no invocation's (ErrNoInvocation);
// the mapping waits for a running fn before it goes on with the batch, so
// fn must return once its context is cancelled. The handler's side effects
// go through it: its Kinesis client is Fenced.
func Fence(ctx context.Context, fn func(context.Context) error) error {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	if inv == nil {
		return ErrNoInvocation
	}
	if !inv.enter() {
		return fmt.Errorf("%w: request %s", ErrInvocationEnded, inv.requestID)
	}
	defer inv.writes.Done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(inv.ctx, func() { cancel(fmt.Errorf("%w: request %s", ErrInvocationEnded, inv.requestID)) })()
	return fn(ctx)
}

// Fenced returns c with each PutRecords call made through Fence: the
// client a handler run by a Mapping writes with.
func Fenced(c putrecords.API) putrecords.API { return fenced{c} }

type fenced struct{ putrecords.API }

func (f fenced) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	var out *kinesis.PutRecordsOutput
	err := Fence(ctx, func(ctx context.Context) (err error) {
		out, err = f.API.PutRecords(ctx, in, optFns...)
		return err
	})
	return out, err
}

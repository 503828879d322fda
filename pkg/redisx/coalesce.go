package redisx

import (
	"context"
	"errors"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrCoalescerClosed is returned by Exec after Close.
var ErrCoalescerClosed = errors.New("redisx: coalescer closed")

// maxCoalesced bounds how many callers share one pipeline.
const maxCoalesced = 64

// Coalescer sends the commands of concurrent callers to Redis together.
// A caller's commands wait while a round trip is in flight; the next
// round trip takes everything that queued meanwhile as one pipeline. A
// busy reader (the gateway under many clients, each request one or two
// small reads) then pays one write and one read system call per batch, in
// the client and in Redis, instead of per request; an idle one pays a
// channel hop.
type Coalescer struct {
	rdb  redis.UniversalClient
	reqs chan *coalesced
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type coalesced struct {
	queue func(redis.Pipeliner)
	done  chan struct{}
}

// NewCoalescer starts a coalescer on rdb with conns round trips in flight
// at most (each on its own connection).
func NewCoalescer(rdb redis.UniversalClient, conns int) *Coalescer {
	c := &Coalescer{rdb: rdb, reqs: make(chan *coalesced), done: make(chan struct{})}
	for range max(conns, 1) {
		c.wg.Add(1)
		go c.run()
	}
	return c
}

// Exec runs the commands queue adds to a pipeline shared with other
// callers and returns once they are answered. Each command carries its
// own result and error (a redis.Nil of one caller is no error of
// another), so Exec's error only says the commands were not sent: ctx
// ended first or the coalescer is closed. queue runs on the coalescer's
// goroutine and must only add commands.
func (c *Coalescer) Exec(ctx context.Context, queue func(redis.Pipeliner)) error {
	r := &coalesced{queue: queue, done: make(chan struct{})}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrCoalescerClosed
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		// The commands still run; nobody reads their answers.
		return ctx.Err()
	}
}

// Close stops the coalescer once the round trips in flight are answered.
func (c *Coalescer) Close() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
}

func (c *Coalescer) run() {
	defer c.wg.Done()
	batch := make([]*coalesced, 0, maxCoalesced)
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		case <-c.done:
			return
		}
	fill:
		for len(batch) < maxCoalesced {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		pipe := c.rdb.Pipeline()
		for _, r := range batch {
			r.queue(pipe)
		}
		// The callers read their own commands' errors; the pipeline's
		// first error belongs to one of them. The callers' contexts are
		// not the round trip's: one caller giving up must not fail the
		// others, and the client's read and write timeouts still apply.
		_, _ = pipe.Exec(context.Background())
		for _, r := range batch {
			close(r.done)
		}
	}
}

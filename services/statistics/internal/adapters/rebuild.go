// Package adapters holds the statistics service's infrastructure pieces
// beyond pkg/projection: the consumer runner that can replay the stream,
// and the gazetteer file reader.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Runner owns the statistics consumer so it can be stopped, deleted and
// recreated from the start of the stream by a rebuild. It is the service's
// Drainer.
type Runner struct {
	js    jetstream.JetStream
	store *projection.Store
	cfg   natsx.ConsumerConfig
	h     natsx.Handler
	log   *slog.Logger
	// Poll is how often a rebuild checks whether the replay caught up.
	Poll time.Duration

	mu     sync.Mutex
	runCtx context.Context
	cons   *natsx.Consumer
}

// NewRunner returns a runner; Start starts consuming.
func NewRunner(js jetstream.JetStream, store *projection.Store, cfg natsx.ConsumerConfig, h natsx.Handler, log *slog.Logger) *Runner {
	return &Runner{js: js, store: store, cfg: cfg, h: h, log: log, Poll: 100 * time.Millisecond}
}

// Start creates (or resumes) the durable consumer and handles messages
// until Stop or until ctx ends.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runCtx = ctx
	cons, err := natsx.Consume(ctx, r.js, r.cfg, r.h, r.log)
	if err != nil {
		return err
	}
	r.cons = cons
	return nil
}

// Stop drains the consumer (lifecycle.Drainer).
func (r *Runner) Stop(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cons != nil {
		r.cons.Stop(ctx)
		r.cons = nil
	}
}

// Checksum digests the projections.
func (r *Runner) Checksum(ctx context.Context) (string, int64, error) { return r.store.Checksum(ctx) }

// Rebuild stops the consumer, deletes every projection key, deletes the
// durable consumer and creates it again from the start of BILAT_ENRICHED,
// then waits until it has handled every message the stream held.
func (r *Runner) Rebuild(ctx context.Context) (*bilatv1.RebuildProjectionsResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx == nil || r.runCtx.Err() != nil {
		return nil, errors.New("rebuild: the consumer is not running")
	}
	if r.cons != nil {
		r.cons.Stop(ctx)
		r.cons = nil
	}
	// Whatever fails below, the service goes on consuming: a failed
	// rebuild leaves partial projections that the next rebuild replaces.
	defer func() {
		if r.cons == nil && r.runCtx.Err() == nil {
			if cons, err := natsx.Consume(r.runCtx, r.js, r.cfg, r.h, r.log); err != nil {
				r.log.Error("rebuild: restart consumer", "err", err)
			} else {
				r.cons = cons
			}
		}
	}()
	// From dropping the projections to restarting the replay from the
	// first message, the steps run to the end even if the caller gives up
	// (only waiting for the replay follows its context), and the marker
	// says "rebuilding", so that a restart in between (which would resume
	// the old consumer's position over dropped projections) starts the
	// rebuild again.
	waitCtx := ctx
	ctx = context.WithoutCancel(ctx)
	if err := r.store.MarkRebuilding(ctx); err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	deleted, err := r.store.DeleteAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	if err := r.js.DeleteConsumer(ctx, r.cfg.Stream, r.cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("rebuild: delete consumer %s: %w", r.cfg.Durable, err)
	}
	r.log.Info("rebuild: projections dropped, replaying", "deleted_keys", deleted)
	cons, err := natsx.Consume(r.runCtx, r.js, r.cfg, r.h, r.log)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	r.cons = cons
	if err := r.store.MarkLayout(ctx); err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	replayed, err := r.waitCaughtUp(waitCtx)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	sum, keys, err := r.store.Checksum(waitCtx)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	r.log.Info("rebuild done", "replayed", replayed, "keys", keys, "checksum", sum)
	return &bilatv1.RebuildProjectionsResponse{DeletedKeys: deleted, Replayed: replayed, Checksum: sum, Keys: keys}, nil
}

// waitCaughtUp polls the consumer until nothing is pending or awaiting an
// ack; it returns the number of stream messages delivered.
func (r *Runner) waitCaughtUp(ctx context.Context) (uint64, error) {
	c, err := r.js.Consumer(ctx, r.cfg.Stream, r.cfg.Durable)
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", r.cfg.Durable, err)
	}
	t := time.NewTicker(r.Poll)
	defer t.Stop()
	for {
		info, err := c.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("consumer info: %w", err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return info.Delivered.Stream, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the replay (%d pending): %w", info.NumPending, ctx.Err())
		case <-r.runCtx.Done():
			return 0, fmt.Errorf("waiting for the replay: service stopping: %w", r.runCtx.Err())
		case <-t.C:
		}
	}
}

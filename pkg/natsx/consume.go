package natsx

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler handles one message. Returning nil acks it, so return only after
// the effect is durable. Return Poison(err) for a message that can never
// succeed (it is dead-lettered, then terminated); any other error is
// retried with a delay.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// BatchHandler handles several messages at once and returns one error per
// message, in order: nil acks that message, the others are treated as a
// Handler's error for it (Poison dead-letters, anything else is retried).
// Messages with the same partition key are in stream order.
type BatchHandler func(ctx context.Context, msgs []jetstream.Msg) []error

// PoisonError marks a message that no retry can fix.
type PoisonError struct{ Err error }

func (e *PoisonError) Error() string { return e.Err.Error() }
func (e *PoisonError) Unwrap() error { return e.Err }

// Poison wraps err as a PoisonError.
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return &PoisonError{Err: err}
}

// IsPoison reports whether err is or wraps a PoisonError.
func IsPoison(err error) bool {
	var p *PoisonError
	return errors.As(err, &p)
}

// PullExpiry and PullHeartbeat are the pull request expiry and idle
// heartbeat of every consumer (see Consume).
const (
	PullExpiry    = 5 * time.Second
	PullHeartbeat = time.Second
)

// PullBatch is how many messages a consumer asks for per pull. A stage
// with a backlog (a bulk import, a replay) then gets its messages in
// fewer, larger exchanges and hands its workers larger batches: against
// 64, in alternating pairs of benchmark runs, the pipeline moved more
// events per second in eight pairs of nine, with less CPU per event in
// the statistics stage in all nine (docs/benchmarks-history.md, "The NATS
// path alone").
// DefaultMaxAckPending still bounds what is in flight.
const PullBatch = 512

// DefaultMaxAckPending bounds the messages a consumer holds unacknowledged
// unless it sets its own: as many as eight workers hold in their queues and
// batches of DefaultBatchSize, so that a stage with a backlog (a bulk
// import, a replay) hands its workers full batches. Against 1000, in three
// alternating pairs of benchmark runs, the rebuild replayed 7–14 % more
// events per second with 8–11 % less CPU per event in statistics, and the
// pipeline moved 1–5 % more with less CPU per event, in every pair
// (docs/benchmarks-history.md, "MaxAckPending").
const DefaultMaxAckPending = 4096

// DefaultBatchSize bounds a batch handler's batch unless the consumer
// sets its own. A stage waits once per batch for what it publishes or
// writes, so when it is behind, larger batches mean fewer waits per
// message: against 64, in three alternating pairs of benchmark runs, the
// pipeline moved 7.5–8.5 % of the single hop's events per second against
// 6.4–7.5, and the NATS path 17.0–21.4 % against 13.4–16.0
// (docs/benchmarks-history.md, "The NATS path alone"). A stage that keeps up
// gets small batches anyway: a worker never waits for more.
const DefaultBatchSize = 256

// ConsumerConfig describes a durable pull consumer with explicit acks.
type ConsumerConfig struct {
	Stream  string
	Durable string
	// Stage names the pipeline stage in dead-letter subjects and metrics.
	Stage          string
	FilterSubjects []string
	// MaxDeliver bounds deliveries; the last failing one is dead-lettered.
	MaxDeliver int
	AckWait    time.Duration
	// BackOff is the delay before each redelivery after a transient error
	// (the last value repeats).
	BackOff       []time.Duration
	MaxAckPending int
	// HandlerTimeout bounds one handler call.
	HandlerTimeout time.Duration
	// Workers handle messages concurrently; 0 or 1 handles one at a time.
	// A stage waits on the network for most of each message, so a few
	// workers multiply its throughput.
	Workers int
	// PartitionKey sends messages with the same key to the same worker, in
	// stream order (for example the record id, so two versions of one
	// record are never applied at once). Nil spreads messages by sequence.
	PartitionKey func(jetstream.Msg) string
	// HandleBatch, when set, replaces the Handler given to Consume: each
	// worker hands it the messages already waiting in its queue, up to
	// BatchSize (it never waits for more to arrive), in stream order per
	// partition key.
	HandleBatch BatchHandler
	// BatchSize bounds a HandleBatch batch (default DefaultBatchSize).
	BatchSize int
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 20
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if len(c.BackOff) == 0 {
		c.BackOff = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = c.AckWait
	}
	if c.Stage == "" {
		c.Stage = c.Durable
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	return c
}

func (c ConsumerConfig) backoff(delivered uint64) time.Duration {
	i := int(delivered) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(c.BackOff) {
		i = len(c.BackOff) - 1
	}
	return c.BackOff[i]
}

// Consumer is a running consume loop.
type Consumer struct {
	cc     jetstream.ConsumeContext
	once   sync.Once
	queues []chan jetstream.Msg
	wg     sync.WaitGroup
	// abandon tells workers to leave queued messages unhandled (they are
	// redelivered) once Stop's deadline has passed.
	abandon     chan struct{}
	abandonOnce sync.Once
}

func (c *Consumer) abandonWork() { c.abandonOnce.Do(func() { close(c.abandon) }) }

// stuckWait bounds how long Stop waits, past its deadline, for a handler
// that is still running.
const stuckWait = 5 * time.Second

// Consume creates (or updates) the durable consumer and handles its
// messages until Stop: one at a time in stream order, or with cfg.Workers
// workers, in stream order per partition key. With cfg.HandleBatch set, h
// is not used (it may be nil) and each worker hands its waiting messages
// to HandleBatch.
func Consume(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, h Handler, log *slog.Logger) (*Consumer, error) {
	cfg = cfg.withDefaults()
	var cons jetstream.Consumer
	err := retry(ctx, func() error {
		var err error
		cons, err = js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
			Durable:        cfg.Durable,
			FilterSubjects: cfg.FilterSubjects,
			AckPolicy:      jetstream.AckExplicitPolicy,
			DeliverPolicy:  jetstream.DeliverAllPolicy,
			AckWait:        cfg.AckWait,
			MaxDeliver:     cfg.MaxDeliver,
			MaxAckPending:  cfg.MaxAckPending,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	log = log.With("stage", cfg.Stage, "consumer", cfg.Durable)
	c := &Consumer{abandon: make(chan struct{})}
	deliver := func(msg jetstream.Msg) { handle(js, cfg, h, log, msg) }
	switch {
	case cfg.HandleBatch != nil:
		c.startBatchWorkers(max(cfg.Workers, 1), cfg.BatchSize, func(msgs []jetstream.Msg) {
			handleBatch(js, cfg, log, msgs)
		})
		deliver = func(msg jetstream.Msg) { c.queues[partition(cfg, msg, len(c.queues))] <- msg }
	case cfg.Workers > 1:
		c.startWorkers(cfg.Workers, deliver)
		deliver = func(msg jetstream.Msg) { c.queues[partition(cfg, msg, len(c.queues))] <- msg }
	}
	// Short pull requests with frequent heartbeats: a pull that the client
	// and the server disagree about (seen under bursts, the server holding
	// no request while the client waits for the rest of one) is noticed
	// after two missed heartbeats and re-issued, instead of after the
	// 30 s default expiry, during which the consumer received nothing.
	cc, err := cons.Consume(deliver, jetstream.PullMaxMessages(PullBatch),
		jetstream.PullExpiry(PullExpiry), jetstream.PullHeartbeat(PullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				log.Info("consume: pull re-issued after two missed heartbeats")
				return
			}
			log.Warn("consume", "err", err)
		}))
	if err != nil {
		c.stopWorkers(ctx)
		return nil, fmt.Errorf("consume %s: %w", cfg.Durable, err)
	}
	c.cc = cc
	return c, nil
}

func (c *Consumer) startWorkers(n int, handle func(jetstream.Msg)) {
	c.queues = make([]chan jetstream.Msg, n)
	for i := range c.queues {
		q := make(chan jetstream.Msg, 16)
		c.queues[i] = q
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for msg := range q {
				select {
				case <-c.abandon:
					continue // not acked: redelivered after AckWait
				default:
				}
				handle(msg)
			}
		}()
	}
}

// startBatchWorkers is startWorkers for a batch handler: a worker takes
// the first message it waits for, then whatever else its queue already
// holds, up to size, without waiting.
func (c *Consumer) startBatchWorkers(n, size int, handle func([]jetstream.Msg)) {
	c.queues = make([]chan jetstream.Msg, n)
	for i := range c.queues {
		q := make(chan jetstream.Msg, max(16, size))
		c.queues[i] = q
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			batch := make([]jetstream.Msg, 0, size)
			for msg := range q {
				batch = append(batch[:0], msg)
			fill:
				for len(batch) < size {
					select {
					case m, ok := <-q:
						if !ok {
							break fill
						}
						batch = append(batch, m)
					default:
						break fill
					}
				}
				select {
				case <-c.abandon:
					continue // not acked: redelivered after AckWait
				default:
				}
				handle(batch)
			}
		}()
	}
}

// stopWorkers closes the queues and waits for the workers to finish what
// they hold, or abandons it when ctx ends first. Call it only when no
// callback can enqueue any more.
func (c *Consumer) stopWorkers(ctx context.Context) {
	for _, q := range c.queues {
		close(q)
	}
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.abandonWork()
		select {
		case <-done:
		case <-time.After(stuckWait):
		}
	}
}

func partition(cfg ConsumerConfig, msg jetstream.Msg, n int) int {
	var key string
	if cfg.PartitionKey != nil {
		key = cfg.PartitionKey(msg)
	} else if meta := Meta(msg); meta != nil {
		key = strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Stop stops fetching, lets the buffered and in-flight messages finish,
// and returns when the loop is done or ctx ends (unfinished messages are
// then redelivered later, never lost).
func (c *Consumer) Stop(ctx context.Context) {
	c.once.Do(func() {
		c.cc.Drain()
		select {
		case <-c.cc.Closed():
		case <-ctx.Done():
			c.abandonWork() // unblocks a callback waiting on a full queue
			c.cc.Stop()
			select {
			case <-c.cc.Closed():
			case <-time.After(stuckWait):
				return // a handler is stuck; its message is redelivered after AckWait
			}
		}
		// No callback runs any more: nothing else enters the queues.
		c.stopWorkers(ctx)
	})
}

func handle(js jetstream.JetStream, cfg ConsumerConfig, h Handler, log *slog.Logger, msg jetstream.Msg) {
	start := time.Now()
	defer func() { metricHandleSeconds.WithLabelValues(cfg.Stage).Observe(time.Since(start).Seconds()) }()
	// The handler's context is not the service's: a drain lets the
	// in-flight message finish rather than cancelling it half-way.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HandlerTimeout)
	defer cancel()
	settle(ctx, js, cfg, log, msg, safeCall(ctx, h, msg))
}

// handleBatch is handle for a batch handler: one call for msgs, then each
// message is acked, retried or dead-lettered by its own result.
func handleBatch(js jetstream.JetStream, cfg ConsumerConfig, log *slog.Logger, msgs []jetstream.Msg) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HandlerTimeout)
	defer cancel()
	errs, panicked := safeBatchCall(ctx, cfg.HandleBatch, msgs)
	if panicked && len(msgs) > 1 {
		// Find the message that crashes the handler: one at a time, so
		// only that one is dead-lettered (handlers are idempotent).
		errs = make([]error, len(msgs))
		for i := range msgs {
			e, _ := safeBatchCall(ctx, cfg.HandleBatch, msgs[i:i+1])
			if len(e) == 1 {
				errs[i] = e[0]
			} else {
				errs[i] = fmt.Errorf("batch handler returned %d results for 1 message", len(e))
			}
		}
	}
	if len(errs) != len(msgs) {
		err := fmt.Errorf("batch handler returned %d results for %d messages", len(errs), len(msgs))
		errs = make([]error, len(msgs))
		for i := range errs {
			errs[i] = err
		}
	}
	for i, msg := range msgs {
		settle(ctx, js, cfg, log, msg, errs[i])
	}
	// Each message is charged its share of the batch.
	per := time.Since(start).Seconds() / float64(len(msgs))
	for range msgs {
		metricHandleSeconds.WithLabelValues(cfg.Stage).Observe(per)
	}
}

// settle acks msg when err is nil, and otherwise retries it with a delay
// or dead-letters it (poison, or the last delivery).
func settle(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig, log *slog.Logger, msg jetstream.Msg, err error) {
	meta := Meta(msg)
	var delivered uint64 = 1
	var seq uint64
	if meta != nil {
		delivered, seq = meta.NumDelivered, meta.Sequence.Stream
	}
	switch {
	case err == nil:
		// A plain ack, not a confirmed one: the effect is already durable
		// and idempotent, so a lost ack costs one harmless redelivery, while
		// waiting for the confirmation cost a round trip per message.
		if aerr := msg.Ack(); aerr != nil {
			log.Warn("ack failed, message will be redelivered", "seq", seq, "err", aerr)
			return
		}
		metricHandled.WithLabelValues(cfg.Stage, "acked").Inc()
	case IsPoison(err) || delivered >= uint64(cfg.MaxDeliver):
		reason := err.Error()
		if !IsPoison(err) {
			reason = fmt.Sprintf("gave up after %d deliveries: %s", delivered, reason)
		}
		if derr := DeadLetter(ctx, js, cfg.Stage, msg, reason); derr != nil {
			log.Error("dead-letter failed, retrying later", "seq", seq, "reason", reason, "err", derr)
			_ = msg.NakWithDelay(cfg.backoff(delivered))
			metricHandled.WithLabelValues(cfg.Stage, "retried").Inc()
			return
		}
		if terr := msg.TermWithReason(truncate(reason, 200)); terr != nil {
			log.Warn("term failed", "seq", seq, "err", terr)
		}
		log.Warn("dead-lettered", "seq", seq, "subject", msg.Subject(), "reason", reason)
		metricHandled.WithLabelValues(cfg.Stage, "dead_lettered").Inc()
	default:
		delay := cfg.backoff(delivered)
		log.Warn("transient failure, retrying", "seq", seq, "delivered", delivered, "delay", delay, "err", err)
		_ = msg.NakWithDelay(delay)
		metricHandled.WithLabelValues(cfg.Stage, "retried").Inc()
	}
}

// safeCall turns a handler panic into a poison error: a message that
// crashes the handler would crash it again on every redelivery.
func safeCall(ctx context.Context, h Handler, msg jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Poison(fmt.Errorf("handler panic: %v", r))
		}
	}()
	return h(ctx, msg)
}

// safeBatchCall is safeCall for a batch handler: a panic fails every
// message of the call as poison (handleBatch then retries them one by one).
func safeBatchCall(ctx context.Context, h BatchHandler, msgs []jetstream.Msg) (errs []error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			err := Poison(fmt.Errorf("handler panic: %v", r))
			errs = make([]error, len(msgs))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	return h(ctx, msgs), false
}

// Meta returns the message's JetStream metadata, or nil when it has none.
func Meta(msg jetstream.Msg) *jetstream.MsgMetadata {
	m, err := msg.Metadata()
	if err != nil {
		return nil
	}
	return m
}

// DeadLetter publishes msg to bilat.dlq.<stage> with the reason and origin
// in headers. Its id is derived from the origin, so retries store it once.
func DeadLetter(ctx context.Context, js jetstream.JetStream, stage string, msg jetstream.Msg, reason string) error {
	hdr := nats.Header{}
	for k, v := range msg.Headers() {
		if k == HeaderMsgID {
			hdr.Set(HeaderDLQMsgID, v[0])
			continue
		}
		hdr[k] = append([]string(nil), v...)
	}
	hdr.Set(HeaderDLQReason, reason)
	hdr.Set(HeaderDLQStage, stage)
	hdr.Set(HeaderDLQSubject, msg.Subject())
	hdr.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	id := "dlq-" + stage + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if meta := Meta(msg); meta != nil {
		hdr.Set(HeaderDLQStream, meta.Stream)
		hdr.Set(HeaderDLQSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
		hdr.Set(HeaderDLQDelivered, strconv.FormatUint(meta.NumDelivered, 10))
		id = "dlq-" + stage + "-" + meta.Stream + "-" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	if _, err := Publish(ctx, js, SubjectDLQ(stage), id, msg.Data(), hdr); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

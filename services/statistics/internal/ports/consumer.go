// Package ports connects the statistics app to the outside: the JetStream
// consumer handler and the StatisticsService gRPC handlers.
package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/services/statistics/internal/app"
	"bilat.dev/services/statistics/internal/domain"
)

// Consumer settings of the statistics stage.
const (
	// Durable is named in pkg/natsx: the gateway's watches follow its ack floor.
	Durable = natsx.DurableStatistics
	Stage   = "statistics"
)

var metricProjected = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "bilat_statistics_events_total",
	Help: "Enriched events projected, by record kind and outcome (applied, duplicate, stale).",
}, []string{"kind", "outcome"})

// ConsumerConfig is the durable consumer statistics reads BILAT_ENRICHED with.
// Its only transient failure is Redis being away, and applying is
// idempotent, so it retries for hours (1000 deliveries, 30 s apart at
// most) before a message is dead-lettered; messages retried meanwhile may
// be applied out of order, which the sequence guard makes harmless.
func ConsumerConfig() natsx.ConsumerConfig {
	return natsx.ConsumerConfig{
		Stream:         natsx.StreamEnriched,
		Durable:        Durable,
		Stage:          Stage,
		FilterSubjects: []string{"bilat.enriched.>"},
		MaxDeliver:     1000,
		BackOff: []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, time.Second,
			2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second},
		// Each event waits on Redis round trips; several workers overlap
		// them. Events of one record stay in order on one worker, which the
		// partner-move protocol needs (docs/architecture.md).
		Workers:   Workers,
		BatchSize: BatchSize,
		PartitionKey: func(msg jetstream.Msg) string {
			return domain.RecordKey(msg.Subject(), msg.Data())
		},
	}
}

// Workers is how many events statistics applies at once.
const Workers = 8

// BatchSize is the most events a worker applies in one batch
// (BatchHandler): the events already waiting for it, never waiting for more.
const BatchSize = natsx.DefaultBatchSize

// EventHandler adapts the app to natsx.Consume: it returns nil (ack) only
// after Redis accepted every step, Poison for messages no retry can fix,
// and any other error (Redis down, a concurrent writer) for a retry.
func EventHandler(svc *app.Service, log *slog.Logger) natsx.Handler {
	return func(ctx context.Context, msg jetstream.Msg) error {
		res, err := svc.Project(ctx, message(msg))
		return outcome(log, msg, res, err)
	}
}

// BatchHandler is EventHandler for natsx.ConsumerConfig.HandleBatch: the
// waiting messages of one worker are projected together
// (app.Service.ProjectBatch), and each is acked, retried or dead-lettered
// by its own result.
func BatchHandler(svc *app.Service, log *slog.Logger) natsx.BatchHandler {
	return func(ctx context.Context, msgs []jetstream.Msg) []error {
		ms := make([]app.Message, len(msgs))
		for i, msg := range msgs {
			ms[i] = message(msg)
		}
		results, errs := svc.ProjectBatch(ctx, ms)
		out := make([]error, len(msgs))
		for i, msg := range msgs {
			out[i] = outcome(log, msg, results[i], errs[i])
		}
		return out
	}
}

func message(msg jetstream.Msg) app.Message {
	return app.Message{
		Subject:   msg.Subject(),
		Data:      msg.Data(),
		EventType: msg.Headers().Get(natsx.HeaderEventType),
	}
}

// outcome turns a projection result into the handler's answer for msg.
func outcome(log *slog.Logger, msg jetstream.Msg, res app.Result, err error) error {
	if errors.Is(err, app.ErrPermanent) {
		return natsx.Poison(err)
	}
	if err != nil {
		var seq uint64
		if meta := natsx.Meta(msg); meta != nil {
			seq = meta.Sequence.Stream
		}
		return fmt.Errorf("project enriched seq %d: %w", seq, err)
	}
	metricProjected.WithLabelValues(res.Kind.String(), res.Outcome.String()).Inc()
	log.Debug("projected", "kind", res.Kind, "id", res.RecordID, "event", res.EventID, "outcome", res.Outcome)
	return nil
}

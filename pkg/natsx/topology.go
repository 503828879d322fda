// Package natsx is Bilat's JetStream layer: the streams and subjects every
// service shares, publishing with deduplication ids, and a consume loop
// that acks only after the handler's effect is durable.
package natsx

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/config"
)

// Streams and buckets.
const (
	StreamIngest      = "BILAT_INGEST"
	StreamEvents      = "BILAT_EVENTS"
	StreamEnriched    = "BILAT_ENRICHED"
	StreamDLQ         = "BILAT_DLQ"
	BucketIdempotency = "BILAT_IDEMPOTENCY"
)

// DurableStatistics is the statistics service's durable consumer on
// BILAT_ENRICHED; its ack floor says how far the projections have got.
const DurableStatistics = "statistics"

// Subjects.
const (
	SubjectIngestAgreement = "bilat.ingest.agreement"
	SubjectIngestTrade     = "bilat.ingest.trade_figure"
	SubjectEventAgreement  = "bilat.events.agreement.recorded"
	SubjectEventTrade      = "bilat.events.trade_figure.recorded"
)

// Headers.
const (
	HeaderMsgID        = "Nats-Msg-Id"
	HeaderEventType    = "Bilat-Event-Type"
	HeaderTraceparent  = "traceparent"
	HeaderTracestate   = "tracestate"
	HeaderDLQReason    = "Bilat-Dlq-Reason"
	HeaderDLQStage     = "Bilat-Dlq-Stage"
	HeaderDLQStream    = "Bilat-Dlq-Stream"
	HeaderDLQSubject   = "Bilat-Dlq-Subject"
	HeaderDLQSequence  = "Bilat-Dlq-Sequence"
	HeaderDLQDelivered = "Bilat-Dlq-Deliveries"
	HeaderDLQTime      = "Bilat-Dlq-Time"
	HeaderDLQMsgID     = "Bilat-Dlq-Msg-Id"
)

// UnresolvedToken is the subject token of records whose partner did not resolve.
const UnresolvedToken = "unresolved"

// SubjectToken turns an entity code into one subject token: NATS splits
// subjects on dots, and codes such as "bloc.cis" contain them.
// Enrichment calls it for every event, and most codes need no change, so
// it returns those as they are without allocating.
func SubjectToken(code string) string {
	if code == "" {
		return UnresolvedToken
	}
	const unsafe = ".*> \t"
	if !strings.ContainsAny(code, unsafe) {
		return code
	}
	b := []byte(code)
	for i, c := range b {
		if strings.IndexByte(unsafe, c) >= 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// SubjectEnriched is the subject of an enriched event of the given record
// type ("agreement", "trade_figure") for a partner code.
func SubjectEnriched(recordType, partnerCode string) string {
	return "bilat.enriched." + recordType + "." + SubjectToken(partnerCode)
}

// SubjectDLQ is the dead-letter subject of a pipeline stage.
func SubjectDLQ(stage string) string { return "bilat.dlq." + stage }

// StreamsConfig tunes the streams for the installation.
type StreamsConfig struct {
	// Replicas is 1 on a single node, 3 on a cluster.
	Replicas int
	// DuplicateWindow covers publisher retries; ingest's key-value bucket
	// covers everything older.
	DuplicateWindow time.Duration
}

func (c StreamsConfig) withDefaults() StreamsConfig {
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	return c
}

// StreamConfigs returns the configuration of the four streams.
func StreamConfigs(cfg StreamsConfig) []jetstream.StreamConfig {
	cfg = cfg.withDefaults()
	mk := func(name, desc string, subjects ...string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    subjects,
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Replicas:    cfg.Replicas,
			Duplicates:  cfg.DuplicateWindow,
			Discard:     jetstream.DiscardOld,
		}
	}
	return []jetstream.StreamConfig{
		mk(StreamIngest, "Raw events published by publishers, validated by ingest", "bilat.ingest.>"),
		mk(StreamEvents, "Validated events: the source of truth", "bilat.events.>"),
		mk(StreamEnriched, "Events with entities resolved, read by statistics and subscribers", "bilat.enriched.>"),
		mk(StreamDLQ, "Rejected and poison messages with the reason in headers", "bilat.dlq.>"),
	}
}

// EnsureStreams creates or updates the streams and the idempotency bucket.
// Every service calls it at start, so any start order works.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	cfg = cfg.withDefaults()
	for _, sc := range StreamConfigs(cfg) {
		if err := retry(ctx, func() error { return ensureStream(ctx, js, sc) }); err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	err := retry(ctx, func() error {
		// Created once; an existing bucket is left as it is, for the same
		// reason as the streams above.
		_, err := js.KeyValue(ctx, BucketIdempotency)
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return err
		}
		_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      BucketIdempotency,
			Description: "Accepted idempotency keys -> event id, kept forever",
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			History:     1,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("ensure bucket %s: %w", BucketIdempotency, err)
	}
	return nil
}

// ensureStream creates the stream, or updates it only when a setting
// Bilat owns differs: every service start calls this, and a needless
// update races with consumers being created (a nats-server data race).
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	st, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another service created it meanwhile
		}
		return err
	}
	if err != nil {
		return err
	}
	have := st.CachedInfo().Config
	if slices.Equal(have.Subjects, want.Subjects) && have.Replicas == want.Replicas &&
		have.Duplicates == want.Duplicates && have.Storage == want.Storage &&
		have.Retention == want.Retention && have.Discard == want.Discard && have.Description == want.Description {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// retry runs f until it succeeds, fails with a non-transient error, or ctx
// ends; JetStream answers "no responders" for a while after a server start.
func retry(ctx context.Context, f func() error) error {
	delay := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

func transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503s (no leader, not ready) pass; a configuration error does not.
		return apiErr.Code == 503 || apiErr.Code == 0
	}
	return !errors.Is(err, context.Canceled)
}

// RegisterFlags declares --stream-replicas and --duplicate-window. Every
// service that ensures the streams registers both, so a restart of any of
// them keeps the operator's settings instead of resetting them.
func (c *StreamsConfig) RegisterFlags(fs *flag.FlagSet) {
	config.IntVar(fs, &c.Replicas, "stream-replicas", "BILAT_STREAM_REPLICAS", 1, "replicas of the JetStream streams and the idempotency bucket (3 on a cluster)")
	config.DurationVar(fs, &c.DuplicateWindow, "duplicate-window", "BILAT_DUPLICATE_WINDOW", 10*time.Minute, "JetStream duplicate window of the streams")
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
)

// The NATS path is a baseline between the single hop and the pipeline:
// the stream writes, deliveries and acks DESIGN's flow makes per event,
// with no work in between. Three processes (this binary again, relayEnv)
// stand in for the services and relay bodies of the pipeline's sizes
// through streams configured as Bilat's, with natsx's consume loop and
// publishing, each stage's consumer settings and batching:
//
//	ingest:     BENCH_RELAY_INGEST → one batched direct get of the batch's
//	            keys, PublishAll to BENCH_RELAY_EVENTS, the keys created in
//	            the BENCH_RELAY_KEYS bucket (one wait), then the acks
//	enrichment: BENCH_RELAY_EVENTS → PublishAll to BENCH_RELAY_ENRICHED, acks
//	statistics: BENCH_RELAY_ENRICHED → acks (Redis is the other baseline)
//
// So the pipeline's throughput can be read against what NATS alone lets
// this machine do on that path.

// relayEnv makes this binary one relay stage: "<stage>,<nats url>,<bytes
// it publishes per message>,<where its CPU profile goes, or nothing>".
const relayEnv = "BILAT_BENCH_RELAY"

const (
	relayIngest   = "BENCH_RELAY_INGEST"
	relayEvents   = "BENCH_RELAY_EVENTS"
	relayEnriched = "BENCH_RELAY_ENRICHED"
	relayBucket   = "BENCH_RELAY_KEYS"
)

// relayStages are the relay processes, in flow order.
var relayStages = []string{"ingest", "enrichment", "statistics"}

// relayConsumer is the consumer of a relay stage: the stream it reads and
// the consumer settings of the service it stands in for (ingest's door:
// one worker; enrichment and statistics: 8 workers, partitioned by record).
func relayConsumer(stage string) natsx.ConsumerConfig {
	switch stage {
	case "ingest":
		return natsx.ConsumerConfig{Stream: relayIngest, Durable: "ingest", Stage: "relay-ingest"}
	case "enrichment":
		return natsx.ConsumerConfig{Stream: relayEvents, Durable: "enrichment", Stage: "relay-enrichment", Workers: 8, PartitionKey: relayKey}
	default:
		return natsx.ConsumerConfig{Stream: relayEnriched, Durable: "statistics", Stage: "relay-statistics", Workers: 8, PartitionKey: relayKey}
	}
}

// relayKey keeps the messages of one event on one worker, as the services'
// record keys do.
func relayKey(m jetstream.Msg) string { return m.Headers().Get(jetstream.MsgIDHeader) }

// ensureRelayStreams creates the relay streams, with the settings of
// Bilat's own, and the keys bucket, as natsx.EnsureStreams creates
// ingest's.
func ensureRelayStreams(ctx context.Context, js jetstream.JetStream) error {
	like := natsx.StreamConfigs(natsx.StreamsConfig{})[0]
	for _, s := range []struct{ name, subjects string }{
		{relayIngest, "bench.relay.ingest.>"}, {relayEvents, "bench.relay.events.>"}, {relayEnriched, "bench.relay.enriched.>"},
	} {
		sc := like
		sc.Name, sc.Description, sc.Subjects = s.name, "bench: the NATS path baseline", []string{s.subjects}
		if _, err := js.CreateStream(ctx, sc); err != nil {
			return fmt.Errorf("relay stream %s: %w", s.name, err)
		}
	}
	_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: relayBucket, Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		return fmt.Errorf("relay bucket: %w", err)
	}
	return nil
}

func dropRelayStreams(js jetstream.JetStream) {
	ctx := context.Background()
	for _, s := range []string{relayIngest, relayEvents, relayEnriched} {
		_ = js.DeleteStream(ctx, s)
	}
	_ = js.DeleteKeyValue(ctx, relayBucket)
}

// serveRelay runs a relay stage when relayEnv is set, until SIGTERM or
// until the bench that started it is gone; it returns false otherwise.
func serveRelay() bool {
	v := os.Getenv(relayEnv)
	if v == "" {
		return false
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("relay", v)
	parts := strings.SplitN(v, ",", 4)
	size := 0
	if len(parts) == 4 {
		size, _ = strconv.Atoi(parts[2])
	}
	if len(parts) != 4 || size <= 0 {
		log.Error("want " + relayEnv + "=<stage>,<nats url>,<bytes>,<cpu profile path or nothing>")
		os.Exit(2)
	}
	ctx, stop := childContext()
	defer stop()
	if parts[3] != "" {
		stopProfile, err := selfProfile(filepath.Dir(parts[3]), filepath.Base(parts[3]))
		if err != nil {
			log.Error("relay", "err", err)
			os.Exit(1)
		}
		defer func() { _ = stopProfile() }()
	}
	nc, js, err := natsx.Connect(ctx, parts[1], "bench-relay-"+parts[0], log)
	if err != nil {
		log.Error("relay", "err", err)
		os.Exit(1)
	}
	defer nc.Close()
	cfg := relayConsumer(parts[0])
	cfg.HandleBatch = relayHandler(parts[0], js, size)
	cons, err := natsx.Consume(ctx, js, cfg, nil, log)
	if err != nil {
		log.Error("relay", "err", err)
		os.Exit(1)
	}
	waitOrphaned(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons.Stop(sctx)
	return true
}

// relayHandler is a stage's batch handler: it does the stage's NATS work
// for the batch and nothing else; natsx acks each message after it.
func relayHandler(stage string, js jetstream.JetStream, size int) natsx.BatchHandler {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	forward := func(ctx context.Context, subject string, msgs []jetstream.Msg) []error {
		out := make([]natsx.Outgoing, len(msgs))
		for i, m := range msgs {
			out[i] = natsx.Outgoing{Subject: subject, MsgID: relayKey(m), Data: body}
		}
		_, errs := natsx.PublishAll(ctx, js, out)
		return errs
	}
	switch stage {
	case "ingest":
		return func(ctx context.Context, msgs []jetstream.Msg) []error {
			keys := make([]string, len(msgs))
			for i, m := range msgs {
				h := sha256.Sum256([]byte(relayKey(m)))
				keys[i] = "$KV." + relayBucket + "." + hex.EncodeToString(h[:])
			}
			if err := relayLookup(ctx, js.Conn(), keys); err != nil {
				return repeatErr(err, len(msgs))
			}
			errs := forward(ctx, "bench.relay.events.x", msgs)
			if err := relayRemember(ctx, js, keys); err != nil {
				return repeatErr(err, len(msgs))
			}
			return errs
		}
	case "enrichment":
		return func(ctx context.Context, msgs []jetstream.Msg) []error {
			return forward(ctx, "bench.relay.enriched.x", msgs)
		}
	}
	return func(_ context.Context, msgs []jetstream.Msg) []error { return make([]error, len(msgs)) }
}

func repeatErr(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// relayLookup asks for the last entry of every key subject in one batched
// direct get, with the call ingest looks its batch's idempotency keys up
// with (the relay's keys are new, so the server usually holds none).
func relayLookup(ctx context.Context, nc *nats.Conn, subjects []string) error {
	if err := natsx.GetLastBatch(ctx, nc, natsx.KVStream(relayBucket), subjects, func(*nats.Msg) error { return nil }); err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	return nil
}

// relayRemember creates the keys as ingest remembers a batch's keys: an
// asynchronous publish each, expecting no earlier entry, and one wait.
func relayRemember(ctx context.Context, js jetstream.JetStream, subjects []string) error {
	for _, s := range subjects {
		if _, err := js.PublishMsgAsync(&nats.Msg{Subject: s, Data: []byte("event-id")}, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
			return fmt.Errorf("remember: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("remember: %w", ctx.Err())
	}
}

// relays are the running relay processes of a run.
type relays struct {
	st    *stack
	procs []*proc
}

// startRelays creates the relay streams and starts the three relay
// processes, publishing eventsBytes and enrichedBytes per message (the
// pipeline's mean stored sizes), and waits for their consumers. With
// profDir each writes its CPU profile there when it stops.
func (st *stack) startRelays(ctx context.Context, eventsBytes, enrichedBytes int, profDir string) (*relays, error) {
	if err := ensureRelayStreams(ctx, st.js); err != nil {
		dropRelayStreams(st.js)
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &relays{st: st}
	for _, stage := range relayStages {
		size := enrichedBytes
		if stage == "ingest" {
			size = eventsBytes
		}
		profile := ""
		if profDir != "" {
			profile = filepath.Join(profDir, "nats-path-relay-"+stage+".cpu.pprof")
		}
		p := &proc{
			name: "relay " + stage, bin: self, logPath: filepath.Join(st.dir, "relay-"+stage+".log"),
			env: append([]string{relayEnv + "=" + stage + "," + st.natsURL + "," + strconv.Itoa(max(1, size)) + "," + profile}, st.serviceEnv...),
		}
		if err := p.start(); err != nil {
			r.stop()
			return nil, err
		}
		r.procs = append(r.procs, p)
		cfg := relayConsumer(stage)
		err := p.waitReady(ctx, 20*time.Second, "consuming", func() error {
			_, err := st.js.Consumer(ctx, cfg.Stream, cfg.Durable)
			return err
		})
		if err != nil {
			r.stop()
			return nil, err
		}
	}
	return r, nil
}

func (r *relays) stop() {
	for _, p := range r.procs {
		_ = p.stop()
	}
	dropRelayStreams(r.st.js)
}

// pids names the relay processes for cpuNow.
func (r *relays) pids() map[string]int {
	m := map[string]int{}
	for _, p := range r.procs {
		m[p.name] = p.cmd.Process.Pid
	}
	return m
}

// run publishes msgs (the raw door's bodies and ids, made unique to the
// run) into the relay path and returns events per second from the first
// publish until the statistics relay has acked them all.
func (r *relays) run(ctx context.Context, msgs []*nats.Msg, run int) (float64, error) {
	out := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		out[i] = &nats.Msg{Subject: "bench.relay.ingest.x", Data: m.Data, Header: nats.Header{}}
		out[i].Header.Set(jetstream.MsgIDHeader, m.Header.Get(jetstream.MsgIDHeader)+"-relay"+strconv.Itoa(run))
	}
	_, base, err := r.st.streamMsgs(ctx, relayEnriched)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for _, m := range out {
		if _, err := r.st.js.PublishMsgAsync(m, loadStall); err != nil {
			return 0, fmt.Errorf("relay publish: %w", err)
		}
	}
	select {
	case <-r.st.js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	want := base + uint64(len(msgs))
	lastProgress, lastFloor := time.Now(), uint64(0)
	for {
		info, err := r.st.consumerInfo(ctx, relayEnriched, "statistics")
		if err != nil {
			return 0, err
		}
		if info.AckFloor.Stream >= want && info.NumAckPending == 0 && info.NumPending == 0 {
			return float64(len(msgs)) / time.Since(start).Seconds(), nil
		}
		if info.AckFloor.Stream != lastFloor {
			lastFloor, lastProgress = info.AckFloor.Stream, time.Now()
		} else if time.Since(lastProgress) > time.Minute {
			return 0, fmt.Errorf("relay path stalled at %d of %d (logs in %s)", info.AckFloor.Stream-base, len(msgs), r.st.dir)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// pathResult is the NATS path baseline of a run.
type pathResult struct {
	rate                       float64 // events/s, the faster run
	runs                       []float64
	eventsBytes, enrichedBytes int
}

// natsPath measures the NATS path with msgs (the raw door's), hopRuns
// times, with bodies of the mean stored sizes of BILAT_EVENTS and
// BILAT_ENRICHED; it returns the CPU each process used over all runs.
// With profDir it profiles this process meanwhile (the NATS server,
// unless -nats-process).
func (st *stack) natsPath(ctx context.Context, msgs []*nats.Msg, profDir string) (pathResult, cpuTimes, error) {
	var res pathResult
	for _, s := range []struct {
		name string
		size *int
	}{{natsx.StreamEvents, &res.eventsBytes}, {natsx.StreamEnriched, &res.enrichedBytes}} {
		state, err := st.streamState(ctx, s.name)
		if err != nil {
			return res, nil, err
		}
		*s.size = int(state.Bytes / max(1, state.Msgs))
	}
	r, err := st.startRelays(ctx, res.eventsBytes, res.enrichedBytes, profDir)
	if err != nil {
		return res, nil, err
	}
	defer r.stop()
	stop, err := selfProfile(profDir, "nats-path-bench.cpu.pprof")
	if err != nil {
		return res, nil, err
	}
	c0 := st.cpuNow(ctx, r.pids())
	for run := range hopRuns {
		rate, err := r.run(ctx, msgs, run)
		if err != nil {
			_ = stop()
			return res, nil, err
		}
		res.rate, res.runs = max(res.rate, rate), append(res.runs, rate)
	}
	cpu := st.cpuNow(ctx, r.pids()).since(c0)
	return res, cpu, stop()
}

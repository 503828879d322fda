package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// streamMsgs is the number of messages in a stream and its last
// sequence (0 when it is missing).
func (st *stack) streamMsgs(ctx context.Context, name string) (uint64, uint64, error) {
	state, err := st.streamState(ctx, name)
	return state.Msgs, state.LastSeq, err
}

// streamState is the state of a stream (zero when it is missing).
func (st *stack) streamState(ctx context.Context, name string) (jetstream.StreamState, error) {
	s, err := st.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return jetstream.StreamState{}, nil
	}
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, fmt.Errorf("stream %s info: %w", name, err)
	}
	return info.State, nil
}

// consumerInfo is the state of a durable consumer.
func (st *stack) consumerInfo(ctx context.Context, stream, durable string) (*jetstream.ConsumerInfo, error) {
	c, err := st.js.Consumer(ctx, stream, durable)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", durable, stream, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s info: %w", durable, stream, err)
	}
	return info, nil
}

// statisticsCaughtUp reports whether the statistics consumer has acked
// everything up to BILAT_ENRICHED's last sequence.
func (st *stack) statisticsCaughtUp(ctx context.Context) (bool, error) {
	_, last, err := st.streamMsgs(ctx, natsx.StreamEnriched)
	if err != nil {
		return false, err
	}
	info, err := st.consumerInfo(ctx, natsx.StreamEnriched, natsx.DurableStatistics)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.AckFloor.Stream >= last && info.NumAckPending == 0 && info.NumPending == 0, nil
}

// waitQueryable waits until want more events than base have reached
// BILAT_ENRICHED (or the DLQ, which is an error) and statistics has applied
// them all, then checks sampled agreements through the gateway.
func (st *stack) waitQueryable(ctx context.Context, base, dlqBase uint64, want int, sample []string) error {
	lastProgress, lastN := time.Now(), uint64(0)
	for {
		n, _, err := st.streamMsgs(ctx, natsx.StreamEnriched)
		if err != nil {
			return err
		}
		dlq, _, err := st.streamMsgs(ctx, natsx.StreamDLQ)
		if err != nil {
			return err
		}
		if dlq > dlqBase {
			return fmt.Errorf("%d events were dead-lettered (see the service logs in %s)", dlq-dlqBase, st.dir)
		}
		if n-base >= uint64(want) {
			ok, err := st.statisticsCaughtUp(ctx)
			if err != nil {
				return err
			}
			if ok {
				break
			}
		}
		if n != lastN {
			lastN, lastProgress = n, time.Now()
		} else if time.Since(lastProgress) > 2*time.Minute {
			return fmt.Errorf("pipeline stalled: %d of %d events enriched", n-base, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	ac := bilatv1.NewAgreementServiceClient(st.procs["gateway"].conn)
	for _, id := range sample {
		if _, err := ac.GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: id}); err != nil {
			return fmt.Errorf("agreement %s not queryable after the pipeline drained: %w", id, err)
		}
	}
	return nil
}

// sampleIDs picks up to 20 agreement ids of evs, the last ones included.
func sampleIDs(evs []event) []string {
	var out []string
	for i := len(evs) - 1; i >= 0 && len(out) < 20; i -= max(1, len(evs)/20) {
		if evs[i].agreement != nil {
			out = append(out, evs[i].id())
		}
	}
	return out
}

// doorLoad is one door's share of the pipeline events, encoded before the
// clock starts, as the single hop's publisher sends a body built
// beforehand. Encoding while publishing, with the events' protobuf graphs
// live for this process's collections (it hosts the NATS server), cost the
// load generator about 45 µs of CPU per event on the cores the pipeline
// runs on (docs/benchmarks.md).
type doorLoad struct {
	n          int
	agreements int
	sample     []string // agreement ids checked through the gateway at the end
	imports    [][]byte // encoded ImportRequests (gRPC door)
	msgs       []*nats.Msg
}

// importLoad encodes evs as IngestService.Import requests.
func importLoad(evs []event) (doorLoad, error) {
	l := doorLoad{n: len(evs), agreements: agreementsIn(evs), sample: sampleIDs(evs), imports: make([][]byte, len(evs))}
	for i, ev := range evs {
		req := &bilatv1.ImportRequest{IdempotencyKey: ev.key}
		if ev.agreement != nil {
			req.Item = &bilatv1.ImportRequest_Agreement{Agreement: ev.agreement}
		} else {
			req.Item = &bilatv1.ImportRequest_TradeFigure{TradeFigure: ev.figure}
		}
		b, err := proto.Marshal(req)
		if err != nil {
			return doorLoad{}, fmt.Errorf("encode import request: %w", err)
		}
		l.imports[i] = b
	}
	return l, nil
}

// rawLoad encodes evs as raw-door publishes.
func rawLoad(evs []event) (doorLoad, error) {
	l := doorLoad{n: len(evs), agreements: agreementsIn(evs), sample: sampleIDs(evs), msgs: make([]*nats.Msg, len(evs))}
	for i, ev := range evs {
		m, err := rawMsg(ev)
		if err != nil {
			return doorLoad{}, err
		}
		l.msgs[i] = m
	}
	return l, nil
}

func agreementsIn(evs []event) int {
	n := 0
	for _, e := range evs {
		if e.agreement != nil {
			n++
		}
	}
	return n
}

// encodedCodec sends requests encoded beforehand ([]byte) as they are and
// decodes answers as protobuf. Its name is proto's, so the server sees an
// ordinary protobuf call.
type encodedCodec struct{}

func (encodedCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("encode %T: not a protobuf message", v)
	}
	return proto.Marshal(m)
}

func (encodedCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("decode into %T: not a protobuf message", v)
	}
	return proto.Unmarshal(data, m)
}

func (encodedCodec) Name() string { return "proto" }

// importDoor sends l's requests through IngestService.Import on 4
// concurrent streams.
func (st *stack) importDoor(ctx context.Context, l doorLoad) error {
	ic := bilatv1.NewIngestServiceClient(st.procs["ingest"].conn)
	const streams = 4
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := ic.Import(ctx, grpc.ForceCodec(encodedCodec{}))
			if err != nil {
				errs <- fmt.Errorf("import: %w", err)
				return
			}
			sent := 0
			for i := s; i < len(l.imports); i += streams {
				if err := stream.SendMsg(l.imports[i]); err != nil {
					errs <- fmt.Errorf("import send: %w", err)
					return
				}
				sent++
			}
			resp, err := stream.CloseAndRecv()
			if err != nil {
				errs <- fmt.Errorf("import: %w", err)
				return
			}
			if resp.GetAccepted() != int64(sent) {
				errs <- fmt.Errorf("import: %d of %d accepted (%d duplicates, %d rejected: %v)", resp.GetAccepted(), sent, resp.GetDuplicates(), resp.GetRejected(), resp.GetRejections())
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// rawMsg is ev as a raw JetStream publish on bilat.ingest.<type>.
func rawMsg(ev event) (*nats.Msg, error) {
	subj, m := natsx.SubjectIngestAgreement, proto.Message(ev.agreement)
	if ev.agreement == nil {
		subj, m = natsx.SubjectIngestTrade, ev.figure
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	msg := &nats.Msg{Subject: subj, Data: b, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.key)
	return msg, nil
}

// loadStall is how long a bulk publisher waits for room among its
// outstanding asynchronous publishes before it gives up. nats.go's 200 ms
// default failed a run on a slow machine, where the server can take that
// long to acknowledge 4,000 messages; a load generator should wait.
var loadStall = jetstream.WithStallWait(time.Minute)

// rawDoor publishes l's messages asynchronously on bilat.ingest.<type>.
func (st *stack) rawDoor(ctx context.Context, l doorLoad) error {
	for _, msg := range l.msgs {
		if _, err := st.js.PublishMsgAsync(msg, loadStall); err != nil {
			return fmt.Errorf("raw publish: %w", err)
		}
	}
	select {
	case <-st.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pipeline runs l through one door and returns events per second from
// the first publish until all are queryable.
func (st *stack) pipeline(ctx context.Context, l doorLoad, door func(context.Context, doorLoad) error) (float64, error) {
	base, _, err := st.streamMsgs(ctx, natsx.StreamEnriched)
	if err != nil {
		return 0, err
	}
	dlqBase, _, err := st.streamMsgs(ctx, natsx.StreamDLQ)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := door(ctx, l); err != nil {
		return 0, err
	}
	if err := st.waitQueryable(ctx, base, dlqBase, l.n, l.sample); err != nil {
		return 0, err
	}
	return float64(l.n) / time.Since(start).Seconds(), nil
}

// freshSamplesPerSecond bounds the agreements the freshness phase follows.
// The probe must not load what it measures: at "half load" this machine is
// close enough to saturation that following 100 agreements a second (about
// 4 GetAgreement calls each, ~3 % of the machine) doubled the p50 and p99
// it measured (docs/benchmarks-history.md, "The freshness probe's own load").
const freshSamplesPerSecond = 25

// freshSample is one agreement the freshness phase followed.
type freshSample struct {
	// trace is the trace id of the traceparent it was published with,
	// which ingest and enrichment carry onto BILAT_EVENTS and
	// BILAT_ENRICHED (see freshnessHops).
	trace string
	// acked is when its PubAck arrived, found when GetAgreement first
	// returned it.
	acked, found time.Time
}

func (f freshSample) latency() time.Duration { return f.found.Sub(f.acked) }

// freshness publishes through the raw door at rate events per second for
// d, and measures for sampled agreements the time from the PubAck to the
// first GetAgreement that returns them (polled every 2 ms, past 100 ms every
// 10 ms). At most perSecond agreements a second are sampled, each published
// with a traceparent of its own; it also returns how many GetAgreement
// calls the polling made.
func (st *stack) freshness(ctx context.Context, gen *generator, rate float64, d time.Duration, perSecond int) ([]freshSample, int, int64, error) {
	n := max(1, int(rate*d.Seconds()))
	every := max(1, int(rate)/perSecond)
	ac := bilatv1.NewAgreementServiceClient(st.procs["gateway"].conn)
	run := uint64(time.Now().UnixNano())
	var mu sync.Mutex
	var samples []freshSample
	var wg sync.WaitGroup
	var failed firstErr
	var polls atomic.Int64
	start := time.Now()
	for i := range n {
		if at := start.Add(time.Duration(float64(i) / rate * float64(time.Second))); time.Until(at) > 0 {
			time.Sleep(time.Until(at))
		}
		ev := gen.event("fresh", i)
		msg, err := rawMsg(ev)
		if err != nil {
			return nil, 0, 0, err
		}
		follow := ev.agreement != nil && i%every == 0
		var trace string
		if follow {
			trace = fmt.Sprintf("%016x%016x", run, uint64(i)+1)
			msg.Header.Set(natsx.HeaderTraceparent, fmt.Sprintf("00-%s-%016x-01", trace, uint64(i)+1))
		}
		fut, err := st.js.PublishMsgAsync(msg)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("freshness publish: %w", err)
		}
		if !follow {
			continue
		}
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			select {
			case <-fut.Ok():
			case err := <-fut.Err():
				failed.set(fmt.Errorf("freshness publish: %w", err))
				return
			}
			acked := time.Now()
			deadline := acked.Add(time.Minute)
			for time.Now().Before(deadline) {
				_, err := ac.GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: id})
				polls.Add(1)
				if err == nil {
					mu.Lock()
					samples = append(samples, freshSample{trace: trace, acked: acked, found: time.Now()})
					mu.Unlock()
					return
				}
				if status.Code(err) != codes.NotFound {
					failed.set(fmt.Errorf("freshness poll: %w", err))
					return
				}
				// Fine polling while the target (100 ms) is in reach,
				// coarser after, so a backlog does not flood the gateway.
				if time.Since(acked) < 100*time.Millisecond {
					time.Sleep(2 * time.Millisecond)
				} else {
					time.Sleep(10 * time.Millisecond)
				}
			}
			failed.set(fmt.Errorf("freshness: agreement %s not visible a minute after its PubAck", id))
		}(ev.id())
	}
	wg.Wait()
	if err := failed.get(); err != nil {
		return nil, 0, 0, err
	}
	return samples, n, polls.Load(), nil
}

// freshHops is the freshness of the followed agreements split where the
// events were stored on their way: ingest's hop from the PubAck to
// BILAT_EVENTS, enrichment's from BILAT_EVENTS to BILAT_ENRICHED, and the
// rest, statistics' apply and the gateway's read (polling granularity
// included).
type freshHops struct{ ingest, enrichment, statistics latencies }

// freshnessHops finds when each sample's event was stored in BILAT_EVENTS
// (after sequence events) and in BILAT_ENRICHED (after enriched), by the
// trace id it carries. The stream times are the NATS server's clock, on the
// same machine as the bench's.
func (st *stack) freshnessHops(ctx context.Context, samples []freshSample, events, enriched uint64) (freshHops, error) {
	want := make(map[string]bool, len(samples))
	for _, s := range samples {
		want[s.trace] = true
	}
	atEvents, err := st.storedAt(ctx, natsx.StreamEvents, events, want)
	if err != nil {
		return freshHops{}, err
	}
	atEnriched, err := st.storedAt(ctx, natsx.StreamEnriched, enriched, want)
	if err != nil {
		return freshHops{}, err
	}
	var h freshHops
	for _, s := range samples {
		e, ok1 := atEvents[s.trace]
		r, ok2 := atEnriched[s.trace]
		if !ok1 || !ok2 {
			return freshHops{}, fmt.Errorf("freshness hops: trace %s not carried onto %s (%v) and %s (%v)", s.trace, natsx.StreamEvents, ok1, natsx.StreamEnriched, ok2)
		}
		h.ingest = append(h.ingest, e.Sub(s.acked))
		h.enrichment = append(h.enrichment, r.Sub(e))
		h.statistics = append(h.statistics, s.found.Sub(r))
	}
	h.ingest, h.enrichment, h.statistics = h.ingest.sorted(), h.enrichment.sorted(), h.statistics.sorted()
	return h, nil
}

// storedAt reads the headers of stream's messages after sequence after and
// returns when the first message carrying each trace id in want was stored.
func (st *stack) storedAt(ctx context.Context, stream string, after uint64, want map[string]bool) (map[string]time.Time, error) {
	at := make(map[string]time.Time, len(want))
	_, last, err := st.streamMsgs(ctx, stream)
	if err != nil || last <= after {
		return at, err
	}
	cons, err := st.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   after + 1,
		HeadersOnly:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("read %s: metadata: %w", stream, err)
		}
		// traceparent: 00-<trace id>-<span id>-<flags>.
		if tp := msg.Headers().Get(natsx.HeaderTraceparent); len(tp) >= 35 && want[tp[3:35]] {
			if _, seen := at[tp[3:35]]; !seen {
				at[tp[3:35]] = md.Timestamp
			}
		}
		if md.Sequence.Stream >= last {
			return at, nil
		}
	}
}

// rebuild measures how fast projections are rebuilt from BILAT_ENRICHED.
// With StatisticsService.RebuildProjections (it drops the projection keys,
// recreates the statistics consumer from the stream's start and returns
// once it caught up, then checksums) the replay is timed from the moment
// the recreated consumer appears until its ack floor reaches the stream's
// last sequence, polled every 10 ms while the RPC runs. Without the RPC
// (Unimplemented) statistics is stopped, Redis flushed, its durable deleted
// (recreated with DeliverAll) and statistics started; timed from the
// process start. It returns events/s, the events replayed, the method and
// (with the RPC) each process's CPU time during the replay; with statsPath
// set it writes Redis' command statistics of the replay alone there.
func (st *stack) rebuild(ctx context.Context, statsPath string) (float64, uint64, string, cpuTimes, error) {
	n, _, err := st.streamMsgs(ctx, natsx.StreamEnriched)
	if err != nil {
		return 0, 0, "", nil, err
	}
	old, err := st.consumerCreated(ctx)
	if err != nil {
		return 0, 0, "", nil, err
	}
	sc := bilatv1.NewStatisticsServiceClient(st.procs["statistics"].conn)
	type answer struct {
		resp *bilatv1.RebuildProjectionsResponse
		err  error
	}
	done := make(chan answer, 1)
	began := time.Now()
	go func() {
		r, err := sc.RebuildProjections(ctx, &bilatv1.RebuildProjectionsRequest{})
		done <- answer{r, err}
	}()
	var replayStart, replayEnd time.Time
	var cpuStart, cpuEnd cpuTimes
	for {
		select {
		case a := <-done:
			if status.Code(a.err) == codes.Unimplemented {
				rate, err := st.rebuildByRestart(ctx, n)
				return rate, n, "restart", nil, err
			}
			if a.err != nil {
				return 0, 0, "", nil, fmt.Errorf("rebuild projections: %w", a.err)
			}
			took := time.Since(began)
			var replayCPU cpuTimes
			if !replayStart.IsZero() && !replayEnd.IsZero() {
				took = replayEnd.Sub(replayStart)
				replayCPU = cpuEnd.since(cpuStart)
			}
			return float64(a.resp.GetReplayed()) / took.Seconds(), a.resp.GetReplayed(), "rpc", replayCPU, nil
		case <-time.After(10 * time.Millisecond):
		}
		if !replayEnd.IsZero() {
			continue
		}
		created, err := st.consumerCreated(ctx)
		if err != nil {
			return 0, 0, "", nil, err
		}
		if replayStart.IsZero() && !created.IsZero() && !created.Equal(old) {
			replayStart = time.Now()
			cpuStart = st.cpuNow(ctx, nil)
			if statsPath != "" {
				if err := st.rdb.ConfigResetStat(ctx).Err(); err != nil {
					return 0, 0, "", nil, fmt.Errorf("redis stats: %w", err)
				}
			}
		}
		if !replayStart.IsZero() {
			ok, err := st.statisticsCaughtUp(ctx)
			if err != nil {
				return 0, 0, "", nil, err
			}
			if ok {
				replayEnd = time.Now()
				cpuEnd = st.cpuNow(ctx, nil)
				if statsPath != "" {
					if err := st.redisCommandStats(ctx, statsPath); err != nil {
						return 0, 0, "", nil, fmt.Errorf("redis stats: %w", err)
					}
				}
			}
		}
	}
}

// consumerCreated is when the statistics durable was created (zero when absent).
func (st *stack) consumerCreated(ctx context.Context) (time.Time, error) {
	c, err := st.js.Consumer(ctx, natsx.StreamEnriched, "statistics")
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("statistics consumer: %w", err)
	}
	info, err := c.Info(ctx)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("statistics consumer info: %w", err)
	}
	return info.Created, nil
}

// rebuildByRestart is the rebuild without the RPC: n events replayed by a
// fresh statistics process over a flushed Redis.
func (st *stack) rebuildByRestart(ctx context.Context, n uint64) (float64, error) {
	p := st.procs["statistics"]
	if err := p.stop(); err != nil {
		return 0, err
	}
	if err := st.rdb.FlushDB(ctx).Err(); err != nil {
		return 0, fmt.Errorf("flush redis: %w", err)
	}
	if err := st.js.DeleteConsumer(ctx, natsx.StreamEnriched, "statistics"); err != nil {
		return 0, fmt.Errorf("delete statistics consumer: %w", err)
	}
	start := time.Now()
	if err := p.start(); err != nil {
		return 0, err
	}
	for {
		ok, err := st.statisticsCaughtUp(ctx)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		select {
		case <-p.exited:
			return 0, fmt.Errorf("statistics exited during rebuild: %s", p.tail())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// seed writes agreements from..from+n-1, resolved, straight into Redis through
// straight into Redis through pkg/projection (the statistics service's own
// apply code) on workers goroutines, with sequences above any the stream
// assigns; returns agreements per second.
func (st *stack) seed(ctx context.Context, gen *generator, from, n, workers int) (float64, error) {
	store := projection.New(st.rdb)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= from+n {
					return
				}
				a := gen.seedAgreement(i)
				ev := &bilatv1.AgreementRecorded{
					Envelope:  &bilatv1.Envelope{EventId: "evt-" + a.GetId(), Sequence: 1<<32 + uint64(i)},
					Agreement: a,
				}
				if _, err := store.ApplyAgreement(ctx, ev); err != nil {
					errs <- fmt.Errorf("seed: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// queryResult is one RPC's load figures.
type queryResult struct {
	calls   int
	elapsed time.Duration
	lat     latencies // sorted
}

func (q queryResult) rps() float64 { return float64(q.calls) / q.elapsed.Seconds() }

// plus is q and o measured one after the other.
func (q queryResult) plus(o queryResult) queryResult {
	return queryResult{calls: q.calls + o.calls, elapsed: q.elapsed + o.elapsed, lat: append(slices.Clone(q.lat), o.lat...).sorted()}
}

// fewerGCs holds this process's collections off until its heap has grown
// by headroom (the query phase collects between turns itself), and returns
// what restores the settings. The clients decode every response, so they
// allocate fast, and a collection during a turn takes CPU from, and stalls
// the clients of, whichever server is being measured: when NATS still ran
// inside this process, its 150–300 MB live heap made that several stalls
// of 100 ms or more a second (docs/benchmarks-history.md, "The load generator's own
// collections"). The servers measured keep their own settings.
func fewerGCs(headroom int64) (restore func()) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(int64(m.Sys-m.HeapReleased) + headroom)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// load runs clients goroutines calling call back to back for d over conns,
// round robin; seed varies the requests' random sequence.
func load(ctx context.Context, conns []*grpc.ClientConn, clients int, d time.Duration, seed uint64, call func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error) (queryResult, error) {
	stop := time.Now().Add(d)
	return drive(ctx, conns, clients, 7+seed, func() (time.Time, bool) {
		now := time.Now()
		return now, now.Before(stop)
	}, call)
}

// paced offers rate requests a second for d from up to clients goroutines,
// open loop: request i is due at start + i/rate whatever became of the
// earlier ones, and its latency counts from that moment, so time spent
// waiting for a free client while the server falls behind is counted, not
// hidden by a slower pace.
func paced(ctx context.Context, conns []*grpc.ClientConn, clients int, rate float64, d time.Duration, seed uint64, call func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error) (queryResult, error) {
	n := max(1, int(rate*d.Seconds()))
	start := time.Now()
	due := make(chan time.Time, n)
	for i := range n {
		due <- start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
	}
	close(due)
	return drive(ctx, conns, clients, 11+seed, func() (time.Time, bool) {
		at, ok := <-due
		time.Sleep(time.Until(at))
		return at, ok
	}, call)
}

// drive runs clients goroutines over conns, round robin, each calling call
// for as long as next gives it a start; a call's latency counts from its
// start. seed varies the requests' random sequence.
func drive(ctx context.Context, conns []*grpc.ClientConn, clients int, seed uint64, next func() (time.Time, bool), call func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error) (queryResult, error) {
	var mu sync.Mutex
	var all latencies
	var wg sync.WaitGroup
	var failed firstErr
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), seed))
			cc := conns[c%len(conns)]
			mine := make(latencies, 0, 4096)
			for {
				t, ok := next()
				if !ok {
					break
				}
				if err := call(ctx, cc, r); err != nil {
					failed.set(err)
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := failed.get(); err != nil {
		return queryResult{}, err
	}
	return queryResult{calls: len(all), elapsed: time.Since(start), lat: all.sorted()}, nil
}

func dialN(addr string, n int) ([]*grpc.ClientConn, error) {
	var out []*grpc.ClientConn
	for range n {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(cs []*grpc.ClientConn) {
	for _, c := range cs {
		c.Close()
	}
}

// startConst starts this program again as the bare gRPC server answering
// the recorded responses; it is stopped by cancelling ctx.
func startConst(ctx context.Context, dir string, get *bilatv1.GetAgreementResponse, list *bilatv1.ListAgreementsResponse, trade *bilatv1.GetTradeSeriesResponse) (addr string, pid int, stop func(), err error) {
	for name, m := range map[string]proto.Message{"get": get, "list": list, "trade": trade} {
		b, err := proto.Marshal(m)
		if err != nil {
			return "", 0, nil, fmt.Errorf("const response: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, constFiles[name]), b, 0o644); err != nil {
			return "", 0, nil, fmt.Errorf("const response: %w", err)
		}
	}
	addr, err = freeAddr()
	if err != nil {
		return "", 0, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, fmt.Errorf("const server: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), constEnv+"="+addr+","+dir)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("const server: %w", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	conns, err := dialN(addr, 1)
	if err != nil {
		stop()
		return "", 0, nil, err
	}
	defer closeAll(conns)
	ac := bilatv1.NewAgreementServiceClient(conns[0])
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := ac.GetAgreement(ctx, &bilatv1.GetAgreementRequest{}); err == nil {
			return addr, cmd.Process.Pid, stop, nil
		} else if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("const server not answering: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// firstErr keeps the first error reported by concurrent goroutines.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

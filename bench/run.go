package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

const mib = 1 << 20

// Run starts the stack, runs every phase and returns the figures; with
// cfg.OutDir set it writes latest.json and the profiles there.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Result, error) {
	began := time.Now()
	res := &Result{Mode: cfg.Mode, Started: began.UTC(), Host: hostInfo(), Methods: map[string]string{}, Params: map[string]any{
		"events": cfg.Events, "partners": cfg.Partners, "fresh_seconds": cfg.FreshFor.Seconds(),
		"store_agreements": cfg.StoreAgreements, "query_seconds": cfg.QueryFor.Seconds(), "clients": cfg.Clients,
		"baseline_events": cfg.BaselineEvents,
	}}
	work, err := os.MkdirTemp("", "bilat-bench-")
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	cfg.workDir = work
	profDir := ""
	if cfg.OutDir != "" && cfg.ProfileFor > 0 {
		profDir = filepath.Join(cfg.OutDir, "profiles")
		// Profiles of an earlier run (or of phases this version no longer
		// profiles) must not pass for this run's.
		if err := os.RemoveAll(profDir); err != nil {
			return nil, fmt.Errorf("profiles dir: %w", err)
		}
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return nil, fmt.Errorf("profiles dir: %w", err)
		}
	}

	gz, err := buildGazetteer(filepath.Join(cfg.RepoRoot, "data", "gazetteer", "entities.ndjson"), work, cfg.Partners)
	if err != nil {
		return nil, err
	}
	res.Params["partners_real"] = len(gz.partners) - gz.synthetic
	res.Params["partners_synthetic"] = gz.synthetic
	gen := newGenerator("b"+strconv.FormatInt(began.Unix(), 36), gz)

	log.Info("starting the stack", "work", work)
	st, err := startStack(ctx, &cfg, log, gz.path)
	if err != nil {
		return nil, err
	}
	defer st.close()
	// experiment records a departure from the usual run in its methods.
	var experiments []string
	experiment := func(param string, value any, text string) {
		experiments = append(experiments, text)
		res.Methods["experiment"] = strings.Join(experiments, "; ")
		res.Params[param] = value
	}
	if cfg.HashListpackValue > 0 {
		if err := st.rdb.ConfigSet(ctx, "hash-max-listpack-value", strconv.Itoa(cfg.HashListpackValue)).Err(); err != nil {
			return nil, fmt.Errorf("redis config: %w", err)
		}
		experiment("hash_max_listpack_value", cfg.HashListpackValue,
			fmt.Sprintf("Redis hash-max-listpack-value set to %d (not the default)", cfg.HashListpackValue))
	}
	if cfg.NATSProcess {
		experiment("nats_process", true, "NATS server as its own process (-nats-process), not inside the bench")
	}
	if len(cfg.ServiceEnv) > 0 {
		experiment("service_env", cfg.ServiceEnv, "every service and the NATS path's relays started with "+strings.Join(cfg.ServiceEnv, " ")+" (-service-env)")
	}

	// Message size of the mix, for the JetStream baseline.
	var total int
	for i := range 1000 {
		m, err := rawMsg(gen.event("size", i))
		if err != nil {
			return nil, err
		}
		total += len(m.Data)
	}
	size := total / 1000
	res.Params["mean_event_bytes"] = size

	// Baselines first, on an idle stack.
	log.Info("baseline: JetStream single hop", "events", cfg.BaselineEvents, "bytes", size, "runs", hopRuns)
	c0 := st.cpuNow(ctx, nil)
	// The single hop is a limit, so it is the faster of its runs: one
	// stall of the shared machine during a run of a few seconds would
	// otherwise lower the bar every pipeline figure is measured against
	// (a full run once measured 6,132 events/s against the usual 76,000).
	var hop float64
	var hops []float64
	for run := range hopRuns {
		r, err := baselineJetStream(ctx, st.js, cfg.BaselineEvents, size, run)
		if err != nil {
			return nil, err
		}
		hop, hops = max(hop, r), append(hops, r)
	}
	res.Params["single_hop_runs"] = hops
	hopCPU := st.cpuNow(ctx, nil).since(c0)
	log.Info("baseline: raw Redis pipeline", "events", cfg.BaselineEvents)
	var rawRedis float64
	var rawCPU cpuTimes
	err = st.profiled(ctx, profDir, "baseline-redis", 0, nil, func() error {
		c0 := st.cpuNow(ctx, nil)
		var err error
		rawRedis, err = baselineRedis(ctx, st.rdb, gen, cfg.BaselineEvents)
		rawCPU = st.cpuNow(ctx, nil).since(c0)
		return err
	})
	if err != nil {
		return nil, err
	}

	// Pipeline throughput, one door at a time.
	half := max(1, cfg.Events/2)
	evs := make([]event, half)
	for i := range evs {
		evs[i] = gen.event("grpc", i)
	}
	grpcIn, err := importLoad(evs)
	if err != nil {
		return nil, err
	}
	evs = make([]event, cfg.Events-half)
	for i := range evs {
		evs[i] = gen.event("raw", i)
	}
	rawIn, err := rawLoad(evs)
	if err != nil {
		return nil, err
	}
	runtime.GC() // the events' graphs (evs is dead here), before the clock starts
	log.Info("pipeline: gRPC Import door", "events", grpcIn.n)
	c0 = st.cpuNow(ctx, nil)
	tGRPC, err := st.pipeline(ctx, grpcIn, st.importDoor)
	if err != nil {
		return nil, fmt.Errorf("pipeline (gRPC door): %w", err)
	}
	log.Info("pipeline: raw JetStream door", "events", rawIn.n)
	var tRaw float64
	err = st.profiled(ctx, profDir, "pipeline", cfg.ProfileFor, []string{"ingest", "enrichment", "statistics"}, func() error {
		stop, err := selfProfile(profDir, "pipeline-bench.cpu.pprof")
		if err != nil {
			return err
		}
		tRaw, err = st.pipeline(ctx, rawIn, st.rawDoor)
		return errors.Join(err, stop())
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline (raw door): %w", err)
	}
	pipeCPU := st.cpuNow(ctx, nil).since(c0)
	// The NATS path, with the raw door's bodies (still held, so before the
	// collection below) and the pipeline's stored sizes.
	log.Info("baseline: the NATS path (three relays, no work)", "events", rawIn.n, "runs", hopRuns)
	path, pathCPU, err := st.natsPath(ctx, rawIn.msgs, profDir)
	if err != nil {
		return nil, fmt.Errorf("the NATS path: %w", err)
	}
	tBoth := float64(cfg.Events) / (float64(grpcIn.n)/tGRPC + float64(rawIn.n)/tRaw)
	published, publishedAgreements := grpcIn.n+rawIn.n, grpcIn.agreements+rawIn.agreements
	// The encoded events are garbage from here on (nothing refers to them
	// below); return their memory before the phases that measure latency.
	runtime.GC()
	debug.FreeOSMemory()
	hopTarget := func(f *Figure) {
		f.withBaseline("JetStream single hop", hop).target(">= 20 % of single hop", f.Value >= 0.2*hop)
	}
	hopTarget(res.add(Figure{Name: "pipeline throughput, gRPC Import door", Unit: "events/s", Value: tGRPC}))
	hopTarget(res.add(Figure{Name: "pipeline throughput, raw JetStream door", Unit: "events/s", Value: tRaw}))
	hopTarget(res.add(Figure{Name: "pipeline throughput, both doors", Unit: "events/s", Value: tBoth}))
	// Where an event's CPU goes, beside what the single hop spends on one.
	n := float64(cfg.Events)
	hopAll := hopCPU.per("bench", float64(hopRuns*cfg.BaselineEvents)) + hopCPU.per("nats", float64(hopRuns*cfg.BaselineEvents))
	res.add(Figure{Name: "pipeline CPU per event, all processes", Unit: "µs", Value: pipeCPU.all() / n}).
		withBaseline("JetStream single hop", hopAll)
	for _, name := range []string{"ingest", "enrichment", "statistics", "redis", "nats", "bench"} {
		if _, ok := pipeCPU[name]; ok {
			res.add(Figure{Name: "  of which " + st.cpuLabel(name), Unit: "µs", Value: pipeCPU.per(name, n)})
		}
	}
	// What NATS alone allows on DESIGN's path, and the raw door against it.
	res.Params["nats_path_runs"] = path.runs
	res.Params["nats_path_bytes"] = []int{path.eventsBytes, path.enrichedBytes}
	res.add(Figure{Name: "NATS path alone (3 relays, no work)", Unit: "events/s", Value: path.rate,
		Note: "no target: the ceiling DESIGN's stream writes, deliveries and acks leave the pipeline"}).
		withBaseline("JetStream single hop", hop)
	res.add(Figure{Name: "pipeline throughput, raw JetStream door, of the NATS path", Unit: "events/s", Value: tRaw}).
		withBaseline("NATS path alone", path.rate)
	pathN := float64(hopRuns * rawIn.n)
	res.add(Figure{Name: "NATS path CPU per event, all processes", Unit: "µs", Value: pathCPU.all() / pathN}).
		withBaseline("JetStream single hop", hopAll)
	for _, name := range []string{"relay ingest", "relay enrichment", "relay statistics", "nats", "bench"} {
		if _, ok := pathCPU[name]; ok {
			res.add(Figure{Name: "  of which " + st.cpuLabel(name), Unit: "µs", Value: pathCPU.per(name, pathN)})
		}
	}
	res.Methods["nats path"] = fmt.Sprintf("the stream writes, deliveries and acks of DESIGN's flow with no work between them: three processes (this binary again) relay the raw door's events through three streams configured as Bilat's, each with natsx's consume loop and the consumer settings and batching of the service it stands in for — ingest: one batched direct get of the batch's keys in a KV bucket, PublishAll to the next stream, the keys created (one wait), acks; enrichment: PublishAll to the last stream, acks; statistics: acks (no Redis). Bodies of the pipeline's mean stored sizes (params.nats_path_bytes). Events/s from the first raw publish until the last relay's ack floor is at its stream's end, the faster of %d runs (params.nats_path_runs); the services idle meanwhile", hopRuns)
	res.Methods["single hop"] = fmt.Sprintf("async JetStream publishes with Nats-Msg-Id (mean event size, file storage, 10 min duplicate window) into one stream drained by a durable pull consumer with explicit acks (MaxAckPending %d, 5 s pull expiry, 1 s heartbeat, as Bilat's consumers); events/s from the first publish to the last ack, the faster of %d runs (params.single_hop_runs)", natsx.DefaultMaxAckPending, hopRuns)
	res.Methods["cpu"] = "user + system CPU time of each process from /proc/<pid>/stat (10 ms ticks): over both pipeline doors, per event (baseline: this process, which ran publisher, consumer and, unless it runs on its own, the NATS server, plus the NATS server's process if it does, per event of the single hop, over all its runs); over the rebuild's replay, per event (baseline: redis-server during the raw Redis pipeline baseline); over the gateway's and the bare server's query turns, per request (server side = gateway + redis-server, against the bare server; clients = this process, whose NATS, if inside it, idles then)"
	res.Methods["pipeline"] = "events/s from the first publish until BILAT_ENRICHED holds every event, the statistics consumer's ack floor is at its last sequence, and 20 sampled agreements answer GetAgreement; mix 80 % agreements (2–4 parties, 1–3 domains) / 20 % trade figures over the partners; gRPC door = 4 concurrent Import streams, raw door = async JetStream publishes of protobuf bodies with Nats-Msg-Id; each door's events encoded before its clock starts, as the single hop's body"

	// Each consumer handles one message at a time, so 1 / mean handle time
	// is that stage's ceiling; printing it shows which stage limits.
	for _, name := range []string{"ingest", "enrichment", "statistics"} {
		mean, n, err := st.procs[name].handleMean(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			res.add(Figure{Name: "stage " + name + ": mean handle+ack per message", Unit: "ms", Value: ms(mean),
				Note: fmt.Sprintf("%d messages; serial ceiling %.0f events/s", n, 1/mean.Seconds())})
		}
	}

	// Freshness at half the sustained maximum of the door it publishes through.
	rate := tRaw / 2
	log.Info("freshness at half load", "rate", int(rate), "for", cfg.FreshFor)
	_, eventsBase, err := st.streamMsgs(ctx, natsx.StreamEvents)
	if err != nil {
		return nil, err
	}
	_, enrichedBase, err := st.streamMsgs(ctx, natsx.StreamEnriched)
	if err != nil {
		return nil, err
	}
	// The baseline runs beside the phase, so it meets the same machine.
	stopHop := make(chan struct{})
	type hopResult struct {
		lat latencies
		err error
	}
	hopDone := make(chan hopResult, 1)
	go func() {
		lat, err := hopLatency(ctx, st.js, freshSamplesPerSecond, size, stopHop)
		hopDone <- hopResult{lat, err}
	}()
	samples, sent, polls, err := st.freshness(ctx, gen, rate, cfg.FreshFor, freshSamplesPerSecond)
	close(stopHop)
	hl := <-hopDone
	if err != nil {
		return nil, err
	}
	if hl.err != nil {
		return nil, hl.err
	}
	stages, err := st.freshnessHops(ctx, samples, eventsBase, enrichedBase)
	if err != nil {
		return nil, err
	}
	lat := make(latencies, len(samples))
	for i, s := range samples {
		lat[i] = s.latency()
	}
	lat = lat.sorted()
	res.Params["fresh_polls"] = polls
	res.Params["fresh_rate"] = rate
	res.Params["fresh_events"] = sent
	res.Params["fresh_samples"] = len(lat)
	res.Params["fresh_hop_samples"] = len(hl.lat)
	const hopName = "JetStream single hop, same time"
	res.add(Figure{Name: "freshness p50 at half load", Unit: "ms", Value: ms(lat.pct(50))}).withBaseline(hopName, ms(hl.lat.pct(50)))
	res.add(Figure{Name: "freshness p99 at half load", Unit: "ms", Value: ms(lat.pct(99))}).withBaseline(hopName, ms(hl.lat.pct(99))).target("<= 100 ms", ms(lat.pct(99)) <= 100)
	res.add(Figure{Name: "freshness max at half load", Unit: "ms", Value: ms(lat.pct(100))}).withBaseline(hopName, ms(hl.lat.pct(100)))
	for _, h := range []struct {
		name string
		lat  latencies
	}{
		{"ingest (PubAck to BILAT_EVENTS)", stages.ingest},
		{"enrichment (BILAT_EVENTS to BILAT_ENRICHED)", stages.enrichment},
		{"statistics and read (BILAT_ENRICHED to GetAgreement)", stages.statistics},
	} {
		res.add(Figure{Name: "  hop " + h.name + " p50", Unit: "ms", Value: ms(h.lat.pct(50))})
		res.add(Figure{Name: "  hop " + h.name + " p99", Unit: "ms", Value: ms(h.lat.pct(99))})
	}
	res.Methods["freshness"] = fmt.Sprintf("raw-door publishes paced at half the raw door's measured throughput; for at most %d agreements a second, the time from the PubAck to the first GetAgreement through the gateway that finds it (polled every 2 ms for the first 100 ms, then every 10 ms, so figures include up to 2 ms, past 100 ms up to 10 ms, of polling granularity; params.fresh_polls counts the calls). The hops split each followed agreement's time where its event was stored on the way, found by the traceparent it was published with: ingest (PubAck to stored in BILAT_EVENTS), enrichment (to stored in BILAT_ENRICHED), statistics and the read (to the GetAgreement that found it); each hop's percentiles are its own, so they do not add up to the whole's. Baseline: while the phase runs, %d messages a second of the mean event size published with Nats-Msg-Id into a stream of their own and received by a durable pull consumer with explicit acks (the single hop), from each publish to its delivery: what one hop costs on the machine as the phase finds it", freshSamplesPerSecond, freshSamplesPerSecond)

	// Rebuild from the streams.
	log.Info("rebuild: statistics from an empty Redis")
	sum0, n0, err := st.procs["statistics"].handleTotals(ctx)
	if err != nil {
		return nil, err
	}
	var (
		rb    float64
		rbN   uint64
		how   string
		rbCPU cpuTimes // during the replay (with the RPC)
	)
	err = st.profiled(ctx, profDir, "rebuild", cfg.ProfileFor, []string{"statistics"}, func() error {
		var err error
		statsPath := ""
		if profDir != "" {
			statsPath = filepath.Join(profDir, "rebuild-replay-redis.commandstats.txt")
		}
		rb, rbN, how, rbCPU, err = st.rebuild(ctx, statsPath)
		return err
	})
	if err != nil {
		return nil, err
	}
	if how == "restart" {
		sum0, n0 = 0, 0 // a new process: its counters start at zero
	}
	res.Params["rebuild_events"] = rbN
	if sum1, n1, err := st.procs["statistics"].handleTotals(ctx); err != nil {
		return nil, err
	} else if n1 > n0 {
		mean := time.Duration((sum1 - sum0) / float64(n1-n0) * float64(time.Second))
		res.add(Figure{Name: "stage statistics during rebuild: mean handle+ack", Unit: "ms", Value: ms(mean),
			Note: fmt.Sprintf("%d messages; serial ceiling %.0f events/s", n1-n0, 1/mean.Seconds())})
	}
	res.add(Figure{Name: "rebuild", Unit: "events/s", Value: rb}).withBaseline("raw Redis pipeline", rawRedis).
		target(">= 50 % of raw Redis", rb >= 0.5*rawRedis)
	if rbCPU != nil {
		res.add(Figure{Name: "rebuild Redis CPU per event", Unit: "µs", Value: rbCPU.per("redis", float64(rbN))}).
			withBaseline("raw Redis pipeline", rawCPU.per("redis", float64(cfg.BaselineEvents)))
		res.add(Figure{Name: "rebuild statistics CPU per event", Unit: "µs", Value: rbCPU.per("statistics", float64(rbN))})
	}
	baseline := " Baseline: the same per-event writes (agreements: HSET record, SET location, HSETNX revision history entry, ZADD date/domain indexes, HINCRBY counts of all, of each domain and of each dimension, SADD applied/partners; trade figures: HSET record, SET location, ZADD figure index, HSET current version, SADD applied/partners) sent as raw pipelines of 64 events on 4 connections"
	if how == "rpc" {
		res.Methods["rebuild"] = "StatisticsService.RebuildProjections (drops the projection keys, recreates the statistics consumer from the start of BILAT_ENRICHED, returns when caught up, then checksums): events/s of the replay, from the moment the recreated consumer appears until its ack floor reaches the stream's last sequence (key deletion and the final checksum not included)." + baseline
	} else {
		res.Methods["rebuild"] = "StatisticsService has no RebuildProjections RPC (Unimplemented): statistics stopped, Redis flushed, its durable consumer on BILAT_ENRICHED deleted (recreated with DeliverAll on start), statistics started; events/s from the process start until its ack floor reaches the stream's last sequence." + baseline
	}
	if err := st.checkTotal(ctx, published+sent); err != nil {
		return nil, err
	}

	// The query store and Redis memory per agreement.
	before, err := st.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	inStore := publishedAgreements + sent*4/5
	// At least a tenth of the store is seeded, so the memory figure always
	// rests on a measurable number of agreements.
	seedN := max(cfg.StoreAgreements-inStore, cfg.StoreAgreements/10)
	log.Info("seeding the query store", "agreements", seedN)
	// The first part with one writer, as the statistics consumer works, the
	// rest with 16: the pair shows what concurrent apply would gain.
	serialN := min(seedN/10, 5000)
	serialRate, err := st.seed(ctx, gen, 0, serialN, 1)
	if err != nil {
		return nil, err
	}
	seedRate, err := st.seed(ctx, gen, serialN, seedN-serialN, 16)
	if err != nil {
		return nil, err
	}
	res.add(Figure{Name: "projection apply direct, 1 writer", Unit: "agreements/s", Value: serialRate,
		Note: "pkg/projection ApplyAgreement without NATS, one at a time"}).withBaseline("raw Redis pipeline", rawRedis)
	res.add(Figure{Name: "projection apply direct, 16 writers", Unit: "agreements/s", Value: seedRate,
		Note: "pkg/projection ApplyAgreement without NATS, 16 concurrent"}).withBaseline("raw Redis pipeline", rawRedis)
	after, err := st.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	res.Params["store_seeded"] = seedN
	res.Params["seed_rate"] = seedRate
	perAgr := float64(after-before) / float64(max(1, seedN))
	res.add(Figure{Name: "Redis memory per agreement", Unit: "bytes", Value: perAgr}).target("<= 2048 bytes", perAgr <= 2048)
	doc, loc, err := st.memoryBreakdown(ctx, gen, seedN)
	if err != nil {
		return nil, err
	}
	a0 := gen.seedAgreement(0)
	enc, err := st.rdb.ObjectEncoding(ctx, projection.NewKeys("").AgreementDoc(a0.GetPartner().GetCode(), a0.GetId())).Result()
	if err != nil {
		return nil, fmt.Errorf("object encoding: %w", err)
	}
	res.add(Figure{Name: "  of which the record HASH (MEMORY USAGE)", Unit: "bytes", Value: doc, Note: "encoding " + enc})
	res.add(Figure{Name: "  of which the location STRING key", Unit: "bytes", Value: loc})
	res.add(Figure{Name: "  of which index entries, applied marker, allocator overhead", Unit: "bytes", Value: perAgr - doc - loc})
	res.Methods["store"] = fmt.Sprintf("%d agreements written straight into Redis with pkg/projection ApplyAgreement (the statistics service's own Lua apply; the first %d with 1 writer, the rest with 16), on top of those from the pipeline phases; NATS is not involved. Memory = Redis used_memory delta over those agreements; breakdown = mean MEMORY USAGE of 200 of their keys", seedN, serialN)

	if err := st.queries(ctx, cfg, gen, res, profDir, seedN); err != nil {
		return nil, err
	}

	// Peak RSS.
	for _, name := range serviceNames {
		p := st.procs[name]
		p.sampleRSS()
		res.add(Figure{Name: "peak RSS " + name, Unit: "MiB", Value: float64(p.peakRSS) / mib})
	}
	res.add(Figure{Name: "peak RSS redis-server", Unit: "MiB", Value: float64(st.redisPeakRSS(ctx)) / mib})
	if st.nats != nil {
		st.nats.sampleRSS()
		res.add(Figure{Name: "peak RSS nats-server", Unit: "MiB", Value: float64(st.nats.peakRSS) / mib})
		res.add(Figure{Name: "peak RSS bench (load generators)", Unit: "MiB", Value: float64(vmHWM(os.Getpid())) / mib})
	} else {
		res.add(Figure{Name: "peak RSS bench (in-process NATS + load)", Unit: "MiB", Value: float64(vmHWM(os.Getpid())) / mib})
	}
	res.Methods["memory"] = "peak RSS = VmHWM from /proc/<pid>/status (statistics: the highest of its runs, before and after the rebuild)"

	if profDir != "" {
		for _, name := range serviceNames {
			path := filepath.Join(profDir, name+".allocs.pprof")
			if err := st.procs[name].fetch(ctx, "/debug/pprof/allocs", path); err != nil {
				return nil, err
			}
			res.Profiles = append(res.Profiles, path)
		}
	}
	res.Seconds = time.Since(began).Seconds()
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("results dir: %w", err)
		}
		if err := res.writeJSON(filepath.Join(cfg.OutDir, "latest.json")); err != nil {
			return nil, err
		}
		var md strings.Builder
		res.Markdown(&md)
		if err := os.WriteFile(filepath.Join(cfg.OutDir, "latest.md"), []byte(md.String()), 0o644); err != nil {
			return nil, fmt.Errorf("write table: %w", err)
		}
	}
	return res, nil
}

// checkTotal verifies that the gateway lists exactly the agreements sent.
func (st *stack) checkTotal(ctx context.Context, events int) error {
	ac := bilatv1.NewAgreementServiceClient(st.procs["gateway"].conn)
	r, err := ac.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 1})
	if err != nil {
		return fmt.Errorf("list agreements: %w", err)
	}
	want := int64(events - events/5)
	// Exactly one in five generated events of each series is a trade figure.
	if r.GetTotalSize() < want-3 || r.GetTotalSize() > want+3 {
		return fmt.Errorf("after the rebuild the gateway lists %d agreements, want about %d", r.GetTotalSize(), want)
	}
	return nil
}

// profiled runs fn while taking CPU profiles of the named services, and
// Redis' own account of the phase: its per-command statistics (see
// redisCommandStats).
func (st *stack) profiled(ctx context.Context, dir, phase string, d time.Duration, names []string, fn func() error) error {
	if dir == "" {
		return fn()
	}
	if err := st.rdb.ConfigResetStat(ctx).Err(); err != nil {
		return fmt.Errorf("redis stats: %w", err)
	}
	defer func() {
		if err := st.redisCommandStats(ctx, filepath.Join(dir, phase+"-redis.commandstats.txt")); err != nil {
			st.log.Warn("redis command statistics", "phase", phase, "err", err)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, phase+"-"+name+".cpu.pprof")
			if err := st.procs[name].fetch(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(max(1, int(d.Seconds()))), path); err != nil {
				errs <- err
			}
		}()
	}
	err := fn()
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs
}

// selfProfile starts a CPU profile of this process (the load generators
// and, unless -nats-process, the NATS server) into dir/name; stop ends
// it. Without dir it profiles nothing.
func selfProfile(dir, name string) (stop func() error, err error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// redisCommandStats writes Redis' INFO commandstats since the last
// CONFIG RESETSTAT to path, the commands that took the most time first,
// with their share of the total: where Redis' CPU went, which a CPU
// profile of Go processes cannot show.
func (st *stack) redisCommandStats(ctx context.Context, path string) error {
	info, err := st.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return err
	}
	type stat struct {
		name          string
		calls         int64
		usec, perCall float64
	}
	var stats []stat
	total := 0.0
	for line := range strings.Lines(info) {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		s := stat{name: strings.TrimPrefix(name, "cmdstat_")}
		for kv := range strings.SplitSeq(fields, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				s.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				s.usec, _ = strconv.ParseFloat(v, 64)
			case "usec_per_call":
				s.perCall, _ = strconv.ParseFloat(v, 64)
			}
		}
		if s.name == "config|resetstat" || s.name == "info" {
			continue // the bench's own
		}
		total += s.usec
		stats = append(stats, s)
	}
	slices.SortFunc(stats, func(a, b stat) int { return cmp.Compare(b.usec, a.usec) })
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %12s %14s %12s %8s\n", "command", "calls", "usec", "usec/call", "share")
	for _, s := range stats {
		fmt.Fprintf(&b, "%-28s %12d %14.0f %12.2f %7.1f%%\n", s.name, s.calls, s.usec, s.perCall, 100*s.usec/max(total, 1))
	}
	fmt.Fprintf(&b, "%-28s %12s %14.0f\n", "total (time inside commands)", "", total)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// queries runs the three read RPCs against the gateway and the bare server.
func (st *stack) queries(ctx context.Context, cfg Config, gen *generator, res *Result, profDir string, seeded int) error {
	gw, err := dialN(st.procs["gateway"].grpcAddr, 4)
	if err != nil {
		return err
	}
	defer closeAll(gw)
	partners := gen.g.partners
	seedIDs := max(1, seeded)
	getReq := func(r *rand.Rand) *bilatv1.GetAgreementRequest {
		if seeded == 0 {
			return &bilatv1.GetAgreementRequest{Id: gen.event("grpc", 0).id()}
		}
		return &bilatv1.GetAgreementRequest{Id: gen.seedID(r.IntN(seedIDs))}
	}
	listReq := func(r *rand.Rand) *bilatv1.ListAgreementsRequest {
		return &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: partners[r.IntN(len(partners))].code, Domain: commonDomains[r.IntN(len(commonDomains))]}, PageSize: 50}
	}
	tradeReq := func(r *rand.Rand) *bilatv1.GetTradeSeriesRequest {
		return &bilatv1.GetTradeSeriesRequest{Partner: partners[r.IntN(len(partners))].code, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER}
	}
	// Record real answers for the bare server: of 21 random requests of
	// each kind, the response of median size.
	r0 := rand.New(rand.NewPCG(1, 1))
	ac, tc := bilatv1.NewAgreementServiceClient(gw[0]), bilatv1.NewTradeServiceClient(gw[0])
	get, err := medianResponse(func() (*bilatv1.GetAgreementResponse, error) { return ac.GetAgreement(ctx, getReq(r0)) })
	if err != nil {
		return fmt.Errorf("get agreement: %w", err)
	}
	list, err := medianResponse(func() (*bilatv1.ListAgreementsResponse, error) { return ac.ListAgreements(ctx, listReq(r0)) })
	if err != nil {
		return fmt.Errorf("list agreements: %w", err)
	}
	trade, err := medianResponse(func() (*bilatv1.GetTradeSeriesResponse, error) { return tc.GetTradeSeries(ctx, tradeReq(r0)) })
	if err != nil {
		return fmt.Errorf("trade series: %w", err)
	}
	res.Params["response_bytes"] = map[string]int{"get": proto.Size(get), "list": proto.Size(list), "trade": proto.Size(trade)}
	addr, barePID, stopConst, err := startConst(ctx, cfg.workDir, get, list, trade)
	if err != nil {
		return err
	}
	defer stopConst()
	bare, err := dialN(addr, 4)
	if err != nil {
		return err
	}
	defer closeAll(bare)

	type rpc struct {
		name, slug string // slug names its gateway CPU profile
		call       func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error
	}
	rpcs := []rpc{
		{"ListAgreements (partner+domain, page 50)", "list", func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error {
			_, err := bilatv1.NewAgreementServiceClient(cc).ListAgreements(ctx, listReq(r))
			return err
		}},
		{"GetAgreement", "get", func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error {
			_, err := bilatv1.NewAgreementServiceClient(cc).GetAgreement(ctx, getReq(r))
			return err
		}},
		{"GetTradeSeries (turnover)", "trade", func(ctx context.Context, cc *grpc.ClientConn, r *rand.Rand) error {
			_, err := bilatv1.NewTradeServiceClient(cc).GetTradeSeries(ctx, tradeReq(r))
			return err
		}},
	}
	// Collections of this process's heap run between the turns, never
	// during one (fewerGCs says why): a turn allocates well under 2 GiB.
	defer fewerGCs(2 << 30)()
	// The gateway and the bare server take turns, a slice of QueryFor at a
	// time, so that a change in what the shared machine gives the run
	// (another tenant's burst) weighs on both alike.
	turns := max(1, int(cfg.QueryFor/(2*time.Second)))
	halfRates := map[string]float64{} // req/s offered at half load, by RPC
	res.Params["query_half_load_rates"] = halfRates
	slice := cfg.QueryFor / time.Duration(turns)
	for _, q := range rpcs {
		st.log.Info("query load", "rpc", q.name, "clients", cfg.Clients, "for", cfg.QueryFor, "turns", turns)
		var real, base queryResult
		var realCPU, baseCPU cpuTimes // during the gateway's turns, during the bare server's
		procs := map[string]int{"bare": barePID}
		turnsOf := func() error {
			for turn := range turns {
				runtime.GC()
				c0 := st.cpuNow(ctx, procs)
				r, err := load(ctx, gw, cfg.Clients, slice, uint64(turn), q.call)
				if err != nil {
					return err
				}
				c1 := st.cpuNow(ctx, procs)
				runtime.GC()
				c1b := st.cpuNow(ctx, procs)
				b, err := load(ctx, bare, cfg.Clients, slice, uint64(turn), q.call)
				if err != nil {
					return fmt.Errorf("bare gRPC: %w", err)
				}
				c2 := st.cpuNow(ctx, procs)
				real, base = real.plus(r), base.plus(b)
				realCPU, baseCPU = c1.since(c0).plus(realCPU), c2.since(c1b).plus(baseCPU)
			}
			return nil
		}
		// The gateway idles during the bare server's turns, so a profile
		// spanning all turns holds the samples of its own.
		if err := st.profiled(ctx, profDir, "query-"+q.slug, 2*cfg.QueryFor, []string{"gateway"}, turnsOf); err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		// Back to back, 32 clients keep both servers saturated, so their
		// latency is mostly the queue. The same RPCs offered at half the
		// gateway's throughput, to the gateway and to the bare server alike,
		// show the latency of a server with room to spare.
		rate := max(1, real.rps()/2)
		var realHalf, baseHalf queryResult
		for turn := range turns {
			runtime.GC()
			r, err := paced(ctx, gw, cfg.Clients, rate, slice/2, uint64(turn), q.call)
			if err != nil {
				return fmt.Errorf("%s at half load: %w", q.name, err)
			}
			runtime.GC()
			b, err := paced(ctx, bare, cfg.Clients, rate, slice/2, uint64(turn), q.call)
			if err != nil {
				return fmt.Errorf("%s at half load, bare gRPC: %w", q.name, err)
			}
			realHalf, baseHalf = realHalf.plus(r), baseHalf.plus(b)
		}
		halfRates[q.slug] = math.Round(rate)
		res.add(Figure{Name: q.name + " throughput", Unit: "req/s", Value: real.rps()}).
			withBaseline("bare gRPC", base.rps()).target(">= 50 % of bare gRPC", real.rps() >= 0.5*base.rps())
		res.add(Figure{Name: q.name + " p50", Unit: "ms", Value: ms(real.lat.pct(50))}).withBaseline("bare gRPC", ms(base.lat.pct(50)))
		res.add(Figure{Name: q.name + " p99", Unit: "ms", Value: ms(real.lat.pct(99))}).withBaseline("bare gRPC", ms(base.lat.pct(99))).
			target("<= 10 ms", ms(real.lat.pct(99)) <= 10)
		res.add(Figure{Name: q.name + " p50 at half load", Unit: "ms", Value: ms(realHalf.lat.pct(50))}).withBaseline("bare gRPC", ms(baseHalf.lat.pct(50)))
		res.add(Figure{Name: q.name + " p99 at half load", Unit: "ms", Value: ms(realHalf.lat.pct(99))}).withBaseline("bare gRPC", ms(baseHalf.lat.pct(99)))
		// Where a request's CPU goes: the server side (the gateway and
		// Redis, or the bare server) and the client goroutines.
		n, bn := float64(real.calls), float64(base.calls)
		res.add(Figure{Name: q.name + " CPU per request, server side", Unit: "µs", Value: realCPU.per("gateway", n) + realCPU.per("redis", n)}).
			withBaseline("bare gRPC", baseCPU.per("bare", bn))
		for _, name := range []string{"gateway", "redis"} {
			res.add(Figure{Name: "  of which " + st.cpuLabel(name), Unit: "µs", Value: realCPU.per(name, n)})
		}
		res.add(Figure{Name: q.name + " CPU per request, clients", Unit: "µs", Value: realCPU.per("bench", n)}).
			withBaseline("bare gRPC", baseCPU.per("bench", bn))
	}
	res.Methods["queries"] = fmt.Sprintf("%d concurrent clients over 4 connections, each calling back to back for %s in %d turns that alternate with the baseline's; random partner per ListAgreements (with one of the six common domains) and GetTradeSeries (flow turnover: how did turnover with X grow), random stored id per GetAgreement. Baseline: a bare grpc-go server (this program, as its own process, with the stream workers of Bilat's servers) answering a response recorded from the gateway, so message sizes match. At half load: after those turns, the same requests offered open loop at half the gateway's measured throughput (params.query_half_load_rates) to the gateway and to the bare server alike, for %s each in %d alternating turns, up to %d in flight; each latency counts from the moment its request was due, so waiting for a free client counts too. This process (the clients) collects its garbage between turns, never during one", cfg.Clients, cfg.QueryFor, turns, cfg.QueryFor/2, turns, cfg.Clients)
	return nil
}

// medianResponse calls 21 times and keeps the response of median encoded size.
func medianResponse[M proto.Message](call func() (M, error)) (M, error) {
	var all []M
	for range 21 {
		m, err := call()
		if err != nil {
			return m, err
		}
		all = append(all, m)
	}
	slices.SortFunc(all, func(a, b M) int { return proto.Size(a) - proto.Size(b) })
	return all[len(all)/2], nil
}

// memoryBreakdown is the mean MEMORY USAGE of the record HASH and of the
// location key over 200 seeded agreements.
func (st *stack) memoryBreakdown(ctx context.Context, gen *generator, seeded int) (float64, float64, error) {
	k := projection.NewKeys("")
	n := min(200, seeded)
	var doc, loc int64
	for i := range n {
		a := gen.seedAgreement(i * max(1, seeded/n))
		d, err := st.rdb.MemoryUsage(ctx, k.AgreementDoc(a.GetPartner().GetCode(), a.GetId()), 0).Result()
		if err != nil {
			return 0, 0, fmt.Errorf("memory usage: %w", err)
		}
		l, err := st.rdb.MemoryUsage(ctx, k.AgreementLocation(a.GetId()), 0).Result()
		if err != nil {
			return 0, 0, fmt.Errorf("memory usage: %w", err)
		}
		doc, loc = doc+d, loc+l
	}
	return float64(doc) / float64(max(1, n)), float64(loc) / float64(max(1, n)), nil
}

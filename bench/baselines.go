package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// hopRuns is how many times the single hop is measured; the fastest counts.
const hopRuns = 2

// baselineJetStream is the single-hop limit: async publishes with
// Nats-Msg-Id into one file-backed stream (same duplicate window as Bilat's)
// while a durable pull consumer drains it with explicit acks, with the
// MaxAckPending, pull expiry and heartbeat of Bilat's consumers; events per second from
// the first publish to the last ack. run makes the message ids unique
// across runs.
func baselineJetStream(ctx context.Context, js jetstream.JetStream, n, size, run int) (float64, error) {
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	stop, err := consumeHop(ctx, js, "BENCH_SINGLE_HOP", "bench.hop.>", func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	defer stop()
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	for i := range n {
		msg := &nats.Msg{Subject: "bench.hop.x", Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, "hop-"+strconv.Itoa(run)+"-"+strconv.Itoa(i))
		if _, err := js.PublishMsgAsync(msg, loadStall); err != nil {
			return 0, fmt.Errorf("baseline publish: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("baseline drain: %d of %d after 2m", got.Load(), n)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// consumeHop creates the single hop's stream (file storage, subjects
// subject, Bilat's 10 min duplicate window) and consumes it with a durable
// pull consumer with explicit acks and the MaxAckPending, pull expiry and
// heartbeat of Bilat's consumers. stop ends the consumer and deletes the stream.
func consumeHop(ctx context.Context, js jetstream.JetStream, stream, subject string, handle func(jetstream.Msg)) (stop func(), err error) {
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: stream, Subjects: []string{subject}, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	drop := func() { _ = js.DeleteStream(context.Background(), stream) }
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "hop", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: natsx.DefaultMaxAckPending,
	})
	if err != nil {
		drop()
		return nil, fmt.Errorf("consumer on %s: %w", stream, err)
	}
	cc, err := cons.Consume(handle, jetstream.PullExpiry(natsx.PullExpiry), jetstream.PullHeartbeat(natsx.PullHeartbeat))
	if err != nil {
		drop()
		return nil, fmt.Errorf("consume %s: %w", stream, err)
	}
	return func() { cc.Stop(); drop() }, nil
}

// hopLatency is the freshness phase's baseline, measured while the phase
// runs: perSecond messages a second (the mean event size, the send time in
// their first 8 bytes) published with Nats-Msg-Id into a stream of their
// own and received by a durable pull consumer with explicit acks, as the
// single hop; the latency of each is from its publish to its delivery. It
// publishes until stop closes, then waits for the last deliveries.
func hopLatency(ctx context.Context, js jetstream.JetStream, perSecond, size int, stop <-chan struct{}) (latencies, error) {
	var mu sync.Mutex
	var lat latencies
	stopConsume, err := consumeHop(ctx, js, "BENCH_HOP_LATENCY", "bench.latency.>", func(m jetstream.Msg) {
		at := time.Now()
		_ = m.Ack()
		if d := m.Data(); len(d) >= 8 {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(d)))
			mu.Lock()
			lat = append(lat, at.Sub(sent))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("hop latency: %w", err)
	}
	defer stopConsume()
	tick := time.NewTicker(time.Second / time.Duration(max(perSecond, 1)))
	defer tick.Stop()
	sent := 0
publish:
	for {
		select {
		case <-stop:
			break publish
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		body := make([]byte, max(size, 8))
		binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		msg := &nats.Msg{Subject: "bench.latency.x", Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, "latency-"+strconv.Itoa(sent))
		if _, err := js.PublishMsgAsync(msg); err != nil {
			return nil, fmt.Errorf("hop latency publish: %w", err)
		}
		sent++
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if got >= sent {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("hop latency: %d of %d delivered 10 s after the last publish", got, sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return lat.sorted(), nil
}

// rawCommands queues, without Lua and without reads, the writes the
// projection makes for one resolved event: the record HASH, its location,
// the partner's date, domain and count structures, the applied marker and
// the global indexes.
func rawCommands(ctx context.Context, p redis.Pipeliner, k projection.Keys, ev event, seq int) {
	if a := ev.agreement; a != nil {
		part, id := a.GetPartner().GetCode(), a.GetId()
		pb, _ := proto.Marshal(a)
		score := projection.DateScore(a.GetSignedOn())
		year := strconv.Itoa(int(a.GetSignedOn().GetYear()))
		var names []string
		for _, d := range a.GetDomains() {
			names = append(names, projection.DomainName(d))
		}
		dims := projection.AgreementDims(a)
		env := &bilatv1.Envelope{EventId: "evt-" + id, Source: "jetstream:bilat.ingest.agreement",
			RecordedAt: timestamppb.Now(), Sequence: uint64(seq)}
		hf, hv, _ := projection.HistoryRecord(env, part) // a revision of strings and a timestamp always encodes
		p.Set(ctx, k.AgreementLocation(id), part, 0)
		p.HSetNX(ctx, k.AgreementHistory(id), hf, hv)
		p.HSet(ctx, k.AgreementDoc(part, id), "pb", pb, "event", "evt-"+id, "seq", seq, "rev", 1,
			"score", score, "year", year, "domains", strings.Join(names, ","), "dims", strings.Join(dims, ","))
		p.ZAdd(ctx, k.AgreementsByDate(part), redis.Z{Score: float64(score), Member: id})
		for _, d := range names {
			p.ZAdd(ctx, k.AgreementsByDomain(part, d), redis.Z{Score: float64(score), Member: id})
			p.HIncrBy(ctx, k.AgreementCounts(part), d+"|"+year, 1)
			p.ZAdd(ctx, k.AllAgreementsByDomain(d), redis.Z{Score: float64(score), Member: id})
		}
		for _, d := range dims {
			p.HIncrBy(ctx, k.AgreementCounts(part), d+"|"+year, 1)
		}
		p.HIncrBy(ctx, k.AgreementCounts(part), "all|"+year, 1)
		p.HIncrBy(ctx, k.AgreementCounts(part), "total", 1)
		p.SAdd(ctx, k.Applied(part), "evt-"+id)
		p.ZAdd(ctx, k.AllAgreements(), redis.Z{Score: float64(score), Member: id})
		p.SAdd(ctx, k.Partners(), part)
		return
	}
	f := ev.figure
	part, id := f.GetPartner().GetCode(), f.GetId()
	pb, _ := proto.Marshal(f)
	series := projection.SeriesKey("BY", f.GetPeriod(), f.GetFlow(), f.GetScope())
	score := projection.PeriodScore(f.GetPeriod())
	updated := time.Now().UnixNano()
	p.Set(ctx, k.TradeLocation(id), part, 0)
	p.HSet(ctx, k.TradeFigure(part, id), "event", "evt-"+id, "seq", seq, "rev", 1,
		"updated", updated, "score", score, "series", series)
	p.ZAdd(ctx, k.TradeFigures(part, f.GetFlow()), redis.Z{Score: float64(score), Member: series + "|" + id})
	p.HSet(ctx, k.TradeCurrent(part), id, fmt.Sprintf("1:%d:%s", updated, pb))
	p.SAdd(ctx, k.Applied(part), "evt-"+id)
	p.SAdd(ctx, k.Partners(), part)
}

// baselineRedis is the projection limit: the same writes per event sent as
// raw pipelines (64 events per round trip, 4 connections) under a scratch
// prefix that is deleted afterwards.
func baselineRedis(ctx context.Context, rdb *redis.Client, gen *generator, n int) (float64, error) {
	const prefix = "benchraw:"
	k := projection.NewKeys(prefix)
	evs := make([]event, n)
	for i := range evs {
		evs[i] = gen.resolved(gen.event("raw", i))
	}
	const workers, batch = 4, 64
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= n {
					return
				}
				p := rdb.Pipeline()
				for i := lo; i < min(lo+batch, n); i++ {
					rawCommands(ctx, p, k, evs[i], i+1)
				}
				if _, err := p.Exec(ctx); err != nil {
					errs <- fmt.Errorf("baseline redis pipeline: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("baseline redis cleanup: %w", err)
	}
	return rate, nil
}

// constEnv names the variable that turns this program into the bare gRPC
// server: "<addr>,<dir>" where dir holds the constant responses.
const constEnv = "BILAT_BENCH_CONST_SERVER"

// constServer answers every query with a response recorded from the real
// gateway, so the bare-gRPC limit is measured at the same message sizes.
type constServer struct {
	bilatv1.UnimplementedAgreementServiceServer
	bilatv1.UnimplementedTradeServiceServer
	get   *bilatv1.GetAgreementResponse
	list  *bilatv1.ListAgreementsResponse
	trade *bilatv1.GetTradeSeriesResponse
}

func (s *constServer) GetAgreement(context.Context, *bilatv1.GetAgreementRequest) (*bilatv1.GetAgreementResponse, error) {
	return s.get, nil
}
func (s *constServer) ListAgreements(context.Context, *bilatv1.ListAgreementsRequest) (*bilatv1.ListAgreementsResponse, error) {
	return s.list, nil
}
func (s *constServer) GetTradeSeries(context.Context, *bilatv1.GetTradeSeriesRequest) (*bilatv1.GetTradeSeriesResponse, error) {
	return s.trade, nil
}

var constFiles = map[string]string{"get": "get.pb", "list": "list.pb", "trade": "trade.pb"}

// serveConst runs the bare server when constEnv is set; it returns false otherwise.
func serveConst() bool {
	v := os.Getenv(constEnv)
	if v == "" {
		return false
	}
	addr, dir, _ := strings.Cut(v, ",")
	s := &constServer{get: &bilatv1.GetAgreementResponse{}, list: &bilatv1.ListAgreementsResponse{}, trade: &bilatv1.GetTradeSeriesResponse{}}
	for name, m := range map[string]proto.Message{"get": s.get, "list": s.list, "trade": s.trade} {
		b, err := os.ReadFile(filepath.Join(dir, constFiles[name]))
		if err == nil {
			err = proto.Unmarshal(b, m)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "const server:", err)
			os.Exit(1)
		}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "const server:", err)
		os.Exit(1)
	}
	// The transport settings of Bilat's own servers, so that the ratio
	// measures what Bilat does beyond answering, not a server option.
	gs := grpc.NewServer(grpc.NumStreamWorkers(grpcx.StreamWorkers))
	bilatv1.RegisterAgreementServiceServer(gs, s)
	bilatv1.RegisterTradeServiceServer(gs, s)
	if err := gs.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "const server:", err)
		os.Exit(1)
	}
	return true
}

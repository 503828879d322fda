package projection_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Each agreement apply touches the counts hash for its domains, "all",
// "total" and the level, status and kind fields; the raw baseline sends
// the same number of HINCRBY commands, pipelined, per update.
const benchCountsPerUpdate = 7 // 2 domains + all + total + lvl + st + kind

func benchAgreement(i int) *bilatv1.AgreementRecorded { return benchAgreementOf(i, "GE") }

// benchPartners are the partners of BenchmarkApplyAgreementsBatch's
// spread-out runs.
var benchPartners = func() []string {
	var ps []string
	for _, a := range "ABCDEFGHIJ" {
		for _, b := range "KLMNOPQRST" {
			ps = append(ps, string(a)+string(b))
		}
	}
	return ps
}()

func benchAgreementOf(i int, partner string) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: fmt.Sprintf("bench-%d", i), Sequence: uint64(i + 1)},
		Agreement: &bilatv1.Agreement{
			Id: fmt.Sprintf("a%d", i), Title: "Agreement", Partner: ref(partner), SignedOn: date(2000+int32(i%20), 1, 1),
			Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE},
			Status:  bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED, Kind: bilatv1.AgreementKind_AGREEMENT_KIND_TREATY,
			Parties: []*bilatv1.Party{{Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE}},
		},
	}
}

// benchKeysPerUpdate is how many keys applying a first-seen agreement with
// two domains touches: in its partner's slot the record HASH, the by-date
// and two domain ZSETs, the counts HASH and the applied SET; outside it
// the location STRING, the global date and two domain ZSETs, the partners
// SET and the revision history HASH.
const benchKeysPerUpdate = 12

// rawRate measures pipelined HINCRBY updates per second on the same Redis,
// batch updates to a pipeline (batch 1: one round trip per update, as the
// consumer handled one event at a time). An update is benchCountsPerUpdate
// HINCRBYs into one counts hash, or with perKey one HINCRBY into each of
// benchKeysPerUpdate keys: the "same number of keys touched" the target is set against.
func rawRate(b *testing.B, r *testenv.RedisServer, n, batch int, perKey bool) float64 {
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i += batch {
		pipe := r.Client.Pipeline()
		for j := i; j < min(i+batch, n); j++ {
			if perKey {
				for k := range benchKeysPerUpdate {
					pipe.HIncrBy(ctx, fmt.Sprintf("raw:{GE}:k%d", k), strconv.Itoa(2000+j%20), 1)
				}
				continue
			}
			for k := range benchCountsPerUpdate {
				pipe.HIncrBy(ctx, "raw:{GE}:agr:counts", fmt.Sprintf("f%d|%d", k, 2000+j%20), 1)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkApplyAgreement applies new agreements one at a time, as the
// statistics consumer does, and reports the ratio of its rate to the raw
// pipelined HINCRBY rate (one pipeline per update; target ≥ 0.30) and to
// 100 updates per pipeline, measured in the same run. The machine is
// shared, so the three are measured in interleaved chunks of 100 updates.
func BenchmarkApplyAgreement(b *testing.B) {
	r := testenv.Redis(b)
	s := projection.New(r.Client)
	ctx := context.Background()
	events := make([]*bilatv1.AgreementRecorded, b.N)
	for i := range events {
		events[i] = benchAgreement(i)
	}
	const chunk = 100
	var applyT, rawT, batchT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += chunk {
		n := min(chunk, b.N-i)
		start := time.Now()
		for _, e := range events[i : i+n] {
			if _, err := s.ApplyAgreement(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		applyT += time.Since(start)
		b.StopTimer()
		rawT += time.Duration(float64(n) / rawRate(b, r, n, 1, false) * float64(time.Second))
		batchT += time.Duration(float64(n) / rawRate(b, r, n, chunk, false) * float64(time.Second))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/applyT.Seconds(), "updates/s")
	b.ReportMetric(float64(b.N)/rawT.Seconds(), "raw-updates/s")
	b.ReportMetric(rawT.Seconds()/applyT.Seconds(), "ratio")
	b.ReportMetric(batchT.Seconds()/applyT.Seconds(), "ratio-vs-batch100")
}

// BenchmarkRawPipelineHINCRBY is the baseline alone: one pipeline of
// benchCountsPerUpdate HINCRBYs per update.
func BenchmarkRawPipelineHINCRBY(b *testing.B) {
	r := testenv.Redis(b)
	b.ResetTimer()
	b.ReportMetric(rawRate(b, r, b.N, 1, false), "updates/s")
}

// BenchmarkApplyAgreementWorkers applies as the statistics service does:
// eight workers, each applying its own records one at a time, timed in
// alternating chunks against the same raw pipelines.
func BenchmarkApplyAgreementWorkers(b *testing.B) {
	const workers, chunk = 8, 400
	r := testenv.Redis(b)
	s := projection.New(r.Client)
	ctx := context.Background()
	events := make([]*bilatv1.AgreementRecorded, b.N)
	for i := range events {
		events[i] = benchAgreement(i)
	}
	var applyT, rawT, batchT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += chunk {
		n := min(chunk, b.N-i)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := i + w; j < i+n; j += workers {
					if _, err := s.ApplyAgreement(ctx, events[j]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		applyT += time.Since(start)
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rawT += time.Duration(float64(n) / rawRate(b, r, n, 1, false) * float64(time.Second))
		batchT += time.Duration(float64(n) / rawRate(b, r, n, 100, false) * float64(time.Second))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/applyT.Seconds(), "updates/s")
	b.ReportMetric(rawT.Seconds()/applyT.Seconds(), "ratio")
	b.ReportMetric(batchT.Seconds()/applyT.Seconds(), "ratio-vs-batch100")
}

// BenchmarkApplyAgreementsBatch applies new agreements in batches of 100
// (ApplyAgreements, as a statistics worker applies the events waiting for
// it) and reports the ratio of its rate to the raw pipelined HINCRBY rate
// with one pipeline per update ("ratio") and with 100 updates per
// pipeline ("ratio-vs-batch100"), and to 100-update pipelines of one
// HINCRBY per key the apply touches ("ratio-vs-keys-batch100", the
// target ≥ 0.30), measured in interleaved chunks of 100 in the same run.
// The agreements of a batch belong to one partner, to 10 or to 100: a
// batch applies the agreements of one partner with one script call, so
// the spread shows what that sharing is worth.
func BenchmarkApplyAgreementsBatch(b *testing.B) {
	for _, partners := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("partners=%d", partners), func(b *testing.B) { benchApplyBatch(b, partners) })
	}
}

func benchApplyBatch(b *testing.B, partners int) {
	r := testenv.Redis(b)
	s := projection.New(r.Client)
	ctx := context.Background()
	events := make([]*bilatv1.AgreementRecorded, b.N)
	for i := range events {
		events[i] = benchAgreementOf(i, benchPartners[i%partners])
	}
	const chunk = 100
	var applyT, rawT, batchT, keysT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += chunk {
		n := min(chunk, b.N-i)
		start := time.Now()
		outs, errs := s.ApplyAgreements(ctx, events[i:i+n])
		applyT += time.Since(start)
		for j, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
			if outs[j] != projection.Applied {
				b.Fatalf("event %d: %v", i+j, outs[j])
			}
		}
		b.StopTimer()
		rawT += time.Duration(float64(n) / rawRate(b, r, n, 1, false) * float64(time.Second))
		batchT += time.Duration(float64(n) / rawRate(b, r, n, chunk, false) * float64(time.Second))
		keysT += time.Duration(float64(n) / rawRate(b, r, n, chunk, true) * float64(time.Second))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/applyT.Seconds(), "updates/s")
	b.ReportMetric(float64(b.N)/rawT.Seconds(), "raw-updates/s")
	b.ReportMetric(rawT.Seconds()/applyT.Seconds(), "ratio")
	b.ReportMetric(batchT.Seconds()/applyT.Seconds(), "ratio-vs-batch100")
	b.ReportMetric(keysT.Seconds()/applyT.Seconds(), "ratio-vs-keys-batch100")
}

// BenchmarkReadRedisCPU reports what one read costs Redis: the CPU time
// of its main thread (INFO cpu) per ListAgreements page (partner and
// domain, 50 of ~70) and per turnover series (one point a year, two
// figures each, beside three other flows), one read at a time, on 100
// partners' 20,000 agreements and 24,000 figures. Redis shares the
// machine with the gateway, so its time per read bounds the gateway's
// throughput as much as the gateway's own.
func BenchmarkReadRedisCPU(b *testing.B) {
	r := testenv.Redis(b)
	s := projection.New(r.Client)
	ctx := context.Background()
	const agreements, years = 20000, 30
	flows := []bilatv1.TradeFlow{bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS,
		bilatv1.TradeFlow_TRADE_FLOW_IMPORTS, bilatv1.TradeFlow_TRADE_FLOW_BALANCE}
	var agrs []*bilatv1.AgreementRecorded
	for i := range agreements {
		a := benchAgreementOf(i, benchPartners[i%len(benchPartners)])
		a.Agreement.Title = "Agreement on cooperation in trade, economy, science and culture between the governments"
		agrs = append(agrs, a)
	}
	var figs []*bilatv1.TradeFigureRecorded
	for p, partner := range benchPartners {
		for y := range years {
			for f, flow := range flows {
				for n := range 2 {
					i := ((p*years+y)*len(flows)+f)*2 + n
					figs = append(figs, fig(fmt.Sprintf("bench-fig-%d", i), uint64(agreements+i+1), fmt.Sprintf("f%d", i),
						partner, "BY", int32(1995+y), 0, 0, flow, bilatv1.TradeScope_TRADE_SCOPE_GOODS, int64(1000+i), date(int32(1996+y), 1, int32(1+n))))
				}
			}
		}
	}
	for i := 0; i < len(agrs); i += 64 {
		outs, errs := s.ApplyAgreements(ctx, agrs[i:min(i+64, len(agrs))])
		mustApplyAll(b, outs, errs)
	}
	for i := 0; i < len(figs); i += 64 {
		outs, errs := s.ApplyTradeFigures(ctx, figs[i:min(i+64, len(figs))])
		mustApplyAll(b, outs, errs)
	}
	reads := []struct {
		name string
		read func(partner string) (int, error)
	}{
		{"list", func(partner string) (int, error) {
			p, err := s.ListAgreements(ctx, projection.AgreementFilter{Partner: partner, Domain: bilatv1.Domain_DOMAIN_TRADE}, 50, "")
			return len(p.Wire), err
		}},
		{"series", func(partner string) (int, error) {
			pts, err := s.GetTradeSeriesWire(ctx, projection.TradeFilter{Partner: partner, Flow: flows[0]})
			return len(pts), err
		}},
	}
	for _, rd := range reads {
		b.Run(rd.name, func(b *testing.B) {
			cpu0 := redisCPU(b, r)
			b.ResetTimer()
			for i := range b.N {
				n, err := rd.read(benchPartners[i%len(benchPartners)])
				if err != nil || n == 0 {
					b.Fatalf("%s: %d items, %v", rd.name, n, err)
				}
			}
			b.StopTimer()
			b.ReportMetric((redisCPU(b, r)-cpu0).Seconds()*1e6/float64(b.N), "redis-µs/op")
		})
	}
}

func mustApplyAll(b *testing.B, outs []projection.Outcome, errs []error) {
	b.Helper()
	for i, err := range errs {
		if err != nil || outs[i] != projection.Applied {
			b.Fatalf("apply %d: %v %v", i, outs[i], err)
		}
	}
}

// redisCPU is the CPU time Redis' main thread has used.
func redisCPU(b *testing.B, r *testenv.RedisServer) time.Duration {
	b.Helper()
	info, err := r.Client.InfoMap(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, f := range []string{"used_cpu_user_main_thread", "used_cpu_sys_main_thread"} {
		v, err := strconv.ParseFloat(info["CPU"][f], 64)
		if err != nil {
			b.Fatalf("INFO cpu %s: %v", f, err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second))
}

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

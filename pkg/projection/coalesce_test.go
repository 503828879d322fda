package projection_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/redisx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// A Store that coalesces its reads answers every read as one that does
// not, with many readers at once sharing round trips.
func TestCoalescedReadsAnswerAsDirectReads(t *testing.T) {
	direct, rdb := newStore(t)
	seedList(t, direct)
	turnover, goods := bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeScope_TRADE_SCOPE_GOODS
	for i, year := range []int32{2017, 2018, 2019} {
		applyT(t, direct, fig(fmt.Sprint("t", i), uint64(10+i), fmt.Sprint("af-", year), "AF", "BY", year, 0, 0, turnover, goods, int64(i), date(2020, 1, 1)), projection.Applied)
		applyT(t, direct, fig(fmt.Sprint("u", i), uint64(20+i), fmt.Sprint("af-b-", year), "AF", "BY", year, 0, 0, turnover, goods, int64(i), date(2021, 1, 1)), projection.Applied)
	}
	co := redisx.NewCoalescer(rdb, 2)
	defer co.Close()
	coalesced := projection.New(rdb, projection.WithCoalescedReads(co))
	ctx := context.Background()

	type read func(s *projection.Store) (string, error)
	var reads []read
	for _, id := range []string{"ge-1997", "ge-2017-03", "am-2018", "absent"} {
		reads = append(reads, func(s *projection.Store) (string, error) {
			a, err := s.GetAgreement(ctx, id)
			return fmt.Sprint(protoText(a), err), nil
		})
	}
	for _, f := range []projection.AgreementFilter{{}, {Partner: "GE"}, {Domain: trade}, {Partner: "GE", Domain: culture, FromYear: 2017}} {
		reads = append(reads, func(s *projection.Store) (string, error) {
			var out []string
			token := ""
			for {
				p, err := s.ListAgreements(ctx, f, 2, token)
				if err != nil {
					return "", err
				}
				out = append(out, fmt.Sprint(p.TotalSize, p.NextPageToken))
				for _, b := range p.Wire {
					out = append(out, fmt.Sprintf("%x", b))
				}
				if token = p.NextPageToken; token == "" {
					return fmt.Sprint(out), nil
				}
			}
		})
	}
	reads = append(reads, func(s *projection.Store) (string, error) {
		pts, err := s.GetTradeSeries(ctx, projection.TradeFilter{Partner: "AF", Flow: turnover})
		var out []string
		for _, p := range pts {
			out = append(out, protoText(p))
		}
		return fmt.Sprint(out), err
	})

	want := make([]string, len(reads))
	for i, r := range reads {
		var err error
		if want[i], err = r(direct); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 3 * len(reads) {
				i := (g + n) % len(reads)
				got, err := reads[i](coalesced)
				if err != nil || got != want[i] {
					t.Errorf("read %d: %s, %v; want %s", i, got, err, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func protoText(m proto.Message) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%x", b)
}

package cli

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// statsSrv answers the statistics RPCs with the book's Afghanistan and
// Georgia figures as StatisticsService would compute them.
type statsSrv struct {
	bilatv1.UnimplementedTradeServiceServer
	bilatv1.UnimplementedStatisticsServiceServer
	rebuilt bool
	tol     float64
}

func usdM(m int64) *bilatv1.Money { return &bilatv1.Money{Currency: "USD", Units: m * 100_000} }

func (s *statsSrv) GetTradeBalance(_ context.Context, req *bilatv1.GetTradeBalanceRequest) (*bilatv1.GetTradeBalanceResponse, error) {
	if req.GetPartner() == "" {
		return nil, grpcx.InvalidArgument("invalid trade balance request", grpcx.FieldViolation{Field: "partner", Description: "is required"})
	}
	return &bilatv1.GetTradeBalanceResponse{Partner: req.GetPartner(), Periods: []*bilatv1.TradePeriodStats{{
		Reporter: "BY", Period: &bilatv1.Period{Year: 2018},
		Values: []*bilatv1.TradeValue{
			{Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Usd: usdM(387)},
			{Flow: bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, Usd: usdM(384), Derived: true},
			{Flow: bilatv1.TradeFlow_TRADE_FLOW_IMPORTS, Original: &bilatv1.Money{Currency: "RUB", Units: 5}, NoUsdValue: true},
		},
	}}}, nil
}

func (s *statsSrv) GetTradeGrowth(context.Context, *bilatv1.GetTradeGrowthRequest) (*bilatv1.GetTradeGrowthResponse, error) {
	g, st := 29.0, 31.0
	return &bilatv1.GetTradeGrowthResponse{Partner: "AF", Points: []*bilatv1.GrowthPoint{{
		Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Period: &bilatv1.Period{Year: 2018}, Base: &bilatv1.Period{Year: 2017},
		Value: &bilatv1.TradeValue{Usd: usdM(387)}, BaseValue: &bilatv1.TradeValue{Usd: usdM(300), Approximate: true},
		GrowthPct: &g, StatedGrowthPct: &st, Disagrees: true,
	}}}, nil
}

func (s *statsSrv) GetTargetProgress(context.Context, *bilatv1.GetTargetProgressRequest) (*bilatv1.GetTargetProgressResponse, error) {
	req := 21.32
	return &bilatv1.GetTargetProgressResponse{Partner: "GE", Targets: []*bilatv1.TargetProgress{{
		Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, TargetYear: 2020, Target: &bilatv1.TradeValue{Usd: usdM(2000)},
		Actual: &bilatv1.TradeValue{Usd: usdM(1120)}, ActualYear: 2017, ProgressPct: 56, RequiredGrowthPct: &req,
	}}}, nil
}

func (s *statsSrv) RankPartners(_ context.Context, req *bilatv1.RankPartnersRequest) (*bilatv1.RankPartnersResponse, error) {
	return &bilatv1.RankPartnersResponse{Year: req.GetYear(), Metric: req.GetMetric(),
		Partners:   []*bilatv1.RankedPartner{{Rank: 1, Partner: "GE", Value: &bilatv1.TradeValue{Usd: usdM(1200)}}},
		WithoutUsd: []string{"RU-STA"}}, nil
}

func (s *statsSrv) GetTradeConflicts(_ context.Context, req *bilatv1.GetTradeConflictsRequest) (*bilatv1.GetTradeConflictsResponse, error) {
	s.tol = req.GetTolerancePct()
	return &bilatv1.GetTradeConflictsResponse{Partner: req.GetPartner(), Conflicts: []*bilatv1.TradeConflict{{
		Reporter: "BY", Period: &bilatv1.Period{Year: 2017}, SpreadPct: 4.5, TolerancePct: 1,
		Observations: []*bilatv1.TradeValue{{Usd: usdM(300), FigureIds: []string{"a"}}, {Usd: usdM(287), FigureIds: []string{"b"}}},
	}}}, nil
}

func (s *statsSrv) GetAgreementStats(_ context.Context, req *bilatv1.GetAgreementStatsRequest) (*bilatv1.GetAgreementStatsResponse, error) {
	return &bilatv1.GetAgreementStatsResponse{Partner: req.GetPartner(), TotalAgreements: 3,
		Counts: []*bilatv1.DimensionCount{
			{Dimension: "domain", Value: "trade", Year: 2017, Count: 2}, {Dimension: "status", Value: "signed", Year: 2018, Count: 1},
		},
		TopPartners: []*bilatv1.PartnerCount{{Partner: "GE", Agreements: 3}}}, nil
}

func (s *statsSrv) RebuildProjections(context.Context, *bilatv1.RebuildProjectionsRequest) (*bilatv1.RebuildProjectionsResponse, error) {
	s.rebuilt = true
	return &bilatv1.RebuildProjectionsResponse{DeletedKeys: 10, Replayed: 93, Checksum: "abc", Keys: 10}, nil
}

func (s *statsSrv) GetProjectionsChecksum(context.Context, *bilatv1.GetProjectionsChecksumRequest) (*bilatv1.GetProjectionsChecksumResponse, error) {
	return &bilatv1.GetProjectionsChecksumResponse{Checksum: "abc", Keys: 10}, nil
}

func serveStats(t *testing.T) (*statsSrv, string) {
	t.Helper()
	s := &statsSrv{}
	g := grpc.NewServer()
	bilatv1.RegisterTradeServiceServer(g, s)
	bilatv1.RegisterStatisticsServiceServer(g, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return s, lis.Addr().String()
}

func TestStatisticsCommands(t *testing.T) {
	srv, addr := serveStats(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"trade", "balance", "AF"}, []string{"TURNOVER", "38,700,000 USD", "38,400,000 USD *", "5 RUB (no USD value)"}},
		{[]string{"trade", "growth", "AF"}, []string{"+29.00%", "+31.00%", "!", "~30,000,000 USD"}},
		{[]string{"trade", "target", "GE"}, []string{"56.00%", "+21.32%/yr", "112,000,000 USD (2017"}},
		{[]string{"trade", "rank", "--year", "2018", "--by", "growth"}, []string{"GE", "RU-STA", "no USD value"}},
		{[]string{"trade", "conflicts", "AF", "GE", "--tolerance", "2"}, []string{"AF", "GE", "4.50%", "[a]"}},
		{[]string{"agreements", "stats", "--statistics", addr}, []string{"DOMAIN", "STATUS", "trade", "3 agreements", "RANK"}},
		{[]string{"projections", "checksum", "--statistics", addr}, []string{"abc  10 keys"}},
		{[]string{"projections", "rebuild", "--statistics", addr}, []string{"deleted 10 keys, replayed 93 messages"}},
		{[]string{"trade", "balance", "AF", "-o", "json"}, []string{`"derived"`, `"noUsdValue"`}},
	}
	for _, c := range cases {
		r := run(t, addr, "", c.args...)
		if r.code != 0 {
			t.Fatalf("%v: code %d\n%s%s", c.args, r.code, r.stdout, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Fatalf("%v: output lacks %q:\n%s", c.args, w, r.stdout)
			}
		}
	}
	if !srv.rebuilt || srv.tol != 2 {
		t.Fatalf("rebuilt %v, tolerance %v", srv.rebuilt, srv.tol)
	}
	for _, bad := range [][]string{
		{"trade", "rank", "--year", "2018", "--by", "size"},
		{"trade", "balance", "AF", "--rollup", "world"},
		{"trade", "conflicts"},
		{"trade", "growth", "AF", "--flow", "sideways"},
	} {
		if r := run(t, addr, "", bad...); r.code != ExitInvalid {
			t.Fatalf("%v: code %d, want %d\n%s", bad, r.code, ExitInvalid, r.stderr)
		}
	}
	if r := run(t, addr, "", "trade", "balance", ""); r.code != ExitInvalid || !strings.Contains(r.stderr, "partner") {
		t.Fatalf("empty partner: %+v", r)
	}
}

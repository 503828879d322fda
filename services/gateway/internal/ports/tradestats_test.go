package ports_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/adapters"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

// statsServer is a StatisticsService that answers from its fields, served
// over real gRPC so the forwarding is tested end to end.
type statsServer struct {
	bilatv1.UnimplementedStatisticsServiceServer
	got *bilatv1.ComputeTradeBalanceRequest
}

func (s *statsServer) ComputeTradeBalance(_ context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error) {
	s.got = req
	if req.GetPartner() == "" {
		return nil, grpcx.InvalidArgument("invalid trade balance request", grpcx.FieldViolation{Field: "partner", Description: "is required"})
	}
	if req.GetPartner() == "XX" {
		return nil, status.Error(codes.NotFound, "no figures")
	}
	return &bilatv1.ComputeTradeBalanceResponse{Partner: req.GetPartner(), Periods: []*bilatv1.TradePeriodStats{{
		Reporter: "BY", Period: &bilatv1.Period{Year: 2018},
		Values: []*bilatv1.TradeValue{{Flow: bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, Derived: true, Formula: "exports = (turnover + balance) / 2"}},
	}}}, nil
}

func listen(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	srv := grpcx.NewServer(testenv.Logger(t))
	register(srv.GRPC())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String()
}

func TestTradeStatisticsForwardToStatisticsService(t *testing.T) {
	fake := &statsServer{}
	statsAddr := listen(t, func(s *grpc.Server) { bilatv1.RegisterStatisticsServiceServer(s, fake) })
	stats, err := adapters.DialStatistics(statsAddr, grpcx.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	down, err := adapters.DialStatistics("127.0.0.1:1", grpcx.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	r := testenv.Redis(t)
	svc := app.New(projection.New(r.Client))
	log := testenv.Logger(t)
	gw := listen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(svc, log).WithStatistics(stats))
	})
	gwDown := listen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(svc, log).WithStatistics(down))
	})
	client := func(addr string) bilatv1.TradeServiceClient {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return bilatv1.NewTradeServiceClient(conn)
	}
	ctx := context.Background()

	resp, err := client(gw).GetTradeBalance(ctx, &bilatv1.GetTradeBalanceRequest{Partner: "AF", Reporter: "BY", FromYear: 2017, ToYear: 2018,
		Rollup: bilatv1.Rollup_ROLLUP_REGIONS})
	if err != nil {
		t.Fatal(err)
	}
	if fake.got.GetPartner() != "AF" || fake.got.GetReporter() != "BY" || fake.got.GetFromYear() != 2017 || fake.got.GetToYear() != 2018 ||
		fake.got.GetRollup() != bilatv1.Rollup_ROLLUP_REGIONS {
		t.Fatalf("statistics got %v", fake.got)
	}
	if v := resp.GetPeriods()[0].GetValues()[0]; resp.GetPartner() != "AF" || !v.GetDerived() || v.GetFormula() == "" {
		t.Fatalf("response = %v", resp)
	}
	_, err = client(gw).GetTradeBalance(ctx, &bilatv1.GetTradeBalanceRequest{})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("invalid request: %v (details %v)", err, st.Details())
	}
	if _, err := client(gw).GetTradeBalance(ctx, &bilatv1.GetTradeBalanceRequest{Partner: "XX"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown partner: %v", err)
	}
	if _, err := client(gw).RankPartners(ctx, &bilatv1.RankPartnersRequest{Year: 2018}); status.Code(err) != codes.Unavailable {
		t.Fatalf("unimplemented upstream: %v", err)
	}
	if _, err := client(gwDown).GetTradeGrowth(ctx, &bilatv1.GetTradeGrowthRequest{Partner: "AF"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("statistics down: %v", err)
	}
}

// TestForwardedMessagesAreWireIdentical guards the conversion by encoding:
// each gateway message must have the fields (numbers, names, kinds) of its
// StatisticsService twin.
func TestForwardedMessagesAreWireIdentical(t *testing.T) {
	pairs := [][2]proto.Message{
		{&bilatv1.GetTradeBalanceRequest{}, &bilatv1.ComputeTradeBalanceRequest{}},
		{&bilatv1.GetTradeBalanceResponse{}, &bilatv1.ComputeTradeBalanceResponse{}},
		{&bilatv1.GetTradeGrowthRequest{}, &bilatv1.ComputeTradeGrowthRequest{}},
		{&bilatv1.GetTradeGrowthResponse{}, &bilatv1.ComputeTradeGrowthResponse{}},
		{&bilatv1.GetTargetProgressRequest{}, &bilatv1.ComputeTargetProgressRequest{}},
		{&bilatv1.GetTargetProgressResponse{}, &bilatv1.ComputeTargetProgressResponse{}},
		{&bilatv1.RankPartnersRequest{}, &bilatv1.ComputePartnerRankingRequest{}},
		{&bilatv1.RankPartnersResponse{}, &bilatv1.ComputePartnerRankingResponse{}},
		{&bilatv1.GetTradeConflictsRequest{}, &bilatv1.ListTradeConflictsRequest{}},
		{&bilatv1.GetTradeConflictsResponse{}, &bilatv1.ListTradeConflictsResponse{}},
	}
	for _, p := range pairs {
		a, b := p[0].ProtoReflect().Descriptor().Fields(), p[1].ProtoReflect().Descriptor().Fields()
		if a.Len() != b.Len() {
			t.Fatalf("%T has %d fields, %T %d", p[0], a.Len(), p[1], b.Len())
		}
		for i := range a.Len() {
			fa, fb := a.Get(i), b.ByNumber(a.Get(i).Number())
			if fb == nil || fa.Name() != fb.Name() || fa.Kind() != fb.Kind() || fa.Cardinality() != fb.Cardinality() ||
				(fa.Message() != nil && fa.Message().FullName() != fb.Message().FullName()) ||
				(fa.Enum() != nil && fa.Enum().FullName() != fb.Enum().FullName()) {
				t.Fatalf("%T.%s does not match %T", p[0], fa.Name(), p[1])
			}
		}
	}
}

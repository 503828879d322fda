package ports_test

import (
	"context"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/adapters"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

// trGazetteer is a GazetteerService answering from a fixed set of
// entities, served over real gRPC.
type trGazetteer struct {
	bilatv1.UnimplementedGazetteerServiceServer
	entities map[string]*bilatv1.Entity
}

func newTrGazetteer() *trGazetteer {
	es := []*bilatv1.Entity{
		{Code: "AF", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Afghanistan"},
		{Code: "GE", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Georgia", Memberships: []*bilatv1.Membership{{Bloc: "bloc.cis"}}},
		{Code: "CN", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "China"},
		{Code: "RU", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Russia", Memberships: []*bilatv1.Membership{{Bloc: "bloc.cis"}}},
		{Code: "RU-STA", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Stavropol Krai", Parent: "RU", Country: "RU"},
		{Code: "RU-STA.stavropol", Kind: bilatv1.EntityKind_ENTITY_KIND_CITY, Name: "Stavropol", Parent: "RU-STA", Country: "RU"},
		// Looks like a Russian region by its code, but the gazetteer says otherwise.
		{Code: "RU-ZZ", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Name: "Look-alike"},
		{Code: "bloc.cis", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC, Name: "Commonwealth of Independent States"},
	}
	g := &trGazetteer{entities: map[string]*bilatv1.Entity{}}
	for _, e := range es {
		g.entities[e.GetCode()] = e
	}
	return g
}

func (g *trGazetteer) GetEntity(_ context.Context, req *bilatv1.GetEntityRequest) (*bilatv1.GetEntityResponse, error) {
	e, ok := g.entities[req.GetCode()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no entity %q", req.GetCode())
	}
	resp := &bilatv1.GetEntityResponse{Entity: e, Parent: g.entities[e.GetParent()]}
	for _, c := range g.sorted() {
		if c.GetParent() == e.GetCode() {
			resp.Children = append(resp.Children, c)
		}
		for _, m := range c.GetMemberships() {
			if m.GetBloc() == e.GetCode() {
				resp.Members = append(resp.Members, c)
			}
		}
	}
	for _, m := range e.GetMemberships() {
		resp.Blocs = append(resp.Blocs, g.entities[m.GetBloc()])
	}
	return resp, nil
}

// SearchEntities matches names by their first letter: enough to tell a
// misspelling ("Gorgia") from nothing at all.
func (g *trGazetteer) SearchEntities(_ context.Context, req *bilatv1.SearchEntitiesRequest) (*bilatv1.SearchEntitiesResponse, error) {
	q := strings.ToLower(req.GetQuery())
	resp := &bilatv1.SearchEntitiesResponse{}
	for _, e := range g.sorted() {
		if q == "" || !strings.HasPrefix(strings.ToLower(e.GetName()), q[:1]) ||
			(req.GetKind() != 0 && e.GetKind() != req.GetKind()) || int32(len(resp.Hits)) >= req.GetLimit() {
			continue
		}
		resp.Hits = append(resp.Hits, &bilatv1.SearchHit{Entity: e, MatchedAlias: strings.ToLower(e.GetName()), Score: 0.9})
	}
	return resp, nil
}

func (g *trGazetteer) sorted() []*bilatv1.Entity {
	var out []*bilatv1.Entity
	for _, e := range g.entities {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *bilatv1.Entity) int { return strings.Compare(a.GetCode(), b.GetCode()) })
	return out
}

// trStats is a StatisticsService answering from fixed periods and growth
// points per partner (filtered by reporter and year as the real one does),
// recording how many calls ran at once and whether they had a deadline.
type trStats struct {
	bilatv1.UnimplementedStatisticsServiceServer
	periods map[string][]*bilatv1.TradePeriodStats
	growth  map[string]*bilatv1.ComputeTradeGrowthResponse

	inFlight, maxInFlight atomic.Int32
	mu                    sync.Mutex
	calls                 int
	noDeadline            int
	balanceReqs           []*bilatv1.ComputeTradeBalanceRequest
}

func (s *trStats) enter(ctx context.Context) func() {
	n := s.inFlight.Add(1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.calls++
	if _, ok := ctx.Deadline(); !ok {
		s.noDeadline++
	}
	s.mu.Unlock()
	return func() { s.inFlight.Add(-1) }
}

func inYears(p *bilatv1.Period, from, to int32) bool {
	return (from == 0 || p.GetYear() >= from) && (to == 0 || p.GetYear() <= to)
}

func (s *trStats) ComputeTradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error) {
	defer s.enter(ctx)()
	s.mu.Lock()
	s.balanceReqs = append(s.balanceReqs, req)
	s.mu.Unlock()
	if len(s.periods[req.GetPartner()]) == 0 {
		// As the real one: a partner without figures is NotFound.
		return nil, status.Errorf(codes.NotFound, "trade figures of %q: not found", req.GetPartner())
	}
	resp := &bilatv1.ComputeTradeBalanceResponse{Partner: req.GetPartner()}
	for _, p := range s.periods[req.GetPartner()] {
		if (req.GetReporter() == "" || p.GetReporter() == req.GetReporter()) && inYears(p.GetPeriod(), req.GetFromYear(), req.GetToYear()) {
			resp.Periods = append(resp.Periods, p)
		}
	}
	return resp, nil
}

func (s *trStats) ComputeTradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error) {
	defer s.enter(ctx)()
	if len(s.periods[req.GetPartner()]) == 0 {
		return nil, status.Errorf(codes.NotFound, "trade figures of %q: not found", req.GetPartner())
	}
	resp := &bilatv1.ComputeTradeGrowthResponse{Partner: req.GetPartner()}
	g := s.growth[req.GetPartner()]
	for _, p := range g.GetPoints() {
		if p.GetFlow() == req.GetFlow() && inYears(p.GetPeriod(), req.GetFromYear(), req.GetToYear()) {
			resp.Points = append(resp.Points, p)
		}
	}
	for _, c := range g.GetCagr() {
		if c.GetFlow() == req.GetFlow() {
			resp.Cagr = append(resp.Cagr, c)
		}
	}
	return resp, nil
}

func usdM(v float64) *bilatv1.Money {
	units := math.Trunc(v)
	return &bilatv1.Money{Currency: "USD", Units: int64(units), Nanos: int32(math.Round((v - units) * 1e9))}
}

func tv(flow bilatv1.TradeFlow, v float64, derived bool) *bilatv1.TradeValue {
	return &bilatv1.TradeValue{Flow: flow, Usd: usdM(v), Original: usdM(v), Derived: derived}
}

func stat(reporter string, year, m1, m2 int32, scope bilatv1.TradeScope, vs ...*bilatv1.TradeValue) *bilatv1.TradePeriodStats {
	return &bilatv1.TradePeriodStats{Reporter: reporter, Period: &bilatv1.Period{Year: year, FirstMonth: m1, LastMonth: m2}, Scope: scope, Values: vs}
}

const (
	flowTurnover  = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
	flowExports   = bilatv1.TradeFlow_TRADE_FLOW_EXPORTS
	scopeNone     = bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED
	scopeGoods    = bilatv1.TradeScope_TRADE_SCOPE_GOODS
	scopeServices = bilatv1.TradeScope_TRADE_SCOPE_SERVICES
)

// trListen serves register on a free port with the gateway's own server
// code and returns the address.
func trListen(t *testing.T, register func(*grpc.Server)) string {
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

func trConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// trBackends starts the fake gazetteer and statistics and returns the
// gateway's clients of them.
func trBackends(t *testing.T, g *trGazetteer, st *trStats) (*adapters.Gazetteer, *adapters.Statistics) {
	t.Helper()
	gAddr := trListen(t, func(s *grpc.Server) { bilatv1.RegisterGazetteerServiceServer(s, g) })
	sAddr := trListen(t, func(s *grpc.Server) { bilatv1.RegisterStatisticsServiceServer(s, st) })
	stats, err := adapters.DialStatistics(sAddr, grpcx.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stats.Close() })
	return adapters.NewGazetteer(bilatv1.NewGazetteerServiceClient(trConn(t, gAddr))), stats
}

func trWantInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	got := map[string]bool{}
	for _, v := range grpcx.FieldViolations(err) {
		got[v.Field] = true
	}
	for _, f := range fields {
		if !got[f] {
			t.Fatalf("err %v has no violation of field %q", err, f)
		}
	}
}

func compareFixture() *trStats {
	return &trStats{
		periods: map[string][]*bilatv1.TradePeriodStats{
			"AF": {
				stat("BY", 2016, 0, 0, scopeNone, tv(flowTurnover, 26.79, true)),
				stat("BY", 2017, 0, 0, scopeNone, tv(flowTurnover, 30, false), tv(flowExports, 28.7, false)),
				stat("BY", 2018, 0, 0, scopeNone, tv(flowTurnover, 38.7, false)),
				// Sub-annual periods never stand for a year.
				stat("BY", 2018, 1, 6, scopeNone, tv(flowTurnover, 500, false)),
			},
			"GE": {
				stat("BY", 2017, 0, 0, scopeGoods, tv(flowTurnover, 70, false)),
				stat("BY", 2018, 0, 0, scopeGoods, tv(flowTurnover, 61.3, true)),
				// A region's figure and scopeServices alone never stand for the total.
				stat("BY-MI", 2018, 0, 0, scopeGoods, tv(flowTurnover, 5, false)),
				stat("BY", 2018, 0, 0, scopeServices, tv(flowTurnover, 100, false)),
			},
		},
		growth: map[string]*bilatv1.ComputeTradeGrowthResponse{
			"AF": {
				Points: []*bilatv1.GrowthPoint{{
					Reporter: "BY", Flow: flowTurnover, Scope: scopeNone, Period: &bilatv1.Period{Year: 2018},
					Base: &bilatv1.Period{Year: 2017}, GrowthPct: ptr(29.0),
				}},
				Cagr: []*bilatv1.Cagr{{Reporter: "BY", Flow: flowTurnover, FromYear: 2016, ToYear: 2018, CagrPct: 20.19}},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestCompareTrade(t *testing.T) {
	st := compareFixture()
	gz, stats := trBackends(t, newTrGazetteer(), st)
	log := testenv.Logger(t)
	gw := trListen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(nil, log).WithCompare(app.NewCompare(gz, stats)))
	})
	client := bilatv1.NewTradeServiceClient(trConn(t, gw))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// China has no trade figures: its column is empty, not an error.
	resp, err := client.CompareTrade(ctx, &bilatv1.CompareTradeRequest{Partners: []string{"AF", "GE", "CN"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetFlow() != flowTurnover {
		t.Fatalf("flow = %v, want flowTurnover by default", resp.GetFlow())
	}
	if len(resp.GetPartners()) != 3 || resp.GetPartners()[0].GetName() != "Afghanistan" || resp.GetPartners()[1].GetName() != "Georgia" ||
		resp.GetPartners()[2].GetName() != "China" || len(resp.GetPartners()[2].GetPeriods()) != 0 ||
		len(resp.GetPartners()[0].GetPeriods()) != 4 || len(resp.GetPartners()[0].GetCagr()) != 1 {
		t.Fatalf("partners = %v", resp.GetPartners())
	}
	type cell struct {
		usd     float64
		has     bool
		derived bool
		share   float64
		yoy     *float64
	}
	want := map[int32][3]cell{
		2016: {{26.79, true, true, 100, nil}, {}, {}},
		2017: {{30, true, false, 30, ptr(11.98)}, {70, true, false, 70, nil}, {}},
		2018: {{38.7, true, false, 38.7, ptr(29.0)}, {61.3, true, true, 61.3, ptr(-12.43)}, {}},
	}
	var years []int32
	for _, y := range resp.GetYears() {
		years = append(years, y.GetYear())
		w := want[y.GetYear()]
		if len(y.GetCells()) != 3 || y.GetCells()[0].GetPartner() != "AF" || y.GetCells()[1].GetPartner() != "GE" || y.GetCells()[2].GetPartner() != "CN" {
			t.Fatalf("year %d cells = %v", y.GetYear(), y.GetCells())
		}
		for i, c := range y.GetCells() {
			got := cell{has: c.GetUsd() != nil, derived: c.GetDerived(), share: c.GetSharePct(), yoy: c.YoyPct}
			if got.has {
				got.usd = math.Round((float64(c.GetUsd().GetUnits())+float64(c.GetUsd().GetNanos())/1e9)*100) / 100
			}
			if got.usd != w[i].usd || got.has != w[i].has || got.derived != w[i].derived || got.share != w[i].share ||
				(got.yoy == nil) != (w[i].yoy == nil) || (got.yoy != nil && *got.yoy != *w[i].yoy) {
				t.Errorf("year %d %s: got %+v (yoy %v), want %+v (yoy %v)", y.GetYear(), c.GetPartner(), got, c.YoyPct, w[i], w[i].yoy)
			}
		}
	}
	if !slices.Equal(years, []int32{2016, 2017, 2018}) {
		t.Fatalf("years = %v", years)
	}
	if st.noDeadline != 0 {
		t.Fatalf("%d of %d statistics calls had no deadline: the caller's must pass through", st.noDeadline, st.calls)
	}

	// Exports: only Afghanistan has them.
	resp, err = client.CompareTrade(ctx, &bilatv1.CompareTradeRequest{Partners: []string{"GE", "AF"}, Flow: flowExports, FromYear: 2017, ToYear: 2017})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetYears()) != 1 || resp.GetYears()[0].GetCells()[0].GetUsd() != nil || resp.GetYears()[0].GetCells()[1].GetSharePct() != 100 {
		t.Fatalf("flowExports comparison = %v", resp.GetYears())
	}
}

func TestCompareTradeManyPartnersBoundedFanOut(t *testing.T) {
	st := compareFixture()
	g := newTrGazetteer()
	var partners []string
	for i := range 20 {
		code := "P" + string(rune('A'+i))
		g.entities[code] = &bilatv1.Entity{Code: code, Name: "Partner " + code}
		st.periods[code] = []*bilatv1.TradePeriodStats{stat("BY", 2018, 0, 0, scopeNone, tv(flowTurnover, 10, false))}
		partners = append(partners, code)
	}
	gz, stats := trBackends(t, g, st)
	log := testenv.Logger(t)
	gw := trListen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(nil, log).WithCompare(app.NewCompare(gz, stats)))
	})
	client := bilatv1.NewTradeServiceClient(trConn(t, gw))
	resp, err := client.CompareTrade(context.Background(), &bilatv1.CompareTradeRequest{Partners: partners})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetYears()) != 1 || len(resp.GetYears()[0].GetCells()) != 20 || resp.GetYears()[0].GetCells()[7].GetSharePct() != 5 {
		t.Fatalf("years = %v", resp.GetYears())
	}
	if st.calls != 40 || st.maxInFlight.Load() > 8 {
		t.Fatalf("%d statistics calls, at most %d at once; want 40, at most 8", st.calls, st.maxInFlight.Load())
	}
}

func TestCompareTradeValidationAndNotFound(t *testing.T) {
	gz, stats := trBackends(t, newTrGazetteer(), compareFixture())
	log := testenv.Logger(t)
	gw := trListen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(nil, log).WithCompare(app.NewCompare(gz, stats)))
	})
	client := bilatv1.NewTradeServiceClient(trConn(t, gw))
	ctx := context.Background()
	many := make([]string, 21)
	for i := range many {
		many[i] = "P" + string(rune('A'+i))
	}
	for _, tc := range []struct {
		req    *bilatv1.CompareTradeRequest
		fields []string
	}{
		{&bilatv1.CompareTradeRequest{}, []string{"partners"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE"}}, []string{"partners"}},
		{&bilatv1.CompareTradeRequest{Partners: many}, []string{"partners"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE", ""}}, []string{"partners[1]"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE", "AF", "GE"}}, []string{"partners[2]"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE", "AF"}, FromYear: 1800, ToYear: 2300}, []string{"from_year", "to_year"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE", "AF"}, FromYear: 2019, ToYear: 2017}, []string{"from_year"}},
		{&bilatv1.CompareTradeRequest{Partners: []string{"GE", "AF"}, Flow: 9}, []string{"flow"}},
	} {
		_, err := client.CompareTrade(ctx, tc.req)
		trWantInvalid(t, err, tc.fields...)
	}
	_, err := client.CompareTrade(ctx, &bilatv1.CompareTradeRequest{Partners: []string{"GE", "Gorgia"}})
	if status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), `no partner "Gorgia"; did you mean Georgia (GE)?`) {
		t.Fatalf("unknown partner: %v", err)
	}
}

package ports_test

import (
	"context"
	"encoding/base64"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

const (
	trade   = bilatv1.Domain_DOMAIN_TRADE
	culture = bilatv1.Domain_DOMAIN_CULTURE
	science = bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// serve runs the gateway handlers on a real gRPC server on loopback over
// the given Redis client.
func serve(t *testing.T, rdb redis.UniversalClient) (bilatv1.AgreementServiceClient, bilatv1.TradeServiceClient) {
	t.Helper()
	log := testenv.Logger(t)
	svc := app.New(projection.New(rdb))
	srv := grpcx.NewServer(log)
	bilatv1.RegisterAgreementServiceServer(srv.GRPC(), ports.NewAgreementServer(svc, log))
	bilatv1.RegisterTradeServiceServer(srv.GRPC(), ports.NewTradeServer(svc, log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return bilatv1.NewAgreementServiceClient(conn), bilatv1.NewTradeServiceClient(conn)
}

func agreement(seq uint64, id, partner string, y, m int32, ds ...bilatv1.Domain) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: "ev-" + id + "-" + strconv.FormatUint(seq, 10), Sequence: seq},
		Agreement: &bilatv1.Agreement{
			Id: id, Title: "Agreement " + id, Kind: bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
			Partner:  &bilatv1.EntityRef{Name: partner, Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: partner},
			SignedOn: &bilatv1.PartialDate{Year: y, Month: m}, Domains: ds,
		},
	}
}

// seed writes the fixture through the same apply path statistics uses.
func seed(t *testing.T) (*redis.Client, []*bilatv1.AgreementRecorded) {
	t.Helper()
	r := testenv.Redis(t)
	st := projection.New(r.Client, projection.WithClock(func() time.Time { return now }))
	evs := []*bilatv1.AgreementRecorded{
		agreement(1, "ge-2016", "GE", 2016, 0, trade),
		agreement(2, "ge-2017-02", "GE", 2017, 2, culture),
		agreement(3, "ge-2017-09", "GE", 2017, 9, trade, science),
		agreement(4, "ge-2018", "GE", 2018, 0, science),
		agreement(5, "ge-2019-05", "GE", 2019, 5, trade),
		agreement(6, "ge-undated", "GE", 0, 0, culture),
		agreement(7, "am-2017", "AM", 2017, 0, trade),
		agreement(8, "am-2020", "AM", 2020, 3, culture),
	}
	for _, ev := range evs {
		if _, err := st.ApplyAgreement(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return r.Client, evs
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	for _, v := range grpcx.FieldViolations(err) {
		if v.Field == field {
			return
		}
	}
	t.Fatalf("err %v has no violation of field %q", err, field)
}

func ids(as []*bilatv1.Agreement) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.GetId())
	}
	return out
}

func TestGetAgreement(t *testing.T) {
	rdb, evs := seed(t)
	agr, _ := serve(t, rdb)
	ctx := context.Background()

	resp, err := agr.GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: "ge-2017-09"})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(evs[2].GetAgreement()).(*bilatv1.Agreement)
	want.Revision = 1
	want.UpdatedAt = resp.GetAgreement().GetUpdatedAt()
	if !proto.Equal(want, resp.GetAgreement()) || !resp.GetAgreement().GetUpdatedAt().AsTime().Equal(now) {
		t.Fatalf("agreement = %v\nwant %v (updated %v)", resp.GetAgreement(), want, now)
	}

	_, err = agr.GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: "no-such"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: %v, want NotFound", err)
	}
	_, err = agr.GetAgreement(ctx, &bilatv1.GetAgreementRequest{})
	wantInvalid(t, err, "id")
}

func TestListAgreementsFilters(t *testing.T) {
	rdb, _ := seed(t)
	agr, _ := serve(t, rdb)
	for _, tc := range []struct {
		name string
		req  *bilatv1.ListAgreementsRequest
		want []string
	}{
		{"all", &bilatv1.ListAgreementsRequest{},
			[]string{"am-2020", "ge-2019-05", "ge-2018", "ge-2017-09", "ge-2017-02", "am-2017", "ge-2016", "ge-undated"}},
		{"partner", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "AM"}}, []string{"am-2020", "am-2017"}},
		{"domain", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Domain: trade}},
			[]string{"ge-2019-05", "ge-2017-09", "am-2017", "ge-2016"}},
		{"partner and domain", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE", Domain: culture}},
			[]string{"ge-2017-02", "ge-undated"}},
		{"years", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{SignedFrom: &bilatv1.PartialDate{Year: 2017}, SignedTo: &bilatv1.PartialDate{Year: 2018}}},
			[]string{"ge-2018", "ge-2017-09", "ge-2017-02", "am-2017"}},
		{"partner, domain and years", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE", Domain: science, SignedFrom: &bilatv1.PartialDate{Year: 2018}}},
			[]string{"ge-2018"}},
		{"oldest first", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE"}, OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC},
			[]string{"ge-2016", "ge-2017-02", "ge-2017-09", "ge-2018", "ge-2019-05", "ge-undated"}},
		{"unknown partner", &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "ZZ"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := agr.ListAgreements(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp.GetAgreements()); !slices.Equal(got, tc.want) ||
				resp.GetTotalSize() != int64(len(tc.want)) || resp.GetNextPageToken() != "" {
				t.Fatalf("ids %v total %d token %q, want %v", got, resp.GetTotalSize(), resp.GetNextPageToken(), tc.want)
			}
		})
	}
}

func TestListAgreementsPagination(t *testing.T) {
	rdb, _ := seed(t)
	agr, _ := serve(t, rdb)
	ctx := context.Background()
	want := [][]string{
		{"am-2020", "ge-2019-05", "ge-2018"},
		{"ge-2017-09", "ge-2017-02", "am-2017"},
		{"ge-2016", "ge-undated"},
	}
	req := &bilatv1.ListAgreementsRequest{PageSize: 3}
	seen := map[string]bool{}
	var tokens []string
	for i, w := range want {
		resp, err := agr.ListAgreements(ctx, req)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		got := ids(resp.GetAgreements())
		if !slices.Equal(got, w) || resp.GetTotalSize() != 8 {
			t.Fatalf("page %d = %v (total %d), want %v", i, got, resp.GetTotalSize(), w)
		}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("page %d repeats %s", i, id)
			}
			seen[id] = true
		}
		if last := i == len(want)-1; last != (resp.GetNextPageToken() == "") {
			t.Fatalf("page %d: next token %q", i, resp.GetNextPageToken())
		}
		tokens = append(tokens, resp.GetNextPageToken())
		req.PageToken = resp.GetNextPageToken()
	}

	// A token is bound to its filters and cannot be edited.
	_, err := agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 3, Filter: &bilatv1.AgreementFilter{Partner: "GE"}, PageToken: tokens[0]})
	wantInvalid(t, err, "page_token")
	_, err = agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 3, OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC, PageToken: tokens[0]})
	wantInvalid(t, err, "page_token")
	// The default order is SIGNED_DESC: naming it keeps the token valid.
	if _, err = agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 3, OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC, PageToken: tokens[0]}); err != nil {
		t.Fatalf("same filter, explicit default order: %v", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tokens[0])
	if err != nil {
		t.Fatalf("token is not base64url: %v", err)
	}
	for i := range raw {
		tampered := slices.Clone(raw)
		tampered[i] ^= 0x04
		_, err = agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 3,
			PageToken: base64.RawURLEncoding.EncodeToString(tampered)})
		wantInvalid(t, err, "page_token")
	}
	_, err = agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageToken: "!!not a token!!"})
	wantInvalid(t, err, "page_token")
}

func TestListAgreementsValidation(t *testing.T) {
	rdb, _ := seed(t)
	agr, _ := serve(t, rdb)
	pd := func(y, m, d int32) *bilatv1.PartialDate { return &bilatv1.PartialDate{Year: y, Month: m, Day: d} }
	flt := func(f *bilatv1.AgreementFilter) *bilatv1.ListAgreementsRequest {
		return &bilatv1.ListAgreementsRequest{Filter: f}
	}
	for field, req := range map[string]*bilatv1.ListAgreementsRequest{
		"page_size":                   {PageSize: 501},
		"filter.signed_from":          flt(&bilatv1.AgreementFilter{SignedFrom: pd(2020, 0, 0), SignedTo: pd(2019, 12, 0)}),
		"filter.signed_to.year":       flt(&bilatv1.AgreementFilter{SignedTo: pd(1800, 0, 0)}),
		"filter.signed_from.day":      flt(&bilatv1.AgreementFilter{SignedFrom: pd(2017, 2, 29)}),
		"filter.signed_to.month":      flt(&bilatv1.AgreementFilter{SignedTo: pd(2017, 13, 0)}),
		"filter.signed_to.day":        flt(&bilatv1.AgreementFilter{SignedTo: pd(2017, 0, 3)}),
		"filter.domain":               flt(&bilatv1.AgreementFilter{Domain: 99}),
		"filter.level":                flt(&bilatv1.AgreementFilter{Level: 99}),
		"filter.kind":                 flt(&bilatv1.AgreementFilter{Kind: 99}),
		"filter.status":               flt(&bilatv1.AgreementFilter{Status: 99}),
		"filter.partner":              flt(&bilatv1.AgreementFilter{Partner: "{GE}"}),
		"filter.bloc":                 flt(&bilatv1.AgreementFilter{Bloc: "bloc cis"}),
		"filter.include_sub_entities": flt(&bilatv1.AgreementFilter{IncludeSubEntities: true}),
		"filter.query":                flt(&bilatv1.AgreementFilter{Query: strings.Repeat("a ", 9)}),
		"filter.place":                flt(&bilatv1.AgreementFilter{Place: strings.Repeat("x", 201)}),
		"order_by":                    {OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE},
	} {
		_, err := agr.ListAgreements(context.Background(), req)
		wantInvalid(t, err, field)
	}
	_, err := agr.ListAgreements(context.Background(), &bilatv1.ListAgreementsRequest{OrderBy: 7})
	wantInvalid(t, err, "order_by")
	if _, err := agr.ListAgreements(context.Background(), &bilatv1.ListAgreementsRequest{PageSize: 500}); err != nil {
		t.Fatalf("page size 500: %v", err)
	}
}

func TestGetTradeSeries(t *testing.T) {
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	const (
		turnover = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
		exports  = bilatv1.TradeFlow_TRADE_FLOW_EXPORTS
		imports  = bilatv1.TradeFlow_TRADE_FLOW_IMPORTS
		balance  = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
	)
	type f struct {
		id          string
		year, first int32
		flow        bilatv1.TradeFlow
	}
	// Applied out of order on purpose.
	for i, x := range []f{
		{"2019-bal", 2019, 0, balance}, {"2018-im", 2018, 0, imports}, {"2019-to", 2019, 0, turnover},
		{"2018-to", 2018, 0, turnover}, {"2018-h1-ex", 2018, 1, exports}, {"2018-ex", 2018, 0, exports},
		{"2017-to", 2017, 0, turnover},
	} {
		last := int32(0)
		if x.first != 0 {
			last = 6
		}
		_, err := st.ApplyTradeFigure(context.Background(), &bilatv1.TradeFigureRecorded{
			Envelope: &bilatv1.Envelope{EventId: "t-" + x.id, Sequence: uint64(i + 1)},
			Figure: &bilatv1.TradeFigure{Id: x.id, Partner: &bilatv1.EntityRef{Code: "AF"}, Reporter: &bilatv1.EntityRef{Code: "BY"},
				Period: &bilatv1.Period{Year: x.year, FirstMonth: x.first, LastMonth: last}, Flow: x.flow,
				Value: &bilatv1.Money{Currency: "USD", Units: int64(i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, trade := serve(t, r.Client)
	series := func(req *bilatv1.GetTradeSeriesRequest) []string {
		t.Helper()
		resp, err := trade.GetTradeSeries(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetPartner() != req.GetPartner() {
			t.Fatalf("partner %q", resp.GetPartner())
		}
		var out []string
		for _, p := range resp.GetPoints() {
			if len(p.GetFigures()) != 1 || p.GetFlow() != p.GetFigures()[0].GetFlow() {
				t.Fatalf("point %v", p)
			}
			out = append(out, p.GetFigures()[0].GetId())
		}
		return out
	}
	got := series(&bilatv1.GetTradeSeriesRequest{Partner: "AF"})
	want := []string{"2017-to", "2018-to", "2018-ex", "2018-im", "2018-h1-ex", "2019-to", "2019-bal"}
	if !slices.Equal(got, want) {
		t.Fatalf("series = %v, want %v", got, want)
	}
	got = series(&bilatv1.GetTradeSeriesRequest{Partner: "AF", Reporter: "BY", Flow: turnover, FromYear: 2018})
	if want := []string{"2018-to", "2019-to"}; !slices.Equal(got, want) {
		t.Fatalf("filtered series = %v, want %v", got, want)
	}
	if got := series(&bilatv1.GetTradeSeriesRequest{Partner: "AF", Reporter: "BY-HM"}); len(got) != 0 {
		t.Fatalf("other reporter = %v", got)
	}
	_, err := trade.GetTradeSeries(context.Background(), &bilatv1.GetTradeSeriesRequest{})
	wantInvalid(t, err, "partner")
	_, err = trade.GetTradeSeries(context.Background(), &bilatv1.GetTradeSeriesRequest{Partner: "AF", Flow: 12})
	wantInvalid(t, err, "flow")
}

func TestRedisDownIsUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), MaxRetries: -1})
	defer rdb.Close()
	agr, _ := serve(t, rdb)
	_, err := agr.GetAgreement(context.Background(), &bilatv1.GetAgreementRequest{Id: "a1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
}

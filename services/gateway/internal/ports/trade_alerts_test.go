package ports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

// alertEnv is a real JetStream with Bilat's streams, the fake statistics
// (BY's turnover with Georgia: 100 in 2017, 50 in Jan-Jun 2017) and a
// gateway serving WatchTradeAlerts.
type alertEnv struct {
	t      *testing.T
	nats   *testenv.NATSServer
	client bilatv1.TradeServiceClient
}

func newAlertEnv(t *testing.T) *alertEnv {
	t.Helper()
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	st := &trStats{periods: map[string][]*bilatv1.TradePeriodStats{
		"GE": {
			stat("BY", 2017, 0, 0, scopeNone, tv(flowTurnover, 100, false)),
			stat("BY", 2017, 1, 6, scopeNone, tv(flowTurnover, 50, false)),
			// Another scope of the same year must not be compared with.
			stat("BY", 2017, 0, 0, scopeGoods, tv(flowTurnover, 10, false)),
		},
		"AF": {stat("BY", 2017, 0, 0, scopeNone, tv(flowTurnover, 30, false))},
	}}
	_, stats := trBackends(t, newTrGazetteer(), st)
	log := testenv.Logger(t)
	gw := trListen(t, func(s *grpc.Server) {
		bilatv1.RegisterTradeServiceServer(s, ports.NewTradeServer(nil, log).WithAlerts(context.Background(), app.NewAlerts(n.JS, stats, log)))
	})
	return &alertEnv{t: t, nats: n, client: bilatv1.NewTradeServiceClient(trConn(t, gw))}
}

// figureEvent is one enriched trade figure as enrichment publishes it.
type figureEvent struct {
	id       string // figure id
	seq      uint64 // BILAT_EVENTS sequence
	version  uint32 // enrichment version
	partner  string // "" unresolved
	year     int32
	m1, m2   int32
	flow     bilatv1.TradeFlow
	scope    bilatv1.TradeScope
	value    float64
	currency string // "" USD
}

func (e *alertEnv) publish(f figureEvent) {
	e.t.Helper()
	if f.flow == 0 {
		f.flow = flowTurnover
	}
	cur := f.currency
	if cur == "" {
		cur = "USD"
	}
	fig := &bilatv1.TradeFigure{
		Id:       f.id,
		Reporter: &bilatv1.EntityRef{Name: "Belarus", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: "BY"},
		Partner:  &bilatv1.EntityRef{Name: "Georgia as written", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED},
		Period:   &bilatv1.Period{Year: f.year, FirstMonth: f.m1, LastMonth: f.m2},
		Flow:     f.flow, Scope: f.scope,
		Value: &bilatv1.Money{Currency: cur, Units: int64(f.value)},
	}
	if f.partner != "" {
		fig.Partner.Resolution, fig.Partner.Code = bilatv1.Resolution_RESOLUTION_RESOLVED, f.partner
	}
	if cur == "USD" {
		fig.ValueUsd = &bilatv1.FxConversion{Usd: usdM(f.value), Rate: 1, RateYear: f.year}
	} else {
		fig.ValueUsd = &bilatv1.FxConversion{Gap: true}
	}
	eventID := "ev-" + f.id
	ev := &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{
			EventId: eventID, Sequence: f.seq, EnrichmentVersion: f.version,
			RecordedAt: timestamppb.New(time.Now().Add(-time.Second)),
		},
		Figure: fig,
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	msgID := eventID
	if f.version > 0 {
		msgID = fmt.Sprintf("%s-e%d", eventID, f.version)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr := map[string][]string{natsx.HeaderEventType: {"bilat.v1.TradeFigureRecorded"}}
	if _, err := natsx.Publish(ctx, e.nats.JS, natsx.SubjectEnriched("trade_figure", f.partner), msgID, data, hdr); err != nil {
		e.t.Fatal(err)
	}
}

// watch opens a WatchTradeAlerts stream; its alerts arrive on the channel
// (closed with the stream's final error sent on errc).
func (e *alertEnv) watch(ctx context.Context, req *bilatv1.WatchTradeAlertsRequest) (<-chan *bilatv1.WatchTradeAlertsResponse, <-chan error) {
	e.t.Helper()
	stream, err := e.client.WatchTradeAlerts(ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	out, errc := make(chan *bilatv1.WatchTradeAlertsResponse, 100), make(chan error, 1)
	go func() {
		defer close(out)
		for {
			a, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			out <- a
		}
	}()
	return out, errc
}

// next waits for the next alert (the test's overall timeout is the bound;
// the 30 s here only turns a hang into a readable failure).
func (e *alertEnv) next(alerts <-chan *bilatv1.WatchTradeAlertsResponse, errc <-chan error) *bilatv1.WatchTradeAlertsResponse {
	e.t.Helper()
	select {
	case a, ok := <-alerts:
		if !ok {
			e.t.Fatalf("alert stream ended: %v", <-errc)
		}
		return a
	case <-time.After(30 * time.Second):
		e.t.Fatal("no alert")
	}
	return nil
}

func alertID(a *bilatv1.WatchTradeAlertsResponse) string {
	return fmt.Sprintf("%s:%s:%.2f", a.GetFigure().GetId(), a.GetPartner(), a.GetChangePct())
}

// waitReady waits until the watch's consumer exists, so that figures
// published next count as new (start=NOW).
func (e *alertEnv) waitReady() {
	e.t.Helper()
	testenv.Eventually(e.t, 10*time.Second, "alert consumer", func() bool {
		st, err := e.nats.JS.Stream(context.Background(), natsx.StreamEnriched)
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background())
		return err == nil && info.State.Consumers > 0
	})
}

func TestWatchTradeAlertsFiresOncePerQualifyingFigure(t *testing.T) {
	e := newAlertEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alerts, errc := e.watch(ctx, &bilatv1.WatchTradeAlertsRequest{ThresholdPct: 10})
	e.waitReady()

	e.publish(figureEvent{id: "small", seq: 1, partner: "GE", year: 2018, value: 105})                     // +5 %: below
	e.publish(figureEvent{id: "big", seq: 2, partner: "GE", year: 2018, value: 150})                       // +50 %: fires
	e.publish(figureEvent{id: "big", seq: 2, version: 1, partner: "GE", year: 2018, value: 150})           // re-enriched, same partner
	e.publish(figureEvent{id: "rub", seq: 3, partner: "GE", year: 2018, value: 9000, currency: "RUB"})     // no USD value
	e.publish(figureEvent{id: "exp", seq: 4, partner: "GE", year: 2018, value: 900, flow: flowExports})    // another flow
	e.publish(figureEvent{id: "noprev", seq: 5, partner: "GE", year: 2020, value: 900})                    // nothing a year earlier
	e.publish(figureEvent{id: "moved", seq: 6, partner: "", year: 2018, value: 130})                       // unresolved: no partner
	e.publish(figureEvent{id: "moved", seq: 6, version: 1, partner: "GE", year: 2018, value: 130})         // now GE: fires
	e.publish(figureEvent{id: "moved", seq: 6, version: 2, partner: "GE", year: 2018, value: 130})         // again GE: no
	e.publish(figureEvent{id: "half", seq: 7, partner: "GE", year: 2018, m1: 1, m2: 6, value: 40})         // -20 % vs Jan-Jun: fires
	e.publish(figureEvent{id: "goods", seq: 8, partner: "GE", year: 2018, scope: scopeGoods, value: 10.5}) // +5 % in goods: below
	e.publish(figureEvent{id: "cn", seq: 11, partner: "CN", year: 2018, value: 1000})                      // statistics: no figures of CN
	e.publish(figureEvent{id: "af", seq: 9, partner: "AF", year: 2018, value: 38})                         // +26.67 %: fires
	e.publish(figureEvent{id: "big", seq: 2, partner: "GE", year: 2018, value: 150})                       // republished v0: deduplicated

	var got []string
	for range 4 {
		got = append(got, alertID(e.next(alerts, errc)))
	}
	want := []string{"big:GE:50.00", "moved:GE:30.00", "half:GE:-20.00", "af:AF:26.67"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alerts = %v, want %v", got, want)
	}
	// Nothing else is pending: a sentinel that fires comes next.
	e.publish(figureEvent{id: "sentinel", seq: 10, partner: "GE", year: 2018, value: 300})
	if a := e.next(alerts, errc); a.GetFigure().GetId() != "sentinel" {
		t.Fatalf("after the expected alerts got %s", alertID(a))
	}
}

func TestWatchTradeAlertsResume(t *testing.T) {
	e := newAlertEnv(t)
	req := &bilatv1.WatchTradeAlertsRequest{Partners: []string{"GE"}, ThresholdPct: 25}

	ctx1, cancel1 := context.WithCancel(context.Background())
	alerts, errc := e.watch(ctx1, req)
	e.waitReady()
	e.publish(figureEvent{id: "a", seq: 1, partner: "GE", year: 2018, value: 150})
	e.publish(figureEvent{id: "af", seq: 2, partner: "AF", year: 2018, value: 300}) // not watched
	first := e.next(alerts, errc)
	if first.GetFigure().GetId() != "a" || first.GetPosition() == "" || first.GetThresholdPct() != 25 ||
		first.GetPreviousUsd().GetUnits() != 100 || first.GetUsd().GetUnits() != 150 || first.GetPeriod().GetYear() != 2018 {
		t.Fatalf("first alert = %v", first)
	}
	cancel1()

	// While nobody watches: a re-enrichment of the alerted figure (same
	// partner: no repeat) and two qualifying figures.
	e.publish(figureEvent{id: "a", seq: 1, version: 1, partner: "GE", year: 2018, value: 150})
	e.publish(figureEvent{id: "b", seq: 3, partner: "GE", year: 2018, value: 40})
	e.publish(figureEvent{id: "c", seq: 4, partner: "GE", year: 2018, value: 200})

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resumed := proto.Clone(req).(*bilatv1.WatchTradeAlertsRequest)
	resumed.AfterPosition = first.GetPosition()
	alerts, errc = e.watch(ctx2, resumed)
	var got []string
	var last *bilatv1.WatchTradeAlertsResponse
	for range 2 {
		last = e.next(alerts, errc)
		got = append(got, alertID(last))
	}
	if want := "[b:GE:-60.00 c:GE:100.00]"; fmt.Sprint(got) != want {
		t.Fatalf("resumed alerts = %v, want %s", got, want)
	}
	e.publish(figureEvent{id: "d", seq: 5, partner: "GE", year: 2018, value: 10})
	if a := e.next(alerts, errc); a.GetFigure().GetId() != "d" {
		t.Fatalf("live after resume: %s", alertID(a))
	}
	cancel2()

	// From the beginning: every qualifying figure still held, in order.
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	alerts, errc = e.watch(ctx3, &bilatv1.WatchTradeAlertsRequest{Partners: []string{"GE"}, ThresholdPct: 25, Start: bilatv1.WatchStart_WATCH_START_BEGINNING})
	got = nil
	for range 4 {
		got = append(got, e.next(alerts, errc).GetFigure().GetId())
	}
	if fmt.Sprint(got) != "[a b c d]" {
		t.Fatalf("from the beginning = %v", got)
	}
	cancel3()

	// Once the stream no longer holds the position: OutOfRange.
	st, err := e.nats.JS.Stream(context.Background(), natsx.StreamEnriched)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	stream, err := e.client.WatchTradeAlerts(context.Background(), resumed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.OutOfRange {
		t.Fatalf("expired position: %v", err)
	}
	_ = last
}

func TestWatchTradeAlertsValidation(t *testing.T) {
	e := newAlertEnv(t)
	for _, tc := range []struct {
		req    *bilatv1.WatchTradeAlertsRequest
		fields []string
	}{
		{&bilatv1.WatchTradeAlertsRequest{}, []string{"threshold_pct"}},
		{&bilatv1.WatchTradeAlertsRequest{ThresholdPct: -5}, []string{"threshold_pct"}},
		{&bilatv1.WatchTradeAlertsRequest{ThresholdPct: 5, AfterPosition: "nonsense"}, []string{"after_position"}},
		{&bilatv1.WatchTradeAlertsRequest{ThresholdPct: 5, AfterPosition: natsx.EncodePosition("BILAT_EVENTS", 3)}, []string{"after_position"}},
		{&bilatv1.WatchTradeAlertsRequest{ThresholdPct: 5, Partners: []string{"GE", "GE", ""}}, []string{"partners[1]", "partners[2]"}},
		{&bilatv1.WatchTradeAlertsRequest{ThresholdPct: 5, Flow: 7, Start: 9}, []string{"flow", "start"}},
	} {
		stream, err := e.client.WatchTradeAlerts(context.Background(), tc.req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		trWantInvalid(t, err, tc.fields...)
	}
}

package app_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/app"
	"bilat.dev/services/statistics/internal/domain"
)

func newService(t *testing.T) (*app.Service, *projection.Store) {
	t.Helper()
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	return app.New(st, st), st
}

func agreementMsg(t *testing.T, ev string, seq uint64, id, partner string, year int32, ds ...bilatv1.Domain) app.Message {
	t.Helper()
	b, err := proto.Marshal(&bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: ev, Sequence: seq},
		Agreement: &bilatv1.Agreement{Id: id, Partner: &bilatv1.EntityRef{Code: partner},
			SignedOn: &bilatv1.PartialDate{Year: year}, Domains: ds},
	})
	if err != nil {
		t.Fatal(err)
	}
	return app.Message{Subject: "bilat.enriched.agreement." + partner, Data: b, EventType: "bilat.v1.AgreementRecorded"}
}

func TestProjectOutcomes(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	v2 := agreementMsg(t, "e2", 20, "a1", "GE", 2019, bilatv1.Domain_DOMAIN_HEALTH)
	v1 := agreementMsg(t, "e1", 10, "a1", "GE", 2017, bilatv1.Domain_DOMAIN_TRADE)
	for i, tc := range []struct {
		m    app.Message
		want projection.Outcome
	}{
		{v2, projection.Applied},
		{v2, projection.Duplicate},
		{v1, projection.Stale},
		{v1, projection.Duplicate},
	} {
		res, err := svc.Project(ctx, tc.m)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.Outcome != tc.want || res.Kind != domain.KindAgreement || res.RecordID != "a1" {
			t.Fatalf("step %d: %+v, want outcome %v", i, res, tc.want)
		}
	}
	resp, err := svc.AgreementCounts(ctx, "GE", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTotalAgreements() != 1 || len(resp.GetCounts()) != 1 ||
		resp.GetCounts()[0].GetDomain() != bilatv1.Domain_DOMAIN_HEALTH || resp.GetCounts()[0].GetYear() != 2019 {
		t.Fatalf("counts = %v", resp)
	}

	trade, err := proto.Marshal(&bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "t1", Sequence: 30},
		Figure: &bilatv1.TradeFigure{Id: "f1", Partner: &bilatv1.EntityRef{Code: "AF"},
			Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Project(ctx, app.Message{Subject: "bilat.enriched.trade_figure.AF", Data: trade})
	if err != nil || res.Outcome != projection.Applied || res.Kind != domain.KindTradeFigure {
		t.Fatalf("trade figure: %+v, %v", res, err)
	}
}

func TestProjectPermanentFailures(t *testing.T) {
	svc, _ := newService(t)
	good := agreementMsg(t, "e1", 1, "a1", "GE", 2017)
	noSeq := agreementMsg(t, "e1", 0, "a1", "GE", 2017)
	for name, m := range map[string]app.Message{
		"unknown subject":  {Subject: "bilat.enriched.treaty.GE", Data: good.Data},
		"garbage body":     {Subject: "bilat.enriched.agreement.GE", Data: []byte("not protobuf")},
		"wrong event type": {Subject: good.Subject, Data: good.Data, EventType: "bilat.v1.TradeFigureRecorded"},
		"no sequence":      noSeq,
		"empty body":       {Subject: "bilat.enriched.trade_figure.GE"},
	} {
		if _, err := svc.Project(context.Background(), m); !errors.Is(err, app.ErrPermanent) {
			t.Errorf("%s: err = %v, want ErrPermanent", name, err)
		}
	}
}

func TestProjectTransientFailure(t *testing.T) {
	// A Redis that is not there: nothing listens on a fresh free port.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), MaxRetries: -1})
	defer rdb.Close()
	st := projection.New(rdb)
	svc := app.New(st, st)
	_, err := svc.Project(context.Background(), agreementMsg(t, "e1", 1, "a1", "GE", 2017))
	if err == nil || errors.Is(err, app.ErrPermanent) {
		t.Fatalf("err = %v, want a transient error", err)
	}
}

func TestAgreementCountsValidation(t *testing.T) {
	svc, _ := newService(t)
	_, err := svc.AgreementCounts(context.Background(), "", 2020, 2010)
	var ve *app.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 2 {
		t.Fatalf("err = %v, want two violations", err)
	}
}

// ProjectBatch gives each message Project's result and error, keeps the
// order of one record's events (a retraction included), and leaves the
// read model as projecting one at a time does.
func TestProjectBatch(t *testing.T) {
	// A fixed clock: versions without recorded_at are stamped with it.
	clock := projection.WithClock(func() time.Time { return time.Unix(1700000000, 0) })
	st := projection.New(testenv.Redis(t).Client, clock)
	svc := app.New(st, st)
	ctx := context.Background()
	v1 := agreementMsg(t, "e1", 10, "a1", "GE", 2017, bilatv1.Domain_DOMAIN_TRADE)
	v2 := agreementMsg(t, "e2", 20, "a1", "AM", 2019, bilatv1.Domain_DOMAIN_HEALTH)
	b1 := agreementMsg(t, "e3", 30, "b1", "GE", 2018)
	c1 := agreementMsg(t, "e5", 50, "c1", "GE", 2016)
	retract, err := proto.Marshal(&bilatv1.AgreementRetracted{
		Envelope: &bilatv1.Envelope{EventId: "e4", Sequence: 40}, AgreementId: "b1",
	})
	if err != nil {
		t.Fatal(err)
	}
	r1 := app.Message{Subject: "bilat.enriched.agreement." + domain.RetractedToken, Data: retract}
	fig, err := proto.Marshal(&bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "t1", Sequence: 60},
		Figure: &bilatv1.TradeFigure{Id: "f1", Partner: &bilatv1.EntityRef{Code: "AF"}, Reporter: &bilatv1.EntityRef{Code: "BY"},
			Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER},
	})
	if err != nil {
		t.Fatal(err)
	}
	f1 := app.Message{Subject: "bilat.enriched.trade_figure.AF", Data: fig}
	bad := app.Message{Subject: "bilat.enriched.agreement.GE", Data: []byte("not protobuf")}

	msgs := []app.Message{v1, b1, f1, v2, bad, r1, v1, c1, b1}
	res, errs := svc.ProjectBatch(ctx, msgs)
	want := []projection.Outcome{projection.Applied, projection.Applied, projection.Applied, projection.Applied, 0,
		projection.RetractedOutcome, projection.Stale, projection.Applied, projection.Duplicate}
	for i := range msgs {
		if i == 4 {
			if !errors.Is(errs[i], app.ErrPermanent) {
				t.Fatalf("message %d: err = %v, want ErrPermanent", i, errs[i])
			}
			continue
		}
		if errs[i] != nil || res[i].Outcome != want[i] {
			t.Fatalf("message %d: %+v, %v; want %v", i, res[i], errs[i], want[i])
		}
	}
	sum, _, err := st.Checksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The same messages one at a time on a fresh store.
	st2 := projection.New(testenv.Redis(t).Client, clock)
	svc2 := app.New(st2, st2)
	for i, m := range msgs {
		r, _ := svc2.Project(ctx, m)
		if r.Outcome != res[i].Outcome {
			t.Fatalf("message %d: %v in a batch, %v one at a time", i, res[i].Outcome, r.Outcome)
		}
	}
	sum2, _, err := st2.Checksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum != sum2 {
		t.Fatalf("checksum %s in a batch, %s one at a time", sum, sum2)
	}
	if _, err := st.GetAgreement(ctx, "b1"); !errors.Is(err, projection.ErrNotFound) {
		t.Fatalf("retracted b1: err = %v", err)
	}

	// Redis away: every message gets a transient error.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), MaxRetries: -1})
	defer rdb.Close()
	down := projection.New(rdb)
	_, errs = app.New(down, down).ProjectBatch(ctx, []app.Message{v1, f1})
	for i, err := range errs {
		if err == nil || errors.Is(err, app.ErrPermanent) {
			t.Fatalf("message %d with Redis away: err = %v, want a transient error", i, err)
		}
	}
}

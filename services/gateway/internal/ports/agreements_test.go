package ports_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

// gazetteer is a tiny GazetteerService: GetEntity for two blocs and a country.
type gazetteer struct {
	bilatv1.UnimplementedGazetteerServiceServer
}

func pd(y, m, d int32) *bilatv1.PartialDate { return &bilatv1.PartialDate{Year: y, Month: m, Day: d} }

func (gazetteer) GetEntity(_ context.Context, req *bilatv1.GetEntityRequest) (*bilatv1.GetEntityResponse, error) {
	member := func(code string, ms ...*bilatv1.Membership) *bilatv1.Entity {
		return &bilatv1.Entity{Code: code, Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Memberships: ms}
	}
	switch req.GetCode() {
	case "bloc.eaeu":
		return &bilatv1.GetEntityResponse{
			Entity: &bilatv1.Entity{Code: "bloc.eaeu", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC},
			Members: []*bilatv1.Entity{
				member("RU", &bilatv1.Membership{Bloc: "bloc.eaeu", Joined: pd(2015, 1, 1)}),
				member("AM", &bilatv1.Membership{Bloc: "bloc.cis", Joined: pd(1991, 12, 21)},
					&bilatv1.Membership{Bloc: "bloc.eaeu", Joined: pd(2015, 1, 2)}),
			},
		}, nil
	case "bloc.cis":
		return &bilatv1.GetEntityResponse{
			Entity: &bilatv1.Entity{Code: "bloc.cis", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC},
			Members: []*bilatv1.Entity{
				member("GE", &bilatv1.Membership{Bloc: "bloc.cis", Joined: pd(1993, 12, 3), Left: pd(2009, 8, 18)}),
			},
		}, nil
	case "GE":
		return &bilatv1.GetEntityResponse{Entity: &bilatv1.Entity{Code: "GE", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY}}, nil
	}
	return nil, status.Errorf(codes.NotFound, "no entity %q", req.GetCode())
}

// serveGazetteer runs the fake GazetteerService on a free loopback port.
func serveGazetteer(t *testing.T) bilatv1.GazetteerServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	bilatv1.RegisterGazetteerServiceServer(srv, gazetteer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return bilatv1.NewGazetteerServiceClient(conn)
}

// serveAgreements runs AgreementService with the gazetteer and, when js is
// set, the watch; cancelling shutdown ends the watches as a server stop does.
func serveAgreements(t *testing.T, rdb redis.UniversalClient, js jetstream.JetStream, shutdown context.Context) bilatv1.AgreementServiceClient {
	t.Helper()
	log := testenv.Logger(t)
	svc := app.New(projection.New(rdb)).WithGazetteer(serveGazetteer(t))
	srv := grpcx.NewServer(log)
	as := ports.NewAgreementServer(svc, log)
	if js != nil {
		as = as.WithWatch(shutdown, app.NewAgreementWatch(js, svc.Agreements(), log))
	}
	bilatv1.RegisterAgreementServiceServer(srv.GRPC(), as)
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
	return bilatv1.NewAgreementServiceClient(conn)
}

type fx struct {
	id, partner, parent, country string
	date                         *bilatv1.PartialDate
	title, place                 string
	level                        bilatv1.PartyLevel
	kind                         bilatv1.AgreementKind
	status                       bilatv1.AgreementStatus
	domains                      []bilatv1.Domain
}

func (f fx) event(seq uint64) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: fmt.Sprintf("ev-%s-%d", f.id, seq), Sequence: seq, Source: "test",
			RecordedAt: timestamppb.New(now.Add(time.Duration(seq) * time.Second))},
		Agreement: &bilatv1.Agreement{
			Id: f.id, Title: f.title, Place: f.place, Kind: f.kind, Status: f.status, SignedOn: f.date, Domains: f.domains,
			Partner: &bilatv1.EntityRef{Name: f.partner, Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED,
				Code: f.partner, Parent: f.parent, Country: f.country},
			Parties: []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Code: "BY"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE},
				{Entity: &bilatv1.EntityRef{Code: f.partner}, Level: f.level}},
		},
	}
}

const (
	lvlGov    = bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT
	lvlRegion = bilatv1.PartyLevel_PARTY_LEVEL_REGION
	lvlCity   = bilatv1.PartyLevel_PARTY_LEVEL_CITY
	kAgr      = bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT
	kMemo     = bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM
	kTreaty   = bilatv1.AgreementKind_AGREEMENT_KIND_TREATY
	kProto    = bilatv1.AgreementKind_AGREEMENT_KIND_PROTOCOL
	sForce    = bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_FORCE
	sSigned   = bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED
	economic  = bilatv1.Domain_DOMAIN_ECONOMIC
)

var fixtures = []fx{
	{"ru-1", "RU", "", "RU", pd(2016, 5, 10), "Соглашение об экономическом сотрудничестве", "Москва", lvlGov, kAgr, sForce, []bilatv1.Domain{economic}},
	{"ncfd-1", "RU.ncfd", "RU", "RU", pd(2019, 0, 0), "Programme of interregional cooperation", "Pyatigorsk", lvlRegion, kAgr, sSigned, nil},
	{"sta-1", "RU-STA", "RU.ncfd", "RU", pd(2017, 0, 0), "Agreement on trade and economic cooperation", "Stavropol", lvlRegion, kAgr, sSigned, []bilatv1.Domain{trade, economic}},
	{"sta-city", "RU-STA.stavropol", "RU-STA", "RU", pd(2018, 3, 0), "Memorandum on cultural exchange", "Stavropol", lvlCity, kMemo, sSigned, []bilatv1.Domain{culture}},
	{"ge-1", "GE", "", "GE", pd(2008, 6, 5), "Treaty on friendship and good neighbourliness", "Tbílisi", lvlGov, kTreaty, sForce, nil},
	{"ge-2", "GE", "", "GE", pd(2010, 1, 1), "Economic programme", "Minsk", lvlGov, kAgr, sSigned, []bilatv1.Domain{economic}},
	{"am-1", "AM", "", "AM", pd(2014, 10, 0), "Protocol on trade", "Yerevan", lvlGov, kProto, sSigned, []bilatv1.Domain{trade}},
	{"am-2015", "AM", "", "AM", pd(2015, 0, 0), "Trade roadmap", "Minsk", lvlGov, kAgr, sSigned, []bilatv1.Domain{trade}},
	{"eaeu-1", "bloc.eaeu", "", "", pd(2019, 2, 0), "Memorandum with the Eurasian Economic Commission", "Moscow", lvlGov, kMemo, sSigned, nil},
	{"cn-1", "CN", "", "CN", pd(2020, 0, 0), "Trademark protection agreement", "Beijing", lvlGov, kAgr, sSigned, nil},
	{"cn-undated", "CN", "", "CN", nil, "Trade note", "", lvlGov, kAgr, sSigned, nil},
}

func seedFixtures(t *testing.T) *redis.Client {
	t.Helper()
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	for i, f := range fixtures {
		if _, err := st.ApplyAgreement(context.Background(), f.event(uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	return r.Client
}

func TestListAgreementsFilterSet(t *testing.T) {
	rdb := seedFixtures(t)
	agr := serveAgreements(t, rdb, nil, context.Background())
	type F = bilatv1.AgreementFilter
	relevance := bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE
	for _, tc := range []struct {
		name  string
		f     *F
		order bilatv1.AgreementOrder
		want  []string
	}{
		{"everything, newest first, undated last", &F{}, 0,
			[]string{"cn-1", "eaeu-1", "ncfd-1", "sta-city", "sta-1", "ru-1", "am-2015", "am-1", "ge-2", "ge-1", "cn-undated"}},
		{"partner alone", &F{Partner: "RU"}, 0, []string{"ru-1"}},
		{"partner with sub-entities at any depth", &F{Partner: "RU", IncludeSubEntities: true}, 0,
			[]string{"ncfd-1", "sta-city", "sta-1", "ru-1"}},
		{"region's cities", &F{Partner: "RU-STA", IncludeSubEntities: true}, 0, []string{"sta-city", "sta-1"}},
		{"district through learnt parents", &F{Partner: "RU.ncfd", IncludeSubEntities: true}, 0,
			[]string{"ncfd-1", "sta-city", "sta-1"}},
		{"bloc by membership at signing, partial dates overlap", &F{Bloc: "bloc.eaeu"}, 0,
			[]string{"eaeu-1", "ncfd-1", "sta-city", "sta-1", "ru-1", "am-2015"}},
		{"bloc a member left", &F{Bloc: "bloc.cis"}, 0, []string{"ge-1"}},
		{"domain", &F{Domain: economic}, 0, []string{"sta-1", "ru-1", "ge-2"}},
		{"level of any party", &F{Level: lvlRegion}, 0, []string{"ncfd-1", "sta-1"}},
		{"kind", &F{Kind: kMemo}, 0, []string{"eaeu-1", "sta-city"}},
		{"status", &F{Status: sForce}, 0, []string{"ru-1", "ge-1"}},
		{"place, accent-insensitive", &F{Place: "TBILISI"}, 0, []string{"ge-1"}},
		{"Cyrillic title prefix, case-insensitive", &F{Query: "ЭКОНОМ сотруд"}, 0, []string{"ru-1"}},
		{"title words all required", &F{Query: "trade econ"}, 0, []string{"sta-1"}},
		{"partial-date range overlap", &F{SignedFrom: pd(2017, 6, 0), SignedTo: pd(2018, 2, 28)}, 0, []string{"sta-1"}},
		{"month-precise range", &F{SignedFrom: pd(2018, 3, 15)}, bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC,
			[]string{"sta-city", "ncfd-1", "eaeu-1", "cn-1"}}, // "2019" sorts before "2019-02"
		{"to alone leaves undated out", &F{SignedTo: pd(2009, 0, 0)}, 0, []string{"ge-1"}},
		{"combined", &F{Partner: "RU", IncludeSubEntities: true, Domain: trade, Level: lvlRegion, Kind: kAgr,
			Status: sSigned, SignedFrom: pd(2017, 0, 0), Place: "stavropol", Query: "agreem", Bloc: "bloc.eaeu"}, 0,
			[]string{"sta-1"}},
		{"relevance: whole words first, then newest, prefix last", &F{Query: "trade"}, relevance,
			[]string{"sta-1", "am-2015", "am-1", "cn-undated", "cn-1"}},
		{"oldest first, undated last", &F{Partner: "CN"}, bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC,
			[]string{"cn-1", "cn-undated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := agr.ListAgreements(context.Background(), &bilatv1.ListAgreementsRequest{Filter: tc.f, OrderBy: tc.order})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp.GetAgreements()); !slices.Equal(got, tc.want) || resp.GetTotalSize() != int64(len(tc.want)) {
				t.Fatalf("ids %v (total %d), want %v", got, resp.GetTotalSize(), tc.want)
			}
		})
	}
	_, err := agr.ListAgreements(context.Background(), &bilatv1.ListAgreementsRequest{Filter: &F{Bloc: "bloc.none"}})
	wantInvalid(t, err, "filter.bloc")
	_, err = agr.ListAgreements(context.Background(), &bilatv1.ListAgreementsRequest{Filter: &F{Bloc: "GE"}})
	wantInvalid(t, err, "filter.bloc")
}

func TestListAgreementsPagesWhileAdding(t *testing.T) {
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	ctx := context.Background()
	mk := func(seq uint64, id string, y, m int32) *bilatv1.AgreementRecorded {
		return fx{id: id, partner: "KZ", date: pd(y, m, 0), title: "Agreement " + id}.event(seq)
	}
	before := map[string]bool{}
	for i := range 200 {
		id := fmt.Sprintf("kz-%03d", i)
		// Many ties on the date, so positions rely on the id too.
		if _, err := st.ApplyAgreement(ctx, mk(uint64(i+1), id, 2000+int32(i%20), int32(i%3))); err != nil {
			t.Fatal(err)
		}
		before[id] = true
	}
	agr := serveAgreements(t, r.Client, nil, ctx)

	// Agreements keep arriving, dated before, among and after the pages.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 400 {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("kz-new-%03d", i)
			if _, err := st.ApplyAgreement(ctx, mk(uint64(1000+i), id, 1990+int32(i%40), int32(i%13))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for _, order := range []bilatv1.AgreementOrder{bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC, bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC} {
		seen := map[string]int{}
		req := &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "KZ"}, OrderBy: order, PageSize: 17}
		for pages := 0; ; pages++ {
			resp, err := agr.ListAgreements(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetTotalSize() < 200 {
				t.Fatalf("total %d < 200", resp.GetTotalSize())
			}
			for _, a := range resp.GetAgreements() {
				seen[a.GetId()]++
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
			if pages > 60 { // 600 agreements at most, 17 a page
				t.Fatal("pages never end")
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%v: %s returned %d times", order, id, n)
			}
		}
		for id := range before {
			if seen[id] != 1 {
				t.Fatalf("%v: pre-existing %s returned %d times", order, id, seen[id])
			}
		}
		// A token is refused with another filter.
		_, err := agr.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{
			Filter: &bilatv1.AgreementFilter{Partner: "KZ", Query: "agreement"}, OrderBy: order, PageToken: req.GetPageToken()})
		wantInvalid(t, err, "page_token")
	}
	close(stop)
	wg.Wait()
}

func TestListRevisions(t *testing.T) {
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	ctx := context.Background()
	base := fx{id: "rev-1", partner: "GE", date: pd(2017, 0, 0), title: "First"}
	v1 := base.event(10)
	base.title = "Second"
	v2 := base.event(20)
	// Enriched again after a gazetteer change: same event, new partner.
	v2b := proto.Clone(v2).(*bilatv1.AgreementRecorded)
	v2b.Envelope.EnrichmentVersion = 1
	v2b.Agreement.Partner.Code = "AM"
	ret := &bilatv1.AgreementRetracted{AgreementId: "rev-1", Reason: "duplicate of rev-0",
		Envelope: &bilatv1.Envelope{EventId: "ev-ret", Sequence: 30, Source: "grpc:test", RecordedAt: timestamppb.New(now)}}
	apply := func() {
		for _, ev := range []*bilatv1.AgreementRecorded{v1, v2, v2b} {
			if _, err := st.ApplyAgreement(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.ApplyAgreementRetraction(ctx, ret); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	agr := serveAgreements(t, r.Client, nil, ctx)
	check := func() {
		t.Helper()
		resp, err := agr.ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: "rev-1"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rv := range resp.GetRevisions() {
			got = append(got, fmt.Sprintf("%d %s %s %s %v %q", rv.GetRevision(), rv.GetEventId(), rv.GetAgreement().GetTitle(),
				rv.GetAgreement().GetPartner().GetCode(), rv.GetRetracted(), rv.GetRetractionReason()))
		}
		want := []string{
			`1 ev-rev-1-10 First GE false ""`,
			`2 ev-rev-1-20 Second AM false ""`,
			`2 ev-ret Second AM true "duplicate of rev-0"`,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("revisions\n%q\nwant\n%q", got, want)
		}
		if rv := resp.GetRevisions()[0]; rv.GetSource() != "test" || !rv.GetRecordedAt().AsTime().Equal(now.Add(10*time.Second)) {
			t.Fatalf("first revision source %q recorded %v", rv.GetSource(), rv.GetRecordedAt().AsTime())
		}
	}
	check()
	apply() // redelivery of everything changes nothing
	check()
	_, err := agr.ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: "no-such"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: %v, want NotFound", err)
	}
	_, err = agr.ListRevisions(ctx, &bilatv1.ListRevisionsRequest{})
	wantInvalid(t, err, "id")
}

// publishEnriched publishes an event to BILAT_ENRICHED as enrichment does.
func publishEnriched(t *testing.T, js jetstream.JetStream, msg proto.Message, subject, msgID string) uint64 {
	t.Helper()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	hdr := nats.Header{}
	hdr.Set(natsx.HeaderEventType, string(msg.ProtoReflect().Descriptor().FullName()))
	ack, err := natsx.Publish(context.Background(), js, subject, msgID, data, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func TestWatchAgreementsResumesExactlyOnce(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	agr := serveAgreements(t, r.Client, n.JS, context.Background())
	ctx := context.Background()

	const total = 1000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range total {
			ev := fx{id: fmt.Sprintf("w-%04d", i), partner: "KZ", date: pd(2020, 1, 0), title: "Watched"}.event(uint64(i + 1))
			publishEnriched(t, n.JS, ev, natsx.SubjectEnriched("agreement", "KZ"), ev.Envelope.EventId)
			if i%4 == 0 { // noise the filter leaves out
				o := fx{id: fmt.Sprintf("o-%04d", i), partner: "UZ", date: pd(2020, 1, 0), title: "Other"}.event(uint64(total + i + 1))
				publishEnriched(t, n.JS, o, natsx.SubjectEnriched("agreement", "UZ"), o.Envelope.EventId)
			}
		}
	})
	got := map[string]int{}
	var last string
	filter := &bilatv1.AgreementFilter{Partner: "KZ"}
	for session := 0; len(got) < total; session++ {
		if session > 50 {
			t.Fatalf("only %d of %d after %d sessions", len(got), total, session)
		}
		sctx, cancel := context.WithCancel(ctx)
		req := &bilatv1.WatchAgreementsRequest{Filter: filter, Start: bilatv1.WatchStart_WATCH_START_BEGINNING, AfterPosition: last}
		stream, err := agr.WatchAgreements(sctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// Each session takes up to 150 changes, then the client drops.
		for k := 0; k < 150 && len(got) < total; k++ {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("session %d: %v", session, err)
			}
			a := resp.GetAgreement()
			if a.GetPartner().GetCode() != "KZ" || resp.GetKind() != bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RECORDED ||
				resp.GetPosition() == "" || resp.GetRecordedAt() == nil {
				t.Fatalf("unexpected change %v", resp)
			}
			got[a.GetId()]++
			if got[a.GetId()] > 1 {
				t.Fatalf("%s received twice", a.GetId())
			}
			last = resp.GetPosition()
		}
		cancel()
	}
	wg.Wait()
	if len(got) != total {
		t.Fatalf("received %d distinct, want %d", len(got), total)
	}
}

func TestWatchAgreementsKinds(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	st := projection.New(r.Client)
	shutdown, stopServer := context.WithCancel(context.Background())
	agr := serveAgreements(t, r.Client, n.JS, shutdown)
	ctx := context.Background()

	// Statistics' effect (the revision history) is applied directly, the
	// enriched events published as enrichment does.
	v1 := fx{id: "k-1", partner: "GE", date: pd(2018, 0, 0), title: "Kinds"}.event(5)
	v2 := proto.Clone(v1).(*bilatv1.AgreementRecorded)
	v2.Envelope.EnrichmentVersion = 1
	ret := &bilatv1.AgreementRetracted{AgreementId: "k-1", Reason: "withdrawn",
		Envelope: &bilatv1.Envelope{EventId: "ev-k-ret", Sequence: 9}}
	for _, ev := range []*bilatv1.AgreementRecorded{v1, v2} {
		if _, err := st.ApplyAgreement(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplyAgreementRetraction(ctx, ret); err != nil {
		t.Fatal(err)
	}
	subj := natsx.SubjectEnriched("agreement", "GE")
	publishEnriched(t, n.JS, v1, subj, "m1")
	publishEnriched(t, n.JS, v2, subj, "m2")
	publishEnriched(t, n.JS, ret, "bilat.enriched.agreement.retracted", "m3")
	other := fx{id: "k-2", partner: "AM", date: pd(2018, 0, 0), title: "Other"}.event(10)
	publishEnriched(t, n.JS, other, natsx.SubjectEnriched("agreement", "AM"), "m4")

	stream, err := agr.WatchAgreements(ctx, &bilatv1.WatchAgreementsRequest{
		Filter: &bilatv1.AgreementFilter{Partner: "GE", IncludeSubEntities: true, SignedFrom: pd(2018, 0, 0)},
		Start:  bilatv1.WatchStart_WATCH_START_BEGINNING})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for range 3 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, fmt.Sprintf("%s %s r%d %q", resp.GetKind(), resp.GetAgreement().GetId(),
			resp.GetAgreement().GetRevision(), resp.GetRetractionReason()))
	}
	want := []string{
		`AGREEMENT_CHANGE_KIND_RECORDED k-1 r1 ""`,
		`AGREEMENT_CHANGE_KIND_REVISED k-1 r1 ""`,
		`AGREEMENT_CHANGE_KIND_RETRACTED k-1 r1 "withdrawn"`,
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("changes %q\nwant %q", kinds, want)
	}
	// A server stop ends the watch with Unavailable (resume elsewhere).
	stopServer()
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("after shutdown: %v, want Unavailable", err)
	}
}

func TestWatchAgreementsPositions(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	agr := serveAgreements(t, r.Client, n.JS, context.Background())
	ctx := context.Background()
	for i := range 5 {
		ev := fx{id: fmt.Sprintf("p-%d", i), partner: "GE", title: "P"}.event(uint64(i + 1))
		publishEnriched(t, n.JS, ev, natsx.SubjectEnriched("agreement", "GE"), ev.Envelope.EventId)
	}
	s, err := n.JS.Stream(ctx, natsx.StreamEnriched)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(4)); err != nil {
		t.Fatal(err)
	}
	recv := func(req *bilatv1.WatchAgreementsRequest) (*bilatv1.WatchAgreementsResponse, error) {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		stream, err := agr.WatchAgreements(sctx, req)
		if err != nil {
			return nil, err
		}
		return stream.Recv()
	}
	// Sequence 2 is gone: resuming after position 1 would miss it.
	_, err = recv(&bilatv1.WatchAgreementsRequest{AfterPosition: natsx.EncodePosition(natsx.StreamEnriched, 1)})
	if status.Code(err) != codes.OutOfRange {
		t.Fatalf("expired position: %v, want OutOfRange", err)
	}
	// After position 3 resumes at the first held message.
	resp, err := recv(&bilatv1.WatchAgreementsRequest{AfterPosition: natsx.EncodePosition(natsx.StreamEnriched, 3)})
	if err != nil || resp.GetAgreement().GetId() != "p-3" {
		t.Fatalf("resume after 3: %v, %v", resp, err)
	}
	// The beginning is the first message still held.
	resp, err = recv(&bilatv1.WatchAgreementsRequest{Start: bilatv1.WatchStart_WATCH_START_BEGINNING})
	if err != nil || resp.GetAgreement().GetId() != "p-3" {
		t.Fatalf("from the beginning: %v, %v", resp, err)
	}
	_, err = recv(&bilatv1.WatchAgreementsRequest{AfterPosition: natsx.EncodePosition(natsx.StreamEvents, 3)})
	wantInvalid(t, err, "after_position")
	_, err = recv(&bilatv1.WatchAgreementsRequest{Start: 9, Filter: &bilatv1.AgreementFilter{Level: 99}})
	wantInvalid(t, err, "start")
	wantInvalid(t, err, "filter.level")
}

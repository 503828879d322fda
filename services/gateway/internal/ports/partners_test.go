package ports_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

func profileAgreement(seq uint64, id, partner string, y, m, d int32, ds ...bilatv1.Domain) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: fmt.Sprintf("ev-%s-%d", id, seq), Sequence: seq},
		Agreement: &bilatv1.Agreement{
			Id: id, Title: "Agreement " + id, Kind: bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
			Partner:  &bilatv1.EntityRef{Name: partner, Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: partner},
			SignedOn: &bilatv1.PartialDate{Year: y, Month: m, Day: d}, Domains: ds,
		},
	}
}

// profileServer seeds the projections through statistics' apply path and
// serves PartnerService over them, the fake gazetteer and statistics.
func profileServer(t *testing.T) bilatv1.PartnerServiceClient {
	t.Helper()
	const (
		tr  = bilatv1.Domain_DOMAIN_TRADE
		cu  = bilatv1.Domain_DOMAIN_CULTURE
		sci = bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY
		edu = bilatv1.Domain_DOMAIN_EDUCATION
	)
	r := testenv.Redis(t)
	store := projection.New(r.Client)
	for _, ev := range []*bilatv1.AgreementRecorded{
		profileAgreement(1, "ru-2015-03", "RU", 2015, 3, 0, tr, sci),
		profileAgreement(2, "ru-2018", "RU", 2018, 0, 0, cu),
		profileAgreement(3, "ru-undated", "RU", 0, 0, 0, cu),
		profileAgreement(4, "sta-2016-07", "RU-STA", 2016, 7, 0, tr),
		profileAgreement(5, "stv-2019-01-15", "RU-STA.stavropol", 2019, 1, 15, edu, tr),
		profileAgreement(6, "zz-2014", "RU-ZZ", 2014, 0, 0, tr),
		profileAgreement(7, "ge-2017", "GE", 2017, 0, 0, tr),
	} {
		if _, err := store.ApplyAgreement(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	st := &trStats{periods: map[string][]*bilatv1.TradePeriodStats{
		"RU": {
			stat("BY", 2015, 0, 0, scopeNone, tv(flowTurnover, 100, false)),
			stat("BY", 2018, 0, 0, scopeNone, tv(flowTurnover, 120, false)),
		},
	}}
	gz, stats := trBackends(t, newTrGazetteer(), st)
	log := testenv.Logger(t)
	gw := trListen(t, func(s *grpc.Server) {
		bilatv1.RegisterPartnerServiceServer(s, ports.NewPartnerServer(app.NewPartners(gz, stats, store), log))
	})
	return bilatv1.NewPartnerServiceClient(trConn(t, gw))
}

// timelineOf renders a timeline as "id" for agreements and "trade:year" for trade.
func timelineOf(tl []*bilatv1.TimelineEntry) []string {
	var out []string
	for _, e := range tl {
		if a := e.GetAgreement(); a != nil {
			out = append(out, a.GetId())
		} else {
			out = append(out, fmt.Sprintf("trade:%d", e.GetTrade().GetPeriod().GetYear()))
		}
	}
	return out
}

func TestGetPartnerProfile(t *testing.T) {
	client := profileServer(t)
	ctx := context.Background()

	resp, err := client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "RU"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetEntity().GetName() != "Russia" || resp.GetParent() != nil || len(resp.GetChildren()) != 1 ||
		resp.GetChildren()[0].GetCode() != "RU-STA" || len(resp.GetBlocs()) != 1 || resp.GetBlocs()[0].GetCode() != "bloc.cis" {
		t.Fatalf("entity sections = %v / %v / %v / %v", resp.GetEntity(), resp.GetParent(), resp.GetChildren(), resp.GetBlocs())
	}
	if resp.GetTotalAgreements() != 3 {
		t.Fatalf("total = %d, want 3 (RU only)", resp.GetTotalAgreements())
	}
	if got, want := timelineOf(resp.GetTimeline()), []string{"ru-2015-03", "trade:2015", "ru-2018", "trade:2018", "ru-undated"}; !slices.Equal(got, want) {
		t.Fatalf("timeline = %v, want %v", got, want)
	}
	if resp.GetFirstAgreement().GetId() != "ru-2015-03" || resp.GetLatestAgreement().GetId() != "ru-2018" || len(resp.GetTrade()) != 2 {
		t.Fatalf("first %v latest %v trade %v", resp.GetFirstAgreement().GetId(), resp.GetLatestAgreement().GetId(), resp.GetTrade())
	}

	// With its regions and cities: the look-alike RU-ZZ and GE stay out.
	resp, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "RU", IncludeSubEntities: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTotalAgreements() != 5 {
		t.Fatalf("total with sub-entities = %d, want 5", resp.GetTotalAgreements())
	}
	want := []string{"ru-2015-03", "trade:2015", "sta-2016-07", "ru-2018", "trade:2018", "stv-2019-01-15", "ru-undated"}
	if got := timelineOf(resp.GetTimeline()); !slices.Equal(got, want) {
		t.Fatalf("timeline = %v, want %v", got, want)
	}
	if resp.GetFirstAgreement().GetId() != "ru-2015-03" || resp.GetLatestAgreement().GetId() != "stv-2019-01-15" {
		t.Fatalf("first %v latest %v", resp.GetFirstAgreement().GetId(), resp.GetLatestAgreement().GetId())
	}
	var top []string
	for _, d := range resp.GetTopDomains() {
		top = append(top, fmt.Sprintf("%s=%d", d.GetDomain(), d.GetAgreements()))
	}
	if want := []string{"DOMAIN_TRADE=3", "DOMAIN_CULTURE=2", "DOMAIN_SCIENCE_TECHNOLOGY=1", "DOMAIN_EDUCATION=1"}; !slices.Equal(top, want) {
		// Ties by domain number: science (9) before education (10).
		t.Fatalf("top domains = %v, want %v", top, want)
	}
	var byYear []string
	for _, c := range resp.GetAgreementsByDomainYear() {
		byYear = append(byYear, fmt.Sprintf("%d/%s=%d", c.GetYear(), c.GetDomain(), c.GetCount()))
	}
	wantByYear := []string{"0/DOMAIN_CULTURE=1", "2015/DOMAIN_TRADE=1", "2015/DOMAIN_SCIENCE_TECHNOLOGY=1", "2016/DOMAIN_TRADE=1",
		"2018/DOMAIN_CULTURE=1", "2019/DOMAIN_TRADE=1", "2019/DOMAIN_EDUCATION=1"}
	if !slices.Equal(byYear, wantByYear) {
		t.Fatalf("by domain and year = %v, want %v", byYear, wantByYear)
	}

	// The year range applies to agreements, trade and the timeline.
	resp, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "RU", IncludeSubEntities: true, FromYear: 2016, ToYear: 2018})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := timelineOf(resp.GetTimeline()), []string{"sta-2016-07", "ru-2018", "trade:2018"}; !slices.Equal(got, want) ||
		resp.GetTotalAgreements() != 2 || resp.GetFirstAgreement().GetId() != "sta-2016-07" || resp.GetLatestAgreement().GetId() != "ru-2018" {
		t.Fatalf("2016-2018: timeline %v, total %d", got, resp.GetTotalAgreements())
	}

	// A region: its parent and children.
	resp, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "RU-STA"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetParent().GetCode() != "RU" || len(resp.GetChildren()) != 1 || resp.GetTotalAgreements() != 1 {
		t.Fatalf("region profile = %v", resp)
	}
	// A bloc: its members.
	resp, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "bloc.cis"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMembers()) != 2 || resp.GetTotalAgreements() != 0 || resp.GetFirstAgreement() != nil {
		t.Fatalf("bloc profile = %v", resp)
	}
}

func TestGetPartnerProfileErrors(t *testing.T) {
	client := profileServer(t)
	ctx := context.Background()
	_, err := client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "Gorgia"})
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != `no partner "Gorgia"; did you mean Georgia (GE)?` {
		t.Fatalf("unknown partner: %v", err)
	}
	_, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "Xanadu"})
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != `no partner "Xanadu"` {
		t.Fatalf("unknown partner without suggestions: %v", err)
	}
	_, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{})
	trWantInvalid(t, err, "partner")
	_, err = client.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "RU", FromYear: 2020, ToYear: 2010})
	trWantInvalid(t, err, "from_year")
}

func TestSearchPartners(t *testing.T) {
	client := profileServer(t)
	ctx := context.Background()
	resp, err := client.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "geo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetHits()) != 1 || resp.GetHits()[0].GetEntity().GetCode() != "GE" {
		t.Fatalf("hits = %v", resp.GetHits())
	}
	resp, err = client.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "s", Kind: bilatv1.EntityKind_ENTITY_KIND_CITY})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetHits()) != 1 || resp.GetHits()[0].GetEntity().GetCode() != "RU-STA.stavropol" {
		t.Fatalf("city hits = %v", resp.GetHits())
	}
	_, err = client.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "  "})
	trWantInvalid(t, err, "query")
	_, err = client.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "ge", Limit: 101})
	trWantInvalid(t, err, "limit")
	_, err = client.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "ge", Limit: -1, Kind: 42})
	trWantInvalid(t, err, "limit", "kind")
}

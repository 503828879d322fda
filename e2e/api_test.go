package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// loadBook imports the book's agreements and trade figures and waits until
// the pipeline has projected them.
func loadBook(t *testing.T, st *stack, env ...string) {
	t.Helper()
	for _, file := range []string{"data/agreements.ndjson", "data/trade.ndjson"} {
		if out, errOut, code := st.bilatEnv(env, "import", file, "--quiet"); code != 0 {
			t.Fatalf("bilat import %s: code %d\n%s\n%s", file, code, out, errOut)
		}
	}
	st.pipelineIdle(time.Minute)
}

func (st *stack) partners() bilatv1.PartnerServiceClient {
	return bilatv1.NewPartnerServiceClient(st.conns["gateway"])
}

// allAgreements pages through the whole listing.
func allAgreements(t *testing.T, c bilatv1.AgreementServiceClient, f *bilatv1.AgreementFilter, order bilatv1.AgreementOrder) []*bilatv1.Agreement {
	t.Helper()
	var out []*bilatv1.Agreement
	token := ""
	for page := 0; ; page++ {
		r, err := c.ListAgreements(ctxT(t, 30*time.Second), &bilatv1.ListAgreementsRequest{Filter: f, OrderBy: order, PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatalf("list %v page %d: %v", f, page, err)
		}
		out = append(out, r.Agreements...)
		if r.NextPageToken == "" {
			if int(r.TotalSize) != len(out) {
				t.Fatalf("list %v: total_size %d, paged through %d", f, r.TotalSize, len(out))
			}
			return out
		}
		token = r.NextPageToken
	}
}

func ids(as []*bilatv1.Agreement) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.GetId()
	}
	return out
}

// TestPublicAPIOnBookData asks the questions of DESIGN §1 through every
// public RPC, over gRPC and over HTTP/JSON, on the book's data.
func TestPublicAPIOnBookData(t *testing.T) {
	st := newStack(t)
	loadBook(t, st)
	ac := st.agreements()
	everything := allAgreements(t, ac, nil, bilatv1.AgreementOrder_AGREEMENT_ORDER_UNSPECIFIED)
	if len(everything) != countLines(t, "data/agreements.ndjson") {
		t.Fatalf("%d agreements listed, data/ holds %d", len(everything), countLines(t, "data/agreements.ndjson"))
	}

	t.Run("agreements with Georgia since 2017 including its cities", func(t *testing.T) {
		f := &bilatv1.AgreementFilter{Partner: "GE", IncludeSubEntities: true, SignedFrom: &bilatv1.PartialDate{Year: 2017}}
		got := allAgreements(t, ac, f, 0)
		var want []string
		for _, a := range everything { // the reference: filter the full listing here
			p := a.GetPartner()
			if (p.GetCode() == "GE" || p.GetCountry() == "GE") && a.GetSignedOn().GetYear() >= 2017 {
				want = append(want, a.GetId())
			}
		}
		if len(want) < 10 || !slices.Equal(ids(got), want) {
			t.Fatalf("got %v\nwant %v", ids(got), want)
		}
		own := allAgreements(t, ac, &bilatv1.AgreementFilter{Partner: "GE", SignedFrom: &bilatv1.PartialDate{Year: 2017}}, 0)
		if len(own) >= len(got) {
			t.Fatalf("without sub-entities %d, with %d: Tbilisi's agreements should add to Georgia's", len(own), len(got))
		}
	})

	t.Run("Russian regions and their levels", func(t *testing.T) {
		got := allAgreements(t, ac, &bilatv1.AgreementFilter{Partner: "RU", IncludeSubEntities: true}, 0)
		regions := map[string]bool{}
		for _, a := range got {
			if a.GetPartner().GetCountry() != "RU" && a.GetPartner().GetCode() != "RU" {
				t.Fatalf("%s: partner %v is not in Russia", a.GetId(), a.GetPartner())
			}
			regions[a.GetPartner().GetCode()] = true
		}
		for _, code := range []string{"RU-STA", "RU-CE", "RU-DA"} {
			if !regions[code] {
				t.Fatalf("region %s missing from %v", code, regions)
			}
		}
	})

	t.Run("filters match a reference filter of the full listing", func(t *testing.T) {
		cases := []struct {
			f    *bilatv1.AgreementFilter
			keep func(*bilatv1.Agreement) bool
		}{
			{&bilatv1.AgreementFilter{Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY}, func(a *bilatv1.Agreement) bool {
				return slices.Contains(a.GetDomains(), bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY)
			}},
			{&bilatv1.AgreementFilter{Kind: bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM}, func(a *bilatv1.Agreement) bool {
				return a.GetKind() == bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM
			}},
			{&bilatv1.AgreementFilter{Status: bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_PREPARATION}, func(a *bilatv1.Agreement) bool {
				return a.GetStatus() == bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_PREPARATION
			}},
			{&bilatv1.AgreementFilter{Level: bilatv1.PartyLevel_PARTY_LEVEL_REGION}, func(a *bilatv1.Agreement) bool {
				return slices.ContainsFunc(a.GetParties(), func(p *bilatv1.Party) bool { return p.GetLevel() == bilatv1.PartyLevel_PARTY_LEVEL_REGION })
			}},
			{&bilatv1.AgreementFilter{Place: "tbilisi"}, func(a *bilatv1.Agreement) bool { return a.GetPlace() == "Tbilisi" }},
			{&bilatv1.AgreementFilter{SignedFrom: &bilatv1.PartialDate{Year: 2018, Month: 6}, SignedTo: &bilatv1.PartialDate{Year: 2019, Month: 2}}, func(a *bilatv1.Agreement) bool {
				d := a.GetSignedOn()
				// Overlap: a date known to the year 2018 or 2019 overlaps
				// 2018-06..2019-02; one known to the month must fall inside.
				if d.GetYear() == 0 {
					return false
				}
				if d.GetMonth() == 0 {
					return d.GetYear() == 2018 || d.GetYear() == 2019
				}
				ym := d.GetYear()*100 + d.GetMonth()
				return ym >= 201806 && ym <= 201902
			}},
		}
		for _, c := range cases {
			got := allAgreements(t, ac, c.f, 0)
			var want []string
			for _, a := range everything {
				if c.keep(a) {
					want = append(want, a.GetId())
				}
			}
			if !slices.Equal(ids(got), want) {
				t.Errorf("filter %v:\n got %v\nwant %v", c.f, ids(got), want)
			}
		}
	})

	t.Run("title words and relevance", func(t *testing.T) {
		got := allAgreements(t, ac, &bilatv1.AgreementFilter{Query: "botanical garden"}, bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE)
		if len(got) != 2 {
			t.Fatalf("botanical garden: %v", ids(got))
		}
		for _, a := range got {
			if !strings.Contains(strings.ToLower(a.GetTitle()), "botanical garden") {
				t.Fatalf("%s: %q", a.GetId(), a.GetTitle())
			}
		}
	})

	t.Run("get, revisions and errors", func(t *testing.T) {
		ctx := ctxT(t, 30*time.Second)
		id := "belarus-georgia-treaty-basis-cooperation-2018"
		g, err := ac.GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: id})
		if err != nil || g.GetAgreement().GetPartner().GetCode() != "GE" {
			t.Fatalf("get: %v %v", g, err)
		}
		revs, err := ac.ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: id})
		if err != nil || len(revs.GetRevisions()) != 1 || revs.GetRevisions()[0].GetRevision() != 1 || revs.GetRevisions()[0].GetEventId() == "" {
			t.Fatalf("revisions: %v %v", revs, err)
		}
		if _, err := ac.ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: "no-such-agreement"}); status.Code(err) != codes.NotFound {
			t.Fatalf("revisions of an unknown id: %v", err)
		}
		_, err = ac.ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 501, Filter: &bilatv1.AgreementFilter{Domain: 999}})
		if status.Code(err) != codes.InvalidArgument || len(fieldViolations(err)) < 2 {
			t.Fatalf("bad page size and domain: %v (violations %v)", err, fieldViolations(err))
		}
	})

	t.Run("trade with Afghanistan and Georgia's target", func(t *testing.T) {
		ctx := ctxT(t, 30*time.Second)
		tc := st.trade()
		growth, err := tc.GetTradeGrowth(ctx, &bilatv1.GetTradeGrowthRequest{Partner: "AF", Reporter: "BY"})
		if err != nil || len(growth.GetPoints()) == 0 {
			t.Fatalf("growth AF: %v %v", growth, err)
		}
		bal, err := tc.GetTradeBalance(ctx, &bilatv1.GetTradeBalanceRequest{Partner: "AF", Reporter: "BY"})
		if err != nil || len(bal.GetPeriods()) == 0 {
			t.Fatalf("balance AF: %v %v", bal, err)
		}
		target, err := tc.GetTargetProgress(ctx, &bilatv1.GetTargetProgressRequest{Partner: "GE"})
		if err != nil || len(target.GetTargets()) == 0 {
			t.Fatalf("target GE: %v %v", target, err)
		}
		series, err := tc.GetTradeSeries(ctx, &bilatv1.GetTradeSeriesRequest{Partner: "AF"})
		if err != nil || len(series.GetPoints()) == 0 {
			t.Fatalf("series AF: %v %v", series, err)
		}
		rank, err := tc.RankPartners(ctx, &bilatv1.RankPartnersRequest{Year: 2018, Metric: bilatv1.RankMetric_RANK_METRIC_TURNOVER})
		if err != nil || len(rank.GetPartners()) == 0 {
			t.Fatalf("rank 2018: %v %v", rank, err)
		}
		if _, err := tc.GetTradeConflicts(ctx, &bilatv1.GetTradeConflictsRequest{Partner: "AF"}); err != nil {
			t.Fatalf("conflicts AF: %v", err)
		}
		cmp, err := tc.CompareTrade(ctx, &bilatv1.CompareTradeRequest{Partners: []string{"AF", "GE"}, Reporter: "BY"})
		if err != nil || len(cmp.GetPartners()) != 2 || len(cmp.GetYears()) == 0 {
			t.Fatalf("compare AF GE: %v %v", cmp, err)
		}
		for _, y := range cmp.GetYears() {
			if len(y.GetCells()) != 2 || y.GetCells()[0].GetPartner() != "AF" || y.GetCells()[1].GetPartner() != "GE" {
				t.Fatalf("compare year %d cells %v", y.GetYear(), y.GetCells())
			}
		}
		if _, err := tc.CompareTrade(ctx, &bilatv1.CompareTradeRequest{Partners: []string{"AF"}}); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("compare with one partner: %v", err)
		}
	})

	t.Run("trade alerts from the beginning", func(t *testing.T) {
		// The book's Afghan turnover moves by +34.3 % (2017 H1) and +29 %
		// (2018) year on year; 12 % (2017) stays under a 25 % threshold.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stream, err := st.trade().WatchTradeAlerts(ctx, &bilatv1.WatchTradeAlertsRequest{
			Partners: []string{"AF"}, ThresholdPct: 25, Start: bilatv1.WatchStart_WATCH_START_BEGINNING,
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < 2 {
			a, err := stream.Recv()
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			got = append(got, fmt.Sprintf("%s %.1f", a.GetFigure().GetId(), a.GetChangePct()))
		}
		// In BILAT_ENRICHED order, which enrichment's workers keep per
		// record only: compare as a set (the HTTP watch below must start
		// with the same first one).
		first := strings.Fields(got[0])[0]
		slices.Sort(got)
		want := []string{"belarus-afghanistan-turnover-2017-h1 34.3", "belarus-afghanistan-turnover-2018 29.0"}
		if !slices.Equal(got, want) {
			t.Fatalf("alerts %v, want %v", got, want)
		}
		// Nothing else qualifies: a third Recv only ends with the deadline.
		short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancelShort()
		again, err := st.trade().WatchTradeAlerts(short, &bilatv1.WatchTradeAlertsRequest{
			Partners: []string{"AF"}, ThresholdPct: 25, Start: bilatv1.WatchStart_WATCH_START_BEGINNING,
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, err := again.Recv(); err != nil {
				if status.Code(err) != codes.DeadlineExceeded {
					t.Fatalf("alert stream ended with %v", err)
				}
				break
			}
			n++
		}
		if n != 2 {
			t.Fatalf("%d alerts before the deadline, want exactly 2", n)
		}

		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.apiURL+"/v1/trade/alerts:watch?partners=AF&thresholdPct=25&start=WATCH_START_BEGINNING", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || !strings.Contains(line, `"id":"`+first+`"`) {
			t.Fatalf("HTTP alerts: %q %v", line, err)
		}
	})

	t.Run("partner profile and search", func(t *testing.T) {
		ctx := ctxT(t, 30*time.Second)
		pc := st.partners()
		p, err := pc.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "GE", IncludeSubEntities: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.GetEntity().GetCode() != "GE" || len(p.GetChildren()) == 0 || p.GetTotalAgreements() == 0 ||
			len(p.GetTopDomains()) == 0 || p.GetFirstAgreement() == nil || p.GetLatestAgreement() == nil || len(p.GetTimeline()) == 0 {
			t.Fatalf("profile GE is missing sections: entity %v children %d total %d top %d first %v latest %v timeline %d",
				p.GetEntity().GetCode(), len(p.GetChildren()), p.GetTotalAgreements(), len(p.GetTopDomains()),
				p.GetFirstAgreement().GetId(), p.GetLatestAgreement().GetId(), len(p.GetTimeline()))
		}
		for i := 1; i < len(p.GetTimeline()); i++ {
			a, b := p.GetTimeline()[i-1].GetDate(), p.GetTimeline()[i].GetDate()
			if b.GetYear() != 0 && a.GetYear() > b.GetYear() {
				t.Fatalf("timeline out of order at %d: %v then %v", i, a, b)
			}
		}
		s, err := pc.SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: "Gruziya"})
		if err != nil || len(s.GetHits()) == 0 || s.GetHits()[0].GetEntity().GetCode() != "GE" {
			t.Fatalf("search Gruziya: %v %v", s, err)
		}
		if _, err := pc.GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{Partner: "XX-NOPE"}); status.Code(err) != codes.NotFound {
			t.Fatalf("profile of an unknown partner: %v", err)
		}
	})

	t.Run("http json", func(t *testing.T) {
		get := func(path string, wantCode int) map[string]any {
			t.Helper()
			resp, err := http.Get(st.apiURL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != wantCode {
				t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, wantCode, body)
			}
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("GET %s: not JSON: %v\n%s", path, err, body)
			}
			return v
		}
		q := url.Values{"filter.partner": {"GE"}, "filter.includeSubEntities": {"true"}, "filter.signedFrom.year": {"2017"}, "pageSize": {"500"}}
		list := get("/v1/agreements?"+q.Encode(), 200)
		grpcList := allAgreements(t, ac, &bilatv1.AgreementFilter{Partner: "GE", IncludeSubEntities: true, SignedFrom: &bilatv1.PartialDate{Year: 2017}}, 0)
		if n := len(list["agreements"].([]any)); n != len(grpcList) {
			t.Fatalf("HTTP lists %d, gRPC %d", n, len(grpcList))
		}
		one := get("/v1/agreements/belarus-georgia-treaty-basis-cooperation-2018", 200)
		if one["agreement"].(map[string]any)["id"] != "belarus-georgia-treaty-basis-cooperation-2018" {
			t.Fatalf("GET agreement: %v", one)
		}
		get("/v1/agreements/belarus-georgia-treaty-basis-cooperation-2018/revisions", 200)
		for _, path := range []string{
			"/v1/partners/AF/trade/series", "/v1/partners/AF/trade/balance?reporter=BY", "/v1/partners/AF/trade/growth",
			"/v1/partners/GE/trade/targets", "/v1/partners/AF/trade/conflicts", "/v1/trade/rankings?year=2018&metric=RANK_METRIC_TURNOVER",
			"/v1/trade:compare?partners=AF&partners=GE", "/v1/partners/GE?includeSubEntities=true", "/v1/partners:search?query=Tbilisi",
		} {
			if v := get(path, 200); len(v) == 0 {
				t.Fatalf("GET %s: empty answer", path)
			}
		}
		nf := get("/v1/agreements/no-such-agreement", 404)
		if nf["code"] != float64(codes.NotFound) {
			t.Fatalf("404 body: %v", nf)
		}
		bad := get("/v1/agreements?pageSize=501", 400)
		if !strings.Contains(fmt.Sprint(bad["details"]), "page_size") {
			t.Fatalf("400 body without the field: %v", bad)
		}
		spec := get("/openapi.json", 200)
		paths, _ := spec["paths"].(map[string]any)
		for _, p := range []string{"/v1/agreements", "/v1/agreements:watch", "/v1/partners/{partner}", "/v1/trade:compare"} {
			if _, ok := paths[p]; !ok {
				t.Fatalf("openapi.json lacks %s", p)
			}
		}
	})
}

func fieldViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// TestWatchOverGRPCAndHTTP: a subscription to China's science and
// technology agreements sees exactly the matching new agreement, over both
// protocols, and the gRPC one resumes from its position.
func TestWatchOverGRPCAndHTTP(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 2*time.Minute)
	filter := &bilatv1.AgreementFilter{Partner: "CN", Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY}
	// The stack is new, so "from the beginning" is exactly what this test
	// publishes; a watch from "now" could start after the first publish.
	stream, err := st.agreements().WatchAgreements(ctx, &bilatv1.WatchAgreementsRequest{Filter: filter, Start: bilatv1.WatchStart_WATCH_START_BEGINNING})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*bilatv1.Agreement{
		agreement("watch-cn-trade", "China", 2021, bilatv1.Domain_DOMAIN_TRADE),
		agreement("watch-ge-st", "Georgia", 2021, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY),
		agreement("watch-cn-st", "China", 2021, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY),
	} {
		if _, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: a}); err != nil {
			t.Fatal(err)
		}
	}
	// grpc-gateway sends the response headers with the first message.
	q := url.Values{"filter.partner": {"CN"}, "filter.domain": {"DOMAIN_SCIENCE_TECHNOLOGY"}, "start": {"WATCH_START_BEGINNING"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.apiURL+"/v1/agreements:watch?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP watch: %d", resp.StatusCode)
	}
	got, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAgreement().GetId() != "watch-cn-st" || got.GetKind() != bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RECORDED || got.GetPosition() == "" {
		t.Fatalf("gRPC watch got %v", got)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Result struct {
			Position  string `json:"position"`
			Agreement struct {
				ID string `json:"id"`
			} `json:"agreement"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.Result.Agreement.ID != "watch-cn-st" || msg.Result.Position != got.GetPosition() {
		t.Fatalf("HTTP watch line %q (%v)", line, err)
	}

	// A revision and a resume from the first position: the revision only.
	rev := agreement("watch-cn-st", "China", 2021, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY)
	rev.Title = "Agreement on cooperation in science and technology (revised)"
	if _, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: rev}); err != nil {
		t.Fatal(err)
	}
	resumed, err := st.agreements().WatchAgreements(ctx, &bilatv1.WatchAgreementsRequest{Filter: filter, AfterPosition: got.GetPosition()})
	if err != nil {
		t.Fatal(err)
	}
	next, err := resumed.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetAgreement().GetId() != "watch-cn-st" || next.GetKind() != bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_REVISED {
		t.Fatalf("resumed watch got %v", next)
	}
	// The watch reads the enriched stream; the history appears once
	// statistics has applied the revision.
	testenv.Eventually(t, 30*time.Second, "two revisions of watch-cn-st", func() bool {
		revs, err := st.agreements().ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: "watch-cn-st"})
		return err == nil && len(revs.GetRevisions()) == 2 && revs.GetRevisions()[1].GetAgreement().GetTitle() == rev.Title
	})
}

// TestAuthScopesAndRateLimit runs a stack with bearer tokens and a
// per-client rate limit: reads need the read scope, ingest the publish
// scope, over gRPC and HTTP; a client over its rate gets ResourceExhausted.
func TestAuthScopesAndRateLimit(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# client scopes secret\nanalyst read analyst-secret\nfeed publish,read feed-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := newStackEnv(t, []string{"BILAT_AUTH_TOKENS_FILE=" + tokens, "BILAT_RATE_LIMIT=5", "BILAT_RATE_BURST=20"})
	bearer := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(ctxT(t, 30*time.Second), "authorization", "Bearer "+tok)
	}
	req := &bilatv1.GetAgreementRequest{Id: "none"}
	if _, err := st.agreements().GetAgreement(ctxT(t, 10*time.Second), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	if _, err := st.agreements().GetAgreement(bearer("wrong"), req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := st.agreements().GetAgreement(bearer("analyst-secret"), req); status.Code(err) != codes.NotFound {
		t.Fatalf("read token: %v", err)
	}
	sub := &bilatv1.SubmitAgreementRequest{Agreement: agreement("auth-1", "Georgia", 2020, bilatv1.Domain_DOMAIN_TRADE)}
	if _, err := st.ingest().SubmitAgreement(bearer("analyst-secret"), sub); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("read token submitting: %v", err)
	}
	if _, err := st.ingest().SubmitAgreement(bearer("feed-secret"), sub); err != nil {
		t.Fatalf("publish token submitting: %v", err)
	}
	// The gateway forwards the caller's token to statistics, which answers
	// (NotFound: this stack holds no trade figures) instead of refusing.
	if _, err := st.trade().GetTradeBalance(bearer("analyst-secret"), &bilatv1.GetTradeBalanceRequest{Partner: "GE"}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "trade figures") {
		t.Fatalf("balance with a read token: %v", err)
	}
	// The bilat tool takes its token from the environment.
	if out, errOut, code := st.bilatEnv([]string{"BILAT_TOKEN=analyst-secret"}, "agreements", "list"); code != 0 {
		t.Fatalf("bilat with a token: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := st.bilat("agreements", "list"); code == 0 || !strings.Contains(strings.ToLower(errOut), "token") {
		t.Fatalf("bilat without a token: code %d, %s", code, errOut)
	}

	httpGet := func(tok string) int {
		r, _ := http.NewRequest(http.MethodGet, st.apiURL+"/v1/agreements", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := httpGet(""); c != http.StatusUnauthorized {
		t.Fatalf("HTTP without a token: %d", c)
	}
	if c := httpGet("analyst-secret"); c != http.StatusOK {
		t.Fatalf("HTTP with a read token: %d", c)
	}

	// Rate limit: 5/s with a burst of 20 per client; 60 quick calls from one
	// client must meet ResourceExhausted, and another client is unaffected.
	conn, err := grpc.NewClient(st.services["gateway"].grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	limited := false
	for i := 0; i < 60 && !limited; i++ {
		_, err := bilatv1.NewAgreementServiceClient(conn).GetAgreement(bearer("analyst-secret"), req)
		limited = status.Code(err) == codes.ResourceExhausted
	}
	if !limited {
		t.Fatal("60 calls in a burst of 20 at 5/s were never limited")
	}
	if _, err := st.agreements().GetAgreement(bearer("feed-secret"), req); status.Code(err) != codes.NotFound {
		t.Fatalf("another client while the first is limited: %v", err)
	}
}

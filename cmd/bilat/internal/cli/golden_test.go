package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/cmd/bilat/internal/testsrv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// golden compares got with testdata/<name>.golden, or rewrites the file
// with -update. JSON output is compared after re-encoding every line with
// encoding/json (sorted keys, fixed indentation), because protojson
// deliberately varies its whitespace between builds.
func golden(t *testing.T, name, got string) {
	t.Helper()
	if strings.HasSuffix(name, ".json") {
		got = normalizeJSON(t, got)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./internal/cli -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", name, path, got, want)
	}
}

// normalizeJSON re-encodes one JSON document (possibly multi-line) or JSON
// lines deterministically.
func normalizeJSON(t *testing.T, s string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var b strings.Builder
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, s)
		}
		out, _ := json.MarshalIndent(v, "", "  ")
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.String()
}

func ts(sec int64) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: sec} }

var (
	entGE = &bilatv1.Entity{Code: "GE", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Georgia", Aliases: []string{"Грузия", "Sakartvelo"}}
	entAF = &bilatv1.Entity{Code: "AF", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Afghanistan"}
	entGA = &bilatv1.Entity{Code: "GE-AJ", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Adjara", Parent: "GE", Country: "GE"}
)

func richAgreement() *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Id: "ge-2017-mou-science", Title: "Memorandum of Understanding on cooperation in science and technology between the academies",
		Kind: bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM, Status: bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		SignedOn: &bilatv1.PartialDate{Year: 2017, Month: 3, Approximate: true}, Place: "Tbilisi",
		Partner: &bilatv1.EntityRef{Name: "Georgia", Code: "GE", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, CanonicalName: "Georgia", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY},
		Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, bilatv1.Domain_DOMAIN_EDUCATION},
		Value:   &bilatv1.Money{Currency: "USD", Units: 2500000},
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "National Academy of Sciences of Belarus", Code: "org.by.nasb", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, CanonicalName: "NAS of Belarus", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Country: "BY"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY, Country: "BY"},
			{Entity: &bilatv1.EntityRef{Name: "Tbilisi Science Park", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}, Level: bilatv1.PartyLevel_PARTY_LEVEL_OTHER},
		},
		Sources:    []*bilatv1.Source{{Url: "http://example.org/a", Publisher: "BelTA", Published: &bilatv1.PartialDate{Year: 2017}, Quote: "signed a memorandum", Reference: "footnote 12"}},
		Attributes: map[string]string{"chapter": "Georgia"},
		Revision:   2,
		UpdatedAt:  ts(1500000000),
	}
}

// goldenServer is the in-memory gateway with the fixtures of the golden tests.
func goldenServer(t *testing.T) (*testsrv.Server, string) {
	srv := testsrv.New()
	srv.AddAgreements(richAgreement(), agreement("ge-2018-trade", "GE", 2018), agreement("af-2018-edu", "AF", 2018))
	srv.Entities = []*bilatv1.Entity{entGE, entAF, entGA}
	srv.Profile = &bilatv1.GetPartnerProfileResponse{
		Children: []*bilatv1.Entity{entGA},
		AgreementsByDomainYear: []*bilatv1.AgreementCount{
			{Domain: bilatv1.Domain_DOMAIN_TRADE, Year: 2018, Count: 1},
			{Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, Year: 2017, Count: 1},
			{Domain: bilatv1.Domain_DOMAIN_EDUCATION, Year: 2017, Count: 1},
		},
		TotalAgreements: 2,
		TopDomains:      []*bilatv1.DomainTotal{{Domain: bilatv1.Domain_DOMAIN_TRADE, Agreements: 1}, {Domain: bilatv1.Domain_DOMAIN_EDUCATION, Agreements: 1}},
		FirstAgreement:  richAgreement(),
		LatestAgreement: agreement("ge-2018-trade", "GE", 2018),
		Trade: []*bilatv1.TradePeriodStats{{Reporter: "BY", Period: &bilatv1.Period{Year: 2017},
			Values: []*bilatv1.TradeValue{{Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Usd: usdM(1120)}}}},
		Timeline: []*bilatv1.TimelineEntry{
			{Date: &bilatv1.PartialDate{Year: 2017, Month: 3}, Item: &bilatv1.TimelineEntry_Agreement{Agreement: richAgreement()}},
			{Date: &bilatv1.PartialDate{Year: 2017}, Item: &bilatv1.TimelineEntry_Trade{Trade: &bilatv1.TradePeriodStats{Reporter: "BY", Period: &bilatv1.Period{Year: 2017},
				Values: []*bilatv1.TradeValue{{Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Usd: usdM(1120)}}}}},
		},
	}
	v1 := agreement("ge-2018-trade", "GE", 2018)
	v2 := agreement("ge-2018-trade", "GE", 2018)
	v2.Title = "Agreement on trade and economic cooperation"
	srv.Revisions = map[string][]*bilatv1.AgreementRevision{"ge-2018-trade": {
		{Revision: 1, Agreement: v1, EventId: "ev-1", RecordedAt: ts(1600000000), Source: "import:data/agreements.ndjson"},
		{Revision: 2, Agreement: v2, EventId: "ev-2", RecordedAt: ts(1600003600), Source: "grpc:127.0.0.1"},
		{Revision: 3, Agreement: v2, EventId: "ev-3", RecordedAt: ts(1600007200), Source: "grpc:127.0.0.1", Retracted: true, RetractionReason: "duplicate of another record"},
	}}
	srv.Changes = []*bilatv1.WatchAgreementsResponse{
		{Kind: bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RECORDED, Agreement: v1, RecordedAt: ts(1600000000)},
		{Kind: bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_REVISED, Agreement: v2, RecordedAt: ts(1600003600)},
		{Kind: bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RETRACTED, Agreement: v2, RecordedAt: ts(1600007200), RetractionReason: "duplicate"},
	}
	yoy := 12.5
	srv.Compare = &bilatv1.CompareTradeResponse{
		Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Partners: []*bilatv1.PartnerTrade{
			{Partner: "GE", Name: "Georgia", Cagr: []*bilatv1.Cagr{{Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, FromYear: 2016, ToYear: 2017,
				FromValue: &bilatv1.TradeValue{Usd: usdM(1000)}, ToValue: &bilatv1.TradeValue{Usd: usdM(1120)}, CagrPct: 12}}},
			{Partner: "AF", Name: "Afghanistan"},
		},
		Years: []*bilatv1.CompareYear{
			{Year: 2016, Cells: []*bilatv1.CompareCell{{Partner: "GE", Usd: usdM(1000), SharePct: 100}, {Partner: "AF"}}},
			{Year: 2017, Cells: []*bilatv1.CompareCell{{Partner: "GE", Usd: usdM(1120), SharePct: 74.67, YoyPct: &yoy}, {Partner: "AF", Usd: usdM(380), Derived: true, SharePct: 25.33}}},
		},
	}
	srv.Alerts = []*bilatv1.WatchTradeAlertsResponse{{
		Figure: &bilatv1.TradeFigure{Id: "af-2018-turnover"}, Partner: "AF", Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Period: &bilatv1.Period{Year: 2018}, Usd: usdM(387), PreviousUsd: usdM(300), ChangePct: 29, ThresholdPct: 10,
	}}
	return srv, serve(t, srv)
}

func TestGoldenOutputs(t *testing.T) {
	_, addr := goldenServer(t)
	_, statsAddr := serveStats(t)
	cases := []struct {
		name  string
		stats bool
		args  []string
	}{
		{"agreements-list", false, []string{"agreements", "list"}},
		{"agreements-get", false, []string{"agreements", "get", "ge-2017-mou-science"}},
		{"agreements-history", false, []string{"agreements", "history", "ge-2018-trade"}},
		{"trade-compare", false, []string{"trade", "compare", "GE", "Afghanistan"}},
		{"partners-search", false, []string{"partners", "search", "geo"}},
		{"partners-show", false, []string{"partners", "show", "Georgia"}},
		{"trade-balance", true, []string{"trade", "balance", "AF"}},
		{"trade-growth", true, []string{"trade", "growth", "AF"}},
		{"trade-target", true, []string{"trade", "target", "GE"}},
		{"trade-rank", true, []string{"trade", "rank", "--year", "2018"}},
		{"trade-conflicts", true, []string{"trade", "conflicts", "AF", "GE"}},
		{"agreements-stats", true, []string{"agreements", "stats", "--statistics", statsAddr}},
	}
	for _, c := range cases {
		for _, out := range []string{"table", "csv", "json"} {
			t.Run(c.name+"."+out, func(t *testing.T) {
				a := addr
				if c.stats {
					a = statsAddr
				}
				r := run(t, a, "", append(c.args, "-o", out)...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				golden(t, c.name+"."+out, r.stdout)
			})
		}
	}
}

// lineWriter collects output and cancels once it holds n lines.
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Count(w.buf.String(), "\n") >= w.n {
		w.cancel()
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runStream runs a watch command until it printed n lines, then stops it
// as Ctrl-C would.
func runStream(t *testing.T, addr string, n int, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{n: n, cancel: cancel}
	var errOut bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(""), Out: out, Err: &errOut, Getenv: func(string) string { return "" }})
	root.SetArgs(append([]string{"--server", addr}, args...))
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), ExitCode(err)
}

func TestWatchAgreementsResumesAfterDrop(t *testing.T) {
	srv, addr := goldenServer(t)
	srv.DropAfter = 2
	// Header + 3 changes; the stream drops after 2 and the tool resumes
	// after position 2, so each change is printed exactly once.
	out, stderr, code := runStream(t, addr, 4, "agreements", "watch", "--partner", "Georgia", "--start", "beginning")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "agreements-watch.table", out)
	if !strings.Contains(stderr, "reconnecting") || !strings.Contains(stderr, "from position 2") {
		t.Errorf("stderr should tell about the reconnection: %q", stderr)
	}
	var watches []*bilatv1.WatchAgreementsRequest
	for _, r := range srv.Requests() {
		if w, ok := r.(*bilatv1.WatchAgreementsRequest); ok {
			watches = append(watches, w)
		}
	}
	if len(watches) != 2 || watches[0].GetAfterPosition() != "" || watches[1].GetAfterPosition() != "2" ||
		watches[1].GetFilter().GetPartner() != "GE" || watches[0].GetStart() != bilatv1.WatchStart_WATCH_START_BEGINNING {
		t.Errorf("watch requests: %v", watches)
	}

	out, _, _ = runStream(t, addr, 1, "agreements", "watch", "--from-position", "2", "-o", "json")
	golden(t, "agreements-watch-resume.json", out)
}

func TestTradeAlerts(t *testing.T) {
	srv, addr := goldenServer(t)
	out, stderr, code := runStream(t, addr, 2, "trade", "alerts", "--threshold", "10", "AF")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "trade-alerts.table", out)
	req := srv.Requests()[len(srv.Requests())-1].(*bilatv1.WatchTradeAlertsRequest)
	if req.GetThresholdPct() != 10 || len(req.GetPartners()) != 1 || req.GetPartners()[0] != "AF" {
		t.Errorf("request %v", req)
	}
	if _, _, code := runStream(t, addr, 1, "trade", "alerts"); code != ExitInvalid {
		t.Errorf("missing threshold: exit %d", code)
	}
	// A watch that cannot reach the server at all says so at once.
	srv2 := testsrv.New()
	down, stop, err := srv2.Listen()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	var errOut bytes.Buffer
	root := NewRoot(Streams{Out: &bytes.Buffer{}, Err: &errOut, Getenv: func(string) string { return "" }})
	root.SetArgs([]string{"--server", down, "agreements", "watch"})
	if err := root.Execute(); ExitCode(err) != ExitFailure || !strings.Contains(err.Error(), "cannot reach "+down) {
		t.Errorf("watch on a dead server: %v", err)
	}
}

func TestPartnerNames(t *testing.T) {
	srv, addr := goldenServer(t)
	r := run(t, addr, "", "trade", "series", "Gorgia")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, `no partner "Gorgia"; did you mean: Georgia (GE)`) {
		t.Errorf("misspelt partner: %+v", r)
	}
	r = run(t, addr, "", "trade", "series", "Zzyzx")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, `no partner "Zzyzx"`) {
		t.Errorf("unknown partner: %+v", r)
	}
	r = run(t, addr, "", "agreements", "list", "--partner", "sakartvelo")
	if r.code != 0 || !strings.Contains(r.stdout, "ge-2018-trade") {
		t.Errorf("alias: %+v", r)
	}
	last := srv.Requests()[len(srv.Requests())-1].(*bilatv1.ListAgreementsRequest)
	if last.GetFilter().GetPartner() != "GE" {
		t.Errorf("resolved partner %q", last.GetFilter().GetPartner())
	}
	// Completion of partner arguments goes through SearchPartners.
	r = run(t, "127.0.0.1:1", "", "__complete", "--server", addr, "partners", "show", "Adj")
	if !strings.Contains(r.stdout, "GE-AJ\tAdjara (region)") {
		t.Errorf("completion: %+v", r)
	}
}

func TestCompletion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "agreements", "list", "--domain", "sci"}, "science_technology"},
		{[]string{"__complete", "agreements", "list", "--level", ""}, "government"},
		{[]string{"__complete", "agreements", "list", "--status", ""}, "signed"},
		{[]string{"__complete", "agreements", "list", "--kind", ""}, "memorandum"},
		{[]string{"__complete", "trade", "series", "AF", "--flow", ""}, "turnover"},
		{[]string{"__complete", "trade", "rank", "--by", ""}, "growth"},
		{[]string{"__complete", "entities", "search", "x", "--kind", ""}, "region"},
		{[]string{"__complete", "-o", ""}, "csv"},
		{[]string{"completion", "bash"}, "bash completion"},
	} {
		r := run(t, "127.0.0.1:1", "", c.args...)
		if !strings.Contains(r.stdout, c.want) {
			t.Errorf("%v: want %q in\n%s%s", c.args, c.want, r.stdout, r.stderr)
		}
	}
}

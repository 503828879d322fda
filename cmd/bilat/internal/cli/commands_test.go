package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"bilat.dev/cmd/bilat/internal/testsrv"
	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

type result struct {
	stdout, stderr string
	code           int
}

// run executes the bilat command tree the way main does, against addr for
// both the gateway and ingest.
func run(t *testing.T, addr, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut, Getenv: func(string) string { return "" }})
	root.SetArgs(append([]string{"--gateway", addr, "--ingest", addr}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		if ee, ok := err.(*ExitError); !ok || !ee.Printed {
			errOut.WriteString("bilat: " + err.Error() + "\n")
		}
	}
	return result{out.String(), errOut.String(), ExitCode(err)}
}

func serve(t *testing.T, s *testsrv.Server) string {
	t.Helper()
	addr, stop, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

func TestSubmitAgreement(t *testing.T) {
	srv := testsrv.New()
	addr := serve(t, srv)
	in := `{"id":"ge-1","title":"MoU","signedOn":{"year":2017,"month":3}}`
	r := run(t, addr, in, "submit", "agreement", "-", "--idempotency-key", "k1")
	if r.code != 0 || !strings.Contains(r.stdout, "event id:   ev-k1\nrecord id:  ge-1\nstatus:     recorded\n") {
		t.Fatalf("first submit: %+v", r)
	}
	r = run(t, addr, in, "submit", "agreement", "-", "--idempotency-key", "k1")
	if r.code != 0 || !strings.Contains(r.stdout, "status:     duplicate (already recorded)") {
		t.Fatalf("second submit: %+v", r)
	}
	// A wrapper line supplies its key unless the flag overrides it.
	r = run(t, addr, `{"agreement":{"id":"ge-2"},"idempotencyKey":"wk"}`, "-o", "json", "submit", "agreement", "-")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res["eventId"] != "ev-wk" {
		t.Fatalf("json output %q (%v)", r.stdout, err)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1].(*bilatv1.SubmitAgreementRequest)
	if last.GetIdempotencyKey() != "wk" || last.GetAgreement().GetId() != "ge-2" {
		t.Errorf("sent %v", last)
	}
}

func TestSubmitTradeFromFile(t *testing.T) {
	srv := testsrv.New()
	addr := serve(t, srv)
	path := filepath.Join(t.TempDir(), "fig.json")
	if err := os.WriteFile(path, []byte("{\n \"id\": \"af-2018\",\n \"flow\": \"TRADE_FLOW_TURNOVER\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, addr, "", "submit", "trade", path)
	if r.code != 0 || !strings.Contains(r.stdout, "record id:  af-2018") {
		t.Fatalf("%+v", r)
	}
	got := srv.Requests()[0].(*bilatv1.SubmitTradeFigureRequest)
	if got.GetFigure().GetFlow() != bilatv1.TradeFlow_TRADE_FLOW_TURNOVER {
		t.Errorf("sent %v", got)
	}
	// The wrong kind is refused before anything is sent.
	r = run(t, addr, `{"agreement":{"id":"x"}}`, "submit", "trade", "-")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "use `bilat submit agreement`") {
		t.Errorf("wrong kind: %+v", r)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("nothing more should be sent")
	}
}

func TestSubmitInvalidArgument(t *testing.T) {
	srv := testsrv.New()
	srv.SubmitErr = grpcx.InvalidArgument("invalid agreement",
		grpcx.FieldViolation{Field: "agreement.signed_on.month", Description: "must be 1..12"},
		grpcx.FieldViolation{Field: "agreement.title", Description: "required"})
	addr := serve(t, srv)
	r := run(t, addr, `{"signedOn":{"year":2017,"month":13}}`, "submit", "agreement", "-")
	if r.code != ExitInvalid {
		t.Fatalf("exit %d, want 2: %+v", r.code, r)
	}
	want := "bilat: invalid agreement:\n  agreement.signed_on.month: must be 1..12\n  agreement.title: required\n"
	if r.stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, want)
	}
	srv.SubmitErr = status.Error(codes.InvalidArgument, "figure is empty")
	r = run(t, addr, `{}`, "submit", "trade", "-")
	if r.code != ExitInvalid || r.stderr != "bilat: invalid trade figure: figure is empty\n" {
		t.Errorf("no details: %+v", r)
	}
}

func TestSubmitUnavailable(t *testing.T) {
	srv := testsrv.New()
	addr, stop, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	r := run(t, addr, `{"id":"x"}`, "submit", "agreement", "-")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "cannot reach "+addr+" (ingest): is `make run` running?") {
		t.Errorf("%+v", r)
	}
}

func TestImportCommand(t *testing.T) {
	srv := testsrv.New()
	srv.Validate = func(r *bilatv1.ImportRequest) *bilatv1.Rejection {
		if r.GetAgreement().GetTitle() == "" && r.GetAgreement() != nil {
			return &bilatv1.Rejection{Reason: "invalid agreement", FieldErrors: []*bilatv1.FieldError{{Field: "agreement.title", Description: "required"}}}
		}
		return nil
	}
	addr := serve(t, srv)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ndjson")
	if err := os.WriteFile(good, []byte("{\"agreement\":{\"id\":\"a\",\"title\":\"A\"}}\n\n{\"tradeFigure\":{\"id\":\"t\"}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, addr, "", "import", good)
	if r.code != 0 || r.stdout != "accepted:   2\nduplicates: 0\nrejected:   0\n" {
		t.Fatalf("good import: %+v", r)
	}
	// Again: everything is a duplicate.
	r = run(t, addr, "", "import", good)
	if r.code != 0 || !strings.Contains(r.stdout, "duplicates: 2") {
		t.Fatalf("reimport: %+v", r)
	}

	bad := "\n{\"agreement\":{\"id\":\"b\"}}\n{oops}\n{\"agreement\":{\"id\":\"c\",\"title\":\"C\"}}\n"
	r = run(t, addr, bad, "import", "-", "--quiet")
	if r.code != ExitRejected {
		t.Fatalf("exit %d, want 3: %+v", r.code, r)
	}
	wantOut := "accepted:   1\nduplicates: 0\nrejected:   2\n" +
		"line 2: invalid agreement (agreement.title: required)\n" +
		"line 3: not a bilat.v1.ImportRequest: "
	if !strings.HasPrefix(r.stdout, wantOut) {
		t.Errorf("stdout:\n%s\nwant prefix:\n%s", r.stdout, wantOut)
	}

	r = run(t, addr, bad, "-o", "json", "import", "-")
	var sum struct {
		Accepted, Duplicates, Rejected int
		Rejections                     []struct {
			Line        int
			Reason      string
			FieldErrors []struct{ Field, Description string }
			Local       bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if r.code != ExitRejected || sum.Duplicates != 1 || sum.Rejected != 2 || len(sum.Rejections) != 2 ||
		sum.Rejections[0].Line != 2 || sum.Rejections[0].FieldErrors[0].Field != "agreement.title" || !sum.Rejections[1].Local {
		t.Errorf("json summary %+v (exit %d)", sum, r.code)
	}

	r = run(t, addr, "", "import", filepath.Join(dir, "missing.ndjson"))
	if r.code != ExitFailure || !strings.Contains(r.stderr, "missing.ndjson: no such file") || strings.Contains(r.stderr, "again is safe") {
		t.Errorf("missing file: %+v", r)
	}
}

func agreement(id, partner string, year int32) *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Id: id, Title: "Agreement " + id, Kind: bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
		SignedOn: &bilatv1.PartialDate{Year: year},
		Partner:  &bilatv1.EntityRef{Name: partner, Code: partner, Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED},
		Domains:  []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE},
	}
}

func TestAgreementsList(t *testing.T) {
	srv := testsrv.New()
	for i := range 5 {
		srv.AddAgreements(agreement("ge-"+string(rune('a'+i)), "GE", int32(2015+i)))
	}
	srv.AddAgreements(agreement("cn-a", "CN", 2010))
	addr := serve(t, srv)

	r := run(t, addr, "", "agreements", "list", "--partner", "GE", "--page-size", "2", "--domain", "trade", "--from", "2015")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	wantHead := "ID    SIGNED  PARTNER  KIND       DOMAINS  TITLE\nge-a  2015    GE       agreement  trade    Agreement ge-a\n"
	if !strings.HasPrefix(r.stdout, wantHead) || !strings.Contains(r.stdout, "2 of 5 agreements; next page: --page-token 2") {
		t.Errorf("page 1:\n%s", r.stdout)
	}
	req := srv.Requests()[0].(*bilatv1.ListAgreementsRequest)
	if f := req.GetFilter(); f.GetDomain() != bilatv1.Domain_DOMAIN_TRADE || f.GetSignedFrom().GetYear() != 2015 || req.GetPageSize() != 2 || f.GetPartner() != "GE" {
		t.Errorf("request %v", req)
	}

	r = run(t, addr, "", "agreements", "list", "--partner", "GE", "--page-size", "2", "--all")
	if r.code != 0 || strings.Count(r.stdout, "\nge-") != 5 || !strings.Contains(r.stdout, "5 of 5 agreements\n") {
		t.Errorf("--all:\n%s", r.stdout)
	}

	// JSON lines: one ListAgreementsResponse per page.
	r = run(t, addr, "", "-o", "json", "agreements", "list", "--all", "--page-size", "4")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("json --all: want 2 lines (pages), got:\n%s", r.stdout)
	}
	n := 0
	for _, l := range lines {
		var resp bilatv1.ListAgreementsResponse
		if err := protojson.Unmarshal([]byte(l), &resp); err != nil {
			t.Fatalf("json: %v", err)
		}
		n += len(resp.GetAgreements())
	}
	if n != 6 {
		t.Errorf("json --all: %d agreements", n)
	}
	// --limit stops after N agreements, following pages as needed.
	r = run(t, addr, "", "agreements", "list", "--page-size", "2", "--limit", "3")
	if r.code != 0 || strings.Count(r.stdout, "\nge-")+strings.Count(r.stdout, "\ncn-") != 3 {
		t.Errorf("--limit 3:\n%s", r.stdout)
	}

	r = run(t, addr, "", "agreements", "list", "--partner", "XX")
	if r.code != 0 || r.stdout != "no agreements match\n" {
		t.Errorf("empty: %+v", r)
	}
	r = run(t, addr, "", "agreements", "list", "--domain", "nope")
	if r.code != ExitInvalid {
		t.Errorf("bad domain exit %d", r.code)
	}
}

func TestAgreementsGet(t *testing.T) {
	srv := testsrv.New()
	srv.AddAgreements(agreement("ge-a", "GE", 2017))
	addr := serve(t, srv)
	r := run(t, addr, "", "agreements", "get", "ge-a")
	if r.code != 0 || !strings.Contains(r.stdout, "ID:       ge-a\n") || !strings.Contains(r.stdout, "Signed:   2017\n") {
		t.Errorf("get:\n%s", r.stdout)
	}
	r = run(t, addr, "", "-o", "json", "agreements", "get", "ge-a")
	var a bilatv1.Agreement
	if err := protojson.Unmarshal([]byte(r.stdout), &a); err != nil || a.GetId() != "ge-a" {
		t.Errorf("json get: %v %q", err, r.stdout)
	}
	r = run(t, addr, "", "agreements", "get", "nope")
	if r.code != ExitFailure || !strings.Contains(r.stderr, `agreement "nope" not found`) {
		t.Errorf("not found: %+v", r)
	}
	r = run(t, addr, "", "agreements", "get")
	if r.code != ExitInvalid {
		t.Errorf("missing id: %+v", r)
	}
}

func TestTradeSeries(t *testing.T) {
	srv := testsrv.New()
	srv.Series = &bilatv1.GetTradeSeriesResponse{Partner: "AF", Points: []*bilatv1.TradePoint{{
		Reporter: "BY", Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Figures: []*bilatv1.TradeFigure{{Value: &bilatv1.Money{Currency: "USD", Units: 42000000}, Approximate: true}},
	}}}
	addr := serve(t, srv)
	r := run(t, addr, "", "trade", "series", "AF", "--flow", "turnover", "--from", "2015", "--reporter", "BY")
	want := "PERIOD  REPORTER  FLOW      SCOPE        VALUE            GROWTH  SOURCE\n" +
		"2018    BY        turnover  unspecified  ~42,000,000 USD  -       -\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("series:\n%s\nwant:\n%s", r.stdout, want)
	}
	req := srv.Requests()[0].(*bilatv1.GetTradeSeriesRequest)
	if req.GetFlow() != bilatv1.TradeFlow_TRADE_FLOW_TURNOVER || req.GetFromYear() != 2015 || req.GetReporter() != "BY" {
		t.Errorf("request %v", req)
	}
	r = run(t, addr, "", "trade", "series", "AF", "--flow", "sideways")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "turnover, exports, imports, balance") {
		t.Errorf("bad flow: %+v", r)
	}
}

func TestGlobalFlags(t *testing.T) {
	r := run(t, "127.0.0.1:1", "", "-o", "yaml", "agreements", "list")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, `unknown output format "yaml" (one of: table, json, csv)`) {
		t.Errorf("bad output: %+v", r)
	}
	r = run(t, "127.0.0.1:1", "", "agreements", "list", "--bogus")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "unknown flag: --bogus") {
		t.Errorf("bad flag: %+v", r)
	}
	r = run(t, "127.0.0.1:1", "", "--timeout", "0s", "agreements", "list")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "--timeout must be positive") {
		t.Errorf("bad timeout: %+v", r)
	}
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// fakeGazetteer answers GazetteerService with fixed data.
type fakeGazetteer struct {
	bilatv1.UnimplementedGazetteerServiceServer
	preview *bilatv1.PreviewEnrichmentRequest
	alias   *bilatv1.AddAliasRequest
}

func (f *fakeGazetteer) ResolveEntity(_ context.Context, r *bilatv1.ResolveEntityRequest) (*bilatv1.ResolveEntityResponse, error) {
	if r.Name == "Stavropol" {
		return &bilatv1.ResolveEntityResponse{Resolution: bilatv1.Resolution_RESOLUTION_AMBIGUOUS, Method: "exact",
			Candidates: []*bilatv1.Candidate{{Code: "RU-STA", Score: 1}, {Code: "RU-STA.stavropol", Score: 1}}}, nil
	}
	return &bilatv1.ResolveEntityResponse{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Confidence: 0.9, Method: "stripped",
		Entity: &bilatv1.Entity{Code: "BY-MA", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Mogilev Region", Parent: "BY"}}, nil
}

func (f *fakeGazetteer) AddAlias(_ context.Context, r *bilatv1.AddAliasRequest) (*bilatv1.AddAliasResponse, error) {
	if r.Code != "GE" {
		return nil, grpcx.InvalidArgument("invalid AddAlias request", grpcx.FieldViolation{Field: "code", Description: "no entity with this code"})
	}
	f.alias = r
	return &bilatv1.AddAliasResponse{Normalized: "sakartvelo", Reenriched: 2, ResolvedNames: []string{"Sakartvelo"}}, nil
}

func (f *fakeGazetteer) ListUnresolved(context.Context, *bilatv1.ListUnresolvedRequest) (*bilatv1.ListUnresolvedResponse, error) {
	return &bilatv1.ListUnresolvedResponse{Names: []*bilatv1.UnresolvedName{
		{Name: "Sakartvelo", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED, Count: 3, Sequences: []uint64{4, 9, 12}},
	}}, nil
}

func (f *fakeGazetteer) PreviewEnrichment(_ context.Context, r *bilatv1.PreviewEnrichmentRequest) (*bilatv1.PreviewEnrichmentResponse, error) {
	f.preview = r
	a := r.GetAgreement()
	a.DomainLabels = []*bilatv1.DomainLabel{{Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, Terms: []string{"научно", "техническом"}}}
	a.Domains = []bilatv1.Domain{bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY}
	for _, p := range a.Parties {
		p.Level, p.LevelInferred = bilatv1.PartyLevel_PARTY_LEVEL_REGION, true
	}
	return &bilatv1.PreviewEnrichmentResponse{Subject: "bilat.enriched.agreement.BY-MA",
		Item: &bilatv1.PreviewEnrichmentResponse_Agreement{Agreement: &bilatv1.AgreementRecorded{Agreement: a}}}, nil
}

func serveGazetteer(t *testing.T, f *fakeGazetteer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	bilatv1.RegisterGazetteerServiceServer(s, f)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func runEnrichment(t *testing.T, addr, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut, Getenv: func(k string) string {
		if k == EnvEnrichment {
			return addr
		}
		return ""
	}})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("bilat: " + err.Error() + "\n")
	}
	return result{out.String(), errOut.String(), ExitCode(err)}
}

func TestEntitiesResolve(t *testing.T) {
	addr := serveGazetteer(t, &fakeGazetteer{})
	r := runEnrichment(t, addr, "", "entities", "resolve", "Mogilev oblast", "Stavropol")
	if r.code != 0 || !strings.Contains(r.stdout, "BY-MA") || !strings.Contains(r.stdout, "0.90") ||
		!strings.Contains(r.stdout, "ambiguous") || !strings.Contains(r.stdout, "RU-STA 1.00, RU-STA.stavropol 1.00") {
		t.Fatalf("resolve: %+v", r)
	}
	r = runEnrichment(t, addr, "", "-o", "json", "entities", "resolve", "Mogilev oblast", "Stavropol")
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[1]["resolution"] != "RESOLUTION_AMBIGUOUS" {
		t.Fatalf("json: %q (%v)", r.stdout, err)
	}
	if r := runEnrichment(t, addr, "", "entities", "resolve"); r.code != ExitInvalid {
		t.Errorf("no names: exit %d", r.code)
	}
}

func TestEntitiesAliasAndUnresolved(t *testing.T) {
	f := &fakeGazetteer{}
	addr := serveGazetteer(t, f)
	r := runEnrichment(t, addr, "", "entities", "unresolved")
	if r.code != 0 || !strings.Contains(r.stdout, "Sakartvelo") || !strings.Contains(r.stdout, "3") {
		t.Fatalf("unresolved: %+v", r)
	}
	r = runEnrichment(t, addr, "", "entities", "alias", "add", "Sakartvelo", "GE")
	if r.code != 0 || !strings.Contains(r.stdout, "2 events re-enriched") || f.alias.GetAlias() != "Sakartvelo" {
		t.Fatalf("alias add: %+v", r)
	}
	if r := runEnrichment(t, addr, "", "entities", "alias", "add", "Sakartvelo", "XX"); r.code != ExitInvalid || !strings.Contains(r.stderr, "no entity") {
		t.Errorf("bad code: %+v", r)
	}
	if r := runEnrichment(t, "127.0.0.1:1", "", "entities", "unresolved", "--timeout", "2s"); r.code != ExitFailure || !strings.Contains(r.stderr, "--enrichment") {
		t.Errorf("unreachable: %+v", r)
	}
}

func TestEnrichPreview(t *testing.T) {
	f := &fakeGazetteer{}
	addr := serveGazetteer(t, f)
	in := `{"title":"Соглашение о научно-техническом сотрудничестве","parties":[{"entity":{"name":"Могилевский облисполком"}}]}`
	r := runEnrichment(t, addr, in, "enrich", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `"научно", "техническом"`) || !strings.Contains(r.stdout, "(inferred)") ||
		!strings.Contains(r.stdout, "bilat.enriched.agreement.BY-MA") {
		t.Fatalf("enrich: %+v", r)
	}
	if f.preview.GetAgreement().GetTitle() == "" {
		t.Errorf("sent %v", f.preview)
	}
	if r := runEnrichment(t, addr, `{"reporter":{"name":"Belarus"},"period":{"year":2018},"bogus":1}`, "enrich", "-"); r.code != ExitInvalid {
		t.Errorf("bad input: %+v", r)
	}
}

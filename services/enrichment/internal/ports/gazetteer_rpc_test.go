package ports_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestGazetteerRPCsAnswerWithSurroundings(t *testing.T) {
	c := gazetteerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := c.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: "Могилевская обл."})
	if err != nil || r.GetEntity().GetCode() != "BY-MA" || r.GetMethod() != "stripped" || r.GetConfidence() <= 0.7 || r.GetConfidence() >= 1 {
		t.Errorf("ResolveEntity(Могилевская обл.) = %v, %v", r, err)
	}
	amb, err := c.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: "Stavropol"})
	if err != nil || len(amb.GetCandidates()) < 2 {
		t.Errorf("ambiguous name without candidates: %v, %v", amb, err)
	}

	got, err := c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "RU-STA"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetParent().GetCode() != "RU.ncfd" {
		t.Errorf("parent = %v", got.GetParent())
	}
	var city bool
	for _, ch := range got.GetChildren() {
		city = city || ch.GetCode() == "RU-STA.stavropol"
	}
	if !city {
		t.Errorf("children of RU-STA lack the city: %v", got.GetChildren())
	}
	by, err := c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "BY"})
	if err != nil || len(by.GetBlocs()) == 0 {
		t.Errorf("BY blocs = %v, %v", by.GetBlocs(), err)
	}
	cis, err := c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "bloc.cis"})
	if err != nil || len(cis.GetMembers()) == 0 {
		t.Errorf("CIS members = %v, %v", cis.GetMembers(), err)
	}

	s, err := c.SearchEntities(ctx, &bilatv1.SearchEntitiesRequest{Query: "Tbilsi", Limit: 3})
	if err != nil || len(s.GetHits()) == 0 || s.Hits[0].GetEntity().GetCode() != "GE-TB" {
		t.Errorf("SearchEntities(Tbilsi) = %v, %v", s, err)
	}
	if _, err := c.SearchEntities(ctx, &bilatv1.SearchEntitiesRequest{Query: " "}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty query: %v", err)
	}
	// Without curation wired (this server has none), the write RPCs say so.
	if _, err := c.AddAlias(ctx, &bilatv1.AddAliasRequest{Alias: "x", Code: "GE"}); status.Code(err) != codes.Unavailable {
		t.Errorf("AddAlias without curation: %v", err)
	}
}
